"""Pages, JSON API and CLI of data governance."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from gongshu.catalog.models import OpenType
from gongshu.cli import app as cli_app
from gongshu.governance.models import ConsistencyIssue, Objection, ObjectionStatus
from tests.factories import api_headers, csrf_of, login
from tests.governance.conftest import NAMES, ingest, licence_csv, registry_csv, run_jobs
from tests.ingest_service.conftest import code


def test_api_sources_check_and_issues(
    client, db, tmp_path, officer, other_officer, bureau_admin, name_item, registry, licences
) -> None:
    admin = api_headers(client, bureau_admin)
    bound = client.put(
        f"/api/v1/governance/items/{name_item.id}/source",
        headers=admin,
        json={"code": registry.code, "field_name": "name"},
    )
    assert bound.status_code == 200, bound.text
    assert bound.json()["source"]["dataset_id"] == registry.id
    again = client.put(
        f"/api/v1/governance/items/{name_item.id}/source",
        headers=admin,
        json={"dataset_id": licences.id, "field_name": "company"},
    )
    assert again.status_code == 409
    suggested = client.get(f"/api/v1/governance/items/{name_item.id}/suggestions", headers=admin)
    assert [s["dataset_id"] for s in suggested.json()] == [licences.id]
    linked = client.post(
        f"/api/v1/governance/items/{name_item.id}/copies",
        headers=admin,
        json={"dataset_id": licences.id, "field_name": "company", "origin": "suggested"},
    )
    assert linked.status_code == 201 and linked.json()["copies"][0]["origin"] == "suggested"
    officer_headers = api_headers(client, officer)
    denied = client.post(
        "/api/v1/governance/items",
        headers=officer_headers,
        json={
            "collection_id": name_item.collection_id,
            "name": "法定代表人",
            "key_kind": "credit_code",
        },
    )
    assert denied.status_code == 403

    ingest(db, officer, registry, registry_csv(tmp_path, NAMES))
    ingest(db, other_officer, licences, licence_csv(tmp_path, {**NAMES, 3: "别的名称"}))
    check = client.post("/api/v1/governance/checks", headers=admin, json={"item_id": name_item.id})
    assert check.status_code == 200, check.text
    assert check.json()["opened"] == 1
    mine = client.get(
        "/api/v1/governance/issues", headers=api_headers(client, other_officer)
    ).json()
    assert mine["total"] == 1 and mine["items"][0]["copy_value"] == "别的名称"
    assert mine["items"][0]["key_value"] == code(3)
    items = client.get("/api/v1/governance/items", headers=officer_headers).json()
    copy = next(i for i in items if i["id"] == name_item.id)["copies"][0]
    assert copy["open_issues"] == 1


def test_pages(
    client, db, tmp_path, officer, other_officer, bureau_admin, consumer, bound, registry, licences
) -> None:
    ingest(db, officer, registry, registry_csv(tmp_path, NAMES))
    ingest(db, other_officer, licences, licence_csv(tmp_path, {**NAMES, 1: "错误名称"}))
    run_jobs(db)
    login(client, bureau_admin)
    page = client.get("/governance/sources")
    assert page.status_code == 200 and "企业名称" in page.text and "1 处不一致" in page.text
    issues = client.get("/governance/issues", params={"item_id": bound.id})
    assert issues.status_code == 200 and "错误名称" in issues.text
    csrf = csrf_of(client, "/governance/sources")
    rerun = client.post("/governance/checks", data={"csrf_token": csrf, "item_id": str(bound.id)})
    assert rerun.status_code == 200 and "比对完成" in rerun.text
    client.post("/logout", data={"csrf_token": csrf})

    login(client, consumer)
    form = client.get(
        f"/catalog/{registry.id}/corrections/new", params={"key": code(2), "field": "name"}
    )
    assert form.status_code == 200 and NAMES[2] in form.text
    csrf = csrf_of(client, f"/catalog/{registry.id}/corrections/new")
    bad = client.post(
        f"/catalog/{registry.id}/corrections/new",
        data={"csrf_token": csrf, "key_value": code(2), "field_name": "name", "reason": ""},
    )
    assert bad.status_code == 422
    created = client.post(
        f"/catalog/{registry.id}/corrections/new",
        data={
            "csrf_token": csrf,
            "key_value": code(2),
            "field_name": "name",
            "proposed_value": "正确名称",
            "reason": "与执照不符",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    objection = db.scalars(select(Objection)).one()
    client.post("/logout", data={"csrf_token": csrf})

    login(client, officer)
    queue = client.get("/governance/corrections", params={"role": "provider"})
    assert queue.status_code == 200 and code(2) in queue.text
    assert "个工作日" in queue.text or "今日到期" in queue.text
    ticket = client.get(f"/governance/corrections/{objection.id}")
    assert ticket.status_code == 200 and "governance.correction_create" in ticket.text
    csrf = csrf_of(client, f"/governance/corrections/{objection.id}")
    rejected = client.post(
        f"/governance/corrections/{objection.id}/answer",
        data={"csrf_token": csrf, "decision": "reject", "reason": ""},
    )
    assert rejected.status_code == 422
    accepted = client.post(
        f"/governance/corrections/{objection.id}/answer",
        data={"csrf_token": csrf, "decision": "accept", "reason": ""},
        follow_redirects=False,
    )
    assert accepted.status_code == 303
    db.refresh(objection)
    assert objection.status is ObjectionStatus.ACCEPTED


def test_api_corrections(client, db, tmp_path, officer, consumer, other_officer, registry) -> None:
    ingest(db, officer, registry, registry_csv(tmp_path, NAMES))
    reporter = api_headers(client, consumer)
    created = client.post(
        "/api/v1/governance/corrections",
        headers=reporter,
        json={
            "dataset_id": registry.id,
            "key_value": code(4),
            "field_name": "name",
            "reason": "有误",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["seen_value"] == NAMES[4] and body["deadline"]["remaining"] is not None
    registry.open_type = OpenType.NONE  # not opened: another agency cannot read its rows
    db.commit()
    outsider = client.post(
        "/api/v1/governance/corrections",
        headers=api_headers(client, other_officer),
        json={
            "dataset_id": registry.id,
            "key_value": code(4),
            "field_name": "capital",
            "reason": "x",
        },
    )
    assert outsider.status_code in (403, 404)
    provider = api_headers(client, officer)
    queue = client.get(
        "/api/v1/governance/corrections", headers=provider, params={"role": "provider"}
    )
    assert [c["id"] for c in queue.json()] == [body["id"]]
    ingest(db, officer, registry, registry_csv(tmp_path, NAMES, name="v2.csv"))
    closed = client.post(
        f"/api/v1/governance/corrections/{body['id']}/close", headers=provider, json={"version": 2}
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "fixed"
    assert closed.json()["fixed_version_url"] == f"/catalog/{registry.id}/versions/2"


def test_cli(cli_settings) -> None:
    runner = CliRunner()
    listed = runner.invoke(cli_app, ["governance", "collections"])
    assert listed.exit_code == 0, listed.output
    assert "legal_entity" in listed.output and "population" in listed.output
    added = runner.invoke(
        cli_app,
        [
            "governance",
            "add-item",
            "--collection",
            "population",
            "--name",
            "出生日期",
            "--key",
            "citizen_id",
        ],
    )
    assert added.exit_code == 0, added.output
    items = runner.invoke(cli_app, ["governance", "items"])
    assert "出生日期" in items.output
    check = runner.invoke(cli_app, ["governance", "check"])
    assert check.exit_code == 0, check.output
    issues = runner.invoke(cli_app, ["governance", "issues"])
    assert issues.exit_code == 0
    queue = runner.invoke(cli_app, ["governance", "corrections", "list"])
    assert queue.exit_code == 0 and queue.output.strip() == ""
    missing = runner.invoke(cli_app, ["governance", "bind", "999", "X/1", "name"])
    assert missing.exit_code == 1


def test_issue_rows_do_not_leak(client, db, other_officer, bound) -> None:
    headers = api_headers(client, other_officer)
    assert client.get("/api/v1/governance/issues", headers=headers).json()["total"] == 0
    assert db.scalars(select(ConsistencyIssue)).first() is None
