"""Reading a version's rows: pages, counts and lookups through the serving index, scans,
diffs and profiles over the Parquet file.

Only ``gongshu.gate`` may import this module (a test scans the package for other
importers): every read of dataset rows passes the gate's policy and audit. Functions here
check nothing about who reads; they check that the names and values asked for fit the
version's schema, and raise ``ValidationFailed`` when not.

Pages use keyset cursors (never OFFSET): the cursor carries the last row's sort values and
position, and the next page starts strictly after it in the order ``order_by`` + ``_pos``.
SQLite sorts NULL first ascending and last descending; the cursor conditions follow that.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from gongshu.catalog.models import FieldType
from gongshu.errors import ValidationFailed
from gongshu.i18n import N_
from gongshu.store import duck
from gongshu.store.duck import duckdb_connection
from gongshu.store.models import DatasetVersion
from gongshu.store.serving import (
    POS_COLUMN,
    ROW_COLUMN,
    TEXT_TYPES,
    arrow_schema,
    convert_rows,
    indexed_leading,
    open_index,
    quote,
    to_stored,
)
from gongshu.store.storage import Storage

__all__ = [
    "OPS",
    "ChangedCell",
    "VersionDiff",
    "batches",
    "count",
    "diff",
    "duckdb_connection",
    "lookup",
    "page",
    "profile",
]

OPS = ("=", "!=", "<", "<=", ">", ">=", "in", "like")
MAX_LIMIT = 1000
MAX_VALUES = 1000

MSG_UNKNOWN_FIELD = N_("数据中没有字段“{field}”")
MSG_BAD_OP = N_("不支持的筛选条件“{op}”")
MSG_BAD_VALUE = N_("“{value}”不是字段“{field}”的有效值")
MSG_LIKE_TEXT = N_("只有文本字段可以按关键字匹配：{field}")
MSG_TOO_MANY = N_("一次最多查询 {limit} 个值")
MSG_BAD_CURSOR = N_("翻页位置无效，请从第一页重新开始")
MSG_NOT_INDEXED = N_("字段“{field}”没有索引，不能按值查找")
MSG_BAD_LIMIT = N_("每页条数应在 1 到 {limit} 之间")
MSG_BAD_KEY = N_("比较两个版本需要两者都有的主键字段")


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
    types = {str(f["name"]): str(f["type"]) for f in version.schema}
    types[ROW_COLUMN] = str(FieldType.INTEGER)
    return types


def _columns(version: DatasetVersion, columns: Sequence[str] | None) -> list[str]:
    types = _types(version)
    if columns is None:
        return version.field_names
    for name in columns:
        if name not in types:
            raise ValidationFailed(MSG_UNKNOWN_FIELD, field=name)
    return list(dict.fromkeys(columns))


def _stored(field_type: str, name: str, value: Any) -> Any:
    try:
        return to_stored(field_type, value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ValidationFailed(MSG_BAD_VALUE, value=str(value)[:100], field=name) from exc


def _where(
    version: DatasetVersion, filters: Sequence[tuple[str, str, Any]]
) -> tuple[list[str], list[Any]]:
    types = _types(version)
    clauses: list[str] = []
    params: list[Any] = []
    for name, op, value in filters:
        if name not in types:
            raise ValidationFailed(MSG_UNKNOWN_FIELD, field=name)
        if op not in OPS:
            raise ValidationFailed(MSG_BAD_OP, op=op)
        column, kind = quote(name), types[name]
        if op == "in":
            values = [value] if isinstance(value, str) else list(value)
            if len(values) > MAX_VALUES:
                raise ValidationFailed(MSG_TOO_MANY, limit=MAX_VALUES)
            stored = [_stored(kind, name, v) for v in values if v is not None]
            parts = []
            if stored:
                parts.append(f"{column} IN ({', '.join('?' * len(stored))})")
                params.extend(stored)
            if len(stored) < len(values):
                parts.append(f"{column} IS NULL")
            clauses.append(f"({' OR '.join(parts)})" if parts else "0")
        elif op == "like":
            if kind not in TEXT_TYPES or not isinstance(value, str):
                raise ValidationFailed(MSG_LIKE_TEXT, field=name)
            clauses.append(f"{column} LIKE ? ESCAPE '\\'")
            params.append(value)
        elif value is None:
            if op not in ("=", "!="):
                raise ValidationFailed(MSG_BAD_VALUE, value="null", field=name)
            clauses.append(f"{column} IS {'NOT ' if op == '!=' else ''}NULL")
        else:
            # "!=" keeps rows whose value is empty, as a reader of a table would expect.
            clauses.append(f"{column} {'IS NOT' if op == '!=' else op} ?")
            params.append(_stored(kind, name, value))
    return clauses, params


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
    filters: Sequence[tuple[str, str, Any]] = (),
    order_by: Sequence[str] = (),
    after: str | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of rows and the cursor of the next page (None on the last page).

    ``filters`` are ``(field, op, value)`` with ``op`` one of ``OPS`` (``in`` takes a list;
    ``like`` a SQL LIKE pattern with ``%``/``_``, ``\\`` escaping, on text fields);
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
        clauses.append(condition)
        params.extend(extra)
    select_cols = [*(n for n, _ in full_order), *names]
    sql = (
        f"SELECT {', '.join(quote(c) for c in select_cols)} FROM rows"  # noqa: S608 — names checked
        + (f" WHERE {' AND '.join(clauses)}" if clauses else "")
        + " ORDER BY "
        + ", ".join(f"{quote(n)}{' DESC' if d else ''}" for n, d in full_order)
        + " LIMIT ?"
    )
    conn = open_index(storage.local_path(version.index_key))
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


def count(
    storage: Storage, version: DatasetVersion, *, filters: Sequence[tuple[str, str, Any]] = ()
) -> int:
    """How many rows match the filters (same filters as ``page``)."""
    clauses, params = _where(version, filters)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    sql = "SELECT count(*) FROM rows" + where  # noqa: S608 — names checked, values bound
    conn = open_index(storage.local_path(version.index_key))
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
    limit: int = MAX_LIMIT,
) -> list[dict[str, Any]]:
    """The rows whose ``field`` equals one of ``values`` (in file order), with ``_row``.

    ``field`` must lead an index: the (first) key field, a filterable or an identifier field.
    """
    types = _types(version)
    if field not in types:
        raise ValidationFailed(MSG_UNKNOWN_FIELD, field=field)
    if field not in indexed_leading(version.schema):
        raise ValidationFailed(MSG_NOT_INDEXED, field=field)
    if len(values) > MAX_VALUES:
        raise ValidationFailed(MSG_TOO_MANY, limit=MAX_VALUES)
    if not values:
        return []
    stored = list(dict.fromkeys(_stored(types[field], field, v) for v in values))
    names = [*version.field_names, ROW_COLUMN]
    sql = (
        f"SELECT {', '.join(quote(n) for n in names)} FROM rows "  # noqa: S608 — names checked
        f"WHERE {quote(field)} IN ({', '.join('?' * len(stored))}) ORDER BY {POS_COLUMN} LIMIT ?"
    )
    conn = open_index(storage.local_path(version.index_key))
    try:
        fetched = conn.execute(sql, [*stored, limit]).fetchall()
    finally:
        conn.close()
    return convert_rows(fetched, names, [types[n] for n in names])


def batches(
    storage: Storage,
    version: DatasetVersion,
    *,
    columns: Sequence[str] | None = None,
    batch_rows: int = 65_536,
) -> Iterator[pa.RecordBatch]:
    """The whole version as Arrow batches, in file order (default: every field and ``_row``)."""
    names = _columns(version, columns) if columns is not None else None
    schema = arrow_schema(version.schema)
    source = pq.ParquetFile(storage.local_path(version.parquet_key))
    try:
        for batch in source.iter_batches(batch_size=batch_rows, columns=names):
            # Parquet has no second timestamps; give readers the version's own types back.
            target = pa.schema([schema.field(n) for n in batch.schema.names])
            yield batch if batch.schema.equals(target) else batch.cast(target)
    finally:
        source.close()


def _fetch_dicts(con: Any, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def diff(
    storage: Storage,
    old: DatasetVersion,
    new: DatasetVersion,
    key: Sequence[str],
    *,
    limit: int = 200,
) -> VersionDiff:
    """Rows added, removed and changed from ``old`` to ``new``, matched on ``key``.

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
    old_path = storage.local_path(old.parquet_key)
    new_path = storage.local_path(new.parquet_key)
    parts = duck.diff_sql(old_path, new_path, key, fields)
    limit = max(0, int(limit))
    old_cols = ", ".join(f"o.{quote(n)}" for n in old.field_names)
    new_cols = ", ".join(f"n.{quote(n)}" for n in new.field_names)
    pairs = ", ".join(
        f"o.{quote(f)} AS {quote('o.' + f)}, n.{quote(f)} AS {quote('n.' + f)}" for f in fields
    )
    keys = ", ".join(f"n.{quote(k)}" for k in key)
    row = quote(ROW_COLUMN)
    with duckdb_connection() as con:
        added, removed, changed = duck.count_changes(con, old_path, new_path, key, fields)
        added_rows = _fetch_dicts(
            con,
            f"{parts['with']} SELECT {new_cols} FROM n WHERE NOT EXISTS "  # noqa: S608
            f"(SELECT 1 FROM o WHERE {parts['on']}) ORDER BY n.{row} LIMIT {limit}",
        )
        removed_rows = _fetch_dicts(
            con,
            f"{parts['with']} SELECT {old_cols} FROM o WHERE NOT EXISTS "  # noqa: S608
            f"(SELECT 1 FROM n WHERE {parts['on']}) ORDER BY o.{row} LIMIT {limit}",
        )
        cells: list[ChangedCell] = []
        if fields and changed:
            pairs_rows = _fetch_dicts(
                con,
                f"{parts['with']} SELECT {keys}, {pairs} FROM o JOIN n ON {parts['on']} "  # noqa: S608
                f"WHERE {parts['differs']} ORDER BY n.{row} LIMIT {limit}",
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


def profile(storage: Storage, version: DatasetVersion) -> dict[str, dict[str, Any]]:
    """Per field: ``non_null``, ``distinct`` (exact), ``min`` and ``max``, in one scan."""
    names = version.field_names
    if not names:
        return {}
    path = storage.local_path(version.parquet_key)
    parts = []
    for n in names:
        c = quote(n)
        parts.append(f"count({c}), count(DISTINCT {c}), min({c}), max({c})")
    sql = f"SELECT {', '.join(parts)} FROM read_parquet({duck.sql_string(str(path))})"  # noqa: S608
    with duckdb_connection() as con:
        result = con.execute(sql).fetchone()
    assert result is not None
    out: dict[str, dict[str, Any]] = {}
    for i, n in enumerate(names):
        non_null, distinct, low, high = result[4 * i : 4 * i + 4]
        out[n] = {"non_null": int(non_null), "distinct": int(distinct), "min": low, "max": high}
    return out
