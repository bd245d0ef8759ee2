"""Data demands (需求征集) and reuses (利用成果).

A demand::

    pending ──bureau routes to an agency──▶ routed ──agency replies within
       │                                     GONGSHU_DEMAND_REPLY_DAYS working days──▶
       │                                     accepted (with the entry once opened) | declined
       └──bureau rejects (with a reason)──▶ rejected

Anyone reads routed and answered demands; the filer also sees its own pending or rejected
ones. Signed-in users vote, once per demand. A reuse is shown once the bureau approves it,
on the list page and on every entry it uses. Every write records one ``feedback.*`` audit
entry.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gongshu.audit.service import record
from gongshu.auth.actor import Actor
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import Conflict, NotFound, ValidationFailed
from gongshu.feedback import common
from gongshu.feedback.models import (
    DataDemand,
    DemandStatus,
    DemandVote,
    ModerationStatus,
    Reuse,
    ReuseDataset,
)
from gongshu.feedback.schemas import DemandIn, DemandReplyIn, ReasonIn, ReuseIn, RouteIn
from gongshu.i18n import N_, translate
from gongshu.orgs.models import Agency
from gongshu.settings import get_settings
from gongshu.workdays.calendar import local_today
from gongshu.workdays.service import close_deadline, open_deadline

DEMAND_TYPE = "feedback_demand"
DEMAND_DEADLINE = "feedback.demand"
#: The bureau's deadline to route (or reject) a demand, from the day it is filed.
DEMAND_ROUTE_DEADLINE = "feedback.demand_route"
REUSE_TYPE = "feedback_reuse"
PUBLIC_DEMAND_STATUSES = (DemandStatus.ROUTED, DemandStatus.ACCEPTED, DemandStatus.DECLINED)

M_DEMAND_NOT_FOUND = N_("数据需求不存在")
M_REUSE_NOT_FOUND = N_("利用成果不存在")
M_NO_AGENCY = N_("单位不存在")
M_AGENCY_REQUIRED = N_("请选择承办单位")
M_STATE = N_("当前状态为“{state}”，不能执行该操作")
M_VOTED = N_("您已经投过票了")
M_NOT_PUBLIC = N_("只能为已公开的需求投票")

NOTICE_DEMAND_FILED = N_("收到数据需求：{name}")
NOTICE_DEMAND_ROUTED = N_("请答复数据需求：{name}")
NOTICE_DEMAND_ROUTED_BODY = N_("请在 {due} 前答复公众提出的数据需求。")
NOTICE_DEMAND_REJECTED = N_("您的数据需求未通过审核：{name}")
NOTICE_DEMAND_REPLIED = N_("您的数据需求已答复：{name}")
NOTICE_REUSE_SUBMITTED = N_("收到利用成果：{name}")
NOTICE_REUSE_DECIDED = N_("利用成果审核结果：{name}")

DEMAND_STATUS_LABELS = {
    DemandStatus.PENDING: N_("待审核"),
    DemandStatus.ROUTED: N_("办理中"),
    DemandStatus.ACCEPTED: N_("已采纳"),
    DemandStatus.DECLINED: N_("不予采纳"),
    DemandStatus.REJECTED: N_("未通过审核"),
}


def demand_status_label(status: DemandStatus | str) -> str:
    return translate(DEMAND_STATUS_LABELS.get(DemandStatus(status), str(status)))


def _state(status: DemandStatus) -> Conflict:
    return Conflict(M_STATE, state=demand_status_label(status))


def _agency(session: Session, agency_id: int | None, field: str) -> Agency | None:
    if agency_id is None:
        return None
    agency = session.get(Agency, agency_id) if 0 < agency_id < 2**31 else None
    if agency is None:
        raise ValidationFailed.single(field, M_NO_AGENCY)
    return agency


def may_see_demand(actor: Actor | None, demand: DataDemand) -> bool:
    if demand.status in PUBLIC_DEMAND_STATUSES:
        return True
    if actor is None:
        return False
    return (
        demand.created_by_id == actor.user_id
        or common.may_moderate(actor, city=True)
        or common.answers_for(actor, demand.agency_id)
    )


def get_demand(session: Session, actor: Actor | None, demand_id: int) -> DataDemand:
    demand = session.get(DataDemand, demand_id) if 0 < demand_id < 2**31 else None
    if demand is None or not may_see_demand(actor, demand):
        raise NotFound(M_DEMAND_NOT_FOUND)
    return demand


def _audit(session: Session, actor: Actor, action: str, d: DataDemand, **changes: object) -> None:
    record(
        session,
        actor,
        action,
        DEMAND_TYPE,
        d.id,
        label=d.title,
        changes={k: v for k, v in changes.items() if v is not None},
    )


def file_demand(session: Session, actor: Actor | None, data: DemandIn) -> DataDemand:
    """A signed-in user asks for data; the bureau screens and routes it."""
    actor = common.filer(actor)
    _agency(session, data.suggested_agency_id, "suggested_agency_id")
    with unit_of_work(session):
        demand = DataDemand(
            title=data.title,
            description=data.description,
            wanted_fields=data.wanted_fields,
            purpose=data.purpose,
            suggested_agency_id=data.suggested_agency_id,
            author_name=actor.name,
            created_by_id=actor.user_id,
        )
        session.add(demand)
        session.flush()
        common.open_routing_deadline(session, DEMAND_TYPE, demand.id, DEMAND_ROUTE_DEADLINE)
        common.tell(
            session,
            common.bureau(session),
            "feedback.demand",
            NOTICE_DEMAND_FILED,
            link="/moderation",
            name=data.title,
        )
        _audit(
            session,
            actor,
            "feedback.demand_file",
            demand,
            title=[None, data.title],
            suggested_agency_id=data.suggested_agency_id,
        )
    return demand


def route_demand(
    session: Session,
    actor: Actor | None,
    demand_id: int,
    data: RouteIn,
    *,
    today: dt.date | None = None,
) -> DataDemand:
    """The bureau routes a pending demand to an agency (default: the one suggested); the
    reply's deadline starts and the demand becomes public."""
    with unit_of_work(session):
        actor = common.moderator(actor, city=True)
        demand = get_demand(session, actor, demand_id)
        session.refresh(demand, with_for_update=True)
        if demand.status is not DemandStatus.PENDING:
            raise _state(demand.status)
        agency = _agency(session, data.agency_id or demand.suggested_agency_id, "agency_id")
        if agency is None:
            raise ValidationFailed.single("agency_id", M_AGENCY_REQUIRED)
        demand.agency_id = agency.id
        demand.status = DemandStatus.ROUTED
        demand.routed_at = utcnow()
        demand.routed_by_id = actor.user_id
        close_deadline(
            session, object_type=DEMAND_TYPE, object_id=demand.id, kind=DEMAND_ROUTE_DEADLINE
        )
        days = get_settings().demand_reply_days
        deadline = open_deadline(
            session,
            object_type=DEMAND_TYPE,
            object_id=demand.id,
            kind=DEMAND_DEADLINE,
            start=today or local_today(),
            working_days=days,
        )
        common.tell(
            session,
            common.officers(session, agency.id),
            "feedback.demand",
            NOTICE_DEMAND_ROUTED,
            NOTICE_DEMAND_ROUTED_BODY,
            link=f"/demands/{demand.id}",
            name=demand.title,
            due=deadline.due_on.isoformat(),
        )
        _audit(
            session,
            actor,
            "feedback.demand_route",
            demand,
            status=["pending", "routed"],
            agency_id=[None, agency.id],
            due_on=[None, deadline.due_on.isoformat()],
            working_days=days,
        )
    return demand


