"""``gongshu notices`` against a scratch database (the CLI commits)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from gongshu.cli import app
from gongshu.settings import Settings, get_settings


@pytest.fixture
def cli(scratch_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("GONGSHU_DATABASE_URL", scratch_settings.sqlalchemy_url)
    monkeypatch.setenv("GONGSHU_SMTP_URL", "")
    get_settings.cache_clear()
    yield CliRunner()
    monkeypatch.undo()
    get_settings.cache_clear()


def test_notices_commands(cli: CliRunner) -> None:
    result = cli.invoke(app, ["notices", "send"])
    assert result.exit_code == 0, result.output
    assert "已发送 0 封" in result.output
    result = cli.invoke(app, ["notices", "remind"])
    assert result.exit_code == 0, result.output
    result = cli.invoke(app, ["notices", "outbox", "--status", "failed"])
    assert result.exit_code == 0 and "共 0 封" in result.output
