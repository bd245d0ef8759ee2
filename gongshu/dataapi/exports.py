"""Export files written from Arrow batches as they arrive: CSV, XLSX, JSON/NDJSON, Parquet.

Every writer is a generator of byte chunks, so an export streams: memory holds one batch
(and the writer's own buffers), never the file. XLSX is the exception that proves it:
a ZIP's directory comes last and openpyxl writes whole parts, so the workbook is built in
a temporary file on disk (write-only mode: rows go straight to that file) and then
streamed from it.

No exported cell is ever a formula:

- **XLSX**: every string is written as a string cell (inline string), including text that
  starts with ``=`` (which openpyxl would otherwise take for a formula) and text that
  looks like an error code (``#N/A``); ``+``, ``-`` and ``@`` are text there anyway.
  Characters XLSX cannot hold (control characters other than tab and line breaks) become
  U+FFFD; a cell holds at most 32,767 characters (Excel's limit; openpyxl cuts longer text).
- **CSV**: a string value that starts with ``=``, ``+``, ``-``, ``@``, a tab, a carriage
  return or an apostrophe gets one leading apostrophe ``'`` (OWASP's advice against CSV
  injection). The rule is reversible: a reader drops one leading ``'`` from any string
  value that starts with one. Numbers, dates and booleans are never prefixed (``-3`` in
  a number column stays ``-3``).

Formats whose readers tolerate metadata carry the gate's fingerprint of the export inside
the file (traceable copies): JSON in the envelope's ``fingerprint`` field; XLSX in the
document properties (identifier and a custom ``gongshu_fingerprint`` property) and on a
last sheet describing the export; Parquet in the file's key-value metadata
(``gongshu.fingerprint``). CSV and NDJSON hold nothing but their rows — no comment line, no
trailing record — because an extra line breaks the readers that expect uniform rows; their
fingerprint travels in the response (header and file name, see ``file_name``), in the CSV
bundle's ``datapackage.json`` (``bundle``), and every completed export's SHA-256 is recorded
in the audit chain, so even a bare copy traces back by its digest.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Font

from gongshu.i18n import N_, translate

__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "XLSX_SHEET_ROWS",
    "ExportField",
    "ExportMeta",
    "csv_unescape",
    "json_value",
    "stream",
]

ExportFormat = Literal["csv", "xlsx", "json", "parquet"]
FORMATS: tuple[ExportFormat, ...] = ("csv", "xlsx", "json", "parquet")
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}
# Data rows per sheet: Excel's 1,048,576 rows less the header row. A module constant so
# that a test can lower it and see the split without writing a million rows.
XLSX_SHEET_ROWS = 1_048_575
XLSX_MAX_CELL_CHARS = 32_767
# Rows turned into Python objects at a time (JSON, XLSX): bounds memory for wide rows.
CHUNK_ROWS = 8192
CHUNK_BYTES = 4 * 1024 * 1024
BOM = b"\xef\xbb\xbf"
CSV_PREFIXED = re.compile(r"^[=+\-@\t\r']")
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

SHEET_DATA = N_("数据")
SHEET_ABOUT = N_("导出说明")
ABOUT_DATASET = N_("数据集")
ABOUT_CODE = N_("资源代码")
ABOUT_VERSION = N_("版本")
ABOUT_ROWS = N_("行数")
ABOUT_FINGERPRINT = N_("指纹")
ABOUT_EXPORTED = N_("导出时间")
ABOUT_NOTE = N_(
    "本文件由公共数据管理平台导出，指纹可追溯到产生它的授权与导出记录，请勿转让或扩散。"
)
ABOUT_SOURCE = N_("来源机构")
ABOUT_ACQUIRED = N_("获取日期")
ABOUT_LICENCE = N_("许可协议")
#: What an attribution names, in the order a metadata sheet lists it.
ATTRIBUTION_LABELS: dict[str, str] = {
    "source": ABOUT_SOURCE,
    "acquired": ABOUT_ACQUIRED,
    "licence": ABOUT_LICENCE,
}


@dataclass(frozen=True)
class ExportField:
    """One exported column: its name, its Chinese label and its catalog type."""

    name: str
    label: str
    type: str


@dataclass(frozen=True)
class ExportMeta:
    """What the file says about itself: which data, which version, which fingerprint."""

    dataset_code: str
    dataset_title: str
    version: int
    fingerprint: str
    exported_at: dt.datetime
    fields: Sequence[ExportField] = field(default_factory=tuple)
    export_id: str | None = None
    header: Literal["name", "label"] = "name"
    #: Whom to cite: ``source`` (agency), ``acquired`` (date), ``licence`` (and
    #: ``licence_url``), written where the format has room (JSON ``attribution``, XLSX
    #: metadata sheet, Parquet key-value metadata ``gongshu.attribution.*``).
    attribution: Mapping[str, str] = field(default_factory=dict)
    #: The metadata sheet's closing note (default: the shared-data note).
    note: str = ABOUT_NOTE

    def column_titles(self, names: Sequence[str]) -> list[str]:
        if self.header == "name":
            return list(names)
        labels = {f.name: f.label for f in self.fields}
        return [labels.get(n) or n for n in names]

    def about(self, rows: int) -> dict[str, Any]:
        return {
            "dataset": self.dataset_code,
            "title": self.dataset_title,
            "version": self.version,
            "fingerprint": self.fingerprint,
            "export_id": self.export_id,
            "exported_at": self.exported_at.isoformat(),
            "rows": rows,
        }


# --- values ----------------------------------------------------------------------------------


def decimal_text(value: decimal.Decimal) -> str:
    """An exact decimal without trailing zeros (``1234.560000`` → ``1234.56``)."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def json_value(value: Any) -> Any:
    """``json.dumps``'s ``default``: decimals as exact strings, dates and times in ISO 8601."""
    if isinstance(value, decimal.Decimal):
        return decimal_text(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=json_value)


