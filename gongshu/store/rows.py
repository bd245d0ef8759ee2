"""Reading a version's rows: pages, counts and lookups through the serving index, scans,
aggregates, diffs and profiles over the Parquet file with DuckDB.

Only ``gongshu.gate`` may import this module (a test scans the package for other
importers): every read of dataset rows passes the gate's policy and audit. Functions here
check nothing about who reads; they check that the names and values asked for fit the
version's schema, and raise ``ValidationFailed`` when not.

Filters (``gongshu.gate.filters.Filter``) are checked against the version's schema and
compiled here twice — for SQLite (the serving index, values in their stored form) and for
DuckDB (the Parquet file, typed values) — always with every value a bound parameter, every
field name the schema's own (quoted), and ``LIKE`` patterns escaped (``\\`` escapes ``%``,
``_`` and itself). SQLite's ``LIKE`` is made case-sensitive on each connection so that both
engines, and the reference ``filters.matches``, agree. A filter marked ``hashed`` compares
the keyed pseudonym of the stored value (a SQL function registered on the connection).

Pages use keyset cursors (never OFFSET): the cursor carries the last row's sort values and
position, and the next page starts strictly after it in the order ``order_by`` + ``_pos``.
SQLite sorts NULL first ascending and last descending; the cursor conditions follow that.
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from duckdb.func import ARROW as ARROW_UDF

from gongshu.catalog.models import FieldType
from gongshu.errors import ValidationFailed
from gongshu.gate import filters
from gongshu.gate.filters import Filter
from gongshu.i18n import N_
from gongshu.masking import pseudonym, pseudonym_array
from gongshu.settings import get_settings
from gongshu.store import duck
from gongshu.store.duck import duckdb_connection
from gongshu.store.models import DatasetVersion
from gongshu.store.serving import (
    POS_COLUMN,
    ROW_COLUMN,
    arrow_schema,
    convert_rows,
    indexed_leading,
    open_index,
    quote,
    to_stored,
)
from gongshu.store.storage import Storage

__all__ = [
    "MEASURES",
    "ChangedCell",
    "VersionDiff",
    "aggregate",
    "batches",
    "count",
    "diff",
    "duckdb_connection",
    "lookup",
    "page",
    "profile",
]

MAX_LIMIT = 10_000
MAX_VALUES = 1000
MAX_GROUPS = 10_000
MEASURES = ("count", "sum", "avg", "min", "max")
NUMERIC_TYPES = frozenset({FieldType.INTEGER, FieldType.DECIMAL})
PSEUDONYM_SQL = "gongshu_pseudonym"

MSG_UNKNOWN_FIELD = filters.MSG_UNKNOWN_FIELD
MSG_BAD_VALUE = filters.MSG_BAD_VALUE
MSG_TOO_MANY = filters.MSG_TOO_MANY
MSG_BAD_CURSOR = N_("翻页位置无效，请从第一页重新开始")
MSG_NOT_INDEXED = N_("字段“{field}”没有索引，不能按值查找")
MSG_BAD_LIMIT = N_("每页条数应在 1 到 {limit} 之间")
MSG_BAD_KEY = N_("比较两个版本需要两者都有的主键字段")
MSG_BAD_MEASURE = N_("不支持的统计方式“{measure}”")
MSG_NUMERIC_ONLY = N_("只有数值字段可以求和或求平均：{field}")
MSG_MEASURE_FIELD = N_("统计方式“{measure}”需要一个字段")
MSG_NO_MEASURE = N_("至少需要一项统计")


@dataclass(frozen=True)
class ChangedCell:
    """One value that differs between two versions for the same key."""

    key: dict[str, Any]
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class VersionDiff:
    """Rows added, removed and changed from one version to another, with the first few."""

    added: int
    removed: int
    changed: int
    added_rows: list[dict[str, Any]] = field(default_factory=list)
    removed_rows: list[dict[str, Any]] = field(default_factory=list)
    changed_cells: list[ChangedCell] = field(default_factory=list)
    compared_fields: list[str] = field(default_factory=list)


def _types(version: DatasetVersion) -> dict[str, str]:
    return filters.field_types(version.schema)


def _columns(version: DatasetVersion, columns: Sequence[str] | None) -> list[str]:
    types = _types(version)
    if columns is None:
        return version.field_names
    for name in columns:
        if name not in types:
            raise ValidationFailed(MSG_UNKNOWN_FIELD, field=str(name)[:100])
    return list(dict.fromkeys(columns))


def _stored(field_type: str, name: str, value: Any) -> Any:
    try:
        return to_stored(field_type, value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValidationFailed(MSG_BAD_VALUE, value=str(value)[:100], field=name) from exc


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- compiling filters ----------------------------------------------------------------------


_DECIMAL_AS_REAL = (
    "(CASE WHEN typeof({column}) = 'integer' THEN {column} / 1000000.0 "
    "ELSE CAST({column} AS REAL) END)"
)


def _oversized(f: Filter) -> bool:
    """Whether a decimal filter holds a value the index cannot store as an exact integer."""
    values = f.value if isinstance(f.value, tuple) else (f.value,)
    return any(v is not None and isinstance(to_stored(FieldType.DECIMAL, v), str) for v in values)


def _compile(
    checked: Sequence[Filter], types: dict[str, str], *, sqlite: bool, alias: str = ""
) -> tuple[list[str], list[Any]]:
    """SQL conditions and their parameters for checked filters (``?`` placeholders).

    ``sqlite``: values in the serving index's stored form; else typed values for DuckDB.
    """
    clauses: list[str] = []
    params: list[Any] = []
    for f in checked:
        name = f.field
        kind = types[name]
        column = alias + quote(name)
        if f.hashed:
            column = f"{PSEUDONYM_SQL}({column})"

        as_real = sqlite and kind == FieldType.DECIMAL and not f.hashed and _oversized(f)
        if as_real:
            # Beyond the exact integer form the index stores such values as text: compare
            # numerically (approximately) instead of by SQLite's type order.
            column = _DECIMAL_AS_REAL.format(column=column)

        def bind(
            value: Any,
            kind: str = kind,
            name: str = name,
            hashed: bool = f.hashed,
            as_real: bool = as_real,
        ) -> Any:
            if hashed or not sqlite:
                return value
            if as_real:
                return float(value)
            return _stored(kind, name, value)

        op, value = f.op, f.value
        if op == "null":
            clauses.append(f"{column} IS NULL")
        elif op == "notnull":
            clauses.append(f"{column} IS NOT NULL")
        elif op == "eq":
            clauses.append(f"{column} = ?")
            params.append(bind(value))
        elif op == "ne":
            clauses.append(f"({column} IS NULL OR {column} <> ?)")
            params.append(bind(value))
        elif op == "in":
            clauses.append(f"{column} IN ({', '.join('?' * len(value))})")
            params.extend(bind(v) for v in value)
        elif op in ("lt", "le", "gt", "ge"):
            sign = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
            clauses.append(f"{column} {sign} ?")
            params.append(bind(value))
        elif op == "range":
            clauses.append(f"({column} >= ? AND {column} <= ?)")
            params.extend([bind(value[0]), bind(value[1])])
        elif op == "prefix":
            clauses.append(f"{column} LIKE ? ESCAPE '\\'")
            params.append(_like_escape(value) + "%")
        elif op == "contains":
            clauses.append(f"{column} LIKE ? ESCAPE '\\'")
            params.append("%" + _like_escape(value) + "%")
        else:  # filters.check lets no other op through
            raise ValidationFailed(filters.MSG_BAD_OP, op=op)
    return clauses, params


def _where(version: DatasetVersion, given: Sequence[Filter]) -> tuple[list[str], list[Any]]:
    """Checked filters compiled for the serving index."""
    checked = filters.check(given, version.schema)
    return _compile(checked, _types(version), sqlite=True)


def _duck_where(
    version: DatasetVersion, given: Sequence[Filter], alias: str = ""
) -> tuple[str, list[Any]]:
    """`` WHERE …`` (or nothing) and its parameters, for DuckDB over the version's file."""
    checked = filters.check(given, version.schema)
    clauses, params = _compile(checked, _types(version), sqlite=False, alias=alias)
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), params


