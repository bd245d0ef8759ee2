"""Fixtures of the conditional-opening tests: the small open city plus a conditional entry
with rows and personal fields, its provider, the bureau and two registered public users."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.auth import service as auth_service
from gongshu.auth.actor import Actor
from gongshu.auth.models import User
from gongshu.catalog import service as catalog_service
from gongshu.catalog import workflow
from gongshu.catalog.models import Dataset
from gongshu.catalog.schemas import FieldIn
from gongshu.identifiers import make_credit_code
from gongshu.opening import accounts, service
from gongshu.opening.models import OpenApplication
from gongshu.opening.schemas import AgreementAccept, ApplicationIn, RegistrationIn
from gongshu.store.storage import Storage, get_storage
from tests.portal.city import PASSWORD, OpenCity, build, entry, write_rows

TODAY = dt.date(2026, 9, 28)  # a Monday


@dataclass
class Opening:
    """What the opening tests work on."""

    city: OpenCity
    contacts: Dataset  # conditional, general_2, rows with a name and a mobile field
    provider: Actor  # the ecology bureau's data officer (the entry's provider)
    other_officer: Actor  # the market bureau's data officer (not the provider)
    bureau: Actor
    applicant: Actor  # a registered organisation
    other_public: Actor  # a registered person
    rows: list[dict[str, Any]]


def _actor(session: Session, username: str) -> Actor:
    user = session.scalars(select(User).where(User.username == username)).one()
    return auth_service.actor_for_user(user)


def contact_row(i: int) -> dict[str, Any]:
    return {
        "permit_no": f"91371300PW{i:04d}",
        "entity_name": f"临沂市排污测试企业{i}有限公司",
        "contact_name": ["张伟", "王芳", "李娜"][i % 3],
        "contact_mobile": f"1380539{i:04d}",
        "emission": i * 10,
    }


def register(session: Session, **data: Any) -> Actor:
    values: dict[str, Any] = {
        "kind": "individual",
        "real_name": "赵公众",
        "email": "public@example.cn",
        "password": PASSWORD,
    }
    values.update(data)
    user = accounts.register(session, RegistrationIn.model_validate(values))
    return auth_service.actor_for_user(user)


@pytest.fixture
def opening(db: Session) -> Opening:
    return build_opening(db, get_storage())


def build_opening(db: Session, storage: Storage) -> Opening:
    """The open city, the conditional entry with rows and two public users (works on the
    rolled-back test session and on a committed scratch database alike)."""
    city = build(db, storage)
    provider = _actor(db, "open_eco_officer")
    bureau = _actor(db, "open_bureau")
    dataset = catalog_service.create_dataset(
        db,
        provider,
        entry(
            title="排污单位联系人信息",
            description="排污单位及其环保联系人",
            category_class="theme",
            item_code="12",
            domain="生态环境",
            share_type="conditional",
            open_type="conditional",
            level="general_2",
            legal_basis="《排污许可管理条例》",
            open_conditions="签署开放协议",
            fields=[
                FieldIn(name="permit_no", label="许可证编号", is_key=True, required=True),
                FieldIn(name="entity_name", label="单位名称"),
                FieldIn(name="contact_name", label="联系人", sensitivity="name"),
                FieldIn(name="contact_mobile", label="联系电话", sensitivity="mobile"),
                FieldIn(name="emission", label="排放量", data_type="integer"),
            ],
        ),
    )
    workflow.submit(db, provider, dataset.id)
    workflow.approve(db, bureau, dataset.id)
    dataset = workflow.publish(db, bureau, dataset.id)
    rows = [contact_row(i) for i in range(1, 6)]
    write_rows(db, provider, storage, dataset, rows)
    applicant = register(
        db,
        kind="organization",
        username="green_lab",
        real_name="钱联系",
        org_name="临沂绿色环境研究所",
        credit_code=make_credit_code("91371300MA0000001"),
        email="lab@example.cn",
    )
    other = register(db, username="citizen_li", real_name="李市民", email="li@example.cn")
    return Opening(
        city=city,
        contacts=dataset,
        provider=provider,
        other_officer=_actor(db, "open_officer"),
        bureau=bureau,
        applicant=applicant,
        other_public=other,
        rows=rows,
    )


def application_input(dataset: Dataset, **overrides: Any) -> ApplicationIn:
    values: dict[str, Any] = {
        "dataset_id": dataset.id,
        "scenario": "流域污染源排放研究",
        "purpose": "分析重点排污单位的排放规律",
        "fields": ["permit_no", "contact_name", "emission"],
        "security_measures": "数据加密存储，专人管理，不向第三方提供",
        "requested_until": TODAY + dt.timedelta(days=365),
        "reporting_committed": True,
    }
    values.update(overrides)
    return ApplicationIn.model_validate(values)


def submitted(
    db: Session, o: Opening, applicant: Actor | None = None, **overrides: Any
) -> OpenApplication:
    """An application made and its agreement accepted (pending the provider's decision)."""
    who = applicant or o.applicant
    created = service.apply(db, who, application_input(o.contacts, **overrides), today=TODAY)
    text = service.agreement_text(db, created)
    from gongshu.opening.agreement import digest

    return service.accept_agreement(
        db, who, created.id, AgreementAccept(agreement_sha256=digest(text)), today=TODAY
    )
