"""Output shapes for the audit chain."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
    hash_version: int
    dataset_id: int | None = Field(description="the catalog entry concerned, if any")
    result: str = Field(description="`allowed` or `denied` for gate decisions, else empty")
    rows: int | None = Field(description="rows a read returned")


class AuditEntryPage(BaseModel):
    items: list[AuditEntryRead]
    next_before: int | None = Field(
        description="pass as `before` for the next (older) page; null on the last page"
    )
    per_page: int


class VerifyRead(BaseModel):
    ok: bool
    checked: int = Field(description="entries found intact before the first problem")
    broken_seq: int | None
    broken_id: int | None
    reason: str
    checkpoints: int = Field(description="checkpoints in the database that were checked")
    checkpoint_id: int | None = Field(description="the checkpoint involved in the problem")
    seconds: float


class SignatureRead(BaseModel):
    suite: str
    key_id: str
    digest: str
    signature: str
    signed_at: str


class CheckpointRead(BaseModel):
    """A checkpoint as exported (one line of `GET /api/v1/audit/checkpoints`)."""

    format: str
    tree: str
    id: int | None
    seq_from: int
    seq_to: int
    tree_size: int
    root: str = Field(description="RFC 6962 Merkle root over entries 1…tree_size (hex)")
    head_hash: str = Field(description="entry_hash of entry tree_size")
    time: str
    key_id: str = Field(description="the platform seal key (see GET /api/v1/seal/keys)")
    signature: SignatureRead


class ProofRead(BaseModel):
    """An RFC 6962 audit path of one entry in a checkpoint's tree."""

    seq: int
    leaf_index: int
    tree_size: int
    checkpoint_id: int
    entry_hash: str
    leaf_hash: str
    root: str
    proof: list[str] = Field(description="sibling hashes from the leaf up (hex)")
    checkpoint: CheckpointRead = Field(description="the signed checkpoint the root is from")


class CountsRead(BaseModel):
    calls: int = Field(description="allowed reads (`data.read`)")
    denied: int = Field(description="refused reads (`data.denied`)")
    records: int = Field(description="rows the allowed reads returned")
    verifications: int = Field(description="verification calls (`data.verify`)")


class StatsRowRead(CountsRead):
    id: int | None
    name: str


class StatsDayRead(CountsRead):
    day: dt.date


class StatsRead(BaseModel):
    since: dt.date
    until: dt.date
    totals: CountsRead
    by_agency: list[StatsRowRead]
    by_dataset: list[StatsRowRead]
    by_day: list[StatsDayRead]
