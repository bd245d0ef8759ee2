"""Validation and coercion of ingested rows against the catalog's fields, a column at a time.

A reader hands over record batches whose columns are all text (trimmed, null for an empty
cell). :func:`check_batch` turns one batch into typed Arrow columns, one per catalog field,
and reports every cell that breaks a rule as a :class:`~gongshu.ingest.spec.CellIssue` with a
Chinese message id naming the field's label. A row with any error is left out of the typed
batch; warnings are reported and the row is kept.

Per cell, in this order (see docs/ingest-validation.md):

1. empty (null or ``""``): an error when the field is required, otherwise nothing else;
2. coercion to the field's type; a value that cannot be read gets one error and no more;
3. length (characters, string and text fields), choices (exact match), pattern (a full
   match, RE2 syntax), identifier checks (gongshu.identifiers, normalised values replace
   the raw ones), minimum and maximum (compared in the field's type).

Speed comes from working on whole columns: each type is first read with one Arrow cast over
the column; only when that fails does a second, still vectorised, pass read the looser forms
people type (thousands separators, ``2024/1/5``, ``2024年1月5日``…); the cells that pass
neither are NFKC-normalised in Python (full-width digits) and read again. Python touches a
cell only to build a message or to rescue a cell the vectorised passes refused.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from gongshu import identifiers as ids
from gongshu.catalog.models import FieldType
from gongshu.errors import ValidationFailed
from gongshu.i18n import N_
from gongshu.ingest.spec import CellIssue, FieldSpec, IdentifierKind

__all__ = [
    "DECIMAL_SCALE",
    "DECIMAL_TYPE",
    "ROW_COLUMN",
    "CheckedBatch",
    "arrow_schema",
    "arrow_type",
    "check_batch",
]

ROW_COLUMN = "_row"
DECIMAL_PRECISION = 38
DECIMAL_SCALE = 6
DECIMAL_TYPE = pa.decimal128(DECIMAL_PRECISION, DECIMAL_SCALE)
CHOICES_SHOWN = 10

# --- messages (Chinese message ids; English in gongshu/locale/en/ingest_checks.po) --------

M_REQUIRED = N_("{label}：必填，不能为空")
M_TOO_LONG = N_("{label}：超过 {length} 个字符（实为 {actual} 个）")
M_NOT_A_CHOICE = N_("{label}：“{value}”不是可选值（可选值：{choices}）")
M_PATTERN = N_("{label}：“{value}”不符合规定的格式 {pattern}")
M_INTEGER = N_("{label}：“{value}”不是有效的整数")
M_INTEGER_FRACTION = N_("{label}：“{value}”带有小数，应为整数")
M_INTEGER_RANGE = N_("{label}：“{value}”超出整数的取值范围")
M_DECIMAL = N_("{label}：“{value}”不是有效的数值")
M_DECIMAL_SCALE = N_("{label}：“{value}”的小数超过 {scale} 位")
M_DECIMAL_RANGE = N_("{label}：“{value}”超出数值的取值范围（整数部分最多 {digits} 位）")
M_DATE = N_(
    "{label}：“{value}”不是有效的日期（可写作 2024-01-05、2024/1/5、2024年1月5日或 20240105）"
)
M_DATETIME = N_("{label}：“{value}”不是有效的日期时间（可写作 2024-01-05 08:30:00）")
M_BOOLEAN = N_("{label}：“{value}”不是有效的是否值（可写作 是/否、true/false、1/0、Y/N、有/无）")
M_BELOW_MINIMUM = N_("{label}：“{value}”小于最小值 {minimum}")
M_ABOVE_MAXIMUM = N_("{label}：“{value}”大于最大值 {maximum}")
#: Identifier messages (gongshu.identifiers) are prefixed with the label: "{label}：…".
M_LABEL_PREFIX = N_("{label}：")

M_BAD_BOUND = N_("信息项“{label}”的取值范围“{bound}”不是该类型的有效值")
M_BAD_PATTERN = N_("信息项“{label}”的格式规则“{pattern}”不是有效的正则表达式（RE2 语法）")
M_NO_SOURCE_COLUMN = N_("信息项“{label}”对应的列“{column}”不在文件中")
M_ROW_NUMBERS = N_("行号的数量（{numbers}）与行数（{rows}）不一致")


def labelled(message: str) -> str:
    """The message id of an identifier message reported for a field: "{label}：" + message."""
    return M_LABEL_PREFIX + message


# --- types --------------------------------------------------------------------------------

_ARROW_TYPES: dict[FieldType, Any] = {
    FieldType.STRING: pa.string(),
    FieldType.TEXT: pa.string(),
    FieldType.INTEGER: pa.int64(),
    FieldType.DECIMAL: DECIMAL_TYPE,
    FieldType.DATE: pa.date32(),
    FieldType.DATETIME: pa.timestamp("s"),
    FieldType.BOOLEAN: pa.bool_(),
}


def arrow_type(spec: FieldSpec) -> Any:
    """The Arrow type a field's values are stored as.

    Decimals are ``decimal128(38, 6)``: a value with a non-zero digit beyond the sixth
    decimal place is rejected rather than rounded. Datetimes are naive seconds in local
    (Asia/Shanghai) time.
    """
    return _ARROW_TYPES[FieldType(spec.data_type)]


def arrow_schema(specs: Sequence[FieldSpec]) -> Any:
    """The schema of a dataset version: one field per spec, in order (without ``_row``)."""
    return pa.schema(
        [pa.field(spec.name, arrow_type(spec), nullable=not spec.required) for spec in specs]
    )


@dataclass
class CheckedBatch:
    """The outcome of :func:`check_batch`.

    ``batch`` holds the rows that passed, one typed column per spec plus ``_row`` (the
    source row number); ``rejected_rows`` the source row numbers of the others, sorted;
    ``issues`` every error and warning, ordered by row and then by field.
    """

    batch: Any
    rejected_rows: list[int] = field(default_factory=list)
    issues: list[CellIssue] = field(default_factory=list)
    warnings: int = 0


Mask = npt.NDArray[np.bool_]

# --- reading values: each reader gives (typed array, read) with read False for nulls ------
# The regular expressions are RE2; CJK characters are written as \x{…} so that the source
# holds no Chinese text that is not an interface message.

_INT_LOOSE = r"^[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.0*)?$"
_INT_CLEAN = r"^\+|,|\.0*$"
_INT_SAFE = r"^-?[0-9]{1,18}$"
_DEC_LOOSE = r"^[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?$"
_DEC_SAFE = r"^[+-]?[0-9]{1,32}(?:\.[0-9]{0,6}0*)?$"
_DATE_CORE = (
    r"(?P<y>[0-9]{4})(?:[-/.](?P<m>[0-9]{1,2})[-/.](?P<d>[0-9]{1,2})"
    r"|\x{5E74}(?P<cm>[0-9]{1,2})\x{6708}(?P<cd>[0-9]{1,2})\x{65E5}?"
    r"|(?P<pm>[0-9]{2})(?P<pd>[0-9]{2}))"
)
_DATE_PATTERN = "^" + _DATE_CORE + "$"
_DATETIME_PATTERN = (
    "^"
    + _DATE_CORE
    + r"(?:(?:[ T]+|\x{65E5} *)(?P<H>[0-9]{1,2})[:\x{65F6}\x{70B9}](?P<M>[0-9]{1,2})"
    + r"(?:[:\x{5206}](?P<S>[0-9]{1,2})(?:\.0+)?)?[\x{5206}\x{79D2}]?)?$"
)
_DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)
_MIN_DAY = (dt.date(1, 1, 1) - dt.date(1970, 1, 1)).days
_MAX_DAY = (dt.date(9999, 12, 31) - dt.date(1970, 1, 1)).days

# Written as code points: these are data tokens, not interface text.
_YES, _NO, _HAVE, _HAVE_NOT = chr(0x662F), chr(0x5426), chr(0x6709), chr(0x65E0)
_TRUE_WORDS = ("true", "t", "yes", "y", "1", _YES, _HAVE)
_FALSE_WORDS = ("false", "f", "no", "n", "0", _NO, _HAVE_NOT)


def _case_variants(word: str) -> list[str]:
    variants = [""]
    for char in word:
        forms = {char.lower(), char.upper()}
        variants = [v + f for v in variants for f in sorted(forms)]
    return variants


_BOOL_TOKENS = [v for w in _TRUE_WORDS + _FALSE_WORDS for v in _case_variants(w)]
_BOOL_VALUES = np.array(
    [w in _TRUE_WORDS for w in _TRUE_WORDS + _FALSE_WORDS for _ in _case_variants(w)] + [False],
    dtype=np.bool_,
)
_BOOL_TOKEN_SET = pa.array(_BOOL_TOKENS, type=pa.string())


def _numpy(array: Any, fill: Any) -> Any:
    return array.fill_null(fill).to_numpy(zero_copy_only=False)


def _matches(values: Any, pattern: str) -> Mask:
    return _numpy(pc.match_substring_regex(values, pattern), False)  # type: ignore[no-any-return]


def _only_bytes(values: Any, allowed: bytes) -> bool:
    """True when every byte of the column's text is one of ``allowed`` (one flat scan)."""
    if len(values) == 0 or values.buffers()[2] is None:
        return True
    offsets = np.frombuffer(
        values.buffers()[1], dtype=np.int32, count=len(values) + 1, offset=values.offset * 4
    )
    data = np.frombuffer(values.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    table = np.zeros(256, dtype=np.bool_)
    table[list(allowed)] = True
    return bool(table[data].all())


def _with_nulls(values: Any, keep: Mask) -> Any:
    """``values`` with the cells outside ``keep`` null: a new validity bitmap, no copy."""
    if values.null_count:
        keep = keep & _numpy(values.is_valid(), False)
    bits = np.packbits(
        np.concatenate([np.zeros(values.offset, dtype=np.bool_), keep]), bitorder="little"
    )
    return pa.Array.from_buffers(
        values.type, len(values), [pa.py_buffer(bits), *values.buffers()[1:]], offset=values.offset
    )


def _texts(values: Any, rows: npt.NDArray[np.intp]) -> list[Any]:
    """The Python strings (or None) of ``values[rows]``; through numpy, several times faster."""
    return _subset(values, rows).to_numpy(zero_copy_only=False).tolist()  # type: ignore[no-any-return]


def _patch(
    typed: Any, read: Mask, rows: npt.NDArray[np.intp], sub: tuple[Any, Mask]
) -> tuple[Any, Mask]:
    """Put what a reader found in ``values[rows]`` into the column's ``typed``/``read``."""
    sub_typed, sub_read = sub
    hit = rows[sub_read]
    if not len(hit):
        return typed, read
    mask = np.zeros(len(read), dtype=np.bool_)
    mask[hit] = True
    typed = pc.replace_with_mask(typed, pa.array(mask), sub_typed.filter(pa.array(sub_read)))
    return typed, read | mask


def _subset(values: Any, rows: npt.NDArray[np.intp]) -> Any:
    return values.take(pa.array(rows, type=pa.int64()))


def _byte_matrix(values: Any, width: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.uint8]]:
    """The rows of exactly ``width`` bytes and their bytes as an (n, width) matrix."""
    rows = np.flatnonzero(_numpy(pc.binary_length(values), -1) == width)
    subset = values if len(rows) == len(values) else _subset(values, rows)
    if not len(rows):
        return rows, np.empty((0, width), dtype=np.uint8)
    offsets = np.frombuffer(
        subset.buffers()[1], dtype=np.int32, count=len(rows) + 1, offset=subset.offset * 4
    )
    data = np.frombuffer(subset.buffers()[2], dtype=np.uint8)
    start = int(offsets[0])
    matrix = data[start : start + width * len(rows)].reshape(len(rows), width)
    return rows, matrix


