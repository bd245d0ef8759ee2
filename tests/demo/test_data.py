"""The demo city's content, checked without a database: coverage, grading, identifiers."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import pytest

from gongshu.auth import passwords
from gongshu.auth.models import Role
from gongshu.catalog import grading
from gongshu.catalog.classification import DEFAULT_ITEMS
from gongshu.catalog.models import (
    Level,
    OpenType,
    ResourceFormat,
    Sensitivity,
    ShareType,
    UpdateCycle,
)
from gongshu.demo import data
from gongshu.demo.data import AGENCIES, DEMO_ACCOUNTS, DEMO_PASSWORD, DISTRICTS, ENTRIES, USERS
from gongshu.demo.loader import item_code
from gongshu.i18n import catalog
from gongshu.identifiers import check_credit_code
from gongshu.orgs import regions
from gongshu.orgs.models import AgencyKind

DEMO_DIR = Path(data.__file__).parent
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff01-\uff5e]")
PLACEHOLDER = re.compile(r"测试|示例|样例|xxx|todo|foo|bar|^\d+$", re.IGNORECASE)


def test_city_and_districts_are_the_real_ones() -> None:
    assert data.CITY.code == "371300" and data.CITY.name == "临沂市"
    assert len(DISTRICTS) >= 4
    assert {d.code for d in DISTRICTS} <= regions.CODES
    assert all(d.code.startswith("3713") for d in DISTRICTS)


def test_agencies_cover_the_priority_domains() -> None:
    assert len(AGENCIES) >= 24
    names = " ".join(a.name for a in AGENCIES)
    for word in (
        "市场监督管理局", "卫生健康委员会", "自然资源和规划局", "生态环境局",
        "人力资源和社会保障局", "教育局", "交通运输局", "气象局", "公安局", "民政局",
        "住房和城乡建设局", "医疗保障局", "行政审批服务局", "大数据局", "税务", "农业农村",
        "文化和旅游", "应急管理", "统计局", "水利局", "城市管理局", "自来水", "供电",
    ):  # fmt: skip
        assert word in names, word
    assert {a.kind for a in AGENCIES} == set(AgencyKind)
    district_codes = {d.code for d in DISTRICTS}
    assert sum(a.region_code in district_codes for a in AGENCIES) >= 5
    assert len({a.key for a in AGENCIES}) == len(AGENCIES)
    assert len({a.name for a in AGENCIES}) == len(AGENCIES)
    for agency in AGENCIES:
        assert agency.description and agency.address and agency.phone, agency.name
        assert re.fullmatch(r"0539-\d{7}", agency.phone), agency.phone


def test_credit_codes_are_valid_and_plausible() -> None:
    codes = [a.credit_code for a in AGENCIES]
    assert len(set(codes)) == len(codes)
    prefixes = {AgencyKind.GOVERNMENT: "11", AgencyKind.INSTITUTION: "12"}
    for agency, code in zip(AGENCIES, codes, strict=True):
        result = check_credit_code(code)
        assert result.ok, (agency.name, result.messages("zh"))
        # No warning at all: in particular the embedded GB 11714 check char is right.
        assert not result.warnings, (agency.name, result.warning_messages("zh"))
        assert result.region_code == agency.region_code
        assert code[:2] == prefixes.get(agency.kind, "91")


def test_accounts_cover_every_role_once_per_person() -> None:
    usernames = [u.username for u in USERS]
    assert len(set(usernames)) == len(usernames)
    assert {u.role for u in USERS} == set(Role)
    roles_of = {u.username: u.role for u in USERS}
    assert roles_of["bureau"] is Role.BUREAU_ADMIN
    assert roles_of["lanshan_bureau"] is Role.BUREAU_ADMIN
    assert roles_of["scj_officer"] is Role.AGENCY_OFFICER
    assert roles_of["sysadmin"] is Role.SYSTEM_ADMIN
    assert roles_of["secadmin"] is Role.SECURITY_ADMIN
    assert roles_of["auditadmin"] is Role.AUDIT_ADMIN
    for agency in AGENCIES:
        assert roles_of[agency.officer_username] is Role.AGENCY_OFFICER
    # The table browser tests import: plain 4-tuples of (username, role, agency, description).
    assert [a.username for a in DEMO_ACCOUNTS] == usernames
    for username, role, agency_name, description in DEMO_ACCOUNTS:
        assert isinstance(role, Role) and description
        assert agency_name is None or agency_name in {a.name for a in AGENCIES}, username


def test_demo_password_satisfies_the_policy_for_every_account() -> None:
    for user in USERS:
        passwords.check_policy(DEMO_PASSWORD, username=user.username)


def test_entries_are_many_and_span_every_coded_value() -> None:
    assert len(ENTRIES) >= 90
    assert {e.share for e in ENTRIES} == set(ShareType)
    assert {e.open for e in ENTRIES} == set(OpenType)
    assert {e.level for e in ENTRIES} == set(Level)
    assert {e.update_cycle for e in ENTRIES} == set(UpdateCycle)
    assert {e.format for e in ENTRIES} == set(ResourceFormat)
    by_agency = Counter(e.agency for e in ENTRIES)
    assert set(by_agency) == {a.key for a in AGENCIES}, "every agency has entries"
    district_keys = {a.key for a in AGENCIES if a.region_code != data.CITY.code}
    city_entries = sum(n for k, n in by_agency.items() if k not in district_keys)
    district_entries = len(ENTRIES) - city_entries
    assert city_entries > district_entries > 0


def test_entries_follow_the_grading_table() -> None:
    for entry in ENTRIES:
        problems = grading.violations(
            entry.level, entry.share, entry.open, table=grading.DEFAULT_TABLE
        )
        assert not problems, (entry.title, problems)
        if entry.level in (Level.CORE, Level.IMPORTANT, Level.GENERAL_4):
            assert entry.open is OpenType.NONE, entry.title
        if entry.level is Level.GENERAL_4:
            assert entry.share is ShareType.CONDITIONAL, entry.title
        if entry.level is Level.GENERAL_1:
            assert entry.share is ShareType.UNCONDITIONAL, entry.title
            assert entry.open is OpenType.UNCONDITIONAL, entry.title


def test_restricted_entries_cite_a_legal_basis_and_conditions() -> None:
    for entry in ENTRIES:
        if entry.share is not ShareType.UNCONDITIONAL:
            assert re.search(r"《.+》", entry.legal_basis), entry.title
        if entry.share is ShareType.CONDITIONAL:
            assert entry.share_conditions, entry.title
        if entry.open is OpenType.CONDITIONAL:
            assert entry.open_conditions, entry.title
        assert entry.source_system and entry.tags and entry.description, entry.title
        assert entry.share_method, entry.title


def test_entries_read_as_real_ones() -> None:
    titles = [e.title for e in ENTRIES]
    assert len(set(titles)) == len(titles)
    for entry in ENTRIES:
        assert not PLACEHOLDER.search(entry.title), entry.title
        assert 3 <= len(entry.fields) <= 10, entry.title
        names = [f.name for f in entry.fields]
        assert len(set(names)) == len(names), entry.title
        assert any(f.is_key for f in entry.fields), entry.title
        for field in entry.fields:
            assert re.fullmatch(r"[a-z][a-z0-9_]*", field.name), field.name
            assert CJK.search(field.label), field.label
            assert not field.is_key or field.required, (entry.title, field.name)
            if "身份证" in field.label or "公民身份号码" in field.label:
                assert field.sensitivity is Sensitivity.ID_NUMBER, (entry.title, field.name)
            if field.label in ("姓名", "居民姓名", "患者姓名", "申请人姓名"):
                assert field.sensitivity is Sensitivity.NAME, (entry.title, field.name)
        # Personal data is never opened without conditions.
        personal = {Sensitivity.ID_NUMBER, Sensitivity.MOBILE}
        if any(f.sensitivity in personal for f in entry.fields):
            assert entry.open is not OpenType.UNCONDITIONAL, entry.title


def test_classification_items_exist_and_relations_point_backwards() -> None:
    seen: dict[str, str] = {}
    for entry in ENTRIES:
        code = item_code(entry.category_class, entry.item)
        assert (code, entry.item) in DEFAULT_ITEMS[entry.category_class]
        for title in entry.related:
            # An officer sees only their own agency's drafts, so relations stay in-agency.
            assert seen.get(title) == entry.agency, (entry.title, title)
        seen[entry.title] = entry.agency


@pytest.mark.parametrize("module", ["cli.py", "loader.py"])
def test_interface_strings_are_translated(module: str) -> None:
    """tests/test_i18n.py skips gongshu/demo/; its interface messages still need English."""
    tree = ast.parse((DEMO_DIR / module).read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    english = catalog("en")
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            assert not any(
                isinstance(v, ast.Constant) and CJK.search(str(v.value)) for v in node.values
            ), f"{module}:{node.lineno}: Chinese in an f-string"
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
            and CJK.search(node.value)
        ):
            assert node.value in english, f"{module}:{node.lineno}: {node.value!r}"


def test_docs_list_every_account_and_agency() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "demo.md").read_text(encoding="utf-8")
    assert f"`{DEMO_PASSWORD}`" in text
    for account in DEMO_ACCOUNTS:
        assert f"`{account.username}`" in text, account.username
    for agency in AGENCIES:
        assert f"| {agency.name} |" in text and f"`{agency.credit_code}`" in text, agency.name
