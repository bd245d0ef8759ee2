"""End to end in real Chromium against a live server holding the demo city."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gongshu.identifiers import make_credit_code
from tests.browser import sign_in

pytestmark = pytest.mark.browser


def submit(page: Any, expect: str) -> None:
    """Submit the page's main form and wait for the page it leads to, or say what went wrong."""
    page.click("main form button[type=submit]")
    try:
        page.wait_for_url(re.compile(expect), timeout=10000)
    except Exception as exc:
        raise AssertionError(f"stayed on {page.url}:\n{page.inner_text('main')[:2000]}") from exc


def sign_out(page: Any) -> None:
    page.click("form[action='/logout'] button")
    page.wait_for_url(re.compile(r".*/login.*"))


def test_officer_creates_edits_and_sees_history(page: Any) -> None:
    sign_in(page, "scj_officer")
    page.goto("/catalog/new")
    page.fill("#f-title", "网络交易监测数据")
    page.fill("#f-description", "全市网络交易平台经营主体监测结果<script>alert(1)</script>")
    first_class = page.locator("#f-classification option").nth(1).get_attribute("value")
    page.select_option("#f-classification", first_class)
    page.fill("#f-subitem_code", "001")
    page.select_option("#f-level", "general_1")
    page.select_option("#f-share_type", "unconditional")
    page.select_option("#f-open_type", "unconditional")
    page.select_option("#f-update_cycle", "monthly")
    rows = [
        ("credit_code", "统一社会信用代码", True),
        ("shop_name", "网店名称", False),
        ("platform", "所属平台", False),
    ]
    for i, (name, label, key) in enumerate(rows):
        page.fill(f"input[name='fields-{i}-name']", name)
        page.fill(f"input[name='fields-{i}-label']", label)
        if key:
            page.check(f"input[name='fields-{i}-is_key']")
            page.check(f"input[name='fields-{i}-required']")
    submit(page, r".*/catalog/\d+(\?.*)?$")
    assert "网络交易监测数据" in page.inner_text("h1")
    body = page.inner_text("main")
    assert "<script>alert(1)</script>" in body  # shown as text, not run
    detail_url = page.url

    page.goto(detail_url + "/edit")
    page.fill("#f-title", "网络交易主体监测数据")
    page.fill("input[name='fields-1-label']", "网店名称（含简称）")
    submit(page, re.escape(detail_url) + "$")
    assert "网络交易主体监测数据" in page.inner_text("h1")

    page.goto(detail_url + "?tab=history")
    history = page.inner_text("main")
    assert "dataset.update" in history
    assert "网络交易监测数据" in history and "网络交易主体监测数据" in history
    assert "网店名称（含简称）" in history
    page.screenshot(path="/tmp/gongshu-history.png", full_page=True)


def test_admin_adds_an_agency_and_a_user(page: Any) -> None:
    sign_in(page, "sysadmin")
    page.goto("/agencies/new")
    page.fill("#f-name", "临沂市数据资源服务中心")
    page.fill("#f-credit_code", make_credit_code("12371300MB2800001"))
    page.select_option("#f-region_id", label="临沂市")
    page.select_option("#f-kind", "institution")
    page.fill("#f-description", "承担全市公共数据汇聚治理的技术支撑工作")
    submit(page, r".*/agencies/\d+(\?.*)?$")
    agency_url = page.url
    assert "临沂市数据资源服务中心" in page.inner_text("h1")

    page.goto("/users/new")
    page.fill("#f-username", "zyzx_officer")
    page.fill("#f-display_name", "王晓明")
    page.fill("#f-password", "Officer@2026x")
    page.select_option("#f-agency_id", label="临沂市数据资源服务中心")
    page.check("input[name=roles][value=agency_officer]")
    submit(page, r".*/users/\d+(\?.*)?$")
    user_page = page.inner_text("main")
    assert "zyzx_officer" in user_page and "王晓明" in user_page
    assert "临沂市数据资源服务中心" in user_page

    page.goto(agency_url)
    agency_page = page.inner_text("main")
    assert "王晓明" in agency_page  # listed among the agency's data officers
    page.goto("/agencies?lang=en")
    assert "Agencies" in page.inner_text("header")
    page.screenshot(path="/tmp/gongshu-agencies-en.png", full_page=True)
    sign_out(page)


def _click_action(page: Any, action: str) -> None:
    """Press a workflow button and wait for the page its form leads to."""
    with page.expect_navigation():
        page.click(f"main form[action$='/{action}'] button[type=submit]")


def test_review_round_trip_then_found_by_search(page: Any) -> None:
    """Officer submits; bureau returns with a reason; officer fixes and resubmits; bureau
    approves and publishes; the entry is found by a two-character word and by pinyin."""
    sign_in(page, "scj_officer")
    page.goto("/catalog/new")
    page.fill("#f-title", "城市公交客流监测数据")
    page.fill("#f-description", "公交车辆刷卡客流")
    first_class = page.locator("#f-classification option").nth(1).get_attribute("value")
    page.select_option("#f-classification", first_class)
    page.select_option("#f-level", "general_1")
    page.select_option("#f-share_type", "unconditional")
    page.select_option("#f-open_type", "unconditional")
    page.select_option("#f-update_cycle", "daily")
    page.fill("input[name='fields-0-name']", "line_no")
    page.fill("input[name='fields-0-label']", "线路编号")
    page.check("input[name='fields-0-is_key']")
    page.check("input[name='fields-0-required']")
    submit(page, r".*/catalog/\d+(\?.*)?$")
    entry_url = page.url.split("?")[0]
    _click_action(page, "submit")
    assert "待审核" in page.inner_text("main")
    sign_out(page)

    sign_in(page, "bureau")
    page.goto("/catalog/review")
    assert "城市公交客流监测数据" in page.inner_text("main")
    page.goto(entry_url + "/return")
    page.fill("#f-reason", "请补充摘要：说明客流统计口径")
    submit(page, re.escape(entry_url) + r"(\?.*)?$")
    assert "已退回" in page.inner_text("main")
    sign_out(page)

    sign_in(page, "scj_officer")
    page.goto(entry_url)
    assert "请补充摘要" in page.inner_text("main")
    page.goto(entry_url + "/edit")
    page.fill("#f-description", "公交车辆刷卡客流，按线路和小时统计")
    submit(page, re.escape(entry_url) + r"(\?.*)?$")
    _click_action(page, "submit")
    assert "待审核" in page.inner_text("main")
    sign_out(page)

    sign_in(page, "bureau")
    page.goto(entry_url)
    _click_action(page, "approve")
    _click_action(page, "publish")
    assert "已发布" in page.inner_text("main")
    for query in ("公交", "gongjiao"):
        page.goto(f"/catalog?q={query}")
        assert "城市公交客流监测数据" in page.inner_text("main"), query
