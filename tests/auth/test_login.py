"""Signing in: lock-out (also across processes), sessions and their idle timeout, pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gongshu.app import create_app
from gongshu.audit.models import AuditEntry
from gongshu.auth import service
from gongshu.auth.actor import Actor
from gongshu.auth.models import LoginSession, Role, User
from gongshu.auth.schemas import UserCreate
from gongshu.db import make_engine, make_session_factory, utcnow
from gongshu.errors import AuthenticationFailed
from gongshu.settings import Settings
from gongshu.web.deps import SESSION_COOKIE
from tests.auth.conftest import csrf_of
from tests.factories import PASSWORD, Person, login


def _actions(db: Session, user_id: int) -> list[str]:
    stmt = (
        select(AuditEntry.action)
        .where(AuditEntry.object_type == "user", AuditEntry.object_id == str(user_id))
        .order_by(AuditEntry.seq)
    )
    return list(db.scalars(stmt))


# --- authenticate ---------------------------------------------------------------------------


def test_authenticate_success_and_failures(
    db: Session, settings: Settings, officer: Person
) -> None:
    user = service.authenticate(db, settings, officer.username.upper(), PASSWORD, None, "10.0.0.1")
    assert user.id == officer.user.id and user.last_login_at is not None
    with pytest.raises(AuthenticationFailed) as info:
        service.authenticate(db, settings, officer.username, "wrong", None)
    assert info.value.message == "用户名或密码错误"
    with pytest.raises(AuthenticationFailed) as info:
        service.authenticate(db, settings, "nobody-here", "wrong", None)
    assert info.value.message == "用户名或密码错误"
    assert _actions(db, officer.user.id)[-2:] == ["auth.login", "auth.login_failed"]
    unknown = db.scalars(select(AuditEntry).where(AuditEntry.object_label == "nobody-here")).one()
    assert unknown.action == "auth.login_failed" and unknown.changes == {"reason": "unknown_user"}


def test_lockout(db: Session, settings: Settings, officer: Person, security_admin: Person) -> None:
    for _ in range(settings.login_max_failures - 1):
        with pytest.raises(AuthenticationFailed):
            service.authenticate(db, settings, officer.username, "wrong", None)
    assert officer.user.failed_logins == settings.login_max_failures - 1
    with pytest.raises(AuthenticationFailed) as info:
        service.authenticate(db, settings, officer.username, "wrong", None)
    assert "锁定" in str(info.value)
    assert officer.user.locked_until is not None
    remaining = officer.user.locked_until - utcnow()
    assert dt.timedelta(minutes=14) < remaining <= dt.timedelta(minutes=15)
    # The right password does not open a locked account.
    with pytest.raises(AuthenticationFailed) as info:
        service.authenticate(db, settings, officer.username, PASSWORD, None)
    assert info.value.params["minutes"] == 15
    actions = _actions(db, officer.user.id)
    assert actions.count("auth.locked") == 1
    assert actions[-1] == "auth.login_failed"
    # Unlocking lets the user in again.
    service.unlock_user(db, security_admin.actor, officer.user.id)
    assert service.authenticate(db, settings, officer.username, PASSWORD, None)


def test_lockout_expires(db: Session, settings: Settings, officer: Person) -> None:
    db.execute(
        update(User)
        .where(User.id == officer.user.id)
        .values(locked_until=utcnow() - dt.timedelta(seconds=1))
    )
    assert service.authenticate(db, settings, officer.username, PASSWORD, None)


def test_inactive_user_refused(
    db: Session, settings: Settings, officer: Person, bureau_admin: Person
) -> None:
    from gongshu.auth.schemas import UserUpdate

    service.update_user(db, bureau_admin.actor, officer.user.id, UserUpdate(is_active=False))
    with pytest.raises(AuthenticationFailed) as info:
        service.authenticate(db, settings, officer.username, PASSWORD, None)
    assert info.value.message == "账户已停用，请联系管理员"


def test_lockout_holds_across_processes(scratch_settings: Settings) -> None:
    """Two engines (two app instances) on one committed database share the failure count."""
    engines = [make_engine(scratch_settings), make_engine(scratch_settings)]
    try:
        first, second = (make_session_factory(e) for e in engines)
        with first() as session:
            service.create_user(
                session,
                Actor.system("pytest"),
                UserCreate(username="shared", display_name="共享", password=PASSWORD),
            )
        apps = [create_app(scratch_settings), create_app(scratch_settings)]
        clients = [TestClient(a) for a in apps]
        for i in range(scratch_settings.login_max_failures):
            response = clients[i % 2].post(
                "/login", data={"username": "shared", "password": "wrong"}, follow_redirects=False
            )
            assert response.status_code == 401
        # Locked for both "processes", and after a restart (new engine) too.
        for client in clients:
            response = client.post(
                "/login", data={"username": "shared", "password": PASSWORD}, follow_redirects=False
            )
            assert response.status_code == 401
            assert "锁定" in response.text
        with second() as session:
            user = session.scalars(select(User).where(User.username == "shared")).one()
            assert user.locked_until is not None and user.locked_until > utcnow()
            with pytest.raises(AuthenticationFailed):
                service.authenticate(session, scratch_settings, "shared", PASSWORD, None)
            actions = list(
                session.scalars(
                    select(AuditEntry.action).where(AuditEntry.object_id == str(user.id))
                )
            )
            assert actions.count("auth.login_failed") == scratch_settings.login_max_failures + 3
            assert actions.count("auth.locked") == 1
        for client in clients:
            client.close()
        for a in apps:
            a.state.engine.dispose()
    finally:
        for e in engines:
            e.dispose()


# --- sessions ----------------------------------------------------------------------------------


def test_session_token_stored_as_hash(db: Session, officer: Person) -> None:
    token, login_row = service.start_session(db, officer.user, "10.0.0.2", "pytest")
    assert token not in (login_row.token_hash, login_row.csrf_token)
    assert len(login_row.token_hash) == 64
    found = service.actor_for_session_token(db, token)
    assert found is not None
    actor, csrf = found
    assert actor.user_id == officer.user.id and csrf == login_row.csrf_token
    assert service.actor_for_session_token(db, token + "x") is None
    service.end_session(db, token)
    assert service.actor_for_session_token(db, token) is None
    assert _actions(db, officer.user.id)[-1] == "auth.logout"


def test_session_idle_timeout(db: Session, settings: Settings, officer: Person) -> None:
    token, login_row = service.start_session(db, officer.user, "", "")

    def age(minutes: float) -> None:
        db.execute(
            update(LoginSession)
            .where(LoginSession.id == login_row.id)
            .values(last_seen_at=utcnow() - dt.timedelta(minutes=minutes))
        )
        db.expire_all()

    # Seen 30 s ago: no write; 5 minutes ago: touched.
    age(0.5)
    before = db.get(LoginSession, login_row.id).last_seen_at  # type: ignore[union-attr]
    assert service.actor_for_session_token(db, token) is not None
    assert db.get(LoginSession, login_row.id).last_seen_at == before  # type: ignore[union-attr]
    age(5)
    assert service.actor_for_session_token(db, token) is not None
    touched = db.get(LoginSession, login_row.id).last_seen_at  # type: ignore[union-attr]
    assert utcnow() - touched < dt.timedelta(seconds=5)
    # Idle longer than the timeout: gone.
    age(settings.session_timeout_minutes + 1)
    assert service.actor_for_session_token(db, token) is None


# --- pages ------------------------------------------------------------------------------------


def test_login_page_and_logout(client: TestClient, officer: Person) -> None:
    page = client.get("/login")
    assert page.status_code == 200 and 'name="username"' in page.text
    response = client.post(
        "/login",
        data={"username": officer.username, "password": PASSWORD, "next": "/account"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/account"
    cookie = response.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert client.get("/account").status_code == 200
    # Signed in: /login sends the user on.
    assert client.get("/login", follow_redirects=False).status_code == 303
    # Logout needs the CSRF token.
    assert client.post("/logout", data={}).status_code == 403
    token = csrf_of(client)
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    response = client.get("/account", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/users?page=2", "/users?page=2"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_login_next_is_local_only(
    client: TestClient, officer: Person, target: str, expected: str
) -> None:
    response = client.post(
        "/login",
        data={"username": officer.username, "password": PASSWORD, "next": target},
        follow_redirects=False,
    )
    assert response.headers["location"] == expected


def test_login_errors(client: TestClient, officer: Person) -> None:
    response = client.post("/login", data={"username": officer.username, "password": "bad"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert officer.username in response.text  # the username is kept
    response = client.post("/login", data={"username": "", "password": ""})
    assert response.status_code == 422
    assert "请输入用户名和密码" in response.text
    response = client.post("/login?lang=en", data={"username": officer.username, "password": "bad"})
    assert "Wrong username or password" in response.text


def test_pages_need_sign_in(client: TestClient) -> None:
    for path in ("/account", "/users", "/users/new", "/users/1"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")


def test_change_password_page(client: TestClient, db: Session, officer: Person) -> None:
    login(client, officer)
    token = csrf_of(client)
    response = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": "short",
            "confirm_password": "short",
        },
    )
    assert response.status_code == 422 and "密码长度不能少于 10 个字符" in response.text
    response = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": "Brand-New-Pass-1",
            "confirm_password": "Brand-New-Pass-2",
        },
    )
    assert response.status_code == 422 and "两次输入的新密码不一致" in response.text
    response = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": "Brand-New-Pass-1",
            "confirm_password": "Brand-New-Pass-1",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "密码已修改" in client.get(response.headers["location"]).text


def test_display_names_are_escaped(
    client: TestClient, make_person: Callable[..., Person], bureau_admin: Person
) -> None:
    evil = make_person(Role.PUBLIC, display_name='<script>alert("x")</script>')
    login(client, bureau_admin)
    for path in (f"/users/{evil.user.id}", "/users", f"/users/{evil.user.id}/edit"):
        text = client.get(path).text
        assert "<script>alert" not in text, path
        assert "&lt;script&gt;" in text, path


def test_user_management_pages(
    client: TestClient, db: Session, bureau_admin: Person, officer: Person, agency: object
) -> None:
    login(client, bureau_admin)
    listing = client.get("/users", params={"q": officer.username})
    assert listing.status_code == 200 and officer.user.display_name in listing.text
    token = csrf_of(client, "/users/new")
    response = client.post(
        "/users/new",
        data={
            "csrf_token": token,
            "username": "newofficer",
            "display_name": "新专管员",
            "password": "Initial-Pass-1",
            "agency_id": str(officer.user.agency_id),
            "roles": ["agency_officer"],
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    detail = client.get(response.headers["location"])
    assert "新专管员" in detail.text and "账户已创建" in detail.text
    user = db.scalars(select(User).where(User.username == "newofficer")).one()
    # Duplicate username: the form again, with the message.
    response = client.post(
        "/users/new",
        data={
            "csrf_token": token,
            "username": "newofficer",
            "display_name": "x",
            "password": "Initial-Pass-1",
        },
    )
    assert response.status_code == 422 and "用户名已被使用" in response.text
    # Edit and roles.
    response = client.post(
        f"/users/{user.id}/edit",
        data={
            "csrf_token": token,
            "display_name": "改名专管员",
            "agency_id": str(user.agency_id),
            "is_active": "1",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    response = client.post(
        f"/users/{user.id}/roles",
        data={"csrf_token": token, "roles": ["agency_officer", "agency_consumer"]},
        follow_redirects=False,
    )
    assert response.status_code == 303
    db.expire_all()
    user = db.get(User, user.id)  # type: ignore[assignment]
    assert user.display_name == "改名专管员"
    assert user.roles == {Role.AGENCY_OFFICER, Role.AGENCY_CONSUMER}
    detail = client.get(f"/users/{user.id}").text
    assert "调整角色" in detail and "创建账户" in detail
    # A bureau admin cannot grant administrative roles.
    response = client.post(
        f"/users/{user.id}/roles",
        data={"csrf_token": token, "roles": ["agency_officer", "bureau_admin"]},
    )
    assert response.status_code == 403
    assert "只有安全保密管理员可以授予" in response.text


def test_separation_of_duties_on_the_page(
    client: TestClient, security_admin: Person, make_person: Callable[..., Person]
) -> None:
    target = make_person()
    login(client, security_admin)
    token = csrf_of(client, f"/users/{target.user.id}/edit")
    response = client.post(
        f"/users/{target.user.id}/roles",
        data={"csrf_token": token, "roles": ["system_admin", "audit_admin"]},
    )
    assert response.status_code == 422
    assert "三员分立" in response.text
    response = client.post(
        f"/users/{target.user.id}/roles",
        data={"csrf_token": token, "roles": ["audit_admin"]},
        follow_redirects=False,
    )
    assert response.status_code == 303


def test_officer_sees_own_agency_only(
    client: TestClient, officer: Person, other_officer: Person
) -> None:
    login(client, officer)
    assert client.get(f"/users/{other_officer.user.id}").status_code == 403
    listing = client.get("/users")
    assert listing.status_code == 200
    assert other_officer.username not in listing.text
    assert officer.username in listing.text
