"""The catalog form in real Chromium: JavaScript rows, errors kept, history shown."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser import sign_in

pytestmark = pytest.mark.browser

SUBMIT = "form.catalog-form button[type=submit]"


def test_catalog_form_in_a_browser(page: Any) -> None:
    sign_in(page, "scj_officer")
    page.goto("/catalog/new")
    rows = page.locator("#fields-table tbody tr")
    blank = rows.count()
    assert blank >= 5
    page.click("button.row-add")  # progressive enhancement: one more row
    assert rows.count() == blank + 1
    page.locator("#fields-table tbody tr").last.locator("button.row-remove").click()
    assert rows.count() == blank

    page.fill("#f-title", "<i>网络交易</i>抽检数据")
    page.select_option("#f-classification", "theme:13")
    page.select_option("#f-level", "general_3")
    page.select_option("#f-share_type", "conditional")
    page.select_option("#f-open_type", "none")
    page.fill("input[name='fields-0-name']", "credit_code")
    page.fill("input[name='fields-0-label']", "统一社会信用代码")
    page.check("input[name='fields-0-is_key']")
    page.check("input[name='fields-0-required']")
    page.click(SUBMIT)
    page.wait_for_selector(".field-error")
    assert "没有依据的，应当列为无条件共享" in page.inner_text("main")
    assert page.input_value("#f-title") == "<i>网络交易</i>抽检数据"  # input kept

    page.fill("#f-legal_basis", "《电子商务法》第二十八条")
    page.click(SUBMIT)
    page.wait_for_url(re.compile(r".*/catalog/\d+$"))
    assert page.inner_text("h1") == "<i>网络交易</i>抽检数据"  # shown as text
    code = page.inner_text(".breadcrumb .mono")
    assert re.fullmatch(r"213001/\d{4}", code)

    page.click("text=修改")
    page.fill("input[name='fields-0-label']", "信用代码")
    page.click(SUBMIT)
    page.wait_for_url(re.compile(r".*/catalog/\d+$"))
    page.click("nav.tabs >> text=历史")
    history = page.inner_text("main")
    assert "dataset.update" in history and "统一社会信用代码" in history and "信用代码" in history
    page.screenshot(path="/tmp/gongshu-catalog-history.png", full_page=True)