def reject_demand(session: Session, actor: Actor | None, demand_id: int, reason: str) -> DataDemand:
    """The bureau does not take up a pending demand (duplicate, not a data request …)."""
    reason = common.reason_required(reason)
    with unit_of_work(session):
        actor = common.moderator(actor, city=True)
        demand = get_demand(session, actor, demand_id)
        session.refresh(demand, with_for_update=True)
        if demand.status is not DemandStatus.PENDING:
            raise _state(demand.status)
        demand.status = DemandStatus.REJECTED
        demand.moderation_reason = reason
        close_deadline(
            session, object_type=DEMAND_TYPE, object_id=demand.id, kind=DEMAND_ROUTE_DEADLINE
        )
        common.tell(
            session,
            [demand.created_by_id],
            "feedback.demand",
            NOTICE_DEMAND_REJECTED,
            reason,
            link=f"/demands/{demand.id}",
            name=demand.title,
        )
        _audit(
            session,
            actor,
            "feedback.demand_reject",
            demand,
            status=["pending", "rejected"],
            reason=[None, reason],
        )
    return demand


def reply_demand(
    session: Session, actor: Actor | None, demand_id: int, data: DemandReplyIn
) -> DataDemand:
    """The agency accepts (naming the entry if it is already open) or declines with its
    reason; the deadline closes."""
    with unit_of_work(session):
        demand = get_demand(session, actor, demand_id)
        actor = common.responder(actor, demand.agency_id)
        session.refresh(demand, with_for_update=True)
        if demand.status is not DemandStatus.ROUTED:
            raise _state(demand.status)
        if data.dataset_id is not None:
            if data.decision != "accept":
                raise ValidationFailed.single("dataset_id", common.M_NO_ENTRY)
            demand.dataset_id = common.public_entry(session, data.dataset_id).id
        demand.status = (
            DemandStatus.ACCEPTED if data.decision == "accept" else DemandStatus.DECLINED
        )
        demand.reply = data.reply
        demand.replied_at = utcnow()
        demand.replied_by_id = actor.user_id
        close_deadline(session, object_type=DEMAND_TYPE, object_id=demand.id, kind=DEMAND_DEADLINE)
        voters = session.scalars(
            select(DemandVote.user_id).where(DemandVote.demand_id == demand.id)
        ).all()
        common.tell(
            session,
            [demand.created_by_id, *voters],
            "feedback.demand",
            NOTICE_DEMAND_REPLIED,
            data.reply,
            link=f"/demands/{demand.id}",
            name=demand.title,
        )
        _audit(
            session,
            actor,
            "feedback.demand_reply",
            demand,
            status=["routed", demand.status.value],
            reply=[None, data.reply],
            dataset_id=demand.dataset_id,
        )
    return demand


