"""Share requests (共享申请): request, decide, object, arbitrate.

    unconditional entry:  request ──────────────────────────────▶ active (at once)
    conditional entry:    requested ──grant──▶ granted ──(start day)──▶ active
                              │                   (or active at once)     │
                              └──deny (reason)──▶ denied               expired / revoked
                                                    │
                                      object (within N working days)
                                                    ▼
                                                objected ──arbitrate──▶ granted/active
                                                    └────────────────▶ denied (upheld)

Who may do what is in ``gongshu.share.rules``. Deadlines (``gongshu.workdays``): a
conditional request opens a decision deadline of ``GONGSHU_SHARE_DECISION_DAYS`` working
days (kind ``share.decision``, reminded to the provider's officers and flagged when
overdue); a refusal opens the requester's objection window of
``GONGSHU_SHARE_OBJECTION_DAYS`` (``share.objection``); an objection opens the bureau's
arbitration deadline of ``GONGSHU_SHARE_ARBITRATION_DAYS`` (``share.arbitration``).

Order of checks: a request the actor may not see is 404; a wrong role is 403; bad input is
422; a wrong state or a stale ``lock_version`` is 409. Each action locks the request's row
(``SELECT … FOR UPDATE``) and re-checks its state there, and ``lock_version`` guards the
UPDATE, so of two concurrent decisions one wins and the other gets 409. State, grant,
deadlines, notices and the audit entry commit together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gongshu.audit import service as audit
from gongshu.auth.actor import Actor
from gongshu.auth.permissions import require_login
from gongshu.catalog.models import Dataset, ShareType
from gongshu.catalog.service import get_dataset
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import Conflict, PermissionDenied, ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.notices.reminders import register_deadline_audience
from gongshu.notices.service import notify
from gongshu.orgs.models import Agency
from gongshu.settings import get_settings
from gongshu.share import issuing, rules
from gongshu.share.issuing import clean_reason
from gongshu.share.models import (
    OPEN_REQUEST_STATUSES,
    Grant,
    GrantKind,
    GrantStatus,
    RequestKind,
    RequestStatus,
    ShareRequest,
)
from gongshu.share.queries import (
    ACTIONS,
    ARBITRATE,
    ARBITRATION_KIND,
    DECISION_KIND,
    DENY,
    GRANT,
    OBJECT,
    OBJECT_TYPE,
    OBJECTION_KIND,
    REVOKE,
    available_actions,
    deadlines_of,
    get_request,
    list_requests,
    objection_window,
    open_deadline_views,
    window_due,
)
from gongshu.share.schemas import (
    ArbitrationDecision,
    GrantDecision,
    ObjectionCreate,
    Refusal,
    ShareRequestCreate,
)
from gongshu.workdays.calendar import local_today
from gongshu.workdays.models import Deadline
from gongshu.workdays.service import close_deadline, open_deadline

__all__ = [
    "ACTIONS",
    "arbitrate_request",
    "available_actions",
    "close_lapsed_windows",
    "create_request",
    "deadlines_of",
    "deny_request",
    "get_request",
    "grant_request",
    "list_requests",
    "object_request",
    "open_deadline_views",
    "revoke_request",
    "window_due",
]

M_INVALID = N_("共享申请未通过校验，请按提示修改")
M_STALE = N_("该共享申请已被他人处理，请刷新页面后重试")
M_WRONG_STATE = N_("该共享申请当前为“{status}”，不能{action}")
M_PENDING = N_("本单位已有一份待处理的该目录条目共享申请（第 {id} 号）")
M_HAS_UNCONDITIONAL = N_("本单位已获得该目录条目的无条件共享授权，无需再次申请")
M_NOT_DECIDER = N_("只有数据提供单位的数据专管员可以答复共享申请")
M_NOT_REQUESTER = N_("只有申请单位的用户可以对答复提出异议")
M_NOT_ARBITRATOR = N_("只有本级大数据主管部门可以仲裁共享异议")
M_ALREADY_OBJECTED = N_("每份共享申请只能提出一次异议，仲裁结果为最终结果")
M_WINDOW_CLOSED = N_("提出异议的期限已于 {due} 届满")
M_PURPOSE_REQUIRED = N_("请填写使用用途")
M_SCENARIO_REQUIRED = N_("请填写应用场景")
M_BASIS_REQUIRED = N_("请填写申请依据（法律法规或履职依据）")
M_FIELDS_REQUIRED = N_("请至少选择一个信息项")
M_FIELD_UNKNOWN = N_("信息项“{name}”不在该目录条目中")
M_FIELD_NOT_REQUESTED = N_("只能在申请的信息项范围内授权，“{name}”未申请")
M_CLEAR_NOT_GRANTED = N_("明文信息项“{name}”不在授权的信息项中")
M_ENDS_REQUIRED = N_("请填写使用截止日期")
M_ENDS_PAST = N_("截止日期应晚于今天")
M_ENDS_BEFORE_START = N_("截止日期不能早于开始日期")
M_STARTS_PAST = N_("开始日期不能早于今天")
M_ENDS_BEYOND = N_("授权截止日期不能晚于申请的截止日期 {date}")
M_REFUSAL_REASON = N_("不予同意时请填写理由")
M_OBJECTION_REASON = N_("请填写异议理由")
M_ARBITRATION_REASON = N_("请填写仲裁意见")

ACTION_LABELS: dict[str, str] = {
    GRANT: N_("同意"),
    DENY: N_("不予同意"),
    OBJECT: N_("提出异议"),
    ARBITRATE: N_("仲裁"),
    REVOKE: N_("撤销授权"),
}
STEP_DECISION = N_("共享申请答复")
STEP_ARBITRATION = N_("共享异议仲裁")

NOTICE_REQUESTED = N_("收到共享申请：{name}")
NOTICE_REQUESTED_BODY = N_(
    "{agency}申请共享“{name}”，用途：{purpose}。请在 {due} 前答复（{rule}）。"
)
NOTICE_UNCONDITIONAL = N_("无条件共享已授权：{name}")
NOTICE_UNCONDITIONAL_BODY = N_("{agency}已获得“{name}”的无条件共享授权，用途：{purpose}。")
NOTICE_GRANTED = N_("共享申请已同意：{name}")
NOTICE_GRANTED_BODY = N_("授权期限：{start} 至 {until}；明文提供的信息项：{clear}。")
NOTICE_DENIED = N_("共享申请未获同意：{name}")
NOTICE_DENIED_BODY = N_("理由：{reason}。如有异议，请在 {due} 前提出（{rule}）。")
NOTICE_OBJECTED = N_("共享异议待仲裁：{name}")
NOTICE_OBJECTED_BODY = N_(
    "{agency}对不予共享的答复提出异议：{reason}。请在 {due} 前仲裁（{rule}）。"
)
NOTICE_ARBITRATED = N_("共享异议已仲裁：{name}")
NOTICE_ARBITRATED_BODY = N_("仲裁结果：{outcome}。仲裁意见：{reason}")
M_NONE = N_("无")
M_UNLIMITED = N_("长期")


# --- deadlines and their audiences ---------------------------------------------------------


def _link(deadline: Deadline) -> str:
    return f"/share/requests/{deadline.object_id}"


def _decision_audience(session: Session, deadline: Deadline) -> list[int]:
    request = session.get(ShareRequest, deadline.object_id)
    return rules.officer_ids(session, request.provider_agency_id) if request else []


def _arbitration_audience(session: Session, deadline: Deadline) -> list[int]:
    request = session.get(ShareRequest, deadline.object_id)
    return rules.arbitrator_ids(session, request.dataset) if request else []


register_deadline_audience(DECISION_KIND, _decision_audience, label=STEP_DECISION, link=_link)
register_deadline_audience(
    ARBITRATION_KIND, _arbitration_audience, label=STEP_ARBITRATION, link=_link
)
# The objection window is the requester's right, not a duty: no reminders for it.


def _open(
    session: Session, request: ShareRequest, kind: str, today: dt.date, days: int
) -> Deadline:
    return open_deadline(
        session,
        object_type=OBJECT_TYPE,
        object_id=request.id,
        kind=kind,
        start=today,
        working_days=days,
    )


def _close(session: Session, request: ShareRequest, kind: str) -> None:
    close_deadline(session, object_type=OBJECT_TYPE, object_id=request.id, kind=kind)


# --- validation ---------------------------------------------------------------------------


def _invalid(field: str, message: str, **params: object) -> ValidationFailed:
    return ValidationFailed(M_INVALID, {field: [translate(message, None, **params)]})


def _field_names(dataset: Dataset) -> list[str]:
    return [f.name for f in dataset.fields]


def _check_fields(dataset: Dataset, names: Sequence[str]) -> list[str]:
    known = set(_field_names(dataset))
    out: list[str] = []
    for name in names:
        if name not in known:
            raise _invalid("fields", M_FIELD_UNKNOWN, name=name)
        if name not in out:
            out.append(name)
    return out


@dataclass(frozen=True)
class _Terms:
    fields: list[str] | None
    clear_fields: list[str]
    ends_on: dt.date | None


def _terms(
    request: ShareRequest,
    fields: Sequence[str] | None,
    clear_fields: Sequence[str],
    ends_on: dt.date | None,
    today: dt.date,
) -> _Terms:
    """What a grant gives: fields within those requested, clear fields within those granted,
    an end no later than the one requested."""
    dataset = request.dataset
    requested = request.fields if request.fields is not None else _field_names(dataset)
    granted: list[str] | None
    if fields:
        granted = _check_fields(dataset, fields)
        for name in granted:
            if name not in requested:
                raise _invalid("fields", M_FIELD_NOT_REQUESTED, name=name)
        if request.fields is None and set(granted) == set(requested):
            granted = None
    else:
        granted = list(request.fields) if request.fields is not None else None
    scope = granted if granted is not None else _field_names(dataset)
    clear = _check_fields(dataset, clear_fields)
    for name in clear:
        if name not in scope:
            raise _invalid("clear_fields", M_CLEAR_NOT_GRANTED, name=name)
    until = ends_on or request.ends_on
    if until is not None:
        if until <= today:
            raise _invalid("ends_on", M_ENDS_PAST)
        if request.ends_on is not None and until > request.ends_on:
            raise _invalid("ends_on", M_ENDS_BEYOND, date=request.ends_on.isoformat())
    return _Terms(granted, clear, until)


def _clean_create(dataset: Dataset, data: ShareRequestCreate, today: dt.date) -> ShareRequestCreate:
    conditional = dataset.share_type is ShareType.CONDITIONAL
    errors: dict[str, list[str]] = {}
    if not data.purpose:
        errors["purpose"] = [translate(M_PURPOSE_REQUIRED)]
    if conditional:
        if not data.scenario:
            errors["scenario"] = [translate(M_SCENARIO_REQUIRED)]
        if not data.legal_basis:
            errors["legal_basis"] = [translate(M_BASIS_REQUIRED)]
        if not data.fields:
            errors["fields"] = [translate(M_FIELDS_REQUIRED)]
        if data.ends_on is None:
            errors["ends_on"] = [translate(M_ENDS_REQUIRED)]
    starts = data.starts_on or today
    if starts < today:
        errors["starts_on"] = [translate(M_STARTS_PAST)]
    if data.ends_on is not None:
        if data.ends_on <= today:
            errors.setdefault("ends_on", []).append(translate(M_ENDS_PAST))
        elif data.ends_on < starts:
            errors.setdefault("ends_on", []).append(translate(M_ENDS_BEFORE_START))
    if errors:
        raise ValidationFailed(M_INVALID, errors)
    fields = _check_fields(dataset, data.fields)
    return data.model_copy(update={"fields": fields, "starts_on": starts})


# --- creating -----------------------------------------------------------------------------


def create_request(
    session: Session,
    actor: Actor | None,
    data: ShareRequestCreate,
    *,
    today: dt.date | None = None,
) -> ShareRequest:
    """A body asks to use an entry. Unconditional: granted at once (kind
    ``unconditional``), still recorded, and the provider is told. Conditional: waits for the
    provider's decision within the decision deadline. Not shared: refused (403).

    A district body asking for a city entry with an enabled return flow also gets its
    return-flow grant now if it had none (a body created after the flow was enabled).
    """
    actor = require_login(actor)
    day = today or local_today()
    with unit_of_work(session):
        dataset = get_dataset(session, actor, data.dataset_id)
        refusal = rules.request_refusal(actor, dataset)
        if refusal is not None:
            raise PermissionDenied(refusal, basis=dataset.legal_basis or "—")
        assert actor.agency_id is not None
        clean = _clean_create(dataset, data, day)
        pending = session.scalar(
            select(ShareRequest.id).where(
                ShareRequest.dataset_id == dataset.id,
                ShareRequest.agency_id == actor.agency_id,
                ShareRequest.status.in_(OPEN_REQUEST_STATUSES),
            )
        )
        if pending is not None:
            raise Conflict(M_PENDING, id=pending)
        unconditional = dataset.share_type is ShareType.UNCONDITIONAL
        if unconditional and _has_unconditional_grant(session, dataset.id, actor.agency_id):
            raise Conflict(M_HAS_UNCONDITIONAL)
        request = ShareRequest(
            dataset_id=dataset.id,
            agency_id=actor.agency_id,
            provider_agency_id=dataset.agency_id,
            kind=RequestKind.UNCONDITIONAL if unconditional else RequestKind.CONDITIONAL,
            status=RequestStatus.REQUESTED,
            purpose=clean.purpose,
            scenario=clean.scenario,
            legal_basis=clean.legal_basis,
            fields=clean.fields or None,
            starts_on=clean.starts_on or day,
            ends_on=clean.ends_on,
            requested_by_id=actor.user_id,
        )
        session.add(request)
        session.flush()
        agency = session.get(Agency, actor.agency_id)
        agency_name = agency.name if agency is not None else ""
        changes: dict[str, object] = {
            "dataset_id": dataset.id,
            "agency_id": actor.agency_id,
            "kind": request.kind.value,
            "purpose": request.purpose,
            "scenario": request.scenario,
            "legal_basis": request.legal_basis,
            "fields": request.fields,
            "starts_on": request.starts_on.isoformat(),
            "ends_on": request.ends_on.isoformat() if request.ends_on else None,
        }
        if unconditional:
            grant = _issue(session, actor, request, _Terms(request.fields, [], request.ends_on))
            changes["status"] = [None, request.status.value]
            changes["grant_id"] = grant.id
            notify(
                session,
                user_ids=set(rules.officer_ids(session, dataset.agency_id))
                | set(_requester_ids(session, request)),
                kind="share.unconditional",
                title=NOTICE_UNCONDITIONAL,
                body=NOTICE_UNCONDITIONAL_BODY,
                link=f"/share/requests/{request.id}",
                name=dataset.title,
                agency=agency_name,
                purpose=request.purpose,
            )
        else:
            deadline = _open(
                session, request, DECISION_KIND, day, get_settings().share_decision_days
            )
            changes["status"] = [None, request.status.value]
            changes["due_on"] = deadline.due_on.isoformat()
            changes["rule"] = deadline.rule
            notify(
                session,
                user_ids=rules.officer_ids(session, dataset.agency_id),
                kind="share.requested",
                title=NOTICE_REQUESTED,
                body=NOTICE_REQUESTED_BODY,
                link=f"/share/requests/{request.id}",
                name=dataset.title,
                agency=agency_name,
                purpose=request.purpose,
                due=deadline.due_on.isoformat(),
                rule=deadline.rule,
            )
        from gongshu.share import return_flow  # return_flow builds on issuing, not on us

        return_flow.ensure_for_agency(session, actor, dataset, actor.agency_id)
        audit.record(
            session,
            actor,
            "share.request",
            OBJECT_TYPE,
            request.id,
            label=f"{dataset.code} {dataset.title}",
            changes=changes,
        )
    return request


def _has_unconditional_grant(session: Session, dataset_id: int, agency_id: int) -> bool:
    now = utcnow()
    found = session.scalar(
        select(Grant.id).where(
            Grant.dataset_id == dataset_id,
            Grant.agency_id == agency_id,
            Grant.kind == GrantKind.UNCONDITIONAL,
            Grant.status == GrantStatus.ACTIVE,
            or_(Grant.expires_at.is_(None), Grant.expires_at > now),
        )
    )
    return found is not None


def _requester_ids(session: Session, request: ShareRequest) -> list[int]:
    """The user who asked and the officers of the asking body."""
    ids = set(rules.officer_ids(session, request.agency_id))
    if request.requested_by_id is not None:
        ids.add(request.requested_by_id)
    return sorted(ids)


def _issue(session: Session, actor: Actor, request: ShareRequest, terms: _Terms) -> Grant:
    """Issue the request's grant and set its status: active, or granted until it starts."""
    now = utcnow()
    grant = issuing.issue_grant(
        session,
        actor,
        dataset=request.dataset,
        agency_id=request.agency_id,
        kind=GrantKind.UNCONDITIONAL
        if request.kind is RequestKind.UNCONDITIONAL
        else GrantKind.REQUEST,
        fields=terms.fields,
        clear_fields=terms.clear_fields,
        purpose=request.purpose,
        scenario=request.scenario,
        legal_basis=request.legal_basis,
        starts_at=issuing.starts_at_for(request.starts_on, now),
        expires_at=issuing.expires_at_for(terms.ends_on),
        request_id=request.id,
    )
    request.grant_id = grant.id
    request.granted_fields = terms.fields
    request.clear_fields = terms.clear_fields
    request.ends_on = terms.ends_on
    request.status = RequestStatus.ACTIVE if grant.starts_at <= now else RequestStatus.GRANTED
    return grant


