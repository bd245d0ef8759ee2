"""Verification through the JSON API (single, batch, sealed, rate), the pages and the CLI."""

from __future__ import annotations

import json

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongshu.audit.models import AuditEntry
from gongshu.catalog.models import Dataset
from gongshu.cli import app as cli_app
from gongshu.db import make_engine, make_session_factory, unit_of_work
from gongshu.settings import Settings
from gongshu.verification import service
from gongshu.verification.models import VerificationService
from gongshu.verification.schemas import ServiceCreate
from tests.factories import Person, api_headers, csrf_of, login, seed_officer
from tests.verification.data import NAMES, person_id

runner = CliRunner()


def test_api_check_batch_and_sealed_answer(
    client: TestClient,
    officer: Person,
    other_officer: Person,
    citizen_service: VerificationService,
    licence_service: VerificationService,
) -> None:
    headers = api_headers(client, officer)
    url = "/api/v1/verification/services/citizen-name"
    one = client.post(
        f"{url}/check",
        headers=headers,
        json={"key": person_id(1), "claims": {"name": "李五"}, "purpose": "开户核验"},
    )
    assert one.status_code == 200, one.text
    body = one.json()
    assert body["result"] == {
        "match": False,
        "mismatched": ["name"],
        "found": None,
        "valid": None,
        "ref": None,
    }
    assert body["service"] == "citizen-name" and body["version"] == 1
    assert "李四" not in one.text  # the record's value never leaves

    checks = [
        {"key": person_id(i), "claims": {"name": n}, "ref": str(i)} for i, n in enumerate(NAMES)
    ]
    batch = client.post(f"{url}/batch", headers=headers, json={"purpose": "批量", "checks": checks})
    assert batch.status_code == 200, batch.text
    assert [r["match"] for r in batch.json()["results"]] == [True] * len(NAMES)
    assert [r["ref"] for r in batch.json()["results"]] == ["0", "1", "2", "3", "4"]
    too_many = client.post(
        f"{url}/batch", headers=headers, json={"purpose": "批量", "checks": checks * 201}
    )
    assert too_many.status_code == 422

    sealed = client.post(
        f"{url}/check?sealed=1",
        headers=headers,
        json={"key": person_id(0), "claims": {"name": "张三"}, "purpose": "开户核验"},
    )
    assert sealed.status_code == 200
    envelope = sealed.json()
    assert envelope["answer"]["result"]["match"] is True
    assert envelope["seal"]["signed"]["service"] == "citizen-name"
    verdict = client.post("/api/v1/seal/verify", json=envelope).json()
    assert verdict["valid"] is True
    envelope["answer"]["result"]["match"] = False
    assert client.post("/api/v1/seal/verify", json=envelope).json()["check"] == "digest_mismatch"

    # Another body: refused on the grant-only service, served by the open one.
    other = api_headers(client, other_officer)
    refused = client.post(
        f"{url}/check",
        headers=other,
        json={"key": person_id(0), "claims": {"name": "张三"}, "purpose": "开户核验"},
    )
    assert refused.status_code == 403  # and the refusal is in the audit chain (gate tests)
    licence = client.post(
        "/api/v1/verification/services/food-licence/check",
        headers=other,
        json={"key": "JY002", "claims": {"holder": "临沂测试企业2有限公司"}, "purpose": "许可核验"},
    )
    assert licence.json()["result"] == {
        "match": True,
        "mismatched": [],
        "found": True,
        "valid": False,
        "ref": None,
    }
    assert client.post(f"{url}/check", json={"key": "1", "purpose": "xx"}).status_code == 401


