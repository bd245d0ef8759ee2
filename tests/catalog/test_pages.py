"""The catalog pages, through the test client (the browser test is in test_browser.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gongshu.catalog.models import Dataset
from tests.catalog.conftest import audit_entries, count_datasets, csrf_of, page_form
from tests.factories import Person, login


def _form(csrf: str, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "csrf_token": csrf,
        "title": "食品经营许可信息",
        "description": "许可证发放情况",
        "classification": "theme:04",
        "subitem_code": "001",
        "detail_code": "",
        "domain": "市场监管",
        "format": "database",
        "update_cycle": "weekly",
        "level": "general_1",
        "share_type": "unconditional",
        "open_type": "unconditional",
        "fields-0-name": "licence_no",
        "fields-0-label": "许可证编号",
        "fields-0-data_type": "string",
        "fields-0-is_key": "1",
        "fields-0-required": "1",
        "fields-0-sensitivity": "none",
        "fields-1-name": "",
        "fields-1-label": "",
        "fields-2-name": "holder",
        "fields-2-label": "经营者名称",
        "fields-2-length": "200",
        "fields-2-data_type": "string",
        "fields-2-sensitivity": "name",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_anonymous_is_sent_to_login(client: TestClient) -> None:
    for url in ("/catalog", "/catalog/new", "/catalog/1", "/catalog/1/edit"):
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


def test_create_through_the_form(client: TestClient, officer: Person, db: Session) -> None:
    login(client, officer)
    page = client.get("/catalog/new")
    assert page.status_code == 200
    assert "法律法规依据" in page.text and "/static/catalog.js" in page.text
    assert page.text.count('name="fields-') >= 5 * 9  # blank rows work without JavaScript
    response = client.post("/catalog/new", data=_form(csrf_of(page.text)), follow_redirects=False)
    assert response.status_code == 303, response.text
    detail = client.get(response.headers["location"])
    assert "204001/0001" in detail.text
    fields = client.get(response.headers["location"] + "?tab=fields")
    assert "licence_no" in fields.text and "holder" in fields.text
    dataset_id = int(response.headers["location"].rsplit("/", 1)[1])
    (entry,) = audit_entries(db, dataset_id)
    assert entry.action == "dataset.create"
    assert entry.changes["fields.holder"][1]["sensitivity"] == "name"


def test_errors_keep_the_input(client: TestClient, officer: Person, db: Session) -> None:
    login(client, officer)
    csrf = page_form(client, "/catalog/new")
    response = client.post(
        "/catalog/new",
        data=_form(
            csrf,
            title="<script>alert('x')</script>",
            share_type="conditional",
            open_type="none",
            level="general_3",
            **{"fields-2-name": "licence_no"},
        ),
    )
    assert response.status_code == 422
    text = response.text
    assert "没有依据的，应当列为无条件共享" in text
    assert "信息项名称“licence_no”重复" in text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in text
    assert "<script>alert" not in text
    assert 'value="经营者名称"' in text
    assert '<option value="theme:04" selected>' in text
    assert count_datasets(db) == 0


def test_a_10000_character_title_is_refused(
    client: TestClient, officer: Person, db: Session
) -> None:
    login(client, officer)
    csrf = page_form(client, "/catalog/new")
    response = client.post("/catalog/new", data=_form(csrf, title="长" * 10_000))
    assert response.status_code == 422
    assert "长度不能超过 200 个字符" in response.text
    assert count_datasets(db) == 0


def test_csrf_is_required(client: TestClient, officer: Person, db: Session) -> None:
    login(client, officer)
    response = client.post("/catalog/new", data=_form("wrong"))
    assert response.status_code == 403
    assert count_datasets(db) == 0


def test_html_in_entries_is_escaped(
    client: TestClient, make_dataset: Callable[..., Dataset], officer: Person
) -> None:
    ds = make_dataset(title="<b>粗体</b>名称", description="<img src=x onerror=alert(1)>")
    login(client, officer)
    for url in ("/catalog", f"/catalog/{ds.id}", f"/catalog/{ds.id}/edit"):
        text = client.get(url).text
        assert "<b>粗体</b>" not in text and "&lt;b&gt;粗体&lt;/b&gt;" in text, url
        assert "<img src=x" not in text


def test_list_filters_and_visibility(
    client: TestClient,
    make_dataset: Callable[..., Dataset],
    officer: Person,
    other_officer: Person,
) -> None:
    ds = make_dataset()
    make_dataset(title="行政处罚信息", open_type="conditional", open_conditions="实名申请")
    login(client, officer)
    page = client.get("/catalog")
    assert ds.code in page.text and "行政处罚信息" in page.text
    assert "草稿" in page.text and 'class="badge badge-draft"' in page.text
    filtered = client.get("/catalog?open_type=conditional&level=&q=")
    assert "行政处罚信息" in filtered.text and "企业登记基本信息" not in filtered.text
    assert client.get("/catalog?level=bogus").status_code == 200
    export = client.get("/catalog/export?format=csv&open_type=conditional")
    assert export.status_code == 200 and "行政处罚信息" in export.content.decode("utf-8-sig")
    client.cookies.clear()
    login(client, other_officer)
    assert ds.code not in client.get("/catalog").text
    assert client.get(f"/catalog/{ds.id}").status_code == 404


def test_edit_through_the_form_shows_in_history(
    client: TestClient, make_dataset: Callable[..., Dataset], officer: Person, db: Session
) -> None:
    ds = make_dataset()
    login(client, officer)
    page = client.get(f"/catalog/{ds.id}/edit")
    assert page.status_code == 200
    assert 'name="lock_version" value="1"' in page.text
    form = {
        "csrf_token": csrf_of(page.text),
        "lock_version": "1",
        "title": "企业登记信息",
        "format": "database",
        "update_cycle": "daily",
        "level": "general_1",
        "share_type": "unconditional",
        "open_type": "unconditional",
        "domain": "市场监管",
        "description": "全市市场主体登记的基本信息",
        "fields-0-name": "credit_code",
        "fields-0-label": "统一社会信用代码",
        "fields-0-data_type": "string",
        "fields-0-length": "18",
        "fields-0-is_key": "1",
        "fields-0-required": "1",
        "fields-0-sensitivity": "credit_code",
        "fields-1-name": "name",
        "fields-1-label": "企业名称",
        "fields-1-data_type": "string",
        "fields-1-length": "200",
        "fields-1-required": "1",
        "fields-1-sensitivity": "none",
    }
    response = client.post(f"/catalog/{ds.id}/edit", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    entry = audit_entries(db, ds.id, "dataset.update")[0]
    assert entry.changes["title"] == ["企业登记基本信息", "企业登记信息"]
    assert entry.changes["fields.registered_on"][1] is None
    history = client.get(f"/catalog/{ds.id}?tab=history").text
    assert "修改条目" in history and officer.user.display_name in history
    assert "企业登记基本信息" in history and "企业登记信息" in history
    assert "信息项 registered_on" in history
    # The same form again carries the old lock_version: someone changed it meanwhile.
    stale = client.post(f"/catalog/{ds.id}/edit", data={**form, "title": "再改"})
    assert stale.status_code == 409
    assert "已被他人修改" in stale.text
    assert 'value="再改"' in stale.text


def test_other_agency_cannot_open_the_edit_form(
    client: TestClient,
    make_dataset: Callable[..., Dataset],
    other_officer: Person,
    bureau_admin: Person,
    publish: Callable[[Dataset], Dataset],
) -> None:
    ds = make_dataset()
    login(client, other_officer)
    assert client.get(f"/catalog/{ds.id}/edit").status_code == 404
    publish(ds)
    assert client.get(f"/catalog/{ds.id}/edit").status_code == 403
    client.cookies.clear()
    login(client, bureau_admin)
    assert client.get(f"/catalog/{ds.id}").status_code == 200
    assert client.get("/catalog/new").status_code == 403


def test_unknown_entry_is_404(client: TestClient, officer: Person) -> None:
    login(client, officer)
    assert client.get("/catalog/424242").status_code == 404
    assert client.get("/catalog/424242?tab=history").status_code == 404


def test_pages_in_english(
    client: TestClient, make_dataset: Callable[..., Dataset], officer: Person
) -> None:
    ds = make_dataset()
    login(client, officer)
    text = client.get(f"/catalog/{ds.id}?lang=en").text
    assert "Resource code" in text and "Overview" in text


def test_related_entries_link_to_what_the_reader_may_see(
    client: TestClient, officer: Person, make_dataset: Callable[..., Dataset]
) -> None:
    first = make_dataset(title="企业年报信息")
    second = make_dataset(title="企业变更登记信息", related_codes=[first.code])
    login(client, officer)
    page = client.get(f"/catalog/{second.id}")
    assert page.status_code == 200
    assert f'href="/catalog/{first.id}"' in page.text
    assert "企业年报信息" in page.text
