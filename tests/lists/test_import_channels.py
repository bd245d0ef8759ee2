"""The import and the lists through the page, the API and the CLI."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongshu.auth.models import Role
from gongshu.catalog import service as catalog_service
from gongshu.catalog.models import Dataset, DatasetState
from gongshu.cli import app
from gongshu.db import make_engine
from gongshu.settings import Settings
from tests.factories import Person, api_headers, csrf_of, dataset_input, login, seed_officer
from tests.lists.conftest import entry_row, field_rows, fill

runner = CliRunner()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Dataset)) or 0)


def _good_and_bad() -> bytes:
    entries = [entry_row("1"), entry_row("2", update_cycle="每千年"), entry_row("3")]
    return fill(entries, [f for r in ("1", "2", "3") for f in field_rows(r)])


def test_api_import(client: TestClient, officer: Person, db: Session) -> None:
    data = _good_and_bad()
    files = {"file": ("catalog.xlsx", data, XLSX)}
    assert client.post("/api/v1/catalog/import", files=files).status_code == 401
    headers = api_headers(client, officer)
    body = client.post("/api/v1/catalog/import", files=files, headers=headers).json()
    assert body["saved"] is False
    assert body["invalid"] == 1
    assert body["errors"][0]["row"] == 3
    assert body["errors"][0]["header"] == "更新周期"
    assert _count(db) == 0
    annotated = client.post("/api/v1/catalog/import?report=xlsx", files=files, headers=headers)
    assert annotated.headers["content-type"] == XLSX
    saved = client.post(
        "/api/v1/catalog/import?valid_only=true", files=files, headers=headers
    ).json()
    assert saved["saved"] is True
    assert len(saved["created"]) == 2
    assert _count(db) == 2
    junk = client.post(
        "/api/v1/catalog/import", files={"file": ("x.xlsx", b"junk", XLSX)}, headers=headers
    )
    assert junk.status_code == 422
    assert "Excel" in junk.json()["error"]["errors"]["file"][0]
    template = client.get("/api/v1/catalog/import/template", headers=headers)
    assert template.content[:2] == b"PK"


def test_api_import_refuses_non_officers(
    client: TestClient, make_person: object, agency: object
) -> None:
    consumer = make_person(Role.AGENCY_CONSUMER, agency=agency)  # type: ignore[operator]
    headers = api_headers(client, consumer)
    files = {"file": ("catalog.xlsx", _good_and_bad(), XLSX)}
    assert client.post("/api/v1/catalog/import", files=files, headers=headers).status_code == 403


def test_import_page(client: TestClient, officer: Person, db: Session) -> None:
    login(client, officer)
    form = client.get("/catalog/import")
    assert form.status_code == 200
    assert "/catalog/import/template" in form.text
    template = client.get("/catalog/import/template")
    assert template.headers["content-type"] == XLSX
    token = csrf_of(client, "/catalog/import")
    files = {"file": ("catalog.xlsx", _good_and_bad(), XLSX)}
    result = client.post("/catalog/import", data={"csrf_token": token}, files=files)
    assert result.status_code == 422
    assert "未导入任何条目" in result.text
    assert "data:" + XLSX + ";base64," in result.text
    assert "每千年" in result.text
    assert _count(db) == 0
    result = client.post(
        "/catalog/import", data={"csrf_token": token, "valid_only": "1"}, files=files
    )
    assert result.status_code == 200
    assert 'id="count-created">2<' in result.text
    assert _count(db) == 2
    refused = client.post(
        "/catalog/import",
        data={"csrf_token": token},
        files={"file": ("x.xlsx", b"junk", XLSX)},
    )
    assert refused.status_code == 422
    assert "Excel" in refused.text
    no_csrf = client.post("/catalog/import", files=files)
    assert no_csrf.status_code == 403


# ---------------------------------------------------------------------------------------
# CLI on a committed scratch database (real transactions: nothing saved means nothing)


@pytest.fixture
def cli_env(cli_settings: Settings) -> Iterator[Session]:
    engine = make_engine(cli_settings)
    with Session(engine, expire_on_commit=False) as session:
        officer = seed_officer(session).actor
        closed = catalog_service.create_dataset(
            session,
            officer,
            dataset_input(
                title="不予共享的条目",
                share_type="none",
                open_type="none",
                level="important",
                legal_basis="《数据安全法》",
            ),
        )
        closed.state = DatasetState.PUBLISHED
        session.commit()
        yield session
    engine.dispose()


def test_cli_template_import_and_lists(cli_env: Session, tmp_path: Path) -> None:
    template = tmp_path / "template.xlsx"
    result = runner.invoke(app, ["catalog", "template", "--output", str(template)])
    assert result.exit_code == 0, result.output
    upload = tmp_path / "filled.xlsx"
    entries = [entry_row("1"), entry_row("2", update_cycle="每千年")]
    upload.write_bytes(fill(entries, field_rows("1") + field_rows("2"), template.read_bytes()))

    report = tmp_path / "errors.xlsx"
    args = ["catalog", "import", str(upload), "--as", "officer1", "--report", str(report)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "更新周期" in result.output
    assert report.read_bytes()[:2] == b"PK"
    assert _count(cli_env) == 1  # the real transaction was rolled back
    cli_env.rollback()  # end our read (SQLite's BEGIN IMMEDIATE holds the write lock)

    result = runner.invoke(app, [*args, "--valid-only"])
    assert result.exit_code == 0, result.output
    assert "102001/0002" in result.output
    assert _count(cli_env) == 2
    cli_env.rollback()

    result = runner.invoke(
        app, ["catalog", "lists", "negative", "--agency", "临沂市市场监督管理局"]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout.lstrip("\ufeff"))))
    assert [r[2] for r in rows[1:]] == ["不予共享的条目"]
    out = tmp_path / "resp.xlsx"
    result = runner.invoke(
        app,
        [
            "catalog",
            "lists",
            "responsibility",
            "--format",
            "xlsx",
            "--scope",
            "visible",
            "--output",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:2] == b"PK"
    result = runner.invoke(app, ["catalog", "lists", "negative", "--agency", "没有这个机构"])
    assert result.exit_code == 1
