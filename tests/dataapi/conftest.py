"""Data API fixtures: an entry with a published version in the configured store, and the
Python reference its answers are checked against."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gongshu.auth.models import Role
from gongshu.catalog import service as catalog_service
from gongshu.catalog import workflow
from gongshu.catalog.models import Dataset, FieldType, Sensitivity
from gongshu.catalog.schemas import FieldIn
from gongshu.dataapi.api import limiter_of
from gongshu.ingest.spec import FieldSpec, IdentifierKind
from gongshu.orgs.models import Agency
from gongshu.store.models import DatasetVersion
from gongshu.store.serving import ARROW_TYPES
from gongshu.store.storage import get_storage
from gongshu.store.versions import VersionWriter, publish
from tests.factories import Person, dataset_input

SPECS: list[FieldSpec] = [
    FieldSpec(
        "credit_code",
        "统一社会信用代码",
        FieldType.STRING,
        is_key=True,
        sensitivity=Sensitivity.CREDIT_CODE,
    ),
    FieldSpec("name", "企业名称", FieldType.STRING),
    FieldSpec("district", "区县", FieldType.STRING, filterable=True),
    FieldSpec("capital", "注册资本", FieldType.DECIMAL),
    FieldSpec("staff", "从业人数", FieldType.INTEGER, filterable=True),
    FieldSpec("founded", "成立日期", FieldType.DATE, filterable=True),
    FieldSpec("checked_at", "核查时间", FieldType.DATETIME),
    FieldSpec("active", "存续", FieldType.BOOLEAN),
    FieldSpec("note", "备注", FieldType.TEXT),
    FieldSpec(
        "mobile",
        "联系电话",
        FieldType.STRING,
        identifier=IdentifierKind.MOBILE,
        sensitivity=Sensitivity.MOBILE,
    ),
]
NAMES = [s.name for s in SPECS]
DISTRICTS = ["兰山区", "罗庄区", "河东区", "沂南县"]
# Text a spreadsheet would run, or show as an error, if it were not written as text.
FORMULAS = ["=1+1", "+SUM(A1:A2)", "-2+3", "@cmd", '=HYPERLINK("http://x")', "#N/A", "'quoted"]
ROWS = 240


def make_row(i: int) -> dict[str, Any]:
    """Row ``i``: repeated sort values, nulls every 7th row, formula-like notes."""
    blank = i % 7 == 3
    return {
        "credit_code": f"91371300MA{i:08d}",
        "name": f"临沂市测试企业{i}有限公司",
        "district": DISTRICTS[i % 4],
        "capital": None if blank else Decimal(i * 1000 + i % 100) / Decimal(100),
        "staff": None if blank else (i * 37) % 50,
        "founded": None if blank else dt.date(2000, 1, 1) + dt.timedelta(days=(i * 13) % 900),
        "checked_at": None if blank else dt.datetime(2024, 5, 1, 8, 0, 0) + dt.timedelta(hours=i),
        "active": None if blank else i % 3 != 0,
        "note": FORMULAS[i % len(FORMULAS)]
        if i % 5 == 0
        else (None if blank else f"第{i}行“引号”,逗号"),
        "mobile": f"1380000{i:04d}",
    }


def all_rows(count: int = ROWS) -> list[dict[str, Any]]:
    return [make_row(i) for i in range(count)]


def to_batch(rows: Sequence[dict[str, Any]], start: int) -> pa.RecordBatch:
    arrays = [pa.array([r[s.name] for r in rows], type=ARROW_TYPES[s.data_type]) for s in SPECS]
    arrays.append(pa.array(range(start + 2, start + 2 + len(rows)), type=pa.int64()))
    return pa.record_batch(arrays, names=[*NAMES, "_row"])


def catalog_fields() -> list[FieldIn]:
    return [
        FieldIn(
            name=s.name,
            label=s.label,
            data_type=str(s.data_type),
            is_key=s.is_key,
            required=s.is_key,
            filterable=s.filterable,
            identifier=str(s.identifier) if s.identifier else "",
            sensitivity=s.sensitivity,
        )
        for s in SPECS
    ]


def write_rows(
    session: Session, person: Person, dataset: Dataset, rows: Sequence[dict[str, Any]]
) -> DatasetVersion:
    """Publish ``rows`` as the entry's next version, in the configured store."""
    storage = get_storage()
    with VersionWriter(storage, dataset.id, SPECS) as writer:
        for start in range(0, len(rows), 64):
            writer.write(to_batch(rows[start : start + 64], start))
        staged = writer.finish()
    return publish(
        session,
        person.actor,
        dataset,
        staged,
        mode="replace",
        source={"kind": "upload", "file_name": "test.csv"},
        storage=storage,
    )


@pytest.fixture
def entry(db: Session, officer: Person, make_person: Callable[..., Person]) -> Dataset:
    """A published catalog entry of the officer's agency (published entries are the ones
    other bodies see in the catalog)."""
    dataset = catalog_service.create_dataset(
        db,
        officer.actor,
        dataset_input(
            title="企业登记信息（数据接口）",
            level="general_2",
            share_type="conditional",
            open_type="none",
            legal_basis="《中华人民共和国市场主体登记管理条例》",
            fields=catalog_fields(),
        ),
    )
    reviewer = make_person(Role.BUREAU_ADMIN)
    workflow.submit(db, officer.actor, dataset.id)
    workflow.approve(db, reviewer.actor, dataset.id)
    return workflow.publish(db, reviewer.actor, dataset.id)


@pytest.fixture
def version(db: Session, officer: Person, entry: Dataset) -> DatasetVersion:
    return write_rows(db, officer, entry, all_rows())


@pytest.fixture
def consumer(make_person: Callable[..., Person], agency: Agency) -> Person:
    """A 使用部门 user of the provider agency (reads in the clear, as the provider)."""
    return make_person(Role.AGENCY_CONSUMER, agency=agency)


@pytest.fixture
def api(client: TestClient) -> TestClient:
    """The test client with the app's rate limiter emptied (its buckets outlive requests)."""
    limiter_of(client.app).reset()  # type: ignore[arg-type]
    return client


def comparable(value: Any) -> Any:
    """A typed value as the JSON answer carries it."""
    if isinstance(value, Decimal):
        text = format(value, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def as_json_rows(
    rows: Sequence[dict[str, Any]], names: Sequence[str] = NAMES
) -> list[dict[str, Any]]:
    return [{n: comparable(r[n]) for n in names} for r in rows]
