"""One seeded world per test module (``world.build``), served by one app whose every request
runs on the module's connection; each test runs inside a SAVEPOINT rolled back afterwards,
so a call that is allowed to change things (grant, revoke, deactivate, log out) leaves the
world as it was for the next one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from gongshu.app import create_app
from gongshu.dataapi.api import limiter_of
from gongshu.settings import Settings
from gongshu.web.deps import SESSION_COOKIE, get_db
from tests.security.world import World, build


@pytest.fixture(scope="module")
def module_connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        if outer.is_active:
            outer.rollback()


@pytest.fixture(scope="module")
def secure_app(settings: Settings, module_connection: Connection) -> Iterator[FastAPI]:
    application = create_app(settings)

    def _db() -> Iterator[Session]:
        session = Session(
            bind=module_connection,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
        )
        try:
            yield session
        finally:
            session.close()

    application.dependency_overrides[get_db] = _db
    yield application
    application.state.engine.dispose()


@pytest.fixture(scope="module")
def secure_client(secure_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(secure_app, base_url="http://testserver") as c:
        yield c


@pytest.fixture(scope="module")
def world(module_connection: Connection, secure_client: TestClient) -> World:
    session = Session(
        bind=module_connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        built = build(session, secure_client)
        # The API calls of ``build`` ran inside this session's open SAVEPOINT: release it,
        # or closing the session would roll them back.
        session.commit()
        return built
    finally:
        session.close()


@pytest.fixture
def rollback(module_connection: Connection, secure_app: FastAPI, world: World) -> Iterator[None]:
    """Undo whatever the test's calls wrote."""
    savepoint = module_connection.begin_nested()
    limiter_of(secure_app).reset()
    yield
    if savepoint.is_active:
        savepoint.rollback()


def call(
    client: TestClient,
    world: World,
    role: str,
    method: str,
    url: str,
    *,
    page: bool,
    json: Any = None,
    form: dict[str, Any] | None = None,
    files: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """One request as ``role``: pages with the browser session (and its CSRF token on
    forms), the API with the bearer token. The client keeps no cookies between calls."""
    caller = world.caller(role)
    sent = dict(headers or {})
    client.cookies.clear()
    if caller.cookie and page:
        sent["Cookie"] = f"{SESSION_COOKIE}={caller.cookie}"
    elif caller.bearer and not page:
        sent["Authorization"] = f"Bearer {caller.bearer}"
    data = None
    if form is not None or (page and method != "GET"):
        data = dict(form or {})
        if caller.csrf and page:
            data.setdefault("csrf_token", caller.csrf)
    return client.request(
        method,
        url,
        headers=sent,
        json=json,
        data=data,
        files=files,
        follow_redirects=False,
    )
