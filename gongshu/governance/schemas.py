"""Input and output shapes of data governance (一数一源 and corrections), by direction."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gongshu.governance.models import (
    CollectionKind,
    CopyOrigin,
    IssueStatus,
    KeyKind,
    ObjectionStatus,
)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- 一数一源 ---------------------------------------------------------------------------


class CollectionCreate(_In):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1, max_length=100)
    kind: CollectionKind = CollectionKind.THEME
    description: str = Field(default="", max_length=2000)


class ItemCreate(_In):
    collection_id: int = Field(ge=1)
    name: str = Field(min_length=1, max_length=100)
    key_kind: KeyKind
    description: str = Field(default="", max_length=2000)


class BindingSet(_In):
    """Name the authoritative source: a field of a dataset (by id or resource code)."""

    dataset_id: int | None = Field(default=None, ge=1)
    code: str | None = Field(default=None, max_length=64)
    field_name: str = Field(min_length=1, max_length=64)
    replace: bool = False


class CopyCreate(_In):
    dataset_id: int | None = Field(default=None, ge=1)
    code: str | None = Field(default=None, max_length=64)
    field_name: str = Field(min_length=1, max_length=64)
    origin: CopyOrigin = CopyOrigin.MANUAL


class CollectionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    kind: CollectionKind
    description: str


class FieldRef(BaseModel):
    """A field of a dataset, as the item pages and API show it."""

    dataset_id: int
    dataset_code: str
    dataset_title: str
    agency_id: int
    agency_name: str
    field_name: str
    field_label: str


class CopyRead(FieldRef):
    id: int
    origin: CopyOrigin
    open_issues: int


class ItemRead(BaseModel):
    id: int
    collection_id: int
    collection_name: str
    name: str
    key_kind: KeyKind
    description: str
    source: FieldRef | None
    copies: list[CopyRead]


class CheckRequest(_In):
    """What to check: every item a dataset takes part in, or one item."""

    dataset_id: int | None = Field(default=None, ge=1)
    item_id: int | None = Field(default=None, ge=1)


class PairRead(BaseModel):
    item_id: int
    source_dataset_id: int
    copy_dataset_id: int
    compared: int
    opened: int
    reopened: int
    resolved: int
    open: int
    skipped: str


class CheckRead(BaseModel):
    pairs: list[PairRead]
    opened: int
    reopened: int
    resolved: int


class IssueFilter(_In):
    agency_id: int | None = Field(default=None, ge=1)
    item_id: int | None = Field(default=None, ge=1)
    dataset_id: int | None = Field(default=None, ge=1)
    status: IssueStatus | None = IssueStatus.OPEN


class IssueRead(BaseModel):
    id: int
    item_id: int
    item_name: str
    source_dataset_id: int
    source_dataset_title: str
    source_agency_name: str
    copy_dataset_id: int
    copy_dataset_title: str
    copy_agency_name: str
    source_field: str
    copy_field: str
    key_value: str
    source_value: str
    copy_value: str
    status: IssueStatus
    resolution: str
    opened_at: dt.datetime
    last_seen_at: dt.datetime
    resolved_at: dt.datetime | None
    times_opened: int


class IssuePage(BaseModel):
    items: list[IssueRead]
    total: int
    page: int
    per_page: int


# --- corrections -------------------------------------------------------------------------


class CorrectionCreate(_In):
    """A value someone believes wrong: which row (key value), which field, what is right."""

    dataset_id: int = Field(ge=1)
    key_value: str = Field(min_length=1, max_length=200)
    field_name: str = Field(min_length=1, max_length=64)
    seen_value: str | None = Field(default=None, max_length=10_000)
    proposed_value: str = Field(default="", max_length=10_000)
    reason: str = Field(min_length=1, max_length=2000)
    evidence: str = Field(default="", max_length=10_000)


class CorrectionAnswer(_In):
    decision: Literal["accept", "reject"]
    reason: str = Field(default="", max_length=2000)


class CorrectionClose(_In):
    """The provider names the version that fixed the value."""

    version: int = Field(ge=1)


class CorrectionFilter(_In):
    status: Literal["open", "closed", "all"] = "open"
    role: Literal["provider", "reporter", "all"] = "all"
    dataset_id: int | None = Field(default=None, ge=1)


class DeadlineRead(BaseModel):
    due_on: dt.date
    rule: str
    provisional: bool
    remaining: int | None
    closed: bool


class CorrectionRead(BaseModel):
    id: int
    kind: str
    dataset_id: int
    dataset_code: str
    dataset_title: str
    agency_id: int
    agency_name: str
    key_field: str
    key_value: str
    field_name: str
    seen_value: str
    proposed_value: str
    reason: str
    evidence: str
    status: ObjectionStatus
    answer: str
    seen_version: int | None
    fixed_version: int | None
    fixed_version_url: str | None
    deadline: DeadlineRead | None
    created_at: dt.datetime
    answered_at: dt.datetime | None
    closed_at: dt.datetime | None
