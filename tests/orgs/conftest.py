"""Fixtures of the orgs tests: a second district, district-scoped admins, form helpers."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gongshu.auth.models import Role
from gongshu.orgs import service
from gongshu.orgs.models import Region, RegionLevel
from gongshu.orgs.schemas import RegionCreate
from tests.factories import SYSTEM, Person

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]*)"')


@pytest.fixture
def other_district(db: Session, city: Region) -> Region:
    return service.create_region(
        db,
        SYSTEM,
        RegionCreate(code="371311", name="罗庄区", level=RegionLevel.DISTRICT, parent_id=city.id),
    )


@pytest.fixture
def district_admin(make_person: Callable[..., Person], district: Region) -> Person:
    """A bureau admin of 兰山区: manages only that district's agencies."""
    return make_person(Role.BUREAU_ADMIN, region=district)


@pytest.fixture
def plain_user(make_person: Callable[..., Person], agency: object) -> Person:
    """A signed-in user without any management right (a data consumer)."""
    return make_person(Role.AGENCY_CONSUMER, agency=agency)


def csrf_token(client: TestClient, url: str) -> str:
    """The CSRF token in the hidden input of the page at ``url``."""
    response = client.get(url)
    assert response.status_code == 200, response.text
    match = CSRF_RE.search(response.text)
    assert match, "no csrf_token input on " + url
    return match.group(1)
