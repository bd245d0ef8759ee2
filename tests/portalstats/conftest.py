"""Fixtures of the portal statistics tests: the open city (tests/portal/city.py), public
users, and the collector emptied around every test."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.orm import Session

from gongshu.auth import service as auth_service
from gongshu.auth.models import Role
from gongshu.auth.schemas import UserCreate
from gongshu.orgs.models import Agency
from gongshu.portalstats import collector
from gongshu.store.storage import get_storage
from tests.factories import SYSTEM, Person
from tests.portal.city import PASSWORD, OpenCity, build

_users = itertools.count(1)


@pytest.fixture(autouse=True)
def empty_collector() -> Iterator[None]:
    """Counts other tests left in this process's memory must not leak into these."""
    collector.drain()
    yield
    collector.drain()


@pytest.fixture
def open_city(db: Session) -> OpenCity:
    return build(db, get_storage())


@pytest.fixture
def make_public(db: Session, open_city: OpenCity) -> Callable[[], Person]:
    """A public user of the open city, with an e-mail address."""
    agency = db.get(Agency, open_city.market)
    assert agency is not None

    def make() -> Person:
        n = next(_users)
        user = auth_service.create_user(
            db,
            SYSTEM,
            UserCreate(
                username=f"reader{n}",
                display_name=f"reader{n}",
                password=PASSWORD,
                email=f"reader{n}@example.org",
                region_id=agency.region_id,
                roles=[Role.PUBLIC],
            ),
        )
        return Person(user, auth_service.actor_for_user(user), PASSWORD)

    return make
