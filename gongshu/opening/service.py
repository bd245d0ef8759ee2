"""Open applications (开放申请) for conditional entries: apply, accept the agreement,
decide, report usage, revoke, expire.

    apply ──▶ draft ──accept agreement──▶ pending ──approve──▶ active ──▶ expired
                │                            │                   │
                └──withdraw──▶ withdrawn ◀───┤                   └──revoke (reason)──▶ revoked
                                             └──refuse (reason)──▶ refused

Who may do what (the same rules for every applicant): any signed-in public user applies
for any public conditional entry (one open application per entry at a time); the data
officers of the provider agency decide, within ``GONGSHU_OPENING_DECISION_DAYS`` working
days (deadline kind ``opening.decision``, reminded and flagged overdue by the notices'
reminder job), with a reason that is required to refuse; the provider's officers or the
bureau revoke an active application for a breach, with a reason; the sweep expires it at
the end of its term. An approved applicant owes usage reports every
``GONGSHU_OPENING_REPORT_MONTHS`` months and at the end of the term; the sweep marks the
late ones overdue and tells both sides.

Order of checks: an application the actor may not see is 404; a wrong role is 403; bad
input is 422; a wrong state or a stale ``lock_version`` is 409. Each write commits its
state, deadline, notices and audit entry together.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gongshu.audit.service import record
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role, User
from gongshu.auth.permissions import in_region_scope, require_login
from gongshu.catalog.models import Dataset, OpenType
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.gate.policy import is_platform
from gongshu.i18n import N_, translate
from gongshu.notices.reminders import register_deadline_audience
from gongshu.notices.service import notify, users_with_role
from gongshu.opening import agreement
from gongshu.opening.accounts import account_of
from gongshu.opening.models import (
    ApplicationStatus,
    OpenApplication,
    ReportStatus,
    UsageReport,
)
from gongshu.opening.queries import DECISION_KIND, OBJECT_TYPE, get_application, status_label
from gongshu.opening.schemas import AgreementAccept, ApplicationIn, DecisionIn, UsageReportIn
from gongshu.portal.openness import PUBLIC_USER_ID, is_public
from gongshu.settings import get_settings
from gongshu.workdays.calendar import end_of_day, local_today
from gongshu.workdays.models import Deadline
from gongshu.workdays.service import close_deadline, open_deadline

__all__ = [
    "accept_agreement",
    "add_months",
    "apply",
    "decide",
    "expire_due",
    "mark_overdue_reports",
    "may_apply",
    "may_decide",
    "may_revoke",
    "revoke",
    "submit_report",
    "withdraw",
]

M_INVALID = N_("开放申请未通过校验，请按提示修改")
M_NOT_PUBLIC_USER = N_("只有注册的社会公众用户可以申请有条件开放数据，机构用户请使用共享申请")
M_NOT_CONDITIONAL = N_("该目录条目不是有条件开放数据，无需申请")
M_NOT_FOUND_ENTRY = N_("数据集不存在或未开放")
M_PENDING = N_("您已有一份该数据集的开放申请（第 {id} 号），请勿重复申请")
M_SCENARIO = N_("请填写应用场景")
M_PURPOSE = N_("请填写使用用途")
M_MEASURES = N_("请填写数据安全保障措施")
M_FIELDS = N_("请至少选择一个信息项")
M_FIELD_UNKNOWN = N_("信息项“{name}”不在该数据集中")
M_UNTIL = N_("请填写使用截止日期")
M_UNTIL_PAST = N_("截止日期应晚于今天")
M_UNTIL_BEYOND = N_("使用期限最长 {months} 个月，截止日期不能晚于 {date}")
M_COMMIT = N_("请承诺按期报送数据利用情况")
M_WRONG_STATE = N_("该开放申请当前为“{status}”，不能{action}")
M_STALE = N_("该开放申请已被他人处理，请刷新页面后重试")
M_AGREEMENT_CHANGED = N_("协议文本已变化，请重新阅读协议后再确认")
M_NOT_APPLICANT = N_("只有申请人本人可以进行此操作")
M_NOT_DECIDER = N_("只有数据提供单位的数据专管员可以答复开放申请")
M_NOT_REVOKER = N_("只有数据提供单位的数据专管员或大数据主管部门可以终止开放授权")
M_REFUSE_REASON = N_("不予同意时请填写理由")
M_REVOKE_REASON = N_("终止开放授权时请填写理由")
M_NOT_REQUESTED = N_("只能在申请的信息项范围内同意，“{name}”未申请")
M_UNTIL_AFTER_REQUEST = N_("同意的截止日期不能晚于申请的截止日期 {date}")
M_REPORT_EMPTY = N_("请填写利用情况")
M_REPORT_NONE = N_("当前没有待报送的利用情况报告")

A_ACCEPT = N_("确认协议")
A_WITHDRAW = N_("撤回")
A_DECIDE = N_("答复")
A_REVOKE = N_("终止授权")
A_REPORT = N_("报送利用情况")
STEP_DECISION = N_("开放申请答复")

NOTICE_SUBMITTED = N_("收到有条件开放数据申请：{name}")
NOTICE_SUBMITTED_BODY = N_(
    "{applicant}申请使用“{name}”，应用场景：{scenario}。请在 {due} 前答复（{rule}）。"
)
NOTICE_APPROVED = N_("开放申请已同意：{name}")
NOTICE_APPROVED_BODY = N_("可使用至 {until}，开放的信息项：{fields}。请按协议按期报送利用情况。")
NOTICE_REFUSED = N_("开放申请未获同意：{name}")
NOTICE_REFUSED_BODY = N_("理由：{reason}")
NOTICE_REVOKED = N_("开放授权已终止：{name}")
NOTICE_REVOKED_BODY = N_("理由：{reason}")
NOTICE_EXPIRED = N_("开放授权已到期：{name}")
NOTICE_EXPIRED_BODY = N_("使用期限已于 {until} 届满，请按协议报送最终利用情况。")
NOTICE_REPORTED = N_("收到利用情况报告：{name}")
NOTICE_REPORTED_BODY = N_("{applicant}报送了“{name}”的利用情况（应于 {due} 前报送）。")
NOTICE_REPORT_OVERDUE = N_("利用情况报告已逾期：{name}")
NOTICE_REPORT_OVERDUE_BODY = N_("“{name}”的利用情况报告应于 {due} 前报送，目前尚未报送。")


# --- deadlines and audiences ----------------------------------------------------------------


def officer_ids(session: Session, agency_id: int) -> list[int]:
    return users_with_role(session, Role.AGENCY_OFFICER, agency_id=agency_id)


def _link(application_id: int) -> str:
    return f"/applications/{application_id}"


def _decision_audience(session: Session, deadline: Deadline) -> list[int]:
    application = session.get(OpenApplication, deadline.object_id)
    return officer_ids(session, application.provider_agency_id) if application else []


register_deadline_audience(
    DECISION_KIND,
    _decision_audience,
    label=STEP_DECISION,
    link=lambda d: _link(d.object_id),
)


# --- who may ------------------------------------------------------------------------------


def _is_public_user(actor: Actor | None) -> bool:
    return (
        actor is not None
        and actor.has(Role.PUBLIC)
        and actor.user_id not in (None, PUBLIC_USER_ID)
        and actor.agency_id is None
    )


def may_apply(actor: Actor | None, dataset: Dataset) -> bool:
    """Whether to offer "申请开放" on an entry (the service checks again)."""
    return (
        _is_public_user(actor) and is_public(dataset) and dataset.open_type == OpenType.CONDITIONAL
    )


def may_decide(actor: Actor | None, application: OpenApplication) -> bool:
    """The provider agency's data officers (or the platform) decide."""
    if actor is None:
        return False
    if is_platform(actor):
        return True
    return actor.has(Role.AGENCY_OFFICER) and actor.agency_id == application.provider_agency_id


