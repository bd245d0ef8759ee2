"""Test set-up: a real database (SQLite by default, PostgreSQL when GONGSHU_DATABASE_URL
says so), migrated once per run, and a rolled-back SAVEPOINT around every test.

Tests that need committed data (a live server for the browser, concurrent writers) get a
scratch database of their own from ``scratch_settings``.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="gongshu-test-"))
os.environ.setdefault("GONGSHU_DATABASE_URL", f"sqlite:///{_TMP / 'test.db'}")
os.environ["GONGSHU_DATA_DIR"] = str(_TMP / "data")
os.environ["GONGSHU_ARGON2_PROFILE"] = "fast"
os.environ["GONGSHU_ENV"] = "development"
os.environ["GONGSHU_SECRET_KEY"] = "test-secret-key-" + "x" * 32
os.environ["GONGSHU_DEFAULT_LANGUAGE"] = "zh"

from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from gongshu import migrate  # noqa: E402
from gongshu.app import create_app  # noqa: E402
from gongshu.db import make_engine  # noqa: E402
from gongshu.settings import Settings, get_settings  # noqa: E402
from gongshu.web.deps import get_db  # noqa: E402

pytest_plugins = ["tests.factories", "tests.browser"]


def is_postgres(settings: Settings) -> bool:
    return settings.sqlalchemy_url.startswith("postgresql")


def reset_database(settings: Settings) -> None:
    """Drop everything in the database so that migrations start from nothing."""
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def settings() -> Settings:
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture(scope="session")
def engine(settings: Settings) -> Iterator[Engine]:
    reset_database(settings)
    migrate.upgrade(settings)
    eng = make_engine(settings)
    yield eng
    eng.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[object]:
    with engine.connect() as conn:
        trans = conn.begin()
        yield conn
        if trans.is_active:
            trans.rollback()


@pytest.fixture
def db(connection: object) -> Iterator[Session]:
    """A session whose commits are savepoints inside a transaction rolled back afterwards."""
    session = Session(
        bind=connection,  # type: ignore[arg-type]
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    yield session
    session.close()


@pytest.fixture
def app(settings: Settings, connection: object) -> Iterator[FastAPI]:
    application = create_app(settings)

    def _db() -> Iterator[Session]:
        session = Session(
            bind=connection,  # type: ignore[arg-type]
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
        )
        try:
            yield session
        finally:
            session.close()

    application.dependency_overrides[get_db] = _db
    yield application
    # The app's own engine (start-up sweeps, the embedded worker) holds pooled connections.
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def scratch_settings(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """A fresh, migrated database of its own whose commits are real (not rolled back)."""
    yield from scratch_database(settings, tmp_path)


#: The migrated database that scratch databases are copied from, made once per run:
#: copying (SQLite's backup, PostgreSQL's CREATE DATABASE … TEMPLATE) takes a fraction of
#: what running every migration again does.
_TEMPLATE: dict[str, str] = {}


def _admin(settings: Settings) -> Engine:
    return create_engine(make_url(settings.sqlalchemy_url), isolation_level="AUTOCOMMIT")


def _template(settings: Settings) -> str:
    """The template's database name (PostgreSQL) or file path (SQLite)."""
    key = settings.sqlalchemy_url
    if key in _TEMPLATE:
        return _TEMPLATE[key]
    if is_postgres(settings):
        name = f"gongshu_template_{uuid.uuid4().hex[:10]}"
        admin = _admin(settings)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(key).set(database=name).render_as_string(hide_password=False)
        target = name
    else:
        target = str(_TMP / f"template-{uuid.uuid4().hex[:10]}.db")
        url = f"sqlite:///{target}"
    # Registered before migrating, so that a failed migration still drops what it made.
    _TEMPLATE[key] = target
    migrate.upgrade(settings.model_copy(update={"database_url": url}))
    return target


def drop_templates() -> None:
    for key, target in _TEMPLATE.items():
        if key.startswith("postgresql"):
            admin = create_engine(make_url(key), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
            admin.dispose()
    _TEMPLATE.clear()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    drop_templates()


def scratch_database(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """A migrated database beside the test one, copied from the run's template; dropped when
    the generator closes."""
    template = _template(settings)
    name = f"gongshu_scratch_{uuid.uuid4().hex[:10]}"
    if is_postgres(settings):
        admin: Engine | None = _admin(settings)
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        url = make_url(settings.sqlalchemy_url).set(database=name)
        scratch_url = url.render_as_string(hide_password=False)
    else:
        admin = None
        path = tmp_path / (name + ".db")
        source, copy = sqlite3.connect(template), sqlite3.connect(path)
        try:
            source.backup(copy)
        finally:
            source.close()
            copy.close()
        scratch_url = f"sqlite:///{path}"
    scratch = settings.model_copy(
        update={"database_url": scratch_url, "data_dir": tmp_path / "data"}
    )
    try:
        yield scratch
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
