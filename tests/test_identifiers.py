"""Identifier checks: the vectors of the standards, vectors built here, every error path."""

from __future__ import annotations

import datetime as dt

import pytest

from gongshu import identifiers as ids
from gongshu.identifiers import (
    check_citizen_id,
    check_credit_code,
    check_mobile,
    check_organization_code,
    check_region_code,
    citizen_id_check_char,
    convert_legacy_citizen_id,
    credit_code_check_char,
    make_credit_code,
    organization_code_check_char,
)

STANDARD_CREDIT_CODE = "91110000600037341L"
STANDARD_ID = "11010519491231002X"
TODAY = dt.date(2026, 1, 15)


def messages(issues: tuple[ids.Issue, ...]) -> list[str]:
    return [issue.message for issue in issues]


# --- unified social credit code ------------------------------------------------------------


def test_standard_credit_code_is_valid_with_its_parts() -> None:
    result = check_credit_code(STANDARD_CREDIT_CODE)
    assert result.ok and not result.warnings
    assert result.value == STANDARD_CREDIT_CODE
    assert result.registration_authority == "9"
    assert result.entity_type == "1"
    assert result.region_code == "110000"
    assert result.organization_code == "600037341"
    assert ids.is_valid_credit_code(STANDARD_CREDIT_CODE)


def test_credit_code_is_normalised_to_upper_case_and_stripped() -> None:
    result = check_credit_code("  91110000600037341l ")
    assert result.ok
    assert result.value == STANDARD_CREDIT_CODE


def test_check_char_and_make_credit_code() -> None:
    assert credit_code_check_char(STANDARD_CREDIT_CODE[:17]) == "L"
    assert make_credit_code(STANDARD_CREDIT_CODE[:17]) == STANDARD_CREDIT_CODE
    assert make_credit_code("91110000600037341") == STANDARD_CREDIT_CODE
    # The factories build codes this way; they must all pass.
    for n in (1, 2, 99, 1234567):
        assert check_credit_code(make_credit_code(f"11371300MB{n:07d}")).ok


def test_weights_are_powers_of_three_mod_31() -> None:
    assert ids._CC_WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@pytest.mark.parametrize("body", ["9111000060003734", "911100006000373411", ""])
def test_check_char_refuses_wrong_length(body: str) -> None:
    with pytest.raises(ValueError):
        credit_code_check_char(body)


def test_check_char_refuses_chars_outside_the_alphabet() -> None:
    with pytest.raises(ValueError):
        credit_code_check_char("9111000060003734I")


def test_wrong_check_char_names_the_expected_one() -> None:
    result = check_credit_code("91110000600037341A")
    assert not result.ok
    (issue,) = result.errors
    assert issue.message == ids.M_CC_CHECK
    assert issue.params == {"expected": "L", "actual": "A"}
    assert "“L”" in str(issue)
    assert str(issue).startswith("统一社会信用代码校验位错误")


def test_empty_credit_code() -> None:
    assert messages(check_credit_code("   ").errors) == [ids.M_CC_EMPTY]


@pytest.mark.parametrize("value", ["91110000600037341", "91110000600037341LL"])
def test_credit_code_of_wrong_length(value: str) -> None:
    result = check_credit_code(value)
    assert messages(result.errors) == [ids.M_CC_LENGTH]
    assert result.errors[0].params == {"length": len(value)}


@pytest.mark.parametrize("char", ["I", "O", "Z", "S", "V", "-", "中"])
def test_credit_code_chars_outside_the_alphabet(char: str) -> None:
    value = "9111000060003734" + char + "L"
    result = check_credit_code(value)
    assert messages(result.errors) == [ids.M_CC_CHAR]
    assert result.errors[0].params == {"position": 17, "char": char}


def test_credit_code_region_must_be_digits() -> None:
    value = make_credit_code("91ABCDEF600037341")
    result = check_credit_code(value)
    assert messages(result.errors) == [ids.M_CC_REGION]


def test_registration_authority_may_be_a_letter() -> None:
    org = "MB000000" + organization_code_check_char("MB000000")
    for authority in "ANY":
        result = check_credit_code(make_credit_code(authority + "2371300" + org))
        assert result.ok and not result.warnings, authority


def test_unknown_authority_is_only_a_warning() -> None:
    result = check_credit_code(make_credit_code("B1371300600037341"))
    assert result.ok
    assert messages(result.warnings) == [ids.M_CC_AUTHORITY]


def test_implausible_province_in_credit_code_is_only_a_warning() -> None:
    result = check_credit_code(make_credit_code("91990000600037341"))
    assert result.ok
    assert messages(result.warnings) == [ids.M_CC_PROVINCE]


