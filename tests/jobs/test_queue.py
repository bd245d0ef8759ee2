"""The job table: jobs run once, failures retry, and a dead worker's job is taken over."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.orm import Session

from gongshu.db import make_engine, make_session_factory, unit_of_work, utcnow
from gongshu.jobs import service
from gongshu.jobs.models import Job, JobStatus
from gongshu.settings import Settings

calls: list[dict[str, Any]] = []


@service.handler("test.echo")
def _echo(session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    calls.append(payload)
    return {"echo": payload["n"]}


@service.handler("test.fail")
def _fail(session: Session, payload: dict[str, Any]) -> None:
    raise ValueError("always fails")


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    calls.clear()


def test_a_job_runs_once(db: Session) -> None:
    with unit_of_work(db):
        job = service.enqueue(db, "test.echo", {"n": 7})
    ran = service.run_one(db, "w1")
    assert ran is not None and ran.id == job.id
    assert ran.status is JobStatus.DONE
    assert ran.result == {"echo": 7}
    assert service.run_one(db, "w1") is None
    assert calls == [{"n": 7}]


def test_future_jobs_wait(db: Session) -> None:
    with unit_of_work(db):
        service.enqueue(db, "test.echo", {"n": 1}, run_after=utcnow() + dt.timedelta(hours=1))
    assert service.run_one(db, "w1") is None


def test_failures_retry_then_fail(db: Session) -> None:
    with unit_of_work(db):
        job = service.enqueue(db, "test.fail", max_attempts=2)
    first = service.run_one(db, "w1")
    assert first is not None and first.status is JobStatus.QUEUED
    assert "always fails" in first.error
    assert first.run_after > utcnow()
    with unit_of_work(db):
        db.get(Job, job.id).run_after = utcnow()  # type: ignore[union-attr]
    second = service.run_one(db, "w1")
    assert second is not None and second.status is JobStatus.FAILED
    assert second.attempts == 2


def test_a_dead_workers_job_is_taken_over(db: Session) -> None:
    with unit_of_work(db):
        job = service.enqueue(db, "test.echo", {"n": 3})
    claimed = service.claim(db, "dead-worker")
    assert claimed is not None and claimed.status is JobStatus.RUNNING
    assert service.claim(db, "w2") is None  # its lease still holds
    with unit_of_work(db):
        claimed.locked_until = utcnow() - dt.timedelta(seconds=1)
    ran = service.run_one(db, "w2")
    assert ran is not None and ran.id == job.id and ran.status is JobStatus.DONE


def test_jobs_survive_a_restart(scratch_settings: Settings) -> None:
    """A job queued by one process is run by a worker started later on another engine."""
    first = make_engine(scratch_settings)
    with make_session_factory(first)() as session, unit_of_work(session):
        service.enqueue(session, "test.echo", {"n": 42})
    first.dispose()
    second = make_engine(scratch_settings)
    with make_session_factory(second)() as session:
        ran = service.run_one(session, "after-restart")
    second.dispose()
    assert ran is not None and ran.result == {"echo": 42}


def test_a_standalone_worker_knows_every_handler() -> None:
    """``gongshu jobs worker`` imports the modules that register handlers and audiences."""
    import subprocess
    import sys

    code = (
        "from gongshu.jobs.service import HANDLERS, load_handlers; load_handlers(); "
        "from gongshu.notices.reminders import registered_kinds; "
        "print(sorted(HANDLERS)); print(sorted(registered_kinds()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    for kind in ("notices.send_outbox", "notices.deadline_reminders", "search.reindex"):
        assert kind in out
    assert "catalog.review" in out
