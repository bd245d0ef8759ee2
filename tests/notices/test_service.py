"""notify in the caller's transaction, audiences by role, the reader's inbox."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.auth.models import Role
from gongshu.errors import NotAuthenticated, NotFound
from gongshu.i18n import N_
from gongshu.jobs.models import Job, JobStatus
from gongshu.notices import queries
from gongshu.notices.models import Notice, OutboxMessage, OutboxStatus
from gongshu.notices.service import (
    mark_all_read,
    mark_read,
    notify,
    render_text,
    users_with_role,
)
from gongshu.orgs.models import Agency, Region
from tests.factories import Person

TITLE = N_("已逾期：{what}")
BODY = N_("{what}（{ref}）已于 {due} 到期（{days} 个工作日），已逾期 {n} 个工作日。")


def send_jobs(db: Session) -> list[Job]:
    stmt = select(Job).where(Job.kind == "notices.send_outbox", Job.status == JobStatus.QUEUED)
    return list(db.scalars(stmt))


def params() -> dict[str, object]:
    return {"what": "待办事项", "ref": "dataset #1", "due": "2026-10-09", "days": 2, "n": 1}


def test_notify_creates_notices_mail_and_one_job(
    db: Session, make_person: Callable[..., Person]
) -> None:
    with_mail = make_person(Role.BUREAU_ADMIN, email="a@gov.test")
    without = make_person(Role.BUREAU_ADMIN)
    notices = notify(
        db,
        user_ids=[with_mail.user.id, without.user.id, with_mail.user.id],
        kind="deadline.overdue",
        title=TITLE,
        body=BODY,
        link="/catalog/1",
        **params(),
    )
    assert sorted(n.user_id for n in notices) == sorted([with_mail.user.id, without.user.id])
    (mail,) = db.scalars(select(OutboxMessage)).all()
    assert mail.to_address == "a@gov.test"
    assert mail.status is OutboxStatus.QUEUED
    assert mail.subject == "已逾期：待办事项"
    assert "已逾期 1 个工作日" in mail.body
    assert "http://127.0.0.1:8000/catalog/1" in mail.body
    assert len(send_jobs(db)) == 1
    notify(db, user_ids=[with_mail.user.id], kind="x", title=TITLE, **params())
    assert len(send_jobs(db)) == 1  # still one queued delivery job


def test_notify_is_rolled_back_with_the_caller(db: Session, bureau_admin: Person) -> None:
    bureau_admin.user.email = "b@gov.test"
    db.commit()
    notify(db, user_ids=[bureau_admin.user.id], kind="k", title=TITLE, **params())
    assert db.scalar(select(func.count()).select_from(Notice)) == 1
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Notice)) == 0
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert send_jobs(db) == []


def test_notify_skips_unknown_and_inactive_users(
    db: Session, make_person: Callable[..., Person]
) -> None:
    gone = make_person(Role.PUBLIC)
    gone.user.is_active = False
    db.flush()
    assert notify(db, user_ids=[gone.user.id, 999999], kind="k", title=TITLE, **params()) == []
    assert notify(db, user_ids=[], kind="k", title=TITLE) == []
    assert send_jobs(db) == []


def test_a_missing_placeholder_fails_the_caller(db: Session, bureau_admin: Person) -> None:
    with pytest.raises(KeyError):
        notify(db, user_ids=[bureau_admin.user.id], kind="k", title=TITLE)


def test_notices_render_in_the_readers_language(db: Session, bureau_admin: Person) -> None:
    (notice,) = notify(
        db, user_ids=[bureau_admin.user.id], kind="k", title=TITLE, body=BODY, **params()
    )
    assert render_text(notice.title, "zh", notice.params) == "已逾期：待办事项"
    assert render_text(notice.title, "en", notice.params) == "Overdue: A task"
    assert "1 working days overdue" in render_text(notice.body, "en", notice.params)


def test_users_with_role(
    db: Session,
    make_person: Callable[..., Person],
    district: Region,
    city: Region,
    agency: Agency,
    other_agency: Agency,
) -> None:
    city_admin = make_person(Role.BUREAU_ADMIN)
    district_admin = make_person(Role.BUREAU_ADMIN, region=district)
    officer = make_person(Role.AGENCY_OFFICER, agency=agency)
    other = make_person(Role.AGENCY_OFFICER, agency=other_agency)
    retired = make_person(Role.AGENCY_OFFICER, agency=agency)
    retired.user.is_active = False
    db.flush()
    assert users_with_role(db, Role.BUREAU_ADMIN, region_id=district.id) == [district_admin.user.id]
    assert users_with_role(db, Role.BUREAU_ADMIN, region_id=city.id) == [city_admin.user.id]
    assert users_with_role(db, Role.AGENCY_OFFICER, agency_id=agency.id) == [officer.user.id]
    assert set(users_with_role(db, Role.AGENCY_OFFICER)) == {officer.user.id, other.user.id}


def test_mark_read_and_mark_all_read(db: Session, officer: Person, other_officer: Person) -> None:
    mine = [
        notify(db, user_ids=[officer.user.id], kind="k", title=TITLE, **params())[0]
        for _ in range(3)
    ]
    (theirs,) = notify(db, user_ids=[other_officer.user.id], kind="k", title=TITLE, **params())
    assert queries.unread_count(db, officer.user.id) == 3
    assert mark_read(db, officer.actor, mine[0].id).read_at is not None
    assert queries.unread_count(db, officer.user.id) == 2
    with pytest.raises(NotFound):
        mark_read(db, officer.actor, theirs.id)
    with pytest.raises(NotAuthenticated):
        mark_read(db, None, mine[1].id)
    assert mark_all_read(db, officer.actor) == 2
    assert queries.unread_count(db, officer.user.id) == 0
    assert queries.unread_count(db, other_officer.user.id) == 1


def test_list_puts_unread_first(db: Session, officer: Person) -> None:
    first = notify(db, user_ids=[officer.user.id], kind="a", title=TITLE, **params())[0]
    second = notify(db, user_ids=[officer.user.id], kind="b", title=TITLE, **params())[0]
    mark_read(db, officer.actor, second.id)
    page = queries.list_notices(db, officer.user.id)
    assert [n.id for n in page.items] == [first.id, second.id]
    assert page.total == 2
    unread = queries.list_notices(db, officer.user.id, unread_only=True)
    assert [n.id for n in unread.items] == [first.id]
