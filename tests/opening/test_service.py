"""The conditional-opening services: registration, applying with an agreement, the
provider's decision within its deadline, reading through the gate (approved fields only,
masked), revocation, expiry, usage reports, and the daily quota of API keys."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.auth import service as auth_service
from gongshu.auth.models import ApiKey, Role
from gongshu.auth.schemas import ApiKeyCreate
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.gate import service as gate
from gongshu.identifiers import make_credit_code
from gongshu.notices.models import Notice
from gongshu.notices.reminders import send_deadline_reminders
from gongshu.opening import agreement, service
from gongshu.opening.jobs import sweep
from gongshu.opening.models import ApplicationStatus, ReportStatus
from gongshu.opening.queries import DECISION_KIND, OBJECT_TYPE, list_applications
from gongshu.opening.quota import DailyQuotaExceeded
from gongshu.opening.schemas import AgreementAccept, DecisionIn, UsageReportIn
from gongshu.portal.openness import public_actor
from gongshu.settings import get_settings
from gongshu.workdays.calendar import add_working_days
from gongshu.workdays.models import Deadline
from tests.opening.conftest import TODAY, Opening, application_input, register, submitted

PURPOSE = "流域污染源排放研究"


def audit(db: Session, action: str) -> list[AuditEntry]:
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_registration_rules(db: Session, opening: Opening) -> None:
    assert opening.applicant.roles == frozenset({Role.PUBLIC})
    assert opening.applicant.agency_id is None and opening.applicant.name == "临沂绿色环境研究所"
    entry = audit(db, "public.register")[-1]
    assert entry.changes["kind"] == [None, "individual"]
    with pytest.raises(ValidationFailed) as bad:
        register(
            db,
            kind="organization",
            username="bad_org",
            org_name="某公司",
            credit_code="91371300MA00000017",  # wrong check character
        )
    assert "credit_code" in bad.value.errors
    with pytest.raises(ValidationFailed) as taken:
        register(
            db,
            kind="organization",
            username="twin_org",
            org_name="同码公司",
            credit_code=make_credit_code("91371300MA0000001"),
        )
    assert "credit_code" in taken.value.errors
    with pytest.raises(ValidationFailed) as weak:
        register(db, username="weakling", password="short")
    assert "password" in weak.value.errors
    with pytest.raises(ValidationFailed) as dup:
        register(db, username="GREEN_LAB")
    assert "username" in dup.value.errors


def test_apply_decide_and_read_only_the_approved_fields_masked(
    db: Session, opening: Opening
) -> None:
    o = opening
    with pytest.raises(ValidationFailed) as missing:
        service.apply(
            db,
            o.applicant,
            application_input(o.contacts, scenario="", fields=[], reporting_committed=False),
            today=TODAY,
        )
    assert {"scenario", "fields", "reporting_committed"} <= set(missing.value.errors)
    with pytest.raises(PermissionDenied):  # agency staff use share requests
        service.apply(db, o.other_officer, application_input(o.contacts), today=TODAY)
    with pytest.raises(Conflict):  # an unconditional entry needs no application
        assert o.city.companies is not None
        service.apply(db, o.applicant, application_input(o.city.companies), today=TODAY)

    draft = service.apply(db, o.applicant, application_input(o.contacts), today=TODAY)
    assert draft.status is ApplicationStatus.DRAFT
    text = service.agreement_text(db, draft)
    for part in (
        "排污单位联系人信息",
        "临沂市生态环境局",
        "临沂绿色环境研究所",
        "联系人（contact_name）",
        "利用情况",
        "违约责任",
        draft.requested_until.isoformat(),
    ):
        assert part in text
    assert "联系电话" not in text  # only the fields asked for
    with pytest.raises(Conflict):
        service.accept_agreement(
            db, o.applicant, draft.id, AgreementAccept(agreement_sha256="0" * 64), today=TODAY
        )
    with pytest.raises(Conflict):  # one open application per entry
        service.apply(db, o.applicant, application_input(o.contacts), today=TODAY)
    accepted = service.accept_agreement(
        db,
        o.applicant,
        draft.id,
        AgreementAccept(agreement_sha256=agreement.digest(text)),
        today=TODAY,
    )
    assert accepted.status is ApplicationStatus.PENDING
    assert accepted.agreement_sha256 == agreement.digest(accepted.agreement_text)
    assert audit(db, "open_application.accept")[-1].changes["agreement_sha256"][1] == (
        accepted.agreement_sha256
    )
    deadline = db.scalars(
        select(Deadline).where(
            Deadline.object_type == OBJECT_TYPE,
            Deadline.object_id == accepted.id,
            Deadline.kind == DECISION_KIND,
        )
    ).one()
    assert deadline.working_days == get_settings().opening_decision_days
    assert deadline.due_on == add_working_days(db, TODAY, deadline.working_days).due_on
    assert deadline.due_on > TODAY + dt.timedelta(days=14)  # the National Day holidays count not
    officer_notices = db.scalars(select(Notice).where(Notice.user_id == o.provider.user_id))
    assert any(n.kind == "opening.submitted" for n in officer_notices)

    # Nothing is readable before the decision.
    with pytest.raises(PermissionDenied):
        gate.read_page(db, o.applicant, o.contacts, purpose=PURPOSE)

    with pytest.raises(ValidationFailed) as no_reason:
        service.decide(db, o.provider, accepted.id, DecisionIn(outcome="refuse"))
    assert "reason" in no_reason.value.errors
    with pytest.raises(NotFound):  # another agency does not even see it
        service.decide(db, o.other_officer, accepted.id, DecisionIn(outcome="approve"))
    with pytest.raises(PermissionDenied):  # the bureau sees, the provider decides
        service.decide(db, o.bureau, accepted.id, DecisionIn(outcome="approve"))
    with pytest.raises(ValidationFailed):  # never more than asked for
        service.decide(
            db, o.provider, accepted.id, DecisionIn(outcome="approve", fields=["entity_name"])
        )
    approved = service.decide(
        db,
        o.provider,
        accepted.id,
        DecisionIn(outcome="approve", fields=["permit_no", "contact_name"], reason="用途正当"),
        today=TODAY,
    )
    assert approved.status is ApplicationStatus.ACTIVE
    assert approved.approved_fields == ["permit_no", "contact_name"]
    assert audit(db, "open_application.approve")[-1].changes["reason"] == "用途正当"
    assert [r.final for r in approved.reports] == [False, True]  # at 6 months and at the end

    page = gate.read_page(db, o.applicant, o.contacts, purpose=PURPOSE, limit=10)
    assert len(page.rows) == len(o.rows)
    assert {k for k in page.rows[0] if not k.startswith("_")} == {"permit_no", "contact_name"}
    clear_names = {r["contact_name"] for r in o.rows}
    for row in page.rows:
        assert "*" in row["contact_name"] and row["contact_name"] not in clear_names
    assert "contact_name" in page.masks and "permit_no" not in page.masks
    read_entry = audit(db, "data.read")[-1]
    assert read_entry.changes["basis"] == "applicant"
    assert read_entry.changes["application"] == approved.id
    with pytest.raises(PermissionDenied):  # a field not approved
        gate.read_page(db, o.applicant, o.contacts, purpose=PURPOSE, columns=["entity_name"])
    # Nobody else gains anything: another citizen, the anonymous reader.
    for other in (o.other_public, public_actor()):
        with pytest.raises(PermissionDenied):
            gate.read_page(db, other, o.contacts, purpose=PURPOSE)
    # Only the applicant's own entry opened.
    assert o.city.permits is not None
    with pytest.raises(PermissionDenied):
        gate.read_page(db, o.applicant, o.city.permits, purpose=PURPOSE)

    mine = list_applications(db, o.applicant, mine=True)
    assert [a.id for a in mine.items] == [approved.id]
    assert list_applications(db, o.other_public).total == 0
    assert list_applications(db, o.bureau).total == 1
    assert list_applications(db, o.other_officer).total == 0


def test_revocation_and_expiry_end_reading(db: Session, opening: Opening) -> None:
    o = opening
    first = submitted(db, o)
    service.decide(db, o.provider, first.id, DecisionIn(outcome="approve"), today=TODAY)
    assert gate.read_page(db, o.applicant, o.contacts, purpose=PURPOSE).rows
    with pytest.raises(ValidationFailed):
        service.revoke(db, o.bureau, first.id, "")
    with pytest.raises(NotFound):
        service.revoke(db, o.other_officer, first.id, "违约")
    revoked = service.revoke(db, o.bureau, first.id, "将数据提供给第三方，违反协议第二条")
    assert revoked.status is ApplicationStatus.REVOKED
    assert audit(db, "open_application.revoke")[-1].changes["reason"].startswith("将数据")
    with pytest.raises(PermissionDenied):
        gate.read_page(db, o.applicant, o.contacts, purpose=PURPOSE)

    second = submitted(db, o)
    active = service.decide(db, o.provider, second.id, DecisionIn(outcome="approve"), today=TODAY)
    assert gate.read_page(db, o.applicant, o.contacts, purpose=PURPOSE).rows
    # Past its end the application stops counting at once, before the sweep marks it.
    active.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db.commit()
    with pytest.raises(PermissionDenied):
        gate.read_page(db, o.applicant, o.contacts, purpose=PURPOSE)
    counts = sweep(db)
    assert counts["expired"] == 1
    db.refresh(active)
    assert active.status is ApplicationStatus.EXPIRED
    assert audit(db, "open_application.expire")


def test_usage_reports_fall_due_and_go_overdue(db: Session, opening: Opening) -> None:
    o = opening
    application = submitted(db, o)
    # An undecided application past its deadline is flagged to the provider's officers.
    due = db.scalars(
        select(Deadline.due_on).where(
            Deadline.object_type == OBJECT_TYPE,
            Deadline.object_id == application.id,
            Deadline.kind == DECISION_KIND,
        )
    ).one()
    send_deadline_reminders(db, due + dt.timedelta(days=1))
    overdue = db.scalars(
        select(Notice).where(
            Notice.user_id == o.provider.user_id, Notice.kind == "deadline.overdue"
        )
    ).one()
    assert overdue.link == f"/applications/{application.id}"
    service.decide(db, o.provider, application.id, DecisionIn(outcome="approve"), today=TODAY)
    first = application.reports[0]
    assert first.due_on == dt.date(2027, 3, 28) and first.status is ReportStatus.DUE
    assert service.mark_overdue_reports(db, service.Actor.system("t"), first.due_on) == 0
    late = first.due_on + dt.timedelta(days=1)
    assert service.mark_overdue_reports(db, service.Actor.system("t"), late) == 1
    db.refresh(first)
    assert first.status is ReportStatus.OVERDUE
    kinds = {
        n.kind for n in db.scalars(select(Notice).where(Notice.user_id == o.applicant.user_id))
    }
    assert "opening.report_overdue" in kinds
    with pytest.raises(ValidationFailed):
        service.submit_report(db, o.applicant, application.id, UsageReportIn(content=" "))
    with pytest.raises(NotFound):
        service.submit_report(db, o.other_public, application.id, UsageReportIn(content="x"))
    report = service.submit_report(
        db, o.applicant, application.id, UsageReportIn(content="完成流域排放分析报告一份")
    )
    assert report.id == first.id and report.status is ReportStatus.SUBMITTED
    assert audit(db, "open_usage_report.submit")[-1].changes["late"] is True


def test_public_keys_carry_the_daily_quota(db: Session, opening: Opening) -> None:
    o = opening
    row, key = auth_service.create_api_key(
        db, o.applicant, ApiKeyCreate(name="研究脚本", daily_quota=10**9)
    )
    settings = get_settings()
    assert row.daily_quota == settings.public_api_daily_quota  # never more than the default
    assert row.rate_limit_per_minute == settings.public_api_rate_per_minute
    db.get(ApiKey, row.id).daily_quota = 2  # type: ignore[union-attr]
    db.commit()
    assert auth_service.actor_for_api_key(db, key) is not None
    assert auth_service.actor_for_api_key(db, key) is not None
    with pytest.raises(DailyQuotaExceeded) as refused:
        auth_service.actor_for_api_key(db, key)
    assert refused.value.status_code == 429 and refused.value.limit == 2
    assert "2" in refused.value.localized("en")


def test_withdraw_closes_the_decision_deadline(db: Session, opening: Opening) -> None:
    o = opening
    application = submitted(db, o)
    with pytest.raises(PermissionDenied):
        service.withdraw(db, o.provider, application.id)
    withdrawn = service.withdraw(db, o.applicant, application.id)
    assert withdrawn.status is ApplicationStatus.WITHDRAWN
    still_open = db.scalars(
        select(Deadline).where(
            Deadline.object_type == OBJECT_TYPE,
            Deadline.object_id == application.id,
            Deadline.closed_at.is_(None),
        )
    ).all()
    assert still_open == []
    with pytest.raises(Conflict):
        service.decide(db, o.provider, application.id, DecisionIn(outcome="approve"))
    # A new application may follow a withdrawn one.
    again = service.apply(db, o.applicant, application_input(o.contacts), today=TODAY)
    assert again.status is ApplicationStatus.DRAFT
