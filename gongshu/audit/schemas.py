"""Output shapes for the audit chain."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: dt.datetime
    actor_id: int | None
    actor_name: str
    agency_id: int | None
    action: str
    object_type: str
    object_id: str
    object_label: str
    changes: dict[str, Any]
    request_id: str
    ip: str
    prev_hash: str
    entry_hash: str


class AuditEntryPage(BaseModel):
    items: list[AuditEntryRead]
    total: int
    page: int
    per_page: int


class VerifyRead(BaseModel):
    ok: bool
    checked: int
    broken_seq: int | None
    broken_id: int | None
    reason: str
