"""一数一源: collections, data items, their one authoritative source, and the copies.

Who may do what (checked here, for pages, API and CLI alike):

- every signed-in user of a public body (and the platform) reads collections, items,
  sources and copies — they say *where* data comes from, not the data;
- a city-level bureau admin (``catalog.review`` with city scope) and the platform (CLI)
  add collections and items, bind an item's source and link or unlink copies.

Rules: an item's name is unique in its collection; an item has at most one source binding
(the binding's primary key is the item), so binding an item that already has a source
needs ``replace``; the bound field, and each copy's field, exists in its dataset, which
also has a field checked as the item's identifier (``key_kind``) to join on; a copy is in
another dataset than the source. Each write records one ``governance.*`` audit entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from gongshu.audit.service import record
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.permissions import Perm, can, require_login
from gongshu.catalog import queries as catalog_queries
from gongshu.catalog.models import Dataset, DatasetState, Field
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.governance.models import (
    ConsistencyIssue,
    DataCollection,
    DataItem,
    IssueStatus,
    ItemCopy,
    KeyKind,
    SourceBinding,
)
from gongshu.governance.schemas import BindingSet, CollectionCreate, CopyCreate, ItemCreate
from gongshu.i18n import N_, translate

__all__ = [
    "Suggestion",
    "bind_source",
    "create_collection",
    "create_item",
    "get_item",
    "items_of_dataset",
    "key_field_of",
    "link_copy",
    "list_collections",
    "list_items",
    "may_manage",
    "suggest_copies",
    "unbind_source",
    "unlink_copy",
]

INVALID = N_("提交的内容有误，请按提示修改")
M_NOT_ALLOWED = N_("只有市级大数据主管部门可以维护一数一源")
M_COLLECTION_NOT_FOUND = N_("基础库不存在")
M_ITEM_NOT_FOUND = N_("数据项不存在")
M_COPY_NOT_FOUND = N_("该副本不存在")
M_DATASET_NOT_FOUND = N_("目录条目不存在")
M_CODE_TAKEN = N_("代码“{code}”已被使用")
M_NAME_TAKEN = N_("名称“{name}”已被使用")
M_ITEM_TAKEN = N_("该库中已有名为“{name}”的数据项")
M_NO_FIELD = N_("目录条目“{title}”没有字段“{field}”")
M_NO_KEY = N_("目录条目“{title}”没有校验为{kind}的字段，无法关联比对")
M_KEY_ITSELF = N_("关联标识字段本身不能作为数据项")
M_ALREADY_BOUND = N_("数据项“{item}”已绑定权威数据源“{title}”，如需更换请选择替换")
M_SAME_AS_SOURCE = N_("副本不能与权威数据源是同一个目录条目")
M_NO_SOURCE = N_("请先为数据项绑定权威数据源")
M_ALREADY_COPY = N_("该字段已关联为此数据项的副本")
M_NAME_DATASET = N_("请指定目录条目（编号或资源代码）")
M_WITHDRAWN = N_("目录条目已撤销，不能关联")

KEY_KIND_LABELS: dict[str, str] = {
    KeyKind.CITIZEN_ID: N_("公民身份号码"),
    KeyKind.CREDIT_CODE: N_("统一社会信用代码"),
}


def key_kind_label(kind: KeyKind | str) -> str:
    return translate(KEY_KIND_LABELS.get(str(kind), str(kind)))


# --- who may -------------------------------------------------------------------------------


def may_manage(actor: Actor | None) -> bool:
    """A city-level bureau admin or the platform (for showing the forms, too)."""
    if actor is None:
        return False
    if catalog_queries.is_platform(actor):
        return True
    return can(actor, Perm.CATALOG_REVIEW) and actor.city_scope


def _require_manage(actor: Actor | None) -> Actor:
    actor = require_login(actor)
    if not may_manage(actor):
        raise PermissionDenied(M_NOT_ALLOWED)
    return actor


def _require_reader(actor: Actor | None) -> Actor:
    """Sources are shown to public bodies: bureau, agencies and the platform."""
    actor = require_login(actor)
    if (
        catalog_queries.is_platform(actor)
        or actor.agency_id is not None
        or actor.has(Role.BUREAU_ADMIN)
    ):
        return actor
    raise PermissionDenied(M_NOT_ALLOWED)


# --- reads -------------------------------------------------------------------------------


def list_collections(session: Session, actor: Actor | None) -> list[DataCollection]:
    _require_reader(actor)
    stmt = select(DataCollection).order_by(DataCollection.kind, DataCollection.id)
    return list(session.scalars(stmt.options(selectinload(DataCollection.items))))


def _item_options() -> Sequence[Any]:
    return (
        selectinload(DataItem.collection),
        selectinload(DataItem.binding)
        .selectinload(SourceBinding.dataset)
        .selectinload(Dataset.agency),
        selectinload(DataItem.copies).selectinload(ItemCopy.dataset).selectinload(Dataset.agency),
    )


def list_items(
    session: Session, actor: Actor | None, *, collection_id: int | None = None
) -> list[DataItem]:
    """Every item (of one collection), with its binding and copies loaded."""
    _require_reader(actor)
    stmt = select(DataItem).options(*_item_options()).order_by(DataItem.collection_id, DataItem.id)
    if collection_id is not None:
        stmt = stmt.where(DataItem.collection_id == collection_id)
    return list(session.scalars(stmt))


def get_item(session: Session, actor: Actor | None, item_id: int) -> DataItem:
    _require_reader(actor)
    item = (
        session.scalars(
            select(DataItem).where(DataItem.id == item_id).options(*_item_options())
        ).one_or_none()
        if catalog_queries.valid_id(item_id)
        else None
    )
    if item is None:
        raise NotFound(M_ITEM_NOT_FOUND)
    return item


def items_of_dataset(session: Session, dataset_id: int) -> list[DataItem]:
    """The items a dataset takes part in, as source or as copy."""
    bound = select(SourceBinding.item_id).where(SourceBinding.dataset_id == dataset_id)
    copied = select(ItemCopy.item_id).where(ItemCopy.dataset_id == dataset_id)
    stmt = (
        select(DataItem)
        .where(DataItem.id.in_(bound.union(copied)))
        .options(*_item_options())
        .order_by(DataItem.id)
    )
    return list(session.scalars(stmt))


def open_issue_counts(session: Session, item_ids: Iterable[int]) -> dict[tuple[int, int], int]:
    """Open issues per (item, copy dataset), for the sources page."""
    ids = list(item_ids)
    if not ids:
        return {}
    stmt = (
        select(ConsistencyIssue.item_id, ConsistencyIssue.copy_dataset_id, func.count())
        .where(ConsistencyIssue.item_id.in_(ids), ConsistencyIssue.status == IssueStatus.OPEN)
        .group_by(ConsistencyIssue.item_id, ConsistencyIssue.copy_dataset_id)
    )
    return {(int(i), int(d)): int(n) for i, d, n in session.execute(stmt)}


# --- helpers -------------------------------------------------------------------------------


def key_field_of(fields: Iterable[Any], key_kind: KeyKind | str) -> str | None:
    """The first field checked as the identifier ``key_kind``: catalog ``Field`` objects or a
    version's schema (dicts with ``name`` and ``identifier``)."""
    for f in fields:
        if isinstance(f, dict):
            name, identifier = f.get("name"), f.get("identifier")
        else:
            name, identifier = f.name, f.identifier
        if identifier and str(identifier) == str(key_kind):
            return str(name)
    return None


