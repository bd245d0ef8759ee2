"""A share request in real Chromium against the demo city: a body requests conditional
data, the provider refuses, the requester objects, the bureau grants — and the requester
then reads the rows on the data API page and sees them masked as the masking rules of the
entry's level say, with the one field the bureau granted in the clear, and none of the
clear values the provider sees.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.browser import sign_in

pytestmark = pytest.mark.browser

# 市民政局 (mzj): conditional, general_4, with rows. At general_4 an ID number is given as a
# keyed pseudonym (16 hex digits), a name keeps its surname, an address its district.
ENTRY = "最低生活保障对象信息"
MASKED = ("head_name", "head_id_number", "home_address")


def sign_out(page: Any) -> None:
    page.click("form[action='/logout'] button")
    page.wait_for_url(re.compile(r".*/login.*"))


def post(page: Any, form: str, expect: str) -> None:
    page.click(f"{form} button[type=submit]")
    try:
        page.wait_for_url(re.compile(expect), timeout=10000)
    except Exception as exc:
        raise AssertionError(f"stayed on {page.url}:\n{page.inner_text('main')[:2000]}") from exc


def test_request_refuse_object_and_the_bureau_grants(page: Any) -> None:
    sign_in(page, "ybj_consumer")
    page.goto("/catalog?q=" + ENTRY)
    page.click(f"main a:has-text('{ENTRY}')")
    page.wait_for_url(re.compile(r".*/catalog/\d+$"))
    page.click("a.share-request-button")
    page.wait_for_url(re.compile(r".*/share/requests/new\?dataset=\d+$"))
    assert ENTRY in page.inner_text("h1")
    page.fill("#f-purpose", "低保对象医疗救助资格核验")
    page.fill("#f-scenario", "核对低保对象的参保和医疗救助待遇")
    page.fill("#f-legal_basis", "《社会救助暂行办法》第二十八条")
    post(page, "form.share-request-form", r".*/share/requests/\d+\?done=created$")
    request_url = page.url.split("?")[0]
    assert "待审核" in page.inner_text(".share-status")
    assert "剩余" in page.inner_text(".share-deadline")
    sign_out(page)

    sign_in(page, "mzj_officer")
    page.goto("/share/inbox")
    assert ENTRY in page.inner_text("main")
    page.goto(request_url)
    page.fill(
        "form.share-deny-form textarea[name=reason]",
        "户主身份证号和家庭住址属于个人信息，核验应通过核验接口进行",
    )
    post(page, "form.share-deny-form", r".*\?done=deny$")
    assert "未同意" in page.inner_text(".share-status")
    sign_out(page)

    sign_in(page, "ybj_consumer")
    page.goto("/share/requests")
    page.click(f"tr:has-text('{ENTRY}') a:has-text('提出异议')")
    page.wait_for_url(re.compile(r".*/share/requests/\d+#object$"))
    assert "个人信息" in page.inner_text(".decision-reason")
    page.fill("form.share-object-form textarea[name=reason]", "医疗救助需逐户核对低保对象信息")
    post(page, "form.share-object-form", r".*\?done=object$")
    assert "异议待仲裁" in page.inner_text(".share-status")
    sign_out(page)

    sign_in(page, "bureau")
    page.goto("/share/arbitration")
    page.click(f"tr:has-text('{ENTRY}') a.btn")
    page.wait_for_url(re.compile(r".*/share/requests/\d+#decide$"))
    page.check("#f-outcome-grant")
    page.fill("form.share-arbitrate-form textarea[name=reason]", "医保部门依法承担医疗救助职责")
    first_field = page.locator("form.share-arbitrate-form input[name=clear_fields]").first
    clear_name = first_field.get_attribute("value")
    first_field.check()
    post(page, "form.share-arbitrate-form", r".*\?done=arbitrate$")
    assert "授权生效中" in page.inner_text(".share-status")
    grant_text = page.inner_text(".share-grant")
    assert "无（全部按规则脱敏）" not in grant_text
    page.screenshot(path="/tmp/gongshu-share-arbitrated.png", full_page=True)
    sign_out(page)

    sign_in(page, "ybj_consumer")
    page.goto("/share/grants")
    row = page.inner_text(f"tr:has-text('{ENTRY}')")
    assert clear_name in row and "有条件共享" in row
    sign_out(page)

    # What the provider reads of the first rows, in the clear, through the same page.
    sign_in(page, "mzj_officer")
    clear, _text = read_rows(page, "本单位数据")
    sign_out(page)

    sign_in(page, "ybj_consumer")
    masked, text = read_rows(page, "共享授权")
    assert clear_name not in MASKED and len(masked) == len(clear) == 10
    for mine, theirs in zip(masked, clear, strict=True):
        assert mine[clear_name] == theirs[clear_name]  # the field granted in the clear
        assert re.fullmatch(r"[0-9a-f]{16}", mine["head_id_number"]), mine
        assert "*" in mine["head_name"] and mine["head_name"] != theirs["head_name"]
        surname = theirs["head_name"][: len(theirs["head_name"]) - mine["head_name"].count("*")]
        assert mine["head_name"] == surname + "*" * (len(theirs["head_name"]) - len(surname))
        assert re.fullmatch(r"临沂市\w+?[区县]\*{4}", mine["home_address"]), mine
        for name in MASKED:
            assert theirs[name] not in text, f"the clear {name} is on the grantee's page"


def read_rows(page: Any, basis: str) -> tuple[list[dict[str, Any]], str]:
    """The entry's first rows through the 读取 link of the data API page, and all the text
    the browser got with them; back on the data API page afterwards."""
    page.goto("/data-api")
    row = page.locator("table.dataapi-entries tr", has_text=ENTRY)
    assert basis in row.inner_text()
    row.locator("a", has_text="读取").click()
    page.wait_for_url(re.compile(r".*/api/v1/data/.+/rows\?.*"))
    body = json.loads(page.inner_text("body"))
    assert body["dataset"]["title"] == ENTRY
    masked = {f["name"] for f in body["fields"] if f["masked"]}
    assert masked == (set(MASKED) if basis == "共享授权" else set()), body["fields"]
    rows: list[dict[str, Any]] = body["rows"]
    text = page.content()
    page.goto("/data-api")
    return rows, text