# --- transitions --------------------------------------------------------------------------


def _transition(
    session: Session,
    actor: Actor | None,
    request_id: int,
    action: str,
    lock_version: int | None,
    allowed_from: frozenset[RequestStatus],
    check: Callable[[Actor, ShareRequest], None],
    change: Callable[[Actor, ShareRequest], dict[str, object]],
) -> ShareRequest:
    """Find (404), check the role (403) and input (422), lock, re-check (409), change,
    audit — in one transaction."""
    actor = require_login(actor)
    try:
        with unit_of_work(session):
            request = get_request(session, actor, request_id)
            check(actor, request)
            session.refresh(request, with_for_update=True)
            if lock_version is not None and lock_version != request.lock_version:
                raise Conflict(M_STALE)
            if request.status not in allowed_from:
                raise Conflict(
                    M_WRONG_STATE,
                    status=rules.request_status_label(request.status),
                    action=translate(ACTION_LABELS[action]),
                )
            before = request.status
            extra = change(actor, request)
            request.updated_at = utcnow()
            session.flush()
            dataset = request.dataset
            audit.record(
                session,
                actor,
                f"share.{action}",
                OBJECT_TYPE,
                request.id,
                label=f"{dataset.code} {dataset.title}",
                changes={"status": [before.value, request.status.value], **extra},
            )
    except StaleDataError as exc:
        raise Conflict(M_STALE) from exc
    return request


