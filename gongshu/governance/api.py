"""JSON API of data governance: 一数一源 (collections, items, sources, copies, the
consistency check and its issues) and correction tickets. Who may do what is checked by the
services."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.catalog.models import Dataset
from gongshu.governance import consistency, corrections, queries, sources
from gongshu.governance.models import DataItem, Objection
from gongshu.governance.schemas import (
    BindingSet,
    CheckRead,
    CheckRequest,
    CollectionCreate,
    CollectionRead,
    CopyCreate,
    CopyRead,
    CorrectionAnswer,
    CorrectionClose,
    CorrectionCreate,
    CorrectionFilter,
    CorrectionRead,
    DeadlineRead,
    FieldRef,
    IssueFilter,
    IssuePage,
    IssueRead,
    ItemCreate,
    ItemRead,
    PairRead,
)
from gongshu.web.deps import ActorDep, SessionDep
from gongshu.workdays.service import remaining_for

router = APIRouter(tags=["governance"])


def field_ref(dataset: Dataset, field_name: str) -> FieldRef:
    labels = {f.name: f.label for f in dataset.fields}
    return FieldRef(
        dataset_id=dataset.id,
        dataset_code=dataset.code,
        dataset_title=dataset.title,
        agency_id=dataset.agency_id,
        agency_name=dataset.agency.name,
        field_name=field_name,
        field_label=labels.get(field_name, field_name),
    )


def item_read(item: DataItem, counts: dict[tuple[int, int], int]) -> ItemRead:
    binding = item.binding
    return ItemRead(
        id=item.id,
        collection_id=item.collection_id,
        collection_name=item.collection.name,
        name=item.name,
        key_kind=item.key_kind,
        description=item.description,
        source=field_ref(binding.dataset, binding.field_name) if binding is not None else None,
        copies=[
            CopyRead(
                **field_ref(c.dataset, c.field_name).model_dump(),
                id=c.id,
                origin=c.origin,
                open_issues=counts.get((item.id, c.dataset_id), 0),
            )
            for c in item.copies
        ],
    )


def _item(session: Session, actor: Actor, item_id: int) -> ItemRead:
    session.expire_all()
    item = sources.get_item(session, actor, item_id)
    return item_read(item, sources.open_issue_counts(session, [item.id]))


# --- 一数一源 ---------------------------------------------------------------------------


@router.get(
    "/governance/collections", response_model=list[CollectionRead], summary="List collections"
)
def list_collections(session: SessionDep, actor: ActorDep) -> list[CollectionRead]:
    return [CollectionRead.model_validate(c) for c in sources.list_collections(session, actor)]


@router.post(
    "/governance/collections",
    response_model=CollectionRead,
    status_code=status.HTTP_201_CREATED,
    summary="Add a collection",
)
def create_collection(
    session: SessionDep, actor: ActorDep, data: CollectionCreate
) -> CollectionRead:
    return CollectionRead.model_validate(sources.create_collection(session, actor, data))


@router.get("/governance/items", response_model=list[ItemRead], summary="List data items")
def list_items(
    session: SessionDep,
    actor: ActorDep,
    collection_id: Annotated[int | None, Query(ge=1)] = None,
) -> list[ItemRead]:
    """Every item with its authoritative source and its copies (open issues per copy)."""
    items = sources.list_items(session, actor, collection_id=collection_id)
    counts = sources.open_issue_counts(session, [i.id for i in items])
    return [item_read(i, counts) for i in items]


@router.post(
    "/governance/items",
    response_model=ItemRead,
    status_code=status.HTTP_201_CREATED,
    summary="Add a data item",
)
def create_item(session: SessionDep, actor: ActorDep, data: ItemCreate) -> ItemRead:
    item = sources.create_item(session, actor, data)
    return _item(session, actor, item.id)


@router.get("/governance/items/{item_id}", response_model=ItemRead, summary="One data item")
def get_item(session: SessionDep, actor: ActorDep, item_id: int) -> ItemRead:
    return _item(session, actor, item_id)


@router.put(
    "/governance/items/{item_id}/source",
    response_model=ItemRead,
    summary="Bind the item's authoritative source",
)
def bind_source(session: SessionDep, actor: ActorDep, item_id: int, data: BindingSet) -> ItemRead:
    """One source per item: binding an item already bound elsewhere needs ``replace``."""
    sources.bind_source(session, actor, item_id, data)
    return _item(session, actor, item_id)


@router.delete(
    "/governance/items/{item_id}/source",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Remove the item's source binding",
)
def unbind_source(session: SessionDep, actor: ActorDep, item_id: int) -> Response:
    sources.unbind_source(session, actor, item_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/governance/items/{item_id}/copies",
    response_model=ItemRead,
    status_code=status.HTTP_201_CREATED,
    summary="Link a copy of the item",
)
def link_copy(session: SessionDep, actor: ActorDep, item_id: int, data: CopyCreate) -> ItemRead:
    sources.link_copy(session, actor, item_id, data)
    return _item(session, actor, item_id)


@router.delete(
    "/governance/items/{item_id}/copies/{copy_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Unlink a copy",
)
def unlink_copy(session: SessionDep, actor: ActorDep, item_id: int, copy_id: int) -> Response:
    sources.unlink_copy(session, actor, item_id, copy_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/governance/items/{item_id}/suggestions",
    response_model=list[FieldRef],
    summary="Fields that look like copies of the item",
)
def suggestions(session: SessionDep, actor: ActorDep, item_id: int) -> list[FieldRef]:
    """Fields labelled like the item (or its source field) in entries with the join key."""
    return [
        field_ref(s.dataset, s.field.name) for s in sources.suggest_copies(session, actor, item_id)
    ]


@router.post("/governance/checks", response_model=CheckRead, summary="Run the consistency check")
def run_check(session: SessionDep, actor: ActorDep, data: CheckRequest) -> CheckRead:
    """Now, in the request: one dataset's items, one item, or (neither) every item."""
    report = consistency.check_dataset(
        session, actor, dataset_id=data.dataset_id, item_id=data.item_id
    )
    return CheckRead(
        pairs=[PairRead.model_validate(p, from_attributes=True) for p in report.pairs],
        opened=report.opened,
        reopened=report.reopened,
        resolved=report.resolved,
    )


