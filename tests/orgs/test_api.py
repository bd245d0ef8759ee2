"""The JSON API of regions and agencies: the contract checks, filters, history."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gongshu.audit.service import history
from gongshu.identifiers import make_credit_code
from gongshu.orgs.models import Agency, Region
from tests.factories import Person, api_headers


def new_agency(region: Region, **kw: object) -> dict[str, object]:
    body: dict[str, object] = {
        "name": "临沂市农业农村局",
        "credit_code": make_credit_code("11371300MB7777777"),
        "region_id": region.id,
        "kind": "government",
        "domain": "农业",
    }
    body.update(kw)
    return body


def test_anonymous_is_401(client: TestClient, agency: Agency) -> None:
    for method, url in [
        ("GET", "/api/v1/regions"),
        ("GET", "/api/v1/agencies"),
        ("GET", f"/api/v1/agencies/{agency.id}"),
        ("GET", f"/api/v1/agencies/{agency.id}/history"),
        ("PATCH", f"/api/v1/agencies/{agency.id}"),
        ("POST", "/api/v1/agencies"),
    ]:
        response = client.request(method, url, json={})
        assert response.status_code == 401, (method, url)
        assert response.json()["error"]["code"] == "not_authenticated"


def test_list_regions(client: TestClient, district: Region, officer: Person) -> None:
    response = client.get("/api/v1/regions", headers=api_headers(client, officer))
    assert response.status_code == 200
    codes = [r["code"] for r in response.json()]
    assert codes == ["371300", "371302"]


def test_create_region_needs_region_manage(
    client: TestClient, city: Region, bureau_admin: Person, system_admin: Person
) -> None:
    body = {"code": "371311", "name": "罗庄区", "level": "district", "parent_id": city.id}
    denied = client.post("/api/v1/regions", json=body, headers=api_headers(client, bureau_admin))
    assert denied.status_code == 403
    created = client.post("/api/v1/regions", json=body, headers=api_headers(client, system_admin))
    assert created.status_code == 201, created.text
    assert created.json()["code"] == "371311"
    again = client.post("/api/v1/regions", json=body, headers=api_headers(client, system_admin))
    assert again.status_code == 422
    assert "code" in again.json()["error"]["errors"]


def test_create_agency_writes_an_audit_entry(
    client: TestClient, db: Session, city: Region, bureau_admin: Person
) -> None:
    response = client.post(
        "/api/v1/agencies", json=new_agency(city), headers=api_headers(client, bureau_admin)
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "临沂市农业农村局"
    assert body["is_active"] is True
    (entry,) = history(db, "agency", body["id"])
    assert entry.action == "agency.create"
    assert entry.actor_id == bureau_admin.user.id


def test_create_agency_validation_errors(
    client: TestClient, city: Region, bureau_admin: Person
) -> None:
    headers = api_headers(client, bureau_admin)
    bad = client.post(
        "/api/v1/agencies",
        json=new_agency(city, credit_code="91110000600037341A"),
        headers=headers,
    )
    assert bad.status_code == 422
    (message,) = bad.json()["error"]["errors"]["credit_code"]
    assert "统一社会信用代码校验位错误" in message and "“L”" in message
    english = client.post(
        "/api/v1/agencies",
        json=new_agency(city, credit_code="91110000600037341A"),
        headers={**headers, "Accept-Language": "en"},
    )
    assert "check character" in english.json()["error"]["errors"]["credit_code"][0]
    long_name = client.post(
        "/api/v1/agencies", json=new_agency(city, name="局" * 10000), headers=headers
    )
    assert long_name.status_code == 422
    assert long_name.json()["error"]["errors"]["name"] == ["长度不能超过 100 个字符"]
    missing = client.post("/api/v1/agencies", json={"name": "某局"}, headers=headers)
    assert missing.status_code == 422
    assert {"credit_code", "region_id", "kind"} <= set(missing.json()["error"]["errors"])


def test_officer_cannot_create(client: TestClient, city: Region, officer: Person) -> None:
    response = client.post(
        "/api/v1/agencies", json=new_agency(city), headers=api_headers(client, officer)
    )
    assert response.status_code == 403


def test_unknown_agency_is_404(client: TestClient, officer: Person, bureau_admin: Person) -> None:
    headers = api_headers(client, officer)
    for url in ("/api/v1/agencies/999999", "/api/v1/agencies/999999/history"):
        response = client.get(url, headers=headers)
        assert response.status_code == 404
        assert response.json()["error"]["message"] == "机构不存在"
    patch = client.patch(
        "/api/v1/agencies/999999", json={"domain": "x"}, headers=api_headers(client, bureau_admin)
    )
    assert patch.status_code == 404


def test_district_admin_denied_for_another_districts_agency(
    client: TestClient,
    make_agency: Callable[..., Agency],
    district: Region,
    other_district: Region,
    district_admin: Person,
) -> None:
    theirs = make_agency("罗庄区卫生健康局", region=other_district)
    mine = make_agency("兰山区卫生健康局", region=district)
    headers = api_headers(client, district_admin)
    denied = client.patch(f"/api/v1/agencies/{theirs.id}", json={"domain": "卫生"}, headers=headers)
    assert denied.status_code == 403
    created = client.post("/api/v1/agencies", json=new_agency(other_district), headers=headers)
    assert created.status_code == 403
    ok = client.patch(f"/api/v1/agencies/{mine.id}", json={"domain": "卫生"}, headers=headers)
    assert ok.status_code == 200
    assert ok.json()["domain"] == "卫生"
    # Reading is open to every signed-in user.
    assert client.get(f"/api/v1/agencies/{theirs.id}", headers=headers).status_code == 200


def test_get_agency_detail(
    client: TestClient, db: Session, agency: Agency, officer: Person
) -> None:
    from gongshu.orgs import service
    from gongshu.orgs.schemas import AgencyUpdate
    from tests.factories import SYSTEM

    service.update_agency(
        db, SYSTEM, agency.id, AgencyUpdate(chief_data_officer_id=officer.user.id)
    )
    response = client.get(f"/api/v1/agencies/{agency.id}", headers=api_headers(client, officer))
    assert response.status_code == 200
    body = response.json()
    assert body["region"]["code"] == "371300"
    assert body["chief_data_officer"]["id"] == officer.user.id
    assert [u["id"] for u in body["data_officers"]] == [officer.user.id]
    assert body["dataset_count"] == 0 and body["published_count"] == 0


def test_patch_and_history(client: TestClient, agency: Agency, bureau_admin: Person) -> None:
    headers = api_headers(client, bureau_admin)
    response = client.patch(
        f"/api/v1/agencies/{agency.id}",
        json={"short_name": "市场监管局", "kind": "institution"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    items = client.get(f"/api/v1/agencies/{agency.id}/history", headers=headers).json()
    assert [i["action"] for i in items] == ["agency.create", "agency.update"]
    changes = {c["field"]: (c["old"], c["new"]) for c in items[1]["changes"]}
    assert changes == {"kind": ("government", "institution"), "short_name": ("", "市场监管局")}
    assert items[1]["actor_name"] == bureau_admin.user.display_name


def test_list_filters_and_pagination(
    client: TestClient,
    make_agency: Callable[..., Agency],
    district: Region,
    officer: Person,
) -> None:
    make_agency("兰山区自然资源局", region=district, domain="自然资源")
    make_agency("临沂市自然资源和规划局", domain="自然资源", kind="institution")
    headers = api_headers(client, officer)

    def names(**params: object) -> list[str]:
        response = client.get("/api/v1/agencies", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [a["name"] for a in response.json()["items"]]

    assert len(names()) == 3  # including the officer's own agency
    assert names(q="自然资源", order="name") == sorted(
        ["兰山区自然资源局", "临沂市自然资源和规划局"]
    )
    assert names(region_id=district.id) == ["兰山区自然资源局"]
    assert names(kind="institution") == ["临沂市自然资源和规划局"]
    assert names(domain="自然资源", q="兰山") == ["兰山区自然资源局"]
    assert names(q="100%_") == []
    page = client.get("/api/v1/agencies", params={"per_page": 2, "page": 2}, headers=headers).json()
    assert page["total"] == 3 and page["page"] == 2 and len(page["items"]) == 1
    assert client.get("/api/v1/agencies?per_page=0", headers=headers).status_code == 422
