"""The review workflow and change requests in the JSON API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.catalog import changes, service, workflow
from gongshu.catalog.models import ChangeRequest, Dataset
from gongshu.catalog.schemas import DatasetRead
from gongshu.catalog.workflow import DeadlineView
from gongshu.catalog.workflow_schemas import (
    ChangeRequestCreate,
    ChangeRequestPage,
    ChangeRequestRead,
    ChangeReview,
    DatasetWorkflowRead,
    DeadlineRead,
    QueueItemRead,
    ReturnAction,
    WorkflowAction,
)
from gongshu.i18n import translate
from gongshu.web.deps import ActorDep, SessionDep

router = APIRouter(tags=["catalog workflow"])


def _deadline(view: DeadlineView | None) -> DeadlineRead | None:
    if view is None:
        return None
    return DeadlineRead(
        due_on=view.due_on,
        rule=translate(view.rule),
        provisional=view.provisional,
        remaining=view.remaining,
        overdue=view.overdue,
    )


def _read(session: Session, actor: Actor, dataset: Dataset) -> DatasetWorkflowRead:
    base = DatasetRead.model_validate(dataset).model_dump()
    return DatasetWorkflowRead(
        **base,
        submitted_at=dataset.submitted_at,
        reviewed_at=dataset.reviewed_at,
        review_comment=dataset.review_comment,
        review_deadline=_deadline(workflow.review_deadline(session, dataset)),
        actions=workflow.available_actions(actor, dataset),
    )


def _change(session: Session, change: ChangeRequest) -> ChangeRequestRead:
    view = workflow.deadline_view(session, changes.open_deadline_of(session, change))
    read = ChangeRequestRead.model_validate(change)
    read.deadline = _deadline(view)
    return read


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in"},
    403: {"description": "Not the owning agency's officer, or not a reviewer of this level"},
    404: {"description": "No such entry, or not visible to you"},
    409: {"description": "The entry is not in a state that allows this, or was changed"},
}


@router.get(
    "/datasets/{dataset_id}/workflow",
    response_model=DatasetWorkflowRead,
    summary="Where an entry stands in the review workflow",
    responses=_ERRORS,
)
def workflow_status(session: SessionDep, actor: ActorDep, dataset_id: int) -> DatasetWorkflowRead:
    """The entry with its open review deadline and the actions the caller may take."""
    return _read(session, actor, service.get_dataset(session, actor, dataset_id))


@router.post(
    "/datasets/{dataset_id}/submit",
    response_model=DatasetWorkflowRead,
    summary="Submit a draft or returned entry for review",
    responses=_ERRORS,
)
def submit(
    session: SessionDep, actor: ActorDep, dataset_id: int, data: WorkflowAction | None = None
) -> DatasetWorkflowRead:
    """The owning agency's officers; opens the review deadline (working days)."""
    lock = data.lock_version if data else None
    return _read(session, actor, workflow.submit(session, actor, dataset_id, lock))


@router.post(
    "/datasets/{dataset_id}/recall",
    response_model=DatasetWorkflowRead,
    summary="Recall a submitted entry to draft",
    responses=_ERRORS,
)
def recall(
    session: SessionDep, actor: ActorDep, dataset_id: int, data: WorkflowAction | None = None
) -> DatasetWorkflowRead:
    """The owning agency's officers, before the entry is reviewed."""
    lock = data.lock_version if data else None
    return _read(session, actor, workflow.recall(session, actor, dataset_id, lock))


@router.post(
    "/datasets/{dataset_id}/approve",
    response_model=DatasetWorkflowRead,
    summary="Approve a submitted entry",
    responses=_ERRORS,
)
def approve(
    session: SessionDep, actor: ActorDep, dataset_id: int, data: WorkflowAction | None = None
) -> DatasetWorkflowRead:
    """A bureau admin of the entry's district, or of the city."""
    data = data or WorkflowAction()
    dataset = workflow.approve(session, actor, dataset_id, data.lock_version, data.comment)
    return _read(session, actor, dataset)


