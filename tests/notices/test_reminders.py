"""Deadline reminders: due today / next working day, overdue once, the daily job chain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.auth.models import Role
from gongshu.i18n import N_
from gongshu.jobs.models import Job, JobStatus
from gongshu.jobs.service import run_one
from gongshu.notices import jobs as _jobs  # noqa: F401 — registers the handlers
from gongshu.notices import reminders
from gongshu.notices.models import Notice
from gongshu.notices.reminders import (
    REMINDER_JOB,
    ensure_reminder_job,
    next_reminder_run,
    register_deadline_audience,
    send_deadline_reminders,
)
from gongshu.notices.service import render_text, users_with_role
from gongshu.orgs.models import Region
from gongshu.workdays.models import Deadline
from gongshu.workdays.schemas import OverrideSet
from gongshu.workdays.service import close_deadline, open_deadline, set_override
from tests.factories import Person

D = dt.date


@pytest.fixture(autouse=True)
def audiences() -> Iterator[None]:
    saved = dict(reminders._AUDIENCES)
    reminders._AUDIENCES.clear()
    yield
    reminders._AUDIENCES.clear()
    reminders._AUDIENCES.update(saved)


@pytest.fixture
def reviewers(bureau_admin: Person, city: Region) -> Person:
    register_deadline_audience(
        "test.review",
        lambda session, d: users_with_role(session, Role.BUREAU_ADMIN, region_id=city.id),
        label=N_("目录审核"),
        link=lambda d: f"/catalog/{d.object_id}",
    )
    return bureau_admin


def deadline(
    db: Session, object_id: int, start: dt.date, n: int, kind: str = "test.review"
) -> Deadline:
    return open_deadline(
        db, object_type="dataset", object_id=object_id, kind=kind, start=start, working_days=n
    )


def notices(db: Session, user_id: int) -> list[Notice]:
    return list(db.scalars(select(Notice).where(Notice.user_id == user_id).order_by(Notice.id)))


def test_due_today_tomorrow_and_overdue(db: Session, reviewers: Person) -> None:
    today = D(2026, 10, 9)  # a Friday; the next working day is the 调休 Saturday 10th
    due_today = deadline(db, 1, D(2026, 9, 30), 2)  # → 10-09
    due_next = deadline(db, 2, D(2026, 9, 30), 3)  # → 10-10
    later = deadline(db, 3, D(2026, 9, 30), 4)  # → 10-12: not yet
    overdue = deadline(db, 4, D(2026, 9, 30), 1)  # → 10-08
    unregistered = deadline(db, 5, D(2026, 9, 30), 2, kind="nobody.cares")
    assert (due_today.due_on, due_next.due_on, later.due_on, overdue.due_on) == (
        D(2026, 10, 9),
        D(2026, 10, 10),
        D(2026, 10, 12),
        D(2026, 10, 8),
    )

    counts = send_deadline_reminders(db, today)
    assert counts == {"due_soon": 2, "overdue": 1, "users": 3}
    got = notices(db, reviewers.user.id)
    assert sorted(n.kind for n in got) == [
        "deadline.due_soon",
        "deadline.due_today",
        "deadline.overdue",
    ]
    by_kind = {n.kind: n for n in got}
    overdue_notice = by_kind["deadline.overdue"]
    assert overdue_notice.link == "/catalog/4"
    assert render_text(overdue_notice.title, "zh", overdue_notice.params) == "已逾期：目录审核"
    body = render_text(overdue_notice.body, "zh", overdue_notice.params)
    assert "2026-10-08" in body and "已逾期 1 个工作日" in body
    assert render_text(overdue_notice.title, "en", overdue_notice.params).startswith("Overdue: ")
    soon = by_kind["deadline.due_soon"]
    assert "剩余 1 个工作日" in render_text(soon.body, "zh", soon.params)
    assert later.reminded_due_on is None and unregistered.reminded_due_on is None

    # Run again the same day (or the next): nothing is sent twice.
    assert send_deadline_reminders(db, today) == {"due_soon": 0, "overdue": 0, "users": 0}
    again = send_deadline_reminders(db, D(2026, 10, 10))
    # 10-10: due_today(10-09) is now overdue (once), due_next is due today (already reminded
    # for that due day), later (10-12) is the next working day.
    assert again == {"due_soon": 1, "overdue": 1, "users": 2}


def test_closed_deadlines_are_not_reminded(db: Session, reviewers: Person) -> None:
    deadline(db, 1, D(2026, 9, 30), 2)
    close_deadline(db, object_type="dataset", object_id=1, kind="test.review")
    assert send_deadline_reminders(db, D(2026, 10, 9))["users"] == 0


def test_a_moved_deadline_is_reminded_again(db: Session, reviewers: Person) -> None:
    d = deadline(db, 1, D(2026, 9, 30), 2)  # 10-09
    send_deadline_reminders(db, D(2026, 10, 8))
    assert d.reminded_due_on == D(2026, 10, 9)
    set_override(db, reviewers.actor, OverrideSet(day=D(2026, 10, 9), is_workday=False))
    assert d.due_on == D(2026, 10, 10) and d.reminded_due_on is None
    assert send_deadline_reminders(db, D(2026, 10, 9))["due_soon"] == 1
    assert len(notices(db, reviewers.user.id)) == 2


def test_the_reminder_job_runs_and_queues_the_next_morning(db: Session, reviewers: Person) -> None:
    today = dt.datetime.now(dt.UTC)
    d = deadline(db, 1, today.date() - dt.timedelta(days=10), 1)
    assert d.due_on < today.date()  # overdue: reminded once
    queued = db.scalars(
        select(Job).where(Job.kind == REMINDER_JOB, Job.status == JobStatus.QUEUED)
    ).all()
    assert len(queued) == 1  # opened by open_deadline
    job = run_one(db, "test-worker")
    assert job is not None and job.kind == REMINDER_JOB and job.status is JobStatus.DONE, job.error
    assert job.result["overdue"] == 1
    (following,) = db.scalars(
        select(Job).where(Job.kind == REMINDER_JOB, Job.status == JobStatus.QUEUED)
    ).all()
    assert following.id == job.result["next_job"]
    assert following.run_after > dt.datetime.now(dt.UTC)
    local = following.run_after.astimezone(dt.timezone(dt.timedelta(hours=8)))
    assert (local.hour, local.minute) == (8, 0)
    # Asking again does not queue a second one.
    assert ensure_reminder_job(db).id == following.id


def test_next_reminder_run() -> None:
    before_eight = dt.datetime(2026, 10, 8, 23, 0, tzinfo=dt.UTC)  # 07:00 on the 9th, Shanghai
    assert next_reminder_run(before_eight) == dt.datetime(2026, 10, 9, 0, 0, tzinfo=dt.UTC)
    after_eight = dt.datetime(2026, 10, 9, 1, 0, tzinfo=dt.UTC)  # 09:00 on the 9th
    assert next_reminder_run(after_eight) == dt.datetime(2026, 10, 10, 0, 0, tzinfo=dt.UTC)
