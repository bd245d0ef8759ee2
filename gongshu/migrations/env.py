"""Alembic environment: the URL comes from Gongshu's settings (or the caller's connection)."""

from __future__ import annotations

from alembic import context

import gongshu.models  # noqa: F401 — registers every table
from gongshu.db import Base, make_engine
from gongshu.settings import get_settings

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(get_settings())
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