def _dataset_of(
    session: Session, actor: Actor, dataset_id: int | None, code: str | None
) -> Dataset:
    dataset = None
    if dataset_id is not None:
        dataset = catalog_queries.find_visible(session, actor, dataset_id)
    elif code:
        dataset = catalog_queries.find_by_code(session, actor, code.strip())
    else:
        raise ValidationFailed(INVALID, {"dataset_id": [translate(M_NAME_DATASET)]})
    if dataset is None:
        raise NotFound(M_DATASET_NOT_FOUND)
    if dataset.state is DatasetState.WITHDRAWN:
        raise ValidationFailed(INVALID, {"dataset_id": [translate(M_WITHDRAWN)]})
    return dataset


def _check_field(dataset: Dataset, field_name: str, key_kind: KeyKind) -> Field:
    field = next((f for f in dataset.fields if f.name == field_name), None)
    if field is None:
        raise ValidationFailed(
            INVALID,
            {"field_name": [translate(M_NO_FIELD, title=dataset.title, field=field_name)]},
        )
    key = key_field_of(dataset.fields, key_kind)
    if key is None:
        message = translate(M_NO_KEY, title=dataset.title, kind=key_kind_label(key_kind))
        raise ValidationFailed(INVALID, {"dataset_id": [message]})
    if key == field_name:
        raise ValidationFailed(INVALID, {"field_name": [translate(M_KEY_ITSELF)]})
    return field