def may_revoke(actor: Actor | None, application: OpenApplication) -> bool:
    """The provider's officers, the bureau of the entry's region, or the platform."""
    if actor is None:
        return False
    if may_decide(actor, application):
        return True
    return actor.has(Role.BUREAU_ADMIN) and in_region_scope(actor, application.dataset.region_id)


# --- helpers ----------------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _invalid(errors: dict[str, list[str]]) -> ValidationFailed:
    return ValidationFailed(M_INVALID, errors)


def _wrong_state(application: OpenApplication, action: str) -> Conflict:
    return Conflict(
        M_WRONG_STATE, status=translate(status_label(application.status)), action=translate(action)
    )


def _label(application: OpenApplication) -> str:
    return f"{application.dataset.title} #{application.id}"


@contextmanager
def _writing(session: Session) -> Iterator[None]:
    """Commit what the block wrote; a concurrent change (stale ``lock_version``) is 409."""
    try:
        yield
        session.commit()
    except StaleDataError:
        session.rollback()
        raise Conflict(M_STALE) from None
    except BaseException:
        session.rollback()
        raise


def _clean_reason(text: str | None) -> str:
    return (text or "").strip()


# --- applying ---------------------------------------------------------------------------------


def _public_entry(session: Session, dataset_id: int) -> Dataset:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None or not is_public(dataset):
        raise NotFound(M_NOT_FOUND_ENTRY)
    return dataset


