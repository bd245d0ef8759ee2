"""The audit chain through the API, the pages and the CLI: who sees which entries, the
search, CSV, statistics, checkpoints with proofs, and verification."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongshu.audit import checkpoint, service
from gongshu.audit.checkpoint import parse_export, write_checkpoint
from gongshu.audit.group import append_durable
from gongshu.audit.merkle import verify_inclusion
from gongshu.audit.models import AuditEntry, AuditHead
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.catalog.models import Dataset
from gongshu.cli import app as cli
from gongshu.db import make_engine, make_session_factory, unit_of_work
from gongshu.orgs.models import Agency, Region
from gongshu.settings import Settings
from tests.factories import Person, api_headers, csrf_of, login


@dataclass
class Traffic:
    """Reads by a body of the other agency: of the officer's entry and of its own."""

    consumer: Person
    ours: Dataset
    theirs: Dataset
    read_ours: int
    denied_ours: int
    verify_ours: int
    read_theirs: int


@pytest.fixture
def traffic(
    db: Session,
    make_person: Callable[..., Person],
    make_dataset: Callable[..., Dataset],
    other_agency: Agency,
    other_officer: Person,
) -> Traffic:
    consumer = make_person(Role.AGENCY_CONSUMER, agency=other_agency)
    ours = make_dataset()
    theirs = make_dataset(by=other_officer, title="生态环境监测数据", subitem_code="002")
    who = consumer.actor.with_request("req-1", "10.1.2.3")

    def gate(action: str, ds: Dataset, rows: int, **more: object) -> int:
        changes = {"operation": "page", "purpose": "核查企业资质", "grant": 11, "rows": rows}
        return append_durable(
            db, who, action, "dataset", ds.id, label=ds.title, changes=changes | more
        )

    return Traffic(
        consumer=consumer,
        ours=ours,
        theirs=theirs,
        read_ours=gate("data.read", ours, 50, fields=["credit_code", "name"]),
        denied_ours=gate("data.denied", ours, 0, reason="没有有效的共享授权"),
        verify_ours=gate("data.verify", ours, 0),
        read_theirs=gate("data.read", theirs, 7),
    )


def _seqs(client: TestClient, person: Person, query: str = "") -> list[int]:
    response = client.get(
        f"/api/v1/audit/entries?per_page=500&{query}", headers=api_headers(client, person)
    )
    assert response.status_code == 200, response.text
    return [item["seq"] for item in response.json()["items"]]


def test_who_sees_which_entries(
    client: TestClient,
    traffic: Traffic,
    audit_admin: Person,
    officer: Person,
    other_officer: Person,
    bureau_admin: Person,
    system_admin: Person,
) -> None:
    gate_seqs = {traffic.read_ours, traffic.denied_ours, traffic.verify_ours, traffic.read_theirs}
    assert gate_seqs <= set(_seqs(client, audit_admin))
    assert gate_seqs <= set(_seqs(client, bureau_admin))
    # The providing body sees the reads of its own entries, not the reader's other reads.
    mine = set(_seqs(client, officer, "action=data."))
    assert mine == {traffic.read_ours, traffic.denied_ours, traffic.verify_ours}
    # The reading body sees all its own traffic.
    theirs = set(_seqs(client, other_officer, "action=data."))
    assert theirs == gate_seqs
    # Writes: each officer sees its own body's, not the other's.
    creations = _seqs(client, officer, "action=dataset.create")
    assert len(creations) == 1
    assert (
        client.get(
            "/api/v1/audit/entries", headers=api_headers(client, traffic.consumer)
        ).status_code
        == 403
    )
    assert (
        client.get("/api/v1/audit/entries", headers=api_headers(client, system_admin)).status_code
        == 403
    )
    assert client.get("/api/v1/audit/entries").status_code == 401
    # One entry: visible to whom the list shows it, 404 to others.
    headers = api_headers(client, officer)
    assert (
        client.get(f"/api/v1/audit/entries/{traffic.read_ours}", headers=headers).status_code == 200
    )
    assert (
        client.get(f"/api/v1/audit/entries/{traffic.read_theirs}", headers=headers).status_code
        == 404
    )
    assert client.get("/api/v1/audit/entries/99999999", headers=headers).status_code == 404


