"""Checks of Chinese identifiers: the one module for check digits and formats.

Every check returns a frozen result carrying the normalised value, the parsed parts, and
``errors`` and ``warnings`` as :class:`Issue` objects (a Chinese message id plus its
params), so pages, the API, the CLI and bulk data validation all report the same words in
the reader's language. Nothing here touches the database or raises on bad input; the
``*_check_char`` and ``make_*`` helpers raise ``ValueError`` on malformed arguments because
they are meant for code, not for user input.

Rules implemented (see docs/identifiers.md):

Unified social credit code, GB 32100-2015 (统一社会信用代码), 18 characters
    registration authority (1) + entity type (1) + region code (6 digits, GB/T 2260) +
    organisation code (9, GB 11714) + check character (1). Alphabet
    ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (no I, O, Z, S, V); weights ``3^i mod 31``; check =
    alphabet[(31 − Σ mod 31) mod 31]. The authority may be a letter (A, N, Y). A failed
    GB 11714 check of the embedded organisation code, an unknown authority and an
    implausible province prefix are warnings only: real codes exist that break them.

Citizen identity number, GB 11643-1999 (公民身份号码), 18 characters
    area code (6) + birth date (8) + sequence (3, odd = male) + check character; weights
    ``2^(17−i) mod 11`` for i = 0…16, check = ``"10X98765432"[Σ mod 11]``. The province
    prefix must be a real one, the birth date real and not in the future. A lowercase ``x``
    is accepted and normalised. Legacy 15-digit numbers are converted by inserting "19"
    before the year and computing the check character (with a warning saying so).

Mainland mobile numbers
    ``^(\\+?86)?1[3-9]\\d{9}$`` after removing spaces and hyphens; normalised to 11 digits.

Region codes, GB/T 2260 (行政区划代码)
    six digits with a real province prefix; the level (province, city, county) follows
    from the trailing zeros.

Each check also exists in a vectorised form for bulk data (``citizen_id_check``,
``credit_code_check``, ``mobile_check``, ``region_code_check``): it takes a whole Arrow
string column and returns a :class:`VectorCheck` that says, row by row, what the scalar
check would say. The common shapes are decided with numpy over the UTF-8 bytes viewed as an
``(n, width)`` matrix (lookup tables for character values, a dot product for the weighted
sums); rows the fast path cannot decide (odd lengths, whitespace, non-ASCII) go through the
scalar check, which stays the reference.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.i18n import N_, Language, translate

__all__ = [
    "CREDIT_CODE_ALPHABET",
    "IDENTIFIER_CHECKS",
    "PROVINCE_CODES",
    "CheckResult",
    "CitizenIdResult",
    "CreditCodeResult",
    "Issue",
    "MobileResult",
    "RegionCodeResult",
    "VectorCheck",
    "check_citizen_id",
    "check_credit_code",
    "check_mobile",
    "check_organization_code",
    "check_region_code",
    "citizen_id_check",
    "citizen_id_check_char",
    "convert_legacy_citizen_id",
    "credit_code_check",
    "credit_code_check_char",
    "is_valid_citizen_id",
    "is_valid_credit_code",
    "make_credit_code",
    "mobile_check",
    "organization_code_check_char",
    "region_code_check",
]

# --- shared result types -------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """One problem found in an identifier: a Chinese message id and its ``{params}``."""

    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def localized(self, lang: Language | None = None) -> str:
        """The message in ``lang`` (default: the current request's language)."""
        return translate(self.message, lang, **self.params)

    def __str__(self) -> str:
        return self.message.format(**self.params) if self.params else self.message


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check. ``value`` is the normalised identifier ('' if unusable)."""

    value: str
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings do not make a value invalid)."""
        return not self.errors

    def messages(self, lang: Language | None = None) -> list[str]:
        """The errors as translated text, in order."""
        return [issue.localized(lang) for issue in self.errors]

    def warning_messages(self, lang: Language | None = None) -> list[str]:
        return [issue.localized(lang) for issue in self.warnings]


@dataclass(frozen=True)
class CreditCodeResult(CheckResult):
    """A checked unified social credit code and its parts (empty when the shape is wrong)."""

    registration_authority: str = ""
    entity_type: str = ""
    region_code: str = ""
    organization_code: str = ""


@dataclass(frozen=True)
class CitizenIdResult(CheckResult):
    """A checked citizen ID: birth date and sex are set when the number is usable."""

    region_code: str = ""
    birth_date: dt.date | None = None
    sex: Literal["male", "female"] | None = None
    converted_from: str = ""  # the 15-digit legacy number this one was converted from


@dataclass(frozen=True)
class MobileResult(CheckResult):
    """A checked mainland mobile number; ``value`` is the bare 11 digits."""


@dataclass(frozen=True)
class RegionCodeResult(CheckResult):
    """A checked GB/T 2260 code; ``level`` is province, city or county."""

    level: Literal["province", "city", "county"] | None = None


# --- tables --------------------------------------------------------------------------------

#: Province-level prefixes of GB/T 2260 (and of ID numbers): the real ones only.
_PROVINCE_RANGES = ((11, 15), (21, 23), (31, 37), (41, 46), (50, 54), (61, 65), (71, 71), (81, 82))
NATIONAL_REGION = "100000"
PROVINCE_CODES: frozenset[str] = frozenset(
    str(n) for low, high in _PROVINCE_RANGES for n in range(low, high + 1)
)

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CC_VALUE: dict[str, int] = {c: i for i, c in enumerate(CREDIT_CODE_ALPHABET)}
_CC_WEIGHTS: tuple[int, ...] = tuple(pow(3, i, 31) for i in range(17))
#: Registration authorities of GB 32100 and its later assignments (机构编制, 外交, 司法行政,
#: 文化, 民政, 旅游, 宗教, 工会, 工商/市场监管, 中央军委改革和编制办公室, 农业, 其他).
_CC_AUTHORITIES = frozenset("123456789ANY")

_ORG_WEIGHTS: tuple[int, ...] = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ORG_VALUE: dict[str, int] = {c: i for i, c in enumerate(_ORG_CHARS)}

_ID_WEIGHTS: tuple[int, ...] = tuple(pow(2, 17 - i, 11) for i in range(17))
_ID_CHECK = "10X98765432"

_MOBILE_RE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")
_SEPARATORS_RE = re.compile(r"[\s\-]+")
_DIGITS6_RE = re.compile(r"^\d{6}$")

# --- messages (Chinese message ids; English in gongshu/locale/en/orgs.po) -----------------

M_CC_EMPTY = N_("统一社会信用代码不能为空")
M_CC_LENGTH = N_("统一社会信用代码应为 18 位，实为 {length} 位")
M_CC_CHAR = N_("统一社会信用代码第 {position} 位“{char}”不是允许的字符（不使用 I、O、Z、S、V）")
M_CC_REGION = N_("统一社会信用代码第 3–8 位（登记管理机关行政区划码）应为 6 位数字")
M_CC_CHECK = N_("统一社会信用代码校验位错误：按前 17 位计算应为“{expected}”，实为“{actual}”")
M_CC_AUTHORITY = N_("统一社会信用代码的登记管理部门代码“{char}”不在已知代码之列")
M_CC_PROVINCE = N_("统一社会信用代码中的行政区划码“{code}”不是有效的省级代码")
M_ORG_CHECK = N_("组织机构代码“{code}”的校验位应为“{expected}”，实为“{actual}”")
M_ORG_FORMAT = N_("组织机构代码应为 8 位本体代码加 1 位校验码")

M_ID_EMPTY = N_("身份证号不能为空")
M_ID_LENGTH = N_("身份证号应为 18 位（或 15 位旧号码），实为 {length} 位")
M_ID_DIGITS = N_("身份证号前 17 位应全部为数字")
M_ID_DIGITS15 = N_("15 位旧身份证号应全部为数字")
M_ID_LAST = N_("身份证号第 18 位应为数字或 X")
M_ID_CHECK = N_("身份证号校验位错误：按前 17 位计算应为“{expected}”，实为“{actual}”")
M_ID_PROVINCE = N_("身份证号的省级行政区划代码“{code}”不存在")
M_ID_DATE = N_("身份证号中的出生日期“{date}”不是有效日期")
M_ID_FUTURE = N_("身份证号中的出生日期“{date}”晚于今天")
M_ID_AREA = N_("身份证号的行政区划代码“{code}”不在已知代码表中")
M_ID_CONVERTED = N_("15 位旧身份证号已转换为 18 位：{value}")

M_MOBILE_EMPTY = N_("手机号不能为空")
M_MOBILE_FORMAT = N_("手机号格式不正确，应为 11 位中国大陆手机号（1 开头，第二位 3–9）")

M_REGION_EMPTY = N_("行政区划代码不能为空")
M_REGION_FORMAT = N_("行政区划代码应为 6 位数字")
M_REGION_PROVINCE = N_("行政区划代码的省级代码“{code}”不存在")


def _issue(message: str, **params: Any) -> Issue:
    return Issue(message, params)


# --- organisation code, GB 11714 ----------------------------------------------------------


def organization_code_check_char(first8: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body."""
    body = first8.upper()
    if len(body) != 8 or any(c not in _ORG_VALUE for c in body):
        raise ValueError("an organisation code body is 8 digits or upper-case letters")
    total = 0
    for char, weight in zip(body, _ORG_WEIGHTS, strict=True):
        total += _ORG_VALUE[char] * weight
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def check_organization_code(value: str) -> CheckResult:
    """Check a 9-character organisation code (hyphen before the check char allowed)."""
    code = value.strip().upper().replace("-", "")
    if len(code) != 9 or any(c not in _ORG_VALUE for c in code[:8]):
        return CheckResult(code, errors=(_issue(M_ORG_FORMAT),))
    expected = organization_code_check_char(code[:8])
    if code[8] != expected:
        return CheckResult(
            code, errors=(_issue(M_ORG_CHECK, code=code, expected=expected, actual=code[8]),)
        )
    return CheckResult(code)


# --- unified social credit code, GB 32100 -------------------------------------------------


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a credit code."""
    body = first17.upper()
    if len(body) != 17:
        raise ValueError("a credit code body is 17 characters")
    total = 0
    for char, weight in zip(body, _CC_WEIGHTS, strict=True):
        value = _CC_VALUE.get(char)
        if value is None:
            raise ValueError(f"{char!r} is not in the credit code alphabet")
        total += value * weight
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def make_credit_code(first17: str) -> str:
    """A complete credit code: the 17 given characters plus their check character."""
    return first17.upper() + credit_code_check_char(first17)


def check_credit_code(value: str) -> CreditCodeResult:
    """Check a unified social credit code; upper-cases and strips it first."""
    code = value.strip().upper()
    if not code:
        return CreditCodeResult("", errors=(_issue(M_CC_EMPTY),))
    if len(code) != 18:
        return CreditCodeResult(code, errors=(_issue(M_CC_LENGTH, length=len(code)),))
    errors: list[Issue] = []
    for position, char in enumerate(code, start=1):
        if char not in _CC_VALUE:
            errors.append(_issue(M_CC_CHAR, position=position, char=char))
    if errors:
        return CreditCodeResult(code, errors=tuple(errors))
    region = code[2:8]
    if not region.isdigit():
        errors.append(_issue(M_CC_REGION))
    expected = credit_code_check_char(code[:17])
    if code[17] != expected:
        errors.append(_issue(M_CC_CHECK, expected=expected, actual=code[17]))
    warnings: list[Issue] = []
    if code[0] not in _CC_AUTHORITIES:
        warnings.append(_issue(M_CC_AUTHORITY, char=code[0]))
    # Central-level bodies are registered under 100000 (national), not a province.
    if region.isdigit() and region != NATIONAL_REGION and region[:2] not in PROVINCE_CODES:
        warnings.append(_issue(M_CC_PROVINCE, code=region))
    org = code[8:17]
    org_expected = organization_code_check_char(org[:8])
    if org[8] != org_expected:
        warnings.append(_issue(M_ORG_CHECK, code=org, expected=org_expected, actual=org[8]))
    return CreditCodeResult(
        code,
        errors=tuple(errors),
        warnings=tuple(warnings),
        registration_authority=code[0],
        entity_type=code[1],
        region_code=region,
        organization_code=org,
    )


def is_valid_credit_code(value: str) -> bool:
    return check_credit_code(value).ok


# --- citizen identity number, GB 11643 ----------------------------------------------------


def citizen_id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits of an ID number."""
    if len(first17) != 17 or not first17.isdigit() or not first17.isascii():
        raise ValueError("an ID number body is 17 digits")
    total = 0
    for char, weight in zip(first17, _ID_WEIGHTS, strict=True):
        total += (ord(char) - 48) * weight
    return _ID_CHECK[total % 11]


def convert_legacy_citizen_id(id15: str) -> str:
    """The 18-character form of a 15-digit ID: "19" before the year, plus the check char."""
    if len(id15) != 15 or not id15.isdigit() or not id15.isascii():
        raise ValueError("a legacy ID number is 15 digits")
    body = id15[:6] + "19" + id15[6:]
    return body + citizen_id_check_char(body)


def check_citizen_id(
    value: str,
    *,
    today: dt.date | None = None,
    known_areas: Container[str] | None = None,
) -> CitizenIdResult:
    """Check a citizen ID (18 characters, or a legacy 15-digit one, which is converted).

    ``today`` bounds the birth date (default: the date in China); ``known_areas``, when
    given, is a set of GB/T 2260 codes: an area code outside it is a warning, not an error,
    because ID numbers keep the code of their first registration.
    """
    number = value.strip().upper()
    if not number:
        return CitizenIdResult("", errors=(_issue(M_ID_EMPTY),))
    warnings: list[Issue] = []
    converted_from = ""
    if len(number) == 15:
        if not number.isdigit() or not number.isascii():
            return CitizenIdResult(number, errors=(_issue(M_ID_DIGITS15),))
        converted_from = number
        number = convert_legacy_citizen_id(number)
        warnings.append(_issue(M_ID_CONVERTED, value=number))
    elif len(number) != 18:
        return CitizenIdResult(number, errors=(_issue(M_ID_LENGTH, length=len(number)),))
    body, last = number[:17], number[17]
    if not body.isdigit() or not body.isascii():
        return CitizenIdResult(number, errors=(_issue(M_ID_DIGITS),))
    if last not in "0123456789X":
        return CitizenIdResult(number, errors=(_issue(M_ID_LAST),))
    errors: list[Issue] = []
    expected = citizen_id_check_char(body)
    if last != expected:
        errors.append(_issue(M_ID_CHECK, expected=expected, actual=last))
    area = number[:6]
    if area[:2] not in PROVINCE_CODES:
        errors.append(_issue(M_ID_PROVINCE, code=area[:2]))
    elif known_areas is not None and area not in known_areas:
        warnings.append(_issue(M_ID_AREA, code=area))
    birth: dt.date | None = None
    date_text = number[6:14]
    try:
        birth = dt.date(int(date_text[:4]), int(date_text[4:6]), int(date_text[6:8]))
    except ValueError:
        errors.append(_issue(M_ID_DATE, date=date_text))
    if birth is not None:
        limit = today or _today_in_china()
        if birth > limit:
            errors.append(_issue(M_ID_FUTURE, date=birth.isoformat()))
            birth = None
    sex: Literal["male", "female"] = "male" if (ord(number[16]) - 48) % 2 else "female"
    return CitizenIdResult(
        number,
        errors=tuple(errors),
        warnings=tuple(warnings),
        region_code=area,
        birth_date=birth if not errors else None,
        sex=sex if not errors else None,
        converted_from=converted_from,
    )


def is_valid_citizen_id(value: str, *, today: dt.date | None = None) -> bool:
    return check_citizen_id(value, today=today).ok


def _today_in_china() -> dt.date:
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()


# --- mobile numbers -----------------------------------------------------------------------


def check_mobile(value: str) -> MobileResult:
    """Check a mainland mobile number; spaces, hyphens and a +86/86 prefix are allowed."""
    compact = _SEPARATORS_RE.sub("", value)
    if not compact:
        return MobileResult("", errors=(_issue(M_MOBILE_EMPTY),))
    match = _MOBILE_RE.match(compact)
    if match is None or not compact.isascii():
        return MobileResult(compact, errors=(_issue(M_MOBILE_FORMAT),))
    return MobileResult(match.group(1))


# --- region codes, GB/T 2260 --------------------------------------------------------------


def check_region_code(value: str) -> RegionCodeResult:
    """Check the format of a GB/T 2260 code and tell its level from the trailing zeros."""
    code = value.strip()
    if not code:
        return RegionCodeResult("", errors=(_issue(M_REGION_EMPTY),))
    if not _DIGITS6_RE.match(code) or not code.isascii():
        return RegionCodeResult(code, errors=(_issue(M_REGION_FORMAT),))
    if code[:2] not in PROVINCE_CODES:
        return RegionCodeResult(code, errors=(_issue(M_REGION_PROVINCE, code=code[:2]),))
    level: Literal["province", "city", "county"]
    if code.endswith("0000"):
        level = "province"
    elif code.endswith("00"):
        level = "city"
    else:
        level = "county"
    return RegionCodeResult(code, level=level)


# --- vectorised checks over whole Arrow columns -------------------------------------------


@dataclass(frozen=True)
class VectorCheck:
    """The outcome of a check over a column, row by row.

    ``valid[i]`` is what the scalar check's ``ok`` says of ``values[i]`` (a null counts as an
    empty string, so it is invalid); ``warnings[i]`` whether the scalar check reports a
    warning; ``values`` holds the normalised identifier where valid and the input elsewhere.
    """

    valid: npt.NDArray[np.bool_]
    values: Any  # pa.StringArray, as long as the input
    warnings: npt.NDArray[np.bool_]


def _byte_table(chars: str, values: Any = None, *, fill: int = 255) -> npt.NDArray[np.uint8]:
    """A 256-entry lookup table from a byte to ``values[i]`` for ``chars[i]`` (else fill)."""
    table = np.full(256, fill, dtype=np.uint8)
    for i, char in enumerate(chars):
        table[ord(char)] = i if values is None else values[i]
    return table


# Bytes that can be decided on without the scalar check: printable ASCII, no whitespace
# (scalar checks strip and upper-case; neither changes such bytes except a-z).
_PRINTABLE = np.zeros(256, dtype=np.bool_)
_PRINTABLE[0x21:0x7F] = True
_UPPER_BYTES = np.arange(256, dtype=np.uint8)
_UPPER_BYTES[ord("a") : ord("z") + 1] -= 32

_PROVINCE_TABLE = np.zeros(100, dtype=np.bool_)
_PROVINCE_TABLE[[int(code) for code in PROVINCE_CODES]] = True
_DAYS_IN_MONTH = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)

_ID_WEIGHT_VECTOR = np.array(_ID_WEIGHTS, dtype=np.uint16)
_ID_CHECK_BYTES = np.frombuffer(_ID_CHECK.encode(), dtype=np.uint8)
_ID_CHECK_VALUES = np.array([10 if c == "X" else int(c) for c in _ID_CHECK], dtype=np.uint8)
_ID_LAST_VALUE = _byte_table("0123456789Xx", [*range(11), 10])

_CC_TABLE = _byte_table(
    CREDIT_CODE_ALPHABET + CREDIT_CODE_ALPHABET[10:].lower(),
    list(range(31)) + list(range(10, 31)),
)
_CC_WEIGHT_VECTOR = np.array(_CC_WEIGHTS, dtype=np.uint16)
_CC_AUTHORITY_TABLE = np.zeros(256, dtype=np.bool_)
_CC_AUTHORITY_TABLE[[ord(c) for c in _CC_AUTHORITIES]] = True
_CC_AUTHORITY_TABLE[[ord(c.lower()) for c in _CC_AUTHORITIES]] = True
_CC_NATIONAL = np.array([int(c) for c in NATIONAL_REGION], dtype=np.uint8)
_ORG_TABLE = _byte_table(
    _ORG_CHARS + _ORG_CHARS[10:].lower(), list(range(36)) + list(range(10, 36))
)
_ORG_WEIGHT_VECTOR = np.array(_ORG_WEIGHTS, dtype=np.uint16)
# Indexed by Σ mod 11: check = 11 − r, where 10 is written X and 11 is written 0.
_ORG_CHECK_BYTES = np.array(
    [ord("0"), ord("X")] + [ord(str(11 - r)) for r in range(2, 11)], dtype=np.uint8
)

_MOBILE_SEPARATORS = r"[\t\n\x0b\x0c\r\x1c-\x1f -]+"  # Python's ASCII \s, plus the hyphen
_MOBILE_PATTERN = r"^(?:\+?86)?1[3-9][0-9]{9}$"


def _as_strings(values: Any) -> Any:
    """One contiguous ``pa.string()`` array from an Arrow array or chunked array."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    return values


def _all_rows(matrix: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Per row: are all of its cells true."""
    return cast(npt.NDArray[np.bool_], matrix.all(axis=1))


def _byte_lengths(values: Any) -> npt.NDArray[np.int32]:
    """The UTF-8 length of every value; -1 for nulls."""
    lengths: npt.NDArray[np.int32] = (
        pc.binary_length(values).fill_null(-1).to_numpy(zero_copy_only=False)
    )
    return lengths


def _matrix(values: Any, rows: npt.NDArray[np.intp], width: int) -> npt.NDArray[np.uint8]:
    """The bytes of ``values[rows]``, each exactly ``width`` bytes long, as a (k, width) view."""
    subset = values if len(rows) == len(values) else values.take(pa.array(rows))
    k = len(subset)
    if k == 0:
        return np.empty((0, width), dtype=np.uint8)
    offsets = np.frombuffer(
        subset.buffers()[1], dtype=np.int32, count=k + 1, offset=subset.offset * 4
    )
    data = np.frombuffer(subset.buffers()[2], dtype=np.uint8)
    start = int(offsets[0])
    return data[start : start + width * k].reshape(k, width)


def _strings(matrix: npt.NDArray[np.uint8]) -> Any:
    """A string array whose values are the rows of an ASCII byte matrix."""
    k, width = matrix.shape
    offsets = np.arange(k + 1, dtype=np.int32) * width
    data = np.ascontiguousarray(matrix).tobytes()
    return pa.Array.from_buffers(pa.string(), k, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


class _Outcome:
    """Collects what one vectorised check found, then builds the :class:`VectorCheck`."""

    def __init__(self, values: Any) -> None:
        self.input = values
        self.valid = np.zeros(len(values), dtype=np.bool_)
        self.warnings = np.zeros(len(values), dtype=np.bool_)
        self._rows: list[npt.NDArray[np.intp]] = []
        self._replacements: list[Any] = []

    def replace(self, rows: npt.NDArray[np.intp], strings: Any) -> None:
        if len(rows):
            self._rows.append(rows)
            self._replacements.append(strings)

    def scalar(self, rows: npt.NDArray[np.intp], check: Callable[[str], CheckResult]) -> None:
        """Decide ``rows`` with the scalar check (the fast path could not)."""
        if not len(rows):
            return
        fixed_rows: list[int] = []
        fixed: list[str] = []
        for row, text in zip(
            rows.tolist(),
            self.input.take(pa.array(rows)).to_numpy(zero_copy_only=False).tolist(),
            strict=True,
        ):
            result = check(text)
            self.valid[row] = result.ok
            self.warnings[row] = bool(result.warnings)
            if result.ok and result.value != text:
                fixed_rows.append(row)
                fixed.append(result.value)
        self.replace(np.array(fixed_rows, dtype=np.intp), pa.array(fixed, type=pa.string()))

    def result(self) -> VectorCheck:
        values = self.input
        if self._rows:
            rows = np.concatenate(self._rows)
            order = np.argsort(rows, kind="stable")
            replacements = pa.concat_arrays(self._replacements).take(pa.array(order))
            mask = np.zeros(len(values), dtype=np.bool_)
            mask[rows] = True
            values = pc.replace_with_mask(values, pa.array(mask), replacements)
        return VectorCheck(valid=self.valid, values=values, warnings=self.warnings)


def _undecided(
    matrix: npt.NDArray[np.uint8], rejected: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """Rejected rows holding a byte the fast path does not judge (whitespace, non-ASCII)."""
    out = np.zeros(len(matrix), dtype=np.bool_)
    if rejected.any():
        out[rejected] = ~_PRINTABLE[matrix[rejected]].all(axis=1)
    return out


def _today_number(today: dt.date | None) -> int:
    day = today or _today_in_china()
    return day.year * 10000 + day.month * 100 + day.day


_CHUNK_ROWS = 65536  # a chunk's temporaries stay in the CPU cache: about 1.5x faster


def _by_chunks(
    kernel: Callable[..., tuple[npt.NDArray[Any], ...]], matrix: npt.NDArray[np.uint8], *args: Any
) -> tuple[npt.NDArray[Any], ...]:
    """``kernel(matrix, *args)`` over row chunks, the outputs concatenated."""
    if len(matrix) <= _CHUNK_ROWS:
        return kernel(matrix, *args)
    parts = [kernel(matrix[i : i + _CHUNK_ROWS], *args) for i in range(0, len(matrix), _CHUNK_ROWS)]
    return tuple(np.concatenate(outputs) for outputs in zip(*parts, strict=True))


def _rows_within(values: npt.NDArray[np.uint8], limit: int) -> npt.NDArray[np.bool_]:
    """Per row: are all values at most ``limit`` (one flat test first: usually they are)."""
    if values.max(initial=0) <= limit:
        return np.ones(len(values), dtype=np.bool_)
    return _all_rows(values <= limit)


def _weighted_sum(
    values: npt.NDArray[np.uint8], weights: npt.NDArray[np.uint16]
) -> npt.NDArray[np.uint16]:
    """Σ values[:, j] × weights[j] per row, in uint16 (exact for every valid identifier).

    A column loop rather than a matrix product: BLAS threads fight over the two cores of a
    shared machine and made the product 3 to 20 times slower from one call to the next.
    Rows holding bytes out of range may wrap round; they are rejected anyway.
    """
    total: npt.NDArray[np.uint16] = values[:, 0] * weights[0]
    for j in range(1, len(weights)):
        total += values[:, j] * weights[j]
    return total


def _citizen_id_sums(digits: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint16]:
    return _weighted_sum(digits, _ID_WEIGHT_VECTOR) % np.uint16(11)


def _citizen_id_kernel(matrix: npt.NDArray[np.uint8], today: int) -> tuple[npt.NDArray[Any], ...]:
    """GB 11643 over an (n, 18) byte matrix: digits, check char, province, real past date."""
    digits = matrix[:, :17] - np.uint8(48)  # non-digits wrap round to values above 9
    ok = _rows_within(digits, 9)
    ok &= _ID_CHECK_VALUES[_citizen_id_sums(digits)] == _ID_LAST_VALUE[matrix[:, 17]]
    d = digits[:, [0, 1, 6, 7, 8, 9, 10, 11, 12, 13]].astype(np.int32)
    ok &= _PROVINCE_TABLE[np.minimum(d[:, 0] * 10 + d[:, 1], 99)]
    year = d[:, 2] * 1000 + d[:, 3] * 100 + d[:, 4] * 10 + d[:, 5]
    month = d[:, 6] * 10 + d[:, 7]
    day = d[:, 8] * 10 + d[:, 9]
    ok &= (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1)
    ok &= day <= _DAYS_IN_MONTH[np.clip(month, 0, 12)]
    feb29 = (month == 2) & (day == 29)
    if feb29.any():
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        ok &= ~(feb29 & ~leap)
    ok &= year * 10000 + month * 100 + day <= today
    return (ok,)


def _citizen_id_valid(matrix: npt.NDArray[np.uint8], today: int) -> npt.NDArray[np.bool_]:
    return _by_chunks(_citizen_id_kernel, matrix, today)[0]


def citizen_id_check(values: Any, *, today: dt.date | None = None) -> VectorCheck:
    """:func:`check_citizen_id` over a column: 18-character and legacy 15-digit numbers.

    Normalised values upper-case a final ``x`` and convert 15-digit numbers to 18 (those
    rows carry a warning, as in the scalar check).
    """
    values = _as_strings(values)
    out = _Outcome(values)
    lengths = _byte_lengths(values)
    limit = _today_number(today)

    rows = np.flatnonzero(lengths == 18)
    matrix = _matrix(values, rows, 18)
    valid = _citizen_id_valid(matrix, limit)
    undecided = _undecided(matrix, ~valid)
    out.valid[rows] = valid
    lower_x = valid & (matrix[:, 17] == ord("x"))
    if lower_x.any():
        fixed = matrix[lower_x].copy()
        fixed[:, 17] = ord("X")
        out.replace(rows[lower_x], _strings(fixed))
    scalar_rows = [rows[undecided]]

    rows = np.flatnonzero(lengths == 15)
    legacy = _matrix(values, rows, 15)
    all_digits = _all_rows((legacy - np.uint8(48)) <= 9)
    scalar_rows.append(rows[_undecided(legacy, ~all_digits)])
    rows, legacy = rows[all_digits], legacy[all_digits]
    converted = np.empty((len(rows), 18), dtype=np.uint8)
    converted[:, :6] = legacy[:, :6]
    converted[:, 6:8] = (ord("1"), ord("9"))
    converted[:, 8:17] = legacy[:, 6:]
    converted[:, 17] = _ID_CHECK_BYTES[_citizen_id_sums(converted[:, :17] - np.uint8(48))]
    valid = _citizen_id_valid(converted, limit)
    out.valid[rows] = valid
    out.warnings[rows] = True
    out.replace(rows[valid], _strings(converted[valid]))

    scalar_rows.append(np.flatnonzero((lengths >= 0) & (lengths != 18) & (lengths != 15)))
    out.scalar(np.concatenate(scalar_rows), lambda text: check_citizen_id(text, today=today))
    return out.result()


def _credit_code_kernel(matrix: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[Any], ...]:
    """GB 32100 over an (n, 18) byte matrix: (valid, all chars allowed, has a warning)."""
    codes = _CC_TABLE[matrix]
    chars_ok = _rows_within(codes, 30)
    region = codes[:, 2:8]
    region_digits = _rows_within(region, 9)
    expected = (31 - _weighted_sum(codes, _CC_WEIGHT_VECTOR) % np.uint16(31)) % np.uint16(31)
    valid = chars_ok & region_digits & (expected == codes[:, 17])

    authority_unknown = ~_CC_AUTHORITY_TABLE[matrix[:, 0]]
    province = np.minimum(region[:, 0].astype(np.int32) * 10 + region[:, 1], 99)
    province_unknown = region_digits & ~_PROVINCE_TABLE[province]
    if province_unknown.any():
        # Central bodies are registered under 100000, which is no province.
        rows = np.flatnonzero(province_unknown)
        province_unknown[rows] = ~_all_rows(region[rows] == _CC_NATIONAL)
    org = _weighted_sum(_ORG_TABLE[matrix[:, 8:16]], _ORG_WEIGHT_VECTOR) % np.uint16(11)
    org_wrong = _ORG_CHECK_BYTES[org] != _UPPER_BYTES[matrix[:, 16]]
    return valid, chars_ok, chars_ok & (authority_unknown | province_unknown | org_wrong)


def credit_code_check(values: Any) -> VectorCheck:
    """:func:`check_credit_code` over a column; normalised values are upper-case."""
    values = _as_strings(values)
    out = _Outcome(values)
    lengths = _byte_lengths(values)
    rows = np.flatnonzero(lengths == 18)
    matrix = _matrix(values, rows, 18)
    valid, chars_ok, warnings = _by_chunks(_credit_code_kernel, matrix)
    out.valid[rows] = valid
    out.warnings[rows] = warnings

    lower = np.zeros(len(rows), dtype=np.bool_)
    if len(rows) and matrix.max() >= ord("a"):
        lower = valid & (matrix >= ord("a")).any(axis=1)
    if lower.any():
        out.replace(rows[lower], _strings(_UPPER_BYTES[matrix[lower]]))
    undecided = _undecided(matrix, ~chars_ok)
    out.warnings[rows[undecided]] = False
    out.scalar(
        np.concatenate([rows[undecided], np.flatnonzero((lengths >= 0) & (lengths != 18))]),
        check_credit_code,
    )
    return out.result()


def mobile_check(values: Any) -> VectorCheck:
    """:func:`check_mobile` over a column; normalised values are the bare 11 digits."""
    values = _as_strings(values)
    out = _Outcome(values)
    lengths = _byte_lengths(values)
    rows = np.flatnonzero(lengths == 11)
    digits = _matrix(values, rows, 11) - np.uint8(48)
    all_digits = _all_rows(digits <= 9)
    out.valid[rows] = all_digits & (digits[:, 0] == 1) & (digits[:, 1] >= 3)
    # Separators (spaces, hyphens, +86): compacted with RE2 where the text is ASCII.
    other = np.concatenate([rows[~all_digits], np.flatnonzero((lengths >= 0) & (lengths != 11))])
    other.sort()
    if len(other):
        subset = values.take(pa.array(other))
        ascii_text = pc.string_is_ascii(subset).to_numpy(zero_copy_only=False)
        compact = pc.replace_substring_regex(subset, _MOBILE_SEPARATORS, "")
        matched = pc.match_substring_regex(compact, _MOBILE_PATTERN).to_numpy(zero_copy_only=False)
        matched &= ascii_text
        out.valid[other[matched]] = True
        bare = pc.utf8_slice_codeunits(compact.filter(pa.array(matched)), -11)
        out.replace(other[matched], bare)
        out.scalar(other[~ascii_text], check_mobile)
    return out.result()


def region_code_check(values: Any) -> VectorCheck:
    """:func:`check_region_code` over a column (six ASCII digits, a real province)."""
    values = _as_strings(values)
    out = _Outcome(values)
    lengths = _byte_lengths(values)
    rows = np.flatnonzero(lengths == 6)
    matrix = _matrix(values, rows, 6)
    digits = matrix - np.uint8(48)
    all_digits = _all_rows(digits <= 9)
    province = np.minimum(digits[:, 0].astype(np.int32) * 10 + digits[:, 1], 99)
    out.valid[rows] = all_digits & _PROVINCE_TABLE[province]
    undecided = _undecided(matrix, ~all_digits)
    out.scalar(
        np.concatenate([rows[undecided], np.flatnonzero((lengths >= 0) & (lengths != 6))]),
        check_region_code,
    )
    return out.result()


# The scalar check for each identifier kind a catalog field can carry (its ``identifier``).
IDENTIFIER_CHECKS: dict[str, Callable[[str], CheckResult]] = {
    "citizen_id": check_citizen_id,
    "credit_code": check_credit_code,
    "mobile": check_mobile,
    "region_code": check_region_code,
}
