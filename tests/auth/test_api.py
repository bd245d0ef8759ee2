"""Contract tests of /api/v1/users: anonymous 401, out of scope 403, unknown 404, audited."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.auth.models import Role
from gongshu.orgs.models import Agency, Region
from tests.factories import PASSWORD, Person, api_headers


def test_anonymous_denied(client: TestClient, officer: Person) -> None:
    for method, path in (
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/users"),
        ("POST", "/api/v1/users"),
        ("GET", f"/api/v1/users/{officer.user.id}"),
        ("PATCH", f"/api/v1/users/{officer.user.id}"),
        ("PUT", f"/api/v1/users/{officer.user.id}/roles"),
        ("POST", f"/api/v1/users/{officer.user.id}/unlock"),
        ("GET", f"/api/v1/users/{officer.user.id}/history"),
        ("GET", "/api/v1/api-keys"),
        ("POST", "/api/v1/api-keys"),
        ("DELETE", "/api/v1/api-keys/1"),
    ):
        response = client.request(method, path, json={})
        assert response.status_code == 401, (method, path)
        assert response.json()["error"]["code"] == "not_authenticated"


def test_other_agency_denied(client: TestClient, officer: Person, other_officer: Person) -> None:
    headers = api_headers(client, other_officer)
    assert client.get(f"/api/v1/users/{officer.user.id}", headers=headers).status_code == 403
    assert (
        client.get(f"/api/v1/users/{officer.user.id}/history", headers=headers).status_code == 403
    )
    response = client.patch(
        f"/api/v1/users/{officer.user.id}", json={"display_name": "x"}, headers=headers
    )
    assert response.status_code == 403
    listing = client.get("/api/v1/users", headers=headers).json()
    assert {u["id"] for u in listing["items"]} == {other_officer.user.id}


def test_other_district_denied(
    client: TestClient,
    district_admin: Person,
    officer: Person,
    make_person: Callable[..., Person],
    district: Region,
) -> None:
    local = make_person(Role.PUBLIC, region=district)
    headers = api_headers(client, district_admin)
    assert client.get(f"/api/v1/users/{officer.user.id}", headers=headers).status_code == 403
    assert client.get(f"/api/v1/users/{local.user.id}", headers=headers).status_code == 200
    ids = {u["id"] for u in client.get("/api/v1/users", headers=headers).json()["items"]}
    assert local.user.id in ids and officer.user.id not in ids
    response = client.post(f"/api/v1/users/{officer.user.id}/unlock", headers=headers)
    assert response.status_code == 403


def test_unknown_id_404(client: TestClient, bureau_admin: Person) -> None:
    headers = api_headers(client, bureau_admin)
    for method, path in (
        ("GET", "/api/v1/users/999999"),
        ("PATCH", "/api/v1/users/999999"),
        ("GET", "/api/v1/users/999999/history"),
        ("POST", "/api/v1/users/999999/unlock"),
        ("DELETE", "/api/v1/api-keys/999999"),
    ):
        response = client.request(method, path, json={}, headers=headers)
        assert response.status_code == 404, (method, path)


def test_create_edit_and_audit(
    client: TestClient, db: Session, bureau_admin: Person, security_admin: Person, agency: Agency
) -> None:
    headers = api_headers(client, bureau_admin)
    response = client.post(
        "/api/v1/users",
        json={
            "username": "apiuser",
            "display_name": "接口用户",
            "password": "Api-User-Pass-1",
            "agency_id": agency.id,
            "roles": ["agency_consumer"],
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["roles"] == ["agency_consumer"] and created["region_id"] == agency.region_id
    user_id = created["id"]
    entry = db.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "user.create", AuditEntry.object_id == str(user_id)
        )
    ).one()
    assert entry.actor_id == bureau_admin.user.id
    # Duplicate: 422 with the field.
    again = client.post(
        "/api/v1/users",
        json={"username": "APIUSER", "display_name": "x", "password": "Api-User-Pass-1"},
        headers=headers,
    )
    assert again.status_code == 422
    assert again.json()["error"]["errors"]["username"] == ["用户名已被使用"]
    # Weak password: 422 with the rules, in English on request.
    weak = client.post(
        "/api/v1/users",
        json={"username": "weakone", "display_name": "x", "password": "abc"},
        headers={**headers, "Accept-Language": "en"},
    )
    assert weak.status_code == 422
    assert "at least 10 characters" in weak.json()["error"]["errors"]["password"][0]
    response = client.patch(
        f"/api/v1/users/{user_id}", json={"phone": "0539-1234567"}, headers=headers
    )
    assert response.status_code == 200 and response.json()["phone"] == "0539-1234567"
    # Roles: the bureau admin may not grant auditor; the security admin may.
    response = client.put(
        f"/api/v1/users/{user_id}/roles", json={"roles": ["auditor"]}, headers=headers
    )
    assert response.status_code == 403
    sec = api_headers(client, security_admin)
    response = client.put(
        f"/api/v1/users/{user_id}/roles",
        json={"roles": ["system_admin", "security_admin"]},
        headers=sec,
    )
    assert response.status_code == 422
    response = client.put(
        f"/api/v1/users/{user_id}/roles", json={"roles": ["auditor"]}, headers=sec
    )
    assert response.status_code == 200 and response.json()["roles"] == ["auditor"]
    history = client.get(f"/api/v1/users/{user_id}/history", headers=headers).json()
    assert [h["action"] for h in history] == ["user.create", "user.update", "user.set_roles"]
    assert history[2]["changes"] == {"roles": [["agency_consumer"], ["auditor"]]}


def test_unlock_via_api(client: TestClient, officer: Person, security_admin: Person) -> None:
    for _ in range(5):
        client.post("/api/v1/auth/token", json={"username": officer.username, "password": "x"})
    locked = client.post(
        "/api/v1/auth/token", json={"username": officer.username, "password": PASSWORD}
    )
    assert locked.status_code == 401
    headers = api_headers(client, security_admin)
    response = client.post(f"/api/v1/users/{officer.user.id}/unlock", headers=headers)
    assert response.status_code == 200 and response.json()["locked_until"] is None
    assert api_headers(client, officer)


def test_openapi_documents_the_routes(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/v1/auth/token",
        "/api/v1/me",
        "/api/v1/users",
        "/api/v1/users/{user_id}",
        "/api/v1/users/{user_id}/roles",
        "/api/v1/users/{user_id}/unlock",
        "/api/v1/users/{user_id}/history",
        "/api/v1/api-keys",
        "/api/v1/api-keys/{key_id}",
    ):
        assert path in paths, path
    assert "403" in paths["/api/v1/users/{user_id}"]["get"]["responses"]
    assert "404" in paths["/api/v1/users/{user_id}"]["get"]["responses"]
