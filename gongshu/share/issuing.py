"""Issuing and ending grants (授权), and the lists of grants each party sees.

Every way of sharing ends in ``issue_grant`` (in the caller's transaction; the caller
audits its own action). A grant ends in one of two ways:

- **revoked** (``revoke_grant``, audited ``share.revoke``) by the provider agency's
  officers or the bureau that reviews the entry, with a reason. Return-flow grants are not
  revoked one by one — the return flow's settings issue them again — but by disabling the
  entry's return flow; emergency grants end with their emergency (or are revoked singly);
- **expired** (``expire_due``, audited ``share.expire``): the sweep job marks grants past
  their ``expires_at``. The gate already ignores them from that instant; the job makes the
  status say so and tells the body. Emergency grants expire with their emergency
  (``gongshu.share.emergency``).

A request whose grant starts on a later day waits as ``granted``; ``activate_due`` turns it
``active`` once the grant has begun (audited ``share.activate``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gongshu.audit import service as audit
from gongshu.auth.actor import Actor
from gongshu.auth.permissions import Perm, can, require_login
from gongshu.catalog.models import Dataset
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.notices.service import notify
from gongshu.orgs.models import Agency
from gongshu.pagination import Page
from gongshu.share import rules
from gongshu.share.grants import new_fingerprint
from gongshu.share.models import Grant, GrantKind, GrantStatus, RequestStatus, ShareRequest
from gongshu.workdays.calendar import TZ, end_of_day, local_today

__all__ = [
    "GrantRow",
    "activate_due",
    "add_grants",
    "end_grant",
    "expire_due",
    "get_grant",
    "get_grant_row",
    "issue_grant",
    "list_grants",
    "may_revoke",
    "new_grant",
    "revoke_grant",
    "start_of_day",
]

M_GRANT_NOT_FOUND = N_("授权不存在")
M_NOT_ACTIVE = N_("该授权当前为“{status}”，无需撤销")
M_NOT_REVOKER = N_("只有数据提供单位的数据专管员或本级大数据主管部门可以撤销授权")
M_RETURN_FLOW = N_("数据回流授权随回流设置生效，请在“数据回流”页面停用该条目的回流")
M_REASON_REQUIRED = N_("请填写撤销理由")
M_REASON_LONG = N_("理由不能超过 {max} 个字符")
M_INVALID = N_("提交的内容有误，请按提示修改")
M_STALE = N_("该授权已被他人处理，请刷新页面后重试")
REASON_MAX = 2000

NOTICE_REVOKED = N_("共享授权已撤销：{name}")
NOTICE_REVOKED_BODY = N_("撤销理由：{reason}")
NOTICE_EXPIRED = N_("共享授权已到期：{name}")
NOTICE_EXPIRED_BODY = N_("“{name}”的共享授权已于 {at} 到期；如需继续使用，请重新申请。")
NOTICE_ACTIVE = N_("共享授权已生效：{name}")


def clean_reason(text: str | None, *, field: str = "reason", required: str | None) -> str:
    """A trimmed reason; ``required`` is the message when it may not be empty."""
    reason = (text or "").strip()
    if required and not reason:
        raise ValidationFailed(M_INVALID, {field: [translate(required)]})
    if len(reason) > REASON_MAX:
        raise ValidationFailed(M_INVALID, {field: [translate(M_REASON_LONG, max=REASON_MAX)]})
    return reason


def start_of_day(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the city's time zone."""
    return dt.datetime.combine(day, dt.time(), tzinfo=TZ)


def starts_at_for(day: dt.date, now: dt.datetime) -> dt.datetime:
    """A grant asked to start on ``day`` starts now when that day has come."""
    return now if day <= local_today(now) else start_of_day(day)


def expires_at_for(day: dt.date | None) -> dt.datetime | None:
    """A grant "until ``day``" runs to the end of that day (Asia/Shanghai)."""
    return end_of_day(day) if day is not None else None


# --- writing (in the caller's transaction) ---------------------------------------------


