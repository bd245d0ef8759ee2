"""Deadlines in the caller's transaction; overrides audited and recomputing open deadlines."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.audit.service import history
from gongshu.errors import NotAuthenticated, NotFound, PermissionDenied
from gongshu.jobs.models import Job, JobStatus
from gongshu.workdays.models import Deadline
from gongshu.workdays.schemas import OverrideSet
from gongshu.workdays.service import (
    close_deadline,
    delete_override,
    due_at,
    is_overdue,
    open_deadline,
    open_deadline_for,
    remaining_for,
    remaining_working_days,
    set_override,
)
from tests.factories import Person

D = dt.date


def open_review(db: Session, object_id: int = 1, start: dt.date = D(2026, 12, 20), n: int = 15):
    return open_deadline(
        db,
        object_type="dataset",
        object_id=object_id,
        kind="catalog.review",
        start=start,
        working_days=n,
    )


def test_open_deadline_stores_the_rule(db: Session) -> None:
    deadline = open_review(db)
    assert deadline.id is not None
    assert deadline.started_on == D(2026, 12, 20)
    assert deadline.working_days == 15
    assert deadline.due_on == D(2027, 1, 8)
    assert deadline.rule == "15 个工作日"
    assert deadline.provisional is True
    assert deadline.closed_at is None
    assert open_deadline_for(db, "dataset", 1, "catalog.review") is deadline


def test_opening_again_closes_the_open_one(db: Session) -> None:
    first = open_review(db, start=D(2026, 11, 2), n=5)
    second = open_review(db, start=D(2026, 11, 9), n=5)
    assert first.closed_at is not None
    assert second.closed_at is None
    assert open_deadline_for(db, "dataset", 1, "catalog.review") is second
    assert open_deadline_for(db, "dataset", 2, "catalog.review") is None
    assert open_deadline_for(db, "dataset", 1, "other.kind") is None


def test_close_deadline(db: Session) -> None:
    deadline = open_review(db)
    close_deadline(db, object_type="dataset", object_id=1, kind="catalog.review")
    assert deadline.closed_at is not None
    assert open_deadline_for(db, "dataset", 1, "catalog.review") is None
    close_deadline(db, object_type="dataset", object_id=1, kind="catalog.review")  # no-op


def test_deadlines_run_in_the_callers_transaction(db: Session) -> None:
    open_review(db, object_id=77)
    db.rollback()
    assert open_deadline_for(db, "dataset", 77, "catalog.review") is None
    count = db.scalar(select(func.count()).select_from(Deadline).where(Deadline.object_id == 77))
    assert count == 0


def test_due_at_is_the_end_of_the_day_and_overdue_after_it(db: Session) -> None:
    deadline = open_review(db, start=D(2026, 9, 30), n=1)
    assert deadline.due_on == D(2026, 10, 8)
    end = dt.datetime(2026, 10, 8, 16, 0, tzinfo=dt.UTC)  # midnight in Shanghai
    assert due_at(deadline) == end
    assert not is_overdue(deadline, end - dt.timedelta(seconds=1))
    assert is_overdue(deadline, end)
    close_deadline(db, object_type="dataset", object_id=1, kind="catalog.review")
    assert not is_overdue(deadline, end + dt.timedelta(days=30))


def test_remaining(db: Session) -> None:
    deadline = open_review(db, start=D(2026, 9, 30), n=2)  # due Friday 2026-10-09
    assert remaining_working_days(db, deadline, D(2026, 9, 30)) == 2
    assert remaining_working_days(db, deadline, D(2026, 10, 9)) == 0
    assert remaining_working_days(db, deadline, D(2026, 10, 12)) == -2
    other = open_review(db, object_id=2, start=D(2026, 9, 30), n=4)
    assert remaining_for(db, [deadline, other], D(2026, 9, 30)) == {deadline.id: 2, other.id: 4}


def test_opening_a_deadline_queues_one_reminder_job(db: Session) -> None:
    open_review(db, object_id=1)
    open_review(db, object_id=2)
    queued = db.scalars(
        select(Job).where(Job.kind == "notices.deadline_reminders", Job.status == JobStatus.QUEUED)
    ).all()
    assert len(queued) == 1


# --- overrides ----------------------------------------------------------------------------


def test_override_permissions(
    db: Session,
    officer: Person,
    district_admin: Person,
    security_admin: Person,
    audit_admin: Person,
    bureau_admin: Person,
    system_admin: Person,
) -> None:
    data = OverrideSet(day=D(2027, 1, 1), is_workday=False, note="元旦")
    with pytest.raises(NotAuthenticated):
        set_override(db, None, data)  # type: ignore[arg-type]
    for person in (officer, district_admin, security_admin, audit_admin):
        with pytest.raises(PermissionDenied):
            set_override(db, person.actor, data)
    assert set_override(db, bureau_admin.actor, data).is_workday is False
    assert set_override(db, system_admin.actor, data.model_copy(update={"note": "x"})).note == "x"
    with pytest.raises(PermissionDenied):
        delete_override(db, district_admin.actor, D(2027, 1, 1))


def test_override_set_change_delete_are_audited(db: Session, bureau_admin: Person) -> None:
    row = set_override(
        db, bureau_admin.actor, OverrideSet(day=D(2027, 2, 20), is_workday=True, note="调休")
    )
    assert row.created_by_id == bureau_admin.user.id
    set_override(
        db, bureau_admin.actor, OverrideSet(day=D(2027, 2, 20), is_workday=True, note="调休")
    )  # unchanged: no entry
    set_override(db, bureau_admin.actor, OverrideSet(day=D(2027, 2, 20), is_workday=False))
    delete_override(db, bureau_admin.actor, D(2027, 2, 20))
    entries = history(db, "calendar_override", "2027-02-20")
    assert [e.action for e in entries] == [
        "calendar.override_set",
        "calendar.override_set",
        "calendar.override_delete",
    ]
    assert entries[0].changes["is_workday"] == [None, True]
    assert entries[1].changes == {"is_workday": [True, False], "note": ["调休", ""]}
    assert entries[0].actor_id == bureau_admin.user.id
    with pytest.raises(NotFound):
        delete_override(db, bureau_admin.actor, D(2027, 2, 20))


def test_2027_overrides_recompute_open_provisional_deadlines(
    db: Session, bureau_admin: Person
) -> None:
    open_one = open_review(db, object_id=1)  # 2026-12-20 + 15 → 2027-01-08, provisional
    closed = open_review(db, object_id=2)
    close_deadline(db, object_type="dataset", object_id=2, kind="catalog.review")
    known = open_review(db, object_id=3, start=D(2026, 11, 2), n=5)  # all in 2026
    assert open_one.due_on == D(2027, 1, 8) and open_one.provisional

    # The State Council publishes 2027: New Year's Day is off.
    set_override(db, bureau_admin.actor, OverrideSet(day=D(2027, 1, 1), is_workday=False))
    assert open_one.due_on == D(2027, 1, 11)
    assert open_one.provisional is True  # other 2027 days are still Monday–Friday
    assert closed.due_on == D(2027, 1, 8)  # closed deadlines stay as they were
    assert known.due_on == D(2026, 11, 9)

    (entry,) = history(db, "deadline", open_one.id)
    assert entry.action == "deadline.recompute"
    assert entry.changes == {"due_on": ["2027-01-08", "2027-01-11"]}
    assert entry.actor_id == bureau_admin.user.id
    assert history(db, "deadline", closed.id) == []
    assert history(db, "deadline", known.id) == []

    # Removing the override moves it back, and that is recorded too.
    delete_override(db, bureau_admin.actor, D(2027, 1, 1))
    assert open_one.due_on == D(2027, 1, 8)
    assert [e.action for e in history(db, "deadline", open_one.id)] == [
        "deadline.recompute",
        "deadline.recompute",
    ]


def test_a_recompute_that_moves_nothing_records_nothing(db: Session, bureau_admin: Person) -> None:
    deadline = open_review(db, object_id=5)
    before = db.scalar(select(func.count()).select_from(AuditEntry))
    set_override(db, bureau_admin.actor, OverrideSet(day=D(2027, 6, 1), is_workday=True))
    after = db.scalar(select(func.count()).select_from(AuditEntry))
    assert after == (before or 0) + 1  # only the override itself
    assert deadline.due_on == D(2027, 1, 8)
