"""Sign-in, account and user management pages in real Chromium (demo city on a live server)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from gongshu.demo.data import DEMO_PASSWORD

pytestmark = pytest.mark.browser


def test_sign_in_account_and_users(page: Any) -> None:
    page.goto("/users")
    page.wait_for_url(re.compile(r".*/login\?next=.*"))
    page.fill("#f-username", "nobody-at-all")
    page.fill("#f-password", "wrong-password")
    page.click("main button[type=submit]")
    assert "用户名或密码错误" in page.inner_text("main")

    page.fill("#f-username", "secadmin")
    page.fill("#f-password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r".*/users$"))
    assert page.locator("table.users-table tbody tr").count() > 1
    page.select_option("#f-role", "agency_officer")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r".*role=agency_officer.*"))
    page.click("table.users-table tbody tr:first-child a")
    page.wait_for_url(re.compile(r".*/users/\d+$"))
    assert "账户历史" in page.inner_text("main")
    page.click("a[href$='/edit']")
    page.wait_for_url(re.compile(r".*/users/\d+/edit$"))
    assert page.locator("input[name=roles][value=security_admin]").count() == 1

    page.goto("/account")
    page.fill("#f-name", "浏览器测试系统")
    page.click("form[action='/account/api-keys'] button[type=submit]")
    key = page.inner_text("#new-api-key")
    assert key.startswith("gsk_")
    page.goto("/account")
    assert page.locator("#new-api-key").count() == 0
    assert "浏览器测试系统" in page.inner_text("#api-keys")

    page.goto("/account/totp")
    page.click("form[action='/account/totp/begin'] button")
    page.wait_for_url(re.compile(r".*/account/totp$"))
    assert page.locator(".totp-qr svg").count() == 1
    assert re.fullmatch(r"[A-Z2-7]{16,}", page.inner_text("#totp-secret"))

    page.click("form[action='/logout'] button")
    page.wait_for_url(re.compile(r".*/login$"))
