"""The serving index: an indexed SQLite file per version, and how values are stored in it.

Parquet answers scans; page and lookup reads need B-tree indexes, so each version also gets
one SQLite file, loaded with the same rows while the Parquet file is written, indexed once
and never written again. Table ``rows``
holds one column per field, ``_row`` (the source row number) and ``_pos`` (the row's
position in the Parquet file, the rowid). Values are stored in forms that sort the way the
field's type does and convert fast from Arrow buffers:

===========  ================================================================
type         stored as
===========  ================================================================
string/text  TEXT
integer      INTEGER
decimal      INTEGER: the value × 10⁶ (exact, 6 decimals); a value beyond the
             64-bit range is stored as its exact decimal TEXT (sorts last)
date         INTEGER: days since 1970-01-01
datetime     INTEGER: seconds since 1970-01-01 00:00:00 (as written, no zone)
boolean      INTEGER 0/1
===========  ================================================================

Readers open the file with ``mode=ro&immutable=1``: no locks, no journal checks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from gongshu.catalog.models import FieldType
from gongshu.ingest.spec import FieldSpec

ROW_COLUMN = "_row"
POS_COLUMN = "_pos"
DECIMAL_SCALE = 6
DECIMAL_TYPE = pa.decimal128(38, DECIMAL_SCALE)
EPOCH_DATE = dt.date(1970, 1, 1)
EPOCH = dt.datetime(1970, 1, 1)  # noqa: DTZ001 — field datetimes carry no zone (as written)
_QUANTUM = decimal.Decimal(1).scaleb(-DECIMAL_SCALE)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
INSERT_BATCH_ROWS = 65_536
# The loader's queue holds a few chunks of at most this size (wide rows make fewer rows).
INSERT_BATCH_BYTES = 4 * 1024 * 1024

ARROW_TYPES: dict[str, pa.DataType] = {
    FieldType.STRING: pa.string(),
    FieldType.TEXT: pa.string(),
    FieldType.INTEGER: pa.int64(),
    FieldType.DECIMAL: DECIMAL_TYPE,
    FieldType.DATE: pa.date32(),
    FieldType.DATETIME: pa.timestamp("s"),
    FieldType.BOOLEAN: pa.bool_(),
}
_SQLITE_TYPES = {
    FieldType.STRING: "TEXT",
    FieldType.TEXT: "TEXT",
    FieldType.INTEGER: "INTEGER",
    # No declared type: no affinity, so the exact TEXT of an oversized value stays TEXT.
    FieldType.DECIMAL: "",
    FieldType.DATE: "INTEGER",
    FieldType.DATETIME: "INTEGER",
    FieldType.BOOLEAN: "INTEGER",
}
TEXT_TYPES = frozenset({FieldType.STRING, FieldType.TEXT})


def schema_of(specs: Sequence[FieldSpec]) -> list[dict[str, Any]]:
    """The version's ``schema`` column: what each stored column is."""
    return [
        {
            "name": s.name,
            "label": s.label,
            "type": str(s.data_type),
            "key": s.is_key,
            "filterable": s.filterable,
            "identifier": str(s.identifier) if s.identifier else None,
            "sensitivity": str(s.sensitivity),
        }
        for s in specs
    ]


def arrow_schema(fields: Sequence[Mapping[str, Any]]) -> pa.Schema:
    """The Arrow schema of a version's Parquet file: the fields, then ``_row``."""
    columns = [pa.field(str(f["name"]), ARROW_TYPES[f["type"]]) for f in fields]
    return pa.schema([*columns, pa.field(ROW_COLUMN, pa.int64())])


def quote(name: str) -> str:
    """A SQL identifier (field names come from the catalog, but are quoted all the same)."""
    return '"' + name.replace('"', '""') + '"'