def _require_decider(actor: Actor, request: ShareRequest) -> None:
    if not rules.decides(actor, request.provider_agency_id):
        raise PermissionDenied(M_NOT_DECIDER)


def _require_arbitrator(actor: Actor, request: ShareRequest) -> None:
    if not rules.arbitrates(actor, request.dataset):
        raise PermissionDenied(M_NOT_ARBITRATOR)


def _granted_notice(session: Session, request: ShareRequest, title: str, **params: object) -> None:
    until = request.ends_on.isoformat() if request.ends_on else M_UNLIMITED
    clear = ", ".join(request.clear_fields) if request.clear_fields else M_NONE
    notify(
        session,
        user_ids=_requester_ids(session, request),
        kind="share.granted",
        title=title,
        body=NOTICE_GRANTED_BODY,
        link=f"/share/requests/{request.id}",
        name=request.dataset.title,
        start=request.starts_on.isoformat(),
        until=until,
        clear=clear,
        **params,
    )


def _grant_changes(request: ShareRequest, grant: Grant) -> dict[str, object]:
    return {
        "grant_id": grant.id,
        "fields": request.granted_fields,
        "clear_fields": request.clear_fields,
        "ends_on": request.ends_on.isoformat() if request.ends_on else None,
    }


def grant_request(
    session: Session,
    actor: Actor | None,
    request_id: int,
    data: GrantDecision,
    *,
    today: dt.date | None = None,
) -> ShareRequest:
    """The provider grants a requested conditional share (its data officers): the fields
    (within those requested), the clear fields (default none), the end (no later than
    requested). Issues the grant, closes the decision deadline, tells the requester."""
    day = today or local_today()
    holder: list[_Terms] = []
    comments: list[str] = []

    def check(actor: Actor, request: ShareRequest) -> None:
        _require_decider(actor, request)
        comments.append(clean_reason(data.reason, required=None))
        holder.append(_terms(request, data.fields, data.clear_fields, data.ends_on, day))

    def change(actor: Actor, request: ShareRequest) -> dict[str, object]:
        comment = comments[0]
        grant = _issue(session, actor, request, holder[0])
        request.decision_reason = comment
        request.decided_at = utcnow()
        request.decided_by_id = actor.user_id
        _close(session, request, DECISION_KIND)
        _granted_notice(session, request, NOTICE_GRANTED)
        return {**_grant_changes(request, grant), "reason": comment}

    return _transition(
        session,
        actor,
        request_id,
        GRANT,
        data.lock_version,
        frozenset({RequestStatus.REQUESTED}),
        check,
        change,
    )


