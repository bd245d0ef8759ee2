"""The command line: bilingual help, and a second instance chosen by the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gongshu.cli import app
from gongshu.settings import Settings


def test_help_is_in_chinese_and_english() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "数据库结构迁移" in result.output and "Database schema migrations" in result.output
    sub = CliRunner().invoke(app, ["catalog", "export", "--help"])
    assert sub.exit_code == 0
    assert "导出" in sub.output and "Export" in sub.output


@pytest.mark.storage_only  # the second instance is a SQLite file whatever the suite runs on
def test_a_second_instance_is_chosen_by_the_environment(settings: Settings, tmp_path: Path) -> None:
    """Two databases, two data dirs: what one instance writes the other does not see."""
    outputs = []
    for name in ("a", "b"):
        env = dict(os.environ)
        env["GONGSHU_DATABASE_URL"] = f"sqlite:///{tmp_path / name / 'gongshu.db'}"
        env["GONGSHU_DATA_DIR"] = str(tmp_path / name)

        def run(*args: str, env: dict[str, str] = env) -> str:
            done = subprocess.run(
                [sys.executable, "-m", "gongshu", *args],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            return done.stdout

        run("db", "upgrade")
        if name == "a":
            run("agency", "region-seed")
        outputs.append(run("agency", "regions"))
    assert "兰山区" in outputs[0]
    assert "兰山区" not in outputs[1]
    assert (tmp_path / "a" / "gongshu.db").exists() and (tmp_path / "b" / "gongshu.db").exists()
