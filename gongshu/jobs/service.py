"""A job queue in the SQL database.

Workers claim one job at a time: on PostgreSQL with ``FOR UPDATE SKIP LOCKED`` so that
several workers never take the same job; on SQLite the database write lock serialises
claims. A claimed job carries a lease (``locked_until``); a job whose worker died is
claimed again once the lease runs out, so work survives restarts. Failures are retried with
a growing delay until ``max_attempts``.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import traceback
from collections.abc import Callable
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gongshu.db import unit_of_work, utcnow
from gongshu.jobs.models import Job, JobStatus

log = logging.getLogger(__name__)

Handler = Callable[[Session, dict[str, Any]], dict[str, Any] | None]
HANDLERS: dict[str, Handler] = {}

# Modules that register job handlers or deadline audiences when imported; a worker started
# on its own (not through the web app) imports them before it takes any job.
JOB_MODULES = (
    "gongshu.notices.jobs",
    "gongshu.search.service",
    "gongshu.catalog.workflow",
    "gongshu.catalog.changes",
    "gongshu.ingest.service",
    "gongshu.ingest.pull",
    "gongshu.quality.jobs",
    "gongshu.governance.consistency",
    "gongshu.governance.corrections",
    "gongshu.share.jobs",
    "gongshu.portalstats.jobs",
    "gongshu.opening.jobs",
    "gongshu.feedback.reminders",
    "gongshu.audit.jobs",
)


def load_handlers() -> None:
    """Import every module that registers a job handler or a reminder audience."""
    for name in JOB_MODULES:
        importlib.import_module(name)


LEASE = dt.timedelta(minutes=10)


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of ``kind``."""

    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    run_after: dt.datetime | None = None,
    max_attempts: int = 3,
) -> Job:
    """Add a job in the caller's transaction (it runs only if that transaction commits)."""
    job = Job(
        kind=kind, payload=payload or {}, run_after=run_after or utcnow(), max_attempts=max_attempts
    )
    session.add(job)
    session.flush()
    return job


def claim(session: Session, worker_id: str) -> Job | None:
    """Take the oldest job that is due, or one whose worker's lease has run out."""
    now = utcnow()
    stmt = (
        select(Job)
        .where(
            or_(
                (Job.status == JobStatus.QUEUED) & (Job.run_after <= now),
                (Job.status == JobStatus.RUNNING) & (Job.locked_until < now),
            )
        )
        .order_by(Job.run_after, Job.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    with unit_of_work(session):
        job = session.scalars(stmt).first()
        if job is None:
            return None
        job.status = JobStatus.RUNNING
        job.attempts += 1
        job.locked_by = worker_id
        job.locked_until = now + LEASE
    return job


def run_one(session: Session, worker_id: str) -> Job | None:
    """Claim and run a single job; returns it, or None when nothing is due."""
    job = claim(session, worker_id)
    if job is None:
        return None
    fn = HANDLERS.get(job.kind)
    try:
        if fn is None:
            raise LookupError(f"no handler for job kind {job.kind!r}")
        result = fn(session, dict(job.payload))
    except Exception:
        session.rollback()
        job = session.get(Job, job.id)
        assert job is not None
        with unit_of_work(session):
            job.error = traceback.format_exc()[-4000:]
            job.locked_until = None
            if job.attempts >= job.max_attempts:
                job.status = JobStatus.FAILED
                job.finished_at = utcnow()
            else:
                job.status = JobStatus.QUEUED
                job.run_after = utcnow() + dt.timedelta(seconds=30 * 2**job.attempts)
        log.exception("job %s (%s) failed", job.id, job.kind)
        return job
    with unit_of_work(session):
        job.status = JobStatus.DONE
        job.result = result or {}
        job.finished_at = utcnow()
        job.locked_until = None
    return job
