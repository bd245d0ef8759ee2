"""In real Chromium against the demo city: a bureau admin looks a person up on /profiles,
a wrong check digit is refused, and a sealed export is checked on /seal/verify."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.catalog.models import Dataset
from gongshu.gate import service as gate
from gongshu.seal.core import platform_seal
from gongshu.seal.statements import sign_file
from gongshu.settings import Settings
from gongshu.store.models import DatasetHead, DatasetVersion
from gongshu.store.storage import LocalStorage
from tests.browser import sign_in

pytestmark = pytest.mark.browser


def _a_citizen(live_env: dict[str, str]) -> tuple[str, str]:
    """An ID number held in the demo city's data, and the title of an entry holding it."""
    engine = create_engine(live_env["GONGSHU_DATABASE_URL"])
    storage = LocalStorage(Path(live_env["GONGSHU_DATA_DIR"]) / "store")
    try:
        with Session(engine) as session:
            for dataset, version in session.execute(
                select(Dataset, DatasetVersion)
                .join(DatasetHead, DatasetHead.dataset_id == Dataset.id)
                .join(DatasetVersion, DatasetVersion.id == DatasetHead.version_id)
                .order_by(Dataset.id)
            ):
                fields = [f["name"] for f in version.schema if f.get("identifier") == "citizen_id"]
                if not fields:
                    continue
                page = gate.read_page(
                    session,
                    Actor.system("browser-test"),
                    dataset,
                    purpose="测试数据准备",
                    columns=fields[:1],
                    limit=1,
                    storage=storage,
                )
                if page.rows and page.rows[0][fields[0]]:
                    return str(page.rows[0][fields[0]]), dataset.title
    finally:
        engine.dispose()
    raise AssertionError("the demo city holds no citizen ID numbers")


def test_profile_lookup(page: Any, live_env: dict[str, str]) -> None:
    number, title = _a_citizen(live_env)
    sign_in(page, "bureau")
    page.click("nav.main-nav >> text=一人一档")
    page.wait_for_url(re.compile(r".*/profiles$"))
    page.select_option("#f-kind", "citizen_id")
    page.fill("#f-value", number)
    page.fill("#f-purpose", "社会救助资格复核")
    page.click("#profile-form button[type=submit]")
    page.wait_for_selector("#profile-total")
    assert page.url.endswith("/profiles")  # the number never enters the address
    cards = page.locator(".profile-card")
    assert cards.count() >= 1
    assert title in page.inner_text("#profile-result")
    assert number in page.inner_text("#profile-result")

    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    page.fill("#f-value", wrong)
    page.click("#profile-form button[type=submit]")
    page.wait_for_selector(".field-error")
    assert "校验位错误" in page.inner_text(".field-error")
    assert page.locator(".profile-card").count() == 0


def test_seal_verify_page(
    page: Any, live_env: dict[str, str], settings: Settings, tmp_path: Path
) -> None:
    live = settings.model_copy(update={"data_dir": Path(live_env["GONGSHU_DATA_DIR"])})
    export = tmp_path / "共享数据导出.csv"
    export.write_bytes("统一社会信用代码,企业名称\n91371300MA00000001,临沂测试企业\n".encode())
    signature = tmp_path / "共享数据导出.csv.sig.json"
    signature.write_text(json.dumps(sign_file(platform_seal(live), export, version=2)))

    page.goto("/seal/verify")  # open to anyone, signed in or not
    page.set_input_files("#f-file", str(export))
    page.set_input_files("#f-signature", str(signature))
    page.click("#seal-file-form button[type=submit]")
    page.wait_for_selector("#seal-status")
    assert page.inner_text("#seal-status") == "有效"
    assert "共享数据导出.csv" in page.inner_text("#seal-result")

    export.write_bytes(export.read_bytes() + "改动\n".encode())
    page.set_input_files("#f-file", str(export))
    page.set_input_files("#f-signature", str(signature))
    page.click("#seal-file-form button[type=submit]")
    page.wait_for_selector("#seal-status")
    assert page.inner_text("#seal-status") == "无效"
    assert "摘要不一致" in page.inner_text("#seal-message")
