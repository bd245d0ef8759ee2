"""Append and upsert: the new rows merged with the current version's, in DuckDB.

The current version's rows are read through the gate (purpose ``ingest.merge``) into a local
Parquet file, so DuckDB joins two files on disk and spills to the data directory when they
are large; memory stays bounded whatever the dataset's size.
"""

# The SQL here is built from column names quoted by ``_q``, never from values.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.catalog.models import Dataset
from gongshu.gate import service as gate
from gongshu.ingest.checks import arrow_schema
from gongshu.ingest.models import IngestMode, InvalidPolicy
from gongshu.ingest.spec import FieldSpec
from gongshu.settings import Settings
from gongshu.store.duck import duckdb_connection, sql_string
from gongshu.store.models import DatasetVersion
from gongshu.store.serving import from_stored, open_index, quote
from gongshu.store.storage import Storage
from gongshu.store.versions import StagedVersion, VersionWriter

if TYPE_CHECKING:
    from gongshu.ingest.models import Ingestion

ROW_COLUMN = "_row"


@dataclass(frozen=True)
class MergeOutcome:
    """Rows refused because their key already exists (append), and added/removed/changed."""

    clashes: dict[int, str]
    counts: tuple[int, int, int] | None


def with_row(schema: pa.Schema) -> pa.Schema:
    """A version's Parquet schema: the fields' columns, then the source row number."""
    return schema.append(pa.field(ROW_COLUMN, pa.int64()))


def tmp_dir(settings: Settings) -> Path:
    path = settings.data_dir / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def copy_current(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    current: DatasetVersion,
    specs: Sequence[FieldSpec],
    path: Path,
    storage: Storage,
) -> None:
    """The current version's rows, read through the gate, as a local Parquet file for DuckDB.

    Columns the catalog has gained since that version come back as nulls; the file always
    has the current fields' types.
    """
    schema = with_row(arrow_schema(specs))
    old_names = {c["name"] for c in current.schema} | {ROW_COLUMN}
    wanted = [n for n in schema.names if n in old_names]
    with pq.ParquetWriter(path, schema) as out:
        for batch in gate.scan(
            session,
            actor,
            dataset,
            purpose="ingest.merge",
            version=current,
            columns=wanted,
            storage=storage,
        ):
            arrays = [
                pc.cast(batch.column(f.name), f.type)
                if f.name in batch.schema.names
                else pa.nulls(batch.num_rows, f.type)
                for f in schema
            ]
            out.write_batch(pa.record_batch(arrays, schema=schema))


def merge(
    ingestion: Ingestion,
    specs: list[FieldSpec],
    old_rows: Path,
    new_rows: Path,
    writer: VersionWriter,
    skip_rows: set[int],
) -> MergeOutcome:
    """Append or upsert the new rows onto the current version's, in DuckDB.

    Under the reject policy nothing is written when some rows cannot be appended because
    their key is already there.
    """
    names = [s.name for s in specs]
    keys = [s.name for s in specs if s.is_key]
    columns = ", ".join(_q(n) for n in [*names, ROW_COLUMN])
    schema = with_row(arrow_schema(specs))
    con = duckdb_connection()
    try:
        con.execute(
            f"CREATE TEMP VIEW old_rows AS SELECT * FROM read_parquet({sql_string(str(old_rows))})"
        )
        con.execute(
            f"CREATE TEMP VIEW new_all AS SELECT * FROM read_parquet({sql_string(str(new_rows))})"
        )
        _row_set(con, "skip", skip_rows)
        con.execute(
            f"CREATE TEMP VIEW new_rows AS SELECT * FROM new_all "
            f"WHERE {_q(ROW_COLUMN)} NOT IN (SELECT r FROM skip)"
        )
        key_join = " AND ".join(f"o.{_q(k)} IS NOT DISTINCT FROM n.{_q(k)}" for k in keys)
        clashes: dict[int, str] = {}
        if ingestion.mode is IngestMode.APPEND:
            if keys:
                for row, value in con.execute(
                    f"SELECT n.{_q(ROW_COLUMN)}, CAST(n.{_q(keys[0])} AS VARCHAR) "
                    f"FROM new_rows n JOIN old_rows o ON {key_join}"
                ).fetchall():
                    clashes[int(row)] = str(value)
            if clashes and ingestion.on_invalid is InvalidPolicy.REJECT:
                return MergeOutcome(clashes, None)
            _row_set(con, "clash", set(clashes))
            fresh = f"SELECT * FROM new_rows WHERE {_q(ROW_COLUMN)} NOT IN (SELECT r FROM clash)"
            added = _scalar(con, f"SELECT count(*) FROM ({fresh})")
            query = f"SELECT {columns} FROM old_rows UNION ALL SELECT {columns} FROM ({fresh})"
            counts = (added, 0, 0)
        else:
            compare = (
                " OR ".join(f"o.{_q(n)} IS DISTINCT FROM n.{_q(n)}" for n in names if n not in keys)
                or "FALSE"
            )
            added = _scalar(
                con,
                f"SELECT count(*) FROM new_rows n WHERE NOT EXISTS "
                f"(SELECT 1 FROM old_rows o WHERE {key_join})",
            )
            changed = _scalar(
                con,
                f"SELECT count(*) FROM new_rows n JOIN old_rows o ON {key_join} WHERE {compare}",
            )
            kept_old = (
                f"SELECT {columns} FROM old_rows o WHERE NOT EXISTS "
                f"(SELECT 1 FROM new_rows n WHERE {key_join})"
            )
            removed = 0
            if ingestion.snapshot:
                removed = _scalar(con, f"SELECT count(*) FROM ({kept_old})")
                query = f"SELECT {columns} FROM new_rows"
            else:
                query = f"{kept_old} UNION ALL SELECT {columns} FROM new_rows"
            counts = (added, removed, changed)
        for batch in con.sql(query).to_arrow_reader(65_536):
            writer.write(batch.cast(schema) if batch.schema != schema else batch)
        return MergeOutcome(clashes, counts)
    finally:
        con.close()


