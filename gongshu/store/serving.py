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
import itertools
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    from gongshu.ingest.spec import FieldSpec


class StoredType:
    """The field types by the names a version's schema stores (``catalog.models.FieldType``
    values; a test keeps the two equal). Plain strings, so that the loader process started
    below imports neither the ORM nor the settings: it starts in a fifth of the time."""

    STRING = "string"
    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    DATE = "date"
    DATETIME = "datetime"
    BOOLEAN = "boolean"


ROW_COLUMN = "_row"
POS_COLUMN = "_pos"
DECIMAL_SCALE = 6
DECIMAL_TYPE = pa.decimal128(38, DECIMAL_SCALE)
EPOCH_DATE = dt.date(1970, 1, 1)
EPOCH = dt.datetime(1970, 1, 1)  # noqa: DTZ001 — field datetimes carry no zone (as written)
_QUANTUM = decimal.Decimal(1).scaleb(-DECIMAL_SCALE)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
INSERT_BATCH_ROWS = 65_536
# Rows are converted to Python values in chunks of at most this size (wide rows: fewer).
INSERT_BATCH_BYTES = 4 * 1024 * 1024
# A version with more rows (or bytes) gets its serving index loaded by a process of its own.
IN_PROCESS_ROWS = 65_536
IN_PROCESS_BYTES = 32 * 1024 * 1024
SPOOL_NAME = ".index-feed.arrow"
ROWS_PER_INSERT = 32
MAX_VARIABLES = 32_766  # SQLite's limit on the parameters of one statement
LOAD_CACHE_KIB = 8_192
# How often (SQLite virtual machine steps, about a millisecond) a loader process checks
# that its parent still lives.
ABANDON_CHECK_STEPS = 1_000_000
SORT_CACHE_KIB = 2_048

ARROW_TYPES: dict[str, pa.DataType] = {
    StoredType.STRING: pa.string(),
    StoredType.TEXT: pa.string(),
    StoredType.INTEGER: pa.int64(),
    StoredType.DECIMAL: DECIMAL_TYPE,
    StoredType.DATE: pa.date32(),
    StoredType.DATETIME: pa.timestamp("s"),
    StoredType.BOOLEAN: pa.bool_(),
}
_SQLITE_TYPES = {
    StoredType.STRING: "TEXT",
    StoredType.TEXT: "TEXT",
    StoredType.INTEGER: "INTEGER",
    # No declared type: no affinity, so the exact TEXT of an oversized value stays TEXT.
    StoredType.DECIMAL: "",
    StoredType.DATE: "INTEGER",
    StoredType.DATETIME: "INTEGER",
    StoredType.BOOLEAN: "INTEGER",
}
TEXT_TYPES = frozenset({StoredType.STRING, StoredType.TEXT})


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
    StoredType.STRING: lambda a: a.to_pylist(),
    StoredType.TEXT: lambda a: a.to_pylist(),
    StoredType.INTEGER: _numbers,
    StoredType.DECIMAL: _decimals,
    StoredType.DATE: lambda a: _numbers(a.cast(pa.int32())),
    # Parquet keeps second timestamps as milliseconds: back to seconds before the integers.
    StoredType.DATETIME: lambda a: _numbers(a.cast(pa.timestamp("s")).cast(pa.int64())),
    StoredType.BOOLEAN: lambda a: _numbers(a.cast(pa.int8())),
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
    if field_type == StoredType.DATE:
        return EPOCH_DATE + dt.timedelta(days=value)
    if field_type == StoredType.DATETIME:
        return EPOCH + dt.timedelta(seconds=value)
    if field_type == StoredType.DECIMAL:
        if isinstance(value, int):
            return decimal.Decimal(value).scaleb(-DECIMAL_SCALE).quantize(_QUANTUM)
        return decimal.Decimal(value)
    if field_type == StoredType.BOOLEAN:
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
    if field_type == StoredType.INTEGER:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        number = int(value)
        if not _INT64_MIN <= number <= _INT64_MAX:
            raise ValueError(value)
        return number
    if field_type == StoredType.DECIMAL:
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
    if field_type == StoredType.DATE:
        if isinstance(value, dt.datetime):
            raise ValueError(value)
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value).strip())
        return (day - EPOCH_DATE).days
    if field_type == StoredType.DATETIME:
        return int((_parse_datetime(value) - EPOCH).total_seconds())
    if field_type == StoredType.BOOLEAN:
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