def link_demand_entry(
    session: Session, actor: Actor | None, demand_id: int, dataset_id: int
) -> DataDemand:
    """The agency names the entry that opened an accepted demand's data."""
    with unit_of_work(session):
        demand = get_demand(session, actor, demand_id)
        actor = common.responder(actor, demand.agency_id)
        if demand.status is not DemandStatus.ACCEPTED:
            raise _state(demand.status)
        dataset = common.public_entry(session, dataset_id)
        before = demand.dataset_id
        demand.dataset_id = dataset.id
        common.tell(
            session,
            [demand.created_by_id],
            "feedback.demand",
            NOTICE_DEMAND_REPLIED,
            link=f"/demands/{demand.id}",
            name=demand.title,
        )
        _audit(session, actor, "feedback.demand_link", demand, dataset_id=[before, dataset.id])
    return demand


def vote(session: Session, actor: Actor | None, demand_id: int) -> DataDemand:
    """A signed-in user supports a public demand, once."""
    actor = common.filer(actor)
    demand = get_demand(session, actor, demand_id)
    if demand.status not in PUBLIC_DEMAND_STATUSES:
        raise Conflict(M_NOT_PUBLIC)
    already = session.scalar(
        select(DemandVote.id).where(
            DemandVote.demand_id == demand.id, DemandVote.user_id == actor.user_id
        )
    )
    if already is not None:
        raise Conflict(M_VOTED)
    try:
        with unit_of_work(session):
            session.add(DemandVote(demand_id=demand.id, user_id=actor.user_id))
            session.flush()
            # Counted in SQL so that two voters at once both count.
            session.execute(
                update(DataDemand)
                .where(DataDemand.id == demand.id)
                .values(votes=DataDemand.votes + 1)
            )
            record(
                session, actor, "feedback.demand_vote", DEMAND_TYPE, demand.id, label=demand.title
            )
    except IntegrityError as exc:  # the same user's second vote, raced
        raise Conflict(M_VOTED) from exc
    session.refresh(demand)
    return demand