def new_grant(
    actor: Actor,
    *,
    dataset: Dataset,
    agency_id: int,
    kind: GrantKind,
    fields: Sequence[str] | None = None,
    clear_fields: Sequence[str] = (),
    row_filter: Sequence[Sequence[Any]] = (),
    purpose: str = "",
    scenario: str = "",
    legal_basis: str = "",
    starts_at: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
    request_id: int | None = None,
    emergency_id: int | None = None,
) -> Grant:
    """An active grant with a fresh fingerprint, not yet added to a session."""
    return Grant(
        dataset_id=dataset.id,
        agency_id=agency_id,
        kind=kind,
        status=GrantStatus.ACTIVE,
        fields=list(fields) if fields is not None else None,
        clear_fields=list(clear_fields),
        row_filter=[list(condition) for condition in row_filter],
        purpose=purpose,
        scenario=scenario,
        legal_basis=legal_basis,
        starts_at=starts_at or utcnow(),
        expires_at=expires_at,
        request_id=request_id,
        emergency_id=emergency_id,
        fingerprint=new_fingerprint(),
        created_by_id=actor.user_id,
    )


def add_grants(session: Session, grants: Sequence[Grant]) -> None:
    """Insert grants in the caller's transaction (the caller commits and audits) and make
    sure the sweep job that will expire them is queued."""
    session.add_all(grants)
    session.flush()
    if grants:
        _ensure_sweep(session)


def issue_grant(session: Session, actor: Actor, **terms: Any) -> Grant:
    """One new grant (``new_grant``'s terms), inserted in the caller's transaction."""
    grant = new_grant(actor, **terms)
    add_grants(session, [grant])
    return grant


def end_grant(grant: Grant, status: GrantStatus, actor: Actor, reason: str = "") -> None:
    """Mark an active grant expired or revoked (the caller commits and audits)."""
    grant.status = status
    grant.ended_at = utcnow()
    grant.ended_by_id = actor.user_id
    grant.end_reason = reason


def _ensure_sweep(session: Session) -> None:
    from gongshu.share.jobs import ensure_sweep_job

    ensure_sweep_job(session)


# --- revoking -----------------------------------------------------------------------------


def may_revoke(actor: Actor | None, grant: Grant, dataset: Dataset) -> bool:
    """The provider's officers or the bureau that reviews the entry (for the buttons)."""
    if actor is None or grant.status is not GrantStatus.ACTIVE:
        return False
    if grant.kind is GrantKind.RETURN_FLOW:
        return False
    return rules.decides(actor, dataset.agency_id) or rules.arbitrates(actor, dataset)


def revoke_grant(session: Session, actor: Actor | None, grant_id: int, reason: str | None) -> Grant:
    """Revoke an active grant with a reason; its request (if any) becomes ``revoked``.

    The grantee body and the requester are told; so is the provider when the bureau
    revoked. Audited ``share.revoke``.
    """
    actor = require_login(actor)
    try:
        with unit_of_work(session):
            grant, dataset = get_grant(session, actor, grant_id)
            if not (rules.decides(actor, dataset.agency_id) or rules.arbitrates(actor, dataset)):
                raise PermissionDenied(M_NOT_REVOKER)
            if grant.kind is GrantKind.RETURN_FLOW:
                raise Conflict(M_RETURN_FLOW)
            text = clean_reason(reason, required=M_REASON_REQUIRED)
            session.refresh(grant, with_for_update=True)
            if grant.status is not GrantStatus.ACTIVE:
                raise Conflict(M_NOT_ACTIVE, status=rules.grant_status_label(grant.status))
            end_grant(grant, GrantStatus.REVOKED, actor, text)
            request = _request_of(session, grant)
            if request is not None:
                request.status = RequestStatus.REVOKED
                request.ended_at = grant.ended_at
                request.end_reason = text
            audience = set(rules.body_ids(session, grant.agency_id))
            if request is not None and request.requested_by_id is not None:
                audience.add(request.requested_by_id)
            if not rules.decides(actor, dataset.agency_id):
                audience |= set(rules.officer_ids(session, dataset.agency_id))
            notify(
                session,
                user_ids=audience,
                kind="share.revoked",
                title=NOTICE_REVOKED,
                body=NOTICE_REVOKED_BODY,
                link=_link(grant),
                name=dataset.title,
                reason=text,
            )
            session.flush()
            audit.record(
                session,
                actor,
                "share.revoke",
                "share_grant",
                grant.id,
                label=f"{dataset.code} {dataset.title}",
                changes={
                    "status": [GrantStatus.ACTIVE.value, GrantStatus.REVOKED.value],
                    "reason": text,
                    "kind": grant.kind.value,
                    "agency_id": grant.agency_id,
                    "request_id": grant.request_id,
                    "emergency_id": grant.emergency_id,
                },
            )
    except StaleDataError as exc:
        raise Conflict(M_STALE) from exc
    return grant