def test_bad_organisation_code_inside_credit_code_is_only_a_warning() -> None:
    result = check_credit_code(make_credit_code("11371300MB0000001"))
    assert result.ok
    assert messages(result.warnings) == [ids.M_ORG_CHECK]
    assert result.warnings[0].params == {"code": "MB0000001", "expected": "0", "actual": "1"}


def test_organisation_code_check() -> None:
    assert organization_code_check_char("60003734") == "1"
    assert check_organization_code("60003734-1").ok
    assert messages(check_organization_code("600037342").errors) == [ids.M_ORG_CHECK]
    assert messages(check_organization_code("6000373").errors) == [ids.M_ORG_FORMAT]
    # Σ mod 11 == 1 gives 10 → "X"; Σ mod 11 == 0 gives 11 → "0".
    bodies = [f"{n:08d}" for n in range(200)]
    checks = {organization_code_check_char(b) for b in bodies}
    assert "X" in checks and "0" in checks
    with pytest.raises(ValueError):
        organization_code_check_char("6000373")


def test_issue_localises_to_english() -> None:
    issue = check_credit_code("91110000600037341A").errors[0]
    english = issue.localized("en")
    assert "L" in english and "check" in english.lower()
    assert issue.localized("zh") == str(issue)


# --- citizen ID ----------------------------------------------------------------------------


def test_standard_citizen_id_is_valid() -> None:
    result = check_citizen_id(STANDARD_ID, today=TODAY)
    assert result.ok and not result.warnings
    assert result.birth_date == dt.date(1949, 12, 31)
    assert result.sex == "female"
    assert result.region_code == "110105"
    assert ids.is_valid_citizen_id(STANDARD_ID)


def test_lowercase_x_is_accepted_and_normalised() -> None:
    result = check_citizen_id("11010519491231002x", today=TODAY)
    assert result.ok
    assert result.value == STANDARD_ID


def test_male_id_and_check_char() -> None:
    assert citizen_id_check_char("37130219900101123") == "3"
    result = check_citizen_id("371302199001011233", today=TODAY)
    assert result.ok
    assert result.sex == "male"
    assert result.birth_date == dt.date(1990, 1, 1)


