"""check_batch: every rule, every message, row numbers, mixed batches and the typed output."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gongshu import identifiers as ids
from gongshu.catalog.models import FieldType
from gongshu.errors import ValidationFailed
from gongshu.i18n import catalog, translate
from gongshu.ingest import checks as C
from gongshu.ingest.checks import CheckedBatch, arrow_schema, arrow_type, check_batch
from gongshu.ingest.spec import FieldSpec, IdentifierKind

pytestmark = pytest.mark.storage_only

TODAY = dt.date(2026, 1, 15)
FIRST_ROW = 2  # a CSV's first data line, counting the header


def spec(name: str = "f", data_type: FieldType = FieldType.STRING, **kw: Any) -> FieldSpec:
    return FieldSpec(name=name, label=kw.pop("label", "字段" + name), data_type=data_type, **kw)


def run(specs: list[FieldSpec], **columns: list[str | None]) -> CheckedBatch:
    batch = pa.record_batch({k: pa.array(v, type=pa.string()) for k, v in columns.items()})
    rows = pa.array(range(FIRST_ROW, FIRST_ROW + batch.num_rows), type=pa.int64())
    return check_batch(batch, rows, specs, {s.name: s.name for s in specs}, today=TODAY)


def one(data_type: FieldType, values: list[str | None], **kw: Any) -> CheckedBatch:
    return run([spec("f", data_type, **kw)], f=values)


def messages(result: CheckedBatch) -> list[tuple[int, str]]:
    return [(issue.row, issue.message) for issue in result.issues]


def column(result: CheckedBatch, name: str = "f") -> list[Any]:
    return result.batch.column(name).to_pylist()  # type: ignore[no-any-return]


# --- types and schema ---------------------------------------------------------------------


def test_arrow_types_and_schema() -> None:
    expected = {
        FieldType.STRING: pa.string(),
        FieldType.TEXT: pa.string(),
        FieldType.INTEGER: pa.int64(),
        FieldType.DECIMAL: pa.decimal128(38, 6),
        FieldType.DATE: pa.date32(),
        FieldType.DATETIME: pa.timestamp("s"),
        FieldType.BOOLEAN: pa.bool_(),
    }
    for data_type, arrow in expected.items():
        assert arrow_type(spec(data_type=data_type)) == arrow
    specs = [spec("b", FieldType.DATE, required=True), spec("a", FieldType.INTEGER)]
    schema = arrow_schema(specs)
    assert schema.names == ["b", "a"]
    assert not schema.field("b").nullable and schema.field("a").nullable


def test_typed_batch_has_spec_columns_in_order_and_row_numbers() -> None:
    specs = [spec("n", FieldType.INTEGER), spec("s"), spec("d", FieldType.DATE)]
    result = run(
        specs, s=["a", "b"], d=["2024-01-05", "2024-01-06"], n=["1", "2"], extra=["x", "y"]
    )
    assert result.batch.schema.names == ["n", "s", "d", "_row"]
    assert result.batch.schema.field("_row").type == pa.int64()
    assert column(result, "_row") == [2, 3]
    assert column(result, "n") == [1, 2]
    assert result.batch.schema.remove(3) == arrow_schema(specs)
    assert result.issues == [] and result.rejected_rows == [] and result.warnings == 0


# --- empty cells ---------------------------------------------------------------------------


def test_required_cells() -> None:
    result = one(FieldType.STRING, ["a", None, "", "b"], required=True, label="名称")
    assert messages(result) == [(3, C.M_REQUIRED), (4, C.M_REQUIRED)]
    assert result.rejected_rows == [3, 4]
    assert column(result) == ["a", "b"]
    assert column(result, "_row") == [2, 5]
    issue = result.issues[0]
    assert issue.column == "f" and issue.value is None and issue.severity == "error"
    assert translate(issue.message, "zh", **issue.params) == "名称：必填，不能为空"
    assert translate(issue.message, "en", **issue.params) == "名称: required, may not be empty"


def test_optional_empty_cells_are_null_and_not_checked() -> None:
    result = one(FieldType.INTEGER, [None, "", "3"], minimum="1", choices=("3",))
    assert result.issues == []
    assert column(result) == [None, None, 3]


@pytest.mark.parametrize("data_type", list(FieldType))
def test_all_null_optional_column(data_type: FieldType) -> None:
    """An unmapped spec reads as all empty: typed nulls of the right type, no issue."""
    specs = [spec("k"), spec("f", data_type, length=3, minimum=None, pattern="x")]
    batch = pa.record_batch({"k": pa.array(["a", "b"])})
    result = check_batch(batch, pa.array([7, 9]), specs, {"k": "k"})
    assert result.issues == []
    assert result.batch.column("f").type == arrow_type(specs[1])
    assert result.batch.column("f").null_count == 2
    assert column(result, "_row") == [7, 9]


def test_unmapped_required_column_rejects_every_row() -> None:
    specs = [spec("k"), spec("f", FieldType.DATE, required=True)]
    batch = pa.record_batch({"k": pa.array(["a", "b"])})
    result = check_batch(batch, pa.array([2, 3]), specs, {"k": "k"})
    assert messages(result) == [(2, C.M_REQUIRED), (3, C.M_REQUIRED)]
    assert result.batch.num_rows == 0


# --- integers ------------------------------------------------------------------------------


def test_integer_forms() -> None:
    values = ["1,234", "１２３", "12.0", "+5", "-5", "007", "1,234,567.00", "-9223372036854775808"]
    result = one(FieldType.INTEGER, values)
    assert result.issues == []
    assert column(result) == [1234, 123, 12, 5, -5, 7, 1234567, -(2**63)]


def test_plain_integer_column_takes_one_cast() -> None:
    result = one(FieldType.INTEGER, ["1", "-2", None, "9223372036854775807"])
    assert column(result) == [1, -2, None, 2**63 - 1]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", C.M_INTEGER),
        ("-", C.M_INTEGER),
        ("—", C.M_INTEGER),
        ("0x1F", C.M_INTEGER),  # Arrow would read it as hex
        ("1,23", C.M_INTEGER),
        ("1e3", C.M_INTEGER),
        ("12.5", C.M_INTEGER_FRACTION),
        ("1,234.5", C.M_INTEGER_FRACTION),
        ("9223372036854775808", C.M_INTEGER_RANGE),
        ("99999999999999999999", C.M_INTEGER_RANGE),
    ],
)
def test_bad_integers(value: str, message: str) -> None:
    result = one(FieldType.INTEGER, ["1", value], label="人数")
    assert messages(result) == [(3, message)]
    issue = result.issues[0]
    assert issue.value == value and issue.params["value"] == value
    assert translate(issue.message, "zh", **issue.params).startswith(f"人数：“{value}”")
    assert column(result) == [1]


# --- decimals ------------------------------------------------------------------------------


def test_decimal_forms() -> None:
    values = ["1.5", "1,234.56", "-0.5", "1e3", ".5", "１．５", "7", "1.1234560", "+2"]
    result = one(FieldType.DECIMAL, values)
    assert result.issues == []
    expected = ["1.5", "1234.56", "-0.5", "1000", "0.5", "1.5", "7", "1.123456", "2"]
    assert column(result) == [Decimal(v) for v in expected]
    assert result.batch.column("f").type == pa.decimal128(38, 6)


@pytest.mark.parametrize(
    ("value", "message", "params"),
    [
        ("-", C.M_DECIMAL, {}),
        ("—", C.M_DECIMAL, {}),
        ("NaN", C.M_DECIMAL, {}),
        ("1_000", C.M_DECIMAL, {}),
        ("12..5", C.M_DECIMAL, {}),
        ("1,2", C.M_DECIMAL, {}),
        ("1.1234567", C.M_DECIMAL_SCALE, {"scale": 6}),
        ("1,234.0000001", C.M_DECIMAL_SCALE, {"scale": 6}),
        ("1" + "0" * 32, C.M_DECIMAL_RANGE, {"digits": 32}),
    ],
)
def test_bad_decimals(value: str, message: str, params: dict[str, Any]) -> None:
    result = one(FieldType.DECIMAL, ["1", value])
    assert messages(result) == [(3, message)]
    assert params.items() <= result.issues[0].params.items()


# --- dates and datetimes -------------------------------------------------------------------


def test_date_forms() -> None:
    values = [
        "2024-01-05",
        "2024/1/5",
        "2024.1.5",
        "2024年1月5日",
        "2024年1月5",
        "20240105",
        "２０２４年１月５日",
        "2024-1-05",
    ]
    result = one(FieldType.DATE, values)
    assert result.issues == []
    assert column(result) == [dt.date(2024, 1, 5)] * len(values)


def test_iso_date_column_and_leap_days() -> None:
    result = one(FieldType.DATE, ["2024-02-29", "2000-02-29", "0001-01-01", "9999-12-31"])
    assert result.issues == []
    assert column(result)[2:] == [dt.date(1, 1, 1), dt.date(9999, 12, 31)]


@pytest.mark.parametrize(
    "value",
    [
        "2024-02-30",
        "2023-02-29",
        "1900-02-29",
        "0000-01-01",
        "2024-13-01",
        "2024/1/32",
        "x",
        "2024-01",
    ],
)
def test_bad_dates(value: str) -> None:
    result = one(FieldType.DATE, ["2024-01-05", value])
    assert messages(result) == [(3, C.M_DATE)]


def test_datetime_forms() -> None:
    values = [
        "2024-01-05 08:30",
        "2024-01-05 08:30:00",
        "2024-01-05T08:30:00",
        "2024/1/5 8:30",
        "2024年1月5日 8时30分",
        "2024年1月5日8点30分0秒",
        "2024-01-05 08:30:00.000",
        "20240105 08:30",
    ]
    result = one(FieldType.DATETIME, values)
    assert result.issues == []
    assert column(result) == [dt.datetime(2024, 1, 5, 8, 30)] * len(values)
    midnight = one(FieldType.DATETIME, ["2024-01-05", "2024/1/5"])
    assert column(midnight) == [dt.datetime(2024, 1, 5)] * 2


@pytest.mark.parametrize(
    "value",
    [
        "2024-01-05 24:00",
        "2024-01-05 08:60",
        "2024-02-30 08:00",
        "2024-01-05 08:30:00+08:00",
        "2024-01-05 08:30:00.5",
        "0000-12-31 23:59:59",
        "x",
    ],
)
def test_bad_datetimes(value: str) -> None:
    result = one(FieldType.DATETIME, ["2024-01-05 08:30:00", value])
    assert messages(result) == [(3, C.M_DATETIME)]


# --- booleans ------------------------------------------------------------------------------


def test_boolean_forms() -> None:
    true = ["是", "有", "true", "TRUE", "True", "1", "Y", "y", "yes", "Ｙ"]
    false = ["否", "无", "false", "FALSE", "0", "N", "n", "No"]
    result = one(FieldType.BOOLEAN, true + false)
    assert result.issues == []
    assert column(result) == [True] * len(true) + [False] * len(false)


@pytest.mark.parametrize("value", ["maybe", "2", "对不对", "-"])
def test_bad_booleans(value: str) -> None:
    result = one(FieldType.BOOLEAN, ["是", value])
    assert messages(result) == [(3, C.M_BOOLEAN)]


# --- length, choices, pattern --------------------------------------------------------------


def test_length_counts_characters_not_bytes() -> None:
    result = one(
        FieldType.STRING, ["临沂市", "临沂市兰山区", "abc", "abcd"], length=3, label="名称"
    )
    assert messages(result) == [(3, C.M_TOO_LONG), (5, C.M_TOO_LONG)]
    issue = result.issues[0]
    assert issue.params == {"label": "名称", "value": "临沂市兰山区", "length": 3, "actual": 6}
    assert translate(issue.message, "zh", **issue.params) == "名称：超过 3 个字符（实为 6 个）"
    assert column(result) == ["临沂市", "abc"]


def test_choices_are_exact_and_listed_shortened() -> None:
    result = one(FieldType.STRING, ["在营", "在营 ", "注销", "在"], choices=("在营", "注销"))
    assert messages(result) == [(3, C.M_NOT_A_CHOICE), (5, C.M_NOT_A_CHOICE)]
    assert result.issues[0].params["choices"] == "在营 / 注销"
    many = tuple(f"c{i}" for i in range(12))
    result = one(FieldType.STRING, ["x"], choices=many)
    assert result.issues[0].params["choices"] == " / ".join(many[:10]) + " / …"


def test_choices_of_an_integer_field_compare_the_text() -> None:
    result = one(FieldType.INTEGER, ["1", "2", "01"], choices=("1", "2"))
    assert messages(result) == [(4, C.M_NOT_A_CHOICE)]


def test_pattern_is_a_full_match() -> None:
    result = one(FieldType.STRING, ["AB12", "xAB12", "AB123", "ab12"], pattern="[A-Z]{2}[0-9]{2}")
    assert messages(result) == [(3, C.M_PATTERN), (4, C.M_PATTERN), (5, C.M_PATTERN)]
    assert result.issues[0].params["pattern"] == "[A-Z]{2}[0-9]{2}"
    alternatives = one(FieldType.STRING, ["a", "b", "ab"], pattern="a|b")
    assert messages(alternatives) == [(4, C.M_PATTERN)]


def test_bad_pattern_is_the_catalogs_fault() -> None:
    with pytest.raises(ValidationFailed) as caught:
        one(FieldType.STRING, ["a"], pattern="(unclosed", label="编号")
    assert caught.value.message == C.M_BAD_PATTERN
    assert caught.value.params == {"label": "编号", "pattern": "(unclosed"}


# --- minimum and maximum -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data_type", "minimum", "maximum", "values", "low", "high"),
    [
        (FieldType.INTEGER, "0", "100", ["0", "100", "50"], "-1", "1,000"),
        (FieldType.DECIMAL, "0.5", "9.99", ["0.5", "9.99", "1"], "0.499999", "10"),
        (
            FieldType.DATE,
            "2020-01-01",
            "2024/12/31",
            ["2020-01-01", "2024-12-31"],
            "2019-12-31",
            "2025-01-01",
        ),
        (
            FieldType.DATETIME,
            "2024-01-01 00:00",
            "2024-12-31 23:59:59",
            ["2024-06-01 12:00:00"],
            "2023-12-31 23:59:59",
            "2025-01-01 00:00:00",
        ),
    ],
)
def test_minimum_and_maximum_in_the_fields_type(
    data_type: FieldType,
    minimum: str,
    maximum: str,
    values: list[str],
    low: str,
    high: str,
) -> None:
    result = one(data_type, [*values, low, high], minimum=minimum, maximum=maximum, label="值")
    n = len(values)
    assert messages(result) == [
        (FIRST_ROW + n, C.M_BELOW_MINIMUM),
        (FIRST_ROW + n + 1, C.M_ABOVE_MAXIMUM),
    ]
    below, above = result.issues
    assert below.params == {"label": "值", "value": low, "minimum": minimum}
    assert above.params == {"label": "值", "value": high, "maximum": maximum}
    assert translate(below.message, "zh", **below.params) == f"值：“{low}”小于最小值 {minimum}"
    assert result.batch.num_rows == n


def test_unusable_bound_is_the_catalogs_fault() -> None:
    with pytest.raises(ValidationFailed) as caught:
        one(FieldType.INTEGER, ["1"], minimum="zero")
    assert caught.value.message == C.M_BAD_BOUND
    assert caught.value.params["bound"] == "zero"


def test_a_cell_that_cannot_be_read_gets_one_issue() -> None:
    result = one(FieldType.INTEGER, ["abc"], minimum="0", pattern="[0-9]+", choices=("1",))
    assert messages(result) == [(2, C.M_INTEGER)]


def test_a_cell_may_break_several_rules() -> None:
    result = one(FieldType.STRING, ["abcdef"], length=3, pattern="[0-9]+", choices=("1",))
    assert [m for _, m in messages(result)] == [C.M_TOO_LONG, C.M_NOT_A_CHOICE, C.M_PATTERN]
    assert result.rejected_rows == [2]


# --- identifiers ---------------------------------------------------------------------------


def test_credit_code_errors_and_normalisation() -> None:
    values = ["91110000600037341L", "91110000600037341l"]
    values += ["91110000600037341A", "9111000060003734"]
    result = one(FieldType.STRING, values, identifier=IdentifierKind.CREDIT_CODE, label="代码")
    assert messages(result) == [
        (4, C.labelled(ids.M_CC_CHECK)),
        (5, C.labelled(ids.M_CC_LENGTH)),
    ]
    check = result.issues[0]
    assert check.params == {"label": "代码", "expected": "L", "actual": "A"}
    assert check.value == "91110000600037341A"
    zh = translate(check.message, "zh", **check.params)
    assert zh == "代码：统一社会信用代码校验位错误：按前 17 位计算应为“L”，实为“A”"
    en = translate(check.message, "en", **check.params)
    assert en.startswith("代码: ") and "“L”" in en
    assert column(result) == ["91110000600037341L", "91110000600037341L"]


def test_credit_code_warning_keeps_the_row() -> None:
    warned = ids.make_credit_code("11371300MB0000001")  # embedded organisation code is wrong
    result = one(FieldType.STRING, [warned], identifier=IdentifierKind.CREDIT_CODE)
    assert [(i.severity, i.message) for i in result.issues] == [
        ("warning", C.labelled(ids.M_ORG_CHECK))
    ]
    assert result.warnings == 1 and result.rejected_rows == []
    assert column(result) == [warned]


def test_citizen_id_legacy_conversion_is_a_warning_with_the_new_value() -> None:
    values = ["110105491231002", "11010519491231002x", "110105194912310021", "11010519491231002X"]
    result = one(
        FieldType.STRING, values, identifier=IdentifierKind.CITIZEN_ID, length=18, label="身份证号"
    )
    assert [(i.row, i.severity, i.message) for i in result.issues] == [
        (2, "warning", C.labelled(ids.M_ID_CONVERTED)),
        (4, "error", C.labelled(ids.M_ID_CHECK)),
    ]
    assert result.issues[0].params == {"label": "身份证号", "value": "11010519491231002X"}
    assert result.warnings == 1
    assert column(result) == ["11010519491231002X"] * 3
    assert column(result, "_row") == [2, 3, 5]


def test_citizen_id_birth_date_against_today() -> None:
    body = "110105" + "20260116" + "002"
    value = body + ids.citizen_id_check_char(body)
    result = one(FieldType.STRING, [value], identifier=IdentifierKind.CITIZEN_ID)
    assert messages(result) == [(2, C.labelled(ids.M_ID_FUTURE))]


def test_mobile_and_region_code() -> None:
    specs = [
        spec("m", identifier=IdentifierKind.MOBILE),
        spec("r", identifier=IdentifierKind.REGION_CODE),
    ]
    result = run(specs, m=["+86 138-0013-8000", "12800138000"], r=["371302", "991300"])
    assert messages(result) == [
        (3, C.labelled(ids.M_MOBILE_FORMAT)),
        (3, C.labelled(ids.M_REGION_PROVINCE)),
    ]
    assert column(result, "m") == ["13800138000"]


def test_every_labelled_identifier_message_is_translated() -> None:
    for name in dir(ids):
        if name.startswith(("M_CC_", "M_ORG_", "M_ID_", "M_MOBILE_", "M_REGION_")):
            message = C.labelled(getattr(ids, name))
            assert catalog("en")[message].startswith("{label}: "), name


# --- batches -------------------------------------------------------------------------------


def test_mixed_rows_issue_order_and_rejected_rows() -> None:
    specs = [
        spec("name", required=True, length=4, label="名称"),
        spec("n", FieldType.INTEGER, minimum="0", label="数量"),
        spec("day", FieldType.DATE, label="日期"),
    ]
    result = run(
        specs,
        name=["甲", None, "丙", "丁戊己庚辛", "戊"],
        n=["1", "2", "-3", "x", "5"],
        day=["2024-01-01", "2024-02-30", "2024/3/1", "2024年4月1日", "20240501"],
    )
    assert [(i.row, i.column) for i in result.issues] == [
        (3, "name"),
        (3, "day"),
        (4, "n"),
        (5, "name"),
        (5, "n"),
    ]
    assert result.rejected_rows == [3, 4, 5]
    assert column(result, "_row") == [2, 6]
    assert column(result, "name") == ["甲", "戊"]
    assert column(result, "day") == [dt.date(2024, 1, 1), dt.date(2024, 5, 1)]


def test_row_numbers_come_from_the_caller() -> None:
    batch = pa.record_batch({"src": pa.array(["1", "x", "3"])})
    specs = [spec("n", FieldType.INTEGER)]
    result = check_batch(batch, pa.array([10, 12, 15]), specs, {"n": "src"})
    assert [i.row for i in result.issues] == [12]
    assert result.rejected_rows == [12]
    assert column(result, "_row") == [10, 15]


def test_wrong_mapping_or_row_numbers() -> None:
    batch = pa.record_batch({"a": pa.array(["1"])})
    with pytest.raises(ValidationFailed) as caught:
        check_batch(batch, pa.array([2]), [spec("n", label="数量")], {"n": "b"})
    assert caught.value.params == {"label": "数量", "column": "b"}
    with pytest.raises(ValidationFailed):
        check_batch(batch, pa.array([2, 3]), [spec("n")], {"n": "a"})


def test_large_batch_with_scattered_errors() -> None:
    """Enough rows for the chunked and fallback paths; errors land on the right rows."""
    n = 100_003
    days = np.array(["2024-01-05"] * n, dtype=object)
    days[::1000] = "2024-02-30"
    days[5::1000] = "2024/1/5"
    amounts = np.array(["12.50"] * n, dtype=object)
    amounts[7::1000] = "1.1234567"
    ids_ = np.array(["11010519491231002X"] * n, dtype=object)
    ids_[9::1000] = "110105194912310021"
    specs = [
        spec("d", FieldType.DATE),
        spec("a", FieldType.DECIMAL),
        spec("i", identifier=IdentifierKind.CITIZEN_ID),
    ]
    result = run(specs, d=days.tolist(), a=amounts.tolist(), i=ids_.tolist())
    bad = sorted({FIRST_ROW + r for start in (0, 7, 9) for r in range(start, n, 1000)})
    assert result.rejected_rows == bad
    assert result.batch.num_rows == n - len(bad)
    assert column(result, "d")[4] == dt.date(2024, 1, 5)  # row index 5: "2024/1/5"
    assert set(column(result, "a")) == {Decimal("12.5")}


# --- whole batches agree with one row at a time ---------------------------------------------

SAMPLES: dict[FieldType, list[str | None]] = {
    FieldType.INTEGER: ["1", "-2", "1,234", "１２", "12.0", "x", "12.5", "0x1F", "", None],
    FieldType.DECIMAL: ["1.5", "-0.25", "1,234.5", "1e3", ".5", "-", "1.1234567", "１．５", None],
    FieldType.DATE: [
        "2024-01-05",
        "2024/1/5",
        "20240105",
        "2024年1月5日",
        "2024-02-30",
        "0000-01-01",
        None,
    ],
    FieldType.DATETIME: [
        "2024-01-05 08:30:00",
        "2024-01-05 08:30",
        "2024/1/5 8:30",
        "2024-01-05",
        "2024-01-05 25:00",
        None,
    ],
    FieldType.BOOLEAN: ["是", "否", "TRUE", "n", "maybe", None],
}


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_batch_agrees_with_single_rows(data: st.DataObject) -> None:
    """The fast paths (one cast per column) and the fallbacks read cells alike."""
    specs = [spec(t.value, t) for t in SAMPLES]
    n = data.draw(st.integers(1, 12))
    columns = {t.value: [data.draw(st.sampled_from(SAMPLES[t])) for _ in range(n)] for t in SAMPLES}
    whole = run(specs, **columns)
    single = [run(specs, **{k: [v[i]] for k, v in columns.items()}) for i in range(n)]
    assert [i.message for i in whole.issues] == [i.message for s in single for i in s.issues]
    kept = [s.batch.to_pylist()[0] for s in single if s.batch.num_rows]
    for row, expected in zip(whole.batch.to_pylist(), kept, strict=True):
        assert {k: v for k, v in row.items() if k != "_row"} == {
            k: v for k, v in expected.items() if k != "_row"
        }