def test_a_district_bureau_sees_its_district(
    client: TestClient,
    db: Session,
    traffic: Traffic,
    district: Region,
    district_admin: Person,
    make_agency: Callable[..., Agency],
    make_person: Callable[..., Person],
) -> None:
    local = make_agency("兰山区市场监督管理局", region=district)
    local_reader = make_person(Role.AGENCY_CONSUMER, agency=local)
    seq = append_durable(
        db, local_reader.actor, "data.read", "dataset", traffic.ours.id, changes={"rows": 3}
    )
    seen = set(_seqs(client, district_admin))
    assert seq in seen
    assert traffic.read_ours not in seen  # a city body's read of a city entry


def test_search_filters_and_keyset_pages(
    client: TestClient, traffic: Traffic, audit_admin: Person, other_agency: Agency
) -> None:
    assert _seqs(client, audit_admin, "result=denied") == [traffic.denied_ours]
    assert set(_seqs(client, audit_admin, "result=allowed&action=data.")) == {
        traffic.read_ours, traffic.verify_ours, traffic.read_theirs,
    }  # fmt: skip
    assert set(_seqs(client, audit_admin, f"dataset_id={traffic.ours.id}&action=data.")) == {
        traffic.read_ours, traffic.denied_ours, traffic.verify_ours,
    }  # fmt: skip
    by_body = set(_seqs(client, audit_admin, f"agency_id={other_agency.id}&action=data."))
    assert traffic.read_theirs in by_body and traffic.read_ours in by_body
    provider = set(_seqs(client, audit_admin, f"provider_id={other_agency.id}&action=data."))
    assert provider == {traffic.read_theirs}
    assert _seqs(client, audit_admin, f"actor_id={traffic.consumer.user.id}")[:4] == sorted(
        [traffic.read_ours, traffic.denied_ours, traffic.verify_ours, traffic.read_theirs],
        reverse=True,
    )
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    assert _seqs(client, audit_admin, f"since={tomorrow.replace('+', '%2B')}") == []
    assert traffic.read_ours in _seqs(client, audit_admin, "since=2020-01-01T00:00:00")
    headers = api_headers(client, audit_admin)
    assert client.get("/api/v1/audit/entries?result=maybe", headers=headers).status_code == 422
    # Keyset pages, newest first, each entry once.
    seen: list[int] = []
    before = ""
    while True:
        body = client.get(f"/api/v1/audit/entries?per_page=3{before}", headers=headers).json()
        seen.extend(item["seq"] for item in body["items"])
        if body["next_before"] is None:
            break
        before = f"&before={body['next_before']}"
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) > 6
    first = client.get("/api/v1/audit/entries?per_page=1", headers=headers).json()["items"][0]
    assert first["hash_version"] == 2 and len(first["entry_hash"]) == 64


