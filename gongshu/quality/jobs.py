"""Quality's background jobs. Importing this module registers their handlers.

* ``quality.rescore`` scores versions again (payload ``version_id``, ``dataset_id``, or
  nothing: every live version without a score);
* ``quality.overdue_notices`` runs every morning at 08:30 Asia/Shanghai: it scores live
  versions that have no score yet, tells each agency's officers about entries that became
  overdue, and queues itself for the next morning (at most one is queued at a time).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gongshu.db import unit_of_work, utcnow
from gongshu.jobs.models import Job, JobStatus
from gongshu.jobs.service import enqueue, handler
from gongshu.quality.service import OVERDUE_JOB, RESCORE_JOB, notify_overdue, rescore
from gongshu.workdays.calendar import TZ

RUN_AT = dt.time(8, 30)
_LOCK_KEY = 0x67737174  # "gsqt": one advisory lock for the overdue chain on PostgreSQL


def next_run(now: dt.datetime | None = None) -> dt.datetime:
    """The next 08:30 in Asia/Shanghai strictly after ``now``."""
    local = (now or utcnow()).astimezone(TZ)
    run = local.replace(hour=RUN_AT.hour, minute=RUN_AT.minute, second=0, microsecond=0)
    if run <= local:
        run += dt.timedelta(days=1)
    return run.astimezone(dt.UTC)


def _queued(session: Session) -> Job | None:
    return session.scalars(
        select(Job)
        .where(Job.kind == OVERDUE_JOB, Job.status == JobStatus.QUEUED)
        .order_by(Job.id)
        .limit(1)
    ).first()


def ensure_overdue_job(session: Session, run_after: dt.datetime | None = None) -> Job:
    """The one queued overdue-notice job, enqueued (in the caller's transaction) if missing."""
    queued = _queued(session)
    if queued is not None:
        return queued
    if session.get_bind().dialect.name == "postgresql":
        # Two transactions must not both see "none queued" and both enqueue.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        queued = _queued(session)
        if queued is not None:
            return queued
    return enqueue(session, OVERDUE_JOB, {}, run_after=run_after or next_run())


@handler(RESCORE_JOB)
def rescore_job(session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    """Score the versions the payload names (all unscored live versions when it names none)."""
    version_id = payload.get("version_id")
    dataset_id = payload.get("dataset_id")
    scored = rescore(
        session,
        version_id=int(version_id) if version_id is not None else None,
        dataset_id=int(dataset_id) if dataset_id is not None else None,
        only_missing=version_id is None and dataset_id is None,
    )
    return {"scored": scored}


@handler(OVERDUE_JOB)
def overdue_job(session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    """Catch up on unscored live versions, send the overdue notices, queue tomorrow's run."""
    scored = rescore(session, only_missing=True)
    counts = notify_overdue(session)
    with unit_of_work(session):
        job = ensure_overdue_job(session, run_after=next_run())
        next_id = job.id
    return {**counts, "scored": scored, "next_job": next_id}
