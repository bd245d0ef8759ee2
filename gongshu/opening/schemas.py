"""Input and output shapes of public accounts and open applications (named by direction)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from gongshu.opening.models import AccountKind, ApplicationStatus, ReportStatus


class RegistrationIn(BaseModel):
    """A person or an organisation opening a public account."""

    kind: AccountKind
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    real_name: str = Field(
        default="", max_length=100, description="a person's real name, or the contact person"
    )
    org_name: str = Field(default="", max_length=200, description="organisations only")
    credit_code: str = Field(
        default="", max_length=30, description="unified social credit code (organisations)"
    )
    email: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=30)
    password: str = Field(min_length=1, max_length=256)


class PublicAccountRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: int
    kind: AccountKind
    real_name: str
    org_name: str
    credit_code: str
    created_at: dt.datetime


class ApplicationIn(BaseModel):
    """What a public user states when applying for a conditional entry."""

    dataset_id: int
    scenario: str = Field(default="", max_length=4000, description="应用场景")
    purpose: str = Field(default="", max_length=4000)
    fields: list[str] = Field(default_factory=list, description="field names wanted")
    security_measures: str = Field(default="", max_length=4000)
    requested_until: dt.date | None = Field(default=None, description="last day of use")
    reporting_committed: bool = Field(
        default=False, description="the commitment to report usage (must be true)"
    )


class AgreementAccept(BaseModel):
    """Acceptance of the agreement exactly as shown (its SHA-256)."""

    agreement_sha256: str = Field(min_length=64, max_length=64, pattern=r"^[0-9a-f]{64}$")


class DecisionIn(BaseModel):
    """The provider's decision. ``approve``: fields within those asked for (empty: all of
    them), an end no later than asked; ``refuse``: a reason is required."""

    outcome: str = Field(pattern=r"^(approve|refuse)$")
    reason: str = Field(default="", max_length=4000)
    fields: list[str] = Field(default_factory=list)
    until: dt.date | None = None


class ReasonIn(BaseModel):
    reason: str = Field(default="", max_length=4000)


class UsageReportIn(BaseModel):
    content: str = Field(default="", max_length=20000)


class UsageReportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    due_on: dt.date
    final: bool
    status: ReportStatus
    content: str
    submitted_at: dt.datetime | None


class DeadlineRead(BaseModel):
    due_on: dt.date
    working_days: int
    remaining_working_days: int | None
    rule: str


class OpenApplicationRead(BaseModel):
    id: int
    status: ApplicationStatus
    status_label: str
    dataset_id: int
    dataset_code: str
    dataset_title: str
    provider_agency_id: int
    provider_name: str
    applicant_id: int
    applicant_name: str
    scenario: str
    purpose: str
    fields: list[str]
    security_measures: str
    requested_until: dt.date
    reporting_committed: bool
    agreement_sha256: str
    accepted_at: dt.datetime | None
    submitted_at: dt.datetime | None
    approved_fields: list[str] | None
    decision_reason: str
    decided_at: dt.datetime | None
    starts_at: dt.datetime | None
    expires_at: dt.datetime | None
    ended_at: dt.datetime | None
    end_reason: str
    created_at: dt.datetime
    deadline: DeadlineRead | None = None
    reports: list[UsageReportRead] = Field(default_factory=list)


class OpenApplicationPage(BaseModel):
    items: list[OpenApplicationRead]
    total: int
    page: int
    per_page: int


class AgreementRead(BaseModel):
    application_id: int
    text: str
    sha256: str
    accepted_at: dt.datetime | None


class SweepResult(BaseModel):
    expired: int
    reports_overdue: int
