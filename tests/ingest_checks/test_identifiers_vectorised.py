"""The vectorised identifier checks say, row by row, what the scalar checks say."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gongshu import identifiers as ids

pytestmark = pytest.mark.storage_only

TODAY = dt.date(2026, 1, 15)
STANDARD_ID = "11010519491231002X"
STANDARD_CREDIT_CODE = "91110000600037341L"

# Characters that exercise every branch: digits, the check letters in both cases, letters
# outside the credit-code alphabet, separators, whitespace and non-ASCII look-alikes.
NOISE = "0123456789XxAaBbIiOoSsZzLlNnYy +-\t１２３中"


def with_check(body: str) -> str:
    return body + ids.citizen_id_check_char(body)


def citizen(value: str) -> ids.CheckResult:
    return ids.check_citizen_id(value, today=TODAY)


CHECKS: dict[str, tuple[Callable[..., ids.VectorCheck], Callable[[str], ids.CheckResult]]] = {
    "citizen_id": (lambda a: ids.citizen_id_check(a, today=TODAY), citizen),
    "credit_code": (ids.credit_code_check, ids.check_credit_code),
    "mobile": (ids.mobile_check, ids.check_mobile),
    "region_code": (ids.region_code_check, ids.check_region_code),
}


def assert_agrees(kind: str, values: list[str | None]) -> ids.VectorCheck:
    vector, scalar = CHECKS[kind]
    result = vector(pa.array(values, type=pa.string()))
    assert len(result.valid) == len(result.warnings) == len(result.values) == len(values)
    normalised = result.values.to_pylist()
    for i, value in enumerate(values):
        expected = scalar(value or "")
        assert bool(result.valid[i]) == expected.ok, (kind, value, expected.errors)
        assert bool(result.warnings[i]) == bool(expected.warnings), (kind, value)
        if expected.ok:
            assert normalised[i] == expected.value, (kind, value)
        else:
            assert normalised[i] == value, (kind, value)
    return result


# --- generators of valid identifiers (built with the scalar helpers) ----------------------


@st.composite
def citizen_ids(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(sorted(ids.PROVINCE_CODES)))
    area = province + draw(st.from_regex(r"\A[0-9]{4}\Z"))
    birth = draw(st.dates(min_value=dt.date(1, 1, 1), max_value=TODAY))
    body = area + f"{birth.year:04d}{birth.month:02d}{birth.day:02d}"
    body += draw(st.from_regex(r"\A[0-9]{3}\Z"))
    value = body + ids.citizen_id_check_char(body)
    return value.lower() if draw(st.booleans()) else value


@st.composite
def legacy_ids(draw: st.DrawFn) -> str:
    province = draw(st.sampled_from(sorted(ids.PROVINCE_CODES)))
    birth = draw(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(1999, 12, 31)))
    tail = draw(st.from_regex(r"\A[0-9]{7}\Z"))
    return province + tail[:4] + birth.strftime("%y%m%d") + tail[4:]


@st.composite
def credit_codes(draw: st.DrawFn) -> str:
    alphabet = ids.CREDIT_CODE_ALPHABET
    authority = draw(st.sampled_from("123456789ANYB"))
    kind = draw(st.sampled_from(alphabet))
    region = draw(st.sampled_from(["100000", "371302", "110105", "990000"]))
    org_body = draw(st.text(alphabet=alphabet, min_size=8, max_size=8))
    if draw(st.booleans()):
        org = org_body + ids.organization_code_check_char(org_body)
    else:
        org = org_body + draw(st.sampled_from(alphabet))
    value = ids.make_credit_code(authority + kind + region + org)
    return value.lower() if draw(st.booleans()) else value


@st.composite
def mobiles(draw: st.DrawFn) -> str:
    digits = "1" + draw(st.sampled_from("3456789")) + draw(st.from_regex(r"\A[0-9]{9}\Z"))
    prefix = draw(st.sampled_from(["", "86", "+86", "+86 ", "86-"]))
    if draw(st.booleans()):
        digits = f"{digits[:3]}{draw(st.sampled_from(' -'))}{digits[3:7]}-{digits[7:]}"
    return prefix + digits


def mutated(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A valid value with one character replaced, dropped or added."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        value = draw(values)
        i = draw(st.integers(0, len(value)))
        char = draw(st.sampled_from(NOISE))
        how = draw(st.sampled_from(["replace", "drop", "add"]))
        if how == "replace" and i < len(value):
            return value[:i] + char + value[i + 1 :]
        if how == "drop" and i < len(value):
            return value[:i] + value[i + 1 :]
        return value[:i] + char + value[i:]

    return build()


def columns(*parts: st.SearchStrategy[str]) -> st.SearchStrategy[list[str | None]]:
    noise = st.text(alphabet=NOISE, max_size=20)
    cell = st.one_of(st.none(), noise, *parts, *(mutated(p) for p in parts))
    return st.lists(cell, max_size=40)


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(columns(citizen_ids(), legacy_ids()))
def test_citizen_id_agrees_with_scalar(values: list[str | None]) -> None:
    assert_agrees("citizen_id", values)


@PROPERTY
@given(columns(credit_codes()))
def test_credit_code_agrees_with_scalar(values: list[str | None]) -> None:
    assert_agrees("credit_code", values)


@PROPERTY
@given(columns(mobiles()))
def test_mobile_agrees_with_scalar(values: list[str | None]) -> None:
    assert_agrees("mobile", values)


@PROPERTY
@given(columns(st.from_regex(r"\A[0-9]{6}\Z"), st.sampled_from(["371302", " 110105"])))
def test_region_code_agrees_with_scalar(values: list[str | None]) -> None:
    assert_agrees("region_code", values)


@settings(max_examples=40, deadline=None)
@given(st.lists(citizen_ids(), min_size=1, max_size=200))
def test_valid_citizen_ids_all_pass(values: list[str]) -> None:
    result = assert_agrees("citizen_id", list(values))
    assert result.valid.all()
    assert all(v.endswith("X") or v[-1].isdigit() for v in result.values.to_pylist())


@settings(max_examples=40, deadline=None)
@given(st.lists(credit_codes(), min_size=1, max_size=200))
def test_valid_credit_codes_all_pass(values: list[str]) -> None:
    result = assert_agrees("credit_code", list(values))
    assert result.valid.all()
    assert all(v == v.upper() for v in result.values.to_pylist())


# --- the standards' examples and hand-made vectors ----------------------------------------


def test_standard_examples() -> None:
    result = ids.citizen_id_check(pa.array([STANDARD_ID, "11010519491231002x"]), today=TODAY)
    assert result.valid.tolist() == [True, True]
    assert result.values.to_pylist() == [STANDARD_ID, STANDARD_ID]
    assert not result.warnings.any()
    result = ids.credit_code_check(pa.array([STANDARD_CREDIT_CODE, "91110000600037341l"]))
    assert result.valid.tolist() == [True, True]
    assert result.values.to_pylist() == [STANDARD_CREDIT_CODE, STANDARD_CREDIT_CODE]


def test_citizen_id_vectors() -> None:
    values = [
        STANDARD_ID,
        "110105194912310021",  # wrong check char
        "110105491231002",  # legacy: converted, warning
        with_check("99010519491231002"),  # no such province
        with_check("11010519490230002"),  # 30 February
        None,
        "",
        "11010519491231002",  # 17 characters
        "１1010519491231002X",  # a full-width digit
    ]
    result = assert_agrees("citizen_id", values)
    assert result.valid.tolist() == [True, False, True, False, False, False, False, False, False]
    assert result.warnings.tolist() == [False, False, True] + [False] * 6
    assert result.values.to_pylist()[2] == STANDARD_ID


@pytest.mark.parametrize(
    ("prefix", "valid"),
    [
        ("99", False),
        ("00", False),
        ("16", False),
        ("70", False),
        ("11", True),
        ("65", True),
        ("71", True),
        ("82", True),
    ],
)
def test_citizen_id_province_prefix(prefix: str, valid: bool) -> None:
    result = assert_agrees("citizen_id", [with_check(prefix + "010519491231002")])
    assert bool(result.valid[0]) is valid


def test_future_birth_date_depends_on_today() -> None:
    body = "110105" + "20260116" + "002"
    value = body + ids.citizen_id_check_char(body)
    assert not ids.citizen_id_check(pa.array([value]), today=TODAY).valid[0]
    assert ids.citizen_id_check(pa.array([value]), today=dt.date(2026, 1, 16)).valid[0]


def test_leap_days() -> None:
    values = []
    for date in ("20000229", "19000229", "20240229", "20230229"):
        body = "110105" + date + "002"
        values.append(body + ids.citizen_id_check_char(body))
    result = assert_agrees("citizen_id", values)
    assert result.valid.tolist() == [True, False, True, False]


def test_credit_code_warnings() -> None:
    values = [
        ids.make_credit_code("11371300MB0000001"),  # organisation code check fails
        ids.make_credit_code("B1371300600037341"),  # unknown authority
        ids.make_credit_code("91990000600037341"),  # no such province
        "12100000400000624D",  # national region code: no warning
        STANDARD_CREDIT_CODE,
    ]
    result = assert_agrees("credit_code", values)
    assert result.valid.all()
    assert result.warnings.tolist() == [True, True, True, False, False]


def test_mobile_normalisation() -> None:
    values = ["+86 138-0013-8000", "8613800138000", "13800138000", "12800138000", " - "]
    result = assert_agrees("mobile", values)
    assert result.valid.tolist() == [True, True, True, False, False]
    assert result.values.to_pylist()[:3] == ["13800138000"] * 3


def test_region_codes() -> None:
    result = assert_agrees("region_code", ["371302", "991300", "37130a", "３71302", None])
    assert result.valid.tolist() == [True, False, False, False, False]


@pytest.mark.parametrize("kind", sorted(CHECKS))
def test_empty_and_all_null_columns(kind: str) -> None:
    vector, _scalar = CHECKS[kind]
    empty = vector(pa.array([], type=pa.string()))
    assert len(empty.valid) == 0 and len(empty.values) == 0
    nulls = vector(pa.array([None, None], type=pa.string()))
    assert not nulls.valid.any() and nulls.values.null_count == 2


def test_sliced_and_chunked_input() -> None:
    """A slice's data buffer starts mid-way; a chunked array comes in pieces."""
    whole: list[Any] = ["x", STANDARD_ID, "110105194912310021", STANDARD_ID]
    sliced = pa.array(whole).slice(1)
    assert ids.citizen_id_check(sliced, today=TODAY).valid.tolist() == [True, False, True]
    chunked = pa.chunked_array([pa.array(whole[:2]), pa.array(whole[2:])])
    assert ids.citizen_id_check(chunked, today=TODAY).valid.tolist() == [
        False,
        True,
        False,
        True,
    ]


def test_large_column_crosses_chunks() -> None:
    """More rows than one numpy chunk: the chunked kernels keep rows in order."""
    n = 70_000
    values = np.array([STANDARD_ID] * n, dtype=object)
    values[::7] = "110105194912310021"
    result = ids.citizen_id_check(pa.array(values.tolist()), today=TODAY)
    expected = np.ones(n, dtype=bool)
    expected[::7] = False
    assert (result.valid == expected).all()
