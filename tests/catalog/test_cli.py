"""``gongshu catalog`` on a committed scratch database, settings read from the environment."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongshu.audit import service as audit
from gongshu.catalog import service as catalog_service
from gongshu.cli import app
from gongshu.db import make_engine
from gongshu.settings import Settings
from tests.catalog.conftest import api_payload
from tests.factories import SYSTEM, dataset_input, seed_officer

runner = CliRunner()


@pytest.fixture
def cli_db(cli_settings: Settings) -> Iterator[Session]:
    """The scratch database, seeded with an agency, its officer and one draft entry; the
    CLI finds it through GONGSHU_DATABASE_URL."""
    engine = make_engine(cli_settings)
    with Session(engine, expire_on_commit=False) as session:
        officer = seed_officer(session)
        catalog_service.create_dataset(session, officer.actor, dataset_input(title="=1+2 企业登记"))
        yield session
    engine.dispose()


def test_export_csv_to_stdout(cli_db: Session) -> None:
    result = runner.invoke(app, ["catalog", "export", "--format", "csv"])
    assert result.exit_code == 0, result.output
    data = result.stdout_bytes
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[1][:2] == ["102001/0001", "'=1+2 企业登记"]
    again = runner.invoke(app, ["catalog", "export"])
    assert again.stdout_bytes == data


def test_export_xlsx_to_stdout_and_to_a_file(cli_db: Session, tmp_path: Path) -> None:
    result = runner.invoke(app, ["catalog", "export", "--format", "xlsx"])
    assert result.exit_code == 0, result.output
    assert zipfile.is_zipfile(io.BytesIO(result.stdout_bytes))
    target = tmp_path / "catalog.xlsx"
    result = runner.invoke(app, ["catalog", "export", "--format", "xlsx", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == b""
    assert (
        target.read_bytes() == runner.invoke(app, ["catalog", "export", "-f", "xlsx"]).stdout_bytes
    )
    bad = runner.invoke(app, ["catalog", "export", "--format", "pdf"])
    assert bad.exit_code != 0


def test_list_and_show(cli_db: Session) -> None:
    listing = runner.invoke(app, ["catalog", "list"])
    assert listing.exit_code == 0, listing.output
    assert "102001/0001" in listing.stdout and "草稿" in listing.stdout
    shown = runner.invoke(app, ["catalog", "show", "102001/0001"])
    assert shown.exit_code == 0, shown.output
    assert "=1+2 企业登记" in shown.stdout and "credit_code" in shown.stdout
    missing = runner.invoke(app, ["catalog", "show", "102001/9999"])
    assert missing.exit_code == 1
    assert "目录条目不存在" in missing.stderr


def test_create_and_edit_as_an_officer(cli_db: Session, tmp_path: Path) -> None:
    entry = tmp_path / "entry.json"
    entry.write_text(json.dumps(api_payload(), ensure_ascii=False), encoding="utf-8")
    created = runner.invoke(app, ["catalog", "create", "--as", "officer1", "--file", str(entry)])
    assert created.exit_code == 0, created.output
    assert "204001/0001" in created.stdout
    patch = tmp_path / "patch.json"
    patch.write_text(json.dumps({"title": "食品经营许可", "lock_version": 1}), encoding="utf-8")
    edited = runner.invoke(
        app, ["catalog", "edit", "204001/0001", "--as", "officer1", "--file", str(patch)]
    )
    assert edited.exit_code == 0, edited.output
    stale = runner.invoke(
        app, ["catalog", "edit", "204001/0001", "--as", "officer1", "--file", str(patch)]
    )
    assert stale.exit_code == 1 and "已被他人修改" in stale.stderr
    cli_db.expire_all()
    dataset = catalog_service.get_dataset(cli_db, SYSTEM, 2)
    history = audit.history(cli_db, "dataset", dataset.id)
    assert [h.action for h in history] == ["dataset.create", "dataset.update"]
    assert history[1].changes == {"title": ["食品经营许可信息", "食品经营许可"]}
    assert history[1].actor_name == "王专管"


def test_cli_rules_and_errors(cli_db: Session, tmp_path: Path) -> None:
    entry = tmp_path / "entry.json"
    entry.write_text(
        json.dumps(api_payload(share_type="none", open_type="none", level="general_3")),
        encoding="utf-8",
    )
    refused = runner.invoke(app, ["catalog", "create", "--as", "officer1", "--file", str(entry)])
    assert refused.exit_code == 1
    assert "没有依据的，应当列为无条件共享" in refused.stderr
    nobody = runner.invoke(app, ["catalog", "create", "--as", "nobody", "--file", str(entry)])
    assert nobody.exit_code == 1 and "用户不存在" in nobody.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    bad = runner.invoke(app, ["catalog", "create", "--as", "officer1", "--file", str(broken)])
    assert bad.exit_code == 1 and "JSON" in bad.stderr
