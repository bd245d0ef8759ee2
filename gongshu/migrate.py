"""Running Alembic from code (CLI, tests, ``make migration``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config

from gongshu.db import make_engine
from gongshu.settings import Settings

INI = Path(__file__).parent / "alembic.ini"


def alembic_config() -> Config:
    config = Config(str(INI))
    config.set_main_option("script_location", str(INI.parent / "migrations"))
    return config


def with_connection(settings: Settings, action: Callable[[Config], object]) -> None:
    """Run an Alembic command on the configured database, in one transaction."""
    engine = make_engine(settings)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            action(config)
    finally:
        engine.dispose()


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring the database schema up to ``revision``."""
    with_connection(settings, lambda cfg: command.upgrade(cfg, revision))


def downgrade(settings: Settings, revision: str) -> None:
    with_connection(settings, lambda cfg: command.downgrade(cfg, revision))


def check(settings: Settings) -> None:
    """Raise if the models and the migrations disagree (``alembic check``)."""
    with_connection(settings, command.check)