@router.post(
    "/datasets/{dataset_id}/return",
    response_model=DatasetWorkflowRead,
    summary="Return a submitted entry with a reason",
    responses={**_ERRORS, 422: {"description": "No reason given"}},
)
def return_entry(
    session: SessionDep, actor: ActorDep, dataset_id: int, data: ReturnAction
) -> DatasetWorkflowRead:
    """A bureau admin of the entry's level; the agency edits it and submits it again."""
    dataset = workflow.return_(session, actor, dataset_id, data.reason, data.lock_version)
    return _read(session, actor, dataset)


@router.post(
    "/datasets/{dataset_id}/publish",
    response_model=DatasetWorkflowRead,
    summary="Publish an approved entry",
    responses=_ERRORS,
)
def publish(
    session: SessionDep, actor: ActorDep, dataset_id: int, data: WorkflowAction | None = None
) -> DatasetWorkflowRead:
    """A bureau admin of the entry's level; sets ``published_on`` if it is empty."""
    lock = data.lock_version if data else None
    return _read(session, actor, workflow.publish(session, actor, dataset_id, lock))


@router.get(
    "/review-queue",
    response_model=list[QueueItemRead],
    summary="Entries and change requests waiting for my review, soonest due first",
    responses={401: _ERRORS[401], 403: {"description": "Not a bureau admin"}},
)
def review_queue(session: SessionDep, actor: ActorDep) -> list[QueueItemRead]:
    return [
        QueueItemRead(
            kind="dataset" if item.kind == "dataset" else "change_request",
            id=item.id,
            dataset_id=item.dataset.id,
            code=item.dataset.code,
            title=item.dataset.title,
            agency=item.dataset.agency.name,
            state=item.dataset.state,
            step=translate(item.step),
            submitted_at=item.submitted_at,
            deadline=_deadline(item.deadline),
        )
        for item in workflow.review_queue(session, actor)
    ]


@router.get(
    "/change-requests",
    response_model=ChangeRequestPage,
    summary="List change requests",
    responses={401: _ERRORS[401]},
)
def list_change_requests(
    session: SessionDep,
    actor: ActorDep,
    dataset_id: Annotated[int | None, Query(ge=1)] = None,
    open_only: bool = False,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ChangeRequestPage:
    """Requests the caller may read (own agency's, or those of the entries they review)."""
    result = changes.list_changes(
        session, actor, dataset_id=dataset_id, open_only=open_only, page=page, per_page=per_page
    )
    return ChangeRequestPage(
        items=[_change(session, c) for c in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
    )


@router.post(
    "/datasets/{dataset_id}/change-requests",
    response_model=ChangeRequestRead,
    status_code=status.HTTP_201_CREATED,
    summary="Propose to modify or delete a published entry",
    responses={**_ERRORS, 422: {"description": "The proposed change breaks a catalog rule"}},
)
def create_change_request(
    session: SessionDep, actor: ActorDep, dataset_id: int, data: ChangeRequestCreate
) -> ChangeRequestRead:
    """The owning agency's officers. ``changes`` takes the shape of a PATCH of the entry;
    the entry stays as it is until the city bureau consents."""
    return _change(session, changes.propose_change(session, actor, dataset_id, data))


@router.get(
    "/change-requests/{change_id}",
    response_model=ChangeRequestRead,
    summary="Read a change request",
    responses={401: _ERRORS[401], 404: {"description": "No such change request"}},
)
def get_change_request(session: SessionDep, actor: ActorDep, change_id: int) -> ChangeRequestRead:
    return _change(session, changes.get_change(session, actor, change_id))


@router.post(
    "/change-requests/{change_id}/review",
    response_model=ChangeRequestRead,
    summary="Review a change request (district review or city consent)",
    responses={**_ERRORS, 422: {"description": "Rejected without a reason"}},
)
def review_change_request(
    session: SessionDep, actor: ActorDep, change_id: int, data: ChangeReview
) -> ChangeRequestRead:
    """The next step: a district entry's district bureau first, then the city bureau's
    consent; on consent the change is applied to the entry."""
    return _change(session, changes.review_change(session, actor, change_id, data))