def csv_unescape(value: str) -> str:
    """A CSV cell as it was before the injection guard (drop one leading apostrophe)."""
    return value[1:] if value.startswith("'") else value


def _chunks(batch: pa.RecordBatch) -> Iterator[pa.RecordBatch]:
    per_row = max(1, batch.nbytes // max(1, batch.num_rows))
    step = max(1, min(CHUNK_ROWS, CHUNK_BYTES // per_row))
    for start in range(0, batch.num_rows, step):
        yield batch.slice(start, step)


class _Drain(io.RawIOBase):
    """A write-only sink whose bytes are taken out as they come (for streaming writers)."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


# --- CSV -------------------------------------------------------------------------------------


#: First bytes of values a spreadsheet would read as a formula or control (``CSV_PREFIXED``).
_RISKY_FIRST = np.array([CSV_PREFIXED.match(chr(b)) is not None for b in range(256)])


def _risky(column: pa.Array) -> np.ndarray | None:
    """Which values of a string column start with a ``CSV_PREFIXED`` character (None: none).

    Read from the first byte of each value in Arrow's own buffers: the characters are ASCII,
    and a UTF-8 continuation byte never starts a value. A regular expression over every
    cell cost a quarter of a download's time.
    """
    n = len(column)
    _validity, offsets_buffer, data_buffer = column.buffers()
    if n == 0 or data_buffer is None or offsets_buffer is None:
        return None
    width = np.int64 if pa.types.is_large_string(column.type) else np.int32
    offsets = np.frombuffer(offsets_buffer, dtype=width)[column.offset : column.offset + n + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    starts = offsets[:-1]
    filled = np.greater(offsets[1:], starts)
    first = np.zeros(n, dtype=np.uint8)
    first[filled] = data[starts[filled]]
    risky = _RISKY_FIRST[first] & filled
    return risky if risky.any() else None


def _guard_strings(batch: pa.RecordBatch) -> pa.RecordBatch:
    """String columns with the injection guard applied (vectorised)."""
    columns = []
    for column in batch.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = _risky(column)
            if risky is not None:
                quote, nothing = pa.scalar("'", column.type), pa.scalar("", column.type)
                prefixed = pc.binary_join_element_wise(quote, column, nothing)
                column = pc.if_else(pa.array(risky), prefixed, column)
        columns.append(column)
    return pa.record_batch(columns, names=batch.schema.names)


def _csv(batches: Iterable[pa.RecordBatch], meta: ExportMeta, schema: pa.Schema) -> Iterator[bytes]:
    titles = meta.column_titles(schema.names)
    header = ",".join('"' + t.replace('"', '""') + '"' for t in titles) + "\r\n"
    yield BOM + header.encode("utf-8")
    renamed = pa.schema([pa.field(f"c{i}", f.type) for i, f in enumerate(schema)])
    options = pacsv.WriteOptions(include_header=False, eol="\r\n")
    for batch in batches:
        # A slice at a time, each into one Arrow buffer: no Python call per block the writer
        # emits, and chunks of about a megabyte rather than a batch's ~7 MB, which kept
        # the server's peak during a 5M-row download ~50 MB higher (bench/portal.py).
        for part in _chunks(batch):
            guarded = _guard_strings(part)
            sink = pa.BufferOutputStream()
            pacsv.write_csv(pa.record_batch(guarded.columns, schema=renamed), sink, options)
            if chunk := sink.getvalue().to_pybytes():
                yield chunk


# --- JSON and NDJSON -----------------------------------------------------------------------


def _json(
    batches: Iterable[pa.RecordBatch], meta: ExportMeta, schema: pa.Schema
) -> Iterator[bytes]:
    about = meta.about(0)
    head = {
        k: about[k]
        for k in ("dataset", "title", "version", "fingerprint", "export_id", "exported_at")
    }
    if meta.attribution:
        head["attribution"] = {"code": meta.dataset_code, **meta.attribution}
    head["fields"] = [
        {"name": f.name, "label": f.label, "type": f.type}
        for f in meta.fields
        if f.name in schema.names
    ]
    opening = dumps(head)[:-1] + ',"rows":['
    yield opening.encode("utf-8")
    rows = 0
    for batch in batches:
        for chunk in _chunks(batch):
            text = ",\n".join(dumps(r) for r in chunk.to_pylist())
            if rows and text:
                text = ",\n" + text
            rows += chunk.num_rows
            if text:
                yield text.encode("utf-8")
    yield ('],"row_count":' + str(rows) + "}\n").encode("utf-8")


def _ndjson(
    batches: Iterable[pa.RecordBatch], meta: ExportMeta, schema: pa.Schema
) -> Iterator[bytes]:
    for batch in batches:
        for chunk in _chunks(batch):
            if chunk.num_rows:
                yield ("\n".join(dumps(r) for r in chunk.to_pylist()) + "\n").encode("utf-8")


# --- Parquet ---------------------------------------------------------------------------------


def _parquet(
    batches: Iterable[pa.RecordBatch], meta: ExportMeta, schema: pa.Schema
) -> Iterator[bytes]:
    about = meta.about(0)
    tagged = schema.with_metadata(
        {
            b"gongshu.fingerprint": meta.fingerprint.encode("utf-8"),
            b"gongshu.dataset": meta.dataset_code.encode("utf-8"),
            b"gongshu.version": str(meta.version).encode("ascii"),
            b"gongshu.exported_at": str(about["exported_at"]).encode("ascii"),
            b"gongshu.export_id": (meta.export_id or "").encode("utf-8"),
            **{
                f"gongshu.attribution.{k}".encode("ascii"): str(v).encode("utf-8")
                for k, v in meta.attribution.items()
            },
        }
    )
    sink = _Drain()
    writer = pq.ParquetWriter(sink, tagged, compression="zstd")
    try:
        for batch in batches:
            writer.write_batch(batch.replace_schema_metadata(tagged.metadata))
            if chunk := sink.take():
                yield chunk
    finally:
        writer.close()
    yield sink.take()


# --- XLSX ------------------------------------------------------------------------------------


def _xlsx_text(ws: Any, value: str) -> Any:
    """A string cell value that openpyxl writes as text whatever it looks like."""
    if _XLSX_ILLEGAL.search(value):
        value = _XLSX_ILLEGAL.sub("\ufffd", value)
    if len(value) > XLSX_MAX_CELL_CHARS:
        value = value[:XLSX_MAX_CELL_CHARS]
    if (len(value) > 1 and value[0] == "=") or value in ERROR_CODES:
        cell = WriteOnlyCell(ws, value)
        cell.data_type = "s"
        return cell
    return value


def _xlsx_converters(schema: pa.Schema) -> list[Callable[[Any, Any], Any] | None]:
    out: list[Callable[[Any, Any], Any] | None] = []
    for f in schema:
        if pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
            out.append(_xlsx_text)
        elif pa.types.is_timestamp(f.type) and f.type.tz is not None:
            # Excel has no zones: write the wall-clock time.
            out.append(lambda _ws, v: v.replace(tzinfo=None))
        else:
            out.append(None)
    return out


def _xlsx_header(ws: Any, titles: Sequence[str]) -> list[Any]:
    bold = Font(bold=True)
    cells = []
    for title in titles:
        cell = WriteOnlyCell(ws, title)
        cell.data_type = "s"
        cell.font = bold
        cells.append(cell)
    return cells


def _xlsx(
    batches: Iterable[pa.RecordBatch],
    meta: ExportMeta,
    schema: pa.Schema,
    tmp_dir: Path | None,
) -> Iterator[bytes]:
    wb = Workbook(write_only=True)
    wb.properties.creator = "Gongshu"
    wb.properties.title = meta.dataset_title[:200]
    wb.properties.identifier = meta.fingerprint
    wb.properties.keywords = f"gongshu-fingerprint:{meta.fingerprint}"
    # The stubs lag openpyxl 3.1, which has custom document properties.
    custom = wb.custom_doc_props  # type: ignore[attr-defined]
    custom.append(StringProperty(name="gongshu_fingerprint", value=meta.fingerprint))
    custom.append(StringProperty(name="gongshu_dataset", value=meta.dataset_code))
    custom.append(StringProperty(name="gongshu_version", value=str(meta.version)))
    titles = meta.column_titles(schema.names)
    converters = _xlsx_converters(schema)
    sheet_title = translate(SHEET_DATA)

    def new_sheet(number: int) -> Any:
        ws = wb.create_sheet(sheet_title if number == 1 else f"{sheet_title} ({number})")
        ws.freeze_panes = "A2"
        ws.append(_xlsx_header(ws, titles))
        return ws

    sheets = 1
    ws = new_sheet(sheets)
    in_sheet = 0
    rows = 0
    for batch in batches:
        for chunk in _chunks(batch):
            columns = []
            for column, convert in zip(chunk.columns, converters, strict=True):
                values = column.to_pylist()
                if convert is not None:
                    values = [None if v is None else convert(ws, v) for v in values]
                columns.append(values)
            for row in zip(*columns, strict=True):
                if in_sheet == XLSX_SHEET_ROWS:
                    sheets += 1
                    ws = new_sheet(sheets)
                    in_sheet = 0
                ws.append(list(row))
                in_sheet += 1
            rows += chunk.num_rows
    about = wb.create_sheet(translate(SHEET_ABOUT))
    for label, value in (
        (ABOUT_DATASET, meta.dataset_title),
        (ABOUT_CODE, meta.dataset_code),
        (ABOUT_VERSION, meta.version),
        (ABOUT_ROWS, rows),
        (ABOUT_FINGERPRINT, meta.fingerprint),
        (ABOUT_EXPORTED, meta.exported_at.isoformat()),
        *(
            (ATTRIBUTION_LABELS[k], v)
            for k, v in meta.attribution.items()
            if k in ATTRIBUTION_LABELS
        ),
    ):
        about.append(
            [translate(label), _xlsx_text(about, value) if isinstance(value, str) else value]
        )
    about.append([translate(meta.note)])
    with tempfile.TemporaryFile(dir=tmp_dir, prefix="gongshu-export-", suffix=".xlsx") as f:
        wb.save(f)
        f.seek(0)
        while chunk_bytes := f.read(1024 * 1024):
            yield chunk_bytes


# --- the entry point ---------------------------------------------------------------------------


def stream(
    fmt: str,
    batches: Iterable[pa.RecordBatch],
    meta: ExportMeta,
    *,
    schema: pa.Schema,
    ndjson: bool = False,
    tmp_dir: Path | None = None,
) -> Iterator[bytes]:
    """The export file as byte chunks, written from ``batches`` (of ``schema``) as they come."""
    if fmt == "csv":
        return _csv(batches, meta, schema)
    if fmt == "json":
        return _ndjson(batches, meta, schema) if ndjson else _json(batches, meta, schema)
    if fmt == "parquet":
        return _parquet(batches, meta, schema)
    if fmt == "xlsx":
        return _xlsx(batches, meta, schema, tmp_dir)
    raise ValueError(f"unknown export format {fmt!r}")
