"""Shapes of the ingestion and version API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gongshu.ingest.models import IngestMode, IngestStatus, InvalidPolicy, SourceKind


class IssueRead(BaseModel):
    row: int
    column: str
    message: str = Field(description="In the reader's language")
    value: str | None = None
    severity: str


class IngestionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    dataset_id: int
    status: IngestStatus
    source_kind: SourceKind
    mode: IngestMode
    snapshot: bool
    on_invalid: InvalidPolicy
    file_name: str
    file_sha256: str
    file_bytes: int
    options: dict[str, Any]
    detected: dict[str, Any]
    mapping: dict[str, Any]
    rows_read: int
    rows_valid: int
    rows_rejected: int
    warnings: int
    issues: list[IssueRead] = []
    error: str
    version_id: int | None
    version_number: int | None = None
    rejected_url: str | None = None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class VersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    dataset_id: int
    number: int
    status: str
    current: bool = False
    row_count: int
    byte_size: int
    checksum: str
    mode: str
    source: dict[str, Any]
    schema_: list[dict[str, Any]] = Field(alias="schema", serialization_alias="schema")
    added: int | None
    removed: int | None
    changed: int | None
    rejected_count: int
    quality: dict[str, Any]
    job_id: int | None
    created_at: dt.datetime
    published_at: dt.datetime | None


class ProfileUpdate(BaseModel):
    on_invalid: InvalidPolicy | None = None
    mapping: dict[str, str] | None = Field(
        default=None, description="Field name -> source column header, remembered for uploads"
    )


class PushRows(BaseModel):
    mode: IngestMode = Field(default=IngestMode.APPEND, description="append or upsert")
    snapshot: bool = Field(default=False, description="upsert only: rows absent are deleted")
    on_invalid: InvalidPolicy | None = None
    rows: list[dict[str, Any]] = Field(description="field name -> value, one object per row")


class ProfileRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    dataset_id: int
    on_invalid: InvalidPolicy
    mapping: dict[str, Any]


class RowsPage(BaseModel):
    version: int
    rows: list[dict[str, Any]]
    next: str | None = Field(description="Cursor for the next page, or null at the end")


class ChangeRead(BaseModel):
    key: list[Any]
    field: str
    old: Any
    new: Any


class DiffRead(BaseModel):
    old: int
    new: int
    added: int
    removed: int
    changed: int
    added_rows: list[dict[str, Any]]
    removed_rows: list[dict[str, Any]]
    changes: list[ChangeRead]


class EntityRead(BaseModel):
    dataset_id: int
    code: str
    title: str
    agency: str
    version: int
    field: str
    rows: list[dict[str, Any]]


class TraceRead(BaseModel):
    version: int
    row: dict[str, Any]
    source_row: int | None
    ingestion_id: int | None
    file_name: str
    file_sha256: str
    source_kind: str | None
    uploaded_by: str
    uploaded_at: dt.datetime | None
    introduced_in: int | None
