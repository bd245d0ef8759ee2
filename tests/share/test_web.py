"""Pages (each role), forms, the JSON API and the CLI of the sharing workflow."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongshu.catalog.models import Dataset
from gongshu.cli import app as cli_app
from gongshu.db import make_engine, make_session_factory, utcnow
from gongshu.orgs.models import Agency
from gongshu.settings import Settings
from gongshu.share.models import Grant, GrantStatus, RequestStatus, ShareRequest
from gongshu.workdays.calendar import local_today
from tests.factories import Person, api_headers, csrf_of, login
from tests.share.conftest import ask


@pytest.fixture
def clients(app: FastAPI) -> Iterator[dict[str, TestClient]]:
    """One signed-in browser per person (``as_(person)``)."""
    made: dict[str, TestClient] = {}
    yield made
    for c in made.values():
        c.close()


def as_(app: FastAPI, made: dict[str, TestClient], person: Person) -> TestClient:
    if person.username not in made:
        c = TestClient(app, base_url="http://testserver")
        c.__enter__()
        made[person.username] = login(c, person)
    return made[person.username]


def test_pages_render_for_each_role(
    app: FastAPI,
    clients: dict[str, TestClient],
    db: Session,
    conditional: Dataset,
    unconditional: Dataset,
    not_shared: Dataset,
    officer: Person,
    other_officer: Person,
    consumer: Person,
    bureau_admin: Person,
    make_person,  # type: ignore[no-untyped-def]
) -> None:
    from gongshu.auth.models import Role

    request = ask(db, consumer, conditional, today=dt.date(2026, 9, 28))
    requester = as_(app, clients, consumer)
    mine = requester.get("/share/requests")
    assert mine.status_code == 200 and "我的共享申请" in mine.text
    assert conditional.title in mine.text and "待审核" in mine.text
    assert "答复期限" in mine.text and "2026-10-16" in mine.text
    assert requester.get("/share", follow_redirects=False).headers["location"] == "/share/requests"
    detail = requester.get(f"/share/requests/{request.id}")
    assert detail.status_code == 200 and "特种设备安全隐患排查" in detail.text
    assert "share-grant-form" not in detail.text  # the requester does not decide

    provider = as_(app, clients, officer)
    inbox = provider.get("/share/inbox")
    assert inbox.status_code == 200 and "待我审核" in inbox.text and conditional.title in inbox.text
    assert "已逾期" in inbox.text  # the decision fell due in October 2026
    page = provider.get(f"/share/requests/{request.id}")
    assert "share-grant-form" in page.text and "share-deny-form" in page.text
    assert provider.get("/share/grants?scope=provided").status_code == 200
    assert provider.get("/share/reassessments").status_code == 200
    assert conditional.title in provider.get(f"/share/reassessments/{conditional.id}").text

    bureau = as_(app, clients, bureau_admin)
    for path in (
        "/share/arbitration",
        "/share/grants?scope=all",
        "/share/emergencies",
        "/share/return-flows",
        f"/share/return-flows/{conditional.id}",
        "/share/reassessments?due=1",
    ):
        response = bureau.get(path)
        assert response.status_code == 200, path
    assert "宣布应急状态" in bureau.get("/share/emergencies").text
    assert "district_code" in bureau.get(f"/share/return-flows/{conditional.id}").text

    # The entry pages: a button where the body may ask, a note where nobody may.
    other = as_(app, clients, other_officer)
    assert "申请共享" in other.get(f"/catalog/{conditional.id}").text
    assert "share-request-button" not in provider.get(f"/catalog/{conditional.id}").text
    closed = other.get(f"/catalog/{not_shared.id}")
    assert "share-request-button" not in closed.text and "不予共享" in closed.text
    refused = other.get(f"/share/requests/new?dataset={not_shared.id}")
    assert "不能申请共享" in refused.text and "个人信息保护法" in refused.text

    citizen = as_(app, clients, make_person(Role.PUBLIC))
    assert conditional.title not in citizen.get("/share/requests").text
    assert citizen.get(f"/share/requests/{request.id}").status_code == 404
    assert citizen.get("/share/emergencies").status_code == 403
    english = other.get("/share/requests?lang=en")
    assert "My share requests" in english.text


def test_request_refuse_object_arbitrate_through_forms(
    app: FastAPI,
    clients: dict[str, TestClient],
    db: Session,
    conditional: Dataset,
    officer: Person,
    other_officer: Person,
    bureau_admin: Person,
) -> None:
    requester = as_(app, clients, other_officer)
    form = requester.get(f"/share/requests/new?dataset={conditional.id}")
    assert form.status_code == 200 and "申请的信息项" in form.text
    csrf = csrf_of(requester, f"/share/requests/new?dataset={conditional.id}")
    bad = requester.post(
        "/share/requests",
        data={"csrf_token": csrf, "dataset_id": str(conditional.id), "purpose": ""},
    )
    assert bad.status_code == 422 and "请填写使用用途" in bad.text
    ends = (local_today() + dt.timedelta(days=60)).isoformat()
    created = requester.post(
        "/share/requests",
        data={
            "csrf_token": csrf,
            "dataset_id": str(conditional.id),
            "purpose": "联合检查",
            "scenario": "电梯安全专项检查",
            "legal_basis": "《特种设备安全法》",
            "fields": ["credit_code", "name", "legal_person"],
            "ends_on": ends,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    request = db.scalars(select(ShareRequest)).one()
    assert created.headers["location"] == f"/share/requests/{request.id}?done=created"
    assert request.fields == ["credit_code", "name", "legal_person"]

    provider = as_(app, clients, officer)
    csrf = csrf_of(provider, f"/share/requests/{request.id}")
    empty = provider.post(
        f"/share/requests/{request.id}/deny", data={"csrf_token": csrf, "reason": ""}
    )
    assert empty.status_code == 422 and "不予同意时请填写理由" in empty.text
    denied = provider.post(
        f"/share/requests/{request.id}/deny",
        data={"csrf_token": csrf, "reason": "超出职责范围", "lock_version": "999"},
    )
    assert denied.status_code == 409  # a stale page
    denied = provider.post(
        f"/share/requests/{request.id}/deny",
        data={"csrf_token": csrf, "reason": "超出职责范围"},
        follow_redirects=False,
    )
    assert denied.status_code == 303
    db.refresh(request)
    assert request.status is RequestStatus.DENIED

    page = requester.get(f"/share/requests/{request.id}")
    assert "超出职责范围" in page.text and 'id="object"' in page.text
    assert "提出异议" in requester.get("/share/requests").text
    csrf = csrf_of(requester, f"/share/requests/{request.id}")
    objected = requester.post(
        f"/share/requests/{request.id}/object",
        data={"csrf_token": csrf, "reason": "属于法定职责"},
        follow_redirects=False,
    )
    assert objected.status_code == 303

    bureau = as_(app, clients, bureau_admin)
    queue = bureau.get("/share/arbitration")
    assert conditional.title in queue.text and "仲裁期限" in queue.text
    csrf = csrf_of(bureau, f"/share/requests/{request.id}")
    arbitrated = bureau.post(
        f"/share/requests/{request.id}/arbitrate",
        data={
            "csrf_token": csrf,
            "outcome": "grant",
            "reason": "申请单位具有法定职责",
            "fields": ["credit_code", "name"],
            "clear_fields": ["credit_code"],
        },
        follow_redirects=False,
    )
    assert arbitrated.status_code == 303, arbitrated.text
    db.refresh(request)
    assert request.status is RequestStatus.ACTIVE
    row = db.get(Grant, request.grant_id)
    assert row is not None and row.fields == ["credit_code", "name"]
    assert row.clear_fields == ["credit_code"]
    grants = requester.get("/share/grants")
    assert conditional.title in grants.text and row.fingerprint not in grants.text
    assert row.fingerprint in provider.get("/share/grants?scope=provided").text

    csrf = csrf_of(provider, "/share/grants?scope=provided")
    revoked = provider.post(
        f"/share/grants/{row.id}/revoke",
        data={"csrf_token": csrf, "reason": "违规转交", "back": "/share/grants?scope=provided"},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert revoked.headers["location"] == "/share/grants?scope=provided&done=revoke"
    db.refresh(row)
    assert row.status is GrantStatus.REVOKED


def test_emergency_banner_and_pages(
    app: FastAPI,
    clients: dict[str, TestClient],
    db: Session,
    conditional: Dataset,
    other_agency: Agency,
    other_officer: Person,
    bureau_admin: Person,
) -> None:
    bureau = as_(app, clients, bureau_admin)
    csrf = csrf_of(bureau, "/share/emergencies")
    ends = (utcnow() + dt.timedelta(days=2)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")
    bad = bureau.post(
        "/share/emergencies",
        data={"csrf_token": csrf, "name": "防汛", "reason": "强降雨", "ends_at": ends},
    )
    assert bad.status_code == 422 and "请至少指定一个目录条目或一个机构" in bad.text
    declared = bureau.post(
        "/share/emergencies",
        data={
            "csrf_token": csrf,
            "name": "沂河防汛应急",
            "reason": "强降雨",
            "ends_at": ends,
            "dataset_ids": [str(conditional.id)],
            "agency_ids": [str(other_agency.id)],
        },
        follow_redirects=False,
    )
    assert declared.status_code == 303, declared.text
    report = bureau.get(declared.headers["location"])
    assert report.status_code == 200 and "应急共享报告" in report.text
    assert 'id="report-grants">1<' in report.text
    # The banner is on every page, for everyone.
    other = as_(app, clients, other_officer)
    for path in ("/catalog", "/share/grants", "/"):
        assert "沂河防汛应急" in other.get(path).text and "emergency-banner" in other.get(path).text
    assert "应急共享" in other.get("/share/grants").text
    csrf = csrf_of(bureau, declared.headers["location"].split("?")[0])
    ended = bureau.post(
        declared.headers["location"].split("?")[0] + "/end",
        data={"csrf_token": csrf, "reason": "汛情解除"},
        follow_redirects=False,
    )
    assert ended.status_code == 303
    assert "emergency-banner" not in other.get("/catalog").text


def test_return_flow_and_reassessment_pages(
    app: FastAPI,
    clients: dict[str, TestClient],
    db: Session,
    conditional: Dataset,
    district_agency: Agency,
    officer: Person,
    bureau_admin: Person,
) -> None:
    bureau = as_(app, clients, bureau_admin)
    csrf = csrf_of(bureau, f"/share/return-flows/{conditional.id}")
    saved = bureau.post(
        f"/share/return-flows/{conditional.id}",
        data={"csrf_token": csrf, "field_name": "district_code", "value_371302": "371302"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "issued=1" in saved.headers["location"]
    listing = bureau.get("/share/return-flows")
    assert conditional.title in listing.text and "已启用" in listing.text
    synced = bureau.post(
        "/share/return-flows/sync", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert synced.status_code == 303 and "issued=0" in synced.headers["location"]
    disabled = bureau.post(
        f"/share/return-flows/{conditional.id}/disable",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert disabled.status_code == 303

    provider = as_(app, clients, officer)
    csrf = csrf_of(provider, f"/share/reassessments/{conditional.id}")
    empty = provider.post(
        f"/share/reassessments/{conditional.id}",
        data={"csrf_token": csrf, "outcome": "keep", "reason": ""},
    )
    assert empty.status_code == 422
    kept = provider.post(
        f"/share/reassessments/{conditional.id}",
        data={"csrf_token": csrf, "outcome": "keep", "reason": "维持"},
        follow_redirects=False,
    )
    assert kept.status_code == 303
    assert "维持有条件共享" in provider.get(f"/share/reassessments/{conditional.id}").text
    assert "share.reassess" in provider.get(f"/catalog/{conditional.id}?tab=history").text


def test_api(
    client: TestClient,
    db: Session,
    conditional: Dataset,
    unconditional: Dataset,
    not_shared: Dataset,
    other_agency: Agency,
    officer: Person,
    other_officer: Person,
    bureau_admin: Person,
) -> None:
    assert client.get("/api/v1/share/requests").status_code == 401
    requester = api_headers(client, other_officer)
    provider = api_headers(client, officer)
    bureau = api_headers(client, bureau_admin)
    at_once = client.post(
        "/api/v1/share/requests",
        headers=requester,
        json={"dataset_id": unconditional.id, "purpose": "核验"},
    )
    assert at_once.status_code == 201 and at_once.json()["status"] == "active"
    refused = client.post(
        "/api/v1/share/requests",
        headers=requester,
        json={"dataset_id": not_shared.id, "purpose": "核验"},
    )
    assert refused.status_code == 403
    assert "不予共享" in refused.json()["error"]["message"]
    body = {
        "dataset_id": conditional.id,
        "purpose": "联合检查",
        "scenario": "专项",
        "legal_basis": "法定职责",
        "fields": ["credit_code", "name"],
        "ends_on": (local_today() + dt.timedelta(days=30)).isoformat(),
    }
    created = client.post("/api/v1/share/requests", headers=requester, json=body)
    assert created.status_code == 201, created.text
    made = created.json()
    assert made["status"] == "requested" and made["deadline"]["step"] == "decision"
    assert made["deadline"]["rule"] == "10 个工作日" and made["actions"] == []
    rid = made["id"]
    incoming = client.get("/api/v1/share/requests?box=incoming", headers=provider).json()
    assert [i["id"] for i in incoming["items"]] == [rid, at_once.json()["id"]]  # open first
    seen = client.get(f"/api/v1/share/requests/{rid}", headers=provider).json()
    assert seen["actions"] == ["grant", "deny"]
    stale = client.post(
        f"/api/v1/share/requests/{rid}/grant",
        headers=provider,
        json={"lock_version": seen["lock_version"] + 1},
    )
    assert stale.status_code == 409
    granted = client.post(
        f"/api/v1/share/requests/{rid}/grant",
        headers=provider,
        json={"lock_version": seen["lock_version"], "clear_fields": ["name"]},
    )
    assert granted.status_code == 200 and granted.json()["status"] == "active"
    again = client.post(
        f"/api/v1/share/requests/{rid}/deny", headers=provider, json={"reason": "x"}
    )
    assert again.status_code == 409
    assert client.get("/api/v1/share/requests/999999", headers=requester).status_code == 404

    held = client.get("/api/v1/share/grants", headers=requester).json()
    assert held["total"] == 2 and all(g["fingerprint"] is None for g in held["items"])
    provided = client.get("/api/v1/share/grants?scope=provided", headers=provider).json()
    assert all(len(g["fingerprint"]) == 32 for g in provided["items"])
    grant_id = granted.json()["grant_id"]
    revoked = client.post(
        f"/api/v1/share/grants/{grant_id}/revoke", headers=provider, json={"reason": "到此为止"}
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"

    ends = (utcnow() + dt.timedelta(days=1)).isoformat()
    declared = client.post(
        "/api/v1/share/emergencies",
        headers=bureau,
        json={
            "name": "疫情防控",
            "reason": "突发公共卫生事件",
            "dataset_ids": [conditional.id],
            "agency_ids": [other_agency.id],
            "ends_at": ends,
        },
    )
    assert declared.status_code == 201, declared.text
    eid = declared.json()["id"]
    assert client.post("/api/v1/share/emergencies", headers=provider, json={}).status_code == 422
    active = client.get("/api/v1/share/emergencies/active", headers=requester).json()
    assert [e["id"] for e in active] == [eid]
    report = client.get(f"/api/v1/share/emergencies/{eid}", headers=bureau).json()
    assert report["grants"] == 1 and report["bodies"] == 1 and report["reads"] == 0
    ended = client.post(
        f"/api/v1/share/emergencies/{eid}/end", headers=bureau, json={"reason": "解除"}
    )
    assert ended.status_code == 200 and ended.json()["status"] == "ended"

    flow = client.put(
        f"/api/v1/share/return-flows/{conditional.id}",
        headers=bureau,
        json={"field_name": "district_code", "value_map": {}},
    )
    assert flow.status_code == 422
    assert client.get("/api/v1/share/return-flows", headers=bureau).json() == []
    plans = client.get("/api/v1/share/assessments", headers=provider).json()
    assert [p["dataset_id"] for p in plans] == [conditional.id]
    recorded = client.post(
        f"/api/v1/share/assessments/{conditional.id}",
        headers=provider,
        json={"outcome": "keep", "reason": "维持"},
    )
    assert recorded.status_code == 201
    history = client.get(f"/api/v1/share/assessments/{conditional.id}", headers=bureau).json()
    assert [h["outcome"] for h in history] == ["keep"]


def test_cli(cli_settings: Settings) -> None:
    from gongshu.auth import service as auth_service
    from gongshu.auth.models import Role, User
    from gongshu.auth.schemas import UserCreate
    from gongshu.catalog import service as catalog_service
    from gongshu.catalog import workflow
    from gongshu.identifiers import make_credit_code
    from gongshu.orgs import service as orgs_service
    from gongshu.orgs.models import AgencyKind, RegionLevel
    from gongshu.orgs.schemas import AgencyCreate, RegionCreate
    from tests.factories import PASSWORD, SYSTEM, dataset_input
    from tests.share.conftest import BASIS, region_fields

    engine = make_engine(cli_settings)
    factory = make_session_factory(engine)
    with factory() as session:
        city = orgs_service.create_region(
            session, SYSTEM, RegionCreate(code="371300", name="临沂市", level=RegionLevel.CITY)
        )
        lanshan = orgs_service.create_region(
            session,
            SYSTEM,
            RegionCreate(
                code="371302", name="兰山区", level=RegionLevel.DISTRICT, parent_id=city.id
            ),
        )
        bodies = [
            orgs_service.create_agency(
                session,
                SYSTEM,
                AgencyCreate(
                    name=name,
                    credit_code=make_credit_code(f"11371300MB000001{n}"),
                    region_id=region.id,
                    kind=AgencyKind.GOVERNMENT,
                ),
            )
            for n, (name, region) in enumerate(
                (
                    ("临沂市市场监督管理局", city),
                    ("临沂市应急管理局", city),
                    ("兰山区应急管理局", lanshan),
                )
            )
        ]
        for username, role, agency_id in (
            ("provider", Role.AGENCY_OFFICER, bodies[0].id),
            ("asker", Role.AGENCY_OFFICER, bodies[1].id),
            ("bureau", Role.BUREAU_ADMIN, None),
        ):
            auth_service.create_user(
                session,
                SYSTEM,
                UserCreate(
                    username=username,
                    display_name=username,
                    password=PASSWORD,
                    agency_id=agency_id,
                    region_id=city.id,
                    roles=[role],
                ),
            )
    engine.dispose()
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli_app, list(args))
        assert result.exit_code == 0, (args, result.output)
        return result.output

    engine = make_engine(cli_settings)
    factory = make_session_factory(engine)
    with factory() as session:
        officer = auth_service.actor_for_user(
            session.scalars(select(User).where(User.username == "provider")).one()
        )
        bureau = auth_service.actor_for_user(
            session.scalars(select(User).where(User.username == "bureau")).one()
        )
        entry = catalog_service.create_dataset(
            session,
            officer,
            dataset_input(
                share_type="conditional",
                legal_basis=BASIS,
                level="general_2",
                open_type="none",
                open_conditions="不予开放",
                fields=region_fields(),
            ),
        )
        workflow.submit(session, officer, entry.id)
        workflow.approve(session, bureau, entry.id)
        workflow.publish(session, bureau, entry.id)
        code = entry.code
    engine.dispose()

    ends = (local_today() + dt.timedelta(days=30)).isoformat()
    refused = runner.invoke(cli_app, ["share", "request", code, "--purpose", "检查"])
    assert refused.exit_code == 1 and "--as" in refused.output
    out = run(
        "share",
        "request",
        code,
        "--as",
        "asker",
        "--purpose",
        "检查",
        "--scenario",
        "专项",
        "--basis",
        "职责",
        "--field",
        "credit_code",
        "--field",
        "name",
        "--ends-on",
        ends,
    )
    assert "待审核" in out
    listing = run("share", "requests")
    request_id = listing.split("\t", 1)[0]
    assert "requested" in listing and "decision:" in listing
    assert "未同意" in run("share", "deny", request_id, "--reason", "不符合", "--as", "provider")
    assert "异议待仲裁" in run("share", "object", request_id, "--reason", "有依据", "--as", "asker")
    assert "授权生效中" in run("share", "arbitrate", request_id, "--grant", "--reason", "同意")
    grants = run("share", "grants")
    assert code in grants and "request" in grants
    grant_id = grants.split("\t", 1)[0]
    assert run("share", "expire-due").strip() == "0"
    assert "expired\t0" in run("share", "sweep")
    assert grant_id in run("share", "revoke", grant_id, "--reason", "停止")

    end_at = (dt.datetime.now() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    out = run(
        "share",
        "emergency",
        "declare",
        "--name",
        "防汛",
        "--reason",
        "降雨",
        "--ends-at",
        end_at,
        "--entry",
        code,
        "--agency",
        "临沂市应急管理局",
    )
    assert "active" in out
    emergency_id = run("share", "emergency", "list").split("\t", 1)[0]
    assert "grants\t1" in run("share", "emergency", "report", emergency_id)
    assert "ended" in run("share", "emergency", "end", emergency_id, "--reason", "解除")

    assert "新授权 1 项" in run("share", "return-flow", "enable", code, "--field", "district_code")
    assert "新授权 0 项" in run("share", "return-flow", "sync")
    assert "撤销 1 项" in run("share", "return-flow", "disable", code)
    assert run("share", "reassess", "due").strip() == ""
    assert "下次复核" in run(
        "share", "reassess", "record", code, "--keep", "--reason", "维持", "--as", "provider"
    )
    with factory() as session:
        assert session.scalars(select(Grant)).first() is not None
    engine.dispose()