def _read_integer(values: Any) -> tuple[Any, Mask]:
    # Arrow also reads "0x1F" as hex: the byte scan keeps the one-cast path to plain digits.
    if _only_bytes(values, b"-0123456789"):
        try:
            typed = pc.cast(values, pa.int64())
        except pa.ArrowInvalid:
            pass  # a lone "-" or a number beyond int64: read row by row below
        else:
            return typed, _numpy(typed.is_valid(), False)
    lengths = _numpy(pc.binary_length(values), 0)
    plain = _numpy(pc.ascii_is_decimal(values), False) & (lengths <= 18)
    typed = pc.cast(_with_nulls(values, plain), pa.int64())
    rest = np.flatnonzero(~plain & (lengths > 0))
    if len(rest):
        return _patch(typed, plain, rest, _read_loose_integer(_subset(values, rest)))
    return typed, plain


def _read_loose_integer(values: Any) -> tuple[Any, Mask]:
    """Signs, thousands separators, "12.0" and numbers of 19 digits and more."""
    loose = _matches(values, _INT_LOOSE)
    cleaned = pc.replace_substring_regex(_with_nulls(values, loose), _INT_CLEAN, "")
    safe = _matches(cleaned, _INT_SAFE)
    typed = pc.cast(_with_nulls(cleaned, safe), pa.int64())
    wide = np.flatnonzero(loose & ~safe)
    if len(wide):  # Python's int knows where int64 ends
        numbers = _numpy(typed, 0).copy()
        for row, text in zip(wide.tolist(), _texts(cleaned, wide), strict=True):
            number = int(text)
            if -(2**63) <= number < 2**63:
                numbers[row] = number
                safe[row] = True
        typed = pa.array(numbers, type=pa.int64(), mask=~safe)
    return typed, safe