def deny_request(
    session: Session,
    actor: Actor | None,
    request_id: int,
    data: Refusal,
    *,
    today: dt.date | None = None,
) -> ShareRequest:
    """The provider refuses with a reason (required). Opens the requester's objection window
    and tells the requester how long it has."""
    day = today or local_today()
    holder: list[str] = []

    def check(actor: Actor, request: ShareRequest) -> None:
        _require_decider(actor, request)
        holder.append(clean_reason(data.reason, required=M_REFUSAL_REASON))

    def change(actor: Actor, request: ShareRequest) -> dict[str, object]:
        reason = holder[0]
        request.status = RequestStatus.DENIED
        request.decision_reason = reason
        request.decided_at = utcnow()
        request.decided_by_id = actor.user_id
        _close(session, request, DECISION_KIND)
        window = _open(session, request, OBJECTION_KIND, day, get_settings().share_objection_days)
        notify(
            session,
            user_ids=_requester_ids(session, request),
            kind="share.denied",
            title=NOTICE_DENIED,
            body=NOTICE_DENIED_BODY,
            link=f"/share/requests/{request.id}",
            name=request.dataset.title,
            reason=reason,
            due=window.due_on.isoformat(),
            rule=window.rule,
        )
        return {"reason": reason, "objection_due_on": window.due_on.isoformat()}

    return _transition(
        session,
        actor,
        request_id,
        DENY,
        data.lock_version,
        frozenset({RequestStatus.REQUESTED}),
        check,
        change,
    )


