"""Helpers shared by every CLI sub-app: bilingual help, a database session, error output."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.orm import Session

from gongshu.db import make_engine, make_session_factory
from gongshu.errors import GongshuError, ValidationFailed
from gongshu.i18n import translate
from gongshu.settings import get_settings


def bi(message: str) -> str:
    """Help text in both interface languages: "中文 / English"."""
    english = translate(message, "en")
    return message if english == message else f"{message} / {english}"


def say(message: str, **params: object) -> str:
    """A message in the configured default language."""
    return translate(message, get_settings().default_language, **params)


@contextmanager
def cli_session() -> Iterator[Session]:
    """A session on the configured database; domain errors end the command with exit 1."""
    engine = make_engine(get_settings())
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            yield session
    except GongshuError as exc:
        typer.secho(exc.localized(get_settings().default_language), err=True, fg="red")
        if isinstance(exc, ValidationFailed):
            for field, messages in exc.localized_errors().items():
                for message in messages:
                    typer.secho(f"  {field}: {message}", err=True, fg="red")
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
