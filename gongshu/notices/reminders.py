"""Deadline reminders: a daily job that tells the responsible users what is due.

Areas that open deadlines say who answers for them, per deadline kind::

    register_deadline_audience("catalog.review", reviewers_of, label=N_("目录审核"),
                               link=lambda d: f"/catalog/{d.object_id}")

The job ``notices.deadline_reminders`` then, every morning (08:00 Asia/Shanghai), notifies
the audience of each open deadline that runs out today or on the next working day — once
per due day (a deadline moved by a calendar change is reminded again) — and of each overdue
deadline, once. It re-enqueues itself for the next morning; at most one such job is queued
at a time (``ensure_reminder_job``; opening a deadline makes sure the chain exists).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gongshu.db import unit_of_work, utcnow
from gongshu.i18n import N_
from gongshu.jobs.models import Job, JobStatus
from gongshu.jobs.service import enqueue
from gongshu.notices.service import notify
from gongshu.workdays.calendar import TZ, WorkdayCalendar, local_today
from gongshu.workdays.models import Deadline

__all__ = [
    "REMINDER_JOB",
    "AudienceResolver",
    "ensure_reminder_job",
    "next_reminder_run",
    "register_deadline_audience",
    "send_deadline_reminders",
]

REMINDER_JOB = "notices.deadline_reminders"
REMINDER_HOUR = 8
_LOCK_KEY = 0x67736E72  # "gsnr": one advisory lock for the reminder chain on PostgreSQL

AudienceResolver = Callable[[Session, Deadline], list[int]]

M_DUE_TODAY_TITLE = N_("今日到期：{what}")
M_DUE_TODAY_BODY = N_("{what}（{ref}）今日到期（{days} 个工作日），请在今日 24 时前办结。")
M_DUE_SOON_TITLE = N_("期限将至：{what}")
M_DUE_SOON_BODY = N_("{what}（{ref}）将于 {due} 到期（{days} 个工作日），剩余 {n} 个工作日。")
M_OVERDUE_TITLE = N_("已逾期：{what}")
M_OVERDUE_BODY = N_("{what}（{ref}）已于 {due} 到期（{days} 个工作日），已逾期 {n} 个工作日。")
M_DEFAULT_WHAT = N_("待办事项")


@dataclass(frozen=True)
class _Audience:
    resolve: AudienceResolver
    label: str
    link: Callable[[Deadline], str] | None


_AUDIENCES: dict[str, _Audience] = {}


def register_deadline_audience(
    kind: str,
    fn: AudienceResolver,
    *,
    label: str = "",
    link: Callable[[Deadline], str] | None = None,
) -> None:
    """Say who is reminded of deadlines of ``kind``: ``fn(session, deadline)`` returns user
    ids (``users_with_role`` helps). ``label`` is a Chinese message id naming the duty
    ("目录审核"), ``link`` the page of the object. Registering a kind again replaces it."""
    _AUDIENCES[kind] = _Audience(fn, label, link)


def registered_kinds() -> list[str]:
    return sorted(_AUDIENCES)


def _tell(session: Session, deadline: Deadline, audience: _Audience, n: int) -> int:
    users = audience.resolve(session, deadline)
    if not users:
        return 0
    if n < 0:
        kind, title, body = "deadline.overdue", M_OVERDUE_TITLE, M_OVERDUE_BODY
    elif n == 0:
        kind, title, body = "deadline.due_today", M_DUE_TODAY_TITLE, M_DUE_TODAY_BODY
    else:
        kind, title, body = "deadline.due_soon", M_DUE_SOON_TITLE, M_DUE_SOON_BODY
    notify(
        session,
        user_ids=users,
        kind=kind,
        title=title,
        body=body,
        link=audience.link(deadline) if audience.link else "",
        what=audience.label or M_DEFAULT_WHAT,
        ref=f"{deadline.object_type} #{deadline.object_id}",
        due=deadline.due_on.isoformat(),
        days=deadline.working_days,
        n=abs(n),
        deadline_id=deadline.id,
        deadline_kind=deadline.kind,
    )
    return len(users)


def send_deadline_reminders(session: Session, today: dt.date | None = None) -> dict[str, int]:
    """Remind the audiences of deadlines due today or on the next working day, and of
    overdue ones (once). Commits; returns counts of ``due_soon``, ``overdue``, ``users``."""
    today = today or local_today()
    counts = {"due_soon": 0, "overdue": 0, "users": 0}
    kinds = registered_kinds()
    if not kinds:
        return counts
    calendar = WorkdayCalendar(session)
    horizon = calendar.add(today, 1).due_on  # the next working day
    stmt = (
        select(Deadline)
        .where(
            Deadline.closed_at.is_(None),
            Deadline.due_on <= horizon,
            Deadline.kind.in_(kinds),
        )
        .order_by(Deadline.due_on, Deadline.id)
        .with_for_update(skip_locked=True)
    )
    with unit_of_work(session):
        for deadline in session.scalars(stmt):
            audience = _AUDIENCES[deadline.kind]
            n = calendar.remaining(deadline.due_on, today)
            if n < 0:
                if deadline.overdue_notified_at is not None:
                    continue
                counts["users"] += _tell(session, deadline, audience, n)
                deadline.overdue_notified_at = utcnow()
                counts["overdue"] += 1
            else:
                if deadline.reminded_due_on == deadline.due_on:
                    continue
                counts["users"] += _tell(session, deadline, audience, n)
                deadline.reminded_due_on = deadline.due_on
                counts["due_soon"] += 1
    return counts


def next_reminder_run(now: dt.datetime | None = None) -> dt.datetime:
    """The next 08:00 in Asia/Shanghai strictly after ``now``."""
    local = (now or utcnow()).astimezone(TZ)
    run = local.replace(hour=REMINDER_HOUR, minute=0, second=0, microsecond=0)
    if run <= local:
        run += dt.timedelta(days=1)
    return run.astimezone(dt.UTC)


def ensure_reminder_job(session: Session, run_after: dt.datetime | None = None) -> Job:
    """The one queued reminder job, enqueued (in the caller's transaction) when missing."""
    queued = _queued_reminder(session)
    if queued is not None:
        return queued
    if session.get_bind().dialect.name == "postgresql":
        # Two transactions must not both see "none queued" and both enqueue: serialise the
        # (rare) enqueue and look again. SQLite's write lock already serialises writers.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        queued = _queued_reminder(session)
        if queued is not None:
            return queued
    return enqueue(session, REMINDER_JOB, {}, run_after=run_after or utcnow())


def _queued_reminder(session: Session) -> Job | None:
    return session.scalars(
        select(Job)
        .where(Job.kind == REMINDER_JOB, Job.status == JobStatus.QUEUED)
        .order_by(Job.id)
        .limit(1)
    ).first()
