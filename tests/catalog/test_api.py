"""The catalog's JSON API."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from gongshu.catalog.models import Dataset
from tests.catalog.conftest import api_payload, audit_entries, count_datasets
from tests.factories import Person, api_headers

LEGAL = "共享属性为有条件共享或不予共享时，必须填写法律法规依据；没有依据的，应当列为无条件共享"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/api/v1/datasets"),
        ("POST", "/api/v1/datasets"),
        ("GET", "/api/v1/datasets/1"),
        ("PATCH", "/api/v1/datasets/1"),
        ("GET", "/api/v1/datasets/1/history"),
        ("GET", "/api/v1/catalog/export?format=csv"),
    ],
)
def test_anonymous_is_refused(client: TestClient, method: str, url: str) -> None:
    response = client.request(method, url, json={} if method in ("POST", "PATCH") else None)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_create_read_and_list(client: TestClient, officer: Person, db: Session) -> None:
    headers = api_headers(client, officer)
    response = client.post("/api/v1/datasets", json=api_payload(), headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["code"] == "204001/0001"
    assert body["state"] == "draft"
    assert body["lock_version"] == 1
    assert [f["name"] for f in body["fields"]] == ["licence_no", "holder"]
    got = client.get(f"/api/v1/datasets/{body['id']}", headers=headers).json()
    assert got["title"] == "食品经营许可信息"
    page = client.get("/api/v1/datasets?share_type=unconditional&per_page=5", headers=headers)
    assert page.status_code == 200
    assert page.json()["total"] == 1 and page.json()["per_page"] == 5
    assert client.get("/api/v1/datasets?level=bogus", headers=headers).status_code == 422
    (entry,) = audit_entries(db, body["id"])
    assert entry.action == "dataset.create"


def test_rules_come_back_per_field(client: TestClient, officer: Person, db: Session) -> None:
    headers = api_headers(client, officer)
    response = client.post(
        "/api/v1/datasets",
        json=api_payload(share_type="conditional", open_type="none", level="general_3"),
        headers=headers,
    )
    assert response.status_code == 422
    assert response.json()["error"]["errors"]["legal_basis"] == [LEGAL]
    response = client.post(
        "/api/v1/datasets", json=api_payload(title="长" * 10_000), headers=headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["errors"]["title"] == ["长度不能超过 200 个字符"]
    assert count_datasets(db) == 0


def test_english_messages(client: TestClient, officer: Person) -> None:
    headers = {**api_headers(client, officer), "Accept-Language": "en"}
    response = client.post(
        "/api/v1/datasets",
        json=api_payload(share_type="none", open_type="none", level="general_3"),
        headers=headers,
    )
    assert "legal basis" in response.json()["error"]["errors"]["legal_basis"][0]


def test_unknown_and_invisible_entries_are_404(
    client: TestClient,
    make_dataset: Callable[..., Dataset],
    other_officer: Person,
    officer: Person,
) -> None:
    ds = make_dataset()
    theirs = api_headers(client, other_officer)
    for url in (f"/api/v1/datasets/{ds.id}", f"/api/v1/datasets/{ds.id}/history"):
        response = client.get(url, headers=theirs)
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "目录条目不存在"
    mine = api_headers(client, officer)
    assert client.get("/api/v1/datasets/999999", headers=mine).status_code == 404
    assert client.get(f"/api/v1/datasets/{10**30}", headers=mine).status_code in (404, 422)
    assert client.get("/api/v1/datasets", headers=theirs).json()["total"] == 0


def test_edit_permissions(
    client: TestClient,
    make_dataset: Callable[..., Dataset],
    other_officer: Person,
    bureau_admin: Person,
    publish: Callable[[Dataset], Dataset],
) -> None:
    ds = make_dataset()
    url = f"/api/v1/datasets/{ds.id}"
    response = client.patch(url, json={"title": "改名"}, headers=api_headers(client, other_officer))
    assert response.status_code == 404
    response = client.patch(url, json={"title": "改名"}, headers=api_headers(client, bureau_admin))
    assert response.status_code == 403
    publish(ds)
    response = client.patch(url, json={"title": "改名"}, headers=api_headers(client, other_officer))
    assert response.status_code == 403


def test_patch_audits_and_stale_version_conflicts(
    client: TestClient, make_dataset: Callable[..., Dataset], officer: Person, db: Session
) -> None:
    ds = make_dataset()
    headers = api_headers(client, officer)
    url = f"/api/v1/datasets/{ds.id}"
    fields = client.get(url, headers=headers).json()["fields"]
    fields[0]["label"] = "信用代码"
    response = client.patch(
        url, json={"lock_version": 1, "update_cycle": "weekly", "fields": fields}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.json()["lock_version"] == 2
    stale = client.patch(url, json={"lock_version": 1, "title": "又改了"}, headers=headers)
    assert stale.status_code == 409
    assert "已被他人修改" in stale.json()["error"]["message"]
    history = client.get(f"{url}/history", headers=headers).json()
    assert [h["action"] for h in history] == ["dataset.create", "dataset.update"]
    assert history[1]["changes"] == {
        "update_cycle": ["daily", "weekly"],
        "fields.credit_code.label": ["统一社会信用代码", "信用代码"],
    }
    assert len(audit_entries(db, ds.id)) == 2


def test_export_endpoint(
    client: TestClient, make_dataset: Callable[..., Dataset], officer: Person
) -> None:
    make_dataset(title="=1+1")
    headers = api_headers(client, officer)
    response = client.get("/api/v1/catalog/export?format=csv", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == 'attachment; filename="catalog.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert "'=1+1" in response.content.decode("utf-8-sig")
    response = client.get("/api/v1/catalog/export?format=xlsx", headers=headers)
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.worksheets[0].cell(row=2, column=2).value == "'=1+1"
    assert client.get("/api/v1/catalog/export?format=pdf", headers=headers).status_code == 422


def test_vocabularies(client: TestClient) -> None:
    classes = client.get("/api/v1/catalog/classification").json()
    assert classes["code_pattern"] == r"^[1-3]\d{5}[0-9A-Z]*/\d+$"
    assert [c["digit"] for c in classes["classes"]] == ["1", "2", "3"]
    assert classes["classes"][0]["items"][0] == {"code": "01", "name": "人口"}
    english = client.get("/api/v1/catalog/classification", headers={"Accept-Language": "en"})
    assert english.json()["classes"][0]["items"][0]["name"] == "Population"
    grading = client.get("/api/v1/catalog/grading").json()
    assert grading[0] == {
        "level": "core",
        "name": "核心数据",
        "share": ["conditional", "none"],
        "open": ["none"],
    }
    assert grading[-1]["level"] == "general_1"
    assert (
        "/api/v1/datasets/{dataset_id}/history"
        in client.get("/api/v1/openapi.json").json()["paths"]
    )
