"""Aggregation in real Chromium: upload a GBK CSV with bad rows, follow the ingestion,
download the rejected rows, read the quality report, roll back.

The live server (tests/browser.py) holds the demo city with its rows and runs background
jobs in the web process (``gongshu serve`` starts the embedded worker by default), so the
ingestion page refreshes itself until the job is done.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from gongshu.catalog.models import Dataset
from tests.browser import sign_in

pytestmark = pytest.mark.browser

TITLE = "城市公厕分布信息"  # 市城市管理局's entry: one version in the demo
HEADER = "公厕编号,公厕名称,类型,开放时间,是否有无障碍设施,经度,纬度"
GOOD = [
    "GC37130299001,沂河路西公厕,独立式公厕,24小时,是,118.361200,35.101300",
    "GC37130299002,银雀山路东公厕,附建式公厕,24小时,否,118.342100,35.066800",
    "GC37130299003,滨河东路北公厕,独立式公厕,24小时,是,118.402500,35.090100",
]
BAD = [
    "GC37130299004,考棚街南公厕,独立式公厕,24小时,不详,118.351000,35.058800",
    "GC37130299005,通达路中公厕,活动式公厕,08:00-20:00,是,东经118度,35.112000",
]


def _dataset_id(live_env: dict[str, str]) -> int:
    engine = create_engine(live_env["GONGSHU_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(Dataset.id).where(Dataset.title == TITLE)))
    finally:
        engine.dispose()


def test_upload_quarantine_download_report_and_roll_back(
    page: Any, live_env: dict[str, str], tmp_path: Path
) -> None:
    dataset_id = _dataset_id(live_env)
    upload = tmp_path / "公厕点位_新增.csv"
    upload.write_bytes(("\r\n".join([HEADER, *GOOD, *BAD]) + "\r\n").encode("gbk"))

    sign_in(page, "cgj_officer")
    page.goto(f"/catalog/{dataset_id}/data")
    assert page.inner_text("h1") == TITLE
    assert "第 1 版" in page.inner_text("main")
    page.click("main .page-head >> text=上传数据")
    page.wait_for_url(re.compile(rf".*/catalog/{dataset_id}/data/upload$"))
    page.set_input_files("#f-file", str(upload))
    page.select_option("#f-mode", "upsert")
    page.select_option("#f-on_invalid", "quarantine")
    page.click("form.upload-form button[type=submit]")

    # The ingestion page refreshes itself while the worker runs the job.
    page.wait_for_url(re.compile(rf".*/catalog/{dataset_id}/ingestions/\d+$"))
    page.wait_for_selector("text=已发布为第 2 版", timeout=30000)
    meta = page.inner_text("dl.meta")
    assert re.search(r"读取行数\s+5", meta) and re.search(r"有效行数\s+3", meta)
    assert re.search(r"拒绝行数\s+2", meta)
    assert "GBK" in meta.upper() or "GB18030" in meta.upper()
    issues = page.inner_text("table.issues")
    assert "不是有效的是否值" in issues and "不是有效的数值" in issues

    with page.expect_download() as info:
        page.click("text=下载被拒绝的行")
    download = info.value
    text = Path(download.path()).read_bytes().decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    header = lines[0]
    assert "行号" in header and "错误说明" in header and "公厕编号" in header
    assert [line[header.index("公厕编号")] for line in lines[1:]] == [
        "GC37130299004",
        "GC37130299005",
    ]
    reasons = [line[header.index("错误说明")] for line in lines[1:]]
    assert "是否有无障碍设施" in reasons[0] and "不详" in reasons[0]
    assert "经度" in reasons[1] and "东经118度" in reasons[1]

    page.click("text=查看质量报告")
    page.wait_for_url(re.compile(rf".*/catalog/{dataset_id}/versions/2$"))
    report = page.inner_text("main")
    assert "质量报告" in report
    page.screenshot(path="/tmp/gongshu-ingest-quality.png", full_page=True)

    page.click("nav.tabs >> text=版本历史")
    page.wait_for_url(re.compile(rf".*/catalog/{dataset_id}/versions$"))
    current = page.locator("table.versions tr.current")
    assert "第 2 版" in current.inner_text()
    page.once("dialog", lambda dialog: dialog.accept())
    row = page.locator("table.versions tbody tr", has_text="第 1 版").first
    row.locator("button", has_text="回退到此版本").click()
    page.wait_for_url(re.compile(rf".*/catalog/{dataset_id}/versions/3$"))
    page.click("nav.tabs >> text=版本历史")
    current = page.locator("table.versions tr.current")
    assert "第 3 版" in current.inner_text() and "回退自第 1 版" in current.inner_text()
    assert "600" in current.inner_text()  # the demo's 600 toilets, without the new three
    page.screenshot(path="/tmp/gongshu-ingest-versions.png", full_page=True)