def has_voted(session: Session, actor: Actor | None, demand_ids: list[int]) -> set[int]:
    if actor is None or not actor.user_id or not demand_ids:
        return set()
    return set(
        session.scalars(
            select(DemandVote.demand_id).where(
                DemandVote.user_id == actor.user_id, DemandVote.demand_id.in_(demand_ids)
            )
        )
    )


# --- reuses ------------------------------------------------------------------------------------


def get_reuse(session: Session, actor: Actor | None, reuse_id: int) -> Reuse:
    reuse = session.get(Reuse, reuse_id) if 0 < reuse_id < 2**31 else None
    if reuse is None:
        raise NotFound(M_REUSE_NOT_FOUND)
    visible = reuse.status is ModerationStatus.APPROVED or (
        actor is not None
        and (reuse.created_by_id == actor.user_id or common.may_moderate(actor, city=True))
    )
    if not visible:
        raise NotFound(M_REUSE_NOT_FOUND)
    return reuse


def submit_reuse(session: Session, actor: Actor | None, data: ReuseIn) -> Reuse:
    """A signed-in user submits an app, report, service or study built on public entries;
    it shows once the bureau approves it."""
    actor = common.filer(actor)
    ids = list(dict.fromkeys(data.dataset_ids))
    for dataset_id in ids:
        common.public_entry(session, dataset_id)
    with unit_of_work(session):
        reuse = Reuse(
            title=data.title,
            kind=data.kind,
            url=data.url,
            description=data.description,
            submitter=data.submitter,
            created_by_id=actor.user_id,
        )
        session.add(reuse)
        session.flush()
        session.add_all(ReuseDataset(reuse_id=reuse.id, dataset_id=i) for i in ids)
        common.tell(
            session,
            common.bureau(session),
            "feedback.reuse",
            NOTICE_REUSE_SUBMITTED,
            link="/moderation",
            name=data.title,
        )
        record(
            session,
            actor,
            "feedback.reuse_submit",
            REUSE_TYPE,
            reuse.id,
            label=data.title,
            changes={"kind": [None, data.kind.value], "url": [None, data.url], "datasets": ids},
        )
    session.refresh(reuse)
    return reuse


def moderate_reuse(session: Session, actor: Actor | None, reuse_id: int, data: ReasonIn) -> Reuse:
    """The bureau approves a reuse (it shows) or rejects it with a reason."""
    reason = common.reason_required(data.reason) if data.decision == "reject" else data.reason
    with unit_of_work(session):
        actor = common.moderator(actor, city=True)
        reuse = get_reuse(session, actor, reuse_id)
        session.refresh(reuse, with_for_update=True)
        if reuse.status is not ModerationStatus.PENDING:
            raise Conflict(M_STATE, state=reuse.status.value)
        reuse.status = (
            ModerationStatus.APPROVED if data.decision == "approve" else ModerationStatus.REJECTED
        )
        reuse.moderation_reason = reason
        reuse.moderated_by_id = actor.user_id
        reuse.moderated_at = utcnow()
        common.tell(
            session,
            [reuse.created_by_id],
            "feedback.reuse",
            NOTICE_REUSE_DECIDED,
            reason,
            link=f"/reuses/{reuse.id}",
            name=reuse.title,
        )
        record(
            session,
            actor,
            f"feedback.reuse_{data.decision}",
            REUSE_TYPE,
            reuse.id,
            label=reuse.title,
            changes={"status": ["pending", reuse.status.value], "reason": reason or None},
        )
    return reuse
