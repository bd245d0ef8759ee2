"""Bearer tokens and API keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.auth import service
from gongshu.auth.models import ApiKey, Role
from gongshu.auth.schemas import ApiKeyCreate, PasswordChange, TokenRequest
from gongshu.db import utcnow
from gongshu.errors import NotFound, PermissionDenied
from gongshu.orgs.models import Agency
from gongshu.settings import Settings
from tests.auth.conftest import csrf_of
from tests.factories import PASSWORD, Person, api_headers, login


def test_bearer_token(client: TestClient, settings: Settings, officer: Person) -> None:
    response = client.post(
        "/api/v1/auth/token", json={"username": officer.username, "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 60 * 60
    claims = jwt.decode(body["access_token"], settings.secret_key, algorithms=["HS256"])
    assert claims["sub"] == str(officer.user.id)
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.json()["username"] == officer.username
    bad = client.post("/api/v1/auth/token", json={"username": officer.username, "password": "x"})
    assert bad.status_code == 401
    assert bad.json()["error"]["message"] == "用户名或密码错误"
    assert bad.headers["www-authenticate"] == "Bearer"


def test_bad_tokens_refused(db: Session, settings: Settings, officer: Person) -> None:
    now = int(utcnow().timestamp())
    claims = {"sub": str(officer.user.id), "iat": now, "exp": now + 60, "typ": "access"}
    good = jwt.encode(claims, settings.secret_key, algorithm="HS256")
    assert service.actor_for_access_token(db, good) is not None
    forged = jwt.encode(claims, "another-secret-key-of-enough-length!", algorithm="HS256")
    assert service.actor_for_access_token(db, forged) is None
    expired = jwt.encode({**claims, "exp": now - 1}, settings.secret_key, algorithm="HS256")
    assert service.actor_for_access_token(db, expired) is None
    none_alg = jwt.encode(claims, None, algorithm="none")
    assert service.actor_for_access_token(db, none_alg) is None
    assert service.actor_for_access_token(db, "garbage") is None


def test_token_dies_with_password_change(db: Session, settings: Settings, officer: Person) -> None:
    issued = service.issue_access_token(
        db, settings, TokenRequest(username=officer.username, password=PASSWORD)
    )
    assert service.actor_for_access_token(db, issued.access_token) is not None
    service.change_password(
        db, officer.actor, PasswordChange(current_password=PASSWORD, new_password="Changed-Pass-9")
    )
    officer.user.password_changed_at = utcnow() + dt.timedelta(seconds=2)
    assert service.actor_for_access_token(db, issued.access_token) is None


def test_invalid_bearer_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401


# --- API keys ---------------------------------------------------------------------------------


def test_api_key_stored_only_as_hmac(db: Session, settings: Settings, officer: Person) -> None:
    key, secret = service.create_api_key(db, officer.actor, ApiKeyCreate(name="业务系统"))
    assert secret.startswith("gsk_") and secret.startswith(key.prefix + "_")
    assert len(key.prefix) == 12 and len(secret) >= len(key.prefix) + 1 + 32
    expected = hmac.new(settings.secret_key.encode(), secret.encode(), hashlib.sha256).hexdigest()
    assert key.key_hash == expected
    row = db.scalars(select(ApiKey).where(ApiKey.id == key.id)).one()
    for column in ApiKey.__table__.columns:
        assert secret not in str(getattr(row, column.key)), column.key
    entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "apikey.create")).all()
    assert entries and all(secret not in str(e.changes) for e in entries)
    actor = service.actor_for_api_key(db, secret)
    assert actor is not None and actor.user_id == officer.user.id and actor.api_key_id == key.id
    assert key.last_used_at is not None
    assert service.actor_for_api_key(db, secret[:-1] + ("a" if secret[-1] != "a" else "b")) is None


def test_api_key_headers_and_revocation(client: TestClient, officer: Person) -> None:
    headers = api_headers(client, officer)
    response = client.post("/api/v1/api-keys", json={"name": "报表系统"}, headers=headers)
    assert response.status_code == 201
    created = response.json()
    secret = created["key"]
    assert created["prefix"] == secret[:12]
    for auth in ({"X-API-Key": secret}, {"Authorization": f"Bearer {secret}"}):
        me = client.get("/api/v1/me", headers=auth)
        assert me.status_code == 200 and me.json()["id"] == officer.user.id
    listing = client.get("/api/v1/api-keys", headers=headers).json()
    assert [k["id"] for k in listing] == [created["id"]]
    assert "key" not in listing[0]
    assert client.delete(f"/api/v1/api-keys/{created['id']}", headers=headers).status_code == 204
    for auth in ({"X-API-Key": secret}, {"Authorization": f"Bearer {secret}"}):
        refused = client.get("/api/v1/me", headers=auth)
        assert refused.status_code == 401
        assert "API 密钥" in refused.json()["error"]["message"]


def test_expired_key_refused(db: Session, officer: Person) -> None:
    key, secret = service.create_api_key(
        db,
        officer.actor,
        ApiKeyCreate(name="短期", expires_at=utcnow() + dt.timedelta(days=1)),
    )
    assert service.actor_for_api_key(db, secret) is not None
    key.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.flush()
    assert service.actor_for_api_key(db, secret) is None


def test_agency_keys(
    db: Session,
    officer: Person,
    other_officer: Person,
    agency: Agency,
    make_person: object,
) -> None:
    key, secret = service.create_api_key(
        db, officer.actor, ApiKeyCreate(name="市场监管系统", owner_agency_id=agency.id)
    )
    assert key.owner_user_id is None and key.owner_agency_id == agency.id
    actor = service.actor_for_api_key(db, secret)
    assert actor is not None and not actor.is_system
    assert actor.agency_id == agency.id and actor.roles == {Role.AGENCY_CONSUMER}
    # Another agency's officer can neither issue for it nor see or revoke its keys.
    with pytest.raises(PermissionDenied):
        service.create_api_key(
            db, other_officer.actor, ApiKeyCreate(name="越权", owner_agency_id=agency.id)
        )
    assert key not in service.list_api_keys(db, other_officer.actor)
    with pytest.raises(NotFound):
        service.revoke_api_key(db, other_officer.actor, key.id)
    service.revoke_api_key(db, officer.actor, key.id)
    assert service.actor_for_api_key(db, secret) is None


def test_api_key_page_shows_key_once(client: TestClient, officer: Person) -> None:
    login(client, officer)
    token = csrf_of(client)
    response = client.post("/account/api-keys", data={"csrf_token": token, "name": "页面创建"})
    assert response.status_code == 200
    assert 'id="new-api-key">gsk_' in response.text
    page = client.get("/account").text
    assert "页面创建" in page and 'id="new-api-key"' not in page
    response = client.post("/account/api-keys", data={"csrf_token": token, "name": ""})
    assert response.status_code == 422
