"""Second factor: enrolment, sign-in with the code, and administrators forced to enrol."""

from __future__ import annotations

import re

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from gongshu.auth import service
from gongshu.auth.schemas import TokenRequest
from gongshu.errors import AuthenticationFailed, PermissionDenied, ValidationFailed
from gongshu.settings import Settings
from tests.auth.conftest import csrf_of
from tests.factories import PASSWORD, Person, api_headers, login


def _enrol(db: Session, person: Person) -> pyotp.TOTP:
    enrolment = service.begin_totp_enrollment(db, person.actor)
    assert enrolment.uri.startswith("otpauth://totp/")
    assert person.username in enrolment.uri
    totp = pyotp.TOTP(enrolment.secret)
    with pytest.raises(ValidationFailed):
        service.confirm_totp(db, person.actor, "000000" if totp.now() != "000000" else "111111")
    service.confirm_totp(db, person.actor, totp.now())
    assert person.user.totp_enabled
    return totp


def test_enrol_and_sign_in(db: Session, settings: Settings, officer: Person) -> None:
    totp = _enrol(db, officer)
    with pytest.raises(AuthenticationFailed) as info:
        service.authenticate(db, settings, officer.username, PASSWORD, None)
    assert info.value.message == "请输入动态验证码"
    assert officer.user.failed_logins == 0  # asking for the code is not a failure
    with pytest.raises(AuthenticationFailed) as info:
        service.authenticate(db, settings, officer.username, PASSWORD, "123 45")
    assert info.value.message == "动态验证码错误"
    assert officer.user.failed_logins == 1
    user = service.authenticate(db, settings, officer.username, PASSWORD, totp.now())
    assert user.id == officer.user.id
    # The bearer token needs the code too.
    with pytest.raises(AuthenticationFailed):
        service.issue_access_token(
            db, settings, TokenRequest(username=officer.username, password=PASSWORD)
        )
    token = service.issue_access_token(
        db, settings, TokenRequest(username=officer.username, password=PASSWORD, totp=totp.now())
    )
    assert token.access_token


def test_disable_and_reset(db: Session, officer: Person, security_admin: Person) -> None:
    totp = _enrol(db, officer)
    with pytest.raises(ValidationFailed):
        service.disable_totp(db, officer.actor, "abc")
    service.disable_totp(db, officer.actor, totp.now())
    assert not officer.user.totp_enabled and officer.user.totp_secret is None
    _enrol(db, officer)
    service.reset_totp(db, security_admin.actor, officer.user.id)
    assert not officer.user.totp_enabled


def test_totp_pages(client: TestClient, db: Session, officer: Person) -> None:
    login(client, officer)
    page = client.get("/account/totp")
    assert page.status_code == 200 and "未启用" in page.text
    token = csrf_of(client, "/account/totp")
    response = client.post(
        "/account/totp/begin", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    page = client.get("/account/totp").text
    assert "<svg" in page  # the QR code, drawn on the server
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
    assert secret is not None
    response = client.post("/account/totp/confirm", data={"csrf_token": token, "code": "12345x"})
    assert response.status_code == 422
    code = pyotp.TOTP(secret.group(1)).now()
    response = client.post(
        "/account/totp/confirm", data={"csrf_token": token, "code": code}, follow_redirects=False
    )
    assert response.status_code == 303
    # Signing in again asks for the code.
    client.cookies.clear()
    response = client.post("/login", data={"username": officer.username, "password": PASSWORD})
    assert response.status_code == 401 and "请输入动态验证码" in response.text
    response = client.post(
        "/login",
        data={
            "username": officer.username,
            "password": PASSWORD,
            "totp": pyotp.TOTP(secret.group(1)).now(),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303


@pytest.mark.usefixtures("admin_totp_required")
def test_admins_must_enrol_first(client: TestClient, db: Session, bureau_admin: Person) -> None:
    assert service.actor_for_user(bureau_admin.user).needs_totp_enrollment
    response = client.post(
        "/login",
        data={"username": bureau_admin.username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/account/totp"
    for path in ("/", "/users", "/account"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/account/totp"
    assert client.get("/account/totp").status_code == 200
    # The API refuses everything but /me, with a clear message.
    headers = api_headers(client, bureau_admin)
    response = client.get("/api/v1/users", headers=headers)
    assert response.status_code == 403
    assert "动态验证码" in response.json()["error"]["message"]
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    # Enrolling lifts the hold; disabling is refused for admins.
    token = csrf_of(client, "/account/totp")
    client.post("/account/totp/begin", data={"csrf_token": token})
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', client.get("/account/totp").text)
    assert secret is not None
    totp = pyotp.TOTP(secret.group(1))
    client.post("/account/totp/confirm", data={"csrf_token": token, "code": totp.now()})
    assert client.get("/users", follow_redirects=False).status_code == 200
    assert client.get("/api/v1/users", headers=headers).status_code == 200
    db.refresh(bureau_admin.user)
    actor = service.actor_for_user(bureau_admin.user)
    assert not actor.needs_totp_enrollment
    with pytest.raises(PermissionDenied):
        service.disable_totp(db, actor, totp.now())


def test_officers_need_not_enrol(admin_totp_required: None, officer: Person) -> None:
    assert not service.actor_for_user(officer.user).needs_totp_enrollment


def test_production_requires_admin_totp(settings: Settings, bureau_admin: Person) -> None:
    production = Settings(
        env="production",
        secret_key="p" * 40,
        argon2_profile="default",
        masking_key="m" * 40,
        database_url=settings.sqlalchemy_url,
    )
    assert production.admin_totp_required
    assert service.actor_for_user(bureau_admin.user, production).needs_totp_enrollment
    assert not service.actor_for_user(bureau_admin.user, settings).needs_totp_enrollment
    with pytest.raises(ValueError, match="fast"):
        Settings(env="production", secret_key="p" * 40, argon2_profile="fast", masking_key="m" * 40)
