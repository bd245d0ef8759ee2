"""Fixtures for the catalog tests (the shared ones live in tests/factories.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.auth.models import Role
from gongshu.catalog.models import Dataset, DatasetState
from gongshu.orgs.models import Region
from tests.factories import Person
from tests.factories import csrf_from as csrf_of


def api_payload(**overrides: Any) -> dict[str, Any]:
    """A valid JSON body for POST /api/v1/datasets."""
    body: dict[str, Any] = {
        "title": "食品经营许可信息",
        "description": "食品经营许可证的发放情况",
        "category_class": "theme",
        "item_code": "04",
        "subitem_code": "001",
        "format": "database",
        "share_type": "unconditional",
        "open_type": "unconditional",
        "level": "general_1",
        "update_cycle": "weekly",
        "fields": [
            {"name": "licence_no", "label": "许可证编号", "is_key": True, "required": True},
            {"name": "holder", "label": "经营者名称", "required": True},
        ],
    }
    body.update(overrides)
    return body


def count_datasets(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Dataset)) or 0)


def audit_entries(db: Session, dataset_id: int, action: str | None = None) -> list[AuditEntry]:
    stmt = select(AuditEntry).where(
        AuditEntry.object_type == "dataset", AuditEntry.object_id == str(dataset_id)
    )
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return list(db.scalars(stmt.order_by(AuditEntry.seq)))


@pytest.fixture
def publish(db: Session) -> Callable[[Dataset], Dataset]:
    """Mark an entry published. The review workflow comes later; until then tests set the
    state directly to exercise what other agencies may see."""

    def do(dataset: Dataset) -> Dataset:
        dataset.state = DatasetState.PUBLISHED
        db.commit()
        return dataset

    return do


@pytest.fixture
def district_admin(make_person: Callable[..., Person], district: Region) -> Person:
    return make_person(Role.BUREAU_ADMIN, region=district)


@pytest.fixture
def consumer(make_person: Callable[..., Person], other_agency: Any) -> Person:
    return make_person(Role.AGENCY_CONSUMER, agency=other_agency)


@pytest.fixture
def public_user(make_person: Callable[..., Person]) -> Person:
    return make_person(Role.PUBLIC)


def page_form(client: TestClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return csrf_of(response.text)
