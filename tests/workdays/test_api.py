"""The calendar API: contract checks, overrides, the deadline calculator."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gongshu.audit.service import history
from tests.factories import Person, api_headers


def test_anonymous_is_401(client: TestClient) -> None:
    for method, url in [
        ("GET", "/api/v1/calendar/overrides"),
        ("POST", "/api/v1/calendar/overrides"),
        ("DELETE", "/api/v1/calendar/overrides/2027-01-01"),
        ("GET", "/api/v1/calendar/days/2027-01-01"),
        ("GET", "/api/v1/calendar/deadline?start=2026-12-20&days=15"),
    ]:
        response = client.request(method, url, json={})
        assert response.status_code == 401, (method, url)
        assert response.json()["error"]["code"] == "not_authenticated"


def test_non_admins_may_not_change_overrides(
    client: TestClient, officer: Person, district_admin: Person, security_admin: Person
) -> None:
    body = {"day": "2027-01-01", "is_workday": False, "note": "元旦"}
    for person in (officer, district_admin, security_admin):
        headers = api_headers(client, person)
        assert (
            client.post("/api/v1/calendar/overrides", json=body, headers=headers).status_code == 403
        )
        deleted = client.delete("/api/v1/calendar/overrides/2027-01-01", headers=headers)
        assert deleted.status_code == 403


def test_override_round_trip(client: TestClient, db: Session, bureau_admin: Person) -> None:
    headers = api_headers(client, bureau_admin)
    body = {"day": "2027-01-01", "is_workday": False, "note": "元旦"}
    created = client.post("/api/v1/calendar/overrides", json=body, headers=headers)
    assert created.status_code == 200, created.text
    assert created.json()["day"] == "2027-01-01"
    assert created.json()["is_workday"] is False

    listed = client.get("/api/v1/calendar/overrides?year=2027", headers=headers)
    assert [o["note"] for o in listed.json()] == ["元旦"]
    assert client.get("/api/v1/calendar/overrides?year=2026", headers=headers).json() == []

    day = client.get("/api/v1/calendar/days/2027-01-01", headers=headers).json()
    assert day == {"day": "2027-01-01", "is_workday": False, "source": "override"}

    assert (
        client.delete("/api/v1/calendar/overrides/2027-01-01", headers=headers).status_code == 204
    )
    again = client.delete("/api/v1/calendar/overrides/2027-01-01", headers=headers)
    assert again.status_code == 404
    actions = [e.action for e in history(db, "calendar_override", "2027-01-01")]
    assert actions == ["calendar.override_set", "calendar.override_delete"]


def test_override_validation(client: TestClient, bureau_admin: Person) -> None:
    headers = api_headers(client, bureau_admin)
    bad = client.post(
        "/api/v1/calendar/overrides",
        json={"day": "2027-02-30", "is_workday": "maybe"},
        headers=headers,
    )
    assert bad.status_code == 422
    assert set(bad.json()["error"]["errors"]) >= {"day", "is_workday"}


def test_deadline_preview(client: TestClient, officer: Person) -> None:
    headers = api_headers(client, officer)
    response = client.get("/api/v1/calendar/deadline?start=2026-12-20&days=15", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["due_on"] == "2027-01-08"
    assert body["provisional"] is True
    assert body["rule"] == "15 个工作日"
    assert body["due_at"].startswith("2027-01-09T00:00:00+08:00")

    known = client.get("/api/v1/calendar/deadline?start=2026-09-30&days=1", headers=headers).json()
    assert known["due_on"] == "2026-10-08" and known["provisional"] is False

    for query in ("start=2026-12-20&days=0", "start=x&days=3", "days=3"):
        bad = client.get(f"/api/v1/calendar/deadline?{query}", headers=headers)
        assert bad.status_code == 422, query
