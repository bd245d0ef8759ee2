"""``gongshu opening``: list, decide (a refusal needs a reason), revoke and sweep, on a
committed scratch database."""

from __future__ import annotations

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongshu.cli import app as cli_app
from gongshu.db import make_engine
from gongshu.settings import Settings
from gongshu.store.storage import get_storage
from tests.opening.conftest import build_opening, submitted


def test_cli(cli_settings: Settings) -> None:
    engine = make_engine(cli_settings)
    with Session(engine, expire_on_commit=False) as session:
        opening = build_opening(session, get_storage(cli_settings))
        application_id = submitted(session, opening).id
    engine.dispose()
    runner = CliRunner()

    listed = runner.invoke(cli_app, ["opening", "list"])
    assert listed.exit_code == 0, listed.output
    assert f"{application_id}\tpending" in listed.output
    refused = runner.invoke(
        cli_app, ["opening", "decide", str(application_id), "--outcome", "refuse"]
    )
    assert refused.exit_code == 1
    approved = runner.invoke(
        cli_app,
        [
            "opening",
            "decide",
            str(application_id),
            "--outcome",
            "approve",
            "--field",
            "permit_no",
            "--as",
            "open_eco_officer",
        ],
    )
    assert approved.exit_code == 0, approved.output
    assert "已同意" in approved.output
    revoked = runner.invoke(
        cli_app, ["opening", "revoke", str(application_id), "--reason", "违反协议"]
    )
    assert revoked.exit_code == 0 and "已终止" in revoked.output
    swept = runner.invoke(cli_app, ["opening", "sweep"])
    assert swept.exit_code == 0, swept.output
