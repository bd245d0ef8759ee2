"""The notices' background jobs. Importing this module registers their handlers (the
``gongshu`` command and the web app import it, so ``gongshu jobs worker`` runs them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from gongshu.db import unit_of_work
from gongshu.jobs.service import handler
from gongshu.notices.mail import deliver_outbox
from gongshu.notices.reminders import (
    REMINDER_JOB,
    ensure_reminder_job,
    next_reminder_run,
    send_deadline_reminders,
)
from gongshu.notices.service import SEND_JOB
from gongshu.settings import get_settings


@handler(SEND_JOB)
def send_outbox(session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    """Deliver the queued e-mails (or mark them ``no_transport`` without GONGSHU_SMTP_URL)."""
    return dict(deliver_outbox(session, get_settings()))


@handler(REMINDER_JOB)
def deadline_reminders(session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    """Send today's deadline reminders, then queue the next morning's run."""
    counts = send_deadline_reminders(session)
    with unit_of_work(session):
        job = ensure_reminder_job(session, run_after=next_reminder_run())
        next_id = job.id
    return {**counts, "next_job": next_id}
