"""Structured filters: the query syntax, typing with clear errors, and property tests that
throw arbitrary text, unicode, quotes and ``%_\\`` at values and field names — the answer
is a ValidationFailed or exactly what the pure-Python reference keeps, on SQLite and on
DuckDB, and the files are untouched afterwards."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from gongshu.catalog.models import Dataset, FieldType
from gongshu.errors import PermissionDenied, ValidationFailed
from gongshu.gate import filters
from gongshu.gate import service as gate
from gongshu.gate.filters import OPS, Filter, filters_from_query
from gongshu.ingest.spec import FieldSpec
from gongshu.masking import pseudonym
from gongshu.settings import get_settings
from gongshu.store import rows
from gongshu.store.models import DatasetVersion
from gongshu.store.storage import LocalStorage
from tests.factories import Person

# --- the query syntax ---------------------------------------------------------------------


def test_query_syntax() -> None:
    got = filters_from_query(
        [
            ("district", "兰山区"),
            ("staff__ge", "10"),
            ("founded__range", "2020-01-01,2020-12-31"),
            ("kind__in", "a,b,c"),
            ("code__in", '["x,1", "y"]'),
            ("a__b__prefix", "临沂"),
            ("note__null", ""),
            ("mobile__null", "false"),
            ("name__notnull", "0"),
            ("_sort", "-staff"),
            ("_limit", "10"),
            ("_purpose", "核对"),
        ]
    )
    assert got == [
        Filter("district", "eq", "兰山区"),
        Filter("staff", "ge", "10"),
        Filter("founded", "range", ("2020-01-01", "2020-12-31")),
        Filter("kind", "in", ("a", "b", "c")),
        Filter("code", "in", ("x,1", "y")),
        Filter("a__b", "prefix", "临沂"),
        Filter("note", "null"),
        Filter("mobile", "notnull"),
        Filter("name", "null"),
    ]
    for pairs, message in (
        ([("staff__gte", "1")], "不支持的筛选条件“{op}”"),
        ([("", "1")], "筛选参数“{name}”没有字段名"),
        ([("day__range", "2020-01-01")], "字段“{field}”的 range 条件需要两个值：下限,上限"),
        ([("x__null", "maybe")], "字段“{field}”的 {op} 条件只接受 true 或 false"),
        ([(f"f{i}", "1") for i in range(51)], "一次最多 {limit} 个筛选条件"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            filters_from_query(pairs)
        assert caught.value.message == message
    # A value is never read as syntax: quotes and SQL stay text.
    assert filters_from_query([("name", "x' OR '1'='1")]) == [Filter("name", "eq", "x' OR '1'='1")]


SCHEMA = [
    {"name": "t", "type": "string"},
    {"name": "n", "type": "integer"},
    {"name": "d", "type": "decimal"},
    {"name": "day", "type": "date"},
    {"name": "at", "type": "datetime"},
    {"name": "b", "type": "boolean"},
]


def test_values_are_typed_with_clear_errors() -> None:
    checked = filters.check(
        [
            Filter("n", "in", ["1", 2, "2"]),
            Filter("d", "lt", "1.2345678"),
            Filter("day", "range", ["2024-01-01", dt.date(2024, 12, 31)]),
            Filter("at", "ge", "2024-05-01T08:00:00"),
            Filter("b", "eq", "true"),
            Filter("t", "contains", "50%_\\"),
            Filter("_row", "le", "10"),
        ],
        SCHEMA,
    )
    assert [f.value for f in checked] == [
        (1, 2),
        Decimal("1.234568"),
        (dt.date(2024, 1, 1), dt.date(2024, 12, 31)),
        dt.datetime(2024, 5, 1, 8, 0),
        True,
        "50%_\\",
        10,
    ]
    refusals = [
        (Filter("n", "eq", "1.5"), "“{value}”不是字段“{field}”的有效值"),
        (Filter("day", "eq", "2024-02-30"), "“{value}”不是字段“{field}”的有效值"),
        (Filter("n", "prefix", "1"), "只有文本字段可以按开头或包含筛选：{field}"),
        (Filter("nope", "eq", "1"), "数据中没有字段“{field}”"),
        (Filter("t", "like", "%"), "不支持的筛选条件“{op}”"),
        (Filter("t", "in", []), "字段“{field}”的 in 条件至少需要一个值"),
        (Filter("t", "eq", None), "字段“{field}”的筛选值不能为空，查空值请用 null"),
        (Filter("t", "eq", "a\x00b"), "筛选值不能包含控制字符"),
        (Filter("t", "eq", "x" * 1001), "筛选值最长 {limit} 个字符"),
        (Filter("t", "in", [str(i) for i in range(1001)]), "一次最多查询 {limit} 个值"),
        (Filter("d", "eq", "1e40"), "“{value}”不是字段“{field}”的有效值"),
        (Filter("b", "eq", "perhaps"), "“{value}”不是字段“{field}”的有效值"),
    ]
    for given_filter, message in refusals:
        with pytest.raises(ValidationFailed) as caught:
            filters.check([given_filter], SCHEMA)
        assert caught.value.message == message, given_filter


# --- property tests against a real version ----------------------------------------------------

SPECS = [
    FieldSpec("t", "文本", FieldType.STRING, filterable=True),
    FieldSpec("n", "整数", FieldType.INTEGER, filterable=True),
    FieldSpec("d", "小数", FieldType.DECIMAL),
    FieldSpec("day", "日期", FieldType.DATE),
    FieldSpec("b", "布尔", FieldType.BOOLEAN),
    FieldSpec("note", "长文本", FieldType.TEXT),
]
TRICKY = [
    "",
    "%",
    "_",
    "\\",
    "a%b",
    "a_b",
    "a\\b",
    "a\\%",
    "'",
    "''",
    '"',
    "O'Brien",
    "100%",
    "50%_off",
    "ABC",
    "abc",
    "Abc",
    "é",
    "E",
    "🙂",
    "中文",
    "临沂市兰山区",
    "; DROP TABLE rows;--",
    "x' OR '1'='1",
    "\t tab",
    "[a]*?",
    "a" * 40,
]


def _row(i: int) -> dict[str, Any]:
    blank = i % 9 == 4
    return {
        "t": None if blank else TRICKY[i % len(TRICKY)],
        "n": None if blank else (i * 37) % 23 - 11,
        "d": None if i % 7 == 2 else Decimal((i * 53) % 401 - 200) / Decimal(8),
        "day": None if i % 11 == 5 else dt.date(2020, 1, 1) + dt.timedelta(days=(i * 17) % 60),
        "b": None if i % 5 == 1 else i % 2 == 0,
        "note": None if blank else f"{TRICKY[(i * 7) % len(TRICKY)]}·{i}",
        "_row": i + 2,
    }


ROWS = [_row(i) for i in range(120)]
NAMES = [s.name for s in SPECS]

texts = st.one_of(
    st.sampled_from(TRICKY),
    st.text(max_size=12),
    st.text(alphabet="%_\\'\"aAbé🙂中 ", max_size=6),
)
scalars = st.one_of(
    texts,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-500, max_value=500),
    st.dates(min_value=dt.date(2019, 12, 1), max_value=dt.date(2020, 4, 1)),
    st.booleans(),
    st.none(),
    st.sampled_from(["2020-01-18", "true", "0", "-3", "12.5", "1e3", "nan"]),
)
values = st.one_of(scalars, st.lists(scalars, max_size=4))
fields = st.one_of(st.sampled_from([*NAMES, "_row"]), st.text(max_size=8))
ops = st.one_of(st.sampled_from(OPS), st.text(max_size=6))
chaotic = st.builds(Filter, fields, ops, values)

# Well-formed filters: a real field, a real op, values of the field's type (often ones the
# rows hold), so most examples reach a comparison instead of a ValidationFailed.
TYPED: dict[str, st.SearchStrategy[Any]] = {
    "t": texts,
    "note": st.one_of(texts, st.sampled_from([r["note"] for r in ROWS if r["note"]])),
    "n": st.one_of(st.integers(-15, 15), st.sampled_from(["-3", "0", "7"])),
    "d": st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-30, max_value=30),
        st.sampled_from(["12.5", "-0.125", "1e3", "-1e20", "1e20"]),
    ),
    "day": st.one_of(
        st.dates(min_value=dt.date(2019, 12, 20), max_value=dt.date(2020, 3, 10)),
        st.sampled_from(["2020-01-18"]),
    ),
    "b": st.one_of(st.booleans(), st.sampled_from(["true", "0", "no"])),
    "_row": st.integers(0, 130),
}


@st.composite
def well_formed(draw: st.DrawFn) -> Filter:
    name = draw(st.sampled_from(sorted(TYPED)))
    op = draw(st.sampled_from(OPS))
    one = TYPED[name]
    if op in ("null", "notnull"):
        return Filter(name, op)
    if op == "in":
        return Filter(name, op, draw(st.lists(one, min_size=1, max_size=4)))
    if op == "range":
        return Filter(name, op, draw(st.lists(one, min_size=2, max_size=2)))
    return Filter(name, op, draw(one))


filter_lists = st.lists(st.one_of(well_formed(), well_formed(), chaotic), max_size=3)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def tricky(
    db: Session,
    officer: Person,
    make_dataset: Callable[..., Dataset],
    write_version: Callable[..., DatasetVersion],
) -> DatasetVersion:
    return write_version(officer.actor, make_dataset(), ROWS, specs=SPECS)


def _expected(given: list[Filter], schema: Any) -> list[int] | None:
    try:
        checked = filters.check(given, schema)
    except ValidationFailed:
        return None
    return [r["_row"] for r in ROWS if filters.matches(checked, r)]


@pytest.mark.storage_only
def test_filters_are_never_sql(tricky: DatasetVersion, storage: LocalStorage) -> None:
    index = storage.local_path(tricky.index_key)
    parquet = storage.local_path(tricky.parquet_key)
    before = (_digest(index), _digest(parquet))

    @settings(
        max_examples=400,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(filter_lists)
    def check(given_filters: list[Filter]) -> None:
        expected = _expected(given_filters, tricky.schema)
        try:
            page, _cursor = rows.page(
                storage, tricky, columns=["_row"], filters=given_filters, limit=1000
            )
        except ValidationFailed:
            assert expected is None
            return
        assert expected is not None
        assert [r["_row"] for r in page] == expected
        assert rows.count(storage, tricky, filters=given_filters) == len(expected)
        scanned = [
            v
            for b in rows.batches(storage, tricky, columns=["_row"], filters=given_filters)
            for v in b.column("_row").to_pylist()
        ]
        assert scanned == expected  # DuckDB, in file order
        if given_filters:
            _names, grouped, _more = rows.aggregate(
                storage, tricky, group_by=[], measures=[("count", None)], filters=given_filters
            )
            assert grouped[0]["count(*)"] == len(expected)

    check()
    assert (_digest(index), _digest(parquet)) == before
    page, _ = rows.page(storage, tricky, columns=["_row"], limit=1000)
    assert len(page) == len(ROWS)


@pytest.mark.storage_only
def test_hashed_filters_compare_pseudonyms(tricky: DatasetVersion, storage: LocalStorage) -> None:
    key = get_settings().masking_secret

    @settings(max_examples=60, deadline=None)
    @given(st.lists(st.sampled_from([t for t in TRICKY if t]), min_size=1, max_size=3))
    def check(chosen: list[str]) -> None:
        hashed = Filter("t", "in", [pseudonym(v, key) for v in chosen], hashed=True)
        expected = [r["_row"] for r in ROWS if r["t"] in chosen]
        assert filters.matches(filters.check([hashed], tricky.schema), ROWS[0], key=key) == (
            ROWS[0]["t"] in chosen
        )
        page, _ = rows.page(storage, tricky, columns=["_row"], filters=[hashed], limit=1000)
        assert [r["_row"] for r in page] == expected
        scanned = [
            v
            for b in rows.batches(storage, tricky, columns=["_row"], filters=[hashed])
            for v in b.column("_row").to_pylist()
        ]
        assert scanned == expected

    check()
    with pytest.raises(ValidationFailed):
        rows.page(storage, tricky, filters=[Filter("t", "prefix", "ab", hashed=True)])


def test_query_strings_through_the_gate_never_leave_the_grant(
    db: Session,
    grantee: Person,
    people: Dataset,
    people_version: DatasetVersion,
    make_grant: Callable[..., Any],
    storage: LocalStorage,
) -> None:
    make_grant(people, grantee.user.agency_id, row_filter=[["district", "eq", "罗庄区"]])
    keys = st.one_of(
        st.sampled_from(
            ["district", "born__lt", "born__range", "name__prefix", "person_id__in", "income__ge"]
        ),
        st.builds(lambda a, b: f"{a}__{b}", st.text(max_size=6), st.text(max_size=6)),
    )

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.tuples(keys, texts), max_size=3))
    def check(pairs: list[tuple[str, str]]) -> None:
        try:
            parsed = filters_from_query(pairs)
            found = rows_of(parsed)
        except (ValidationFailed, PermissionDenied):
            return
        assert all(r["district"] == "罗庄区" for r in found)

    def rows_of(parsed: list[Filter]) -> list[dict[str, Any]]:
        page = gate.read_page(
            db, grantee.actor, people, purpose="核对", filters=parsed, limit=100, storage=storage
        )
        return page.rows

    check()
