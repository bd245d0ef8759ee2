"""Fixtures of the gate tests: an entry of people (general_4, sensitive fields of every
kind), a second body that reads it through grants, and grants made directly as rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from gongshu.catalog.models import Dataset, FieldType, Level, Sensitivity
from gongshu.db import utcnow
from gongshu.ingest.spec import FieldSpec, IdentifierKind
from gongshu.orgs.models import Agency
from gongshu.share.grants import new_fingerprint
from gongshu.share.models import Grant, GrantKind, GrantStatus
from gongshu.store.models import DatasetVersion
from tests.factories import Person
from tests.store.conftest import storage, write_version  # noqa: F401 — fixtures used here

PEOPLE: list[FieldSpec] = [
    FieldSpec(
        "person_id",
        "身份证号",
        FieldType.STRING,
        is_key=True,
        sensitivity=Sensitivity.ID_NUMBER,
        identifier=IdentifierKind.CITIZEN_ID,
    ),
    FieldSpec("name", "姓名", FieldType.STRING, sensitivity=Sensitivity.NAME, filterable=True),
    FieldSpec("mobile", "手机号", FieldType.STRING, sensitivity=Sensitivity.MOBILE),
    FieldSpec("address", "住址", FieldType.STRING, sensitivity=Sensitivity.ADDRESS),
    FieldSpec("district", "区县", FieldType.STRING, filterable=True),
    FieldSpec("income", "年收入", FieldType.DECIMAL),
    FieldSpec("born", "出生日期", FieldType.DATE, filterable=True),
    FieldSpec("note", "备注", FieldType.TEXT, sensitivity=Sensitivity.FREE_TEXT),
]
DISTRICTS = ["兰山区", "罗庄区", "河东区"]
SURNAMES = ["张", "李", "欧阳", "王"]


def person_id(i: int) -> str:
    """A well-formed citizen ID number (check character computed)."""
    body = f"371302{1960 + i % 40:04d}0101{i % 1000:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(c) * w for c, w in zip(body, weights, strict=True))
    return body + "10X98765432"[total % 11]


def person(i: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "person_id": person_id(i),
        "name": SURNAMES[i % 4] + "某" * (1 + i % 2),
        "mobile": f"1380000{i:04d}",
        "address": f"临沂市{DISTRICTS[i % 3]}某某路{i}号",
        "district": DISTRICTS[i % 3],
        "income": Decimal(i * 1000) + Decimal("0.50"),
        "born": dt.date(1960 + i % 40, 1, 1),
        "note": f"第{i}位",
    }
    row.update(overrides)
    return row


@pytest.fixture
def people(db: Session, make_dataset: Callable[..., Dataset]) -> Dataset:
    dataset = make_dataset(title="常住人口基本信息")
    dataset.level = Level.GENERAL_4
    db.flush()
    return dataset


@pytest.fixture
def people_version(
    officer: Person,
    people: Dataset,
    write_version: Callable[..., DatasetVersion],  # noqa: F811
) -> DatasetVersion:
    return write_version(officer.actor, people, [person(i) for i in range(30)], specs=PEOPLE)


@pytest.fixture
def grantee(other_officer: Person) -> Person:
    """The officer of another body, who reads the people entry only through grants."""
    return other_officer


@pytest.fixture
def make_grant(db: Session) -> Callable[..., Grant]:
    def make(
        dataset: Dataset,
        agency: Agency | int,
        *,
        fields: Sequence[str] | None = None,
        clear_fields: Sequence[str] = (),
        row_filter: Sequence[Sequence[Any]] = (),
        expires_at: dt.datetime | None = None,
        status: GrantStatus = GrantStatus.ACTIVE,
        daily_row_quota: int | None = None,
        starts_at: dt.datetime | None = None,
    ) -> Grant:
        grant = Grant(
            dataset_id=dataset.id,
            agency_id=agency if isinstance(agency, int) else agency.id,
            kind=GrantKind.REQUEST,
            status=status,
            fields=None if fields is None else list(fields),
            clear_fields=list(clear_fields),
            row_filter=[list(f) for f in row_filter],
            purpose="人口信息核对",
            starts_at=starts_at or utcnow() - dt.timedelta(hours=1),
            expires_at=expires_at,
            fingerprint=new_fingerprint(),
            daily_row_quota=daily_row_quota,
        )
        db.add(grant)
        db.flush()
        return grant

    return make
