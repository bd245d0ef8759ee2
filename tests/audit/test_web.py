"""The audit chain through the API, the pages and the CLI."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from gongshu.audit import service
from gongshu.audit.models import AuditEntry
from gongshu.auth.actor import Actor
from gongshu.cli import app as cli
from gongshu.db import make_engine, make_session_factory, unit_of_work
from gongshu.settings import Settings
from tests.factories import Person, api_headers, csrf_of, login


def test_api_needs_an_audit_reader(
    client: TestClient, audit_admin: Person, officer: Person
) -> None:
    assert client.get("/api/v1/audit/entries").status_code == 401
    denied = client.get("/api/v1/audit/entries", headers=api_headers(client, officer))
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "permission_denied"
    response = client.get(
        "/api/v1/audit/entries?action=user.", headers=api_headers(client, audit_admin)
    )
    assert response.status_code == 200
    body = response.json()
    assert body["total"] >= 2  # the two users made for this test
    assert all(item["action"].startswith("user.") for item in body["items"])


def test_api_verify(client: TestClient, audit_admin: Person, officer: Person) -> None:
    headers = api_headers(client, audit_admin)
    response = client.post("/api/v1/audit/verify", headers=headers)
    assert response.status_code == 200
    assert response.json()["ok"] is True
    officer_headers = api_headers(client, officer)
    assert client.post("/api/v1/audit/verify", headers=officer_headers).status_code == 403


def test_pages(client: TestClient, audit_admin: Person, officer: Person) -> None:
    login(client, audit_admin)
    page = client.get("/audit?action=user.create")
    assert page.status_code == 200
    assert "user.create" in page.text and officer.user.display_name in page.text
    verified = client.post("/audit/verify", data={"csrf_token": csrf_of(client, "/audit")})
    assert verified.status_code == 200
    assert "审计链完整" in verified.text
    english = client.get("/audit?lang=en")
    assert "Verify the audit chain" in english.text


def test_pages_refuse_others(client: TestClient, officer: Person) -> None:
    login(client, officer)
    assert client.get("/audit").status_code == 403
    assert "/audit" not in client.get("/").text.split("<main")[0]  # no link in the header


def test_cli_verify_names_the_broken_entry(cli_settings: Settings) -> None:
    engine = make_engine(cli_settings)
    factory = make_session_factory(engine)
    with factory() as session, unit_of_work(session):
        for i in range(3):
            service.record(session, Actor.system("pytest"), "thing.update", "thing", i)
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "审计链完整" in ok.output
    with factory() as session, unit_of_work(session):
        session.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(object_id="x"))
    broken = runner.invoke(cli, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "第 2 条" in broken.output
    engine.dispose()
