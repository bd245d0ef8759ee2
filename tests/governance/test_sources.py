"""一数一源: one source per item, copies, suggestions and who may change them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from gongshu.audit.models import AuditEntry
from gongshu.db import utcnow
from gongshu.errors import Conflict, PermissionDenied, ValidationFailed
from gongshu.governance import sources
from gongshu.governance.models import DataCollection, SourceBinding
from gongshu.governance.schemas import BindingSet, CollectionCreate, CopyCreate, ItemCreate


def test_base_collections_are_seeded(db, bureau_admin) -> None:
    codes = {c.code for c in sources.list_collections(db, bureau_admin.actor)}
    assert {"population", "legal_entity", "geography", "licence", "credit", "economy"} <= codes


def test_one_binding_per_item(db, bureau_admin, name_item, registry, licences) -> None:
    actor = bureau_admin.actor
    sources.bind_source(
        db, actor, name_item.id, BindingSet(dataset_id=registry.id, field_name="name")
    )
    with pytest.raises(Conflict):
        sources.bind_source(
            db, actor, name_item.id, BindingSet(dataset_id=licences.id, field_name="company")
        )
    sources.bind_source(
        db,
        actor,
        name_item.id,
        BindingSet(dataset_id=licences.id, field_name="company", replace=True),
    )
    bindings = db.scalars(select(SourceBinding).where(SourceBinding.item_id == name_item.id)).all()
    assert [(b.dataset_id, b.field_name) for b in bindings] == [(licences.id, "company")]
    actions = db.scalars(
        select(AuditEntry.action).where(
            AuditEntry.object_type == "governance_item", AuditEntry.object_id == str(name_item.id)
        )
    ).all()
    assert actions == ["governance.item_create", "governance.source_bind", "governance.source_bind"]
    # The table itself refuses a second binding of the same item.
    with pytest.raises(IntegrityError), db.begin_nested():
        db.execute(
            insert(SourceBinding).values(
                item_id=name_item.id,
                dataset_id=registry.id,
                field_name="name",
                created_at=utcnow(),
            )
        )


def test_fields_are_checked(db, bureau_admin, name_item, registry, licences) -> None:
    actor = bureau_admin.actor
    with pytest.raises(ValidationFailed) as missing:
        sources.bind_source(
            db, actor, name_item.id, BindingSet(dataset_id=registry.id, field_name="nope")
        )
    assert "field_name" in missing.value.errors
    with pytest.raises(ValidationFailed):  # the join key itself is no item
        sources.bind_source(
            db, actor, name_item.id, BindingSet(dataset_id=registry.id, field_name="credit_code")
        )
    with pytest.raises(ValidationFailed):  # a copy needs a source first
        sources.link_copy(
            db, actor, name_item.id, CopyCreate(dataset_id=licences.id, field_name="company")
        )
    sources.bind_source(
        db, actor, name_item.id, BindingSet(dataset_id=registry.id, field_name="name")
    )
    with pytest.raises(ValidationFailed):  # not in the source's own entry
        sources.link_copy(
            db, actor, name_item.id, CopyCreate(dataset_id=registry.id, field_name="kind")
        )
    sources.link_copy(
        db, actor, name_item.id, CopyCreate(dataset_id=licences.id, field_name="company")
    )
    with pytest.raises(ValidationFailed):
        sources.link_copy(
            db, actor, name_item.id, CopyCreate(dataset_id=licences.id, field_name="company")
        )


def test_only_the_city_bureau_edits(
    db, officer, district_admin, bureau_admin, name_item, registry
) -> None:
    collection = db.scalars(select(DataCollection).where(DataCollection.code == "population")).one()
    data = ItemCreate(collection_id=collection.id, name="出生日期", key_kind="citizen_id")
    for who in (officer, district_admin):
        with pytest.raises(PermissionDenied):
            sources.create_item(db, who.actor, data)
        with pytest.raises(PermissionDenied):
            sources.bind_source(
                db, who.actor, name_item.id, BindingSet(dataset_id=registry.id, field_name="name")
            )
        with pytest.raises(PermissionDenied):
            sources.create_collection(
                db, who.actor, CollectionCreate(code="t", name="营商环境主题库")
            )
    # Reading is open to public bodies.
    assert any(i.id == name_item.id for i in sources.list_items(db, officer.actor))
    sources.create_collection(
        db, bureau_admin.actor, CollectionCreate(code="business", name="营商环境主题库")
    )
    with pytest.raises(ValidationFailed):
        sources.create_collection(
            db, bureau_admin.actor, CollectionCreate(code="business", name="x")
        )
    with pytest.raises(ValidationFailed):
        sources.create_item(
            db,
            bureau_admin.actor,
            ItemCreate(
                collection_id=name_item.collection_id, name="企业名称", key_kind="credit_code"
            ),
        )


def test_suggestions_match_labels(db, bureau_admin, name_item, registry, licences) -> None:
    actor = bureau_admin.actor
    sources.bind_source(
        db, actor, name_item.id, BindingSet(dataset_id=registry.id, field_name="name")
    )
    found = sources.suggest_copies(db, actor, name_item.id)
    assert [(s.dataset.id, s.field.name) for s in found] == [(licences.id, "company")]
    sources.link_copy(
        db,
        actor,
        name_item.id,
        CopyCreate(dataset_id=licences.id, field_name="company", origin="suggested"),
    )
    assert sources.suggest_copies(db, actor, name_item.id) == []
    count = db.scalar(select(func.count()).select_from(SourceBinding))
    assert count == 1
