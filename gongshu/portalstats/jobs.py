"""The portal statistics' periodic job. Importing this module registers its handler.

``portalstats.tick`` runs every ``TICK_MINUTES``: it adds the running process's pending
usage counts to the daily table (a stand-alone worker, or a web process whose flusher thread
is off) and runs the subscriptions' update scan, then queues the next run. At most one is
queued at a time: subscribing makes sure one is, and so does ``gongshu portal tick``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gongshu.db import unit_of_work, utcnow
from gongshu.jobs.models import Job, JobStatus
from gongshu.jobs.service import enqueue, handler
from gongshu.portalstats import collector
from gongshu.portalstats.subscriptions import scan_updates

TICK_JOB = "portalstats.tick"
TICK_MINUTES = 5
_LOCK_KEY = 0x67737074  # "gspt": one advisory lock for the tick chain on PostgreSQL


def _queued(session: Session) -> Job | None:
    return session.scalars(
        select(Job)
        .where(Job.kind == TICK_JOB, Job.status == JobStatus.QUEUED)
        .order_by(Job.id)
        .limit(1)
    ).first()


def ensure_tick_job(session: Session, run_after: dt.datetime | None = None) -> Job:
    """The one queued tick, enqueued (in the caller's transaction) when missing."""
    queued = _queued(session)
    if queued is not None:
        return queued
    if session.get_bind().dialect.name == "postgresql":
        # Two transactions must not both see "none queued" and both enqueue.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        queued = _queued(session)
        if queued is not None:
            return queued
    when = run_after or utcnow() + dt.timedelta(minutes=TICK_MINUTES)
    return enqueue(session, TICK_JOB, {}, run_after=when)


def tick(session: Session) -> dict[str, int]:
    """Flush this process's counts, then tell subscribers about new versions."""
    flushed = collector.flush(session)
    return {"flushed": flushed, **scan_updates(session)}


@handler(TICK_JOB)
def tick_job(session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    """Run one tick, then queue the next."""
    counts = tick(session)
    with unit_of_work(session):
        next_id = ensure_tick_job(session).id
    return {**counts, "next_job": next_id}
