"""Notices through the API and the pages: contract checks, the header count, the outbox."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gongshu.audit.service import history
from gongshu.i18n import N_
from gongshu.jobs.service import run_one
from gongshu.notices import jobs as _jobs  # noqa: F401 — registers the handlers
from gongshu.notices.models import Notice, OutboxStatus
from gongshu.notices.service import notify
from tests.factories import Person, api_headers, csrf_of, login

TITLE = N_("期限将至：{what}")


def tell(db: Session, person: Person, link: str = "/catalog", **kw: object) -> Notice:
    (notice,) = notify(
        db, user_ids=[person.user.id], kind="k", title=TITLE, link=link, what="待办事项", **kw
    )
    db.commit()
    return notice


def test_api_anonymous_is_401(client: TestClient) -> None:
    for method, url in [
        ("GET", "/api/v1/notices"),
        ("GET", "/api/v1/notices/unread-count"),
        ("POST", "/api/v1/notices/1/read"),
        ("POST", "/api/v1/notices/read-all"),
    ]:
        assert client.request(method, url).status_code == 401, url


def test_api_lists_and_marks_my_notices(
    client: TestClient, db: Session, officer: Person, other_officer: Person
) -> None:
    first = tell(db, officer)
    tell(db, officer)
    theirs = tell(db, other_officer)
    headers = api_headers(client, officer)
    body = client.get("/api/v1/notices", headers=headers).json()
    assert body["total"] == 2 and body["unread"] == 2
    assert body["items"][0]["title"] == "期限将至：待办事项"
    english = client.get("/api/v1/notices", headers={**headers, "Accept-Language": "en"}).json()
    assert english["items"][0]["title"] == "Deadline approaching: A task"

    read = client.post(f"/api/v1/notices/{first.id}/read", headers=headers)
    assert read.status_code == 200 and read.json()["read_at"]
    assert client.get("/api/v1/notices/unread-count", headers=headers).json() == {"unread": 1}
    assert client.post(f"/api/v1/notices/{theirs.id}/read", headers=headers).status_code == 404
    assert client.post("/api/v1/notices/999999/read", headers=headers).status_code == 404
    assert client.post("/api/v1/notices/read-all", headers=headers).json() == {"marked": 1}
    unread = client.get("/api/v1/notices?unread=true", headers=headers).json()
    assert unread["total"] == 0


def test_pages_anonymous_is_sent_to_login(client: TestClient) -> None:
    for url in ("/notices", "/admin/outbox"):
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 303, url
        assert response.headers["location"].startswith("/login")


def test_header_shows_the_unread_count(client: TestClient, db: Session, officer: Person) -> None:
    login(client, officer)
    home = client.get("/notices")
    assert 'class="notice-bell"' in home.text and "notice-count" not in home.text
    tell(db, officer)
    tell(db, officer)
    page = client.get("/account")
    assert '<span class="notice-count" title="2 条未读">2</span>' in page.text


def test_notices_page_open_and_mark_read(client: TestClient, db: Session, officer: Person) -> None:
    first = tell(db, officer, link="/catalog")
    second = tell(db, officer, link="https://evil.example/")
    login(client, officer)
    page = client.get("/notices")
    assert page.text.count("期限将至：待办事项") == 2
    token = csrf_of(client, "/notices")
    opened = client.post(
        f"/notices/{first.id}/read", data={"csrf_token": token, "open": "1"}, follow_redirects=False
    )
    assert opened.status_code == 303 and opened.headers["location"] == "/catalog"
    outside = client.post(
        f"/notices/{second.id}/read",
        data={"csrf_token": token, "open": "1"},
        follow_redirects=False,
    )
    assert outside.headers["location"] == "/notices"  # never an open redirect
    tell(db, officer)
    done = client.post("/notices/read-all", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert "notice-count" not in client.get("/notices").text
    no_csrf = client.post("/notices/read-all", data={})
    assert no_csrf.status_code == 403


def test_outbox_page_is_for_the_system_admin(
    client: TestClient, db: Session, bureau_admin: Person, system_admin: Person, officer: Person
) -> None:
    officer.user.email = "officer@gov.test"
    tell(db, officer)
    run_one(db, "test-worker")  # no GONGSHU_SMTP_URL in tests: no_transport
    login(client, bureau_admin)
    assert client.get("/admin/outbox").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_of(client)})

    login(client, system_admin)
    page = client.get("/admin/outbox")
    assert page.status_code == 200
    assert "officer@gov.test" in page.text and "未配置发信服务" in page.text
    filtered = client.get("/admin/outbox?status=sent")
    assert "officer@gov.test" not in filtered.text

    from sqlalchemy import select

    from gongshu.notices.models import OutboxMessage

    message = db.scalars(select(OutboxMessage)).one()
    assert message.status is OutboxStatus.NO_TRANSPORT
    token = csrf_of(client, "/admin/outbox")
    retried = client.post(
        f"/admin/outbox/{message.id}/retry", data={"csrf_token": token}, follow_redirects=False
    )
    assert retried.status_code == 303
    db.refresh(message)
    assert message.status is OutboxStatus.QUEUED
    (entry,) = history(db, "outbox_message", message.id)
    assert entry.action == "outbox.retry" and entry.actor_id == system_admin.user.id