def index_plan(fields: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    """The B-tree indexes of a version: the key fields together, each filterable and each
    identifier field alone (one index per distinct column list)."""
    plans: list[tuple[str, list[str]]] = []
    seen: set[tuple[str, ...]] = set()
    key = [str(f["name"]) for f in fields if f.get("key")]
    if key:
        plans.append(("ix_key", key))
        seen.add(tuple(key))
    for i, f in enumerate(fields):
        if (f.get("filterable") or f.get("identifier")) and (str(f["name"]),) not in seen:
            plans.append((f"ix_f{i}", [str(f["name"])]))
            seen.add((str(f["name"]),))
    return plans


def indexed_leading(fields: Sequence[Mapping[str, Any]]) -> set[str]:
    """Fields that lead an index, so a lookup by them does not scan."""
    return {cols[0] for _, cols in index_plan(fields)}


# --- Arrow → stored values -----------------------------------------------------------------


def _with_nulls(arr: pa.Array, values: list[Any]) -> list[Any]:
    if arr.null_count:
        for i in np.flatnonzero(arr.is_null().to_numpy(zero_copy_only=False)).tolist():
            values[i] = None
    return values


def _numbers(arr: pa.Array) -> list[Any]:
    filled = arr.fill_null(0) if arr.null_count else arr
    return _with_nulls(arr, filled.to_numpy(zero_copy_only=False).tolist())


def _decimals(arr: pa.Array) -> list[Any]:
    # A decimal128 is stored as its unscaled 128-bit integer: read the two 64-bit halves and
    # keep the low half wherever the high half is only its sign extension.
    raw = np.frombuffer(arr.buffers()[1], dtype=np.int64, count=2 * (arr.offset + len(arr)))
    raw = raw[2 * arr.offset :]
    low, high = raw[0::2], raw[1::2]
    values: list[Any] = low.tolist()
    nulls = arr.is_null().to_numpy(zero_copy_only=False) if arr.null_count else None
    oversized = high != (low >> 63)
    if nulls is not None:
        oversized &= ~nulls
    for i in np.flatnonzero(oversized).tolist():
        values[i] = str(arr[i].as_py())
    if nulls is not None:
        for i in np.flatnonzero(nulls).tolist():
            values[i] = None
    return values


_TO_STORED: dict[str, Callable[[pa.Array], list[Any]]] = {
    FieldType.STRING: lambda a: a.to_pylist(),
    FieldType.TEXT: lambda a: a.to_pylist(),
    FieldType.INTEGER: _numbers,
    FieldType.DECIMAL: _decimals,
    FieldType.DATE: lambda a: _numbers(a.cast(pa.int32())),
    # Parquet keeps second timestamps as milliseconds: back to seconds before the integers.
    FieldType.DATETIME: lambda a: _numbers(a.cast(pa.timestamp("s")).cast(pa.int64())),
    FieldType.BOOLEAN: lambda a: _numbers(a.cast(pa.int8())),
}


def stored_columns(batch: pa.RecordBatch, fields: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """The batch's field columns and ``_row``, in stored form."""
    out = [_TO_STORED[f["type"]](batch.column(str(f["name"]))) for f in fields]
    out.append(_numbers(batch.column(ROW_COLUMN)))
    return out


# --- stored values ↔ Python values -----------------------------------------------------------


def from_stored(field_type: str, value: Any) -> Any:
    """A stored value as the Python value of its field type."""
    if value is None:
        return None
    if field_type == FieldType.DATE:
        return EPOCH_DATE + dt.timedelta(days=value)
    if field_type == FieldType.DATETIME:
        return EPOCH + dt.timedelta(seconds=value)
    if field_type == FieldType.DECIMAL:
        if isinstance(value, int):
            return decimal.Decimal(value).scaleb(-DECIMAL_SCALE).quantize(_QUANTUM)
        return decimal.Decimal(value)
    if field_type == FieldType.BOOLEAN:
        return bool(value)
    return value


def _parse_datetime(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value.strip()).replace(tzinfo=None)
    raise ValueError(value)


def to_stored(field_type: str, value: Any) -> Any:
    """A filter or lookup value in the stored form of its field type.

    Accepts the Python value or its text (as query strings carry it); raises ``ValueError``
    when the value does not fit the type.
    """
    if value is None:
        return None
    if field_type in TEXT_TYPES:
        if isinstance(value, bool | dict | list):
            raise ValueError(value)
        return str(value)
    if field_type == FieldType.INTEGER:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        number = int(value)
        if not _INT64_MIN <= number <= _INT64_MAX:
            raise ValueError(value)
        return number
    if field_type == FieldType.DECIMAL:
        if isinstance(value, bool):
            raise ValueError(value)
        try:
            exact = decimal.Decimal(str(value).strip())
        except decimal.InvalidOperation as exc:
            raise ValueError(value) from exc
        if not exact.is_finite():
            raise ValueError(value)
        scaled = int(exact.scaleb(DECIMAL_SCALE).to_integral_value(decimal.ROUND_HALF_EVEN))
        if _INT64_MIN <= scaled <= _INT64_MAX:
            return scaled
        return str(exact.quantize(_QUANTUM, context=decimal.Context(prec=60)))
    if field_type == FieldType.DATE:
        if isinstance(value, dt.datetime):
            raise ValueError(value)
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value).strip())
        return (day - EPOCH_DATE).days
    if field_type == FieldType.DATETIME:
        return int((_parse_datetime(value) - EPOCH).total_seconds())
    if field_type == FieldType.BOOLEAN:
        if isinstance(value, bool):
            return int(value)
        text = str(value).strip().lower()
        if text in ("true", "1", "t", "yes"):
            return 1
        if text in ("false", "0", "f", "no"):
            return 0
        raise ValueError(value)
    raise ValueError(field_type)


