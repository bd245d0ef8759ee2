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
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any, Literal

from gongshu.i18n import N_, Language, translate

__all__ = [
    "CREDIT_CODE_ALPHABET",
    "PROVINCE_CODES",
    "CheckResult",
    "CitizenIdResult",
    "CreditCodeResult",
    "Issue",
    "MobileResult",
    "RegionCodeResult",
    "check_citizen_id",
    "check_credit_code",
    "check_mobile",
    "check_organization_code",
    "check_region_code",
    "citizen_id_check_char",
    "convert_legacy_citizen_id",
    "credit_code_check_char",
    "is_valid_citizen_id",
    "is_valid_credit_code",
    "make_credit_code",
    "organization_code_check_char",
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
