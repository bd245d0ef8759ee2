"""The auditor's pages in real Chromium on the demo city: search, one entry, the
statistics dashboard, verification; an agency officer sees only their own traffic."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser import sign_in

pytestmark = pytest.mark.browser


def test_auditor_searches_the_chain_and_reads_the_statistics(page: Any) -> None:
    sign_in(page, "auditor")
    page.click("header >> text=审计")
    page.wait_for_url(re.compile(r".*/audit/entries$"))
    assert page.locator("table.audit-entries tbody tr").count() > 5
    page.fill("#f-action", "agency.")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r".*action=agency\..*"))
    actions = page.locator("table.audit-entries tbody td:nth-child(5)").all_inner_texts()
    assert actions and all(a.startswith("agency.") for a in actions)
    page.click("table.audit-entries tbody tr:first-child td:first-child a")
    page.wait_for_url(re.compile(r".*/audit/entries/\d+$"))
    assert "哈希链" in page.inner_text("main")
    assert re.fullmatch(r"[0-9a-f]{64}", page.inner_text("dd.entry-hash"))

    page.click("a[href='/audit/entries']")
    page.click("text=共享统计")
    page.wait_for_url(re.compile(r".*/audit/stats$"))
    assert page.locator("svg.q-chart[role=img]").count() >= 1
    assert page.locator("[data-stat=calls]").count() == 1
    page.click("text=最近 7 天")
    page.wait_for_url(re.compile(r".*days=7$"))
    assert page.locator("table.audit-days tbody tr").count() == 7

    page.goto("/audit/entries")
    page.click("main form[action='/audit/verify'] button")
    page.wait_for_url(re.compile(r".*/audit/verify$"))
    assert "审计链完整" in page.inner_text("main")


def test_an_officer_sees_their_own_traffic(page: Any) -> None:
    sign_in(page, "scj_officer")
    page.click("header >> text=审计")
    page.wait_for_url(re.compile(r".*/audit/entries$"))
    assert "您只能看到本机构的操作记录" in page.inner_text("main")
    assert page.locator("main form[action='/audit/verify']").count() == 0
    assert page.locator("nav.tabs >> text=检查点").count() == 0