def _sqlite_pseudonym(key: bytes) -> Any:
    def apply(value: Any) -> str | None:
        return None if value is None else pseudonym(str(value), key)

    return apply


def _open(storage: Storage, version: DatasetVersion) -> sqlite3.Connection:
    conn = open_index(storage.local_path(version.index_key))
    # Case-sensitive LIKE: the same meaning as DuckDB's and Python's, and it lets a prefix
    # match use the field's index.
    conn.execute("PRAGMA case_sensitive_like=ON")
    conn.create_function(
        PSEUDONYM_SQL, 1, _sqlite_pseudonym(get_settings().masking_secret), deterministic=True
    )
    return conn


def _duck(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    key = get_settings().masking_secret

    def apply(values: Any) -> pa.Array:
        return pseudonym_array(values, key)

    con.create_function(PSEUDONYM_SQL, apply, ["varchar"], "varchar", type=ARROW_UDF)
    return con


def _parquet(storage: Storage, version: DatasetVersion) -> str:
    return f"read_parquet({duck.sql_string(str(storage.local_path(version.parquet_key)))})"


# --- keyset pages ----------------------------------------------------------------------------


def _order(version: DatasetVersion, order_by: Sequence[str]) -> list[tuple[str, bool]]:
    types = _types(version)
    out: list[tuple[str, bool]] = []
    for item in order_by:
        desc = item.startswith("-")
        name = item[1:] if desc else item
        if name not in types:
            raise ValidationFailed(MSG_UNKNOWN_FIELD, field=name)
        out.append((name, desc))
    return out


def _encode_cursor(
    version: DatasetVersion, order: list[tuple[str, bool]], values: list[Any]
) -> str:
    body = {"v": version.id, "o": [("-" if d else "") + n for n, d in order], "k": values}
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_cursor(
    version: DatasetVersion, order: list[tuple[str, bool]], cursor: str
) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw.decode("utf-8"))
        values = body["k"]
        valid = (
            body["v"] == version.id
            and body["o"] == [("-" if d else "") + n for n, d in order]
            and isinstance(values, list)
            and len(values) == len(order) + 1
            and isinstance(values[-1], int)
            and all(v is None or isinstance(v, str | int | float) for v in values)
        )
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationFailed(MSG_BAD_CURSOR) from exc
    if not valid:
        raise ValidationFailed(MSG_BAD_CURSOR)
    return list(values)


