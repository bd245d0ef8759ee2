"""Verification services as the bureau configures them, and checks as callers send them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gongshu.gate.verify import MAX_CHECKS

ClaimValue = str | int | float | bool | None


class ServiceUpdate(BaseModel):
    """What a verification service offers (every field; a change replaces them all)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    key_field: str = Field(
        min_length=1, max_length=64, description="the field a caller names the record by"
    )
    fields: list[str] = Field(
        default_factory=list, max_length=50, description="fields a caller may compare"
    )
    valid_until_field: str | None = Field(
        default=None, max_length=64, description="a date field: valid while on or after today"
    )
    status_field: str | None = Field(default=None, max_length=64)
    status_values: list[str] = Field(
        default_factory=list, max_length=50, description="status values that count as valid"
    )
    reveal_existence: bool = Field(
        default=False, description="answers may say that no record has the key"
    )
    open_to_all: bool = Field(
        default=False,
        description="every public body may call the service without a grant on the entry",
    )
    active: bool = True

    @model_validator(mode="before")
    @classmethod
    def _blank_is_none(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in ("valid_until_field", "status_field"):
                if isinstance(data.get(name), str) and not data[name].strip():
                    data = {**data, name: None}
        return data


class ServiceCreate(ServiceUpdate):
    """A new verification service on one catalog entry (by id or code)."""

    code: str = Field(
        min_length=2,
        max_length=64,
        pattern=r"^[a-z][a-z0-9_-]*$",
        description="the service's name in URLs: lower-case letters, digits, - and _",
    )
    dataset_id: int | None = Field(default=None, ge=1)
    dataset_code: str | None = Field(default=None, max_length=64)


class ServiceRead(BaseModel):
    """A verification service (what it compares, how it decides validity, who may call)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    description: str
    dataset_id: int
    dataset_code: str
    dataset_title: str
    agency_name: str
    key_field: str
    fields: list[str]
    valid_until_field: str | None
    status_field: str | None
    status_values: list[str]
    reveal_existence: bool
    open_to_all: bool
    active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class CheckIn(BaseModel):
    """One check: the record's key and the values the caller claims for it."""

    key: str = Field(min_length=1, max_length=200, description="the record's key value")
    claims: dict[str, ClaimValue] = Field(
        default_factory=dict, max_length=50, description="field name → the value claimed"
    )
    ref: str | None = Field(
        default=None, max_length=100, description="your own reference, echoed in the answer"
    )


class CheckRequest(CheckIn):
    """One check and why it is made."""

    purpose: str = Field(min_length=2, max_length=200, description="why (kept in the audit)")


class BatchRequest(BaseModel):
    """Up to 1,000 checks answered in one call."""

    purpose: str = Field(min_length=2, max_length=200, description="why (kept in the audit)")
    checks: list[CheckIn] = Field(min_length=1, max_length=MAX_CHECKS)


class DatasetCheckRequest(CheckRequest):
    """A check against an entry named directly (needs a read grant on it)."""

    key_field: str | None = Field(
        default=None, max_length=64, description="default: the entry's first key field"
    )


class CheckAnswer(BaseModel):
    """The answer to one check; ``found`` is null unless the service reveals existence,
    ``valid`` null unless it has a validity rule."""

    match: bool
    mismatched: list[str]
    found: bool | None
    valid: bool | None
    ref: str | None = None


class VerificationAnswer(BaseModel):
    """The answer to a single check, with what it was answered from."""

    service: str | None
    dataset_id: int
    version: int
    checked_at: dt.datetime
    result: CheckAnswer


class VerificationBatchAnswer(BaseModel):
    """The answers to a batch, in the order of the checks."""

    service: str | None
    dataset_id: int
    version: int
    checked_at: dt.datetime
    results: list[CheckAnswer]


class SealStatement(BaseModel):
    """The platform's seal over an answer (docs/seal.md)."""

    format: str
    suite: str
    key_id: str
    digest: str
    signed_at: str
    signed: dict[str, Any]
    signature: str


class SealedAnswer(BaseModel):
    """A single answer with the platform's seal (``?sealed=1``)."""

    answer: VerificationAnswer
    seal: SealStatement


class SealedBatchAnswer(BaseModel):
    """A batch answer with the platform's seal (``?sealed=1``)."""

    answer: VerificationBatchAnswer
    seal: SealStatement
