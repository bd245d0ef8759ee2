"""The workflow through the pages, the JSON API and the CLI: the contract checks
(anonymous, another agency, unknown id, audit written) and the happy paths."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from gongshu.audit.models import AuditEntry
from gongshu.catalog import changes, workflow
from gongshu.catalog.models import DatasetState
from gongshu.catalog.workflow_schemas import ChangeRequestCreate
from gongshu.cli import app as cli_app
from gongshu.settings import Settings
from tests.catalog.test_workflow import MONDAY, World, world_fixture  # noqa: F401 — fixture
from tests.factories import api_headers, csrf_from, login


def test_api_submit_approve_publish_and_queue(client: TestClient, world: World) -> None:
    dataset = world.make("city")
    officer = api_headers(client, world.city_officer)
    bureau = api_headers(client, world.people["city_bureau"])
    other = api_headers(client, world.people["other_officer"])

    assert client.post(f"/api/v1/datasets/{dataset.id}/submit").status_code == 401
    assert client.post(f"/api/v1/datasets/{dataset.id}/submit", headers=other).status_code == 404
    assert client.post("/api/v1/datasets/99999/submit", headers=officer).status_code == 404
    r = client.post(f"/api/v1/datasets/{dataset.id}/submit", headers=officer, json={})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "submitted" and body["actions"] == ["recall"]
    assert body["review_deadline"]["rule"] == "2 个工作日"

    queue = client.get("/api/v1/review-queue", headers=bureau).json()
    assert [i["dataset_id"] for i in queue] == [dataset.id]
    assert client.get("/api/v1/review-queue", headers=officer).status_code == 403

    r = client.post(f"/api/v1/datasets/{dataset.id}/approve", headers=officer, json={})
    assert r.status_code == 403
    r = client.post(f"/api/v1/datasets/{dataset.id}/return", headers=bureau, json={"reason": ""})
    assert r.status_code == 422 and "reason" in r.json()["error"]["errors"]
    r = client.post(
        f"/api/v1/datasets/{dataset.id}/approve", headers=bureau, json={"lock_version": 1}
    )
    assert r.status_code == 409
    r = client.post(f"/api/v1/datasets/{dataset.id}/approve", headers=bureau, json={})
    assert r.status_code == 200 and r.json()["state"] == "approved"
    r = client.post(f"/api/v1/datasets/{dataset.id}/approve", headers=bureau, json={})
    assert r.status_code == 409 and "只有待审核" in r.json()["error"]["message"]
    r = client.post(
        f"/api/v1/datasets/{dataset.id}/publish", headers={**bureau, "Accept-Language": "en"}
    )
    assert r.status_code == 200 and r.json()["state"] == "published"
    assert r.json()["published_on"] is not None
    status = client.get(f"/api/v1/datasets/{dataset.id}/workflow", headers=other)
    assert status.status_code == 200 and status.json()["actions"] == []
    actions = world.db.scalars(
        select(AuditEntry.action).where(AuditEntry.object_id == str(dataset.id))
    ).all()
    assert {"dataset.submit", "dataset.approve", "dataset.publish"} <= set(actions)


def test_api_change_requests(client: TestClient, world: World) -> None:
    dataset = world.drive(world.make("city"), DatasetState.PUBLISHED, "city")
    officer = api_headers(client, world.city_officer)
    bureau = api_headers(client, world.people["city_bureau"])
    other = api_headers(client, world.people["other_officer"])
    payload = {
        "kind": "modify",
        "reason": "依据修订",
        "basis_changed_on": MONDAY.isoformat(),
        "changes": {"description": "修订后的摘要"},
    }
    url = f"/api/v1/datasets/{dataset.id}/change-requests"
    assert client.post(url, json=payload).status_code == 401
    assert client.post(url, json=payload, headers=other).status_code == 403
    r = client.post(url, json=payload, headers=officer)
    assert r.status_code == 201, r.text
    change = r.json()
    assert change["status"] == "submitted" and change["deadline"]["rule"] == "2 个工作日"
    assert client.get(f"/api/v1/change-requests/{change['id']}", headers=other).status_code == 404
    assert client.get("/api/v1/change-requests/424242", headers=officer).status_code == 404
    listing = client.get("/api/v1/change-requests?open_only=true", headers=bureau).json()
    assert [c["id"] for c in listing["items"]] == [change["id"]]
    review = f"/api/v1/change-requests/{change['id']}/review"
    assert client.post(review, json={"approve": True}, headers=officer).status_code == 403
    r = client.post(review, json={"approve": True}, headers=bureau)
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert client.get(f"/api/v1/datasets/{dataset.id}", headers=other).json()["description"] == (
        "修订后的摘要"
    )


def _form_post(client: TestClient, page: str, url: str, data: dict[str, str]) -> object:
    token = csrf_from(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def test_pages_walk_the_workflow(client: TestClient, world: World) -> None:
    dataset = world.make("district")
    page = f"/catalog/{dataset.id}"
    assert client.get("/catalog/review", follow_redirects=False).status_code == 303  # to login
    login(client, world.district_officer)
    html = client.get(page).text
    assert f'action="/catalog/{dataset.id}/submit"' in html
    r = _form_post(client, page, f"/catalog/{dataset.id}/submit", {"lock_version": "1"})
    assert r.status_code == 303  # type: ignore[attr-defined]
    html = client.get(page).text
    assert "剩余" in html and "个工作日" in html and "待审核" in html
    assert client.get("/catalog/review").status_code == 403
    client.cookies.clear()

    login(client, world.people["district_bureau"])
    queue = client.get("/catalog/review")
    assert queue.status_code == 200 and dataset.title in queue.text
    form = client.get(f"/catalog/{dataset.id}/return")
    assert form.status_code == 200
    r = _form_post(client, page, f"/catalog/{dataset.id}/return", {"reason": ""})
    assert r.status_code == 422  # type: ignore[attr-defined]
    r = _form_post(client, page, f"/catalog/{dataset.id}/return", {"reason": "请补充字段说明"})
    assert r.status_code == 303  # type: ignore[attr-defined]
    html = client.get(page).text
    assert "请补充字段说明" in html and "退回理由" in html
    client.cookies.clear()

    login(client, world.people["other_officer"])
    assert client.get(page).status_code == 404
    assert client.get("/catalog/changes/12345").status_code == 404


def test_change_request_pages(client: TestClient, world: World) -> None:
    dataset = world.drive(world.make("city"), DatasetState.PUBLISHED, "city")
    page = f"/catalog/{dataset.id}"
    login(client, world.city_officer)
    assert "申请修改" in client.get(page).text
    form = client.get(f"{page}/change-request?kind=modify")
    assert form.status_code == 200 and "变更理由" in form.text
    token = csrf_from(form.text)
    r = client.post(
        f"{page}/change-request",
        data={"csrf_token": token, "kind": "delete", "reason": "", "basis_changed_on": ""},
        follow_redirects=False,
    )
    assert r.status_code == 422
    r = client.post(
        f"{page}/change-request",
        data={
            "csrf_token": token,
            "kind": "delete",
            "reason": "职能划转",
            "basis_changed_on": MONDAY.isoformat(),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    target = r.headers["location"]
    detail = client.get(target)
    assert detail.status_code == 200 and "职能划转" in detail.text
    assert "/catalog/changes" in client.get("/catalog/changes").text
    client.cookies.clear()

    login(client, world.people["city_bureau"])
    html = client.get(target).text
    assert 'value="approve"' in html
    change_id = int(target.rsplit("/", 1)[1])
    r = client.post(
        f"/catalog/changes/{change_id}/review",
        data={"csrf_token": csrf_from(html), "decision": "approve", "comment": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "已删减" in client.get(page).text


def test_cli_workflow(cli_settings: Settings) -> None:
    from sqlalchemy.orm import Session

    from gongshu.auth import service as auth_service
    from gongshu.auth.models import Role
    from gongshu.auth.schemas import UserCreate
    from gongshu.catalog import service as catalog_service
    from gongshu.db import make_engine
    from tests.factories import PASSWORD, SYSTEM, dataset_input, seed_officer

    engine = make_engine(cli_settings)
    with Session(engine) as session:
        officer = seed_officer(session)
        code = catalog_service.create_dataset(session, officer.actor, dataset_input()).code
        username = officer.user.username
        auth_service.create_user(
            session,
            SYSTEM,
            UserCreate(
                username="bureau",
                display_name="大数据局",
                password=PASSWORD,
                region_id=officer.user.region_id,
                roles=[Role.BUREAU_ADMIN],
            ),
        )
    engine.dispose()
    runner = CliRunner()
    r = runner.invoke(cli_app, ["catalog", "submit", code, "--as", username])
    assert r.exit_code == 0, r.output
    assert "待审核" in r.output and "个工作日" in r.output
    again = runner.invoke(cli_app, ["catalog", "submit", code, "--as", username])
    assert again.exit_code == 1 and "只有草稿" in again.output
    queue = runner.invoke(cli_app, ["catalog", "review-queue", "--as", "bureau"])
    assert queue.exit_code == 0 and code in queue.output
    r = runner.invoke(cli_app, ["catalog", "return", code, "--as", "bureau", "--reason", "补充"])
    assert r.exit_code == 0 and "已退回" in r.output
    r = runner.invoke(cli_app, ["catalog", "submit", code, "--as", username])
    assert r.exit_code == 0
    r = runner.invoke(cli_app, ["catalog", "approve", code, "--as", username])
    assert r.exit_code == 1
    r = runner.invoke(cli_app, ["catalog", "approve", code, "--as", "bureau"])
    assert r.exit_code == 0 and "已审核" in r.output
    r = runner.invoke(cli_app, ["catalog", "publish", code, "--as", "bureau"])
    assert r.exit_code == 0 and "已发布" in r.output
    r = runner.invoke(
        cli_app,
        [
            "catalog",
            "propose-change",
            code,
            "--as",
            username,
            "--kind",
            "delete",
            "--reason",
            "职能调整",
            "--basis-changed-on",
            "2020-01-02",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "逾期" not in r.output  # late shows on stderr
    change_id = r.output.split("#", 1)[1].split("（", 1)[0]
    r = runner.invoke(
        cli_app, ["catalog", "review-change", change_id, "--as", "bureau", "--reject"]
    )
    assert r.exit_code == 1
    r = runner.invoke(
        cli_app,
        ["catalog", "review-change", change_id, "--as", "bureau", "--reject", "--comment", "保留"],
    )
    assert r.exit_code == 0 and "未同意" in r.output


def test_unused_names_are_real() -> None:
    # The API and pages build on these; keep them importable for other areas.
    assert workflow.REVIEW_KIND == "catalog.review"
    assert changes.REVIEW_KIND == "catalog.change_review"
    assert ChangeRequestCreate.model_fields["basis_changed_on"].is_required()