def object_request(
    session: Session,
    actor: Actor | None,
    request_id: int,
    data: ObjectionCreate,
    *,
    today: dt.date | None = None,
) -> ShareRequest:
    """The requesting body objects (异议) to a refusal within its window, once. Opens the
    bureau's arbitration deadline and tells the arbitrators and the provider."""
    day = today or local_today()
    holder: list[str] = []

    def check(actor: Actor, request: ShareRequest) -> None:
        if not rules.is_body_user(actor, request.agency_id):
            raise PermissionDenied(M_NOT_REQUESTER)
        holder.append(clean_reason(data.reason, required=M_OBJECTION_REASON))

    def change(actor: Actor, request: ShareRequest) -> dict[str, object]:
        reason = holder[0]
        if request.objected_at is not None:
            raise Conflict(M_ALREADY_OBJECTED)
        window = objection_window(session, request)
        if window is None or day > window.due_on:
            due = window.due_on.isoformat() if window is not None else "—"
            raise Conflict(M_WINDOW_CLOSED, due=due)
        request.status = RequestStatus.OBJECTED
        request.objection_reason = reason
        request.objected_at = utcnow()
        request.objected_by_id = actor.user_id
        _close(session, request, OBJECTION_KIND)
        deadline = _open(
            session, request, ARBITRATION_KIND, day, get_settings().share_arbitration_days
        )
        notify(
            session,
            user_ids=set(rules.arbitrator_ids(session, request.dataset))
            | set(rules.officer_ids(session, request.provider_agency_id)),
            kind="share.objected",
            title=NOTICE_OBJECTED,
            body=NOTICE_OBJECTED_BODY,
            link=f"/share/requests/{request.id}",
            name=request.dataset.title,
            agency=request.agency.name,
            reason=reason,
            due=deadline.due_on.isoformat(),
            rule=deadline.rule,
        )
        return {"reason": reason, "arbitration_due_on": deadline.due_on.isoformat()}

    return _transition(
        session,
        actor,
        request_id,
        OBJECT,
        data.lock_version,
        frozenset({RequestStatus.DENIED}),
        check,
        change,
    )


