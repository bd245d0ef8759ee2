"""Fixtures of the sharing tests: a provider (the market regulator) with a conditional, an
unconditional and a not-shared entry, published through the review workflow; a requesting
body (the environment bureau) with an officer and a consumer; the city and a district
bureau; a district agency for the return flow."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.auth.models import Role
from gongshu.catalog import workflow
from gongshu.catalog.models import Dataset
from gongshu.catalog.schemas import FieldIn
from gongshu.notices.models import Notice
from gongshu.orgs.models import Agency, Region
from gongshu.share import requests
from gongshu.share.models import ShareRequest
from gongshu.share.schemas import GrantDecision, ObjectionCreate, Refusal, ShareRequestCreate
from gongshu.workdays.calendar import local_today
from tests.factories import Person

BASIS = "《山东省公共数据共享工作细则》第十二条"


def region_fields() -> list[FieldIn]:
    return [
        FieldIn(
            name="credit_code",
            label="统一社会信用代码",
            is_key=True,
            required=True,
            length=18,
            sensitivity="credit_code",
        ),
        FieldIn(name="name", label="企业名称", required=True, length=200),
        FieldIn(name="legal_person", label="法定代表人", length=50, sensitivity="name"),
        FieldIn(name="district_code", label="所属区县", length=6, identifier="region_code"),
    ]


@pytest.fixture
def publish(db: Session, bureau_admin: Person, officer: Person) -> Callable[[Dataset], Dataset]:
    """Take an entry through the review workflow to published."""

    def do(dataset: Dataset, by: Person | None = None) -> Dataset:
        owner = by or officer
        workflow.submit(db, owner.actor, dataset.id)
        workflow.approve(db, bureau_admin.actor, dataset.id)
        workflow.publish(db, bureau_admin.actor, dataset.id)
        return dataset

    return do


@pytest.fixture
def conditional(
    make_dataset: Callable[..., Dataset], publish: Callable[[Dataset], Dataset]
) -> Dataset:
    return publish(
        make_dataset(
            title="特种设备使用登记信息",
            share_type="conditional",
            share_conditions="仅用于安全监管",
            legal_basis=BASIS,
            level="general_2",
            open_type="conditional",
            open_conditions="经审核后开放",
            fields=region_fields(),
        )
    )


@pytest.fixture
def unconditional(
    make_dataset: Callable[..., Dataset], publish: Callable[[Dataset], Dataset]
) -> Dataset:
    return publish(make_dataset(title="行政许可信息", item_code="03"))


@pytest.fixture
def not_shared(
    make_dataset: Callable[..., Dataset], publish: Callable[[Dataset], Dataset]
) -> Dataset:
    return publish(
        make_dataset(
            title="个体工商户经营者身份信息",
            item_code="04",
            share_type="none",
            legal_basis="《个人信息保护法》第十三条",
            level="general_3",
            open_type="none",
        )
    )


@pytest.fixture
def consumer(make_person: Callable[..., Person], other_agency: Agency) -> Person:
    """A data user of the requesting body."""
    return make_person(Role.AGENCY_CONSUMER, agency=other_agency)


@pytest.fixture
def district_agency(make_agency: Callable[..., Agency], district: Region) -> Agency:
    return make_agency("兰山区市场监督管理局", region=district)


@pytest.fixture
def district_officer(make_person: Callable[..., Person], district_agency: Agency) -> Person:
    return make_person(Role.AGENCY_OFFICER, agency=district_agency)


def ask(
    db: Session, who: Person, dataset: Dataset, *, today: dt.date | None = None, **kw: Any
) -> ShareRequest:
    """A conditional-style request (every field a conditional entry needs)."""
    day = today or local_today()
    data: dict[str, Any] = {
        "dataset_id": dataset.id,
        "purpose": "特种设备安全隐患排查",
        "scenario": "对辖区内电梯、锅炉开展联合检查",
        "fields": ["credit_code", "name", "legal_person"],
        "legal_basis": "《特种设备安全法》第五十七条",
        "ends_on": day + dt.timedelta(days=90),
    }
    data.update(kw)
    return requests.create_request(db, who.actor, ShareRequestCreate(**data), today=day)


def refuse(db: Session, who: Person, request: ShareRequest, **kw: Any) -> ShareRequest:
    return requests.deny_request(
        db, who.actor, request.id, Refusal(reason="不符合共享条件：用途超出法定职责"), **kw
    )


def object_to(db: Session, who: Person, request: ShareRequest, **kw: Any) -> ShareRequest:
    return requests.object_request(
        db, who.actor, request.id, ObjectionCreate(reason="我局依法承担特种设备联合检查职责"), **kw
    )


def grant(db: Session, who: Person, request: ShareRequest, **kw: Any) -> ShareRequest:
    return requests.grant_request(db, who.actor, request.id, GrantDecision(**kw))


def actions(db: Session, object_type: str, object_id: int) -> list[str]:
    stmt = select(AuditEntry.action).where(
        AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id)
    )
    return list(db.scalars(stmt.order_by(AuditEntry.seq)))


def notices_of(db: Session, person: Person) -> list[Notice]:
    stmt = select(Notice).where(Notice.user_id == person.user.id).order_by(Notice.id)
    return list(db.scalars(stmt))
