"""The sharing workflow's background jobs. Importing this module registers their handlers
(and, through ``gongshu.share.requests``, the reminder audiences of its deadlines).

* ``share.sweep`` runs every hour (at five past): it activates grants whose start has come,
  expires grants past their end, ends emergencies whose time is up, closes lapsed objection
  windows, brings return-flow grants in line (agencies created since), makes missing
  reassessment plans and sends reassessment reminders; then it queues the next hour's run.
  At most one is queued at a time; anything that issues a grant makes sure one is.
* ``share.emergency_end`` runs at an emergency's end time and ends it (payload
  ``emergency_id``) — the sweep is its backstop.

Decision and arbitration deadlines are reminded by the notices' daily reminder job
(``notices.deadline_reminders``), like every deadline.
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
from gongshu.share import emergency, issuing, reassess, requests, return_flow
from gongshu.workdays.calendar import local_today

SWEEP_JOB = "share.sweep"
_LOCK_KEY = 0x67737368  # "gssh": one advisory lock for the sweep chain on PostgreSQL
SWEEP_ACTOR = Actor.system("share")


def next_sweep(now: dt.datetime | None = None) -> dt.datetime:
    """Five past the next hour, strictly after ``now``."""
    now = now or utcnow()
    run = now.replace(minute=5, second=0, microsecond=0)
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
        # Two transactions must not both see "none queued" and both enqueue.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        queued = _queued(session)
        if queued is not None:
            return queued
    return enqueue(session, SWEEP_JOB, {}, run_after=run_after or next_sweep())


def sweep(session: Session, now: dt.datetime | None = None) -> dict[str, int]:
    """Everything the hourly sweep does, in order; each step commits on its own."""
    now = now or utcnow()
    today = local_today(now)
    counts: dict[str, int] = {
        "activated": issuing.activate_due(session, SWEEP_ACTOR, now),
        "expired": issuing.expire_due(session, SWEEP_ACTOR, now),
        "emergencies_ended": emergency.expire_emergencies(session, SWEEP_ACTOR, now=now),
        "windows_closed": requests.close_lapsed_windows(session, today),
    }
    issued, revoked = return_flow.sync_return_flows(session, SWEEP_ACTOR)
    counts["return_flow_issued"] = issued
    counts["return_flow_revoked"] = revoked
    counts["plans_made"] = reassess.sync_plans(session, today)
    reminders = reassess.send_reminders(session, today)
    counts["reassess_due_soon"] = reminders["due_soon"]
    counts["reassess_overdue"] = reminders["overdue"]
    return counts


@handler(SWEEP_JOB)
def sweep_job(session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    """Run the sweep, then queue the next hour's."""
    counts = sweep(session)
    with unit_of_work(session):
        job = ensure_sweep_job(session, run_after=next_sweep())
        next_id = job.id
    return {**counts, "next_job": next_id}


@handler(emergency.END_JOB)
def emergency_end_job(session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    """End the emergency named in the payload if its time is up."""
    emergency_id = int(payload["emergency_id"])
    ended = emergency.expire_emergencies(session, SWEEP_ACTOR, only=emergency_id)
    return {"emergency_id": emergency_id, "ended": ended}