@router.get("/governance/issues", response_model=IssuePage, summary="Consistency issues")
def list_issues(
    session: SessionDep,
    actor: ActorDep,
    filters: Annotated[IssueFilter, Query()],
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=queries.MAX_PER_PAGE)] = queries.PER_PAGE,
) -> IssuePage:
    """Issues in the actor's scope: an agency's own (as source or copy), the bureau's region."""
    result = queries.list_issues(session, actor, filters, page, per_page)
    return IssuePage(
        items=[IssueRead(**queries.issue_dict(i)) for i in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
    )


# --- corrections -------------------------------------------------------------------------


def correction_read(session: Session, objection: Objection) -> CorrectionRead:
    deadline = corrections.open_deadline_of(session, objection)
    remaining = None
    if deadline is not None and deadline.closed_at is None:
        remaining = remaining_for(session, [deadline])[deadline.id]
    return CorrectionRead(
        id=objection.id,
        kind=objection.kind.value,
        dataset_id=objection.dataset_id,
        dataset_code=objection.dataset.code,
        dataset_title=objection.dataset.title,
        agency_id=objection.agency_id,
        agency_name=objection.dataset.agency.name,
        key_field=objection.key_field,
        key_value=objection.key_value,
        field_name=objection.field_name,
        seen_value=objection.seen_value,
        proposed_value=objection.proposed_value,
        reason=objection.reason,
        evidence=objection.evidence,
        status=objection.status,
        answer=objection.answer,
        seen_version=objection.seen_version.number if objection.seen_version else None,
        fixed_version=objection.fixed_version.number if objection.fixed_version else None,
        fixed_version_url=corrections.version_url(objection),
        deadline=DeadlineRead(
            due_on=deadline.due_on,
            rule=deadline.rule,
            provisional=deadline.provisional,
            remaining=remaining,
            closed=deadline.closed_at is not None,
        )
        if deadline is not None
        else None,
        created_at=objection.created_at,
        answered_at=objection.answered_at,
        closed_at=objection.closed_at,
    )


@router.get(
    "/governance/corrections", response_model=list[CorrectionRead], summary="Correction tickets"
)
def list_corrections(
    session: SessionDep, actor: ActorDep, filters: Annotated[CorrectionFilter, Query()]
) -> list[CorrectionRead]:
    """Open tickets first, soonest due first; ``role=provider`` is the agency's queue."""
    items = corrections.list_corrections(session, actor, filters)
    return [correction_read(session, i.objection) for i in items]


@router.post(
    "/governance/corrections",
    response_model=CorrectionRead,
    status_code=status.HTTP_201_CREATED,
    summary="Flag a value as wrong",
)
def create_correction(
    session: SessionDep, actor: ActorDep, data: CorrectionCreate
) -> CorrectionRead:
    objection = corrections.create_correction(session, actor, data)
    return correction_read(session, corrections.get_correction(session, actor, objection.id))


@router.get(
    "/governance/corrections/{objection_id}",
    response_model=CorrectionRead,
    summary="One correction ticket",
)
def get_correction(session: SessionDep, actor: ActorDep, objection_id: int) -> CorrectionRead:
    return correction_read(session, corrections.get_correction(session, actor, objection_id))


@router.post(
    "/governance/corrections/{objection_id}/answer",
    response_model=CorrectionRead,
    summary="Accept or reject a correction",
)
def answer_correction(
    session: SessionDep, actor: ActorDep, objection_id: int, data: CorrectionAnswer
) -> CorrectionRead:
    objection = corrections.answer_correction(session, actor, objection_id, data)
    return correction_read(session, objection)


@router.post(
    "/governance/corrections/{objection_id}/close",
    response_model=CorrectionRead,
    summary="Close a correction with the version that fixed it",
)
def close_correction(
    session: SessionDep, actor: ActorDep, objection_id: int, data: CorrectionClose
) -> CorrectionRead:
    objection = corrections.close_with_version(session, actor, objection_id, data.version)
    return correction_read(session, objection)
