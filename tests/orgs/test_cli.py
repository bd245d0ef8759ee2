"""``gongshu agency`` against a scratch database of its own (the CLI commits)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from gongshu.cli import app
from gongshu.identifiers import make_credit_code
from gongshu.settings import Settings, get_settings


@pytest.fixture
def cli(scratch_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("GONGSHU_DATABASE_URL", scratch_settings.sqlalchemy_url)
    get_settings.cache_clear()
    yield CliRunner()
    monkeypatch.undo()
    get_settings.cache_clear()


def run(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["agency", *args])
    return result.exit_code, result.output


def test_regions_agencies_round_trip(cli: CliRunner) -> None:
    code, out = run(cli, "regions")
    assert code == 0 and "还没有行政区划" in out

    code, out = run(cli, "region-seed")
    assert code == 0, out
    assert "13" in out
    code, out = run(cli, "region-seed")  # idempotent
    assert code == 0 and "13" in out

    code, out = run(cli, "regions")
    assert "371325" in out and "费县" in out

    credit = make_credit_code("11371300MB5555555")
    code, out = run(
        cli,
        "add",
        "--name",
        "临沂市统计局",
        "--credit-code",
        credit.lower(),
        "--region",
        "371300",
        "--kind",
        "government",
        "--domain",
        "统计",
    )
    assert code == 0, out
    assert credit in out

    code, out = run(cli, "list", "--q", "统计")
    assert code == 0 and "临沂市统计局" in out and "共 1 个机构" in out

    code, out = run(cli, "deactivate", "1")
    assert code == 0 and "已停用机构" in out
    code, out = run(cli, "list")
    assert "共 0 个机构" in out
    code, out = run(cli, "list", "--inactive")
    assert "临沂市统计局" in out
    code, out = run(cli, "activate", "1")
    assert code == 0


def test_bad_input_prints_chinese_and_exits_1(cli: CliRunner) -> None:
    run(cli, "region-seed")
    code, out = run(
        cli,
        "add",
        "--name",
        "临沂市某局",
        "--credit-code",
        "91110000600037341A",
        "--region",
        "371300",
        "--kind",
        "government",
    )
    assert code == 1
    assert "统一社会信用代码校验位错误" in out and "“L”" in out

    code, out = run(
        cli,
        "add",
        "--name",
        "临沂市某局",
        "--credit-code",
        "91110000600037341L",
        "--region",
        "999999",
        "--kind",
        "government",
    )
    assert code == 1 and "行政区划代码 999999 不存在" in out

    code, out = run(cli, "region-add", "--code", "371399", "--name", "某区", "--level", "district")
    assert code == 1 and "区县必须隶属于一个市级区划" in out

    code, out = run(cli, "region-add", "--code", "371399", "--name", "某区", "--parent", "371300")
    assert code == 0, out

    code, out = run(cli, "deactivate", "4242")
    assert code == 1 and "机构不存在" in out
