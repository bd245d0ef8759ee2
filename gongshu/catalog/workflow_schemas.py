"""Input and output shapes of the review workflow and of change requests."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gongshu.catalog.models import ChangeKind, ChangeStatus, DatasetState
from gongshu.catalog.schemas import DatasetRead, DatasetUpdate


class WorkflowAction(BaseModel):
    """Submit, recall, approve or publish: send the ``lock_version`` you read."""

    lock_version: int | None = Field(
        default=None, description="the version you saw; a stale one gets 409"
    )
    comment: str = Field(default="", max_length=2000, description="approval comment")


class ReturnAction(BaseModel):
    """Return an entry to its agency; the reason is required."""

    lock_version: int | None = None
    reason: str = Field(default="", max_length=2000, description="why it goes back (required)")


class DeadlineRead(BaseModel):
    """A deadline in working days: its date, the rule that produced it, what remains."""

    model_config = ConfigDict(from_attributes=True)

    due_on: dt.date
    rule: str
    provisional: bool
    remaining: int = Field(description="working days left; 0 on the due day, negative overdue")
    overdue: bool


class DatasetWorkflowRead(DatasetRead):
    """An entry with where it stands in the review workflow."""

    submitted_at: dt.datetime | None
    reviewed_at: dt.datetime | None
    review_comment: str
    review_deadline: DeadlineRead | None = None
    actions: list[str] = Field(default_factory=list, description="what the caller may do now")


class QueueItemRead(BaseModel):
    """One item of the review queue."""

    kind: Literal["dataset", "change_request"]
    id: int
    dataset_id: int
    code: str
    title: str
    agency: str
    state: DatasetState
    step: str
    submitted_at: dt.datetime | None
    deadline: DeadlineRead | None


class ChangeRequestCreate(BaseModel):
    """A proposal to modify or delete a published entry.

    ``changes`` (for ``modify``) is a partial edit in the shape of ``PATCH /datasets/{id}``.
    """

    model_config = ConfigDict(str_strip_whitespace=True)

    kind: ChangeKind
    reason: str = Field(default="", max_length=2000)
    basis_changed_on: dt.date = Field(
        description="the day the legal basis or the agency's duties changed"
    )
    changes: DatasetUpdate | None = None


class ChangeReview(BaseModel):
    """The next reviewer's decision; rejecting needs a comment (the reason)."""

    approve: bool
    comment: str = Field(default="", max_length=2000)
    lock_version: int | None = None


class ChangeRequestRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    dataset_id: int
    kind: ChangeKind
    changes: dict[str, Any]
    reason: str
    basis_changed_on: dt.date
    proposal_due_on: dt.date
    late: bool
    status: ChangeStatus
    proposed_by_id: int | None
    proposed_at: dt.datetime
    district_reviewer_id: int | None
    district_reviewed_at: dt.datetime | None
    district_comment: str
    reviewer_id: int | None
    reviewed_at: dt.datetime | None
    review_comment: str
    lock_version: int
    deadline: DeadlineRead | None = None


class ChangeRequestPage(BaseModel):
    items: list[ChangeRequestRead]
    total: int
    page: int
    per_page: int