def _check_application(
    dataset: Dataset, data: ApplicationIn, today: dt.date
) -> tuple[list[str], dt.date]:
    errors: dict[str, list[str]] = {}
    if not data.scenario.strip():
        errors["scenario"] = [translate(M_SCENARIO)]
    if not data.purpose.strip():
        errors["purpose"] = [translate(M_PURPOSE)]
    if not data.security_measures.strip():
        errors["security_measures"] = [translate(M_MEASURES)]
    known = [f.name for f in dataset.fields]
    fields: list[str] = []
    for name in data.fields:
        if name not in known:
            errors["fields"] = [translate(M_FIELD_UNKNOWN, None, name=name)]
        elif name not in fields:
            fields.append(name)
    if not data.fields:
        errors["fields"] = [translate(M_FIELDS)]
    months = get_settings().opening_max_term_months
    latest = add_months(today, months)
    until = data.requested_until
    if until is None:
        errors["requested_until"] = [translate(M_UNTIL)]
    elif until <= today:
        errors["requested_until"] = [translate(M_UNTIL_PAST)]
    elif until > latest:
        errors["requested_until"] = [
            translate(M_UNTIL_BEYOND, None, months=months, date=latest.isoformat())
        ]
    if not data.reporting_committed:
        errors["reporting_committed"] = [translate(M_COMMIT)]
    if errors:
        raise _invalid(errors)
    assert until is not None
    # Keep the catalog's order, whatever order the form sent.
    return [n for n in known if n in fields], until


def apply(
    session: Session, actor: Actor | None, data: ApplicationIn, *, today: dt.date | None = None
) -> OpenApplication:
    """A public user applies for a public conditional entry. The application starts as a
    draft whose agreement the applicant reads and accepts (``accept_agreement``)."""
    actor = require_login(actor)
    day = today or local_today()
    dataset = _public_entry(session, data.dataset_id)
    if not _is_public_user(actor):
        raise PermissionDenied(M_NOT_PUBLIC_USER)
    if dataset.open_type != OpenType.CONDITIONAL:
        raise Conflict(M_NOT_CONDITIONAL)
    fields, until = _check_application(dataset, data, day)
    assert actor.user_id is not None
    # One applicant's applications are made one at a time (on PostgreSQL the row lock holds
    # until the commit), so two concurrent forms cannot both pass the check below.
    session.execute(select(User.id).where(User.id == actor.user_id).with_for_update())
    pending = session.scalar(
        select(OpenApplication.id).where(
            OpenApplication.dataset_id == dataset.id,
            OpenApplication.applicant_id == actor.user_id,
            OpenApplication.status.in_(
                [ApplicationStatus.DRAFT, ApplicationStatus.PENDING, ApplicationStatus.ACTIVE]
            ),
        )
    )
    if pending is not None:
        session.rollback()  # let the applicant's row go
        raise Conflict(M_PENDING, id=pending)
    with unit_of_work(session):
        application = OpenApplication(
            dataset_id=dataset.id,
            provider_agency_id=dataset.agency_id,
            applicant_id=actor.user_id,
            scenario=data.scenario.strip(),
            purpose=data.purpose.strip(),
            fields=fields,
            security_measures=data.security_measures.strip(),
            requested_until=until,
            reporting_committed=True,
        )
        session.add(application)
        session.flush()
        record(
            session,
            actor,
            "open_application.create",
            OBJECT_TYPE,
            application.id,
            label=_label(application),
            changes={
                "dataset_id": [None, dataset.id],
                "scenario": [None, application.scenario],
                "purpose": [None, application.purpose],
                "fields": [None, fields],
                "security_measures": [None, application.security_measures],
                "requested_until": [None, until.isoformat()],
            },
        )
    return application


