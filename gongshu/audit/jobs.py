"""The audit chain's background job. Importing this module registers its handler.

``audit.checkpoint`` signs a checkpoint (:func:`gongshu.audit.checkpoint.write_checkpoint`).
Two things queue it:

* the append that crosses a multiple of ``GONGSHU_AUDIT_CHECKPOINT_ENTRIES`` (payload
  ``{"reason": "entries"}``), due at once;
* a timer (payload ``{"timer": true}``) due every ``GONGSHU_AUDIT_CHECKPOINT_MINUTES``: it
  signs when the last checkpoint is that old and entries were added since, then queues
  itself again. The first entry of a new chain starts it, so does every entries-triggered
  run and ``gongshu audit checkpoint``; at most one timer is queued at a time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gongshu.audit.checkpoint import due_by_time, write_checkpoint
from gongshu.db import unit_of_work, utcnow
from gongshu.jobs.models import Job, JobStatus
from gongshu.jobs.service import enqueue, handler
from gongshu.settings import Settings, get_settings

CHECKPOINT_JOB = "audit.checkpoint"
_LOCK_KEY = 0x67736374  # "gsct": one advisory lock for the timer chain on PostgreSQL


def _queued(session: Session, *, timer: bool) -> Job | None:
    jobs = session.scalars(
        select(Job)
        .where(Job.kind == CHECKPOINT_JOB, Job.status == JobStatus.QUEUED)
        .order_by(Job.id)
    )
    return next((j for j in jobs if bool(j.payload.get("timer")) == timer), None)


def ensure_timer(session: Session, settings: Settings | None = None) -> Job:
    """The one queued timed-checkpoint job, enqueued (in the caller's transaction) if none
    is queued; due ``GONGSHU_AUDIT_CHECKPOINT_MINUTES`` from now."""
    settings = settings or get_settings()
    queued = _queued(session, timer=True)
    if queued is not None:
        return queued
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        queued = _queued(session, timer=True)
        if queued is not None:
            return queued
    run_after = utcnow() + dt.timedelta(minutes=settings.audit_checkpoint_minutes)
    return enqueue(session, CHECKPOINT_JOB, {"timer": True}, run_after=run_after)


def on_append(session: Session, first_seq: int, last_seq: int) -> None:
    """Called in the transaction that appended entries ``first_seq``–``last_seq``."""
    every = get_settings().audit_checkpoint_entries
    if (last_seq // every) > ((first_seq - 1) // every):
        if _queued(session, timer=False) is None:
            enqueue(session, CHECKPOINT_JOB, {"reason": "entries"})
    elif first_seq == 1:
        ensure_timer(session)


@handler(CHECKPOINT_JOB)
def checkpoint_job(session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    """Sign a checkpoint if one is due; a timer run queues the next timer."""
    settings = get_settings()
    timer = bool(payload.get("timer"))
    written = None
    if not timer or due_by_time(session, settings):
        written = write_checkpoint(session, settings)
    with unit_of_work(session):
        next_timer = ensure_timer(session, settings) if timer or written else None
        next_id = next_timer.id if next_timer is not None else None
    return {
        "checkpoint": written.id if written is not None else None,
        "tree_size": written.tree_size if written is not None else None,
        "next_job": next_id,
    }
