"""Fixtures of the auth tests (the shared ones are in tests/factories.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from gongshu.auth.models import Role
from gongshu.orgs.models import Agency, Region
from gongshu.settings import get_settings
from tests.factories import Person

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client: TestClient, path: str = "/account") -> str:
    """The CSRF token of the signed-in client, read from a page's hidden input."""
    response = client.get(path)
    assert response.status_code == 200, response.text
    match = CSRF.search(response.text)
    assert match, "no csrf_token on the page"
    return match.group(1)


@pytest.fixture
def district_admin(make_person: Callable[..., Person], district: Region) -> Person:
    return make_person(Role.BUREAU_ADMIN, region=district)


@pytest.fixture
def district_agency(make_agency: Callable[..., Agency], district: Region) -> Agency:
    return make_agency("兰山区教育和体育局", region=district)


@pytest.fixture
def admin_totp_required(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Process settings with ``GONGSHU_REQUIRE_ADMIN_TOTP=true`` for the duration of a test."""
    monkeypatch.setenv("GONGSHU_REQUIRE_ADMIN_TOTP", "true")
    get_settings.cache_clear()
    assert get_settings().admin_totp_required
    yield
    get_settings.cache_clear()
