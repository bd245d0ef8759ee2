"""An anonymous visitor in real Chromium against the demo city: searches in Chinese and in
pinyin, opens an entry, sees its preview, downloads the CSV and reads it."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pytest

from tests.accessibility import assert_accessible

pytestmark = pytest.mark.browser

# 市场监督管理局: general_1, unconditional, with rows.
ENTRY = "市场主体登记信息"


def test_an_anonymous_visitor_searches_previews_and_downloads(page: Any) -> None:
    page.goto("/")
    assert "公共数据开放网" in page.inner_text("h1")
    page.fill("#home-q", "市场主体")
    page.click("main form[role=search] button[type=submit]")
    page.wait_for_url(re.compile(r".*/dataset\?q=.*"))
    assert ENTRY in page.inner_text(".portal-results")

    page.goto("/dataset")
    page.fill("#portal-q", "shichangzhuti")
    page.click("main form[role=search] button[type=submit]")
    page.wait_for_url(re.compile(r".*q=shichangzhuti.*"))
    page.click(f".portal-results h3 a:text-is('{ENTRY}')")
    page.wait_for_url(re.compile(r".*/dataset/[0-9a-z]+-[0-9]+$"))
    assert page.inner_text("h1") == ENTRY
    assert "市场监督管理局" in page.inner_text(".portal-facts")
    rows = page.locator(".preview-table tbody tr")
    assert rows.count() == 10
    headers = page.locator(".preview-table thead th").all_inner_texts()
    assert any("统一社会信用代码" in h for h in headers)
    preview_first = rows.nth(0).locator("td").nth(0).inner_text()
    assert ENTRY in page.inner_text(".portal-citation")
    assert_accessible(page)

    with page.expect_download() as info:
        page.click(".portal-downloads a[href$='/download.csv']")
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    path = Path(download.path())
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(f))
    assert table[0][0] == "credit_code" and len(table) > 10
    assert {len(r) for r in table} == {len(table[0])}
    assert table[1][0] == preview_first
