"""Reading share requests: who sees which, the lists of each party, the running deadline
of each request, and the actions a user may take now (the buttons; the services in
``gongshu.share.requests`` check again).

Visibility: the requesting body and the provider body see their requests; a bureau admin
sees the requests on entries of its region (the city bureau and the platform see all).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, func, or_, select, true
from sqlalchemy.orm import Session, selectinload

from gongshu.auth.actor import Actor
from gongshu.auth.permissions import Perm, can, require_login
from gongshu.catalog.models import Dataset
from gongshu.errors import NotFound
from gongshu.i18n import N_
from gongshu.pagination import Page
from gongshu.share import rules
from gongshu.share.models import OPEN_REQUEST_STATUSES, RequestStatus, ShareRequest
from gongshu.workdays.calendar import local_today
from gongshu.workdays.models import Deadline
from gongshu.workdays.service import remaining_for

__all__ = [
    "ACTIONS",
    "ARBITRATE",
    "ARBITRATION_KIND",
    "DECISION_KIND",
    "DENY",
    "GRANT",
    "OBJECT",
    "OBJECTION_KIND",
    "OBJECT_TYPE",
    "REVOKE",
    "DeadlineView",
    "available_actions",
    "deadlines_of",
    "get_request",
    "list_requests",
    "objection_window",
    "open_deadline_views",
    "window_due",
]

OBJECT_TYPE = "share_request"  # the audit and deadline object of a request
DECISION_KIND = "share.decision"
OBJECTION_KIND = "share.objection"
ARBITRATION_KIND = "share.arbitration"
DEADLINE_KINDS = (DECISION_KIND, OBJECTION_KIND, ARBITRATION_KIND)
# The deadline that runs while a request is in each open status.
CURRENT_STEP = {
    RequestStatus.REQUESTED: DECISION_KIND,
    RequestStatus.DENIED: OBJECTION_KIND,
    RequestStatus.OBJECTED: ARBITRATION_KIND,
}
STEPS = {DECISION_KIND: "decision", OBJECTION_KIND: "objection", ARBITRATION_KIND: "arbitration"}

GRANT = "grant"
DENY = "deny"
OBJECT = "object"
ARBITRATE = "arbitrate"
REVOKE = "revoke"
ACTIONS: tuple[str, ...] = (GRANT, DENY, OBJECT, ARBITRATE, REVOKE)

M_NOT_FOUND = N_("共享申请不存在")


def deadlines_of(session: Session, requests: Sequence[ShareRequest]) -> dict[int, Deadline]:
    """The newest deadline of each request that has one (open or closed), by request id."""
    ids = [r.id for r in requests]
    if not ids:
        return {}
    stmt = (
        select(Deadline)
        .where(
            Deadline.object_type == OBJECT_TYPE,
            Deadline.object_id.in_(ids),
            Deadline.kind.in_(DEADLINE_KINDS),
        )
        .order_by(Deadline.id)
    )
    return {d.object_id: d for d in session.scalars(stmt)}


@dataclass(frozen=True)
class DeadlineView:
    due_on: dt.date
    rule: str
    provisional: bool
    remaining: int
    step: str
    closed_at: dt.datetime | None

    @property
    def overdue(self) -> bool:
        return self.closed_at is None and self.remaining < 0


def open_deadline_views(
    session: Session, requests: Sequence[ShareRequest], today: dt.date | None = None
) -> dict[int, DeadlineView]:
    """The running deadline of each open request (decision, objection window or
    arbitration) with the working days left, by request id."""
    statuses = {r.id: r.status for r in requests}
    found = {
        rid: d
        for rid, d in deadlines_of(session, requests).items()
        if d.closed_at is None and CURRENT_STEP.get(statuses[rid]) == d.kind
    }
    remaining = remaining_for(session, found.values(), today)
    return {
        rid: DeadlineView(
            d.due_on, d.rule, d.provisional, remaining[d.id], STEPS[d.kind], d.closed_at
        )
        for rid, d in found.items()
    }


# --- visibility ----------------------------------------------------------------------------


def _visible(actor: Actor) -> ColumnElement[bool]:
    if rules.is_platform(actor) or (can(actor, Perm.CATALOG_REVIEW) and actor.city_scope):
        return true()
    conditions: list[ColumnElement[bool]] = []
    if actor.agency_id is not None:
        conditions += [
            ShareRequest.agency_id == actor.agency_id,
            ShareRequest.provider_agency_id == actor.agency_id,
        ]
    if can(actor, Perm.CATALOG_REVIEW) and actor.region_id is not None:
        conditions.append(Dataset.region_id == actor.region_id)
    return or_(false(), *conditions)


def get_request(session: Session, actor: Actor | None, request_id: int) -> ShareRequest:
    """A request the actor may see (either body, the bureau); otherwise 404."""
    actor = require_login(actor)
    if not 1 <= request_id < 2**63:
        raise NotFound(M_NOT_FOUND)
    stmt = (
        select(ShareRequest)
        .join(Dataset, Dataset.id == ShareRequest.dataset_id)
        .where(ShareRequest.id == request_id, _visible(actor))
        .options(
            selectinload(ShareRequest.dataset).selectinload(Dataset.agency),
            selectinload(ShareRequest.agency),
            selectinload(ShareRequest.provider),
        )
    )
    request = session.scalars(stmt).one_or_none()
    if request is None:
        raise NotFound(M_NOT_FOUND)
    return request


def list_requests(
    session: Session,
    actor: Actor | None,
    *,
    box: str = "mine",
    status: RequestStatus | None = None,
    dataset_id: int | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page[ShareRequest]:
    """Requests by ``box``: ``mine`` (the actor's body asked), ``incoming`` (asked of the
    actor's body), ``arbitration`` (objections the actor arbitrates), ``all`` (everything the
    actor may see). Open ones first, then newest first."""
    actor = require_login(actor)
    stmt = (
        select(ShareRequest)
        .join(Dataset, Dataset.id == ShareRequest.dataset_id)
        .where(_visible(actor))
    )
    if box == "mine":
        stmt = stmt.where(ShareRequest.agency_id == (actor.agency_id or -1))
    elif box == "incoming":
        stmt = stmt.where(ShareRequest.provider_agency_id == (actor.agency_id or -1))
    elif box == "arbitration":
        stmt = stmt.where(ShareRequest.status == RequestStatus.OBJECTED)
        if not can(actor, Perm.CATALOG_REVIEW) and not rules.is_platform(actor):
            stmt = stmt.where(false())
    if status is not None:
        stmt = stmt.where(ShareRequest.status == status)
    if dataset_id is not None:
        stmt = stmt.where(ShareRequest.dataset_id == dataset_id)
    page = max(1, page)
    per_page = max(1, min(per_page, 100))
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    open_first = ShareRequest.status.in_(OPEN_REQUEST_STATUSES)
    rows = session.scalars(
        stmt.options(
            selectinload(ShareRequest.dataset).selectinload(Dataset.agency),
            selectinload(ShareRequest.agency),
            selectinload(ShareRequest.provider),
        )
        .order_by(open_first.desc(), ShareRequest.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(list(rows), total, page, per_page)


def available_actions(
    session: Session, actor: Actor | None, request: ShareRequest, today: dt.date | None = None
) -> list[str]:
    """What the actor may do with the request now (the buttons; the services check again)."""
    if actor is None:
        return []
    out: list[str] = []
    status = request.status
    if status is RequestStatus.REQUESTED and rules.decides(actor, request.provider_agency_id):
        out += [GRANT, DENY]
    if (
        status is RequestStatus.DENIED
        and request.objected_at is None
        and rules.is_body_user(actor, request.agency_id)
        and window_open(session, request, today or local_today())
    ):
        out.append(OBJECT)
    if status is RequestStatus.OBJECTED and rules.arbitrates(actor, request.dataset):
        out.append(ARBITRATE)
    if status in (RequestStatus.GRANTED, RequestStatus.ACTIVE) and (
        rules.decides(actor, request.provider_agency_id) or rules.arbitrates(actor, request.dataset)
    ):
        out.append(REVOKE)
    return out


def window_open(session: Session, request: ShareRequest, today: dt.date) -> bool:
    window = objection_window(session, request)
    return window is not None and today <= window.due_on


def objection_window(session: Session, request: ShareRequest) -> Deadline | None:
    stmt = select(Deadline).where(
        Deadline.object_type == OBJECT_TYPE,
        Deadline.object_id == request.id,
        Deadline.kind == OBJECTION_KIND,
    )
    return session.scalars(stmt.order_by(Deadline.id.desc())).first()


def window_due(session: Session, request: ShareRequest) -> dt.date | None:
    """The last day the requester may object (None: no refusal yet)."""
    window = objection_window(session, request)
    return window.due_on if window is not None else None