def agreement_text(session: Session, application: OpenApplication) -> str:
    """The agreement as accepted, or — for a draft — as it would be accepted now."""
    if application.agreement_text:
        return application.agreement_text
    return agreement.render_agreement(application, account_of(session, application.applicant_id))


def accept_agreement(
    session: Session,
    actor: Actor | None,
    application_id: int,
    data: AgreementAccept,
    *,
    today: dt.date | None = None,
) -> OpenApplication:
    """The applicant accepts the agreement exactly as shown (its SHA-256 must match the
    text generated now); the application goes to the provider with a decision deadline."""
    application = get_application(session, actor, application_id)
    assert actor is not None
    if application.applicant_id != actor.user_id:
        raise PermissionDenied(M_NOT_APPLICANT)
    if application.status is not ApplicationStatus.DRAFT:
        raise _wrong_state(application, A_ACCEPT)
    text = agreement_text(session, application)
    sha = agreement.digest(text)
    if sha != data.agreement_sha256:
        raise Conflict(M_AGREEMENT_CHANGED)
    day = today or local_today()
    settings = get_settings()
    now = utcnow()
    with _writing(session):
        application.agreement_text = text
        application.agreement_sha256 = sha
        application.accepted_at = now
        application.submitted_at = now
        application.status = ApplicationStatus.PENDING
        deadline = open_deadline(
            session,
            object_type=OBJECT_TYPE,
            object_id=application.id,
            kind=DECISION_KIND,
            start=day,
            working_days=settings.opening_decision_days,
        )
        record(
            session,
            actor,
            "open_application.accept",
            OBJECT_TYPE,
            application.id,
            label=_label(application),
            changes={
                "status": [ApplicationStatus.DRAFT.value, ApplicationStatus.PENDING.value],
                "agreement_sha256": [None, sha],
                "accepted_at": [None, now],
                "decision_due_on": [None, deadline.due_on.isoformat()],
            },
        )
        notify(
            session,
            user_ids=officer_ids(session, application.provider_agency_id),
            kind="opening.submitted",
            title=NOTICE_SUBMITTED,
            body=NOTICE_SUBMITTED_BODY,
            link=_link(application.id),
            name=application.dataset.title,
            applicant=application.applicant.display_name,
            scenario=application.scenario[:200],
            due=deadline.due_on.isoformat(),
            rule=deadline.rule,
        )
    return application


def withdraw(session: Session, actor: Actor | None, application_id: int) -> OpenApplication:
    """The applicant withdraws a draft or an undecided application."""
    application = get_application(session, actor, application_id)
    assert actor is not None
    if application.applicant_id != actor.user_id:
        raise PermissionDenied(M_NOT_APPLICANT)
    if application.status not in (ApplicationStatus.DRAFT, ApplicationStatus.PENDING):
        raise _wrong_state(application, A_WITHDRAW)
    with _writing(session):
        before = application.status
        application.status = ApplicationStatus.WITHDRAWN
        application.ended_at = utcnow()
        close_deadline(
            session, object_type=OBJECT_TYPE, object_id=application.id, kind=DECISION_KIND
        )
        record(
            session,
            actor,
            "open_application.withdraw",
            OBJECT_TYPE,
            application.id,
            label=_label(application),
            changes={"status": [before.value, ApplicationStatus.WITHDRAWN.value]},
        )
    return application


# --- deciding ---------------------------------------------------------------------------------


def _report_dates(start: dt.date, until: dt.date, months: int) -> list[tuple[dt.date, bool]]:
    """Due dates of the usage reports: every ``months`` months within the term, and the
    final one on its last day."""
    dates: list[tuple[dt.date, bool]] = []
    k = 1
    while (due := add_months(start, months * k)) < until:
        dates.append((due, False))
        k += 1
    dates.append((until, True))
    return dates