# --- building -----------------------------------------------------------------------------


def insert_chunk_rows(table: pa.Table) -> int:
    """Rows per chunk handed to the loader: ``INSERT_BATCH_ROWS``, fewer for wide rows."""
    if table.num_rows == 0:
        return INSERT_BATCH_ROWS
    per_row = max(1, int(table.nbytes) // table.num_rows)
    return int(max(1, min(INSERT_BATCH_ROWS, INSERT_BATCH_BYTES // per_row)))


class IndexBuilder:
    """Builds a serving index from typed batches as they are written.

    A thread of its own converts each batch to stored form and inserts it while the writer
    goes on reading, checking and writing Parquet: SQLite releases the GIL while it steps
    and Arrow while it computes, so on two cores the index is mostly built by the time the
    Parquet file is closed, and ``finish`` only creates the indexes. The queue holds at most
    a few batches, so memory stays bounded.

    Bulk-load settings: no journal, no syncs (a crash leaves a staging directory the sweep
    deletes, never a published file), one transaction, indexes created after the load, then
    ``ANALYZE`` on a sample for the planner.
    """

    QUEUE_BATCHES = 3

    def __init__(self, index_path: Path, fields: Sequence[Mapping[str, Any]]) -> None:
        self.fields = list(fields)
        self.rows = 0
        names = [str(f["name"]) for f in self.fields]
        columns = [
            f"{quote(POS_COLUMN)} INTEGER PRIMARY KEY",
            *(
                f"{quote(n)} {_SQLITE_TYPES[f['type']]}".rstrip()
                for n, f in zip(names, self.fields, strict=True)
            ),
            f"{quote(ROW_COLUMN)} INTEGER",
        ]
        placeholders = ", ".join("?" * (len(names) + 2))
        self._insert = f"INSERT INTO rows VALUES ({placeholders})"  # noqa: S608 — no user input
        self._conn = sqlite3.connect(index_path, isolation_level=None, check_same_thread=False)
        for pragma in (
            "journal_mode=OFF",
            "synchronous=OFF",
            "locking_mode=EXCLUSIVE",
            "page_size=8192",
            "cache_size=-65536",
        ):
            self._conn.execute(f"PRAGMA {pragma}")
        self._conn.execute(f"CREATE TABLE rows ({', '.join(columns)})")
        self._conn.execute("BEGIN")
        self._queue: queue.Queue[pa.RecordBatch | None] = queue.Queue(self.QUEUE_BATCHES)
        self._failure: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._load, name="serving-index", daemon=True)
        self._thread.start()

    def _load(self) -> None:
        try:
            while (batch := self._queue.get()) is not None:
                if self._stop.is_set():
                    continue
                values = stored_columns(batch, self.fields)
                count = len(values[-1])
                start = self.rows
                self._conn.executemany(
                    self._insert, zip(range(start, start + count), *values, strict=True)
                )
                self.rows += count
        except BaseException as exc:
            self._failure = exc
            # Keep draining so that a producer blocked on a full queue is released.
            while self._queue.get() is not None:
                pass

    def add(self, batch: pa.RecordBatch) -> None:
        """Queue a batch (the fields in order, then ``_row``) for insertion."""
        if self._failure is not None:
            raise self._failure
        self._queue.put(batch)

    def finish(self) -> None:
        """Wait for the inserts, create the indexes, analyse, close."""
        self._queue.put(None)
        self._thread.join()
        try:
            if self._failure is not None:
                raise self._failure
            self._conn.execute("COMMIT")
            for name, cols in index_plan(self.fields):
                self._conn.execute(
                    f"CREATE INDEX {name} ON rows ({', '.join(quote(c) for c in cols)})"
                )
            self._conn.execute("PRAGMA analysis_limit=1000")
            self._conn.execute("ANALYZE")
        finally:
            self._conn.close()

    def abort(self) -> None:
        """Stop and close; the caller deletes the file."""
        if not self._thread.is_alive():
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            return
        self._stop.set()
        self._queue.put(None)
        self._thread.join()
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()


def open_index(path: Path) -> sqlite3.Connection:
    """A read-only connection to a serving index (``immutable``: no locking at all)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    conn.execute("PRAGMA query_only=ON")
    return conn


def convert_rows(
    rows: Iterable[Sequence[Any]], names: Sequence[str], types: Sequence[str]
) -> list[dict[str, Any]]:
    """Stored rows as dicts of Python values."""
    return [
        {n: from_stored(t, v) for n, t, v in zip(names, types, row, strict=True)} for row in rows
    ]
