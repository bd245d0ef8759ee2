"""Reading rows: pages through the serving index, lookups, diffs and profiles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from gongshu.catalog.models import Dataset
from gongshu.errors import ValidationFailed
from gongshu.gate.filters import Filter
from gongshu.store import rows
from gongshu.store.models import DatasetVersion
from gongshu.store.storage import LocalStorage
from gongshu.store.versions import change_counts
from tests.factories import Person
from tests.store.conftest import make_row


@pytest.fixture
def version(
    db: Session,
    officer: Person,
    make_dataset: Callable[..., Dataset],
    write_version: Callable[..., DatasetVersion],
) -> DatasetVersion:
    return write_version(officer.actor, make_dataset(), [make_row(i) for i in range(330)])


def _all_pages(storage: LocalStorage, version: DatasetVersion, **kw: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        page, cursor = rows.page(storage, version, after=cursor, limit=50, **kw)
        assert len(page) <= 50
        out.extend(page)
        if cursor is None:
            return out


@pytest.mark.parametrize(
    "order_by",
    [(), ("founded",), ("-founded",), ("district", "-staff"), ("-capital", "name"), ("active",)],
)
def test_keyset_pages_follow_filters_and_order(
    storage: LocalStorage, version: DatasetVersion, order_by: tuple[str, ...]
) -> None:
    data = [{**make_row(i), "_row": i + 2} for i in range(330)]
    filters = [Filter("district", "in", ["兰山区", "河东区"]), Filter("staff", "ne", 7)]
    got = _all_pages(
        storage, version, filters=filters, order_by=order_by, columns=["credit_code", "_row"]
    )
    expected = [r for r in data if r["district"] in ("兰山区", "河东区") and r["staff"] != 7]

    def sort_key(item: tuple[int, dict[str, Any]]) -> list[Any]:
        pos, r = item
        parts: list[Any] = []
        for spec in order_by:
            name = spec.lstrip("-")
            value = r[name]
            desc = spec.startswith("-")
            # SQLite: NULL first ascending, last descending.
            parts.append((value is not None, value) if value is not None else (False, 0))
            if desc:
                parts[-1] = _Reverse(parts[-1])
        last_desc = bool(order_by) and order_by[-1].startswith("-")
        parts.append(-pos if last_desc else pos)
        return parts

    expected = [r for _, r in sorted(enumerate(expected), key=sort_key)]
    assert [r["credit_code"] for r in got] == [r["credit_code"] for r in expected]
    assert rows.count(storage, version, filters=filters) == len(expected)


class _Reverse:
    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Reverse) -> bool:
        return bool(other.value < self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reverse) and self.value == other.value


def test_filters_convert_text_values_and_refuse_bad_ones(
    storage: LocalStorage, version: DatasetVersion
) -> None:
    page, _ = rows.page(
        storage,
        version,
        filters=[
            Filter("founded", "ge", "2000-02-01"),
            Filter("capital", "lt", "100"),
            Filter("active", "eq", "true"),
            Filter("checked_at", "lt", dt.datetime(2024, 5, 10)),
            Filter("name", "prefix", "临沂市测试企业"),
        ],
        limit=1000,
    )
    assert page
    for r in page:
        assert r["founded"] >= dt.date(2000, 2, 1) and r["capital"] < Decimal(100)
        assert r["active"] is True and r["name"].startswith("临沂市测试企业")
    with pytest.raises(ValidationFailed):
        rows.page(storage, version, filters=[Filter("staff", "gt", "many")])
    with pytest.raises(ValidationFailed):
        rows.page(storage, version, filters=[Filter("nope", "eq", 1)])
    with pytest.raises(ValidationFailed):
        rows.page(storage, version, filters=[Filter("staff", "prefix", "1")])
    with pytest.raises(ValidationFailed):
        rows.page(storage, version, filters=[Filter("staff", "; DROP", 1)])
    with pytest.raises(ValidationFailed):
        rows.page(storage, version, after="not-a-cursor")
    _, cursor = rows.page(storage, version, order_by=["founded"], limit=10)
    assert cursor is not None
    with pytest.raises(ValidationFailed):  # a cursor of another order
        rows.page(storage, version, order_by=["staff"], after=cursor)
    nulls = rows.count(storage, version, filters=[Filter("founded", "null")])
    assert nulls == sum(1 for i in range(330) if make_row(i)["founded"] is None)


def test_page_uses_the_index(storage: LocalStorage, version: DatasetVersion) -> None:
    from gongshu.store.serving import open_index

    conn = open_index(storage.local_path(version.index_key))
    try:
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM rows WHERE district = ? ORDER BY founded", ["兰山区"]
        ).fetchall()
        names = {r[1] for r in conn.execute("PRAGMA index_list(rows)")}
    finally:
        conn.close()
    assert "USING INDEX" in " ".join(str(r[-1]) for r in plan)
    assert names == {"ix_key", "ix_f2", "ix_f4", "ix_f5", "ix_f9"}


def test_lookup_by_key_and_by_identifier(storage: LocalStorage, version: DatasetVersion) -> None:
    found = rows.lookup(storage, version, "credit_code", ["91371300MA00000005", "nothing"])
    assert [r["name"] for r in found] == ["临沂市测试企业5有限公司"]
    assert found[0]["_row"] == 7
    by_mobile = rows.lookup(storage, version, "mobile", ["13800000012", "13800000013"])
    assert [r["credit_code"] for r in by_mobile] == ["91371300MA00000012", "91371300MA00000013"]
    with pytest.raises(ValidationFailed):
        rows.lookup(storage, version, "name", ["x"])  # no index


def test_diff_and_profile(
    db: Session,
    officer: Person,
    make_dataset: Callable[..., Dataset],
    storage: LocalStorage,
    write_version: Callable[..., DatasetVersion],
) -> None:
    dataset = make_dataset()
    old = write_version(officer.actor, dataset, [make_row(i) for i in range(10)])
    new_rows = [make_row(i) for i in range(2, 12)]
    new_rows[0]["staff"] = 999  # row 2 changed
    new_rows[1]["note"] = None  # row 3: was None already (every 7th row starting at 3)
    new_rows[2]["name"] = "改名后的企业"  # row 4 changed
    new = write_version(officer.actor, dataset, new_rows)
    result = rows.diff(storage, old, new, ["credit_code"])
    assert (result.added, result.removed, result.changed) == (2, 2, 2)
    assert [r["credit_code"] for r in result.added_rows] == [
        "91371300MA00000010",
        "91371300MA00000011",
    ]
    assert [r["credit_code"] for r in result.removed_rows] == [
        "91371300MA00000000",
        "91371300MA00000001",
    ]
    cells = {(c.key["credit_code"], c.field): (c.old, c.new) for c in result.changed_cells}
    assert cells == {
        ("91371300MA00000002", "staff"): (74, 999),
        ("91371300MA00000004", "name"): ("临沂市测试企业4有限公司", "改名后的企业"),
    }
    assert change_counts(storage, old, new, ["credit_code"]) == (2, 2, 2)
    assert len(rows.diff(storage, old, new, ["credit_code"], limit=1).added_rows) == 1

    stats = rows.profile(storage, new)
    assert stats["credit_code"] == {
        "non_null": 10,
        "distinct": 10,
        "min": "91371300MA00000002",
        "max": "91371300MA00000011",
    }
    assert stats["staff"]["max"] == 999
    assert stats["founded"]["non_null"] == 8  # rows 3 and 10 are blank
    assert isinstance(stats["capital"]["min"], Decimal)
    assert stats["active"]["distinct"] == 2