def arbitrate_request(
    session: Session,
    actor: Actor | None,
    request_id: int,
    data: ArbitrationDecision,
    *,
    today: dt.date | None = None,
) -> ShareRequest:
    """The bureau arbitrates an objection with a reason: grant (on the same terms a
    provider could give) or uphold the refusal, which is final. Tells both bodies."""
    day = today or local_today()
    holder: list[_Terms] = []
    reasons: list[str] = []

    def check(actor: Actor, request: ShareRequest) -> None:
        _require_arbitrator(actor, request)
        reasons.append(clean_reason(data.reason, required=M_ARBITRATION_REASON))
        if data.grant:
            holder.append(_terms(request, data.fields, data.clear_fields, data.ends_on, day))

    def change(actor: Actor, request: ShareRequest) -> dict[str, object]:
        reason = reasons[0]
        request.arbitration_reason = reason
        request.arbitrated_at = utcnow()
        request.arbitrated_by_id = actor.user_id
        _close(session, request, ARBITRATION_KIND)
        extra: dict[str, object] = {"reason": reason}
        if data.grant:
            request.arbitration_outcome = "granted"
            grant = _issue(session, actor, request, holder[0])
            extra.update(_grant_changes(request, grant))
            _granted_notice(session, request, NOTICE_ARBITRATED)
        else:
            request.arbitration_outcome = "upheld"
            request.status = RequestStatus.DENIED
        notify(
            session,
            user_ids=set(_requester_ids(session, request))
            | set(rules.officer_ids(session, request.provider_agency_id)),
            kind="share.arbitrated",
            title=NOTICE_ARBITRATED,
            body=NOTICE_ARBITRATED_BODY,
            link=f"/share/requests/{request.id}",
            name=request.dataset.title,
            outcome=rules.ARBITRATION_LABELS[request.arbitration_outcome],
            reason=reason,
        )
        extra["outcome"] = request.arbitration_outcome
        return extra

    return _transition(
        session,
        actor,
        request_id,
        ARBITRATE,
        data.lock_version,
        frozenset({RequestStatus.OBJECTED}),
        check,
        change,
    )


