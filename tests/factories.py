"""Making test data through the real services (never by inserting rows behind their back)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gongshu.auth import service as auth_service
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role, User
from gongshu.auth.schemas import UserCreate
from gongshu.catalog import service as catalog_service
from gongshu.catalog.models import Dataset
from gongshu.catalog.schemas import DatasetCreate, FieldIn
from gongshu.identifiers import make_credit_code
from gongshu.orgs import service as orgs_service
from gongshu.orgs.models import Agency, AgencyKind, Region, RegionLevel
from gongshu.orgs.schemas import AgencyCreate, RegionCreate
from gongshu.settings import Settings, get_settings

PASSWORD = "Gongshu-Test-2026"
SYSTEM = Actor.system("pytest")
_counter = itertools.count(1)


@dataclass
class Person:
    """A user made for a test, with the actor services see when they act."""

    user: User
    actor: Actor
    password: str = PASSWORD

    @property
    def username(self) -> str:
        return self.user.username


@pytest.fixture
def city(db: Session) -> Region:
    return orgs_service.create_region(
        db, SYSTEM, RegionCreate(code="371300", name="临沂市", level=RegionLevel.CITY)
    )


@pytest.fixture
def district(db: Session, city: Region) -> Region:
    return orgs_service.create_region(
        db,
        SYSTEM,
        RegionCreate(code="371302", name="兰山区", level=RegionLevel.DISTRICT, parent_id=city.id),
    )


@pytest.fixture
def make_agency(db: Session, city: Region) -> Callable[..., Agency]:
    def make(name: str | None = None, region: Region | None = None, **kw: Any) -> Agency:
        n = next(_counter)
        data = AgencyCreate(
            name=name or f"临沂市测试局{n}",
            credit_code=make_credit_code(f"11371300MB{n:07d}"),
            region_id=(region or city).id,
            kind=kw.pop("kind", AgencyKind.GOVERNMENT),
            **kw,
        )
        return orgs_service.create_agency(db, SYSTEM, data)

    return make


@pytest.fixture
def agency(make_agency: Callable[..., Agency]) -> Agency:
    return make_agency("临沂市市场监督管理局")


@pytest.fixture
def other_agency(make_agency: Callable[..., Agency]) -> Agency:
    return make_agency("临沂市生态环境局")


@pytest.fixture
def make_person(db: Session, city: Region) -> Callable[..., Person]:
    def make(
        *roles: Role, agency: Agency | None = None, region: Region | None = None, **kw: Any
    ) -> Person:
        n = next(_counter)
        data = UserCreate(
            username=kw.pop("username", f"user{n}"),
            display_name=kw.pop("display_name", f"测试用户{n}"),
            password=kw.pop("password", PASSWORD),
            agency_id=agency.id if agency else None,
            region_id=(region or (agency.region if agency else city)).id,
            roles=list(roles),
            **kw,
        )
        user = auth_service.create_user(db, SYSTEM, data)
        return Person(user, auth_service.actor_for_user(user), data.password)

    return make


@pytest.fixture
def officer(make_person: Callable[..., Person], agency: Agency) -> Person:
    return make_person(Role.AGENCY_OFFICER, agency=agency)


@pytest.fixture
def other_officer(make_person: Callable[..., Person], other_agency: Agency) -> Person:
    return make_person(Role.AGENCY_OFFICER, agency=other_agency)


@pytest.fixture
def district_admin(make_person: Callable[..., Person], district: Region) -> Person:
    """A bureau admin of 兰山区: manages only that district."""
    return make_person(Role.BUREAU_ADMIN, region=district)


@pytest.fixture
def bureau_admin(make_person: Callable[..., Person]) -> Person:
    return make_person(Role.BUREAU_ADMIN)


@pytest.fixture
def system_admin(make_person: Callable[..., Person]) -> Person:
    return make_person(Role.SYSTEM_ADMIN)


@pytest.fixture
def security_admin(make_person: Callable[..., Person]) -> Person:
    return make_person(Role.SECURITY_ADMIN)


@pytest.fixture
def audit_admin(make_person: Callable[..., Person]) -> Person:
    return make_person(Role.AUDIT_ADMIN)


def seed_officer(session: Session, username: str = "officer1") -> Person:
    """On a scratch database: the city, its market supervision bureau and one data officer of
    it, committed through the services."""
    city = orgs_service.create_region(
        session, SYSTEM, RegionCreate(code="371300", name="临沂市", level=RegionLevel.CITY)
    )
    agency = orgs_service.create_agency(
        session,
        SYSTEM,
        AgencyCreate(
            name="临沂市市场监督管理局",
            credit_code=make_credit_code("11371300MB0000001"),
            region_id=city.id,
            kind=AgencyKind.GOVERNMENT,
        ),
    )
    user = auth_service.create_user(
        session,
        SYSTEM,
        UserCreate(
            username=username,
            display_name="王专管",
            password=PASSWORD,
            agency_id=agency.id,
            region_id=city.id,
            roles=[Role.AGENCY_OFFICER],
        ),
    )
    return Person(user, auth_service.actor_for_user(user))


@pytest.fixture
def cli_settings(scratch_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Point the process settings — and so every CLI command — at a scratch database."""
    monkeypatch.setenv("GONGSHU_DATABASE_URL", scratch_settings.sqlalchemy_url)
    monkeypatch.setenv("GONGSHU_DATA_DIR", str(scratch_settings.data_dir))
    get_settings.cache_clear()
    yield scratch_settings
    get_settings.cache_clear()


def dataset_input(**overrides: Any) -> DatasetCreate:
    """A valid, unconditional catalog entry with three fields; override what a test needs."""
    data: dict[str, Any] = {
        "title": "企业登记基本信息",
        "description": "全市市场主体登记的基本信息",
        "category_class": "base",
        "item_code": "02",
        "subitem_code": "001",
        "domain": "市场监管",
        "format": "database",
        "share_type": "unconditional",
        "open_type": "unconditional",
        "level": "general_1",
        "update_cycle": "daily",
        "fields": [
            FieldIn(
                name="credit_code",
                label="统一社会信用代码",
                is_key=True,
                required=True,
                length=18,
                sensitivity="credit_code",
            ),
            FieldIn(name="name", label="企业名称", required=True, length=200),
            FieldIn(name="registered_on", label="成立日期", data_type="date", filterable=True),
        ],
    }
    data.update(overrides)
    return DatasetCreate.model_validate(data)


@pytest.fixture
def make_dataset(db: Session, officer: Person) -> Callable[..., Dataset]:
    def make(by: Person | None = None, **overrides: Any) -> Dataset:
        return catalog_service.create_dataset(db, (by or officer).actor, dataset_input(**overrides))

    return make


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token from a page's hidden ``csrf_token`` input."""
    match = CSRF.search(html)
    assert match, "no csrf_token on the page"
    return match.group(1)


def csrf_of(client: TestClient, path: str = "/account") -> str:
    """The CSRF token of a signed-in client, read from the page at ``path``."""
    response = client.get(path)
    assert response.status_code == 200, response.text
    return csrf_from(response.text)


def login(client: TestClient, person: Person) -> TestClient:
    """Sign a test client in through the login form."""
    response = client.post(
        "/login",
        data={"username": person.username, "password": person.password},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client


def api_headers(client: TestClient, person: Person) -> dict[str, str]:
    """A bearer token for the JSON API."""
    response = client.post(
        "/api/v1/auth/token", json={"username": person.username, "password": person.password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