def _read_decimal(values: Any) -> tuple[Any, Mask]:
    try:
        typed = pc.cast(values, DECIMAL_TYPE)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass  # some cell is not a number, has too many decimals or is too large
    else:
        return typed, _numpy(typed.is_valid(), False)
    safe = _matches(values, _DEC_SAFE)
    typed = pc.cast(_with_nulls(values, safe), DECIMAL_TYPE)
    rest = np.flatnonzero(~safe & _numpy(values.is_valid(), False))
    if len(rest):
        return _patch(typed, safe, rest, _read_loose_decimal(_subset(values, rest)))
    return typed, safe


def _read_loose_decimal(values: Any) -> tuple[Any, Mask]:
    """Thousands separators in bulk; exponents, ".5" and the like through Python's Decimal."""
    cleaned = pc.replace_substring(_with_nulls(values, _matches(values, _DEC_LOOSE)), ",", "")
    safe = _matches(cleaned, _DEC_SAFE)
    typed = pc.cast(_with_nulls(cleaned, safe), DECIMAL_TYPE)
    rest = np.flatnonzero(~safe & _numpy(values.is_valid(), False))
    found = [
        (row, _decimal(text)) for row, text in zip(rest.tolist(), _texts(values, rest), strict=True)
    ]
    good = [(row, number) for row, number in found if isinstance(number, decimal.Decimal)]
    if not good:
        return typed, safe
    rows = np.array([row for row, _ in good], dtype=np.intp)
    numbers = pa.array([number for _, number in good], type=DECIMAL_TYPE)
    return _patch(typed, safe, rows, (numbers, np.ones(len(good), dtype=np.bool_)))


