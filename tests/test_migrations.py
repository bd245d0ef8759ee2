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


def test_migrations_form_one_line() -> None:
    """Every migration revises the one before it: one head, no branches to merge."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert script.get_heads() == [script.get_current_head()]
    revisions = [r.revision for r in script.walk_revisions()]
    assert len(revisions) == len(set(revisions))
    assert all(len(r.nextrev) <= 1 for r in script.walk_revisions())