def revoke_request(
    session: Session, actor: Actor | None, request_id: int, reason: str | None
) -> ShareRequest:
    """Revoke the grant a request led to (``issuing.revoke_grant``)."""
    actor = require_login(actor)
    request = get_request(session, actor, request_id)
    if not (
        rules.decides(actor, request.provider_agency_id) or rules.arbitrates(actor, request.dataset)
    ):
        raise PermissionDenied(issuing.M_NOT_REVOKER)
    if request.grant_id is None or request.status not in (
        RequestStatus.GRANTED,
        RequestStatus.ACTIVE,
    ):
        raise Conflict(
            M_WRONG_STATE,
            status=rules.request_status_label(request.status),
            action=translate(ACTION_LABELS[REVOKE]),
        )
    issuing.revoke_grant(session, actor, request.grant_id, reason)
    session.refresh(request)
    return request


def close_lapsed_windows(session: Session, today: dt.date | None = None) -> int:
    """Close objection windows that ran out unused (the sweep; not audited: no decision)."""
    day = today or local_today()
    stmt = (
        select(Deadline)
        .join(
            ShareRequest,
            and_(Deadline.object_id == ShareRequest.id, Deadline.object_type == OBJECT_TYPE),
        )
        .where(Deadline.kind == OBJECTION_KIND, Deadline.closed_at.is_(None), Deadline.due_on < day)
    )
    with unit_of_work(session):
        lapsed = session.scalars(stmt).all()
        now = utcnow()
        for deadline in lapsed:
            deadline.closed_at = now
    return len(lapsed)