def decide(
    session: Session,
    actor: Actor | None,
    application_id: int,
    data: DecisionIn,
    *,
    today: dt.date | None = None,
) -> OpenApplication:
    """The provider approves (fields within those asked for, an end no later than asked;
    the applicant may read at once) or refuses (a reason is required)."""
    application = get_application(session, actor, application_id)
    assert actor is not None
    if not may_decide(actor, application):
        raise PermissionDenied(M_NOT_DECIDER)
    if application.status is not ApplicationStatus.PENDING:
        raise _wrong_state(application, A_DECIDE)
    day = today or local_today()
    reason = _clean_reason(data.reason)
    now = utcnow()
    with _writing(session):
        if data.outcome == "refuse":
            if not reason:
                raise _invalid({"reason": [translate(M_REFUSE_REASON)]})
            application.status = ApplicationStatus.REFUSED
            changes: dict[str, object] = {
                "status": [ApplicationStatus.PENDING.value, ApplicationStatus.REFUSED.value],
                "reason": reason,
            }
            action = "open_application.refuse"
        else:
            requested = [str(f) for f in application.fields]
            fields = list(requested)
            if data.fields:
                for name in data.fields:
                    if name not in requested:
                        raise _invalid({"fields": [translate(M_NOT_REQUESTED, None, name=name)]})
                fields = [n for n in requested if n in data.fields]
            until = data.until or application.requested_until
            if until <= day:
                raise _invalid({"until": [translate(M_UNTIL_PAST)]})
            if until > application.requested_until:
                raise _invalid(
                    {
                        "until": [
                            translate(
                                M_UNTIL_AFTER_REQUEST,
                                None,
                                date=application.requested_until.isoformat(),
                            )
                        ]
                    }
                )
            application.status = ApplicationStatus.ACTIVE
            application.approved_fields = fields
            application.starts_at = now
            application.expires_at = end_of_day(until)
            months = get_settings().opening_report_months
            for due, final in _report_dates(day, until, months):
                application.reports.append(UsageReport(due_on=due, final=final))
            changes = {
                "status": [ApplicationStatus.PENDING.value, ApplicationStatus.ACTIVE.value],
                "approved_fields": [None, fields],
                "until": [None, until.isoformat()],
                "reason": reason,
            }
            action = "open_application.approve"
            from gongshu.opening.jobs import ensure_sweep_job

            ensure_sweep_job(session)
        application.decision_reason = reason
        application.decided_at = now
        application.decided_by_id = actor.user_id
        close_deadline(
            session, object_type=OBJECT_TYPE, object_id=application.id, kind=DECISION_KIND
        )
        record(
            session,
            actor,
            action,
            OBJECT_TYPE,
            application.id,
            label=_label(application),
            changes=changes,
        )
        if application.status is ApplicationStatus.ACTIVE:
            notify(
                session,
                user_ids=[application.applicant_id],
                kind="opening.approved",
                title=NOTICE_APPROVED,
                body=NOTICE_APPROVED_BODY,
                link=_link(application.id),
                name=application.dataset.title,
                until=(data.until or application.requested_until).isoformat(),
                fields=", ".join(str(f) for f in application.approved_fields or []),
            )
        else:
            notify(
                session,
                user_ids=[application.applicant_id],
                kind="opening.refused",
                title=NOTICE_REFUSED,
                body=NOTICE_REFUSED_BODY,
                link=_link(application.id),
                name=application.dataset.title,
                reason=reason,
            )
    return application


def revoke(
    session: Session, actor: Actor | None, application_id: int, reason: str | None
) -> OpenApplication:
    """End an active application at once for a breach (a reason is required)."""
    application = get_application(session, actor, application_id)
    assert actor is not None
    if not may_revoke(actor, application):
        raise PermissionDenied(M_NOT_REVOKER)
    if application.status is not ApplicationStatus.ACTIVE:
        raise _wrong_state(application, A_REVOKE)
    text = _clean_reason(reason)
    if not text:
        raise _invalid({"reason": [translate(M_REVOKE_REASON)]})
    with _writing(session):
        application.status = ApplicationStatus.REVOKED
        application.ended_at = utcnow()
        application.ended_by_id = actor.user_id
        application.end_reason = text
        record(
            session,
            actor,
            "open_application.revoke",
            OBJECT_TYPE,
            application.id,
            label=_label(application),
            changes={
                "status": [ApplicationStatus.ACTIVE.value, ApplicationStatus.REVOKED.value],
                "reason": text,
            },
        )
        notify(
            session,
            user_ids=[application.applicant_id],
            kind="opening.revoked",
            title=NOTICE_REVOKED,
            body=NOTICE_REVOKED_BODY,
            link=_link(application.id),
            name=application.dataset.title,
            reason=text,
        )
    return application


# --- usage reports ----------------------------------------------------------------------------