_QUANTUM = decimal.Decimal(1).scaleb(-DECIMAL_SCALE)
_DECIMAL_LIMIT = decimal.Decimal(10) ** (DECIMAL_PRECISION - DECIMAL_SCALE)
_DECIMAL_CHARS = frozenset("0123456789+-.,eE")
_WIDE = decimal.Context(prec=2 * DECIMAL_PRECISION)  # the default 28 digits are too few


def _decimal(text: str) -> decimal.Decimal | str:
    """A decimal within the stored type, or the message id that says why not."""
    # Python's Decimal also takes "1_000", "NaN", spaces and non-ASCII digits: not here.
    if not text or not _DECIMAL_CHARS.issuperset(text):
        return M_DECIMAL
    if "," in text and not _matches(pa.array([text]), _DEC_LOOSE)[0]:
        return M_DECIMAL
    try:
        number = decimal.Decimal(text.replace(",", ""))
    except decimal.InvalidOperation:
        return M_DECIMAL
    if not number.is_finite():
        return M_DECIMAL
    if abs(number) >= _DECIMAL_LIMIT:
        return M_DECIMAL_RANGE
    if number != number.quantize(_QUANTUM, rounding=decimal.ROUND_DOWN, context=_WIDE):
        return M_DECIMAL_SCALE
    return number