def _after(order: list[tuple[str, bool]], values: list[Any]) -> tuple[str, list[Any]]:
    """Rows strictly after ``values`` in ``order`` (the last entry is ``_pos``)."""
    ors: list[str] = []
    params: list[Any] = []
    equal: list[str] = []
    equal_params: list[Any] = []
    for (name, desc), value in zip(order, values, strict=True):
        column = quote(name)
        if value is None:
            beyond = "0" if desc else f"{column} IS NOT NULL"
            beyond_params: list[Any] = []
        elif desc:
            beyond, beyond_params = f"({column} < ? OR {column} IS NULL)", [value]
        else:
            beyond, beyond_params = f"{column} > ?", [value]
        if beyond != "0":
            ors.append("(" + " AND ".join([*equal, beyond]) + ")")
            params.extend([*equal_params, *beyond_params])
        if value is None:
            equal.append(f"{column} IS NULL")
        else:
            equal.append(f"{column} = ?")
            equal_params.append(value)
    condition = "(" + " OR ".join(ors) + ")" if ors else "0"
    # A sargable bound on the leading column lets SQLite seek in its index instead of
    # walking from the first row to the cursor.
    (first, first_desc), first_value = order[0], values[0]
    if first_value is not None and not first_desc:
        condition = f"{quote(first)} >= ? AND {condition}"
        params.insert(0, first_value)
    return condition, params


