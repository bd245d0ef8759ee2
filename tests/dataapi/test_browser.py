"""The data API in real Chromium against the demo city: 医保局's user finds the entry granted
to it on the data API page, reads it through the example call, downloads the CSV, and the
city bureau traces the bare file (by its digest) and its file name's fingerprint prefix back
to the grant."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser import sign_in

pytestmark = pytest.mark.browser

ENTRY = "市场主体登记信息"  # an unconditional grant to 临沂市医疗保障局, with data


def test_a_grantee_reads_and_exports_and_the_bureau_traces_the_file(
    page: Any, tmp_path: Path
) -> None:
    sign_in(page, "ybj_consumer")
    page.goto("/data-api")
    row = page.locator("table.dataapi-entries tr", has_text=ENTRY)
    assert "共享授权" in row.inner_text()

    row.locator("a", has_text="读取").click()
    page.wait_for_url(re.compile(r".*/api/v1/data/.+/rows\?.*"))
    body = json.loads(page.inner_text("body"))
    assert len(body["rows"]) == 10 and body["next_url"]
    assert body["dataset"]["title"] == ENTRY
    assert all(re.fullmatch(r"[0-9A-Z]{18}", r["credit_code"]) for r in body["rows"])

    page.goto("/data-api")
    with page.expect_download() as waiting:
        page.locator("table.dataapi-entries tr", has_text=ENTRY).get_by_role(
            "link", name="CSV", exact=True
        ).click()
    download = waiting.value
    # The fingerprint's first 8 digits ride in the file name; the file holds only rows.
    match = re.fullmatch(r".+-v\d+-([0-9a-f]{8})\.csv", download.suggested_filename)
    assert match, download.suggested_filename
    prefix = match.group(1)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    data = saved.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[-1] == "" and not any(line.startswith("#") for line in lines)
    assert lines[0].startswith('"') and len(lines) > 2  # a header, then rows

    page.click("form[action='/logout'] button")
    page.wait_for_url(re.compile(r".*/login.*"))
    sign_in(page, "bureau")
    page.goto("/data-api")
    page.click("a:has-text('指纹追溯')")
    # The bare file, uploaded: its digest leads to the export, the grant and the body.
    page.set_input_files("#f-file", str(saved))
    page.click("form.dataapi-trace-file button[type=submit]")
    page.wait_for_selector(".dataapi-file-result")
    result = page.inner_text(".dataapi-file-result")
    assert "与平台导出的文件完全一致" in result
    assert "临沂市医疗保障局" in result and ENTRY in result
    # The prefix from the file name leads to the same grant.
    page.fill("#f-fp", prefix)
    page.click("form.dataapi-trace button[type=submit]")
    page.wait_for_url(re.compile(r".*/data-api/fingerprints\?fp=.*"))
    result = page.inner_text(".dataapi-trace-result")
    assert "临沂市医疗保障局" in result and ENTRY in result
    assert "csv" in page.inner_text("table.dataapi-exports")
