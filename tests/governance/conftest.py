"""Two agencies' real datasets joined on the credit code: the market regulator's registry
(the authoritative source of 企业名称) and another agency's licence list (a copy)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.auth.models import Role
from gongshu.catalog.models import Dataset, DatasetState
from gongshu.catalog.schemas import FieldIn
from gongshu.governance import sources
from gongshu.governance.models import DataCollection, DataItem, KeyKind
from gongshu.governance.schemas import BindingSet, CopyCreate, ItemCreate
from gongshu.ingest import service as ingest_service
from gongshu.jobs.service import run_one
from tests.factories import Person
from tests.ingest_service.conftest import code, registry, write_csv  # noqa: F401

LICENCE_HEADER = "统一社会信用代码,企业名称,许可证号\n"


def licence_fields() -> list[FieldIn]:
    return [
        FieldIn(
            name="credit_code",
            label="统一社会信用代码",
            is_key=True,
            required=True,
            length=18,
            sensitivity="credit_code",
            identifier="credit_code",
        ),
        FieldIn(name="company", label="企业名称", length=100),
        FieldIn(name="licence_no", label="许可证号", length=40),
    ]


@pytest.fixture
def licences(db: Session, make_dataset: Callable[..., Dataset], other_officer: Person) -> Dataset:
    dataset = make_dataset(
        by=other_officer, title="食品经营许可信息", item_code="03", fields=licence_fields()
    )
    dataset.state = DatasetState.PUBLISHED
    db.flush()
    return dataset


def registry_csv(tmp_path: Path, names: dict[int, str], *, name: str = "reg.csv") -> Path:
    header = "统一社会信用代码,企业名称,成立日期,注册资本,企业类型\n"
    rows = [
        f"{code(i)},{n},2020-01-0{1 + i % 9},{100 + i}.5,有限责任公司" for i, n in names.items()
    ]
    path = tmp_path / name
    path.write_text(header + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def licence_csv(tmp_path: Path, names: dict[int, str], *, name: str = "lic.csv") -> Path:
    rows = [f"{code(i)},{n},JY{i:06d}" for i, n in names.items()]
    path = tmp_path / name
    path.write_text(LICENCE_HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def ingest(db: Session, who: Person, dataset: Dataset, path: Path) -> ingest_service.IngestResult:
    result = ingest_service.ingest_file(db, who.actor, dataset, path)
    assert result.version is not None, result.ingestion.issues
    return result


def run_jobs(db: Session) -> list[str]:
    kinds: list[str] = []
    while (job := run_one(db, "test-worker")) is not None:
        kinds.append(job.kind)
        assert job.error is None or job.status.value != "failed", job.error
    return kinds


NAMES = {i: f"临沂测试企业{i}有限公司" for i in range(1, 6)}


@pytest.fixture
def name_item(db: Session, bureau_admin: Person) -> DataItem:
    collection = db.scalars(
        select(DataCollection).where(DataCollection.code == "legal_entity")
    ).one()
    return sources.create_item(
        db,
        bureau_admin.actor,
        ItemCreate(collection_id=collection.id, name="企业名称", key_kind=KeyKind.CREDIT_CODE),
    )


@pytest.fixture
def bound(
    db: Session,
    bureau_admin: Person,
    name_item: DataItem,
    registry: Dataset,  # noqa: F811
    licences: Dataset,
) -> DataItem:
    """The item with the registry's name as source and the licence list's as a copy."""
    sources.bind_source(
        db, bureau_admin.actor, name_item.id, BindingSet(dataset_id=registry.id, field_name="name")
    )
    sources.link_copy(
        db,
        bureau_admin.actor,
        name_item.id,
        CopyCreate(dataset_id=licences.id, field_name="company"),
    )
    return name_item


@pytest.fixture
def consumer(make_person: Callable[..., Person], agency: object) -> Person:
    """A user of the registry's own agency who reads its rows (the gate lets them)."""
    return make_person(Role.AGENCY_CONSUMER, agency=agency)
