"""Masking rules: seeded defaults, the security admin's edits (service, API, page, CLI), each
audited, and a reader sees an edit on the next read."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongshu.audit.models import AuditEntry
from gongshu.catalog.models import Dataset, Level, Sensitivity
from gongshu.cli import app as cli_app
from gongshu.errors import PermissionDenied
from gongshu.gate import rules
from gongshu.gate import service as gate
from gongshu.gate.models import MaskRule
from gongshu.masking import Technique, default_rules
from gongshu.settings import Settings
from gongshu.share.models import Grant
from gongshu.store.models import DatasetVersion
from gongshu.store.storage import LocalStorage
from tests.factories import Person, api_headers, csrf_of, login
from tests.gate.conftest import person_id


def test_the_migration_seeds_the_defaults(db: Session) -> None:
    seeded = {(r.level, r.sensitivity): r.technique for r in db.scalars(select(MaskRule))}
    assert seeded == default_rules()
    assert seeded[Level.GENERAL_4, Sensitivity.ID_NUMBER] is Technique.HASH
    assert seeded[Level.GENERAL_4, Sensitivity.NAME] is Technique.MASK
    assert seeded[Level.GENERAL_1, Sensitivity.ID_NUMBER] is Technique.CLEAR
    assert {seeded[lv, Sensitivity.CREDIT_CODE] for lv in Level} == {Technique.CLEAR}


def test_only_the_security_admin_edits_and_each_edit_is_audited(
    db: Session,
    security_admin: Person,
    bureau_admin: Person,
    system_admin: Person,
    officer: Person,
    grantee: Person,
    people: Dataset,
    people_version: DatasetVersion,
    make_grant: Callable[..., Grant],
    storage: LocalStorage,
) -> None:
    make_grant(people, grantee.user.agency_id)
    before = gate.read_page(db, grantee.actor, people, purpose="核对", limit=1, storage=storage)
    assert before.rows[0]["person_id"] != person_id(0)
    for person in (bureau_admin, system_admin, officer):
        with pytest.raises(PermissionDenied):
            rules.set_rule(
                db, person.actor, Level.GENERAL_4, Sensitivity.ID_NUMBER, Technique.CLEAR
            )
    with pytest.raises(PermissionDenied):
        rules.list_rules(db, officer.actor)
    assert len(rules.list_rules(db, bureau_admin.actor)) == len(Level) * len(Sensitivity)

    row = rules.set_rule(
        db, security_admin.actor, Level.GENERAL_4, Sensitivity.ID_NUMBER, Technique.CLEAR
    )
    assert row.technique is Technique.CLEAR and row.updated_by == security_admin.user.display_name
    entry = db.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert entry is not None and entry.action == "masking.rule_set"
    assert entry.changes == {
        "level": "general_4",
        "sensitivity": "id_number",
        "technique": ["hash", "clear"],
    }
    # The next read follows the rule.
    after = gate.read_page(db, grantee.actor, people, purpose="核对", limit=1, storage=storage)
    assert after.rows[0]["person_id"] == person_id(0)
    # Setting the same technique again changes nothing and records nothing.
    count = db.scalar(select(func.count()).select_from(AuditEntry))
    rules.set_rule(
        db, security_admin.actor, Level.GENERAL_4, Sensitivity.ID_NUMBER, Technique.CLEAR
    )
    assert db.scalar(select(func.count()).select_from(AuditEntry)) == count


def test_the_api(client: TestClient, security_admin: Person, officer: Person) -> None:
    listed = client.get("/api/v1/masking/rules", headers=api_headers(client, security_admin))
    assert listed.status_code == 200 and len(listed.json()) == len(Level) * len(Sensitivity)
    first = listed.json()[0]
    assert set(first) == {"level", "sensitivity", "technique", "updated_at", "updated_by"}
    url = "/api/v1/masking/rules/general_3/mobile"
    denied = client.put(url, json={"technique": "drop"}, headers=api_headers(client, officer))
    assert denied.status_code == 403
    done = client.put(url, json={"technique": "drop"}, headers=api_headers(client, security_admin))
    assert done.status_code == 200 and done.json()["technique"] == "drop"
    bad = client.put(url, json={"technique": "rot13"}, headers=api_headers(client, security_admin))
    assert bad.status_code == 422
    assert client.get("/api/v1/masking/rules").status_code == 401


def test_the_page(client: TestClient, security_admin: Person, officer: Person) -> None:
    login(client, security_admin)
    page = client.get("/admin/masking")
    assert page.status_code == 200
    assert "脱敏规则" in page.text and 'name="rule-general_4-id_number"' in page.text
    token = csrf_of(client, "/admin/masking")
    saved = client.post(
        "/admin/masking",
        data={"csrf_token": token, "rule-general_2-name": "hash", "rule-core-mobile": "drop"},
        follow_redirects=True,
    )
    assert saved.status_code == 200 and "修改了 2 条规则" in saved.text
    assert 'id="rule-general_2-name" name="rule-general_2-name" class="mask-hash"' in saved.text
    bad = client.post("/admin/masking", data={"csrf_token": token, "rule-core-name": "x"})
    assert bad.status_code == 422
    client.post("/logout", data={"csrf_token": token})
    login(client, officer)
    assert client.get("/admin/masking").status_code == 403


def test_the_cli(cli_settings: Settings) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli_app, ["masking", "list", "--level", "general_4"])
    assert listed.exit_code == 0, listed.output
    assert "id_number    hash" in listed.output and len(listed.output.splitlines()) == 10
    done = runner.invoke(cli_app, ["masking", "set", "general_4", "name", "drop"])
    assert done.exit_code == 0, done.output
    assert "general_4 name → drop" in done.output
    listed = runner.invoke(cli_app, ["masking", "list", "--level", "general_4"])
    assert "name         drop" in listed.output
    bad = runner.invoke(cli_app, ["masking", "set", "general_9", "name", "drop"])
    assert bad.exit_code != 0
