"""What the data API returns (response models; the OpenAPI document is built from these).

Values in ``rows`` and ``groups`` are JSON as a reader expects them: text as strings,
integers as numbers, booleans as ``true``/``false``, dates as ``YYYY-MM-DD``, date-times
as ``YYYY-MM-DDTHH:MM:SS`` (no zone, as the provider wrote them) and decimals as **strings
holding the exact value** (``"1234.56"``), so no digit is lost to floating point.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field


class DatasetRef(BaseModel):
    """The catalog entry read."""

    id: int
    code: str = Field(description="the resource code")
    title: str


class FieldInfo(BaseModel):
    """One field the reader may see."""

    name: str
    label: str = Field(description="the Chinese label")
    type: str = Field(description="string, text, integer, decimal, date, datetime or boolean")
    masked: bool = Field(default=False, description="the reader sees this field masked by the gate")


class DataRowsPage(BaseModel):
    """One page of rows and where the next one starts."""

    dataset: DatasetRef
    version: int = Field(description="the dataset version the rows come from")
    fields: list[FieldInfo] = Field(description="the fields of each row, in order")
    rows: list[dict[str, Any]]
    limit: int
    next_cursor: str | None = Field(
        description="pass as `_after` for the next page; null on the last page"
    )
    next_url: str | None = Field(description="the next page's URL (same query); null at the end")


class CountRead(BaseModel):
    """How many rows match the filters (within the reader's scope)."""

    dataset: DatasetRef
    version: int
    count: int


class AggregateRead(BaseModel):
    """Grouped measures: one object per group, keyed by the group fields and the measures
    as asked (``count``, ``sum:amount`` …)."""

    dataset: DatasetRef
    version: int
    group_by: list[str]
    measures: list[str]
    groups: list[dict[str, Any]]
    truncated: bool = Field(description="more groups exist than were returned (`_limit`)")


class DataInfo(BaseModel):
    """What the reader may read of an entry through the data API, and how to ask."""

    dataset: DatasetRef
    version: int | None = Field(description="the live version; null when there is no data yet")
    rows: int | None = Field(description="rows in the live version (before the reader's scope)")
    basis: str = Field(description="why the reader may read: platform, bureau, provider, grant")
    fields: list[FieldInfo]
    filter_ops: list[str]
    measures: list[str]
    export_formats: list[str]
    links: dict[str, str] = Field(description="example URLs for this entry")


class FingerprintGrant(BaseModel):
    """The grant a fingerprint belongs to."""

    id: int
    kind: str
    status: str
    agency_id: int
    agency_name: str
    purpose: str
    starts_at: dt.datetime
    expires_at: dt.datetime | None


class FingerprintExport(BaseModel):
    """One export that carried the fingerprint, as the audit chain recorded it."""

    audit_seq: int
    at: dt.datetime
    actor_id: int | None
    actor_name: str
    agency_id: int | None
    operation: str
    format: str | None
    rows: int | None
    version: int | None
    export_id: str | None
    purpose: str | None
    request_id: str
    digest: str | None = Field(
        default=None,
        description="SHA-256 of the file as it left (null: the download did not complete)",
    )
    bytes: int | None = Field(default=None, description="the file's size in bytes")


class FingerprintRead(BaseModel):
    """Who produced the files carrying a fingerprint: the grant, the body, the exports."""

    fingerprint: str
    dataset: DatasetRef | None
    agency_id: int | None = Field(description="the body (agency) the fingerprint traces to")
    agency_name: str | None
    grant: FingerprintGrant | None
    exports: list[FingerprintExport]


class FileTraceMatch(BaseModel):
    """One export whose file was, byte for byte, the uploaded file: who made it, when,
    under which grant."""

    audit_seq: int = Field(description="the export's `data.export_digest` entry")
    at: dt.datetime = Field(description="when the export completed")
    member: str = Field(
        description="`file`: the whole download; `data.csv`: the CSV inside a CSV bundle"
    )
    format: str | None
    export_id: str | None
    fingerprint: str | None
    dataset: DatasetRef | None
    agency_id: int | None = Field(description="the body (agency) the export traces to")
    agency_name: str | None
    grant: FingerprintGrant | None
    actor_id: int | None = Field(description="the user (or API key's issuer) who exported")
    actor_name: str
    purpose: str | None
    version: int | None
    rows: int | None
    request_id: str


class FileTraceRead(BaseModel):
    """What an uploaded file leads to: the exports with exactly its bytes (by SHA-256), and
    the trace of the fingerprint it carries inside (XLSX, Parquet, JSON, CSV bundle)."""

    digest: str = Field(description="SHA-256 of the uploaded file")
    bytes: int
    kind: str = Field(description="csv, ndjson, json, xlsx, parquet, bundle, zip or unknown")
    recorded: bool = Field(
        description="the file is exactly a file the platform exported (false: modified, "
        "but the fingerprint inside still traces)"
    )
    embedded_fingerprint: str | None = Field(description="the fingerprint read from the file")
    matches: list[FileTraceMatch] = Field(
        description="exports with these exact bytes, newest first"
    )
    fingerprint: FingerprintRead | None = Field(description="the trace of the embedded fingerprint")
