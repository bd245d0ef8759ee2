"""Entries with real data for the verification and profile tests: residents (ID number and
name, level general_2 so a grant reader sees names masked) and food licences (a licence
number, the holder's credit code, a status and an expiry date), both of the market
regulator (``officer``'s agency), ingested through the real pipeline."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.catalog.models import Dataset, DatasetState
from gongshu.catalog.schemas import FieldIn
from gongshu.identifiers import citizen_id_check_char
from gongshu.ingest import service as ingest_service
from gongshu.share.grants import new_fingerprint
from gongshu.share.models import Grant, GrantKind, GrantStatus
from gongshu.verification import service as verification
from gongshu.verification.models import VerificationService
from gongshu.verification.schemas import ServiceCreate
from tests.factories import Person
from tests.ingest_service.conftest import code

NAMES = ["张三", "李四", "欧阳娜娜", "王五", "Zhao Liu"]
DISTRICTS = ["兰山区", "罗庄区", "兰山区", "河东区", "兰山区"]
TODAY = dt.date(2026, 5, 11)


def person_id(i: int) -> str:
    """A valid citizen ID number, different for each ``i`` (the last one ends in X)."""
    for seq in range(i * 100, i * 100 + 100):
        body = f"37130219800101{seq:03d}"
        if (citizen_id_check_char(body) == "X") == (i == 4):
            return body + citizen_id_check_char(body)
    raise AssertionError(i)


def resident_fields() -> list[FieldIn]:
    return [
        FieldIn(
            name="id_number",
            label="公民身份号码",
            is_key=True,
            required=True,
            length=18,
            sensitivity="id_number",
            identifier="citizen_id",
        ),
        FieldIn(name="name", label="姓名", required=True, length=50, sensitivity="name"),
        FieldIn(name="district", label="所属区县", length=20, filterable=True),
    ]


def licence_fields() -> list[FieldIn]:
    return [
        FieldIn(name="licence_no", label="许可证编号", is_key=True, required=True, length=20),
        FieldIn(name="holder", label="经营者名称", required=True, length=100),
        FieldIn(
            name="credit_code",
            label="统一社会信用代码",
            length=18,
            sensitivity="credit_code",
            identifier="credit_code",
        ),
        FieldIn(name="status", label="许可状态", length=10),
        FieldIn(name="valid_until", label="有效期至", data_type="date"),
    ]


def _publish(db: Session, dataset: Dataset) -> Dataset:
    dataset.state = DatasetState.PUBLISHED
    db.flush()
    return dataset


def _ingest(db: Session, actor: Actor, dataset: Dataset, path: Path) -> None:
    result = ingest_service.ingest_file(db, actor, dataset, path)
    assert result.version is not None, result.ingestion.issues


@pytest.fixture
def residents(
    db: Session, make_dataset: Callable[..., Dataset], officer: Person, tmp_path: Path
) -> Dataset:
    dataset = _publish(
        db,
        make_dataset(
            title="居民身份信息",
            item_code="01",
            level="general_2",
            share_type="conditional",
            share_conditions="仅用于身份核验",
            legal_basis="《临沂市公共数据管理办法》第二十条",
            open_type="none",
            open_conditions="",
            fields=resident_fields(),
        ),
    )
    path = tmp_path / "residents.csv"
    rows = [
        f"{person_id(i)},{n},{d}" for i, (n, d) in enumerate(zip(NAMES, DISTRICTS, strict=True))
    ]
    path.write_text("公民身份号码,姓名,所属区县\n" + "\n".join(rows) + "\n", encoding="utf-8")
    _ingest(db, officer.actor, dataset, path)
    return dataset


LICENCES = [
    # licence number, holder, credit code index, status, valid until
    ("JY001", "临沂测试企业1有限公司", 1, "有效", "2027-12-31"),
    ("JY002", "临沂测试企业2有限公司", 2, "有效", "2026-05-10"),  # expired yesterday
    ("JY003", "临沂测试企业3有限公司", 3, "注销", "2028-01-01"),
    ("JY004", "临沂测试企业1有限公司", 1, "有效", ""),  # no end date
]


@pytest.fixture
def licences(
    db: Session, make_dataset: Callable[..., Dataset], officer: Person, tmp_path: Path
) -> Dataset:
    dataset = _publish(
        db,
        make_dataset(
            title="食品经营许可信息",
            item_code="04",
            fields=licence_fields(),
            open_type="none",
            legal_basis="《食品经营许可管理办法》",
        ),
    )
    path = tmp_path / "licences.csv"
    rows = [f"{n},{h},{code(c)},{s},{v}" for n, h, c, s, v in LICENCES]
    header = "许可证编号,经营者名称,统一社会信用代码,许可状态,有效期至\n"
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    _ingest(db, officer.actor, dataset, path)
    return dataset


@pytest.fixture
def citizen_service(db: Session, bureau_admin: Person, residents: Dataset) -> VerificationService:
    return verification.create_service(
        db,
        bureau_admin.actor,
        ServiceCreate(
            code="citizen-name",
            name="身份证号与姓名一致性核验",
            dataset_id=residents.id,
            key_field="id_number",
            fields=["name"],
        ),
    )


@pytest.fixture
def licence_service(db: Session, bureau_admin: Person, licences: Dataset) -> VerificationService:
    return verification.create_service(
        db,
        bureau_admin.actor,
        ServiceCreate(
            code="food-licence",
            name="食品经营许可证核验",
            dataset_code=licences.code,
            key_field="licence_no",
            fields=["holder", "credit_code"],
            valid_until_field="valid_until",
            status_field="status",
            status_values=["有效"],
            reveal_existence=True,
            open_to_all=True,
        ),
    )


def grant(db: Session, dataset: Dataset, agency_id: int, **terms: Any) -> Grant:
    """An active grant of ``agency_id`` on ``dataset`` (as the sharing workflow issues)."""
    made = Grant(
        dataset_id=dataset.id,
        agency_id=agency_id,
        kind=GrantKind.REQUEST,
        status=GrantStatus.ACTIVE,
        fields=terms.pop("fields", None),
        clear_fields=terms.pop("clear_fields", []),
        row_filter=terms.pop("row_filter", []),
        purpose=terms.pop("purpose", "身份核验"),
        fingerprint=new_fingerprint(),
        **terms,
    )
    db.add(made)
    db.flush()
    return made
