"""Input and output shapes of the sharing workflow, by direction."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gongshu.share.models import (
    AssessmentOutcome,
    EmergencyStatus,
    GrantKind,
    GrantStatus,
    RequestKind,
    RequestStatus,
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- requests ------------------------------------------------------------------------------


class ShareRequestCreate(_In):
    """A share request. For a conditional entry purpose, scenario, fields, legal basis and
    an end date are required; an unconditional entry needs only a purpose."""

    dataset_id: int = Field(ge=1)
    purpose: str = Field(default="", max_length=500, description="what the data is used for")
    scenario: str = Field(default="", max_length=2000, description="the use scenario")
    fields: list[str] = Field(default_factory=list, description="field names; empty: all")
    legal_basis: str = Field(default="", max_length=2000)
    starts_on: dt.date | None = Field(default=None, description="default: today")
    ends_on: dt.date | None = Field(default=None, description="last day of use")


class GrantDecision(_In):
    """The provider grants: it may narrow the fields, choose the fields delivered in the
    clear (default none: masks apply) and shorten the duration."""

    lock_version: int | None = Field(default=None, description="a stale one gets 409")
    fields: list[str] | None = Field(default=None, description="default: as requested")
    clear_fields: list[str] = Field(default_factory=list)
    ends_on: dt.date | None = Field(default=None, description="default: as requested")
    reason: str = Field(default="", max_length=2000, description="comment (optional)")


class Refusal(_In):
    lock_version: int | None = None
    reason: str = Field(default="", max_length=2000, description="why (required)")


class ObjectionCreate(_In):
    lock_version: int | None = None
    reason: str = Field(default="", max_length=2000, description="why the refusal is wrong")


class ArbitrationDecision(_In):
    """The bureau's arbitration: ``grant`` true grants (as a provider's grant would),
    false upholds the refusal; a reason is required either way."""

    lock_version: int | None = None
    grant: bool
    reason: str = Field(default="", max_length=2000)
    fields: list[str] | None = None
    clear_fields: list[str] = Field(default_factory=list)
    ends_on: dt.date | None = None


class RevokeInput(_In):
    reason: str = Field(default="", max_length=2000, description="why (required)")


class DeadlineRead(BaseModel):
    due_on: dt.date
    rule: str
    provisional: bool
    remaining: int = Field(description="working days left; 0 on the due day, negative overdue")
    overdue: bool
    step: str = Field(description="decision, objection or arbitration")


class ShareRequestRead(BaseModel):
    id: int
    kind: RequestKind
    status: RequestStatus
    status_label: str
    dataset_id: int
    dataset_code: str
    dataset_title: str
    agency_id: int
    agency_name: str
    provider_agency_id: int
    provider_name: str
    purpose: str
    scenario: str
    legal_basis: str
    fields: list[str] | None
    starts_on: dt.date
    ends_on: dt.date | None
    granted_fields: list[str] | None
    clear_fields: list[str]
    decision_reason: str
    decided_at: dt.datetime | None
    objection_reason: str
    objected_at: dt.datetime | None
    arbitration_outcome: str
    arbitration_reason: str
    arbitrated_at: dt.datetime | None
    grant_id: int | None
    end_reason: str
    created_at: dt.datetime
    lock_version: int
    deadline: DeadlineRead | None
    actions: list[str] = Field(description="what the caller may do now")


class ShareRequestPage(BaseModel):
    items: list[ShareRequestRead]
    total: int
    page: int
    per_page: int


class GrantRead(BaseModel):
    """A grant as its parties see it. The fingerprint is shown to the provider and the
    bureau only."""

    id: int
    kind: GrantKind
    status: GrantStatus
    live: bool
    dataset_id: int
    dataset_code: str
    dataset_title: str
    agency_id: int
    agency_name: str
    fields: list[str] | None
    clear_fields: list[str]
    row_filter: list[Any]
    purpose: str
    starts_at: dt.datetime
    expires_at: dt.datetime | None
    request_id: int | None
    emergency_id: int | None
    fingerprint: str | None
    ended_at: dt.datetime | None
    end_reason: str


class GrantPage(BaseModel):
    items: list[GrantRead]
    total: int
    page: int
    per_page: int


# --- emergencies ----------------------------------------------------------------------------


class EmergencyCreate(_In):
    """Declare an emergency now until ``ends_at``. Empty ``dataset_ids`` means every shared
    published entry, empty ``agency_ids`` every active body; not both."""

    name: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=2000)
    dataset_ids: list[int] = Field(default_factory=list)
    agency_ids: list[int] = Field(default_factory=list)
    include_not_shared: bool = Field(
        default=False, description="also listed not-shared entries below important level"
    )
    in_clear: bool = Field(default=False, description="deliver every field in the clear")
    ends_at: dt.datetime


class EmergencyEnd(_In):
    lock_version: int | None = None
    reason: str = Field(default="", max_length=2000)


class EmergencyRead(BaseModel):
    id: int
    name: str
    reason: str
    status: EmergencyStatus
    active: bool
    dataset_ids: list[int]
    agency_ids: list[int]
    all_entries: bool
    all_agencies: bool
    include_not_shared: bool
    in_clear: bool
    skipped: list[Any]
    grants_issued: int
    starts_at: dt.datetime
    ends_at: dt.datetime
    ended_at: dt.datetime | None
    ended_early: bool
    end_reason: str
    lock_version: int


class EmergencyReport(BaseModel):
    emergency: EmergencyRead
    grants: int
    live_grants: int
    bodies: int
    entries: int
    reads: int
    rows_read: int
    reads_by_body: dict[str, int]


# --- return flow -----------------------------------------------------------------------------


class ReturnFlowSet(_In):
    """Which field holds the district, and the value it holds for each district (region
    code → value); districts left out get no grant."""

    field_name: str = Field(min_length=1, max_length=64)
    value_map: dict[str, str] = Field(default_factory=dict)


class ReturnFlowRead(BaseModel):
    dataset_id: int
    dataset_code: str
    dataset_title: str
    field_name: str
    value_map: dict[str, str]
    enabled: bool
    grants: int
    updated_at: dt.datetime


class SyncResult(BaseModel):
    issued: int
    revoked: int


# --- reassessment ----------------------------------------------------------------------------


class AssessmentCreate(_In):
    outcome: AssessmentOutcome
    reason: str = Field(default="", max_length=2000)


class AssessmentRead(BaseModel):
    id: int
    dataset_id: int
    outcome: AssessmentOutcome
    reason: str
    assessed_on: dt.date
    due_on: dt.date | None
    next_due_on: dt.date
    change_request_id: int | None
    created_at: dt.datetime


class PlanRead(BaseModel):
    dataset_id: int
    dataset_code: str
    dataset_title: str
    agency_name: str
    next_due_on: dt.date
    last_assessed_on: dt.date | None
    days_left: int = Field(description="calendar days; negative when overdue")
    state: Literal["ok", "soon", "overdue"]