def insert_chunk_rows(table: pa.Table | pa.RecordBatch) -> int:
    """Rows per ``executemany`` chunk: ``INSERT_BATCH_ROWS``, fewer for wide rows (the chunk
    becomes Python objects, so its size is what bounds the loader's memory)."""
    if table.num_rows == 0:
        return INSERT_BATCH_ROWS
    per_row = max(1, int(table.nbytes) // table.num_rows)
    return int(max(1, min(INSERT_BATCH_ROWS, INSERT_BATCH_BYTES // per_row)))


class IndexBuildFailed(RuntimeError):
    """The serving index could not be built (the loader process failed or died)."""


class _Loader:
    """Loads one serving index file: the table, then (``finish``) its B-trees.

    Bulk-load settings: no journal, no syncs (a crash leaves a staging directory the sweep
    deletes, never a published file), one transaction, indexes created after the load, then
    ``ANALYZE`` on a sample for the planner. The indexes are sorted with a small page cache:
    SQLite's sorter then merges many cache-sized runs, which costs a third less time than
    sorting a few large ones (measured: 3.2 s against 4.6 s of CPU for the seven indexes
    of a million registry rows).
    """

    def __init__(
        self,
        index_path: Path,
        fields: Sequence[Mapping[str, Any]],
        abandoned: Callable[[], bool] | None = None,
    ) -> None:
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
        width = len(names) + 2
        row = "(" + ", ".join("?" * width) + ")"
        self._insert = f"INSERT INTO rows VALUES {row}"  # noqa: S608 — no user input
        # Several rows per statement: a tenth less time than a statement per row.
        self._per_statement = max(1, min(ROWS_PER_INSERT, MAX_VARIABLES // width))
        self._insert_many = "INSERT INTO rows VALUES " + ", ".join(  # noqa: S608 — as above
            [row] * self._per_statement
        )
        self._width = width
        self._conn = sqlite3.connect(index_path, isolation_level=None, check_same_thread=False)
        if abandoned is not None:
            # An orphaned loader stops within a moment, even in the middle of an index build.
            self._conn.set_progress_handler(lambda: 1 if abandoned() else 0, ABANDON_CHECK_STEPS)
        for pragma in (
            "journal_mode=OFF",
            "synchronous=OFF",
            "locking_mode=EXCLUSIVE",
            "page_size=8192",
            f"cache_size=-{LOAD_CACHE_KIB}",
        ):
            self._conn.execute(f"PRAGMA {pragma}")
        self._conn.execute(f"CREATE TABLE rows ({', '.join(columns)})")
        self._conn.execute("BEGIN")

    def insert(self, batch: pa.RecordBatch) -> None:
        """Insert a batch (the fields in order, then ``_row``) after the rows so far."""
        step = insert_chunk_rows(batch)
        per = self._per_statement
        for start in range(0, batch.num_rows, step):
            values = stored_columns(batch.slice(start, step), self.fields)
            count = len(values[-1])
            first = self.rows
            whole = count - count % per
            # Row-major values, cut into the parameter tuples of one statement each (the
            # zips stop with their ranges: the rows beyond ``whole`` go one by one).
            flat = itertools.chain.from_iterable(
                zip(range(first, first + whole), *values, strict=False)
            )
            statements = zip(*[flat] * (per * self._width), strict=False)
            self._conn.executemany(self._insert_many, statements)
            if whole < count:
                rest = (itertools.islice(v, whole, None) for v in values)
                self._conn.executemany(
                    self._insert, zip(range(first + whole, first + count), *rest, strict=True)
                )
            self.rows += count

    def finish(self) -> None:
        """Commit, create the indexes, analyse, close."""
        try:
            self._conn.execute("COMMIT")
            self._conn.execute(f"PRAGMA cache_size=-{SORT_CACHE_KIB}")
            for name, cols in index_plan(self.fields):
                self._conn.execute(
                    f"CREATE INDEX {name} ON rows ({', '.join(quote(c) for c in cols)})"
                )
            # Exact statistics, not a sample: a sample caps rows-per-value at its size, so a
            # district (400 k rows each in 5 M) looked as selective as a key and SQLite sorted
            # the whole district for a page instead of walking the date index (measured by
            # bench/data_api.py: 480 ms instead of 2 ms a page). Costs ~0.5 s per million rows.
            self._conn.execute("PRAGMA analysis_limit=0")
            self._conn.execute("ANALYZE")
        finally:
            self._conn.close()

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()


class _LoaderProcess:
    """The parent's end of a loader process (see ``IndexBuilder``).

    Batches go to the spool file as Arrow IPC streams, one per batch; a line on the child's
    standard input gives each one's offset and length. ``finish`` sends ``finish`` and
    waits for ``done <rows>``. The child stops on end of input without ``finish`` and, in
    the middle of a statement, as soon as its parent is gone.
    """

    def __init__(self, index_path: Path, fields: Sequence[Mapping[str, Any]]) -> None:
        self.spool_path = index_path.with_name(SPOOL_NAME)
        self._spool = pa.OSFile(str(self.spool_path), "wb")
        # A file, not a pipe: a loader that writes much (warnings) never blocks on it.
        self._errors = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self._process = subprocess.Popen(  # noqa: S603 — our interpreter, our paths
            [
                sys.executable,
                "-m",
                "gongshu.store.serving",
                str(index_path),
                str(self.spool_path),
                str(os.getpid()),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            env=env,
            encoding="utf-8",
        )
        self._broken = False
        self._tell(json.dumps([dict(f) for f in fields]))

    def _tell(self, line: str) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write(line + "\n")
            stdin.flush()
        except (BrokenPipeError, ValueError):
            self._broken = True  # the child died: finish() says why

    def send(self, batch: pa.RecordBatch) -> None:
        if self._broken:
            self._raise()
        offset = self._spool.tell()
        with pa.ipc.new_stream(self._spool, batch.schema) as stream:
            stream.write_batch(batch)
        self._tell(f"{offset} {self._spool.tell() - offset}")

    def finish(self) -> int:
        self._spool.close()
        self._tell("finish")
        try:
            out, _ = self._process.communicate()
        finally:
            self.spool_path.unlink(missing_ok=True)
        if self._process.returncode != 0 or not out.startswith("done "):
            self._raise()
        self._errors.close()
        return int(out.split()[1])

    def _raise(self) -> None:
        self.kill(keep_errors=True)
        try:
            self._errors.seek(0)
            err = self._errors.read()
        except Exception:
            err = ""
        finally:
            self._errors.close()
        lines = [line for line in err.strip().splitlines() if line.strip()]
        raise IndexBuildFailed(
            f"serving index loader exited with {self._process.returncode}: "
            + (lines[-1] if lines else "no message")
        )

    def kill(self, *, keep_errors: bool = False) -> None:
        if self._process.poll() is None:
            self._process.kill()
        with contextlib.suppress(Exception):
            self._process.wait()
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                with contextlib.suppress(Exception):
                    stream.close()
        with contextlib.suppress(Exception):
            self._spool.close()
        self.spool_path.unlink(missing_ok=True)
        if not keep_errors:
            self._errors.close()


class IndexBuilder:
    """Builds a serving index from typed batches as they are written.

    A version of up to ``IN_PROCESS_ROWS`` rows and ``IN_PROCESS_BYTES`` is loaded in this
    process when finished (a push of a few rows pays no process start). A larger one is
    loaded by a process of its own (``python -m gongshu.store.serving``) while the writer
    goes on reading, checking and writing Parquet: turning a million rows into SQLite's
    values takes seconds of Python, and in a thread of the ingesting process that work
    held the GIL against the parsing and checking. The batches reach it through a spool
    file in the staging directory (hidden, deleted when the index is done), so the writer
    never waits for the loader: the loader catches up while the Parquet file is closed
    and has the second core to itself once the parsing is over. ``finish`` creates the
    indexes.
    """

    def __init__(self, index_path: Path, fields: Sequence[Mapping[str, Any]]) -> None:
        self.path = index_path
        self.fields = list(fields)
        self.rows = 0
        self._pending: list[pa.RecordBatch] = []
        self._pending_bytes = 0
        self._process: _LoaderProcess | None = None
        self._done = False

    def add(self, batch: pa.RecordBatch) -> None:
        """Hand over a batch (the fields in order, then ``_row``), in Parquet order."""
        if self._done:
            raise RuntimeError("serving index builder is closed")
        self.rows += batch.num_rows
        if self._process is not None:
            self._process.send(batch)
            return
        self._pending.append(batch)
        self._pending_bytes += batch.nbytes
        if self.rows > IN_PROCESS_ROWS or self._pending_bytes > IN_PROCESS_BYTES:
            self._process = _LoaderProcess(self.path, self.fields)
            pending, self._pending = self._pending, []
            for early in pending:
                self._process.send(early)

    def finish(self) -> None:
        """Wait for the rows to be in, create the indexes, analyse, close."""
        if self._done:
            raise RuntimeError("serving index builder is closed")
        self._done = True
        if self._process is not None:
            loaded = self._process.finish()
            if loaded != self.rows:
                raise IndexBuildFailed(f"serving index has {loaded} rows, not {self.rows}")
            return
        loader = _Loader(self.path, self.fields)
        try:
            for batch in self._pending:
                loader.insert(batch)
        except BaseException:
            loader.close()
            raise
        self._pending = []
        loader.finish()

    def abort(self) -> None:
        """Stop (the loader process too) and close; the caller deletes the file."""
        self._done = True
        self._pending = []
        if self._process is not None:
            self._process.kill()


def _loader_main(argv: Sequence[str], stdin: IO[str], stdout: IO[str]) -> int:
    """The loader process: ``INDEX_PATH SPOOL_PATH PARENT_PID``; fields as the first line
    of input, then one ``OFFSET LENGTH`` line per batch in the spool, then ``finish``."""
    index_path, spool_path, parent = Path(argv[0]), Path(argv[1]), int(argv[2])
    fields = json.loads(stdin.readline() or "null")
    if not isinstance(fields, list):
        return 2

    def orphaned() -> bool:
        return os.getppid() != parent

    if orphaned():
        return 3
    loader = _Loader(index_path, fields, abandoned=orphaned)
    with spool_path.open("rb") as spool:
        for line in stdin:
            if line.strip() == "finish":
                loader.finish()
                stdout.write(f"done {loader.rows}\n")
                stdout.flush()
                return 0
            offset, length = (int(part) for part in line.split())
            spool.seek(offset)
            for batch in pa.ipc.open_stream(spool.read(length)):
                loader.insert(batch)
    loader.close()  # the parent went away without finishing: nothing to keep
    return 3


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


if __name__ == "__main__":
    sys.exit(_loader_main(sys.argv[1:], sys.stdin, sys.stdout))
