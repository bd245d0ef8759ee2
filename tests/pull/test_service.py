"""Pulling an agency's PostgreSQL table into a dataset: checks, runs, failures, schedules."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.catalog.models import Dataset
from gongshu.errors import Conflict, PermissionDenied, ValidationFailed
from gongshu.gate import service as gate
from gongshu.ingest import pull
from gongshu.ingest.models import Ingestion, IngestMode, SourceKind
from gongshu.ingest.pull_models import PullRun, PullSource, PullStatus
from gongshu.jobs.models import Job, JobStatus
from gongshu.jobs.service import run_one
from gongshu.notices.models import Notice
from gongshu.store.versions import current_version
from tests.factories import Person
from tests.ingest_service.conftest import code
from tests.pull.conftest import QUERY, fill

UTC = dt.UTC


def add(db: Session, who: Person, dataset: Dataset, url: str, **kw: object) -> PullSource:
    values: dict[str, object] = {
        "name": "scj_companies",
        "url": url,
        "query": QUERY,
        "schedule": "every 30m",
    }
    values.update(kw)
    return pull.create_source(db, who.actor, dataset, **values)  # type: ignore[arg-type]


# --- what officers type -----------------------------------------------------------------


def test_schedules_parse_and_compute_next_runs() -> None:
    now = dt.datetime(2026, 3, 1, 10, 15, 30, 123456, tzinfo=UTC)  # 18:15:30 in Shanghai
    every = pull.Schedule.parse("every 30m")
    assert every.next_after(now) == dt.datetime(2026, 3, 1, 10, 45, 30, tzinfo=UTC)
    assert pull.Schedule.parse("EVERY  2h") == pull.Schedule(minutes=120)
    assert str(pull.Schedule.parse("every 120")) == "every 2h"
    daily = pull.Schedule.parse("daily 02:30")
    # 02:30 Shanghai is 18:30 UTC of the day before; the next one after 18:15 Shanghai time
    # is tomorrow's.
    assert daily.next_after(now) == dt.datetime(2026, 3, 1, 18, 30, tzinfo=UTC)
    assert daily.upcoming(now, 2)[1] == dt.datetime(2026, 3, 2, 18, 30, tzinfo=UTC)
    evening = pull.Schedule.parse("daily 18:20")
    assert evening.next_after(now) == dt.datetime(2026, 3, 1, 10, 20, tzinfo=UTC)
    assert evening.describe() == "每天 18:20（北京时间）"
    assert every.describe() == "每 30 分钟"
    for bad in ("every 2m", "every 8d", "daily 24:00", "0 2 * * *", "hourly", ""):
        with pytest.raises(ValidationFailed):
            pull.Schedule.parse(bad)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT 1",
        "  select a, 'x;y' as b from t;  ",
        "WITH r AS (SELECT 1 AS n) SELECT n FROM r -- trailing comment",
        'SELECT "update" FROM t /* delete; */',
        "SELECT $$a;b$$ AS s",
    ],
)
def test_select_queries_are_taken(query: str) -> None:
    checked = pull.check_query(query)
    assert checked.lower().startswith(("select", "with"))
    assert not checked.endswith((";", "comment"))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("DELETE FROM companies", pull.MSG_QUERY_NOT_SELECT),
        ("SELECT 1; DROP TABLE companies", pull.MSG_QUERY_MANY),
        ("WITH d AS (DELETE FROM companies RETURNING *) SELECT * FROM d", pull.MSG_QUERY_WORD),
        ("SELECT * INTO copy_of FROM companies", pull.MSG_QUERY_WORD),
        ("SELECT * FROM companies FOR UPDATE", pull.MSG_QUERY_WORD),
        ("SELECT 'open", pull.MSG_QUERY_UNCLOSED),
        ("  ", pull.MSG_QUERY_EMPTY),
        ("EXPLAIN ANALYZE SELECT 1", pull.MSG_QUERY_NOT_SELECT),
    ],
)
def test_anything_but_one_select_is_refused(query: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        pull.check_query(query)
    assert caught.value.errors == {"query": [message]}


def test_urls_without_passwords_of_network_databases_only(settings) -> None:
    assert pull.check_url("postgresql+psycopg://reader@10.1.2.3:5432/qzk") == (
        "postgresql+psycopg://reader@10.1.2.3:5432/qzk"
    )
    refused = {
        "postgresql+psycopg://reader:secret@10.1.2.3/qzk": pull.MSG_URL_PASSWORD,
        "sqlite:////var/gongshu/gongshu.db": pull.MSG_URL_DIALECT,
        "not a url": pull.MSG_BAD_URL,
        "postgresql+psycopg:///qzk": pull.MSG_URL_NO_HOST,
    }
    if settings.sqlalchemy_url.startswith("postgresql"):
        refused[settings.sqlalchemy_url] = pull.MSG_URL_SELF
    for url, message in refused.items():
        with pytest.raises(ValidationFailed) as caught:
            pull.check_url(url)
        assert caught.value.errors == {"url": [message]}, url
    assert pull.password_env("scj_companies") == "GONGSHU_PULL_PASSWORD_SCJ_COMPANIES"


# --- managing sources -------------------------------------------------------------------


def test_creating_a_source_queues_its_first_run_and_is_audited(
    db, officer, registry, agency_url
) -> None:
    before = dt.datetime.now(UTC)
    source = add(db, officer, registry, agency_url, schedule="every 2h")
    assert source.next_run_at is not None
    assert dt.timedelta(minutes=119) < source.next_run_at - before <= dt.timedelta(minutes=121)
    job = db.get(Job, source.job_id)
    assert job is not None and job.kind == pull.PULL_JOB and job.status is JobStatus.QUEUED
    assert job.run_after == source.next_run_at
    ticks = db.scalars(select(Job).where(Job.kind == pull.TICK_JOB)).all()
    assert len(ticks) == 1
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "pull_source.create")).one()
    assert entry.object_id == str(source.id)
    # A second source does not add a second tick job.
    add(db, officer, registry, agency_url, name="second_source")
    assert len(db.scalars(select(Job).where(Job.kind == pull.TICK_JOB)).all()) == 1

    with pytest.raises(ValidationFailed) as caught:
        add(db, officer, registry, agency_url)
    assert caught.value.errors == {"name": [pull.MSG_NAME_TAKEN]}
    with pytest.raises(ValidationFailed) as caught:
        add(db, officer, registry, agency_url, name="x y", query="DELETE FROM t")
    assert set(caught.value.errors) == {"name", "query"}


def test_every_form_error_is_reported_at_once(db, officer, registry, agency_url) -> None:
    with pytest.raises(ValidationFailed) as caught:
        add(
            db,
            officer,
            registry,
            "postgresql+psycopg://u:pw@h/db",
            query="UPDATE t SET a = 1",
            schedule="hourly",
            mode=IngestMode.APPEND,
            snapshot=True,
        )
    assert set(caught.value.errors) == {"url", "query", "schedule", "snapshot"}


def test_only_the_entrys_officers_manage_and_bureau_admins_see(
    db, officer, other_officer, bureau_admin, registry, agency_url
) -> None:
    source = add(db, officer, registry, agency_url)
    with pytest.raises(PermissionDenied):
        add(db, other_officer, registry, agency_url, name="theirs")
    with pytest.raises(PermissionDenied):
        add(db, bureau_admin, registry, agency_url, name="admins")
    with pytest.raises(PermissionDenied):
        pull.sources_of(db, other_officer.actor, registry)
    assert [s.id for s in pull.sources_of(db, bureau_admin.actor, registry)] == [source.id]
    with pytest.raises(PermissionDenied):
        pull.update_source(db, bureau_admin.actor, source, schedule="every 1h")
    with pytest.raises(PermissionDenied):
        pull.request_run(db, bureau_admin.actor, source)
    with pytest.raises(PermissionDenied):
        pull.delete_source(db, other_officer.actor, source)


def test_changing_the_schedule_requeues_and_disabling_stops(
    db, officer, registry, agency_url
) -> None:
    source = add(db, officer, registry, agency_url)
    first_job = source.job_id
    pull.update_source(db, officer.actor, source, schedule="daily 03:00")
    assert source.job_id != first_job
    assert source.next_run_at is not None
    assert source.next_run_at.astimezone(pull.TZ).strftime("%H:%M") == "03:00"
    pull.update_source(db, officer.actor, source, enabled=False)
    assert source.next_run_at is None and source.job_id is None
    with pytest.raises(Conflict):
        pull.request_run(db, officer.actor, source)
    actions = db.scalars(
        select(AuditEntry.action).where(AuditEntry.object_type == "pull_source")
    ).all()
    assert actions == ["pull_source.create", "pull_source.update", "pull_source.update"]


# --- running --------------------------------------------------------------------------


def test_replace_pull_publishes_a_version_traced_to_the_source(
    db, officer, registry, agency_url, agency_db: Engine, monkeypatch
) -> None:
    fill(agency_db, range(1, 4))
    # Trust authentication ignores it, but it is sent — and must be recorded nowhere.
    monkeypatch.setenv("GONGSHU_PULL_PASSWORD_SCJ_COMPANIES", "s3cret-pw")
    source = add(db, officer, registry, agency_url)
    run = pull.run_pull(db, source.id, trigger="manual")
    assert run.status is PullStatus.PUBLISHED, (run.error, run.error_params)
    assert run.rows == 3
    version = current_version(db, registry.id)
    assert version is not None and version.row_count == 3
    assert version.source["kind"] == "pull"
    assert version.source["pull_source"] == "scj_companies"
    assert version.source["query"] == QUERY
    assert version.source["database"] == agency_url
    assert "s3cret" not in json.dumps(version.source)
    ingestion = db.get(Ingestion, run.ingestion_id)
    assert ingestion is not None and ingestion.source_kind is SourceKind.PULL
    assert "s3cret" not in json.dumps(ingestion.detected) + ingestion.file_name
    rows = gate.read_page(db, officer.actor, registry, purpose="test", limit=10).rows
    assert [r["credit_code"] for r in rows] == [code(1), code(2), code(3)]
    first = rows[0]
    assert Decimal(str(first["capital"])) == Decimal("101.5")
    assert str(first["founded"]) == "2020-01-02"
    assert source.last_status is PullStatus.PUBLISHED and source.last_run_at is not None


def test_upsert_snapshot_pull_counts_changes(
    db, officer, registry, agency_url, agency_db: Engine
) -> None:
    fill(agency_db, range(1, 5))
    source = add(db, officer, registry, agency_url, mode=IngestMode.UPSERT, snapshot=True)
    assert pull.run_pull(db, source.id).status is PullStatus.PUBLISHED
    with agency_db.begin() as conn:
        conn.execute(text("DELETE FROM companies WHERE uscc = :c"), {"c": code(1)})
        conn.execute(
            text("UPDATE companies SET kind = '股份有限公司' WHERE uscc = :c"), {"c": code(2)}
        )
    fill(agency_db, range(5, 7))
    run = pull.run_pull(db, source.id)
    assert run.status is PullStatus.PUBLISHED, (run.error, run.error_params)
    version = current_version(db, registry.id)
    assert version is not None and version.number == 2 and version.row_count == 5
    assert (version.added, version.removed, version.changed) == (2, 1, 1)


def test_failures_keep_the_version_and_tell_the_officers_once(
    db, officer, registry, agency_url, agency_db: Engine
) -> None:
    fill(agency_db, range(1, 3))
    source = add(db, officer, registry, agency_url)
    assert pull.run_pull(db, source.id).status is PullStatus.PUBLISHED
    pull.update_source(db, officer.actor, source, query="SELECT no_such_column FROM companies")
    failed = pull.run_pull(db, source.id)
    assert failed.status is PullStatus.FAILED
    assert failed.error == pull.MSG_QUERY_FAILED
    assert "no_such_column" in failed.error_params["error"]
    again = pull.run_pull(db, source.id)
    assert again.status is PullStatus.FAILED
    notices = db.scalars(select(Notice).where(Notice.kind == "pull.failed")).all()
    assert [n.user_id for n in notices] == [officer.user.id]
    assert "no_such_column" in notices[0].params["reason"]
    version = current_version(db, registry.id)
    assert version is not None and version.number == 1

    # Fixed: it publishes, and the next failure is told again.
    pull.update_source(db, officer.actor, source, query=QUERY)
    assert pull.run_pull(db, source.id).status is PullStatus.PUBLISHED
    pull.update_source(db, officer.actor, source, url=agency_url.rsplit(":", 1)[0] + ":1/none")
    refused = pull.run_pull(db, source.id)
    assert refused.status is PullStatus.FAILED and refused.error == pull.MSG_CONNECT_FAILED
    assert len(db.scalars(select(Notice).where(Notice.kind == "pull.failed")).all()) == 2


def test_rows_breaking_the_rules_refuse_the_batch(
    db, officer, registry, agency_url, agency_db: Engine
) -> None:
    fill(agency_db, range(1, 3))
    fill(agency_db, range(3, 4), kind="合伙企业")  # not one of the entry's allowed values
    source = add(db, officer, registry, agency_url)
    run = pull.run_pull(db, source.id)
    assert run.status is PullStatus.REFUSED
    assert run.error == pull.MSG_INGEST_REFUSED
    assert run.error_params == {"read": 3, "rejected": 1}
    assert current_version(db, registry.id) is None


def test_an_empty_result_publishes_nothing(db, officer, registry, agency_url, agency_db) -> None:
    source = add(db, officer, registry, agency_url)
    run = pull.run_pull(db, source.id)
    assert run.status is PullStatus.REFUSED and run.error == pull.MSG_NO_ROWS


def test_the_query_runs_in_a_read_only_transaction(
    db, officer, registry, agency_url, agency_db: Engine
) -> None:
    with agency_db.begin() as conn:
        conn.execute(text("CREATE SEQUENCE IF NOT EXISTS pull_probe"))
    source = add(db, officer, registry, agency_url, query="SELECT nextval('pull_probe') AS n")
    run = pull.run_pull(db, source.id)
    assert run.status is PullStatus.FAILED
    assert "read-only" in run.error_params["error"]


def test_test_connection_shows_five_rows_and_the_mapping(
    db, officer, registry, agency_url, agency_db: Engine
) -> None:
    fill(agency_db, range(1, 9))
    source = add(db, officer, registry, agency_url)
    preview = pull.test_connection(db, officer.actor, source)
    assert preview.columns == ["统一社会信用代码", "企业名称", "成立日期", "注册资本", "企业类型"]
    assert len(preview.rows) == 5 and preview.rows[0][0] == code(1)
    assert preview.mapping.columns["credit_code"] == "统一社会信用代码"
    assert not preview.mapping.missing_required
    pull.update_source(db, officer.actor, source, query="SELECT 1 AS a, 2 AS a")
    with pytest.raises(ValidationFailed) as caught:
        pull.test_connection(db, officer.actor, source)
    assert caught.value.message == pull.MSG_DUPLICATE_COLUMNS


# --- the job chain ----------------------------------------------------------------------


def _due_now(db: Session, source: PullSource) -> None:
    """Let the queued job fall due now (as if its time had come)."""
    job = db.get(Job, source.job_id)
    assert job is not None
    job.run_after = dt.datetime.now(UTC) - dt.timedelta(seconds=1)
    db.flush()


def test_a_due_job_runs_the_pull_and_queues_the_next(
    db, officer, registry, agency_url, agency_db: Engine
) -> None:
    fill(agency_db, range(1, 3))
    source = add(db, officer, registry, agency_url)
    stale = source.job_id
    pull.update_source(db, officer.actor, source, schedule="every 45m")
    _due_now(db, source)
    old = db.get(Job, stale)
    assert old is not None
    old.run_after = dt.datetime.now(UTC) - dt.timedelta(seconds=2)
    db.flush()

    done = run_one(db, "test-worker")
    assert done is not None and done.id == stale and done.result == {"skipped": True}
    done = run_one(db, "test-worker")
    assert done is not None and done.result["status"] == "published"
    assert source.job_id == done.result["next_job"]
    queued = db.get(Job, source.job_id)
    assert queued is not None and queued.status is JobStatus.QUEUED
    assert dt.timedelta(minutes=44) < queued.run_after - dt.datetime.now(UTC)


def test_the_tick_repairs_a_broken_chain_once(db, officer, registry, agency_url) -> None:
    source = add(db, officer, registry, agency_url)
    job = db.get(Job, source.job_id)
    assert job is not None
    job.status = JobStatus.FAILED  # failed for good
    db.flush()
    assert pull.enqueue_due(db) == 1
    assert source.job_id != job.id
    assert pull.enqueue_due(db) == 0


def test_a_run_still_going_elsewhere_is_not_doubled_and_a_dead_one_is_closed(
    db, officer, registry, agency_url, agency_db: Engine
) -> None:
    fill(agency_db, range(1, 3))
    source = add(db, officer, registry, agency_url)
    going = PullRun(
        source_id=source.id,
        status=PullStatus.RUNNING,
        trigger="schedule",
        query=QUERY,
        started_at=dt.datetime.now(UTC) - dt.timedelta(minutes=20),  # past the job's lease
    )
    db.add(going)
    _due_now(db, source)
    done = run_one(db, "second-worker")
    assert done is not None and done.result == {"skipped": True, "running": True}
    assert current_version(db, registry.id) is None

    going.started_at = dt.datetime.now(UTC) - dt.timedelta(hours=3)  # its process died
    db.flush()
    run = pull.run_pull(db, source.id)
    assert run.status is PullStatus.PUBLISHED
    assert going.status is PullStatus.FAILED and going.error == pull.MSG_INTERRUPTED


def test_the_tick_job_requeues_itself_while_a_source_is_enabled(
    db, officer, registry, agency_url
) -> None:
    source = add(db, officer, registry, agency_url)
    tick = db.scalars(select(Job).where(Job.kind == pull.TICK_JOB)).one()
    tick.run_after = dt.datetime.now(UTC) - dt.timedelta(seconds=1)
    db.flush()
    done = run_one(db, "test-worker")
    assert done is not None and done.id == tick.id
    assert done.result["queued"] == 0 and done.result["next_job"] != tick.id
    following = db.get(Job, done.result["next_job"])
    assert following is not None and following.status is JobStatus.QUEUED
    assert following.run_after > dt.datetime.now(UTC) + dt.timedelta(minutes=4)

    pull.update_source(db, officer.actor, source, enabled=False)
    following.run_after = dt.datetime.now(UTC) - dt.timedelta(seconds=1)
    db.flush()
    last = run_one(db, "test-worker")
    assert last is not None and last.result == {"queued": 0, "next_job": None}
    pull.delete_source(db, officer.actor, source)
    assert db.get(PullSource, source.id) is None
