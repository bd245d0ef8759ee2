"""Deadlines other areas open and close, and the admin's calendar overrides.

Deadline functions (``open_deadline``, ``close_deadline`` …) run in the *caller's*
transaction: they never commit and record no audit entry — the calling service (a catalog
review, an objection …) commits and audits its own action.

Override writes (``set_override``, ``delete_override``) are services of their own: they need
``calendar.manage`` (a city-level bureau admin or the system admin), record
``calendar.override_set`` / ``calendar.override_delete``, and in the same transaction
recompute every open deadline; each deadline whose due day, rule or provisional mark changed
gets a ``deadline.recompute`` entry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.service import diff, record, snapshot
from gongshu.auth.actor import Actor
from gongshu.auth.permissions import Perm, require
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import NotFound, PermissionDenied
from gongshu.i18n import N_
from gongshu.workdays.calendar import WorkdayCalendar, end_of_day, local_today
from gongshu.workdays.models import CalendarOverride, Deadline
from gongshu.workdays.schemas import OverrideSet

__all__ = [
    "close_deadline",
    "delete_override",
    "due_at",
    "is_overdue",
    "open_deadline",
    "open_deadline_for",
    "recompute_open_deadlines",
    "remaining_for",
    "remaining_working_days",
    "set_override",
]

OVERRIDE_FIELDS = ("day", "is_workday", "note")
DEADLINE_FIELDS = ("due_on", "provisional", "rule")

M_CITY_ONLY = N_("只有市级大数据主管部门可以维护工作日历")
M_OVERRIDE_NOT_FOUND = N_("该日期没有调整记录")


# --- deadlines (in the caller's transaction) ----------------------------------------------


def open_deadline_for(
    session: Session, object_type: str, object_id: int, kind: str
) -> Deadline | None:
    """The open deadline of this kind on this object, if there is one."""
    stmt = select(Deadline).where(
        Deadline.object_type == object_type,
        Deadline.object_id == object_id,
        Deadline.kind == kind,
        Deadline.closed_at.is_(None),
    )
    return session.scalars(stmt.order_by(Deadline.id.desc())).first()


def close_deadline(session: Session, *, object_type: str, object_id: int, kind: str) -> None:
    """Close the open deadline(s) of this kind on this object (none open: nothing happens)."""
    stmt = select(Deadline).where(
        Deadline.object_type == object_type,
        Deadline.object_id == object_id,
        Deadline.kind == kind,
        Deadline.closed_at.is_(None),
    )
    now = utcnow()
    for deadline in session.scalars(stmt):
        deadline.closed_at = now
    session.flush()


def open_deadline(
    session: Session,
    *,
    object_type: str,
    object_id: int,
    kind: str,
    start: dt.date,
    working_days: int,
) -> Deadline:
    """Start a deadline of ``working_days`` working days after ``start`` on an object.

    Any open deadline of the same kind on the object is closed first. Runs in the caller's
    transaction; the caller commits and audits. Also makes sure the daily reminder job
    (``notices.deadline_reminders``) is queued. ``kind`` names the duty, e.g.
    ``catalog.review``; reminders find their audience by it (``gongshu.notices``).
    """
    close_deadline(session, object_type=object_type, object_id=object_id, kind=kind)
    calc = WorkdayCalendar(session).add(start, working_days)
    deadline = Deadline(
        object_type=object_type,
        object_id=object_id,
        kind=kind,
        started_on=start,
        working_days=working_days,
        due_on=calc.due_on,
        rule=calc.rule,
        provisional=calc.provisional,
    )
    session.add(deadline)
    session.flush()
    # Someone must be reminded as it nears: make sure the daily reminder job exists.
    from gongshu.notices.reminders import ensure_reminder_job

    ensure_reminder_job(session)
    return deadline


def due_at(deadline: Deadline) -> dt.datetime:
    """The instant the deadline runs out: the end of its due day, Asia/Shanghai."""
    return end_of_day(deadline.due_on)


def is_overdue(deadline: Deadline, now: dt.datetime | None = None) -> bool:
    """Whether the end of the due day (Asia/Shanghai) has passed. Closed ones never are."""
    if deadline.closed_at is not None:
        return False
    return (now or utcnow()) >= due_at(deadline)


def remaining_working_days(
    session: Session, deadline: Deadline, today: dt.date | None = None
) -> int:
    """Working days left ("剩余 N 个工作日"): 0 on the due day, negative when overdue."""
    return WorkdayCalendar(session).remaining(deadline.due_on, today or local_today())


def remaining_for(
    session: Session, deadlines: Iterable[Deadline], today: dt.date | None = None
) -> dict[int, int]:
    """``remaining_working_days`` for many deadlines at once (for list pages), by id."""
    calendar = WorkdayCalendar(session)
    day = today or local_today()
    return {d.id: calendar.remaining(d.due_on, day) for d in deadlines}


def recompute_open_deadlines(session: Session, actor: Actor) -> list[Deadline]:
    """Count every open deadline again (after the calendar changed); audit each change.

    Runs in the caller's transaction. Returns the deadlines whose due day, rule or
    provisional mark changed; a changed due day may be reminded again.
    """
    calendar = WorkdayCalendar(session)
    changed: list[Deadline] = []
    stmt = select(Deadline).where(Deadline.closed_at.is_(None)).order_by(Deadline.id)
    for deadline in session.scalars(stmt):
        calc = calendar.add(deadline.started_on, deadline.working_days)
        before = snapshot(deadline, DEADLINE_FIELDS)
        deadline.due_on = calc.due_on
        deadline.provisional = calc.provisional
        deadline.rule = calc.rule
        changes = diff(before, snapshot(deadline, DEADLINE_FIELDS))
        if not changes:
            continue
        if "due_on" in changes:
            deadline.reminded_due_on = None
            deadline.overdue_notified_at = None
        changed.append(deadline)
        record(
            session,
            actor,
            "deadline.recompute",
            "deadline",
            deadline.id,
            label=f"{deadline.kind} {deadline.object_type}#{deadline.object_id}",
            changes=changes,
        )
    return changed


# --- overrides (services that commit) -----------------------------------------------------


def _require_manage(actor: Actor | None) -> Actor:
    actor = require(actor, Perm.CALENDAR_MANAGE)
    if not actor.city_scope:
        raise PermissionDenied(M_CITY_ONLY)
    return actor


def set_override(session: Session, actor: Actor, data: OverrideSet) -> CalendarOverride:
    """Declare a day a working day or a day off (add or change). Needs ``calendar.manage``
    at city level; recomputes every open deadline in the same transaction."""
    _require_manage(actor)
    with unit_of_work(session):
        row = session.scalars(
            select(CalendarOverride).where(CalendarOverride.day == data.day)
        ).first()
        before = snapshot(row, OVERRIDE_FIELDS) if row else {}
        if row is None:
            row = CalendarOverride(day=data.day, created_by_id=actor.user_id)
            session.add(row)
        row.is_workday = data.is_workday
        row.note = data.note
        session.flush()
        changes = diff(before, snapshot(row, OVERRIDE_FIELDS))
        if changes:
            record(
                session,
                actor,
                "calendar.override_set",
                "calendar_override",
                row.day.isoformat(),
                label=row.day.isoformat(),
                changes=changes,
            )
            recompute_open_deadlines(session, actor)
    return row


def delete_override(session: Session, actor: Actor, day: dt.date) -> None:
    """Remove the override of a day (the package or Monday–Friday decides again). Needs
    ``calendar.manage`` at city level; recomputes every open deadline."""
    _require_manage(actor)
    with unit_of_work(session):
        row = session.scalars(select(CalendarOverride).where(CalendarOverride.day == day)).first()
        if row is None:
            raise NotFound(M_OVERRIDE_NOT_FOUND)
        before = snapshot(row, OVERRIDE_FIELDS)
        session.delete(row)
        session.flush()
        record(
            session,
            actor,
            "calendar.override_delete",
            "calendar_override",
            day.isoformat(),
            label=day.isoformat(),
            changes=diff(before, {}),
        )
        recompute_open_deadlines(session, actor)