def _row_set(con: Any, name: str, rows: set[int]) -> None:
    """A one-column table ``r`` of source row numbers, for ``NOT IN`` filters."""
    con.register(name, pa.table({"r": pa.array(sorted(rows), pa.int64())}))


def _scalar(con: Any, sql: str) -> int:
    rows = con.execute(sql).fetchall()  # fetch to the end: DuckDB keeps a result open till then
    return int(rows[0][0]) if rows else 0


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def duplicate_rows(new_rows: Path, keys: Sequence[str]) -> dict[int, str]:
    """Source row -> key text, for every row whose key occurs more than once in the file."""
    on = " AND ".join(f"n.{_q(k)} IS NOT DISTINCT FROM d.{_q(k)}" for k in keys)
    group = ", ".join(_q(k) for k in keys)
    con = duckdb_connection()
    try:
        found = con.execute(
            f"SELECT n.{_q(ROW_COLUMN)}, {_key_text('n', keys)} "
            f"FROM read_parquet({sql_string(str(new_rows))}) n JOIN ("
            f"SELECT {group} FROM read_parquet({sql_string(str(new_rows))}) "
            f"GROUP BY {group} HAVING count(*) > 1) d ON {on}"
        ).fetchall()
    finally:
        con.close()
    return {int(row): str(text) for row, text in found}


def staged_duplicates(
    storage: Storage, staged: StagedVersion, keys: Sequence[str]
) -> dict[int, str]:
    """The same, read from a staged version's serving index (its key index makes it one pass)."""
    types = {str(f["name"]): str(f["type"]) for f in staged.schema}
    group = ", ".join(quote(k) for k in keys)
    on = " AND ".join(f"r.{quote(k)} IS d.{quote(k)}" for k in keys)
    conn = open_index(storage.local_path(staged.index_key))
    try:
        found = conn.execute(
            f"SELECT r.{quote(ROW_COLUMN)}, {', '.join('r.' + quote(k) for k in keys)} "
            f"FROM rows r JOIN (SELECT {group} FROM rows GROUP BY {group} "
            f"HAVING count(*) > 1) d ON {on}"
        ).fetchall()
    finally:
        conn.close()
    return {
        int(row[0]): " / ".join(
            str(from_stored(types[k], v)) for k, v in zip(keys, row[1:], strict=True)
        )
        for row in found
    }


def _key_text(alias: str, keys: Sequence[str]) -> str:
    parts = [f"CAST({alias}.{_q(k)} AS VARCHAR)" for k in keys]
    return parts[0] if len(parts) == 1 else f"concat_ws(' / ', {', '.join(parts)})"