def page(
    storage: Storage,
    version: DatasetVersion,
    *,
    columns: Sequence[str] | None = None,
    filters: Sequence[Filter] = (),
    order_by: Sequence[str] = (),
    after: str | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of rows and the cursor of the next page (None on the last page).

    ``order_by`` names fields, ``-name`` for descending. ``_row`` may be asked for.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(MSG_BAD_LIMIT, limit=MAX_LIMIT)
    names = _columns(version, columns)
    types = _types(version)
    clauses, params = _where(version, filters)
    order = _order(version, order_by)
    tie_desc = order[-1][1] if order else False
    full_order = [*order, (POS_COLUMN, tie_desc)]
    if after is not None:
        condition, extra = _after(full_order, _decode_cursor(version, order, after))
        # First: of two lower bounds on one column (a reader's `ge` filter on the sort field
        # and the cursor's), SQLite seeks with the first written, and a page deep in a
        # range would walk from the filter's bound to the cursor (measured: 150 ms instead
        # of 5 ms 3,000 days into a date range over 5 M rows).
        clauses.insert(0, condition)
        params[:0] = extra
    select_cols = [*(n for n, _ in full_order), *names]
    sql = (
        f"SELECT {', '.join(quote(c) for c in select_cols)} FROM rows"  # noqa: S608 — names checked
        + (f" WHERE {' AND '.join(clauses)}" if clauses else "")
        + " ORDER BY "
        + ", ".join(f"{quote(n)}{' DESC' if d else ''}" for n, d in full_order)
        + " LIMIT ?"
    )
    conn = _open(storage, version)
    try:
        fetched = conn.execute(sql, [*params, limit + 1]).fetchall()
    finally:
        conn.close()
    more = len(fetched) > limit
    fetched = fetched[:limit]
    width = len(full_order)
    rows = convert_rows((r[width:] for r in fetched), names, [types[n] for n in names])
    cursor = _encode_cursor(version, order, list(fetched[-1][:width])) if more else None
    return rows, cursor


def count(storage: Storage, version: DatasetVersion, *, filters: Sequence[Filter] = ()) -> int:
    """How many rows match the filters (through the serving index)."""
    clauses, params = _where(version, filters)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = "SELECT count(*) FROM rows" + where  # noqa: S608 — names checked, values bound
    conn = _open(storage, version)
    try:
        return int(conn.execute(sql, params).fetchone()[0])
    finally:
        conn.close()


def lookup(
    storage: Storage,
    version: DatasetVersion,
    field: str,
    values: Sequence[Any],
    *,
    filters: Sequence[Filter] = (),
    hashed: bool = False,
    limit: int = MAX_LIMIT,
) -> list[dict[str, Any]]:
    """The rows whose ``field`` equals one of ``values`` (in file order), with ``_row``,
    among the rows that meet ``filters``.

    ``field`` must lead an index: the (first) key field, a filterable or an identifier field.
    ``hashed``: the values are pseudonyms of the field's values.
    """
    types = _types(version)
    if field not in types:
        raise ValidationFailed(MSG_UNKNOWN_FIELD, field=str(field)[:100])
    if field not in indexed_leading(version.schema):
        raise ValidationFailed(MSG_NOT_INDEXED, field=field)
    if len(values) > MAX_VALUES:
        raise ValidationFailed(MSG_TOO_MANY, limit=MAX_VALUES)
    if not values:
        return []
    probe = Filter(field, "in", tuple(values), hashed=hashed)
    clauses, params = _where(version, [probe, *filters])
    names = [*version.field_names, ROW_COLUMN]
    sql = (
        f"SELECT {', '.join(quote(n) for n in names)} FROM rows "  # noqa: S608 — names checked
        f"WHERE {' AND '.join(clauses)} ORDER BY {POS_COLUMN} LIMIT ?"
    )
    conn = _open(storage, version)
    try:
        fetched = conn.execute(sql, [*params, limit]).fetchall()
    finally:
        conn.close()
    return convert_rows(fetched, names, [types[n] for n in names])


def _cast(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    # Parquet has no second timestamps; give readers the version's own types back.
    target = pa.schema([schema.field(n) for n in batch.schema.names])
    return batch if batch.schema.equals(target) else batch.cast(target)


def batches(
    storage: Storage,
    version: DatasetVersion,
    *,
    columns: Sequence[str] | None = None,
    filters: Sequence[Filter] = (),
    batch_rows: int = 65_536,
) -> Iterator[pa.RecordBatch]:
    """The version's rows as Arrow batches, in file order (default: every field and
    ``_row``); with filters, only the rows that meet them (DuckDB over the file)."""
    names = _columns(version, columns) if columns is not None else None
    schema = arrow_schema(version.schema)
    if filters:
        where, params = _duck_where(version, filters)
        return _filtered_batches(storage, version, names, where, params, schema, batch_rows)
    return _file_batches(storage.local_path(version.parquet_key), names, schema, batch_rows)


def _file_batches(
    path: Path, names: list[str] | None, schema: pa.Schema, batch_rows: int
) -> Iterator[pa.RecordBatch]:
    source = pq.ParquetFile(path)
    try:
        for batch in source.iter_batches(batch_size=batch_rows, columns=names):
            yield _cast(batch, schema)
    finally:
        source.close()


def _filtered_batches(
    storage: Storage,
    version: DatasetVersion,
    names: list[str] | None,
    where: str,
    params: list[Any],
    schema: pa.Schema,
    batch_rows: int,
) -> Iterator[pa.RecordBatch]:
    chosen = names if names is not None else [*version.field_names, ROW_COLUMN]
    # No ORDER BY: DuckDB keeps a filtered scan in file order (preserve_insertion_order).
    sql = (
        f"SELECT {', '.join(quote(n) for n in chosen)} FROM {_parquet(storage, version)}"  # noqa: S608
        f"{where}"
    )
    with _duck(duckdb_connection()) as con:
        reader = con.sql(sql, params=params).to_arrow_reader(batch_rows)
        assert reader is not None
        for batch in reader:
            yield _cast(batch, schema)


def _fetch_dicts(con: Any, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def measure_name(function: str, name: str | None) -> str:
    """The result column of a measure: ``count(*)``, ``sum(capital)`` …"""
    return f"{function}({name or '*'})"


def aggregate(
    storage: Storage,
    version: DatasetVersion,
    *,
    group_by: Sequence[str],
    measures: Sequence[tuple[str, str | None]],
    filters: Sequence[Filter] = (),
    hashed_groups: frozenset[str] = frozenset(),
    limit: int = 1000,
) -> tuple[list[str], list[dict[str, Any]], bool]:
    """Grouped measures over the version's file (DuckDB): the result's column names, its
    rows (ordered by the groups) and whether more groups than ``limit`` were cut off.

    ``measures``: ``(function, field)`` with function one of ``MEASURES``; ``count`` takes
    None for every row. ``hashed_groups``: group fields given as their pseudonyms.
    """
    if not 1 <= limit <= MAX_GROUPS:
        raise ValidationFailed(MSG_BAD_LIMIT, limit=MAX_GROUPS)
    if not measures:
        raise ValidationFailed(MSG_NO_MEASURE)
    types = _types(version)
    groups = _columns(version, list(group_by))
    selects: list[str] = []
    for group in groups:
        column = quote(group)
        selects.append(
            f"{PSEUDONYM_SQL}({column}) AS {column}" if group in hashed_groups else column
        )
    names = list(groups)
    for function, measured in measures:
        if function not in MEASURES:
            raise ValidationFailed(MSG_BAD_MEASURE, measure=str(function)[:50])
        if measured is None:
            if function != "count":
                raise ValidationFailed(MSG_MEASURE_FIELD, measure=function)
            expr = "count(*)"
        else:
            if measured not in types:
                raise ValidationFailed(MSG_UNKNOWN_FIELD, field=str(measured)[:100])
            if function in ("sum", "avg") and types[measured] not in NUMERIC_TYPES:
                raise ValidationFailed(MSG_NUMERIC_ONLY, field=measured)
            expr = f"{function}({quote(measured)})"
        label = measure_name(function, measured)
        selects.append(f"{expr} AS {quote(label)}")
        names.append(label)
    where, params = _duck_where(version, filters)
    positions = ", ".join(str(i + 1) for i in range(len(groups)))
    sql = (
        f"SELECT {', '.join(selects)} FROM {_parquet(storage, version)}{where}"  # noqa: S608
        + (f" GROUP BY {positions} ORDER BY {positions} NULLS FIRST" if groups else "")
        + " LIMIT ?"
    )
    with _duck(duckdb_connection()) as con:
        found = con.execute(sql, [*params, limit + 1]).fetchall()
    rows = [dict(zip(names, row, strict=True)) for row in found[:limit]]
    return names, rows, len(found) > limit


def diff(
    storage: Storage,
    old: DatasetVersion,
    new: DatasetVersion,
    key: Sequence[str],
    *,
    filters: Sequence[Filter] = (),
    limit: int = 200,
) -> VersionDiff:
    """Rows added, removed and changed from ``old`` to ``new``, matched on ``key``, among
    the rows of each version that meet ``filters``.

    Compares the fields both versions have with the same type; lists the first ``limit``
    added and removed rows and changed cells (in the new, resp. old, file's order).
    """
    key = list(key)
    if not key:
        raise ValidationFailed(MSG_BAD_KEY)
    try:
        fields = duck.comparable_fields(old.schema, new.schema, key)
    except KeyError as exc:
        raise ValidationFailed(MSG_BAD_KEY) from exc
    old_where, old_params = _duck_where(old, filters)
    new_where, new_params = _duck_where(new, filters)
    with_params = [*old_params, *new_params]
    parts = duck.diff_sql(
        storage.local_path(old.parquet_key), storage.local_path(new.parquet_key), key, fields
    )
    cte = (
        f"WITH o AS (SELECT * FROM {_parquet(storage, old)}{old_where}), "  # noqa: S608
        f"n AS (SELECT * FROM {_parquet(storage, new)}{new_where})"
    )
    limit = max(0, int(limit))
    old_cols = ", ".join(f"o.{quote(n)}" for n in old.field_names)
    new_cols = ", ".join(f"n.{quote(n)}" for n in new.field_names)
    pairs = ", ".join(
        f"o.{quote(f)} AS {quote('o.' + f)}, n.{quote(f)} AS {quote('n.' + f)}" for f in fields
    )
    keys = ", ".join(f"n.{quote(k)}" for k in key)
    row = quote(ROW_COLUMN)
    row_o, row_n = f"o.{row}", f"n.{row}"
    with duckdb_connection() as con:
        counted = con.execute(
            f"{cte} SELECT "  # noqa: S608 — quoted names, bound values
            f"count(*) FILTER (WHERE {row_o} IS NULL), "
            f"count(*) FILTER (WHERE {row_n} IS NULL), "
            f"count(*) FILTER (WHERE {row_o} IS NOT NULL AND {row_n} IS NOT NULL "
            f"AND ({parts['differs']})) "
            f"FROM o FULL OUTER JOIN n ON {parts['on']}",
            with_params,
        ).fetchone()
        assert counted is not None
        added, removed, changed = (int(v) for v in counted)
        added_rows = _fetch_dicts(
            con,
            f"{cte} SELECT {new_cols} FROM n WHERE NOT EXISTS "  # noqa: S608
            f"(SELECT 1 FROM o WHERE {parts['on']}) ORDER BY n.{row} LIMIT {limit}",
            with_params,
        )
        removed_rows = _fetch_dicts(
            con,
            f"{cte} SELECT {old_cols} FROM o WHERE NOT EXISTS "  # noqa: S608
            f"(SELECT 1 FROM n WHERE {parts['on']}) ORDER BY o.{row} LIMIT {limit}",
            with_params,
        )
        cells: list[ChangedCell] = []
        if fields and changed:
            pairs_rows = _fetch_dicts(
                con,
                f"{cte} SELECT {keys}, {pairs} FROM o JOIN n ON {parts['on']} "  # noqa: S608
                f"WHERE {parts['differs']} ORDER BY n.{row} LIMIT {limit}",
                with_params,
            )
            for pair in pairs_rows:
                key_values = {k: pair[k] for k in key}
                for f in fields:
                    before, after_value = pair["o." + f], pair["n." + f]
                    if before != after_value and len(cells) < limit:
                        cells.append(ChangedCell(key_values, f, before, after_value))
    return VersionDiff(
        added=added,
        removed=removed,
        changed=changed,
        added_rows=added_rows,
        removed_rows=removed_rows,
        changed_cells=cells,
        compared_fields=fields,
    )


def profile(
    storage: Storage, version: DatasetVersion, *, filters: Sequence[Filter] = ()
) -> dict[str, dict[str, Any]]:
    """Per field: ``non_null``, ``distinct`` (exact), ``min`` and ``max``, in one scan of the
    rows that meet ``filters``."""
    names = version.field_names
    if not names:
        return {}
    parts = []
    for n in names:
        c = quote(n)
        parts.append(f"count({c}), count(DISTINCT {c}), min({c}), max({c})")
    where, params = _duck_where(version, filters)
    sql = f"SELECT {', '.join(parts)} FROM {_parquet(storage, version)}{where}"  # noqa: S608
    with duckdb_connection() as con:
        result = con.execute(sql, params).fetchone()
    assert result is not None
    out: dict[str, dict[str, Any]] = {}
    for i, n in enumerate(names):
        non_null, distinct, low, high = result[4 * i : 4 * i + 4]
        out[n] = {"non_null": int(non_null), "distinct": int(distinct), "min": low, "max": high}
    return out
