"""Migrations match the models and run down and up again, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

from gongshu import migrate
from gongshu.db import Base, make_engine
from gongshu.settings import Settings


def _tables(settings: Settings) -> set[str]:
    engine = make_engine(settings)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_alembic_check_finds_no_drift(scratch_settings: Settings) -> None:
    migrate.check(scratch_settings)


def test_upgrade_downgrade_upgrade(scratch_settings: Settings) -> None:
    assert _tables(scratch_settings) == set(Base.metadata.tables)
    migrate.downgrade(scratch_settings, "base")
    assert _tables(scratch_settings) == set()
    migrate.upgrade(scratch_settings)
    assert _tables(scratch_settings) == set(Base.metadata.tables)
    migrate.check(scratch_settings)
