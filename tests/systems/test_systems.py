"""The information-system registry: service rules, the 未编目 flag, contract tests for the
API and the pages, and the CLI."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongshu.audit.models import AuditEntry
from gongshu.auth.models import Role
from gongshu.catalog.models import Dataset
from gongshu.errors import NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from gongshu.orgs.models import Agency, Region
from gongshu.systems import queries, service
from gongshu.systems.models import SystemStatus
from gongshu.systems.schemas import SystemCreate, SystemFilter, SystemLink, SystemUpdate
from tests.factories import Person, api_headers, csrf_of, login

runner = CliRunner()


def audits(db: Session, system_id: int) -> list[str]:
    stmt = select(AuditEntry.action).where(
        AuditEntry.object_type == "information_system", AuditEntry.object_id == str(system_id)
    )
    return list(db.scalars(stmt.order_by(AuditEntry.seq)))


@pytest.fixture
def make_system(db: Session, officer: Person) -> Callable[..., Any]:
    def make(by: Person | None = None, **kw: Any) -> Any:
        data = SystemCreate(**{"name": "市场主体登记系统", "project_name": "智慧市场监管", **kw})
        return service.create_system(db, (by or officer).actor, data)

    return make


def test_create_update_link_unlink_audited(
    db: Session, officer: Person, make_system: Callable[..., Any], make_dataset: Any
) -> None:
    system = make_system(project_number="LYXM-2024-018")
    assert system.agency_id == officer.user.agency_id
    dataset = make_dataset()
    service.update_system(db, officer.actor, system.id, SystemUpdate(status=SystemStatus.BUILDING))
    service.link_dataset(db, officer.actor, system.id, SystemLink(code=dataset.code))
    with pytest.raises(ValidationFailed):  # linked once only
        service.link_dataset(db, officer.actor, system.id, SystemLink(dataset_id=dataset.id))
    service.unlink_dataset(db, officer.actor, system.id, dataset.id)
    with pytest.raises(NotFound):
        service.unlink_dataset(db, officer.actor, system.id, dataset.id)
    assert audits(db, system.id) == [
        "system.create",
        "system.update",
        "system.link",
        "system.unlink",
    ]
    with pytest.raises(ValidationFailed) as exc:  # unique name within the agency
        make_system()
    assert "name" in exc.value.errors


def test_permissions(
    db: Session,
    officer: Person,
    other_officer: Person,
    make_person: Callable[..., Person],
    agency: Agency,
    other_agency: Agency,
    district: Region,
    make_agency: Callable[..., Agency],
    make_system: Callable[..., Any],
    make_dataset: Any,
) -> None:
    system = make_system()
    with pytest.raises(NotAuthenticated):
        service.create_system(db, None, SystemCreate(name="某系统"))
    # another agency's officer neither sees nor edits it, nor registers for that agency
    with pytest.raises(NotFound):
        queries.get_system(db, other_officer.actor, system.id)
    with pytest.raises(NotFound):
        service.update_system(db, other_officer.actor, system.id, SystemUpdate(name="改名"))
    with pytest.raises(PermissionDenied):
        service.create_system(
            db, other_officer.actor, SystemCreate(name="越权系统", agency_id=agency.id)
        )
    # a consumer of the same agency sees it but may not change it
    consumer = make_person(Role.AGENCY_CONSUMER, agency=agency)
    assert queries.get_system(db, consumer.actor, system.id).id == system.id
    with pytest.raises(PermissionDenied):
        service.update_system(db, consumer.actor, system.id, SystemUpdate(name="改名"))
    # bureau admins: the city admin any agency, a district admin only its district
    admin = make_person(Role.BUREAU_ADMIN)
    service.update_system(db, admin.actor, system.id, SystemUpdate(contact="王主任"))
    district_admin = make_person(Role.BUREAU_ADMIN, region=district)
    with pytest.raises(NotFound):
        queries.get_system(db, district_admin.actor, system.id)
    district_agency = make_agency("兰山区大数据局", region=district)
    created = service.create_system(
        db,
        district_admin.actor,
        SystemCreate(name="兰山区政务服务系统", agency_id=district_agency.id),
    )
    assert created.agency_id == district_agency.id
    # entries of another agency cannot be linked
    foreign = make_dataset(by=other_officer)
    with pytest.raises((NotFound, ValidationFailed)):
        service.link_dataset(db, admin.actor, system.id, SystemLink(dataset_id=foreign.id))


def test_uncataloged_flag_and_filters(
    db: Session, officer: Person, make_system: Callable[..., Any], make_dataset: Any
) -> None:
    running = make_system(name="运行中系统A")
    make_system(name="规划中系统", status=SystemStatus.PLANNED)
    cataloged = make_system(name="运行中系统B")
    service.link_dataset(db, officer.actor, cataloged.id, SystemLink(dataset_id=make_dataset().id))
    flagged = queries.list_systems(db, officer.actor, SystemFilter(uncataloged=True))
    assert [r.system.name for r in flagged.items] == ["运行中系统A"]
    assert flagged.items[0].uncataloged
    assert queries.count_uncataloged(db, officer.actor) == 1
    every = {r.system.name: r for r in queries.list_systems(db, officer.actor).items}
    assert every["运行中系统B"].dataset_count == 1
    assert not every["规划中系统"].uncataloged
    by_status = queries.list_systems(db, officer.actor, SystemFilter(status=SystemStatus.PLANNED))
    assert by_status.total == 1
    assert queries.list_systems(db, officer.actor, SystemFilter(q="系统A")).items[0].system.id == (
        running.id
    )


# ---------------------------------------------------------------------------------------
# API contract


def test_api_contract(
    client: TestClient,
    db: Session,
    officer: Person,
    other_officer: Person,
    make_dataset: Any,
) -> None:
    assert client.get("/api/v1/systems").status_code == 401
    assert client.post("/api/v1/systems", json={"name": "x系统"}).status_code == 401
    headers = api_headers(client, officer)
    created = client.post(
        "/api/v1/systems",
        json={"name": "企业信用信息系统", "status": "running", "project_number": "XM-1"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    system = created.json()
    assert system["uncataloged"] is True
    sid = system["id"]
    assert audits(db, sid) == ["system.create"]

    listed = client.get("/api/v1/systems?uncataloged=true", headers=headers).json()
    assert listed["total"] == 1 and listed["uncataloged_total"] == 1

    dataset = make_dataset()
    linked = client.post(
        f"/api/v1/systems/{sid}/links", json={"code": dataset.code}, headers=headers
    )
    assert linked.status_code == 201, linked.text
    assert linked.json()["uncataloged"] is False
    assert [d["code"] for d in linked.json()["datasets"]] == [dataset.code]
    patched = client.patch(f"/api/v1/systems/{sid}", json={"status": "retired"}, headers=headers)
    assert patched.json()["status"] == "retired"
    assert (
        client.delete(f"/api/v1/systems/{sid}/links/{dataset.id}", headers=headers).status_code
        == 204
    )
    assert audits(db, sid) == ["system.create", "system.link", "system.update", "system.unlink"]

    other = api_headers(client, other_officer)
    assert client.get(f"/api/v1/systems/{sid}", headers=other).status_code == 404
    assert (
        client.patch(f"/api/v1/systems/{sid}", json={"name": "改名系统"}, headers=other).status_code
        == 404
    )
    assert client.get("/api/v1/systems", headers=other).json()["total"] == 0
    for url in ("/api/v1/systems/999999", "/api/v1/systems/99999999999999999999"):
        assert client.get(url, headers=headers).status_code in (404, 422)
    assert client.get("/api/v1/systems/999999", headers=headers).status_code == 404
    bad = client.post("/api/v1/systems", json={"name": "企业信用信息系统"}, headers=headers)
    assert bad.status_code == 422


# ---------------------------------------------------------------------------------------
# Pages


def test_pages(
    client: TestClient,
    db: Session,
    officer: Person,
    other_officer: Person,
    make_dataset: Any,
) -> None:
    assert client.get("/systems", follow_redirects=False).status_code == 303
    login(client, officer)
    token = csrf_of(client, "/systems/new")
    response = client.post(
        "/systems/new",
        data={
            "csrf_token": token,
            "name": "食品安全追溯系统",
            "agency_id": str(officer.user.agency_id),
            "status": "running",
            "project_name": "智慧食安",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    url = response.headers["location"]
    sid = int(url.rsplit("/", 1)[1])
    listing = client.get("/systems")
    assert "食品安全追溯系统" in listing.text
    assert "运行中未编目 1 个" in listing.text
    detail = client.get(url)
    assert "未编目：该系统正在运行" in detail.text

    dataset: Dataset = make_dataset()
    linked = client.post(f"{url}/links", data={"csrf_token": token, "dataset_id": str(dataset.id)})
    assert linked.status_code == 200
    assert dataset.code in linked.text
    assert "未编目：" not in linked.text
    edit = client.post(
        f"{url}/edit",
        data={"csrf_token": token, "name": "食品安全追溯平台", "status": "running"},
        follow_redirects=False,
    )
    assert edit.status_code == 303
    bad = client.post(f"{url}/edit", data={"csrf_token": token, "name": "x", "status": "running"})
    assert bad.status_code == 422
    unlink = client.post(f"{url}/links/{dataset.id}/delete", data={"csrf_token": token})
    assert unlink.status_code == 200
    assert audits(db, sid) == ["system.create", "system.link", "system.update", "system.unlink"]
    assert client.get("/systems/999999").status_code == 404
    assert client.get("/systems?lang=en").status_code == 200

    other = TestClient(client.app, base_url="http://testserver")
    login(other, other_officer)
    assert other.get(url).status_code == 404
    assert other.get(f"{url}/edit").status_code == 404


def test_cli(
    db: Session, officer: Person, agency: Agency, make_dataset: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI commands through the session of this test (no scratch database needed)."""
    from contextlib import contextmanager

    from gongshu.systems import cli as systems_cli

    @contextmanager
    def this_session() -> Any:
        yield db

    monkeypatch.setattr(systems_cli, "cli_session", this_session)
    from gongshu.cli import app

    result = runner.invoke(
        app,
        [
            "systems",
            "add",
            "--name",
            "不动产登记系统",
            "--agency",
            agency.credit_code,
            "--project-number",
            "XM-9",
        ],
    )
    assert result.exit_code == 0, result.output
    sid = db.scalars(select(AuditEntry.object_id).where(AuditEntry.action == "system.create")).one()
    result = runner.invoke(app, ["systems", "list", "--uncataloged"])
    assert "不动产登记系统" in result.stdout
    assert "未编目" in result.stdout
    dataset = make_dataset()
    result = runner.invoke(app, ["systems", "link", sid, dataset.code])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["systems", "list", "--uncataloged"])
    assert "不动产登记系统" not in result.stdout
    result = runner.invoke(app, ["systems", "unlink", sid, dataset.code])
    assert result.exit_code == 0, result.output
    assert audits(db, int(sid)) == ["system.create", "system.link", "system.unlink"]
