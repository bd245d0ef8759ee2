"""``gongshu user`` on a committed scratch database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from gongshu.auth import service
from gongshu.auth.cli import app
from gongshu.auth.models import Role, User
from gongshu.db import make_engine, make_session_factory
from gongshu.errors import AuthenticationFailed
from gongshu.settings import Settings, get_settings


@pytest.fixture
def cli_settings(scratch_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("GONGSHU_DATABASE_URL", scratch_settings.sqlalchemy_url)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_user_commands(cli_settings: Settings) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "add",
            "secadmin",
            "--name",
            "安全保密管理员",
            "--role",
            "security_admin",
            "--password",
            "Cli-Pass-2026!",
        ],
    )
    assert result.exit_code == 0, result.output
    # Separation of duties holds for the CLI too.
    result = runner.invoke(
        app,
        [
            "add",
            "twohats",
            "--name",
            "x",
            "--role",
            "system_admin",
            "--role",
            "audit_admin",
            "--password",
            "Cli-Pass-2026!",
        ],
    )
    assert result.exit_code == 1 and "三员分立" in result.output
    # The password is prompted for (hidden, with confirmation) when omitted.
    result = runner.invoke(
        app, ["add", "prompted", "--name", "提示"], input="Prompt-Pass-1\nPrompt-Pass-1\n"
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app,
        ["add", "badregion", "--name", "x", "--region", "999999", "--password", "Cli-Pass-2026!"],
    )
    assert result.exit_code == 1
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0 and "secadmin" in result.output and "prompted" in result.output

    engine = make_engine(cli_settings)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            user = session.scalars(select(User).where(User.username == "secadmin")).one()
            assert user.roles == {Role.SECURITY_ADMIN}
            for _ in range(cli_settings.login_max_failures):
                with pytest.raises(AuthenticationFailed):
                    service.authenticate(session, cli_settings, "secadmin", "wrong", None)
        result = runner.invoke(app, ["unlock", "secadmin"])
        assert result.exit_code == 0, result.output
        result = runner.invoke(app, ["set-password", "secadmin", "--password", "Next-Pass-2026!"])
        assert result.exit_code == 0, result.output
        result = runner.invoke(app, ["unlock", "nobody"])
        assert result.exit_code == 1
        with factory() as session:
            assert service.authenticate(session, cli_settings, "secadmin", "Next-Pass-2026!", None)
    finally:
        engine.dispose()
