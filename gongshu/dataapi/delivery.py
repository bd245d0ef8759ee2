"""Delivering an export as a file: the steps the data API's ``export.*`` routes and the
portal's ``/dataset/{slug}/download.*`` share.

1. ``start_export`` lets the gate decide and record the export (XLSX row cap first), and
   describes the file: fields, fingerprint, export id and the attribution — source agency,
   entry code, version, acquisition date, licence — that the formats with room carry;
2. ``file_body`` / ``bundle_body`` write the file as byte chunks (``exports``, ``bundle``);
3. ``recorded`` wraps the body so that a completed file's SHA-256 is audited
   (``data.export_digest``), and ``export_headers`` says in the response what a CSV has no
   room for.

Callers parse their own parameters (the data API's query string, the portal's fixed
choices) and choose the reader; nothing here reads a row except through the gate.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import pyarrow as pa
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.catalog.models import Dataset
from gongshu.dataapi import bundle, exports, tracing
from gongshu.db import utcnow
from gongshu.errors import ValidationFailed
from gongshu.gate import service as gate
from gongshu.gate.filters import Filter
from gongshu.i18n import N_
from gongshu.masking import Technique
from gongshu.portal import datapackage
from gongshu.seal import StreamSigner, platform_seal
from gongshu.settings import Settings
from gongshu.store.models import DatasetVersion
from gongshu.store.serving import ROW_COLUMN

MSG_XLSX_TOO_BIG = N_(
    "导出 {rows} 行超过 XLSX 文件的上限 {limit} 行，请改用 CSV 或 Parquet 格式，或加筛选条件"
)
# The gate's format name of the CSV bundle (its audit entries say ``format: zip``).
BUNDLE_FORMAT = "zip"


def field_infos(
    version: DatasetVersion, names: Sequence[str], masks: Mapping[str, Technique]
) -> list[dict[str, Any]]:
    """Name, label and type of each returned field (a masked field is text)."""
    by_name = {str(f["name"]): f for f in version.schema}
    out = []
    for name in names:
        spec = by_name.get(name)
        masked = masks.get(name, Technique.CLEAR) is not Technique.CLEAR
        out.append(
            {
                "name": name,
                "label": str(spec.get("label") or name) if spec else name,
                "type": "string" if masked or spec is None else str(spec["type"]),
                "masked": masked,
            }
        )
    return out


def without_row(
    batches: Iterator[pa.RecordBatch], schema: pa.Schema
) -> tuple[Iterator[pa.RecordBatch], pa.Schema]:
    """The batches without the store's row number column."""
    if ROW_COLUMN not in schema.names:
        return batches, schema
    keep = [n for n in schema.names if n != ROW_COLUMN]

    def dropped() -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield batch.select(keep)

    return dropped(), pa.schema([schema.field(n) for n in keep])