def test_api_entry_check_and_service_admin(
    client: TestClient,
    db: Session,
    officer: Person,
    bureau_admin: Person,
    residents: Dataset,
) -> None:
    direct = client.post(
        f"/api/v1/verification/datasets/{residents.id}/check",
        headers=api_headers(client, officer),
        json={
            "key": person_id(3),
            "claims": {"name": "王五", "district": "河东区"},
            "purpose": "核对",
        },
    )
    assert direct.status_code == 200, direct.text
    assert direct.json()["result"]["match"] is True and direct.json()["service"] is None

    admin = api_headers(client, bureau_admin)
    created = client.post(
        "/api/v1/verification/services",
        headers=admin,
        json={
            "code": "resident-district",
            "name": "居住区县核验",
            "dataset_code": residents.code,
            "key_field": "id_number",
            "fields": ["district"],
            "open_to_all": True,
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["dataset_title"] == "居民身份信息"
    listed = client.get("/api/v1/verification/services", headers=admin).json()
    assert [s["code"] for s in listed] == ["resident-district"]
    changed = client.put(
        "/api/v1/verification/services/resident-district",
        headers=admin,
        json={"name": "居住区县核验", "key_field": "id_number", "fields": ["district", "name"]},
    )
    assert changed.status_code == 200 and changed.json()["fields"] == ["district", "name"]
    assert changed.json()["open_to_all"] is False
    denied = client.post(
        "/api/v1/verification/services",
        headers=api_headers(client, officer),
        json={
            "code": "x-y",
            "name": "x",
            "dataset_id": residents.id,
            "key_field": "id_number",
            "fields": ["name"],
        },
    )
    assert denied.status_code == 403


def test_rate_limit_answers_429(
    app: FastAPI,
    client: TestClient,
    settings: Settings,
    officer: Person,
    citizen_service: VerificationService,
) -> None:
    app.state.settings = settings.model_copy(update={"verify_rate_per_minute": 2})
    headers = api_headers(client, officer)
    url = "/api/v1/verification/services/citizen-name/check"
    body = {"key": person_id(0), "claims": {"name": "张三"}, "purpose": "核验"}
    assert [client.post(url, headers=headers, json=body).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    answer = client.post(url, headers={**headers, "Accept-Language": "en"}, json=body)
    assert answer.json()["error"]["code"] == "rate_limited"
    assert "at most 2 per minute" in answer.json()["error"]["message"]


def test_pages_configure_and_check(
    client: TestClient,
    db: Session,
    bureau_admin: Person,
    officer: Person,
    residents: Dataset,
) -> None:
    login(client, bureau_admin)
    token = csrf_of(client, "/verification")
    bad = client.post(
        "/verification",
        data={
            "csrf_token": token,
            "code": "citizen-name",
            "name": "身份核验",
            "dataset_code": residents.code,
            "key_field": "name",
            "fields": "name",
        },
    )
    assert bad.status_code == 422 and "核验标识字段应为主键" in bad.text
    made = client.post(
        "/verification",
        data={
            "csrf_token": token,
            "code": "citizen-name",
            "name": "身份核验",
            "dataset_code": residents.code,
            "key_field": "id_number",
            "fields": "name，district",
            "active": "1",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303 and made.headers["location"] == "/verification/citizen-name"
    detail = client.get("/verification/citizen-name")
    assert detail.status_code == 200 and "修改核验服务" in detail.text and "所属区县" in detail.text

    client.post("/logout", data={"csrf_token": csrf_of(client)})
    login(client, officer)
    token = csrf_of(client, "/verification/citizen-name")
    answer = client.post(
        "/verification/citizen-name/check",
        data={
            "csrf_token": token,
            "key": person_id(2),
            "claim_name": "欧阳娜娜",
            "claim_district": "罗庄区",
            "purpose": "窗口核验",
        },
    )
    assert answer.status_code == 200
    assert 'id="verification-match">不一致<' in answer.text and "所属区县" in answer.text
    assert "修改核验服务" not in answer.text  # the provider's officer does not configure
    no_purpose = client.post(
        "/verification/citizen-name/check",
        data={"csrf_token": token, "key": person_id(2), "claim_name": "欧阳娜娜"},
    )
    assert no_purpose.status_code == 422
    listing = client.get("/verification")
    assert "身份核验" in listing.text and "新增核验服务" not in listing.text


def test_cli_check(cli_settings: Settings) -> None:
    engine = make_engine(cli_settings)
    try:
        with make_session_factory(engine)() as session:
            officer = seed_officer(session)
            _cli_entry(session, officer)
            username = officer.username
    finally:
        engine.dispose()
    listed = runner.invoke(cli_app, ["verify", "services"])
    assert listed.exit_code == 0 and "cli-name" in listed.output
    ok = runner.invoke(
        cli_app,
        [
            "verify",
            "check",
            "cli-name",
            person_id(0),
            "name=张三",
            "--purpose",
            "核验",
            "--as",
            username,
            "--sealed",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["answer"]["result"]["match"] is True
    no = runner.invoke(
        cli_app, ["verify", "check", "cli-name", person_id(0), "name=李四", "--purpose", "核验"]
    )
    assert no.exit_code == 1 and '"mismatched": [\n      "name"' in no.output
    bad = runner.invoke(
        cli_app, ["verify", "check", "cli-name", person_id(0), "name", "--purpose", "x"]
    )
    assert bad.exit_code == 1
    engine = make_engine(cli_settings)
    try:
        with make_session_factory(engine)() as session:
            actions = session.scalars(
                select(AuditEntry.actor_name).where(AuditEntry.action == "data.verify")
            ).all()
            assert actions == ["王专管", "cli"]  # --as the officer, then the platform
    finally:
        engine.dispose()


def _cli_entry(session: Session, officer: Person) -> int:
    """An entry with data and a service on a scratch database, through the services."""
    import tempfile
    from pathlib import Path

    from gongshu.auth.actor import Actor
    from gongshu.catalog import service as catalog_service
    from gongshu.catalog.models import DatasetState
    from gongshu.ingest import service as ingest_service
    from gongshu.settings import get_settings
    from tests.factories import dataset_input
    from tests.verification.data import resident_fields

    dataset = catalog_service.create_dataset(
        session, officer.actor, dataset_input(title="居民身份信息", fields=resident_fields())
    )
    with unit_of_work(session):
        dataset.state = DatasetState.PUBLISHED
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.csv"
        path.write_text(
            f"公民身份号码,姓名,所属区县\n{person_id(0)},张三,兰山区\n", encoding="utf-8"
        )
        result = ingest_service.ingest_file(
            session, officer.actor, dataset, path, settings=get_settings()
        )
        assert result.version is not None
    service.create_service(
        session,
        Actor.system("cli"),
        ServiceCreate(
            code="cli-name",
            name="核验",
            dataset_id=dataset.id,
            key_field="id_number",
            fields=["name"],
        ),
    )
    return dataset.id
