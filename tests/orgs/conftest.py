"""Fixtures of the orgs tests: a second district, district-scoped admins, form helpers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from gongshu.auth.models import Role
from gongshu.orgs import service
from gongshu.orgs.models import Region, RegionLevel
from gongshu.orgs.schemas import RegionCreate
from tests.factories import SYSTEM, Person
from tests.factories import csrf_of as csrf_token  # noqa: F401 — used by the tests


@pytest.fixture
def other_district(db: Session, city: Region) -> Region:
    return service.create_region(
        db,
        SYSTEM,
        RegionCreate(code="371311", name="罗庄区", level=RegionLevel.DISTRICT, parent_id=city.id),
    )


@pytest.fixture
def plain_user(make_person: Callable[..., Person], agency: object) -> Person:
    """A signed-in user without any management right (a data consumer)."""
    return make_person(Role.AGENCY_CONSUMER, agency=agency)