def submit_report(
    session: Session, actor: Actor | None, application_id: int, data: UsageReportIn
) -> UsageReport:
    """The applicant reports usage: it fills the earliest report not yet submitted."""
    application = get_application(session, actor, application_id)
    assert actor is not None
    if application.applicant_id != actor.user_id:
        raise PermissionDenied(M_NOT_APPLICANT)
    if application.status not in (
        ApplicationStatus.ACTIVE,
        ApplicationStatus.EXPIRED,
        ApplicationStatus.REVOKED,
    ):
        raise _wrong_state(application, A_REPORT)
    content = data.content.strip()
    if not content:
        raise _invalid({"content": [translate(M_REPORT_EMPTY)]})
    open_reports = [r for r in application.reports if r.status is not ReportStatus.SUBMITTED]
    if not open_reports:
        raise Conflict(M_REPORT_NONE)
    report = open_reports[0]
    with _writing(session):
        before = report.status
        report.status = ReportStatus.SUBMITTED
        report.content = content
        report.submitted_at = utcnow()
        record(
            session,
            actor,
            "open_usage_report.submit",
            OBJECT_TYPE,
            application.id,
            label=_label(application),
            changes={
                "report": report.id,
                "due_on": report.due_on.isoformat(),
                "status": [before.value, ReportStatus.SUBMITTED.value],
                "late": before is ReportStatus.OVERDUE,
            },
        )
        notify(
            session,
            user_ids=officer_ids(session, application.provider_agency_id),
            kind="opening.reported",
            title=NOTICE_REPORTED,
            body=NOTICE_REPORTED_BODY,
            link=_link(application.id),
            name=application.dataset.title,
            applicant=application.applicant.display_name,
            due=report.due_on.isoformat(),
        )
    return report


# --- the sweep's steps --------------------------------------------------------------------------


def expire_due(session: Session, actor: Actor, now: dt.datetime | None = None) -> int:
    """Mark active applications past their term ``expired`` (the gate already stopped
    counting them) and tell their applicants; returns how many."""
    now = now or utcnow()
    due: Sequence[OpenApplication] = session.scalars(
        select(OpenApplication).where(
            OpenApplication.status == ApplicationStatus.ACTIVE,
            OpenApplication.expires_at <= now,
        )
    ).all()
    for application in due:
        with unit_of_work(session):
            application.status = ApplicationStatus.EXPIRED
            application.ended_at = now
            record(
                session,
                actor,
                "open_application.expire",
                OBJECT_TYPE,
                application.id,
                label=_label(application),
                changes={
                    "status": [ApplicationStatus.ACTIVE.value, ApplicationStatus.EXPIRED.value]
                },
            )
            notify(
                session,
                user_ids=[application.applicant_id],
                kind="opening.expired",
                title=NOTICE_EXPIRED,
                body=NOTICE_EXPIRED_BODY,
                link=_link(application.id),
                name=application.dataset.title,
                until=local_today(application.expires_at).isoformat()
                if application.expires_at
                else "",
            )
    return len(due)


def mark_overdue_reports(session: Session, actor: Actor, today: dt.date | None = None) -> int:
    """Usage reports past their due day and not submitted become ``overdue``; the applicant
    and the provider's officers are told once. Returns how many."""
    day = today or local_today()
    reports: Sequence[UsageReport] = session.scalars(
        select(UsageReport).where(UsageReport.status == ReportStatus.DUE, UsageReport.due_on < day)
    ).all()
    for report in reports:
        application = report.application
        with unit_of_work(session):
            report.status = ReportStatus.OVERDUE
            report.overdue_notified_at = utcnow()
            record(
                session,
                actor,
                "open_usage_report.overdue",
                OBJECT_TYPE,
                application.id,
                label=_label(application),
                changes={
                    "report": report.id,
                    "due_on": report.due_on.isoformat(),
                    "status": [ReportStatus.DUE.value, ReportStatus.OVERDUE.value],
                },
            )
            notify(
                session,
                user_ids=[
                    application.applicant_id,
                    *officer_ids(session, application.provider_agency_id),
                ],
                kind="opening.report_overdue",
                title=NOTICE_REPORT_OVERDUE,
                body=NOTICE_REPORT_OVERDUE_BODY,
                link=_link(application.id),
                name=application.dataset.title,
                due=report.due_on.isoformat(),
            )
    return len(reports)
