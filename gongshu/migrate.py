"""Running Alembic from code (CLI, tests, start-up checks)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from gongshu.db import make_engine
from gongshu.settings import Settings

INI = Path(__file__).parent / "alembic.ini"


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config(str(INI))
    config.set_main_option("script_location", str(INI.parent / "migrations"))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def _with_connection(settings: Settings, action: str, revision: str) -> None:
    engine = make_engine(settings)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            getattr(command, action)(config, revision)
    finally:
        engine.dispose()


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Bring the database schema up to ``revision``."""
    _with_connection(settings, "upgrade", revision)


def downgrade(settings: Settings, revision: str) -> None:
    _with_connection(settings, "downgrade", revision)


def check(settings: Settings) -> None:
    """Raise if the models and the migrations disagree (``alembic check``)."""
    engine = make_engine(settings)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.check(config)
    finally:
        engine.dispose()
