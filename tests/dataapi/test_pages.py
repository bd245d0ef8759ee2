"""The data API's pages: the help page lists the reader's own entries with working example
calls; the fingerprint page traces an export for the bureau and refuses everyone else."""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gongshu.catalog.models import Dataset
from gongshu.db import unit_of_work
from gongshu.share.issuing import issue_grant
from gongshu.share.models import GrantKind
from gongshu.store.models import DatasetVersion
from tests.factories import Person, login


def test_help_page_lists_own_and_granted_entries_with_working_links(
    db: Session,
    api: TestClient,
    officer: Person,
    other_officer: Person,
    bureau_admin: Person,
    entry: Dataset,
    version: DatasetVersion,
) -> None:
    login(api, officer)
    page = api.get("/data-api")
    assert page.status_code == 200
    assert entry.title in page.text and "本单位数据" in page.text
    assert "X-Gongshu-Purpose" in page.text and "每个密钥每分钟 600 次" in page.text
    links = [
        html.unescape(h)
        for h in re.findall(r'href="(http://testserver/api/v1/data/[^"]+)"', page.text)
    ]
    assert any(link.endswith("/export.csv?_purpose=" + quote("数据核验")) for link in links)
    rows_link = next(link for link in links if "/rows?" in link)
    answer = api.get(rows_link)  # the session cookie is a credential too
    assert answer.status_code == 200 and len(answer.json()["rows"]) == 10
    assert "指纹追溯" not in page.text  # only for those who may trace

    api.cookies.clear()
    login(api, other_officer)
    assert entry.title not in api.get("/data-api").text
    with unit_of_work(db):
        issue_grant(
            db,
            bureau_admin.actor,
            dataset=entry,
            agency_id=other_officer.user.agency_id,
            kind=GrantKind.REQUEST,
            purpose="核查",
        )
    granted = api.get("/data-api")
    assert entry.title in granted.text and "共享授权" in granted.text
    english = api.get("/data-api?lang=en")
    assert "Data you can call" in english.text and "Shared by grant" in english.text


def test_fingerprint_page_traces_for_the_bureau_only(
    api: TestClient,
    officer: Person,
    bureau_admin: Person,
    entry: Dataset,
    version: DatasetVersion,
) -> None:
    login(api, officer)
    export = api.get(f"/api/v1/data/{entry.code}/export.json?_purpose=check")
    fingerprint = export.headers["X-Gongshu-Fingerprint"]
    assert api.get("/data-api/fingerprints").status_code == 403
    api.cookies.clear()
    login(api, bureau_admin)
    assert "指纹追溯" in api.get("/data-api").text
    empty = api.get("/data-api/fingerprints")
    assert empty.status_code == 200 and 'name="fp"' in empty.text
    found = api.get(f"/data-api/fingerprints?fp={fingerprint}")
    assert found.status_code == 200
    assert entry.title in found.text and "json" in found.text
    assert export.headers["X-Gongshu-Export-Id"] in found.text
    bad = api.get("/data-api/fingerprints?fp=xyz")
    assert bad.status_code == 422 and "十六进制" in bad.text
    unknown = api.get("/data-api/fingerprints?fp=" + "cd" * 16)
    assert unknown.status_code == 404 and "没有找到" in unknown.text