def _days(year: Any, month: Any, day: Any, ok: Mask) -> tuple[Any, Mask]:
    """Days since 1970-01-01 of real dates from year 1 to 9999, and which ones are real."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    ok = ok & (year >= 1) & (year <= 9999) & (month >= 1) & (month <= 12) & (day >= 1)
    ok &= day <= _DAYS_IN_MONTH[np.clip(month, 0, 12)]
    ok &= ~((month == 2) & (day == 29) & ~leap)
    # days_from_civil (H. Hinnant): integer arithmetic, no calendar objects.
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return (era * 146097 + doe - 719468).astype(np.int64), ok  # int64: seconds follow


def _digits(matrix: npt.NDArray[np.uint8], columns: Sequence[int]) -> tuple[Any, Mask]:
    """The number written in ``columns`` of each row, and whether they all are digits."""
    digits = matrix[:, columns].astype(np.int32) - 48
    ok = cast(Mask, ((digits >= 0) & (digits <= 9)).all(axis=1))
    number = np.zeros(len(matrix), dtype=np.int32)
    for j in range(len(columns)):
        number = number * 10 + digits[:, j]
    return number, ok


def _iso_days(matrix: npt.NDArray[np.uint8]) -> tuple[Any, Mask]:
    """Days of "YYYY-MM-DD" at the start of each row of a byte matrix."""
    year, ok_y = _digits(matrix, (0, 1, 2, 3))
    month, ok_m = _digits(matrix, (5, 6))
    day, ok_d = _digits(matrix, (8, 9))
    ok = ok_y & ok_m & ok_d & (matrix[:, 4] == ord("-")) & (matrix[:, 7] == ord("-"))
    return _days(year, month, day, ok)


def _date_parts(values: Any, pattern: str, names: Sequence[str]) -> tuple[dict[str, Any], Mask]:
    """Integer parts of what ``pattern`` matched (its alternatives' groups joined by name)."""
    parts = pc.extract_regex(values, pattern)
    matched = _numpy(parts.is_valid(), False)
    out: dict[str, Any] = {}
    for name in names:
        texts = [parts.field(n) for n in (name, "c" + name, "p" + name) if n in _GROUPS]
        joined = pc.binary_join_element_wise(*texts, "") if len(texts) > 1 else texts[0]
        filled = pc.if_else(pc.equal(joined, ""), "0", joined)
        out[name] = _numpy(pc.cast(filled, pa.int64()), 0)
    return out, matched


_GROUPS = frozenset(["y", "m", "d", "cm", "cd", "pm", "pd", "H", "M", "S"])


def _within_years(values: Any, per_day: int) -> bool:
    """Arrow reads years 0000 and below; Python's dates (and ours) start at year 1."""
    bounds = pc.min_max(values)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    return low is None or (low >= _MIN_DAY * per_day and high < (_MAX_DAY + 1) * per_day)


def _read_date(values: Any) -> tuple[Any, Mask]:
    try:
        typed = pc.cast(values, pa.date32())
    except pa.ArrowInvalid:
        pass  # some cell is no ISO date: ISO rows by numpy below, the rest by RE2
    else:
        if _within_years(typed.cast(pa.int32()), 1):
            return typed, _numpy(typed.is_valid(), False)
    days = np.zeros(len(values), dtype=np.int64)
    read = np.zeros(len(values), dtype=np.bool_)
    rows, matrix = _byte_matrix(values, 10)
    days[rows], read[rows] = _iso_days(matrix)
    rest = np.flatnonzero(~read & _numpy(values.is_valid(), False))
    if len(rest):
        parts, matched = _date_parts(_subset(values, rest), _DATE_PATTERN, ("y", "m", "d"))
        days[rest], read[rest] = _days(parts["y"], parts["m"], parts["d"], matched)
    return pa.array(days.astype(np.int32), type=pa.int32(), mask=~read).cast(pa.date32()), read


def _iso_seconds(matrix: npt.NDArray[np.uint8], seconds: bool) -> tuple[Any, Mask]:
    """Seconds of "YYYY-MM-DD HH:MM[:SS]" (space or T) in each row of a byte matrix."""
    days, ok = _iso_days(matrix)
    hour, ok_h = _digits(matrix, (11, 12))
    minute, ok_m = _digits(matrix, (14, 15))
    second, ok_s = _digits(matrix, (17, 18)) if seconds else (0, True)
    ok &= ok_h & ok_m & ok_s & ((matrix[:, 10] == ord(" ")) | (matrix[:, 10] == ord("T")))
    ok &= matrix[:, 13] == ord(":")
    if seconds:
        ok &= matrix[:, 16] == ord(":")
    ok &= (hour <= 23) & (minute <= 59) & (second <= 59)
    return days * 86400 + hour * 3600 + minute * 60 + second, ok


def _read_datetime(values: Any) -> tuple[Any, Mask]:
    try:
        typed = pc.cast(values, pa.timestamp("s"))
    except pa.ArrowInvalid:
        pass  # as for dates: ISO rows by numpy, the rest by RE2
    else:
        if _within_years(typed.cast(pa.int64()), 86400):
            return typed, _numpy(typed.is_valid(), False)
    seconds = np.zeros(len(values), dtype=np.int64)
    read = np.zeros(len(values), dtype=np.bool_)
    for width in (19, 16):
        rows, matrix = _byte_matrix(values, width)
        seconds[rows], read[rows] = _iso_seconds(matrix, seconds=width == 19)
    rest = np.flatnonzero(~read & _numpy(values.is_valid(), False))
    if len(rest):
        names = ("y", "m", "d", "H", "M", "S")
        parts, matched = _date_parts(_subset(values, rest), _DATETIME_PATTERN, names)
        days, ok = _days(parts["y"], parts["m"], parts["d"], matched)
        hour, minute, second = parts["H"], parts["M"], parts["S"]
        ok &= (hour <= 23) & (minute <= 59) & (second <= 59)
        seconds[rest] = days * 86400 + hour * 3600 + minute * 60 + second
        read[rest] = ok
    return pa.array(seconds, type=pa.int64(), mask=~read).cast(pa.timestamp("s")), read


def _read_boolean(values: Any) -> tuple[Any, Mask]:
    index = _numpy(pc.index_in(values, value_set=_BOOL_TOKEN_SET), len(_BOOL_TOKENS))
    ok = index < len(_BOOL_TOKENS)
    return pa.array(_BOOL_VALUES[index], type=pa.bool_(), mask=~ok), ok


def _read_text(values: Any) -> tuple[Any, Mask]:
    return values, _numpy(values.is_valid(), False)


_READERS: dict[FieldType, Callable[[Any], tuple[Any, Mask]]] = {
    FieldType.STRING: _read_text,
    FieldType.TEXT: _read_text,
    FieldType.INTEGER: _read_integer,
    FieldType.DECIMAL: _read_decimal,
    FieldType.DATE: _read_date,
    FieldType.DATETIME: _read_datetime,
    FieldType.BOOLEAN: _read_boolean,
}


def _read(data_type: FieldType, values: Any, present: Mask) -> tuple[Any, Mask]:
    """The typed column and the mask of present cells that could not be read.

    Cells the vectorised readers refuse are NFKC-normalised (full-width digits and
    punctuation become ASCII) and read once more.
    """
    reader = _READERS[data_type]
    typed, read = reader(values)
    bad = present & ~read
    if bad.any() and data_type not in (FieldType.STRING, FieldType.TEXT):
        rows = np.flatnonzero(bad)
        raw = _texts(values, rows)
        normal = [unicodedata.normalize("NFKC", text) for text in raw]
        changed = np.array([a != b for a, b in zip(raw, normal, strict=True)], dtype=np.bool_)
        if changed.any():
            retry = pa.array(
                [t for t, c in zip(normal, changed, strict=True) if c], type=pa.string()
            )
            retyped, reread = reader(retry)
            fixed_rows = rows[changed][reread]
            if len(fixed_rows):
                mask = np.zeros(len(values), dtype=np.bool_)
                mask[fixed_rows] = True
                typed = pc.replace_with_mask(
                    typed, pa.array(mask), retyped.filter(pa.array(reread))
                )
                bad[fixed_rows] = False
    return typed, bad


def _why_unreadable(data_type: FieldType, text: str) -> tuple[str, dict[str, Any]]:
    """The message for a cell no reader could read (Python: only failing cells get here)."""
    if data_type == FieldType.INTEGER:
        normal = unicodedata.normalize("NFKC", text)
        number = _decimal(normal)
        if isinstance(number, decimal.Decimal) and _matches(pa.array([normal]), _DEC_LOOSE)[0]:
            if number != number.to_integral_value():
                return M_INTEGER_FRACTION, {}
            return M_INTEGER_RANGE, {}
        return M_INTEGER, {}
    if data_type == FieldType.DECIMAL:
        reason = _decimal(unicodedata.normalize("NFKC", text))
        if reason == M_DECIMAL_SCALE:
            return M_DECIMAL_SCALE, {"scale": DECIMAL_SCALE}
        if reason == M_DECIMAL_RANGE:
            return M_DECIMAL_RANGE, {"digits": DECIMAL_PRECISION - DECIMAL_SCALE}
        return M_DECIMAL, {}
    return {
        FieldType.DATE: M_DATE,
        FieldType.DATETIME: M_DATETIME,
        FieldType.BOOLEAN: M_BOOLEAN,
    }[data_type], {}


# --- the rules of one field, prepared once ------------------------------------------------


@dataclass(frozen=True)
class _Rules:
    data_type: FieldType
    choices: Any  # pa.StringArray or None
    choices_text: str
    pattern: str | None
    minimum: Any  # a pa.Scalar of the field's type, or None
    maximum: Any


_IDENTIFIER_CHECKS: dict[IdentifierKind, Callable[..., ids.VectorCheck]] = {
    IdentifierKind.CITIZEN_ID: ids.citizen_id_check,
    IdentifierKind.CREDIT_CODE: ids.credit_code_check,
    IdentifierKind.MOBILE: ids.mobile_check,
    IdentifierKind.REGION_CODE: ids.region_code_check,
}
_SCALAR_CHECKS: dict[IdentifierKind, Callable[..., ids.CheckResult]] = {
    IdentifierKind.CITIZEN_ID: ids.check_citizen_id,
    IdentifierKind.CREDIT_CODE: ids.check_credit_code,
    IdentifierKind.MOBILE: ids.check_mobile,
    IdentifierKind.REGION_CODE: ids.check_region_code,
}
_ORDERED = (FieldType.INTEGER, FieldType.DECIMAL, FieldType.DATE, FieldType.DATETIME)


@functools.lru_cache(maxsize=1024)
def _rules(spec: FieldSpec) -> _Rules:
    data_type = FieldType(spec.data_type)
    choices = pa.array(list(spec.choices), type=pa.string()) if spec.choices else None
    shown = " / ".join(spec.choices[:CHOICES_SHOWN])
    if len(spec.choices) > CHOICES_SHOWN:
        shown += " / …"
    pattern = None
    if spec.pattern:
        pattern = f"^(?:{spec.pattern})$"
        try:
            pc.match_substring_regex(pa.array([""], type=pa.string()), pattern)
        except pa.ArrowInvalid:
            raise ValidationFailed(M_BAD_PATTERN, label=spec.label, pattern=spec.pattern) from None
    bounds: list[Any] = []
    for bound in (spec.minimum, spec.maximum):
        if bound is None or data_type not in _ORDERED:
            bounds.append(None)
            continue
        typed, bad = _read(data_type, pa.array([bound.strip()]), np.ones(1, dtype=np.bool_))
        if bad[0]:
            raise ValidationFailed(M_BAD_BOUND, label=spec.label, bound=bound)
        bounds.append(typed[0])
    return _Rules(data_type, choices, shown, pattern, bounds[0], bounds[1])


# --- the batch ----------------------------------------------------------------------------


class _Report:
    """Collects issues and error rows for one batch."""

    def __init__(self, n: int, row_numbers: npt.NDArray[np.int64]) -> None:
        self.rejected = np.zeros(n, dtype=np.bool_)
        self.row_numbers = row_numbers
        self.issues: list[tuple[int, int, CellIssue]] = []  # (row index, spec index, issue)

    def cells(
        self,
        position: int,
        spec: FieldSpec,
        mask: Mask,
        values: Any,
        message: str | Callable[[str], tuple[str, dict[str, Any]]],
        **params: Any,
    ) -> None:
        """One error per cell in ``mask``: a fixed message, or one chosen from the text."""
        if not mask.any():
            return
        self.rejected |= mask
        rows = np.flatnonzero(mask)
        for row, text in zip(rows.tolist(), _texts(values, rows), strict=True):
            if callable(message):
                msgid, extra = message(text)
            else:
                msgid, extra = message, {}
            self.add(row, position, spec, msgid, {"value": text, **params, **extra}, text)

    def add(
        self,
        row: int,
        position: int,
        spec: FieldSpec,
        message: str,
        params: dict[str, Any],
        value: str | None,
        severity: str = "error",
    ) -> None:
        issue = CellIssue(
            row=int(self.row_numbers[row]),
            column=spec.name,
            message=message,
            params={"label": spec.label, **params},
            value=value,
            severity=severity,
        )
        self.issues.append((row, position, issue))


def _identifier(
    report: _Report,
    position: int,
    spec: FieldSpec,
    kind: IdentifierKind,
    values: Any,
    present: Mask,
    today: dt.date | None,
) -> Any:
    """Run an identifier check; report its errors and warnings; return normalised values."""
    extra = {"today": today} if kind == IdentifierKind.CITIZEN_ID else {}
    result = _IDENTIFIER_CHECKS[kind](values, **extra)
    failed = present & ~result.valid
    noted = present & (failed | result.warnings)
    report.rejected |= failed
    rows = np.flatnonzero(noted)
    if len(rows):
        scalar = _SCALAR_CHECKS[kind]
        for row, text in zip(rows.tolist(), _texts(values, rows), strict=True):
            checked = scalar(text, **extra)
            for issue in checked.errors:
                report.add(row, position, spec, labelled(issue.message), issue.params, text)
            for issue in checked.warnings:
                report.add(
                    row, position, spec, labelled(issue.message), issue.params, text, "warning"
                )
    return result.values


def _column(
    report: _Report,
    position: int,
    spec: FieldSpec,
    values: Any,
    today: dt.date | None,
) -> Any:
    """Check one column; returns its typed values (rows in error are dropped later)."""
    rules = _rules(spec)
    lengths = _numpy(pc.binary_length(values), 0)
    present = lengths > 0
    if values.null_count != len(values) - int(present.sum()):
        values = _with_nulls(values, present)  # "" counts as empty
    if spec.required:
        report.cells(position, spec, ~present, values, M_REQUIRED)
    if not present.any():
        return pa.nulls(len(values), type=arrow_type(spec))

    typed, bad = _read(rules.data_type, values, present)
    report.cells(position, spec, bad, values, lambda text: _why_unreadable(rules.data_type, text))
    good = present & ~bad

    textual = rules.data_type in (FieldType.STRING, FieldType.TEXT)
    if textual and spec.identifier:
        typed = _identifier(
            report, position, spec, IdentifierKind(spec.identifier), values, good, today
        )
    if textual and spec.length is not None:
        stored = lengths if typed is values else _numpy(pc.binary_length(typed), 0)
        # More characters than the limit needs more bytes: most columns stop here.
        if stored.max() > spec.length:
            chars = _numpy(pc.utf8_length(typed), 0)
            report.cells(
                position,
                spec,
                good & (chars > spec.length),
                typed,
                lambda text: (M_TOO_LONG, {"actual": len(text)}),
                length=spec.length,
            )
    if rules.choices is not None:
        listed = _numpy(pc.is_in(values, value_set=rules.choices), False)
        report.cells(
            position, spec, good & ~listed, values, M_NOT_A_CHOICE, choices=rules.choices_text
        )
    if rules.pattern is not None:
        fits = _matches(values, rules.pattern)
        report.cells(position, spec, good & ~fits, values, M_PATTERN, pattern=spec.pattern)
    if rules.minimum is not None:
        below = _numpy(pc.less(typed, rules.minimum), False)
        report.cells(position, spec, good & below, values, M_BELOW_MINIMUM, minimum=spec.minimum)
    if rules.maximum is not None:
        above = _numpy(pc.greater(typed, rules.maximum), False)
        report.cells(position, spec, good & above, values, M_ABOVE_MAXIMUM, maximum=spec.maximum)
    return typed


def check_batch(
    batch: Any,
    row_numbers: Any,
    specs: Sequence[FieldSpec],
    mapping: Mapping[str, str],
    *,
    today: dt.date | None = None,
) -> CheckedBatch:
    """Validate and coerce one record batch of text columns against the catalog's fields.

    ``mapping`` maps a spec's name to the source column in ``batch``; a spec without a
    mapping reads as all empty. ``row_numbers`` are the source row numbers of the batch's
    rows (what a person sees in the file). ``today`` bounds birth dates in ID numbers
    (default: the date in China). Raises :class:`ValidationFailed` when a spec's own
    pattern or bounds are unusable or a mapped column is missing.
    """
    n = batch.num_rows
    if isinstance(row_numbers, pa.ChunkedArray):
        row_numbers = row_numbers.combine_chunks()
    numbers = np.asarray(_numpy(pa.array(row_numbers, type=pa.int64()), 0), dtype=np.int64)
    if len(numbers) != n:
        raise ValidationFailed(M_ROW_NUMBERS, numbers=len(numbers), rows=n)
    names = set(batch.schema.names)
    report = _Report(n, numbers)
    columns = []
    for position, spec in enumerate(specs):
        source = mapping.get(spec.name)
        if source is None:
            values = pa.nulls(n, type=pa.string())
        elif source not in names:
            raise ValidationFailed(M_NO_SOURCE_COLUMN, label=spec.label, column=source)
        else:
            values = batch.column(source)
            if not pa.types.is_string(values.type):
                values = values.cast(pa.string())
        columns.append(_column(report, position, spec, values, today))

    schema = arrow_schema(specs).append(pa.field(ROW_COLUMN, pa.int64(), nullable=False))
    columns.append(pa.array(numbers, type=pa.int64()))
    typed = pa.RecordBatch.from_arrays(columns, schema=schema)
    rejected = report.rejected
    if rejected.any():
        typed = typed.filter(pa.array(~rejected))
    report.issues.sort(key=lambda item: (item[0], item[1]))
    issues = [issue for _, _, issue in report.issues]
    return CheckedBatch(
        batch=typed,
        rejected_rows=sorted(numbers[rejected].tolist()),
        issues=issues,
        warnings=sum(1 for issue in issues if issue.severity == "warning"),
    )
