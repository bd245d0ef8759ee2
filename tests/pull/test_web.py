"""Scheduled pulls through the JSON API, the pages, the CLI and a worker that restarts."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongshu.catalog import service as catalog_service
from gongshu.catalog.models import DatasetState
from gongshu.cli import app as cli_app
from gongshu.db import make_engine, make_session_factory
from gongshu.ingest import pull
from gongshu.ingest.pull_models import PullSource, PullStatus
from gongshu.jobs.models import Job, JobStatus
from gongshu.jobs.service import claim, load_handlers, run_one
from gongshu.store.versions import current_version
from tests.factories import api_headers, csrf_of, dataset_input, login, seed_officer
from tests.ingest_service.conftest import registry_fields
from tests.pull.conftest import QUERY, fill


def _run_jobs(db: Session) -> list[Job]:
    done = []
    while (job := run_one(db, "test-worker")) is not None:
        done.append(job)
    return done


def _body(url: str, **kw: object) -> dict[str, object]:
    return {"name": "scj_companies", "url": url, "query": QUERY, "schedule": "daily 02:00", **kw}


# --- API --------------------------------------------------------------------------------


def test_api_manages_tests_and_runs_a_source(
    client, db, officer, registry, agency_url, agency_db: Engine
) -> None:
    fill(agency_db, range(1, 7))
    headers = api_headers(client, officer)
    base = f"/api/v1/datasets/{registry.id}/pull-sources"
    created = client.post(base, headers=headers, json=_body(agency_url))
    assert created.status_code == 201, created.text
    source = created.json()
    assert source["password_env"] == "GONGSHU_PULL_PASSWORD_SCJ_COMPANIES"
    assert source["schedule_text"] == "每天 02:00（北京时间）"
    assert source["next_run_at"] is not None
    assert [s["id"] for s in client.get(base, headers=headers).json()] == [source["id"]]

    tested = client.post(f"{base}/{source['id']}/test", headers=headers)
    assert tested.status_code == 200, tested.text
    preview = tested.json()
    assert len(preview["rows"]) == 5 and preview["mapping"]["name"] == "企业名称"
    assert preview["missing_required"] == []

    queued = client.post(f"{base}/{source['id']}/run", headers=headers)
    assert queued.status_code == 202, queued.text
    again = client.post(f"{base}/{source['id']}/run", headers=headers)
    assert again.status_code == 409
    jobs = _run_jobs(db)
    assert any(j.kind == pull.PULL_JOB and j.result.get("status") == "published" for j in jobs)
    runs = client.get(f"{base}/{source['id']}/runs", headers=headers).json()
    assert [(r["status"], r["trigger"], r["rows"]) for r in runs] == [("published", "manual", 6)]
    ingestion = client.get(f"/api/v1/ingestions/{runs[0]['ingestion_id']}", headers=headers)
    assert ingestion.json()["source_kind"] == "pull"

    changed = client.patch(
        f"{base}/{source['id']}", headers=headers, json={"schedule": "every 90m", "enabled": False}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["enabled"] is False and changed.json()["next_run_at"] is None
    bad = client.patch(f"{base}/{source['id']}", headers=headers, json={"query": "DELETE FROM t"})
    assert bad.status_code == 422
    assert "SELECT" in bad.text

    assert client.delete(f"{base}/{source['id']}", headers=headers).status_code == 204
    assert client.get(f"{base}/{source['id']}", headers=headers).status_code == 404


def test_api_permissions(
    client, officer, other_officer, bureau_admin, registry, agency_url
) -> None:
    base = f"/api/v1/datasets/{registry.id}/pull-sources"
    mine = api_headers(client, officer)
    source = client.post(base, headers=mine, json=_body(agency_url)).json()
    theirs = api_headers(client, other_officer)
    assert client.post(base, headers=theirs, json=_body(agency_url, name="x_y")).status_code == 403
    assert client.get(base, headers=theirs).status_code == 403
    admin = api_headers(client, bureau_admin)
    assert client.get(base, headers=admin).status_code == 200
    assert client.get(f"{base}/{source['id']}/runs", headers=admin).status_code == 200
    assert client.post(f"{base}/{source['id']}/run", headers=admin).status_code == 403
    assert client.post(f"{base}/{source['id']}/test", headers=admin).status_code == 403
    assert client.delete(f"{base}/{source['id']}", headers=admin).status_code == 403
    assert client.get(f"{base}/999999", headers=mine).status_code == 404
    assert client.get(base).status_code == 401


# --- pages ------------------------------------------------------------------------------


def test_pages_add_test_and_run_a_source(
    client, db, officer, registry, agency_url, agency_db: Engine
) -> None:
    fill(agency_db, range(1, 4))
    login(client, officer)
    listing = client.get(f"/catalog/{registry.id}/pull")
    assert listing.status_code == 200 and "还没有拉取源" in listing.text
    token = csrf_of(client, f"/catalog/{registry.id}/pull/new")
    form = {
        "csrf_token": token,
        "name": "scj_companies",
        "url": agency_url,
        "query": "UPDATE companies SET kind = 'x'",
        "schedule": "every 1m",
        "mode": "replace",
        "enabled": "on",
    }
    refused = client.post(f"/catalog/{registry.id}/pull/new", data=form)
    assert refused.status_code == 422
    assert "只能使用一条 SELECT" in refused.text
    assert "拉取间隔应在 5 分钟到 7 天之间" in refused.text
    form.update(query=QUERY, schedule="every 2h", mapping="name=企业名称")
    created = client.post(f"/catalog/{registry.id}/pull/new", data=form, follow_redirects=False)
    assert created.status_code == 303, created.text
    page_url = created.headers["location"]
    page = client.get(page_url)
    assert page.status_code == 200
    assert "GONGSHU_PULL_PASSWORD_SCJ_COMPANIES" in page.text and "每 2 小时" in page.text

    tested = client.post(f"{page_url}/test", data={"csrf_token": token})
    assert tested.status_code == 200
    assert "测试结果：连接成功，前 3 行" in tested.text and "列与信息项的对应" in tested.text

    ran = client.post(f"{page_url}/run", data={"csrf_token": token}, follow_redirects=False)
    assert ran.status_code == 303
    _run_jobs(db)
    after = client.get(page_url)
    assert "已发布" in after.text and "手动" in after.text
    assert current_version(db, registry.id) is not None

    edit = client.get(f"{page_url}/edit")
    assert edit.status_code == 200 and "name=企业名称" in edit.text
    listing = client.get(f"/catalog/{registry.id}/pull")
    assert "scj_companies" in listing.text
    gone = client.post(f"{page_url}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert gone.status_code == 303
    assert client.get(page_url).status_code == 404


def test_pages_show_a_failed_test_and_hide_buttons_from_admins(
    client, db, officer, bureau_admin, registry, agency_url, agency_db
) -> None:
    source = pull.create_source(
        db,
        officer.actor,
        registry,
        name="broken",
        url=agency_url,
        query="SELECT missing FROM companies",
        schedule="every 1h",
    )
    login(client, officer)
    page_url = f"/catalog/{registry.id}/pull/{source.id}"
    token = csrf_of(client, page_url)
    failed = client.post(f"{page_url}/test", data={"csrf_token": token})
    assert failed.status_code == 422 and "查询语句执行失败" in failed.text
    client.post("/logout", data={"csrf_token": token})
    client.cookies.clear()
    login(client, bureau_admin)
    seen = client.get(page_url)
    assert seen.status_code == 200 and "测试连接" not in seen.text
    assert "新增拉取源" not in client.get(f"/catalog/{registry.id}/pull").text
    assert client.get(f"/catalog/{registry.id}/pull/new").status_code == 403


# --- CLI --------------------------------------------------------------------------------


def test_cli_add_list_run_remove(cli_settings, agency_url, agency_db: Engine) -> None:
    fill(agency_db, range(1, 5))
    engine = make_engine(cli_settings)
    with make_session_factory(engine)() as session:
        officer = seed_officer(session)
        dataset = catalog_service.create_dataset(
            session, officer.actor, dataset_input(fields=registry_fields())
        )
        dataset.state = DatasetState.PUBLISHED
        session.commit()
        code_ = dataset.code
    engine.dispose()
    runner = CliRunner()
    added = runner.invoke(
        cli_app,
        [
            "pull", "add", code_, "--name", "cli_pull", "--url", agency_url, "--query", QUERY,
            "--schedule", "daily 01:30", "--mode", "upsert", "--as", "officer1",
        ],
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "GONGSHU_PULL_PASSWORD_CLI_PULL" in added.output
    listed = runner.invoke(cli_app, ["pull", "list", code_])
    assert listed.exit_code == 0 and listed.output.startswith("cli_pull\t")
    assert "daily 01:30" in listed.output
    ran = runner.invoke(cli_app, ["pull", "run", "cli_pull", "--as", "officer1"])
    assert ran.exit_code == 0, ran.output
    assert "拉取 4 行：已发布" in ran.output
    listed = runner.invoke(cli_app, ["versions", "list", code_])
    assert listed.output.startswith("* 1") and "cli_pull.ndjson" in listed.output
    bad = runner.invoke(
        cli_app,
        ["pull", "add", code_, "--name", "bad", "--url", agency_url, "--query", "DROP TABLE x",
         "--schedule", "every 1h"],
    )  # fmt: skip
    assert bad.exit_code == 1 and "SELECT" in bad.output
    removed = runner.invoke(cli_app, ["pull", "remove", "cli_pull", "--as", "officer1"])
    assert removed.exit_code == 0 and "已删除拉取源 cli_pull" in removed.output
    assert runner.invoke(cli_app, ["pull", "list"]).output == ""


# --- restarts ---------------------------------------------------------------------------


def test_a_fresh_worker_takes_over_the_job_of_one_that_died(
    scratch_settings, agency_url, agency_db: Engine
) -> None:
    fill(agency_db, range(1, 4))
    load_handlers()
    engine = make_engine(scratch_settings)
    factory = make_session_factory(engine)
    with factory() as session:
        officer = seed_officer(session)
        dataset = catalog_service.create_dataset(
            session, officer.actor, dataset_input(fields=registry_fields())
        )
        dataset.state = DatasetState.PUBLISHED
        session.commit()
        source = pull.create_source(
            session,
            officer.actor,
            dataset,
            name="restart_me",
            url=agency_url,
            query=QUERY,
            schedule="every 10m",
        )
        source_id, job_id = source.id, source.job_id
        job = session.get(Job, job_id)
        assert job is not None
        job.run_after = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        session.commit()
        # Worker A takes the job and dies before finishing it.
        taken = claim(session, "worker-a")
        assert taken is not None and taken.id == job_id
    engine.dispose()

    # The lease runs out; a new process with a new engine starts.
    engine = make_engine(scratch_settings)
    factory = make_session_factory(engine)
    with factory() as session:
        job = session.get(Job, job_id)
        assert job is not None and job.status is JobStatus.RUNNING
        job.locked_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        session.commit()
    with factory() as session:
        done = run_one(session, "worker-b")
        assert done is not None and done.id == job_id and done.status is JobStatus.DONE
        assert done.attempts == 2 and done.result["status"] == "published"
    with factory() as session:
        source = session.get(PullSource, source_id)
        assert source is not None and source.last_status is PullStatus.PUBLISHED
        nxt = session.get(Job, source.job_id)
        assert nxt is not None and nxt.status is JobStatus.QUEUED and nxt.id != job_id
        assert json.dumps(nxt.payload)
        version = current_version(session, source.dataset_id)
        assert version is not None and version.row_count == 3
    engine.dispose()
