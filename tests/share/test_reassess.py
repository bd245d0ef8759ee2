"""Reassessment of conditional entries: dates, reminders, keep, and conversion through the
catalog's change-request path."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from gongshu.catalog import changes
from gongshu.catalog.models import ChangeStatus, Dataset, ShareType
from gongshu.catalog.workflow_schemas import ChangeReview
from gongshu.errors import Conflict, PermissionDenied, ValidationFailed
from gongshu.share import reassess
from gongshu.share.models import AssessmentOutcome, AssessmentPlan
from gongshu.share.schemas import AssessmentCreate
from tests.factories import Person
from tests.share.conftest import BASIS, actions, notices_of


def test_add_months() -> None:
    assert reassess.add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert reassess.add_months(dt.date(2026, 9, 1), 12) == dt.date(2027, 9, 1)
    assert reassess.add_months(dt.date(2026, 11, 15), 3) == dt.date(2027, 2, 15)


def test_plans_reminders_and_keep(
    db: Session,
    conditional: Dataset,
    unconditional: Dataset,
    officer: Person,
    other_officer: Person,
    bureau_admin: Person,
) -> None:
    assert reassess.sync_plans(db) == 1  # the conditional entry only
    plan = db.get(AssessmentPlan, conditional.id)
    assert plan is not None and conditional.published_on is not None
    assert plan.next_due_on == reassess.add_months(conditional.published_on, 12)
    assert db.get(AssessmentPlan, unconditional.id) is None
    assert reassess.sync_plans(db) == 0

    due = plan.next_due_on
    assert reassess.send_reminders(db, today=due - dt.timedelta(days=31)) == {
        "due_soon": 0,
        "overdue": 0,
    }
    assert reassess.send_reminders(db, today=due - dt.timedelta(days=30))["due_soon"] == 1
    assert reassess.send_reminders(db, today=due - dt.timedelta(days=29))["due_soon"] == 0
    assert [n.kind for n in notices_of(db, officer)].count("share.reassess_due") == 1
    assert reassess.send_reminders(db, today=due + dt.timedelta(days=1))["overdue"] == 1
    assert any(n.kind == "share.reassess_overdue" for n in notices_of(db, bureau_admin))
    rows = reassess.list_plans(db, officer.actor, today=due + dt.timedelta(days=1), due_only=True)
    assert [(r.dataset.id, r.state) for r in rows] == [(conditional.id, "overdue")]

    with pytest.raises(PermissionDenied):
        reassess.record_assessment(
            db, other_officer.actor, conditional.id, AssessmentCreate(outcome="keep", reason="x")
        )
    with pytest.raises(ValidationFailed):
        reassess.record_assessment(
            db, officer.actor, conditional.id, AssessmentCreate(outcome="keep", reason=" ")
        )
    today = due + dt.timedelta(days=1)
    kept = reassess.record_assessment(
        db,
        officer.actor,
        conditional.id,
        AssessmentCreate(
            outcome=AssessmentOutcome.KEEP, reason="仍涉及企业经营信息，维持有条件共享"
        ),
        today=today,
    )
    assert kept.due_on == due and kept.next_due_on == reassess.add_months(today, 12)
    db.refresh(plan)
    assert plan.next_due_on == kept.next_due_on and plan.last_assessed_on == today
    assert actions(db, "dataset", conditional.id)[-1] == "share.reassess"
    with pytest.raises(Conflict):
        reassess.record_assessment(
            db, officer.actor, unconditional.id, AssessmentCreate(outcome="keep", reason="x")
        )


def test_convert_goes_through_a_change_request(
    db: Session,
    make_dataset: Callable[..., Dataset],
    publish: Callable[[Dataset], Dataset],
    conditional: Dataset,
    officer: Person,
    bureau_admin: Person,
) -> None:
    # Level 2 data may not be unconditional (the grading table): the catalog rule says so.
    with pytest.raises(ValidationFailed) as refused:
        reassess.record_assessment(
            db, officer.actor, conditional.id, AssessmentCreate(outcome="convert", reason="已公开")
        )
    assert "share_type" in refused.value.errors

    public = publish(
        make_dataset(
            title="食品经营许可证信息",
            item_code="06",
            share_type="conditional",
            legal_basis=BASIS,
            level="general_1",
        )
    )
    convert = AssessmentCreate(outcome=AssessmentOutcome.CONVERT, reason="许可信息已依法公示")
    done = reassess.record_assessment(db, officer.actor, public.id, convert)
    assert done.change_request_id is not None
    change = changes.get_change(db, bureau_admin.actor, done.change_request_id)
    assert change.changes == {"share_type": "unconditional"}
    assert public.share_type is ShareType.CONDITIONAL  # until the city bureau consents
    # Recording again (say after a failure) reuses the open proposal.
    again = reassess.record_assessment(db, officer.actor, public.id, convert)
    assert again.change_request_id == done.change_request_id
    changes.review_change(db, bureau_admin.actor, change.id, ChangeReview(approve=True))
    db.refresh(public)
    assert change.status is ChangeStatus.APPROVED
    assert public.share_type is ShareType.UNCONDITIONAL
    assert [r.dataset.id for r in reassess.list_plans(db, bureau_admin.actor)] == [conditional.id]
