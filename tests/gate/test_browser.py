"""The masking rules page in real Chromium: the security admin changes a rule and sees it
saved; the rule is put back so that the shared demo city keeps its defaults."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser import sign_in

pytestmark = pytest.mark.browser

CELL = "#rule-core-plate"


def test_security_admin_edits_a_masking_rule(page: Any) -> None:
    sign_in(page, "secadmin")
    page.click("header >> text=脱敏规则")
    page.wait_for_url(re.compile(r".*/admin/masking$"))
    assert page.locator("table.masking-rules tbody tr").count() == 6
    assert page.input_value(CELL) == "mask"
    try:
        page.select_option(CELL, "drop")
        page.click("main button[type=submit]")
        page.wait_for_url(re.compile(r".*/admin/masking\?saved=1$"))
        assert "修改了 1 条规则" in page.inner_text("main")
        assert page.input_value(CELL) == "drop"
    finally:
        page.goto("/admin/masking")
        page.select_option(CELL, "mask")
        page.click("main button[type=submit]")
        page.wait_for_url(re.compile(r".*saved=.*"))
    assert page.input_value(CELL) == "mask"
