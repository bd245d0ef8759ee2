"""Fixtures of the notices tests: a fake SMTP server, settings that point at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gongshu.settings import get_settings
from tests.notices.smtp_server import Mailbox, smtp_server


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    """A fake SMTP server on localhost, configured as GONGSHU_SMTP_URL."""
    with smtp_server() as (port, box):
        monkeypatch.setenv(
            "GONGSHU_SMTP_URL", f"smtp://mailer:s%40cret@127.0.0.1:{port}?from=noreply@gov.test"
        )
        get_settings.cache_clear()
        yield box
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def no_transport(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GONGSHU_SMTP_URL", "")
    get_settings.cache_clear()
    yield
    monkeypatch.undo()
    get_settings.cache_clear()
