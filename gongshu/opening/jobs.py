"""The conditional-opening sweep. Importing this module registers its handler (and, through
``gongshu.opening.service``, the reminder audience of the decision deadline).

``opening.sweep`` runs every hour (at ten past): it expires applications past their term
and marks usage reports past their due day overdue (telling the applicant and the
provider), then queues the next hour's run. At most one is queued at a time; approving an
application makes sure one is. Overdue decisions are reminded by the notices' daily
reminder job (``notices.deadline_reminders``), like every deadline.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.db import unit_of_work, utcnow
from gongshu.jobs.models import Job, JobStatus
from gongshu.jobs.service import enqueue, handler
from gongshu.opening import service  # registers the decision deadline's reminder audience
from gongshu.workdays.calendar import local_today

SWEEP_JOB = "opening.sweep"
_LOCK_KEY = 0x67736F70  # "gsop": one advisory lock for the sweep chain on PostgreSQL
SWEEP_ACTOR = Actor.system("opening")


def next_sweep(now: dt.datetime | None = None) -> dt.datetime:
    """Ten past the next hour, strictly after ``now``."""
    now = now or utcnow()
    run = now.replace(minute=10, second=0, microsecond=0)
    if run <= now:
        run += dt.timedelta(hours=1)
    return run


def _queued(session: Session) -> Job | None:
    return session.scalars(
        select(Job)
        .where(Job.kind == SWEEP_JOB, Job.status == JobStatus.QUEUED)
        .order_by(Job.id)
        .limit(1)
    ).first()


def ensure_sweep_job(session: Session, run_after: dt.datetime | None = None) -> Job:
    """The one queued sweep, enqueued (in the caller's transaction) when missing."""
    queued = _queued(session)
    if queued is not None:
        return queued
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        queued = _queued(session)
        if queued is not None:
            return queued
    return enqueue(session, SWEEP_JOB, {}, run_after=run_after or next_sweep())


def sweep(session: Session, now: dt.datetime | None = None) -> dict[str, int]:
    """Everything the sweep does, in order; each step commits on its own."""
    now = now or utcnow()
    return {
        "expired": service.expire_due(session, SWEEP_ACTOR, now),
        "reports_overdue": service.mark_overdue_reports(session, SWEEP_ACTOR, local_today(now)),
    }


@handler(SWEEP_JOB)
def sweep_job(session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    """Run the sweep, then queue the next hour's."""
    counts = sweep(session)
    with unit_of_work(session):
        job = ensure_sweep_job(session, run_after=next_sweep())
        next_id = job.id
    return {**counts, "next_job": next_id}
