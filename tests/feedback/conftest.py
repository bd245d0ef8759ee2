"""A small open town for the feedback tests: a provider agency with an officer, another
agency, the bureau, two public users, a public entry with data, a conditional entry and a
hidden one, made through the real services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from gongshu.auth.models import Role
from gongshu.catalog import service as catalog_service
from gongshu.catalog import workflow
from gongshu.catalog.models import Dataset
from gongshu.orgs.models import Agency
from gongshu.store.storage import get_storage
from tests.factories import Person
from tests.portal.city import AIR_FIELDS, air_row, entry, write_rows


@dataclass
class Town:
    provider: Agency
    other: Agency
    officer: Person  # the provider's data officer
    other_officer: Person
    bureau: Person
    alice: Person  # public users
    bob: Person
    air: Dataset  # public, unconditional, with rows
    permits: Dataset  # public, conditional, no rows
    hidden: Dataset  # not opened


@pytest.fixture
def town(
    db: Session, make_agency: Callable[..., Agency], make_person: Callable[..., Person]
) -> Town:
    provider = make_agency("临沂市生态环境局")
    other = make_agency("临沂市交通运输局")
    officer = make_person(Role.AGENCY_OFFICER, agency=provider)
    bureau = make_person(Role.BUREAU_ADMIN)

    def published(data: object) -> Dataset:
        dataset = catalog_service.create_dataset(db, officer.actor, data)  # type: ignore[arg-type]
        workflow.submit(db, officer.actor, dataset.id)
        workflow.approve(db, bureau.actor, dataset.id)
        return workflow.publish(db, bureau.actor, dataset.id)

    air = published(
        entry(
            title="空气质量监测数据",
            domain="生态环境",
            category_class="theme",
            item_code="16",
            fields=AIR_FIELDS,
        )
    )
    write_rows(db, officer.actor, get_storage(), air, [air_row(i) for i in range(5)])
    permits = published(
        entry(
            title="排污许可证信息",
            category_class="theme",
            item_code="11",
            share_type="conditional",
            open_type="conditional",
            level="general_2",
            legal_basis="《排污许可管理条例》",
            open_conditions="签署数据使用协议",
        )
    )
    hidden = published(
        entry(
            title="重点排污单位内部台账",
            category_class="theme",
            item_code="12",
            share_type="conditional",
            open_type="none",
            level="general_4",
            legal_basis="《中华人民共和国环境保护法》",
        )
    )
    return Town(
        provider=provider,
        other=other,
        officer=officer,
        other_officer=make_person(Role.AGENCY_OFFICER, agency=other),
        bureau=bureau,
        alice=make_person(Role.PUBLIC, display_name="张三"),
        bob=make_person(Role.PUBLIC, display_name="李四"),
        air=air,
        permits=permits,
        hidden=hidden,
    )
