"""``gongshu calendar`` against a scratch database of its own (the CLI commits)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from gongshu.cli import app
from gongshu.settings import Settings, get_settings


@pytest.fixture
def cli(scratch_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("GONGSHU_DATABASE_URL", scratch_settings.sqlalchemy_url)
    get_settings.cache_clear()
    yield CliRunner()
    monkeypatch.undo()
    get_settings.cache_clear()


def run(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["calendar", *args])
    return result.exit_code, result.output


def test_calendar_round_trip(cli: CliRunner) -> None:
    code, out = run(cli, "deadline", "2026-12-20", "15")
    assert code == 0, out
    assert "2027-01-08" in out and "暂定" in out

    code, out = run(cli, "add-override", "2027-01-01", "--holiday", "--note", "元旦")
    assert code == 0, out
    assert "2027-01-01" in out and "放假" in out
    code, out = run(cli, "add-override", "2027-02-20", "--workday")
    assert code == 0, out

    code, out = run(cli, "list", "--year", "2027")
    assert "2027-01-01  放假  元旦" in out and "2027-02-20  上班" in out
    assert "共 2 条调整记录" in out

    code, out = run(cli, "deadline", "2026-12-20", "15")
    assert "2027-01-11" in out

    code, out = run(cli, "deadline", "2026-09-30", "1")
    assert "2026-10-08" in out and "暂定" not in out

    code, out = run(cli, "remove-override", "2027-01-01")
    assert code == 0, out
    code, out = run(cli, "remove-override", "2027-01-01")
    assert code == 1 and "该日期没有调整记录" in out

    code, out = run(cli, "add-override", "2027-13-01", "--holiday")
    assert code != 0
    code, out = run(cli, "deadline", "2026-12-20", "0")
    assert code != 0
