"""Share requests through the services: unconditional at once, conditional decided,
refused, objected, arbitrated; deadlines in working days; notices; grants created."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.catalog.models import Dataset
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.share import issuing, requests
from gongshu.share.grants import active_grants
from gongshu.share.models import Grant, GrantKind, GrantStatus, RequestKind, RequestStatus
from gongshu.share.schemas import ArbitrationDecision, GrantDecision, Refusal, ShareRequestCreate
from gongshu.workdays.calendar import WorkdayCalendar, end_of_day, local_today
from gongshu.workdays.models import Deadline
from tests.factories import Person
from tests.share.conftest import actions, ask, grant, notices_of, object_to, refuse

# 10 working days after Monday 28 September 2026 cross the National Day holiday (1–7
# October off, Saturday 10 October a working day): the 16th, not the 12th.
BEFORE_HOLIDAY = dt.date(2026, 9, 28)


def open_deadlines(db: Session, request_id: int) -> list[Deadline]:
    stmt = select(Deadline).where(
        Deadline.object_type == "share_request",
        Deadline.object_id == request_id,
        Deadline.closed_at.is_(None),
    )
    return list(db.scalars(stmt))


def test_unconditional_request_is_granted_at_once(
    db: Session, unconditional: Dataset, officer: Person, other_officer: Person, consumer: Person
) -> None:
    request = requests.create_request(
        db,
        consumer.actor,
        ShareRequestCreate(dataset_id=unconditional.id, purpose="企业开办联合审批"),
    )
    assert request.kind is RequestKind.UNCONDITIONAL
    assert request.status is RequestStatus.ACTIVE
    grant_row = db.get(Grant, request.grant_id)
    assert grant_row is not None
    assert grant_row.kind is GrantKind.UNCONDITIONAL
    assert grant_row.agency_id == consumer.actor.agency_id
    assert grant_row.fields is None and grant_row.clear_fields == [] and grant_row.row_filter == []
    assert grant_row.expires_at is None
    assert len(grant_row.fingerprint) == 32
    assert [g.id for g in active_grants(db, grant_row.agency_id, unconditional.id)] == [
        grant_row.id
    ]
    assert actions(db, "share_request", request.id) == ["share.request"]
    # Recorded and told: the provider's officer and the requesting body.
    assert any(n.kind == "share.unconditional" for n in notices_of(db, officer))
    assert any(n.kind == "share.unconditional" for n in notices_of(db, other_officer))
    # Once is enough.
    with pytest.raises(Conflict):
        requests.create_request(
            db,
            other_officer.actor,
            ShareRequestCreate(dataset_id=unconditional.id, purpose="再次申请"),
        )


def test_conditional_request_waits_with_a_deadline_in_working_days(
    db: Session, conditional: Dataset, officer: Person, other_officer: Person
) -> None:
    request = ask(db, other_officer, conditional, today=BEFORE_HOLIDAY)
    assert request.status is RequestStatus.REQUESTED and request.grant_id is None
    [deadline] = open_deadlines(db, request.id)
    assert deadline.kind == "share.decision"
    assert deadline.due_on == dt.date(2026, 10, 16)
    assert deadline.rule == "10 个工作日"
    notice = next(n for n in notices_of(db, officer) if n.kind == "share.requested")
    assert notice.params["due"] == "2026-10-16"
    assert notice.link == f"/share/requests/{request.id}"


def test_grant_narrows_fields_and_chooses_clear_ones(
    db: Session, conditional: Dataset, officer: Person, other_officer: Person
) -> None:
    today = local_today()
    request = ask(db, other_officer, conditional)
    with pytest.raises(ValidationFailed) as not_requested:
        grant(db, officer, request, fields=["credit_code", "district_code"])
    assert "district_code" in str(not_requested.value.errors["fields"])
    with pytest.raises(ValidationFailed):
        grant(db, officer, request, fields=["credit_code"], clear_fields=["name"])
    with pytest.raises(ValidationFailed):
        grant(db, officer, request, ends_on=today + dt.timedelta(days=365))
    granted = grant(
        db,
        officer,
        request,
        fields=["credit_code", "name"],
        clear_fields=["credit_code"],
        ends_on=today + dt.timedelta(days=30),
    )
    assert granted.status is RequestStatus.ACTIVE
    row = db.get(Grant, granted.grant_id)
    assert row is not None
    assert row.kind is GrantKind.REQUEST and row.request_id == request.id
    assert row.fields == ["credit_code", "name"]
    assert row.clear_fields == ["credit_code"]
    assert row.expires_at == end_of_day(today + dt.timedelta(days=30))
    assert row.purpose == "特种设备安全隐患排查"
    assert open_deadlines(db, request.id) == []
    assert actions(db, "share_request", request.id) == ["share.request", "share.grant"]
    assert any(n.kind == "share.granted" for n in notices_of(db, other_officer))


def test_default_grant_masks_everything(
    db: Session, conditional: Dataset, officer: Person, other_officer: Person
) -> None:
    request = grant(db, officer, ask(db, other_officer, conditional))
    row = db.get(Grant, request.grant_id)
    assert row is not None
    assert row.fields == ["credit_code", "name", "legal_person"] and row.clear_fields == []


def test_later_start_waits_as_granted_then_activates(
    db: Session, conditional: Dataset, officer: Person, other_officer: Person
) -> None:
    today = local_today()
    request = ask(db, other_officer, conditional, starts_on=today + dt.timedelta(days=3))
    granted = grant(db, officer, request)
    assert granted.status is RequestStatus.GRANTED
    row = db.get(Grant, granted.grant_id)
    assert row is not None
    assert active_grants(db, row.agency_id, conditional.id) == []
    later = row.starts_at + dt.timedelta(minutes=1)
    assert issuing.activate_due(db, issuing_actor(), later) == 1
    db.refresh(granted)
    assert granted.status is RequestStatus.ACTIVE
    assert "share.activate" in actions(db, "share_request", request.id)


def issuing_actor():  # type: ignore[no-untyped-def]
    from gongshu.share.jobs import SWEEP_ACTOR

    return SWEEP_ACTOR


def test_refuse_object_arbitrate(
    db: Session,
    conditional: Dataset,
    officer: Person,
    other_officer: Person,
    consumer: Person,
    bureau_admin: Person,
) -> None:
    request = ask(db, consumer, conditional, today=BEFORE_HOLIDAY)
    with pytest.raises(ValidationFailed):
        requests.deny_request(db, officer.actor, request.id, Refusal(reason="  "))
    refused = refuse(db, officer, request, today=BEFORE_HOLIDAY)
    assert refused.status is RequestStatus.DENIED
    [window] = open_deadlines(db, request.id)
    assert window.kind == "share.objection"
    # 5 working days after 28 September: 29, 30 September, 8, 9, 10 October.
    assert window.due_on == dt.date(2026, 10, 10)
    denied = next(n for n in notices_of(db, consumer) if n.kind == "share.denied")
    assert denied.params["reason"] == "不符合共享条件：用途超出法定职责"
    # The window is closed after its last day.
    with pytest.raises(Conflict):
        object_to(db, consumer, request, today=dt.date(2026, 10, 11))
    objected = object_to(db, consumer, request, today=dt.date(2026, 10, 9))
    assert objected.status is RequestStatus.OBJECTED
    [arbitration] = open_deadlines(db, request.id)
    assert arbitration.kind == "share.arbitration"
    assert arbitration.due_on == WorkdayCalendar(db).add(dt.date(2026, 10, 9), 10).due_on
    assert any(n.kind == "share.objected" for n in notices_of(db, bureau_admin))
    assert any(n.kind == "share.objected" for n in notices_of(db, officer))
    with pytest.raises(ValidationFailed):
        requests.arbitrate_request(
            db, bureau_admin.actor, request.id, ArbitrationDecision(grant=True, reason="")
        )
    done = requests.arbitrate_request(
        db,
        bureau_admin.actor,
        request.id,
        ArbitrationDecision(grant=True, reason="申请单位具有法定职责", clear_fields=["name"]),
    )
    assert done.status is RequestStatus.ACTIVE and done.arbitration_outcome == "granted"
    row = db.get(Grant, done.grant_id)
    assert row is not None and row.clear_fields == ["name"]
    assert actions(db, "share_request", request.id) == [
        "share.request",
        "share.deny",
        "share.object",
        "share.arbitrate",
    ]
    assert open_deadlines(db, request.id) == []
    assert any(n.kind == "share.arbitrated" for n in notices_of(db, consumer))


def test_arbitration_upholding_is_final(
    db: Session, conditional: Dataset, officer: Person, other_officer: Person, bureau_admin: Person
) -> None:
    request = ask(db, other_officer, conditional)
    refuse(db, officer, request)
    object_to(db, other_officer, request)
    upheld = requests.arbitrate_request(
        db, bureau_admin.actor, request.id, ArbitrationDecision(grant=False, reason="理由成立")
    )
    assert upheld.status is RequestStatus.DENIED and upheld.arbitration_outcome == "upheld"
    assert upheld.grant_id is None
    with pytest.raises(Conflict):
        object_to(db, other_officer, request)


def test_not_shared_entry_cannot_be_requested(
    db: Session, not_shared: Dataset, other_officer: Person
) -> None:
    with pytest.raises(PermissionDenied) as refused:
        requests.create_request(
            db, other_officer.actor, ShareRequestCreate(dataset_id=not_shared.id, purpose="查询")
        )
    assert "不予共享" in str(refused.value) and "个人信息保护法" in str(refused.value)
    assert db.scalars(select(Grant).where(Grant.dataset_id == not_shared.id)).all() == []


def test_request_input_is_checked(
    db: Session, conditional: Dataset, other_officer: Person, officer: Person
) -> None:
    with pytest.raises(ValidationFailed) as failure:
        requests.create_request(
            db, other_officer.actor, ShareRequestCreate(dataset_id=conditional.id)
        )
    assert set(failure.value.errors) >= {"purpose", "scenario", "legal_basis", "fields", "ends_on"}
    with pytest.raises(ValidationFailed) as unknown:
        ask(db, other_officer, conditional, fields=["nope"])
    assert "nope" in str(unknown.value.errors["fields"])
    with pytest.raises(PermissionDenied):
        ask(db, officer, conditional)  # its own entry
    ask(db, other_officer, conditional)
    with pytest.raises(Conflict):
        ask(db, other_officer, conditional)  # one pending at a time


def test_revoke_and_expire(
    db: Session,
    conditional: Dataset,
    officer: Person,
    other_officer: Person,
    bureau_admin: Person,
) -> None:
    first = grant(db, officer, ask(db, other_officer, conditional))
    assert first.grant_id is not None
    with pytest.raises(ValidationFailed):
        issuing.revoke_grant(db, officer.actor, first.grant_id, "")
    with pytest.raises(PermissionDenied):
        issuing.revoke_grant(db, other_officer.actor, first.grant_id, "不用了")
    revoked = issuing.revoke_grant(db, bureau_admin.actor, first.grant_id, "超范围使用")
    assert revoked.status is GrantStatus.REVOKED and revoked.end_reason == "超范围使用"
    db.refresh(first)
    assert first.status is RequestStatus.REVOKED
    assert actions(db, "share_grant", revoked.id) == ["share.revoke"]
    assert any(n.kind == "share.revoked" for n in notices_of(db, officer))  # bureau revoked
    with pytest.raises(Conflict):
        issuing.revoke_grant(db, officer.actor, first.grant_id, "再撤一次")

    second = grant(db, officer, ask(db, other_officer, conditional))
    row = db.get(Grant, second.grant_id)
    assert row is not None and row.expires_at is not None
    assert issuing.expire_due(db, issuing_actor(), row.expires_at - dt.timedelta(seconds=1)) == 0
    assert issuing.expire_due(db, issuing_actor(), row.expires_at) == 1
    db.refresh(row)
    db.refresh(second)
    assert row.status is GrantStatus.EXPIRED and second.status is RequestStatus.EXPIRED
    assert actions(db, "share_grant", row.id) == ["share.expire"]
    assert any(n.kind == "share.expired" for n in notices_of(db, other_officer))


def test_strangers_see_nothing(
    db: Session, conditional: Dataset, other_officer: Person, make_person, make_agency
) -> None:  # type: ignore[no-untyped-def]
    from gongshu.auth.models import Role

    request = ask(db, other_officer, conditional)
    stranger = make_person(Role.AGENCY_OFFICER, agency=make_agency("临沂市教育局"))
    with pytest.raises(NotFound):
        requests.get_request(db, stranger.actor, request.id)
    with pytest.raises(NotFound):
        requests.get_request(db, other_officer.actor, 10**6)
    assert requests.list_requests(db, stranger.actor, box="all").total == 0
    assert requests.list_requests(db, other_officer.actor, box="mine").total == 1


def test_decision_reminders_and_overdue_flag(
    db: Session, conditional: Dataset, officer: Person, other_officer: Person
) -> None:
    from gongshu.notices.reminders import send_deadline_reminders

    request = ask(db, other_officer, conditional, today=BEFORE_HOLIDAY)
    send_deadline_reminders(db, today=dt.date(2026, 10, 16))
    assert any(n.kind == "deadline.due_today" for n in notices_of(db, officer))
    send_deadline_reminders(db, today=dt.date(2026, 10, 19))
    assert any(n.kind == "deadline.overdue" for n in notices_of(db, officer))
    views = requests.open_deadline_views(db, [request], today=dt.date(2026, 10, 19))
    assert views[request.id].overdue and views[request.id].remaining == -1
    assert views[request.id].step == "decision"
    assert GrantDecision().fields is None
