"""Conditional opening in real Chromium against the demo city: a member of the public
registers, applies for a conditional entry and accepts the generated agreement; the
provider's data officer approves part of the fields; the applicant then reads the rows
through the data API with its session — only the approved fields, the name masked.

The demo city's conditional entries carry no rows, so the test first publishes a few rows
of 医师执业注册信息 (市卫生健康委员会, general_2) through the real store, as its officer.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.auth import service as auth_service
from gongshu.auth.models import User
from gongshu.catalog.models import Dataset, FieldType
from gongshu.db import make_engine
from gongshu.portal.naming import dataset_slug
from gongshu.settings import Settings
from gongshu.store.storage import get_storage
from tests.accessibility import assert_accessible, assert_keyboard_reachable
from tests.browser import sign_in
from tests.portal.city import write_rows

pytestmark = pytest.mark.browser

ENTRY = "医师执业注册信息"
OFFICER = "wjw_officer"
APPROVED = ("certificate_no", "physician_name")
NAMES = ["张明华", "王丽", "李建国", "赵晓敏", "陈志强"]
PASSWORD = "Kaifang-Shenqing-2026"


def _value(kind: FieldType, i: int, name: str) -> Any:
    if kind is FieldType.DATE:
        return dt.date(2020, 1, 1) + dt.timedelta(days=37 * i)
    if kind in (FieldType.INTEGER,):
        return i
    if name == "physician_name":
        return NAMES[i % len(NAMES)]
    return f"{name}-{i:04d}"


def publish_rows(env: dict[str, str]) -> tuple[str, list[dict[str, Any]]]:
    """Publish rows of the entry in the live server's database; its code and the rows."""
    settings = Settings(
        database_url=env["GONGSHU_DATABASE_URL"], data_dir=Path(env["GONGSHU_DATA_DIR"])
    )
    engine = make_engine(settings)
    try:
        with Session(engine, expire_on_commit=False) as session:
            dataset = session.scalars(select(Dataset).where(Dataset.title == ENTRY)).one()
            officer = session.scalars(select(User).where(User.username == OFFICER)).one()
            rows = [
                {f.name: _value(f.data_type, i, f.name) for f in dataset.fields} for i in range(5)
            ]
            write_rows(
                session,
                auth_service.actor_for_user(officer),
                get_storage(settings),
                dataset,
                rows,
            )
            return dataset.code, rows
    finally:
        engine.dispose()


def post(page: Any, form: str, expect: str) -> None:
    page.click(f"{form} button[type=submit]")
    try:
        page.wait_for_url(re.compile(expect), timeout=10000)
    except Exception as exc:
        raise AssertionError(f"stayed on {page.url}:\n{page.inner_text('main')[:2000]}") from exc


def sign_out(page: Any) -> None:
    page.click("form[action='/logout'] button")
    page.wait_for_url(re.compile(r".*/login.*"))


def test_register_apply_approve_and_read(page: Any, live_env: dict[str, str]) -> None:
    code, rows = publish_rows(live_env)
    slug = dataset_slug(code)

    page.goto("/register")
    assert_keyboard_reachable(page)
    assert_accessible(page)
    page.check("#f-kind-individual")
    page.fill("#f-username", "browser_citizen")
    page.fill("#f-real_name", "周开放")
    page.fill("#f-email", "zhou@example.cn")
    page.fill("#f-password", PASSWORD)
    page.fill("#f-confirm_password", PASSWORD)
    page.check("#f-agree")
    post(page, "form.opening-register-form", r".*/\?msg=registered$")

    page.goto(f"/dataset/{slug}/apply")
    assert ENTRY in page.inner_text("h1")
    assert_accessible(page)
    page.fill("#f-scenario", "医疗资源分布研究")
    page.fill("#f-purpose", "统计各机构执业医师数量")
    for name in (*APPROVED, "institution_name"):
        page.check(f"input[name=fields][value={name}]")
    page.fill("#f-security_measures", "加密存储，专人管理，不向第三方提供")
    page.fill("#f-requested_until", (dt.date.today() + dt.timedelta(days=200)).isoformat())
    page.check("#f-reporting_committed")
    post(page, "form.opening-apply-form", r".*/applications/\d+\?msg=created")
    url = page.url.split("?")[0]
    agreement = page.inner_text(".opening-agreement")
    assert "周开放" in agreement and ENTRY in agreement and "违约责任" in agreement
    sha = page.inner_text(".opening-sha")
    assert_accessible(page)
    page.check("#f-agree")
    post(page, "form.opening-accept-form", r".*\?msg=accepted$")
    assert "待答复" in page.inner_text(".opening-state")
    assert "剩余" in page.inner_text(".opening-deadline")
    assert sha == page.inner_text(".opening-sha")
    page.goto("/applications")
    assert_accessible(page)
    page.goto("/account")
    assert_accessible(page)
    sign_out(page)

    sign_in(page, OFFICER)
    page.goto("/applications")
    assert "剩余" in page.inner_text("table.opening-applications")
    page.click(f"table.opening-applications a:has-text('{ENTRY}')")
    page.wait_for_url(re.compile(r".*/applications/\d+$"))
    assert page.url == url
    assert_accessible(page)
    page.check("#f-outcome-approve")
    for name in APPROVED:
        page.check(f"form.opening-decide-form input[name=fields][value={name}]")
    page.fill("form.opening-decide-form textarea[name=reason]", "用途正当，开放两个信息项")
    post(page, "form.opening-decide-form", r".*\?msg=approve$")
    assert "已同意" in page.inner_text(".opening-state")
    sign_out(page)

    page.goto("/login")
    page.fill("#f-username", "browser_citizen")
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))
    page.goto(url)
    page.click("a:has-text('读取数据')")
    page.wait_for_url(re.compile(r".*/api/v1/data/.+/rows\?.*"))
    body = json.loads(page.inner_text("body"))
    assert {f["name"]: f["masked"] for f in body["fields"]} == {
        "certificate_no": False,
        "physician_name": True,
    }
    assert len(body["rows"]) == len(rows)
    clear = {r["certificate_no"]: r["physician_name"] for r in rows}
    for row in body["rows"]:
        name = clear[row["certificate_no"]]
        assert row["physician_name"] != name and row["physician_name"][0] == name[0]
        assert "institution_name" not in row
    text = page.content()
    for name in NAMES:
        assert name not in text