def _ref(dataset: Dataset, field_name: str) -> str:
    return f"{dataset.code} {dataset.title} · {field_name}"


# --- writes --------------------------------------------------------------------------------


def create_collection(
    session: Session, actor: Actor | None, data: CollectionCreate
) -> DataCollection:
    """Add a collection (a theme collection, usually: the six base ones are seeded)."""
    actor = _require_manage(actor)
    errors: dict[str, list[str]] = {}
    if session.scalar(select(DataCollection.id).where(DataCollection.code == data.code)):
        errors["code"] = [translate(M_CODE_TAKEN, code=data.code)]
    if session.scalar(select(DataCollection.id).where(DataCollection.name == data.name)):
        errors["name"] = [translate(M_NAME_TAKEN, name=data.name)]
    if errors:
        raise ValidationFailed(INVALID, errors)
    with unit_of_work(session):
        collection = DataCollection(**data.model_dump())
        session.add(collection)
        session.flush()
        record(
            session,
            actor,
            "governance.collection_create",
            "governance_collection",
            collection.id,
            label=collection.name,
            changes={k: [None, v] for k, v in data.model_dump(mode="json").items() if v},
        )
    return collection


def create_item(session: Session, actor: Actor | None, data: ItemCreate) -> DataItem:
    """Add a data item to a collection (its name is unique there)."""
    actor = _require_manage(actor)
    collection = session.get(DataCollection, data.collection_id)
    if collection is None:
        raise NotFound(M_COLLECTION_NOT_FOUND)
    taken = session.scalar(
        select(DataItem.id).where(
            DataItem.collection_id == collection.id, DataItem.name == data.name
        )
    )
    if taken is not None:
        raise ValidationFailed(INVALID, {"name": [translate(M_ITEM_TAKEN, name=data.name)]})
    with unit_of_work(session):
        item = DataItem(**data.model_dump(), created_by_id=actor.user_id)
        session.add(item)
        session.flush()
        record(
            session,
            actor,
            "governance.item_create",
            "governance_item",
            item.id,
            label=f"{collection.name} · {item.name}",
            changes={k: [None, v] for k, v in data.model_dump(mode="json").items() if v},
        )
    return item


def _resolve_open(session: Session, item_id: int, dataset_id: int | None, why: str) -> int:
    """Resolve the open issues of an item (of one copy dataset) whose comparison is gone."""
    stmt = select(ConsistencyIssue).where(
        ConsistencyIssue.item_id == item_id, ConsistencyIssue.status == IssueStatus.OPEN
    )
    if dataset_id is not None:
        stmt = stmt.where(ConsistencyIssue.copy_dataset_id == dataset_id)
    now = utcnow()
    count = 0
    for issue in session.scalars(stmt):
        issue.status = IssueStatus.RESOLVED
        issue.resolution = why
        issue.resolved_at = now
        count += 1
    return count


def bind_source(
    session: Session, actor: Actor | None, item_id: int, data: BindingSet
) -> SourceBinding:
    """Make a dataset's field the item's one authoritative source (一数一源).

    An item already bound elsewhere is rebound only with ``replace``; the old source's open
    issues are resolved (the next check compares against the new source)."""
    actor = _require_manage(actor)
    item = get_item(session, actor, item_id)
    dataset = _dataset_of(session, actor, data.dataset_id, data.code)
    _check_field(dataset, data.field_name, item.key_kind)
    if any(c.dataset_id == dataset.id for c in item.copies):
        raise ValidationFailed(INVALID, {"dataset_id": [translate(M_SAME_AS_SOURCE)]})
    current = item.binding
    if current is not None:
        if current.dataset_id == dataset.id and current.field_name == data.field_name:
            return current
        if not data.replace:
            raise Conflict(M_ALREADY_BOUND, item=item.name, title=current.dataset.title)
    with unit_of_work(session):
        before = _ref(current.dataset, current.field_name) if current is not None else None
        if current is not None:
            session.delete(current)
            session.flush()
            _resolve_open(session, item.id, None, "rebound")
        binding = SourceBinding(
            item_id=item.id,
            dataset_id=dataset.id,
            field_name=data.field_name,
            created_by_id=actor.user_id,
        )
        session.add(binding)
        session.flush()
        record(
            session,
            actor,
            "governance.source_bind",
            "governance_item",
            item.id,
            label=item.name,
            changes={
                "source": [before, _ref(dataset, data.field_name)],
                "agency_id": [
                    current.dataset.agency_id if current is not None else None,
                    dataset.agency_id,
                ],
            },
        )
    session.refresh(item)
    return binding


