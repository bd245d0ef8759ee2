"""Schemas of public feedback, named by direction: ``…In`` (filed), ``…Read`` (returned)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from gongshu.feedback.models import ReuseKind

PublicStatus = Literal["received", "replied", "corrected", "rejected"]


class _In(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")


class FeedbackIn(_In):
    """An objection (异议) or error report (纠错) on a public entry."""

    kind: Literal["objection", "error"]
    text: str = Field(min_length=5, max_length=4000)
    field_name: str = Field(default="", max_length=64)


class RouteIn(_In):
    """The bureau routes a ticket or demand to an agency (default: the entry's provider)."""

    agency_id: int | None = None


class ReasonIn(_In):
    """A moderation decision; the reason is required to reject."""

    decision: Literal["approve", "reject"]
    reason: str = Field(default="", max_length=2000)


class FeedbackReplyIn(_In):
    """The provider's public reply: an answer (closes it), accepted (a correction follows)
    or rejected (with the reason)."""

    decision: Literal["answer", "accept", "reject"]
    reply: str = Field(min_length=2, max_length=4000)


class FeedbackCorrectedIn(_In):
    """The provider says what corrected the entry: a version of it and/or a correction
    ticket (纠错工单) of the same entry."""

    version: int | None = Field(default=None, ge=1)
    correction_id: int | None = Field(default=None, ge=1)


class DeadlineRead(BaseModel):
    due_on: dt.date
    working_days: int
    remaining: int | None = Field(description="Working days left (negative: overdue)")
    closed: bool


class FeedbackRead(BaseModel):
    """A public ticket as the public sees it (the filer's name is never shown)."""

    id: int
    kind: str
    dataset_id: int
    dataset_title: str
    agency_id: int
    agency_name: str
    field_name: str
    text: str
    status: str = Field(description="The ticket's workflow status (governance)")
    public_status: PublicStatus
    reply: str
    routed: bool
    fixed_version: int | None
    correction_id: int | None
    deadline: DeadlineRead | None
    created_at: dt.datetime
    answered_at: dt.datetime | None


class CommentIn(_In):
    text: str = Field(min_length=2, max_length=2000)


class CommentRead(BaseModel):
    id: int
    dataset_id: int
    author_name: str
    text: str
    status: str
    moderation_reason: str = Field("", description="Why moderation refused it, if it did")
    created_at: dt.datetime


class AppealIn(_In):
    """A rights appeal: what in the entry infringes whose rights, and how to reach the
    appellant."""

    text: str = Field(min_length=10, max_length=4000)
    contact: str = Field(default="", max_length=200)


class AppealStatementIn(_In):
    statement: str = Field(min_length=2, max_length=4000)


class AppealDecisionIn(_In):
    decision: Literal["upheld", "dismissed"]
    reason: str = Field(min_length=2, max_length=4000)
    withdraw: bool = Field(default=False, description="Take the entry off the portal")


class AppealRead(BaseModel):
    id: int
    dataset_id: int
    dataset_title: str
    agency_id: int
    text: str
    contact: str
    status: str
    provider_statement: str
    decision: str
    withdrawn: bool
    deadline: DeadlineRead | None
    created_at: dt.datetime
    decided_at: dt.datetime | None


class DemandIn(_In):
    title: str = Field(min_length=2, max_length=200)
    description: str = Field(min_length=5, max_length=4000)
    wanted_fields: str = Field(default="", max_length=2000)
    purpose: str = Field(default="", max_length=2000)
    suggested_agency_id: int | None = None


class DemandReplyIn(_In):
    decision: Literal["accept", "decline"]
    reply: str = Field(min_length=2, max_length=4000)
    dataset_id: int | None = Field(default=None, description="The entry that meets it, once open")


class DemandLinkIn(_In):
    dataset_id: int


class DemandRead(BaseModel):
    id: int
    title: str
    description: str
    wanted_fields: str
    purpose: str
    author_name: str
    suggested_agency_id: int | None
    agency_id: int | None
    agency_name: str | None
    status: str
    votes: int
    voted: bool = Field(description="Whether the caller has voted for it")
    reply: str
    dataset_id: int | None
    dataset_slug: str | None
    deadline: DeadlineRead | None
    created_at: dt.datetime
    replied_at: dt.datetime | None
    moderation_reason: str = Field("", description="Why moderation refused it, if it did")


class ReuseIn(_In):
    title: str = Field(min_length=2, max_length=200)
    kind: ReuseKind
    url: str = Field(min_length=8, max_length=500)
    description: str = Field(min_length=5, max_length=4000)
    submitter: str = Field(min_length=2, max_length=200)
    dataset_ids: list[int] = Field(min_length=1, max_length=50)

    @field_validator("url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("请填写以 http:// 或 https:// 开头的网址")
        return value


class ReuseDatasetRead(BaseModel):
    id: int
    title: str
    slug: str


class ReuseRead(BaseModel):
    id: int
    title: str
    kind: ReuseKind
    url: str
    description: str
    submitter: str
    status: str
    moderation_reason: str = Field("", description="Why moderation refused it, if it did")
    datasets: list[ReuseDatasetRead]
    created_at: dt.datetime


class ResponseTimeRead(BaseModel):
    """Replies of one agency to the public (objections, demands, appeals)."""

    agency_id: int
    agency_name: str
    total: int
    replied: int
    on_time: int
    late: int = Field(description="Replied after the due day")
    open_overdue: int = Field(description="Not replied and past the due day")
    open_in_time: int
    median_working_days: float | None = Field(description="Median working days to reply")


class ReasonOnlyIn(_In):
    reason: str = Field(min_length=2, max_length=2000)


class MyFeedbackRead(BaseModel):
    """Everything one signed-in person has sent the portal, newest first."""

    tickets: list[FeedbackRead]
    demands: list[DemandRead]
    comments: list[CommentRead]
    appeals: list[AppealRead]
    reuses: list[ReuseRead]


class QueueCountsRead(BaseModel):
    """How many items wait in each of the bureau's moderation queues."""

    objections: int
    demands: int
    comments: int
    reuses: int
    appeals: int


class DemandPage(BaseModel):
    items: list[DemandRead]
    total: int
    page: int
    per_page: int


class ReusePage(BaseModel):
    items: list[ReuseRead]
    total: int
    page: int
    per_page: int
