"""DuckDB, configured for scans over version files on a shared machine.

A connection is in-memory and short-lived (one per diff, profile or export). It uses at
most half the cores and a quarter of the memory, spills to ``<data dir>/tmp/duckdb``, and
never installs or loads extensions on its own (the platform runs on a closed network).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb
import psutil

from gongshu.settings import get_settings
from gongshu.store.serving import ROW_COLUMN, quote


def _limits() -> tuple[int, str]:
    threads = max(1, (os.cpu_count() or 2) // 2)
    memory_mb = max(256, psutil.virtual_memory().total // (4 * 1024 * 1024))
    return threads, f"{memory_mb}MB"


def duckdb_connection() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory DuckDB connection with the platform's limits."""
    threads, memory = _limits()
    spill = Path(get_settings().data_dir) / "tmp" / "duckdb"
    spill.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "threads": threads,
        "memory_limit": memory,
        "temp_directory": str(spill),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    return duckdb.connect(":memory:", config=config)


def sql_string(text: str) -> str:
    """A SQL string literal (file paths go into ``read_parquet`` this way)."""
    return "'" + text.replace("'", "''") + "'"


def comparable_fields(
    old_schema: list[dict[str, Any]], new_schema: list[dict[str, Any]], key: list[str]
) -> list[str]:
    """Non-key fields present in both versions with the same type (the ones a diff compares).

    Raises ``KeyError`` when a key field is missing from either version.
    """
    old_types = {str(f["name"]): f["type"] for f in old_schema}
    new_types = {str(f["name"]): f["type"] for f in new_schema}
    for name in key:
        if name not in old_types or name not in new_types:
            raise KeyError(name)
    return [
        name for name, kind in new_types.items() if name not in key and old_types.get(name) == kind
    ]


def diff_sql(old_path: Path, new_path: Path, key: list[str], fields: list[str]) -> dict[str, str]:
    """The pieces of a diff between two Parquet files joined on ``key``.

    ``o`` and ``n`` name the two files; keys match when not distinct (NULL matches NULL).
    """
    on = " AND ".join(f"o.{quote(k)} IS NOT DISTINCT FROM n.{quote(k)}" for k in key)
    differs = " OR ".join(f"o.{quote(f)} IS DISTINCT FROM n.{quote(f)}" for f in fields)
    return {
        "with": (
            f"WITH o AS (SELECT * FROM read_parquet({sql_string(str(old_path))})), "  # noqa: S608
            f"n AS (SELECT * FROM read_parquet({sql_string(str(new_path))}))"
        ),
        "on": on,
        "differs": differs or "FALSE",
    }


def count_changes(
    con: duckdb.DuckDBPyConnection,
    old_path: Path,
    new_path: Path,
    key: list[str],
    fields: list[str],
) -> tuple[int, int, int]:
    """Rows added, removed and changed between two versions, in one pass over each file."""
    parts = diff_sql(old_path, new_path, key, fields)
    row_o, row_n = f"o.{quote(ROW_COLUMN)}", f"n.{quote(ROW_COLUMN)}"
    sql = (
        f"{parts['with']} SELECT "  # noqa: S608 — quoted names and literals only
        f"count(*) FILTER (WHERE {row_o} IS NULL), "
        f"count(*) FILTER (WHERE {row_n} IS NULL), "
        f"count(*) FILTER (WHERE {row_o} IS NOT NULL AND {row_n} IS NOT NULL "
        f"AND ({parts['differs']})) "
        f"FROM o FULL OUTER JOIN n ON {parts['on']}"
    )
    row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])