def unbind_source(session: Session, actor: Actor | None, item_id: int) -> None:
    """Remove an item's source binding (its open issues are resolved)."""
    actor = _require_manage(actor)
    item = get_item(session, actor, item_id)
    current = item.binding
    if current is None:
        raise NotFound(M_NO_SOURCE)
    with unit_of_work(session):
        before = _ref(current.dataset, current.field_name)
        session.delete(current)
        _resolve_open(session, item.id, None, "unbound")
        session.flush()
        record(
            session,
            actor,
            "governance.source_unbind",
            "governance_item",
            item.id,
            label=item.name,
            changes={"source": [before, None]},
        )
    session.expire(item)


def link_copy(session: Session, actor: Actor | None, item_id: int, data: CopyCreate) -> ItemCopy:
    """Link another dataset's field to the item as a copy that must agree with the source."""
    actor = _require_manage(actor)
    item = get_item(session, actor, item_id)
    if item.binding is None:
        raise ValidationFailed(INVALID, {"dataset_id": [translate(M_NO_SOURCE)]})
    dataset = _dataset_of(session, actor, data.dataset_id, data.code)
    _check_field(dataset, data.field_name, item.key_kind)
    if dataset.id == item.binding.dataset_id:
        raise ValidationFailed(INVALID, {"dataset_id": [translate(M_SAME_AS_SOURCE)]})
    if any(c.dataset_id == dataset.id and c.field_name == data.field_name for c in item.copies):
        raise ValidationFailed(INVALID, {"field_name": [translate(M_ALREADY_COPY)]})
    with unit_of_work(session):
        copy = ItemCopy(
            item_id=item.id,
            dataset_id=dataset.id,
            field_name=data.field_name,
            origin=data.origin,
            created_by_id=actor.user_id,
        )
        session.add(copy)
        session.flush()
        record(
            session,
            actor,
            "governance.copy_link",
            "governance_item",
            item.id,
            label=item.name,
            changes={
                "copy": [None, _ref(dataset, data.field_name)],
                "origin": [None, data.origin.value],
            },
        )
    session.refresh(item)
    return copy


def unlink_copy(session: Session, actor: Actor | None, item_id: int, copy_id: int) -> None:
    """Remove a copy; its open issues are resolved (nothing is compared any more)."""
    actor = _require_manage(actor)
    item = get_item(session, actor, item_id)
    copy = next((c for c in item.copies if c.id == copy_id), None)
    if copy is None:
        raise NotFound(M_COPY_NOT_FOUND)
    with unit_of_work(session):
        text = _ref(copy.dataset, copy.field_name)
        _resolve_open(session, item.id, copy.dataset_id, "unlinked")
        session.delete(copy)
        session.flush()
        record(
            session,
            actor,
            "governance.copy_unlink",
            "governance_item",
            item.id,
            label=item.name,
            changes={"copy": [text, None]},
        )
    session.expire(item)


# --- suggestions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """A field whose label matches the item (or its source field's label): a likely copy."""

    dataset: Dataset
    field: Field


def suggest_copies(session: Session, actor: Actor | None, item_id: int) -> list[Suggestion]:
    """Fields of other entries labelled like the item, whose entry has the join identifier
    and that are not linked yet."""
    actor = _require_reader(actor)
    item = get_item(session, actor, item_id)
    labels = {item.name}
    skip: set[int] = set()
    if item.binding is not None:
        skip.add(item.binding.dataset_id)
        source_field = next(
            (f for f in item.binding.dataset.fields if f.name == item.binding.field_name), None
        )
        if source_field is not None:
            labels.add(source_field.label)
    linked = {(c.dataset_id, c.field_name) for c in item.copies}
    stmt = (
        select(Field)
        .join(Dataset, Dataset.id == Field.dataset_id)
        .where(
            Field.label.in_(sorted(labels)),
            Dataset.state != DatasetState.WITHDRAWN,
            catalog_queries.visible_clause(actor),
        )
        .options(selectinload(Field.dataset).selectinload(Dataset.agency))
        .order_by(Dataset.id, Field.position)
    )
    found: list[Suggestion] = []
    for field in session.scalars(stmt):
        dataset = field.dataset
        if dataset.id in skip or (dataset.id, field.name) in linked:
            continue
        key = key_field_of(dataset.fields, item.key_kind)
        if key is None or key == field.name:
            continue
        found.append(Suggestion(dataset, field))
    return found
