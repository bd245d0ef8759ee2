"""An "agency database" (前置库) of our own on the PostgreSQL server at 127.0.0.1:5432 —
whatever database the platform's tests use — and a published entry to pull into."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from gongshu.catalog.models import Dataset, DatasetState
from tests.ingest_service.conftest import code, registry_fields

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


@pytest.fixture(scope="session")
def agency_url() -> Iterator[str]:
    """A throw-away PostgreSQL database standing for an agency's front-end database."""
    admin = create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    name = f"gongshu_pull_agency_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        if os.environ.get("CI") == "true":
            pytest.fail(f"under CI the pull tests must run: PostgreSQL is unreachable ({exc.orig})")
        pytest.skip(f"PostgreSQL on 127.0.0.1:5432 is unreachable: {exc.orig}")
    try:
        yield f"{SERVER}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def agency_db(agency_url: str) -> Iterator[Engine]:
    """The agency's table ``companies`` (credit code, name, founded, capital, kind), emptied
    for each test; ``fill(range)`` inserts rows."""
    engine = create_engine(agency_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS companies"))
        conn.execute(
            text(
                "CREATE TABLE companies (uscc text primary key, 企业名称 text, "
                "founded date, capital numeric(12,2), kind text, updated timestamptz)"
            )
        )
    yield engine
    engine.dispose()


def fill(engine: Engine, numbers: range, *, kind: str = "有限责任公司") -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO companies VALUES (:uscc, :name, :founded, :capital, :kind, now()) "
                "ON CONFLICT (uscc) DO UPDATE SET "
                "企业名称 = excluded.企业名称, kind = excluded.kind"
            ),
            [
                {
                    "uscc": code(i),
                    "name": f"临沂测试企业{i}有限公司",
                    "founded": f"2020-01-{1 + i % 28:02d}",
                    "capital": f"{100 + i}.50",
                    "kind": kind,
                }
                for i in numbers
            ],
        )


QUERY = (
    "SELECT uscc AS 统一社会信用代码, 企业名称, founded AS 成立日期, capital AS 注册资本, "
    "kind AS 企业类型 FROM companies ORDER BY uscc"
)


@pytest.fixture
def registry(db: Session, make_dataset: Callable[..., Dataset]) -> Dataset:
    dataset = make_dataset(title="市场主体登记信息", fields=registry_fields())
    dataset.state = DatasetState.PUBLISHED
    db.flush()
    return dataset


@pytest.fixture
def app(app: FastAPI) -> Iterator[FastAPI]:
    """The shared app fixture, with its engine disposed afterwards: create_app does not
    dispose it on shutdown, and on PostgreSQL its pooled connections otherwise die open
    (a ResourceWarning, an error under this suite's warning filter)."""
    yield app
    app.state.engine.dispose()