def file_name(dataset: Dataset, version: int, fingerprint: str, ext: str) -> str:
    """``<code>-v<version>-<first 8 of the fingerprint>.<ext>``: the fingerprint travels
    with a file that holds no room for it (CSV, NDJSON). ASCII only (the code's other
    characters become ``-``), so every browser keeps it."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", dataset.code).strip("-") or f"dataset-{dataset.id}"
    return f"{stem}-v{version}-{fingerprint[:8]}.{ext}"


def attribution(dataset: Dataset, version: DatasetVersion) -> dict[str, str]:
    """Whom and what to cite for a file of ``version``: source agency, acquisition date (the
    version's), licence (the open licence for open rows, else the sharing terms)."""
    licence = datapackage.licence_of(dataset)
    return {
        "source": dataset.agency.name,
        "acquired": version.created_at.date().isoformat(),
        "licence": licence["name"],
        "licence_url": licence["path"],
    }


@dataclass(frozen=True)
class Export:
    """An export the gate has allowed and recorded: its rows, what the file says about
    itself, and the data directory's scratch space."""

    dataset: Dataset
    result: gate.GateExport
    batches: Iterator[pa.RecordBatch]
    schema: pa.Schema
    meta: exports.ExportMeta
    tmp_dir: Path


def start_export(
    session: Session,
    actor: Actor,
    settings: Settings,
    dataset: Dataset,
    *,
    fmt: str,
    purpose: str,
    columns: Sequence[str] | None = None,
    filters: Sequence[Filter] = (),
    header: Literal["name", "label"] = "name",
    version: DatasetVersion | None = None,
    note: str | None = None,
) -> Export:
    """Let the gate decide and record the export (after the XLSX row cap), and describe the
    file to be written. ``note`` replaces the XLSX metadata sheet's closing note."""
    if fmt == "xlsx":
        # Counted first (an audited count), so an oversized workbook is refused before any
        # export is recorded or written.
        counted = gate.count(
            session, actor, dataset, version=version, purpose=purpose, filters=filters
        )
        if counted.rows > settings.data_api_xlsx_max_rows:
            raise ValidationFailed.single(
                "fmt",
                MSG_XLSX_TOO_BIG.format(rows=counted.rows, limit=settings.data_api_xlsx_max_rows),
            )
    result = gate.export(
        session,
        actor,
        dataset,
        purpose=purpose,
        fmt=fmt,
        columns=columns,
        filters=filters,
        version=version,
    )
    batches, schema = result.batches, result.schema
    if columns is None or ROW_COLUMN not in columns:
        batches, schema = without_row(batches, schema)
    meta = exports.ExportMeta(
        dataset_code=dataset.code,
        dataset_title=dataset.title,
        version=result.version.number,
        fingerprint=result.fingerprint,
        exported_at=utcnow().replace(microsecond=0),
        fields=[
            exports.ExportField(f["name"], f["label"], f["type"])
            for f in field_infos(result.version, schema.names, result.masks)
        ],
        export_id=result.export_id,
        header=header,
        attribution=attribution(dataset, result.version),
        **({"note": note} if note is not None else {}),
    )
    tmp_dir = settings.data_dir / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    return Export(dataset, result, batches, schema, meta, tmp_dir)


def export_headers(export: Export, name: str) -> dict[str, str]:
    """The export's response headers: the fingerprint and export id (the file name carries
    the fingerprint's first 8 digits too), and the attribution a CSV has no room for."""
    dataset, result = export.dataset, export.result
    return {
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Gongshu-Fingerprint": result.fingerprint,
        "X-Gongshu-Export-Id": result.export_id,
        "X-Gongshu-Version": str(result.version.number),
        "X-Gongshu-Rows": str(result.rows),
        "X-Gongshu-Dataset": quote(dataset.code, safe="/"),
        # Header values are Latin-1: the agency's name goes percent-encoded (UTF-8).
        "X-Gongshu-Source": quote(dataset.agency.name, safe=""),
        "X-Gongshu-Acquired": result.version.created_at.date().isoformat(),
        "X-Gongshu-License": datapackage.licence_of(dataset)["name"],
        "Cache-Control": "no-store",
    }


def recorded(
    body: Iterator[bytes],
    session: Session,
    actor: Actor,
    export: Export,
    fmt: str,
    members: Callable[[], Mapping[str, Any]] | None = None,
) -> Iterator[bytes]:
    """The body, with the completed file's digest audited when its last chunk is sent."""
    return tracing.recorded(
        body,
        session,
        actor,
        tracing.ExportRecord(
            dataset_id=export.dataset.id,
            dataset_title=export.dataset.title,
            export_id=export.result.export_id,
            fingerprint=export.result.fingerprint,
            fmt=fmt,
            version=export.result.version.number,
        ),
        members=members,
    )


def file_body(
    session: Session, actor: Actor, export: Export, fmt: str, *, ndjson: bool = False
) -> tuple[Iterator[bytes], str]:
    """The audited body of a CSV, XLSX, JSON (``ndjson``: NDJSON) or Parquet file, and its
    file name."""
    name = "ndjson" if ndjson else fmt
    body = exports.stream(
        fmt,
        export.batches,
        export.meta,
        schema=export.schema,
        ndjson=ndjson,
        tmp_dir=export.tmp_dir,
    )
    result = export.result
    return (
        recorded(body, session, actor, export, name),
        file_name(export.dataset, result.version.number, result.fingerprint, name),
    )


def bundle_body(
    session: Session, actor: Actor, export: Export, settings: Settings
) -> tuple[Iterator[bytes], str]:
    """The body of the CSV bundle (``data.csv``, ``datapackage.json`` with attribution,
    fingerprint and export id, and the seal's signature), and its file name."""
    dataset, result, meta = export.dataset, export.result, export.meta
    titles = meta.column_titles(export.schema.names)
    package = datapackage.export_descriptor(
        dataset,
        result.version,
        path=bundle.DATA_MEMBER,
        columns=[
            datapackage.FileColumn(title, name, name in result.masks)
            for title, name in zip(titles, export.schema.names, strict=True)
        ],
        export={
            "fingerprint": result.fingerprint,
            "export_id": result.export_id,
            "exported_at": meta.exported_at.isoformat(),
            "rows": result.rows,
        },
    )

    def describe(data: bundle.DataFile) -> dict[str, Any]:
        resource = {**package["resources"][0], "bytes": data.size, "hash": f"sha256:{data.sha256}"}
        return {**package, "resources": [resource]}

    signer = StreamSigner(
        platform_seal(settings),
        name=bundle.DATA_MEMBER,
        dataset={"id": dataset.id, "code": dataset.code},
        version=result.version.number,
        fingerprint=result.fingerprint,
        extra={"export_id": result.export_id},
    )
    data = bundle.DataFile()
    csv_chunks = exports.stream("csv", export.batches, meta, schema=export.schema)
    body = bundle.write(
        csv_chunks, signer=signer, describe=describe, written_at=meta.exported_at, data=data
    )

    def members() -> dict[str, Any]:
        return {"csv_digest": data.sha256, "csv_bytes": data.size}

    name = file_name(dataset, result.version.number, result.fingerprint, "csv.zip")
    return recorded(body, session, actor, export, BUNDLE_FORMAT, members), name
