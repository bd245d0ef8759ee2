"""A scheduled pull in real Chromium: 市城市管理局's officer adds a pull of the parking lots
from a PostgreSQL "front-end database", tests the connection, pulls now and watches the
page refresh until the new version is published by the live server's embedded worker."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select, text

from gongshu.catalog.models import Dataset
from tests.browser import sign_in

pytestmark = pytest.mark.browser

TITLE = "道路停车泊位实时信息"  # 市城市管理局's realtime entry in the demo
QUERY = (
    "SELECT lot AS 停车场编号, name AS 停车场名称, total AS 总泊位数, free AS 空余泊位数, "
    "tariff AS 收费标准, at AS 更新时间 FROM parking ORDER BY lot"
)


def _dataset_id(live_env: dict[str, str]) -> int:
    engine = create_engine(live_env["GONGSHU_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(Dataset.id).where(Dataset.title == TITLE)))
    finally:
        engine.dispose()


def _parking(agency_url: str) -> None:
    engine: Engine = create_engine(agency_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS parking"))
        conn.execute(
            text(
                "CREATE TABLE parking (lot text primary key, name text, total int, free int, "
                "tariff text, at timestamptz)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO parking VALUES "
                "('A0001', '人民广场地下停车场', 420, 37, '首小时5元，之后每小时2元', "
                "'2026-03-01 08:30:12.5+08'), "
                "('A0002', '沂河路东停车场', 120, 0, '每次5元', '2026-03-01 08:31:00+08')"
            )
        )
    engine.dispose()


def test_officer_adds_tests_and_runs_a_pull(
    page: Any, live_env: dict[str, str], agency_url: str
) -> None:
    _parking(agency_url)
    dataset_id = _dataset_id(live_env)
    sign_in(page, "cgj_officer")
    page.goto(f"/catalog/{dataset_id}/pull")
    page.click("main .page-head >> text=新增拉取源")
    page.fill("#f-name", "cgj_parking")
    page.fill("#f-url", agency_url)
    page.fill("#f-query", QUERY)
    page.fill("#f-schedule", "every 10m")
    page.select_option("#f-mode", "upsert")
    page.click("form.pull-form button[type=submit]")
    page.wait_for_url(re.compile(rf".*/catalog/{dataset_id}/pull/\d+$"))
    meta = page.inner_text("dl.meta")
    assert "GONGSHU_PULL_PASSWORD_CGJ_PARKING" in meta and "每 10 分钟" in meta

    page.click("text=测试连接")
    page.wait_for_selector("text=测试结果：连接成功，前 2 行")
    mapping = page.inner_text("table.pull-mapping")
    assert "停车场编号" in mapping and "缺少必填列" not in mapping

    page.click("text=立即拉取")
    # The page refreshes itself while the embedded worker pulls.
    page.wait_for_selector("table.pull-runs >> text=已发布", timeout=30000)
    runs = page.inner_text("table.pull-runs")
    assert "手动" in runs and re.search(r"已发布\s+2", runs)

    page.goto(f"/catalog/{dataset_id}/trace?key=A0001")
    traced = page.inner_text("main")
    # A time-zoned value became local time, to the second; the row traces to the pull.
    assert "人民广场地下停车场" in traced and "2026-03-01 08:30:12" in traced
    assert "cgj_parking.ndjson" in traced