def test_id_weights() -> None:
    assert ids._ID_WEIGHTS == (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def test_wrong_id_check_char_names_the_expected_one() -> None:
    result = check_citizen_id("110105194912310021", today=TODAY)
    assert messages(result.errors) == [ids.M_ID_CHECK]
    assert result.errors[0].params == {"expected": "X", "actual": "1"}
    assert result.birth_date is None and result.sex is None


def test_empty_id() -> None:
    assert messages(check_citizen_id("").errors) == [ids.M_ID_EMPTY]


@pytest.mark.parametrize("value", ["1101051949123100", "11010519491231002X1", "1"])
def test_id_of_wrong_length(value: str) -> None:
    result = check_citizen_id(value)
    assert messages(result.errors) == [ids.M_ID_LENGTH]


def test_id_body_must_be_digits() -> None:
    assert messages(check_citizen_id("11010519491231A02X").errors) == [ids.M_ID_DIGITS]
    # Non-ASCII digits are not digits here.
    assert messages(check_citizen_id("１1010519491231002X").errors) == [ids.M_ID_DIGITS]


def test_id_last_char_must_be_digit_or_x() -> None:
    assert messages(check_citizen_id("11010519491231002Y").errors) == [ids.M_ID_LAST]


@pytest.mark.parametrize("prefix", ["99", "00", "16", "20", "66", "70"])
def test_id_province_must_be_real(prefix: str) -> None:
    body = prefix + "010519491231002"
    result = check_citizen_id(body + citizen_id_check_char(body), today=TODAY)
    assert messages(result.errors) == [ids.M_ID_PROVINCE]
    assert result.errors[0].params == {"code": prefix}


@pytest.mark.parametrize("prefix", ["11", "37", "65", "71", "81", "82"])
def test_real_province_prefixes_pass(prefix: str) -> None:
    body = prefix + "010519491231002"
    assert check_citizen_id(body + citizen_id_check_char(body), today=TODAY).ok


@pytest.mark.parametrize("date", ["19490230", "19491301", "19490000", "20230229"])
def test_id_birth_date_must_be_real(date: str) -> None:
    body = "110105" + date + "002"
    result = check_citizen_id(body + citizen_id_check_char(body), today=TODAY)
    assert messages(result.errors) == [ids.M_ID_DATE]
    assert result.errors[0].params == {"date": date}


def test_leap_day_is_a_real_date() -> None:
    body = "110105" + "20000229" + "002"
    assert check_citizen_id(body + citizen_id_check_char(body), today=TODAY).ok


def test_id_birth_date_not_in_the_future() -> None:
    body = "110105" + "20260116" + "002"
    value = body + citizen_id_check_char(body)
    result = check_citizen_id(value, today=TODAY)
    assert messages(result.errors) == [ids.M_ID_FUTURE]
    assert check_citizen_id(value, today=dt.date(2026, 1, 16)).ok


def test_id_without_today_uses_the_date_in_china() -> None:
    body = "110105" + "29991231" + "002"
    assert messages(check_citizen_id(body + citizen_id_check_char(body)).errors) == [
        ids.M_ID_FUTURE
    ]


def test_unknown_area_code_is_only_a_warning() -> None:
    result = check_citizen_id(STANDARD_ID, today=TODAY, known_areas={"371300"})
    assert result.ok
    assert messages(result.warnings) == [ids.M_ID_AREA]
    assert not check_citizen_id(STANDARD_ID, today=TODAY, known_areas={"110105"}).warnings


def test_legacy_15_digit_id_is_converted() -> None:
    assert convert_legacy_citizen_id("110105491231002") == STANDARD_ID
    result = check_citizen_id("110105491231002", today=TODAY)
    assert result.ok
    assert result.value == STANDARD_ID
    assert result.converted_from == "110105491231002"
    assert result.birth_date == dt.date(1949, 12, 31)
    assert messages(result.warnings) == [ids.M_ID_CONVERTED]


def test_legacy_id_with_bad_date_or_letters() -> None:
    assert messages(check_citizen_id("110105491331002", today=TODAY).errors) == [ids.M_ID_DATE]
    assert messages(check_citizen_id("11010549123100X").errors) == [ids.M_ID_DIGITS15]
    with pytest.raises(ValueError):
        convert_legacy_citizen_id("11010549123100")
    with pytest.raises(ValueError):
        citizen_id_check_char("1101051949123100X")


# --- mobile numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "13800138000",
        "+8613800138000",
        "8613800138000",
        "138 0013 8000",
        "+86 138-0013-8000",
        "19912345678",
    ],
)
def test_mobile_numbers_are_normalised(value: str) -> None:
    result = check_mobile(value)
    assert result.ok
    assert result.value == value.replace(" ", "").replace("-", "")[-11:]


@pytest.mark.parametrize(
    "value",
    [
        "12800138000",
        "1380013800",
        "138001380001",
        "+1 13800138000",
        "1380013800a",
        "１3800138000",
        "010-12345678",
    ],
)
def test_bad_mobile_numbers(value: str) -> None:
    assert messages(check_mobile(value).errors) == [ids.M_MOBILE_FORMAT]


def test_empty_mobile() -> None:
    assert messages(check_mobile(" - ").errors) == [ids.M_MOBILE_EMPTY]


# --- region codes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "level"),
    [("370000", "province"), ("371300", "city"), ("371302", "county"), ("110105", "county")],
)
def test_region_code_levels(code: str, level: str) -> None:
    result = check_region_code(code)
    assert result.ok and result.level == level


@pytest.mark.parametrize("code", ["3713", "3713020", "37130a", "３71302"])
def test_region_code_format(code: str) -> None:
    assert messages(check_region_code(code).errors) == [ids.M_REGION_FORMAT]


def test_region_code_province_and_empty() -> None:
    assert messages(check_region_code("991300").errors) == [ids.M_REGION_PROVINCE]
    assert messages(check_region_code("").errors) == [ids.M_REGION_EMPTY]


def test_demo_region_codes_are_well_formed() -> None:
    from gongshu.orgs import regions

    assert check_region_code(regions.CITY.code).level == "city"
    assert len(regions.DISTRICTS) == 12
    for district in regions.DISTRICTS:
        result = check_region_code(district.code)
        assert result.level == "county" and district.code.startswith("3713")


def test_checks_are_fast() -> None:
    import time

    start = time.perf_counter()
    for _ in range(20000):
        check_citizen_id(STANDARD_ID, today=TODAY)
        check_credit_code(STANDARD_CREDIT_CODE)
    assert time.perf_counter() - start < 5


def test_central_bodies_registered_under_the_national_region_code() -> None:
    # 12100000400000624D: a central public institution, region code 100000 (national).
    result = ids.check_credit_code("12100000400000624D")
    assert result.ok and not result.warnings
