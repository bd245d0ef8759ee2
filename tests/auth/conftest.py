"""Fixtures of the auth tests (the shared ones are in tests/factories.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from gongshu.orgs.models import Agency, Region
from gongshu.settings import get_settings
from tests.factories import Person, csrf_of  # noqa: F401 — re-exported for the tests


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
