"""Helpers for the store and gate tests: a storage root per test, typed batches, versions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.catalog.models import Dataset, FieldType
from gongshu.ingest.spec import FieldSpec, IdentifierKind
from gongshu.store.models import DatasetVersion
from gongshu.store.serving import ARROW_TYPES
from gongshu.store.storage import LocalStorage
from gongshu.store.versions import VersionWriter, publish

SPECS: list[FieldSpec] = [
    FieldSpec("credit_code", "统一社会信用代码", FieldType.STRING, is_key=True),
    FieldSpec("name", "企业名称", FieldType.STRING),
    FieldSpec("district", "区县", FieldType.STRING, filterable=True),
    FieldSpec("capital", "注册资本", FieldType.DECIMAL),
    FieldSpec("staff", "从业人数", FieldType.INTEGER, filterable=True),
    FieldSpec("founded", "成立日期", FieldType.DATE, filterable=True),
    FieldSpec("checked_at", "核查时间", FieldType.DATETIME),
    FieldSpec("active", "存续", FieldType.BOOLEAN),
    FieldSpec("note", "备注", FieldType.TEXT),
    FieldSpec("mobile", "联系电话", FieldType.STRING, identifier=IdentifierKind.MOBILE),
]
DISTRICTS = ["兰山区", "罗庄区", "河东区", "沂南县"]


def make_row(i: int, **overrides: Any) -> dict[str, Any]:
    """A typical row; every 7th has nulls in its optional fields."""
    blank = i % 7 == 3
    row: dict[str, Any] = {
        "credit_code": f"91371300MA{i:08d}",
        "name": f"临沂市测试企业{i}有限公司",
        "district": DISTRICTS[i % 4],
        "capital": None if blank else Decimal(i * 1000 + i % 100) / Decimal(100),
        "staff": None if blank else (i * 37) % 500,
        "founded": None if blank else dt.date(2000, 1, 1) + dt.timedelta(days=(i * 13) % 9000),
        "checked_at": None if blank else dt.datetime(2024, 5, 1, 8, 0, 0) + dt.timedelta(hours=i),
        "active": None if blank else i % 3 != 0,
        "note": None if blank else f"第{i}行：含“引号”与 emoji 🙂",
        "mobile": f"1380000{i:04d}",
    }
    row.update(overrides)
    return row


def to_batch(rows: Sequence[dict[str, Any]], specs: Sequence[FieldSpec] = SPECS) -> pa.RecordBatch:
    arrays = [pa.array([r.get(s.name) for r in rows], type=ARROW_TYPES[s.data_type]) for s in specs]
    arrays.append(pa.array([r.get("_row", i + 2) for i, r in enumerate(rows)], type=pa.int64()))
    return pa.record_batch(arrays, names=[*(s.name for s in specs), "_row"])


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "store")


def store_dirs(storage: LocalStorage) -> set[str]:
    """Every directory under datasets/<id>/ (prefixes, trash, anything left behind)."""
    root = storage.root / "datasets"
    if not root.exists():
        return set()
    return {
        f"datasets/{d.name}/{p.name}/" for d in root.iterdir() for p in d.iterdir() if p.is_dir()
    }


@pytest.fixture
def write_version(db: Session, storage: LocalStorage) -> Callable[..., DatasetVersion]:
    def write(
        actor: Actor,
        dataset: Dataset,
        rows: Sequence[dict[str, Any]],
        *,
        specs: Sequence[FieldSpec] = SPECS,
        mode: str = "replace",
        keep: int = 10,
        session: Session | None = None,
        **kw: Any,
    ) -> DatasetVersion:
        with VersionWriter(storage, dataset.id, specs) as writer:
            for start in range(0, len(rows), 100):
                writer.write(to_batch(rows[start : start + 100], specs))
            staged = writer.finish()
        return publish(
            session or db,
            actor,
            dataset,
            staged,
            mode=mode,
            source={"kind": "upload", "file_name": "test.csv"},
            storage=storage,
            keep=keep,
            **kw,
        )

    return write