def test_csv_export(client: TestClient, db: Session, traffic: Traffic, audit_admin: Person) -> None:
    append_durable(db, Actor(user_id=None, name="=HYPERLINK(1)"), "data.read", "dataset",
                   traffic.ours.id, label="+cmd", changes={"rows": 1})  # fmt: skip
    response = client.get(
        "/api/v1/audit/entries.csv?action=data.", headers=api_headers(client, audit_admin)
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["序号", "时间", "操作人"]
    assert len(rows) == 1 + 5
    assert rows[1][2] == "'=HYPERLINK(1)" and rows[1][8] == "'+cmd"  # never a formula
    denied = next(r for r in rows if r[0] == str(traffic.denied_ours))
    assert denied[5] == "denied" and denied[11] == "核查企业资质"
    assert "其他机构" not in response.text
    login(client, audit_admin)
    page_csv = client.get("/audit/entries.csv?result=denied")
    assert page_csv.status_code == 200 and str(traffic.denied_ours) in page_csv.text
    officer_csv = client.get(
        "/api/v1/audit/entries.csv", headers=api_headers(client, traffic.consumer)
    )
    assert officer_csv.status_code == 403


def test_stats(
    client: TestClient, traffic: Traffic, audit_admin: Person, officer: Person, other_agency: Agency
) -> None:
    body = client.get("/api/v1/audit/stats", headers=api_headers(client, audit_admin)).json()
    assert body["totals"] == {"calls": 2, "denied": 1, "records": 57, "verifications": 1}
    row = next(r for r in body["by_agency"] if r["id"] == other_agency.id)
    assert (row["calls"], row["records"], row["name"]) == (2, 57, other_agency.name)
    per_entry = {r["id"]: r for r in body["by_dataset"]}
    assert per_entry[traffic.ours.id]["records"] == 50
    assert per_entry[traffic.ours.id]["verifications"] == 1
    assert sum(d["calls"] for d in body["by_day"]) == 2 and len(body["by_day"]) == 30
    # The providing body's officers see the traffic on their own entries only.
    own = client.get("/api/v1/audit/stats", headers=api_headers(client, officer)).json()
    assert own["totals"] == {"calls": 1, "denied": 1, "records": 50, "verifications": 1}
    headers = api_headers(client, audit_admin)
    assert (
        client.get(
            "/api/v1/audit/stats?since=2026-05-01&until=2026-01-01", headers=headers
        ).status_code
        == 422
    )
    login(client, officer)
    page = client.get("/audit/stats")
    assert page.status_code == 200
    assert "共享统计" in page.text and "<svg" in page.text and 'role="img"' in page.text
    assert traffic.ours.title in page.text and traffic.theirs.title not in page.text
    assert "57" not in page.text.split('data-stat="records"')[1][:40]
    english = client.get("/audit/stats?lang=en")
    assert "Sharing statistics" in english.text and "Records exchanged" in english.text


def test_pages(client: TestClient, traffic: Traffic, audit_admin: Person, officer: Person) -> None:
    login(client, audit_admin)
    assert client.get("/audit?action=data.", follow_redirects=False).headers["location"] == (
        "/audit/entries?action=data."
    )
    page = client.get("/audit/entries?action=data.&result=denied")
    assert page.status_code == 200
    assert f'href="/audit/entries/{traffic.denied_ours}"' in page.text
    assert f'href="/audit/entries/{traffic.read_ours}"' not in page.text
    assert "拒绝" in page.text and "badge-bad" in page.text
    detail = client.get(f"/audit/entries/{traffic.read_ours}")
    assert detail.status_code == 200
    for text in ("用途", "核查企业资质", "授权", "11", "credit_code", "行数", "50"):
        assert text in detail.text
    verified = client.post("/audit/verify", data={"csrf_token": csrf_of(client, "/audit/entries")})
    assert verified.status_code == 200 and "审计链完整" in verified.text
    english = client.get("/audit/entries?lang=en")
    assert "Verify the audit chain" in english.text and "Audit entries" in english.text
    login(client, officer)
    own = client.get("/audit/entries")
    assert own.status_code == 200
    assert "校验审计链完整性" not in own.text  # officers do not verify
    assert f'href="/audit/entries/{traffic.read_theirs}"' not in own.text
    assert client.get(f"/audit/entries/{traffic.read_theirs}").status_code == 404
    assert 'href="/audit/entries"' in own.text.split("<main")[0]  # linked in the header
    assert client.get("/audit/checkpoints").status_code == 403


def test_pages_refuse_others(client: TestClient, traffic: Traffic) -> None:
    login(client, traffic.consumer)
    assert client.get("/audit/entries").status_code == 403
    assert client.get("/audit/stats").status_code == 403
    assert "/audit" not in client.get("/").text.split("<main")[0]  # no link in the header


def test_api_verify(client: TestClient, audit_admin: Person, officer: Person) -> None:
    headers = api_headers(client, audit_admin)
    response = client.post("/api/v1/audit/verify", headers=headers)
    assert response.status_code == 200
    assert response.json()["ok"] is True
    officer_headers = api_headers(client, officer)
    assert client.post("/api/v1/audit/verify", headers=officer_headers).status_code == 403


def test_checkpoints_and_proofs(
    client: TestClient, db: Session, traffic: Traffic, audit_admin: Person, officer: Person
) -> None:
    made = write_checkpoint(db)
    assert made is not None
    headers = api_headers(client, audit_admin)
    response = client.get("/api/v1/audit/checkpoints", headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    kept = parse_export(response.text.splitlines())
    assert len(kept) == 1 and kept[0].tree_size == made.tree_size
    assert checkpoint.signature_valid(kept[0])
    assert (
        client.get("/api/v1/audit/checkpoints", headers=api_headers(client, officer)).status_code
        == 403
    )
    proof = client.get(f"/api/v1/audit/proof/{traffic.read_ours}", headers=headers).json()
    assert proof["checkpoint"]["signature"]["key_id"] == kept[0].signature.key_id
    assert verify_inclusion(
        proof["leaf_index"],
        proof["tree_size"],
        bytes.fromhex(proof["leaf_hash"]),
        [bytes.fromhex(p) for p in proof["proof"]],
        bytes.fromhex(proof["root"]),
    )
    assert proof["root"] == made.root_hash
    outside = client.get(f"/api/v1/audit/proof/{made.tree_size + 5}", headers=headers)
    assert outside.status_code == 404
    login(client, audit_admin)
    page = client.get("/audit/checkpoints")
    assert page.status_code == 200 and made.root_hash[:16] in page.text
    assert client.get("/audit/checkpoints.jsonl").text == response.text


def test_cli_checkpoint_export_and_verify_against_the_export(
    cli_settings: Settings, tmp_path: Path
) -> None:
    engine = make_engine(cli_settings)
    factory = make_session_factory(engine)
    with factory() as session, unit_of_work(session):
        for i in range(6):
            service.record(session, Actor.system("pytest"), "thing.update", "thing", i)
    runner = CliRunner()
    signed = runner.invoke(cli, ["audit", "checkpoint"])
    assert signed.exit_code == 0, signed.output
    assert "已签发检查点 #1：前 6 条记录" in signed.output
    again = runner.invoke(cli, ["audit", "checkpoint"])
    assert "没有需要签发的新记录" in again.output
    out = tmp_path / "kept.jsonl"
    exported = runner.invoke(cli, ["audit", "checkpoints", "export", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    stdout = runner.invoke(cli, ["audit", "checkpoints", "export"])
    assert json.loads(stdout.stdout.splitlines()[0])["tree_size"] == 6
    ok = runner.invoke(cli, ["audit", "verify", "--checkpoints", str(out)])
    assert ok.exit_code == 0, ok.output
    assert "审计链完整：共校验 7 条记录" in ok.output
    # Rewrite entry 2 and recompute every hash after it, checkpoints included.
    with factory() as session, unit_of_work(session):
        entries = list(session.query(AuditEntry).order_by(AuditEntry.seq))
        entries[1].object_label = "改写"
        prev = entries[0].entry_hash
        for e in entries[1:]:
            e.prev_hash = prev
            e.entry_hash = service._hash_entry(e)
            prev = e.entry_hash
        session.execute(update(AuditHead).values(entry_hash=prev))
        session.execute(checkpoint.AuditCheckpoint.__table__.delete())
    broken = runner.invoke(cli, ["audit", "verify", "--checkpoints", str(out)])
    assert broken.exit_code == 1
    assert "外部保存的检查点" in broken.output and "第 1 条" in broken.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n", encoding="utf-8")
    unreadable = runner.invoke(cli, ["audit", "verify", "--checkpoints", str(bad)])
    assert unreadable.exit_code == 1 and "第 1 行" in unreadable.output
    engine.dispose()


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