def _request_of(session: Session, grant: Grant) -> ShareRequest | None:
    if grant.request_id is None:
        return None
    return session.get(ShareRequest, grant.request_id)


def _link(grant: Grant) -> str:
    return f"/share/requests/{grant.request_id}" if grant.request_id else "/share/grants"


# --- the sweep: expiring and activating ----------------------------------------------------


def expire_due(session: Session, actor: Actor, now: dt.datetime | None = None) -> int:
    """Mark every active grant past its expiry ``expired`` (emergency grants excepted: they
    end with their emergency), with its request; tell the body. Commits; returns how many."""
    now = now or utcnow()
    stmt = (
        select(Grant)
        .where(
            Grant.status == GrantStatus.ACTIVE,
            Grant.expires_at.is_not(None),
            Grant.expires_at <= now,
            Grant.kind != GrantKind.EMERGENCY,
        )
        .order_by(Grant.id)
        .with_for_update(skip_locked=True)
    )
    count = 0
    with unit_of_work(session):
        for grant in session.scalars(stmt).all():
            dataset = session.get(Dataset, grant.dataset_id)
            assert dataset is not None
            end_grant(grant, GrantStatus.EXPIRED, actor)
            request = _request_of(session, grant)
            audience = set(rules.body_ids(session, grant.agency_id))
            if request is not None:
                request.status = RequestStatus.EXPIRED
                request.ended_at = grant.ended_at
                if request.requested_by_id is not None:
                    audience.add(request.requested_by_id)
            expired_at = grant.expires_at.astimezone(TZ) if grant.expires_at else now
            notify(
                session,
                user_ids=audience,
                kind="share.expired",
                title=NOTICE_EXPIRED,
                body=NOTICE_EXPIRED_BODY,
                link=_link(grant),
                name=dataset.title,
                at=expired_at.strftime("%Y-%m-%d %H:%M"),
            )
            session.flush()
            audit.record(
                session,
                actor,
                "share.expire",
                "share_grant",
                grant.id,
                label=f"{dataset.code} {dataset.title}",
                changes={
                    "status": [GrantStatus.ACTIVE.value, GrantStatus.EXPIRED.value],
                    "expires_at": audit.plain(grant.expires_at),
                    "kind": grant.kind.value,
                    "agency_id": grant.agency_id,
                    "request_id": grant.request_id,
                },
            )
            count += 1
    return count


def activate_due(session: Session, actor: Actor, now: dt.datetime | None = None) -> int:
    """Requests granted for a later start whose grant has now begun become ``active``."""
    now = now or utcnow()
    stmt = (
        select(ShareRequest)
        .join(Grant, Grant.id == ShareRequest.grant_id)
        .where(
            ShareRequest.status == RequestStatus.GRANTED,
            Grant.status == GrantStatus.ACTIVE,
            Grant.starts_at <= now,
        )
        .order_by(ShareRequest.id)
        .with_for_update(skip_locked=True)
    )
    count = 0
    with unit_of_work(session):
        for request in session.scalars(stmt).all():
            request.status = RequestStatus.ACTIVE
            dataset = request.dataset
            audience = set(rules.body_ids(session, request.agency_id))
            if request.requested_by_id is not None:
                audience.add(request.requested_by_id)
            notify(
                session,
                user_ids=audience,
                kind="share.active",
                title=NOTICE_ACTIVE,
                link=f"/share/requests/{request.id}",
                name=dataset.title,
            )
            session.flush()
            audit.record(
                session,
                actor,
                "share.activate",
                "share_request",
                request.id,
                label=f"{dataset.code} {dataset.title}",
                changes={"status": [RequestStatus.GRANTED.value, RequestStatus.ACTIVE.value]},
            )
            count += 1
    return count


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GrantRow:
    """A grant with the entry and the body it concerns (for lists)."""

    grant: Grant
    dataset: Dataset
    agency: Agency

    @property
    def live(self) -> bool:
        """Active and within its time (the gate's view, whatever the status says)."""
        now = utcnow()
        g = self.grant
        return (
            g.status is GrantStatus.ACTIVE
            and g.starts_at <= now
            and (g.expires_at is None or g.expires_at > now)
        )


