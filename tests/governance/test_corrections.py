"""Corrections: raise, deadline in working days, accept, fix by upload, reject, permissions."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from gongshu.catalog.models import OpenType
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.governance import corrections
from gongshu.governance.models import ObjectionStatus
from gongshu.governance.schemas import CorrectionAnswer, CorrectionCreate
from gongshu.notices.models import Notice
from gongshu.workdays.calendar import WorkdayCalendar
from gongshu.workdays.models import Deadline
from tests.governance.conftest import NAMES, ingest, registry_csv, run_jobs
from tests.ingest_service.conftest import code

MONDAY = dt.date(2026, 3, 2)


def _raise(db, who, dataset, i=2, **kw):
    data = {
        "dataset_id": dataset.id,
        "key_value": code(i),
        "field_name": "name",
        "proposed_value": "临沂正确企业有限公司",
        "reason": "营业执照上的名称不同",
        **kw,
    }
    return corrections.create_correction(
        db, who.actor, CorrectionCreate.model_validate(data), today=MONDAY
    )


@pytest.fixture
def loaded(db, tmp_path, officer, registry):
    ingest(db, officer, registry, registry_csv(tmp_path, NAMES))
    return registry


def test_raise_opens_a_working_day_deadline(db, officer, consumer, loaded) -> None:
    objection = _raise(db, consumer, loaded, evidence="核查记录 2026-001")
    assert objection.status is ObjectionStatus.OPEN
    assert objection.seen_value == NAMES[2] and objection.key_field == "credit_code"
    deadline = db.scalars(
        select(Deadline).where(
            Deadline.object_type == "objection", Deadline.object_id == objection.id
        )
    ).one()
    assert deadline.kind == "governance.correction" and deadline.working_days == 5
    assert deadline.due_on == WorkdayCalendar(db).add(MONDAY, 5).due_on
    assert deadline.due_on == dt.date(2026, 3, 9)  # Mon + 5 working days, the weekend skipped
    notices = db.scalars(select(Notice).where(Notice.user_id == officer.user.id)).all()
    assert any(
        n.kind == "governance.correction" and n.link.endswith(f"/{objection.id}") for n in notices
    )
    with pytest.raises(ValidationFailed):  # one open ticket per value
        _raise(db, consumer, loaded)


def test_raise_is_checked(db, consumer, other_officer, loaded) -> None:
    with pytest.raises(ValidationFailed) as no_row:
        _raise(db, consumer, loaded, i=99)
    assert "key_value" in no_row.value.errors
    with pytest.raises(ValidationFailed):
        _raise(db, consumer, loaded, field_name="credit_code")
    with pytest.raises(ValidationFailed):
        _raise(db, consumer, loaded, proposed_value=NAMES[2])
    with pytest.raises(ValidationFailed) as stale:
        _raise(db, consumer, loaded, seen_value="别的名称")
    assert "seen_value" in stale.value.errors
    # Another agency's officer reads an open entry's rows (the gate's open rule) and may flag
    # them; once the entry is not opened it may not read the rows, so may not flag them.
    loaded.open_type = OpenType.NONE
    db.commit()
    with pytest.raises((PermissionDenied, NotFound)):
        _raise(db, other_officer, loaded)


def test_accept_then_fix_by_upload(db, tmp_path, officer, consumer, loaded) -> None:
    objection = _raise(db, consumer, loaded)
    with pytest.raises(PermissionDenied):
        corrections.answer_correction(
            db, consumer.actor, objection.id, CorrectionAnswer(decision="accept")
        )
    corrections.answer_correction(
        db, officer.actor, objection.id, CorrectionAnswer(decision="accept")
    )
    assert objection.status is ObjectionStatus.ACCEPTED
    with pytest.raises(Conflict):
        corrections.answer_correction(
            db, officer.actor, objection.id, CorrectionAnswer(decision="accept")
        )
    # A new upload that leaves the value as it was fixes nothing.
    ingest(db, officer, loaded, registry_csv(tmp_path, NAMES, name="same.csv"))
    run_jobs(db)
    db.refresh(objection)
    assert objection.status is ObjectionStatus.ACCEPTED
    fixed = dict(NAMES)
    fixed[2] = "临沂正确企业有限公司"
    result = ingest(db, officer, loaded, registry_csv(tmp_path, fixed, name="fixed.csv"))
    assert "governance.check" in run_jobs(db)
    objection = corrections.get_correction(db, consumer.actor, objection.id)
    assert objection.status is ObjectionStatus.FIXED
    assert objection.fixed_version_id == result.version.id
    assert corrections.version_url(objection) == f"/catalog/{loaded.id}/versions/3"
    deadline = corrections.open_deadline_of(db, objection)
    assert deadline is not None and deadline.closed_at is not None
    told = db.scalars(
        select(Notice).where(
            Notice.user_id == consumer.user.id, Notice.kind == "governance.correction"
        )
    ).all()
    assert {n.title for n in told} >= {corrections.NOTICE_ACCEPTED, corrections.NOTICE_FIXED}


def test_reject_needs_a_reason(db, officer, consumer, loaded) -> None:
    objection = _raise(db, consumer, loaded)
    with pytest.raises(ValidationFailed):
        corrections.answer_correction(
            db, officer.actor, objection.id, CorrectionAnswer(decision="reject")
        )
    corrections.answer_correction(
        db, officer.actor, objection.id, CorrectionAnswer(decision="reject", reason="登记信息无误")
    )
    assert objection.status is ObjectionStatus.REJECTED and objection.answer == "登记信息无误"
    assert objection.closed_at is not None
    assert corrections.open_deadline_of(db, objection).closed_at is not None
    with pytest.raises(Conflict):
        corrections.close_with_version(db, officer.actor, objection.id, 1)


def test_close_naming_the_version(db, tmp_path, officer, consumer, loaded) -> None:
    objection = _raise(db, consumer, loaded)
    with pytest.raises(ValidationFailed):  # the version the reporter saw fixed nothing
        corrections.close_with_version(db, officer.actor, objection.id, 1)
    ingest(db, officer, loaded, registry_csv(tmp_path, NAMES, name="v2.csv"))
    corrections.close_with_version(db, officer.actor, objection.id, 2)
    assert objection.status is ObjectionStatus.FIXED
    assert objection.fixed_version.number == 2


def test_queue_sorted_and_scoped(
    db, officer, other_officer, consumer, bureau_admin, loaded
) -> None:
    first = _raise(db, consumer, loaded, i=1)
    later = corrections.create_correction(
        db,
        consumer.actor,
        CorrectionCreate(
            dataset_id=loaded.id, key_value=code(3), field_name="name", reason="名称有误"
        ),
        today=MONDAY - dt.timedelta(days=7),
    )
    queue = corrections.list_corrections(db, officer.actor, today=MONDAY)
    assert [q.objection.id for q in queue] == [later.id, first.id]  # soonest due first
    assert queue[0].remaining is not None and queue[0].remaining < queue[1].remaining
    assert [q.objection.id for q in corrections.list_corrections(db, bureau_admin.actor)]
    assert corrections.list_corrections(db, other_officer.actor) == []
    with pytest.raises(NotFound):
        corrections.get_correction(db, other_officer.actor, first.id)
