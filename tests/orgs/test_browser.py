"""Agencies in real Chromium against the live demo city: filter, register, edit, history."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gongshu.identifiers import make_credit_code
from tests.browser import sign_in

pytestmark = pytest.mark.browser


def test_bureau_admin_registers_and_edits_an_agency(page: Any) -> None:
    sign_in(page, "bureau")
    page.goto("/agencies")
    assert page.locator("table.orgs-agencies tbody tr").count() > 3
    page.fill("#f-q", "市场监督")
    page.click("aside button[type=submit]")
    page.wait_for_url(re.compile(r".*q=.*"))
    assert "市场监督管理局" in page.inner_text("table.orgs-agencies")

    page.goto("/agencies/new")
    page.fill("#f-name", "临沂市浏览器测试局<b>")
    page.fill("#f-credit_code", "91110000600037341A")
    page.select_option("#f-kind", "institution")
    page.click("form.orgs-agency-form button[type=submit]")
    error = page.locator(".has-error .field-error").first.inner_text()
    assert "校验位错误" in error and "“L”" in error
    assert page.input_value("#f-name") == "临沂市浏览器测试局<b>"  # input kept

    page.fill("#f-credit_code", make_credit_code("12371300MB4444444").lower())
    page.click("form.orgs-agency-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/agencies/\d+$"))
    assert "临沂市浏览器测试局<b>" in page.inner_text("h1")  # shown as text

    page.click("text=修改")
    page.wait_for_url(re.compile(r".*/edit$"))
    page.fill("#f-domain", "测试领域")
    page.click("form.orgs-agency-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/agencies/\d+$"))
    page.click("nav.tabs >> text=变更历史")
    history = page.inner_text("main")
    assert "修改机构信息" in history and "测试领域" in history and "登记机构" in history


def test_district_admin_sees_only_its_district_in_the_form(page: Any) -> None:
    sign_in(page, "lanshan_bureau")
    page.goto("/agencies/new")
    options = page.locator("#f-region_id option").all_inner_texts()
    assert any("兰山区" in o for o in options)
    assert not any("罗庄区" in o for o in options)