def _bureau_scope(actor: Actor) -> ColumnElement[bool]:
    if rules.is_platform(actor) or (can(actor, Perm.CATALOG_REVIEW) and actor.city_scope):
        return true()
    if can(actor, Perm.CATALOG_REVIEW) and actor.region_id is not None:
        return Dataset.region_id == actor.region_id
    return false()


def _visible(actor: Actor) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = [_bureau_scope(actor)]
    if actor.agency_id is not None:
        conditions += [Grant.agency_id == actor.agency_id, Dataset.agency_id == actor.agency_id]
    return or_(false(), *conditions)


def get_grant(session: Session, actor: Actor, grant_id: int) -> tuple[Grant, Dataset]:
    """A grant the actor may see (the grantee, the provider, the bureau); else 404."""
    if not 1 <= grant_id < 2**63:
        raise NotFound(M_GRANT_NOT_FOUND)
    row = session.execute(
        select(Grant, Dataset)
        .join(Dataset, Dataset.id == Grant.dataset_id)
        .where(Grant.id == grant_id, _visible(actor))
    ).one_or_none()
    if row is None:
        raise NotFound(M_GRANT_NOT_FOUND)
    return row[0], row[1]


def get_grant_row(session: Session, actor: Actor, grant_id: int) -> GrantRow:
    """``get_grant`` with the body holding it."""
    grant, dataset = get_grant(session, actor, grant_id)
    agency = session.get(Agency, grant.agency_id)
    assert agency is not None
    return GrantRow(grant, dataset, agency)


def list_grants(
    session: Session,
    actor: Actor | None,
    *,
    scope: str = "mine",
    kind: GrantKind | None = None,
    dataset_id: int | None = None,
    emergency_id: int | None = None,
    active_only: bool = True,
    page: int = 1,
    per_page: int = 50,
) -> Page[GrantRow]:
    """Grants by ``scope``: ``mine`` (held by the actor's body), ``provided`` (on the
    body's entries), ``all`` (the bureau's region; the city bureau and the platform see
    all). Newest first; ``active_only`` keeps grants that are active and unexpired."""
    actor = require_login(actor)
    stmt = (
        select(Grant, Dataset, Agency)
        .join(Dataset, Dataset.id == Grant.dataset_id)
        .join(Agency, Agency.id == Grant.agency_id)
    )
    if scope == "mine":
        stmt = stmt.where(Grant.agency_id == (actor.agency_id or -1))
    elif scope == "provided":
        stmt = stmt.where(Dataset.agency_id == (actor.agency_id or -1))
    else:
        stmt = stmt.where(_bureau_scope(actor))
    if kind is not None:
        stmt = stmt.where(Grant.kind == kind)
    if dataset_id is not None:
        stmt = stmt.where(Grant.dataset_id == dataset_id)
    if emergency_id is not None:
        stmt = stmt.where(Grant.emergency_id == emergency_id)
    if active_only:
        now = utcnow()
        stmt = stmt.where(
            Grant.status == GrantStatus.ACTIVE,
            or_(Grant.expires_at.is_(None), Grant.expires_at > now),
        )
    page = max(1, page)
    per_page = max(1, min(per_page, 200))
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.execute(
        stmt.order_by(Grant.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page([GrantRow(g, d, a) for g, d, a in rows], total, page, per_page)
