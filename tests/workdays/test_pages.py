"""The calendar page: access, the year view, override forms, the calculator."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gongshu.audit.service import history
from gongshu.workdays.queries import list_overrides
from tests.factories import Person, csrf_of, login


def test_anonymous_is_sent_to_login(client: TestClient) -> None:
    response = client.get("/admin/calendar", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_non_admin_is_403(client: TestClient, officer: Person) -> None:
    login(client, officer)
    assert client.get("/admin/calendar").status_code == 403
    token = csrf_of(client)
    posted = client.post(
        "/admin/calendar/overrides",
        data={"csrf_token": token, "day": "2027-01-01", "is_workday": "0"},
        follow_redirects=False,
    )
    assert posted.status_code == 403


def test_year_view_shows_holidays_and_swapped_days(
    client: TestClient, bureau_admin: Person
) -> None:
    login(client, bureau_admin)
    page = client.get("/admin/calendar?year=2026")
    assert page.status_code == 200
    assert "2026-10-01" in page.text and "2026-10-10" in page.text  # National Day, 调休 Saturday
    assert "尚未收录" not in page.text
    future = client.get("/admin/calendar?year=2027")
    assert "2027 年的节假日安排尚未收录" in future.text
    english = client.get("/admin/calendar?year=2026&lang=en")
    assert "Working-day calendar" in english.text and "State Council arrangement" in english.text


def test_calculator(client: TestClient, bureau_admin: Person) -> None:
    login(client, bureau_admin)
    page = client.get("/admin/calendar?start=2026-12-20&days=15")
    assert "2027-01-08" in page.text
    assert "（暂定）" in page.text
    known = client.get("/admin/calendar?start=2026-09-30&days=1")
    assert "2026-10-08" in known.text
    bad = client.get("/admin/calendar?start=2026-09-30&days=0")
    assert bad.status_code == 200 and "不能小于 1" in bad.text


def test_add_edit_delete(client: TestClient, db: Session, bureau_admin: Person) -> None:
    login(client, bureau_admin)
    token = csrf_of(client, "/admin/calendar")
    added = client.post(
        "/admin/calendar/overrides",
        data={"csrf_token": token, "day": "2027-01-01", "is_workday": "0", "note": "元旦"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert added.headers["location"] == "/admin/calendar?year=2027"
    page = client.get("/admin/calendar?year=2027&edit=2027-01-01")
    assert 'value="元旦"' in page.text and "2027-01-01" in page.text

    client.post(
        "/admin/calendar/overrides",
        data={"csrf_token": token, "day": "2027-01-01", "is_workday": "1", "note": "改"},
    )
    (row,) = list_overrides(db, 2027)
    assert row.is_workday is True and row.note == "改"

    invalid = client.post(
        "/admin/calendar/overrides",
        data={"csrf_token": token, "day": "not-a-day", "is_workday": "0"},
    )
    assert invalid.status_code == 422
    assert 'value="not-a-day"' in invalid.text

    deleted = client.post(
        "/admin/calendar/overrides/2027-01-01/delete",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert deleted.status_code == 303
    assert list_overrides(db, 2027) == []
    actions = [e.action for e in history(db, "calendar_override", "2027-01-01")]
    assert actions == ["calendar.override_set", "calendar.override_set", "calendar.override_delete"]


def test_district_admin_sees_the_calendar_without_forms(
    client: TestClient, district_admin: Person
) -> None:
    login(client, district_admin)
    page = client.get("/admin/calendar?year=2026")
    assert page.status_code == 200
    assert 'action="/admin/calendar/overrides"' not in page.text


def test_missing_csrf_is_refused(client: TestClient, bureau_admin: Person) -> None:
    login(client, bureau_admin)
    response = client.post(
        "/admin/calendar/overrides", data={"day": "2027-01-01", "is_workday": "0"}
    )
    assert response.status_code == 403
