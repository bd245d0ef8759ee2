"""Reads of public feedback shared by pages, API and CLI: what an entry's page shows, the
public lists, the bureau's moderation queues, an agency's replies to make, and the
response-time figures per agency."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, desc, func, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session, selectinload

from gongshu.auth.actor import Actor
from gongshu.catalog.models import Dataset
from gongshu.feedback import common
from gongshu.feedback.demands import (
    DEMAND_DEADLINE,
    DEMAND_ROUTE_DEADLINE,
    DEMAND_TYPE,
    PUBLIC_DEMAND_STATUSES,
)
from gongshu.feedback.models import (
    Appeal,
    AppealStatus,
    Comment,
    DataDemand,
    DemandStatus,
    ModerationStatus,
    Reuse,
    ReuseDataset,
    ReuseKind,
)
from gongshu.feedback.schemas import PublicStatus
from gongshu.feedback.tickets import (
    APPEAL_DEADLINE,
    APPEAL_TYPE,
    FEEDBACK_DEADLINE,
    OBJECT_TYPE,
    ROUTE_DEADLINE,
    public_status,
)
from gongshu.governance.models import PUBLIC_OBJECTION_KINDS, Objection, ObjectionStatus
from gongshu.orgs.models import Agency
from gongshu.pagination import Page
from gongshu.workdays.calendar import WorkdayCalendar, local_today
from gongshu.workdays.models import Deadline

#: Deadline kinds of replies to the public, with the object type they sit on.
REPLY_KINDS = {
    FEEDBACK_DEADLINE: OBJECT_TYPE,
    DEMAND_DEADLINE: DEMAND_TYPE,
    APPEAL_DEADLINE: APPEAL_TYPE,
}


@dataclass(frozen=True)
class Ticket:
    """A public ticket with what the portal shows about it."""

    objection: Objection
    public_status: PublicStatus
    deadline: Deadline | None
    remaining: int | None


def _deadlines(
    session: Session, object_type: str, kind: str, ids: Sequence[int]
) -> dict[int, Deadline]:
    """The latest deadline of each object (open or closed)."""
    if not ids:
        return {}
    found: dict[int, Deadline] = {}
    stmt = (
        select(Deadline)
        .where(
            Deadline.object_type == object_type,
            Deadline.kind == kind,
            Deadline.object_id.in_(list(ids)),
        )
        .order_by(Deadline.id)
    )
    for deadline in session.scalars(stmt):
        found[deadline.object_id] = deadline
    return found


def _remaining(
    session: Session, deadlines: dict[int, Deadline], today: dt.date | None = None
) -> dict[int, int]:
    calendar = WorkdayCalendar(session)
    day = today or local_today()
    return {
        oid: calendar.remaining(d.due_on, day)
        for oid, d in deadlines.items()
        if d.closed_at is None
    }


def tickets(
    session: Session, objections: Sequence[Objection], today: dt.date | None = None
) -> list[Ticket]:
    ids = [o.id for o in objections]
    deadlines = _deadlines(session, OBJECT_TYPE, FEEDBACK_DEADLINE, ids)
    left = _remaining(session, deadlines, today)
    linked = [o.correction_id for o in objections if o.correction_id is not None]
    corrections = (
        {c.id: c for c in session.scalars(select(Objection).where(Objection.id.in_(linked)))}
        if linked
        else {}
    )
    return [
        Ticket(
            o,
            public_status(o, corrections.get(o.correction_id) if o.correction_id else None),
            deadlines.get(o.id),
            left.get(o.id),
        )
        for o in objections
    ]


def _ticket_query() -> Select[Objection]:
    return (
        select(Objection)
        .where(Objection.kind.in_(PUBLIC_OBJECTION_KINDS))
        .options(selectinload(Objection.dataset), selectinload(Objection.agency))
    )


def public_feedback_for_dataset(
    session: Session, dataset_id: int, actor: Actor | None = None, *, limit: int = 50
) -> list[Ticket]:
    """An entry's routed tickets, newest first, plus the actor's own not yet routed."""
    cond: ColumnElement[bool] = Objection.routed_at.is_not(None)
    if actor is not None and actor.user_id:
        cond = or_(cond, Objection.created_by_id == actor.user_id)
    stmt = (
        _ticket_query()
        .where(Objection.dataset_id == dataset_id, cond)
        .order_by(Objection.id.desc())
        .limit(limit)
    )
    return tickets(session, list(session.scalars(stmt)))


def approved_comments(session: Session, dataset_id: int, *, limit: int = 50) -> list[Comment]:
    stmt = (
        select(Comment)
        .where(Comment.dataset_id == dataset_id, Comment.status == ModerationStatus.APPROVED)
        .order_by(Comment.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def _approved_reuses() -> Select[Reuse]:
    return (
        select(Reuse)
        .where(Reuse.status == ModerationStatus.APPROVED)
        .options(selectinload(Reuse.datasets))
    )


def reuses_for_dataset(session: Session, dataset_id: int) -> list[Reuse]:
    """The approved reuses built on an entry, newest first (for the entry's page)."""
    stmt = (
        _approved_reuses()
        .where(
            Reuse.id.in_(select(ReuseDataset.reuse_id).where(ReuseDataset.dataset_id == dataset_id))
        )
        .order_by(Reuse.id.desc())
    )
    return list(session.scalars(stmt))


def list_reuses(
    session: Session,
    kind: ReuseKind | None = None,
    *,
    dataset_id: int | None = None,
    page: int = 1,
    per_page: int = 20,
) -> Page[Reuse]:
    """Approved reuses, newest first; ``dataset_id``: those built on one entry."""
    stmt = _approved_reuses()
    if kind is not None:
        stmt = stmt.where(Reuse.kind == kind)
    if dataset_id is not None:
        stmt = stmt.where(
            Reuse.id.in_(select(ReuseDataset.reuse_id).where(ReuseDataset.dataset_id == dataset_id))
        )
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    stmt = stmt.order_by(Reuse.id.desc()).limit(per_page).offset((page - 1) * per_page)
    return Page(list(session.scalars(stmt)), total, page, per_page)


@dataclass(frozen=True)
class DemandView:
    demand: DataDemand
    deadline: Deadline | None
    remaining: int | None
    voted: bool


def demand_views(
    session: Session, actor: Actor | None, demands: Sequence[DataDemand]
) -> list[DemandView]:
    from gongshu.feedback.demands import has_voted

    ids = [d.id for d in demands]
    deadlines = _deadlines(session, DEMAND_TYPE, DEMAND_DEADLINE, ids)
    left = _remaining(session, deadlines)
    voted = has_voted(session, actor, ids)
    return [DemandView(d, deadlines.get(d.id), left.get(d.id), d.id in voted) for d in demands]


def list_demands(
    session: Session,
    actor: Actor | None,
    *,
    status: DemandStatus | None = None,
    sort: str = "votes",
    mine: bool = False,
    page: int = 1,
    per_page: int = 20,
) -> Page[DemandView]:
    """Public demands (routed or answered), most votes (or newest) first; ``mine``: the
    actor's own, in any status."""
    stmt = select(DataDemand).options(
        selectinload(DataDemand.agency), selectinload(DataDemand.dataset)
    )
    if mine and actor is not None and actor.user_id:
        stmt = stmt.where(DataDemand.created_by_id == actor.user_id)
    else:
        stmt = stmt.where(DataDemand.status.in_(PUBLIC_DEMAND_STATUSES))
    if status is not None:
        stmt = stmt.where(DataDemand.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    order = [desc(DataDemand.votes)] if sort == "votes" else []
    stmt = stmt.order_by(*order, DataDemand.id.desc()).limit(per_page).offset((page - 1) * per_page)
    return Page(demand_views(session, actor, list(session.scalars(stmt))), total, page, per_page)


# --- what one person has sent ------------------------------------------------------------------

#: How many of each kind "my feedback" lists (newest first).
MINE_LIMIT = 200


@dataclass(frozen=True)
class Mine:
    """What one signed-in person has sent the portal, newest first, each with its status,
    reply and, where one runs, the reply deadline."""

    tickets: list[Ticket]
    demands: list[DemandView]
    comments: list[Comment]
    appeals: list[Appeal]
    appeal_deadlines: dict[int, Deadline]
    appeal_remaining: dict[int, int]
    reuses: list[Reuse]

    @property
    def empty(self) -> bool:
        return not (self.tickets or self.demands or self.comments or self.appeals or self.reuses)


def my_feedback(session: Session, actor: Actor | None, *, limit: int = MINE_LIMIT) -> Mine:
    """The actor's objections and error reports, demands, comments, rights appeals and
    reuses, in every status (also those not yet routed, or held or refused by moderation)."""
    user_id = common.filer(actor).user_id

    def newest(stmt: Select[Any], model: Any) -> list[Any]:
        stmt = stmt.where(model.created_by_id == user_id).order_by(model.id.desc()).limit(limit)
        return list(session.scalars(stmt))

    objections = newest(_ticket_query(), Objection)
    demands = newest(
        select(DataDemand).options(
            selectinload(DataDemand.agency), selectinload(DataDemand.dataset)
        ),
        DataDemand,
    )
    comments = newest(select(Comment).options(selectinload(Comment.dataset)), Comment)
    appeals = newest(select(Appeal).options(selectinload(Appeal.dataset)), Appeal)
    reuses = newest(select(Reuse).options(selectinload(Reuse.datasets)), Reuse)
    appeal_deadlines = _deadlines(session, APPEAL_TYPE, APPEAL_DEADLINE, [a.id for a in appeals])
    return Mine(
        tickets=tickets(session, objections),
        demands=demand_views(session, actor, demands),
        comments=comments,
        appeals=appeals,
        appeal_deadlines=appeal_deadlines,
        appeal_remaining=_remaining(session, appeal_deadlines),
        reuses=reuses,
    )


# --- the bureau's moderation queues and an agency's replies ------------------------------------


@dataclass
class Queues:
    """What waits for the bureau: screening and routing, moderation, appeals to decide."""

    objections: list[Ticket] = field(default_factory=list)
    demands: list[DataDemand] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)
    reuses: list[Reuse] = field(default_factory=list)
    appeals: list[tuple[Appeal, Deadline | None, int | None]] = field(default_factory=list)
    #: The routing deadline (and working days left) of each waiting ticket and demand, by id.
    objection_due: dict[int, tuple[Deadline, int | None]] = field(default_factory=dict)
    demand_due: dict[int, tuple[Deadline, int | None]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {
            "objections": len(self.objections),
            "demands": len(self.demands),
            "comments": len(self.comments),
            "reuses": len(self.reuses),
            "appeals": len(self.appeals),
        }


def _appeals(
    session: Session, stmt: Select[Appeal]
) -> list[tuple[Appeal, Deadline | None, int | None]]:
    appeals = list(session.scalars(stmt.options(selectinload(Appeal.dataset))))
    deadlines = _deadlines(session, APPEAL_TYPE, APPEAL_DEADLINE, [a.id for a in appeals])
    left = _remaining(session, deadlines)
    return [(a, deadlines.get(a.id), left.get(a.id)) for a in appeals]


def _route_due(
    session: Session, object_type: str, kind: str, ids: Sequence[int]
) -> dict[int, tuple[Deadline, int | None]]:
    deadlines = _deadlines(session, object_type, kind, ids)
    left = _remaining(session, deadlines)
    return {oid: (d, left.get(oid)) for oid, d in deadlines.items()}


def moderation_queues(session: Session, actor: Actor | None, *, limit: int = 200) -> Queues:
    """The bureau's queues, oldest first (who waits longest comes first). A district
    bureau's hold what concerns its district's entries; demands and reuses are the city
    bureau's."""
    actor = common.moderator(actor)
    city = common.may_moderate(actor, city=True)
    if city:
        in_scope: ColumnElement[bool] = true()
    else:
        in_scope = Dataset.region_id == actor.region_id
    ours = select(Dataset.id).where(in_scope)

    def oldest(stmt: Select[Any], model: Any) -> list[Any]:
        return list(session.scalars(stmt.order_by(model.id).limit(limit)))

    objections = oldest(
        _ticket_query().where(
            Objection.routed_at.is_(None),
            Objection.status == ObjectionStatus.OPEN,
            Objection.dataset_id.in_(ours),
        ),
        Objection,
    )
    objection_due = _route_due(session, OBJECT_TYPE, ROUTE_DEADLINE, [o.id for o in objections])
    pending_comments = (
        select(Comment)
        .where(Comment.status == ModerationStatus.PENDING)
        .options(selectinload(Comment.dataset))
    )
    open_appeals = select(Appeal).where(Appeal.status == AppealStatus.OPEN)
    if not city:
        return Queues(
            objection_due=objection_due,
            objections=tickets(session, objections),
            comments=oldest(pending_comments.where(Comment.dataset_id.in_(ours)), Comment),
            appeals=_appeals(
                session,
                open_appeals.where(Appeal.dataset_id.in_(ours)).order_by(Appeal.id).limit(limit),
            ),
        )
    demands = oldest(
        select(DataDemand)
        .where(DataDemand.status == DemandStatus.PENDING)
        .options(selectinload(DataDemand.suggested_agency)),
        DataDemand,
    )
    return Queues(
        objection_due=objection_due,
        demand_due=_route_due(session, DEMAND_TYPE, DEMAND_ROUTE_DEADLINE, [d.id for d in demands]),
        objections=tickets(session, objections),
        demands=demands,
        comments=oldest(pending_comments, Comment),
        reuses=oldest(
            select(Reuse)
            .where(Reuse.status == ModerationStatus.PENDING)
            .options(selectinload(Reuse.datasets)),
            Reuse,
        ),
        appeals=_appeals(session, open_appeals.order_by(Appeal.id).limit(limit)),
    )


def agency_queue(session: Session, actor: Actor | None, *, limit: int = 200) -> Queues:
    """What an agency must answer: routed tickets, routed demands, open appeals on its
    entries (the platform sees every agency's)."""
    actor = common.filer(actor)
    agency = actor.agency_id
    everyone = common.answers_for(actor, None)
    if agency is None and not everyone:
        return Queues()

    def mine(
        column: InstrumentedAttribute[int | None] | InstrumentedAttribute[int],
    ) -> ColumnElement[bool]:
        return true() if everyone else column == agency

    objections = session.scalars(
        _ticket_query()
        .where(
            Objection.routed_at.is_not(None),
            Objection.status.in_((ObjectionStatus.OPEN, ObjectionStatus.ACCEPTED)),
            mine(Objection.agency_id),
        )
        .order_by(Objection.id)
        .limit(limit)
    )
    demands = session.scalars(
        select(DataDemand)
        .where(
            DataDemand.status.in_((DemandStatus.ROUTED, DemandStatus.ACCEPTED)),
            mine(DataDemand.agency_id),
        )
        .order_by(DataDemand.id)
        .limit(limit)
    )
    return Queues(
        objections=tickets(session, list(objections)),
        demands=list(demands),
        appeals=_appeals(
            session,
            select(Appeal)
            .where(
                Appeal.status == AppealStatus.OPEN,
                mine(Appeal.agency_id),
            )
            .order_by(Appeal.id)
            .limit(limit),
        ),
    )


# --- response times ---------------------------------------------------------------------------


@dataclass
class ResponseTimes:
    """One agency's replies to the public."""

    agency_id: int
    agency_name: str
    total: int = 0
    replied: int = 0
    on_time: int = 0
    late: int = 0
    open_overdue: int = 0
    open_in_time: int = 0
    days: list[int] = field(default_factory=list)

    @property
    def overdue(self) -> int:
        return self.late + self.open_overdue

    @property
    def median_working_days(self) -> float | None:
        return float(statistics.median(self.days)) if self.days else None


def _agency_of(session: Session, deadlines: Sequence[Deadline]) -> dict[tuple[str, int], int]:
    """The answering agency of each deadline's object."""
    ids: dict[str, list[int]] = defaultdict(list)
    for d in deadlines:
        ids[d.object_type].append(d.object_id)
    found: dict[tuple[str, int], int] = {}
    if ids.get(OBJECT_TYPE):
        for oid, agency_id in session.execute(
            select(Objection.id, Objection.agency_id).where(Objection.id.in_(ids[OBJECT_TYPE]))
        ):
            found[(OBJECT_TYPE, oid)] = agency_id
    if ids.get(DEMAND_TYPE):
        for oid, maybe in session.execute(
            select(DataDemand.id, DataDemand.agency_id).where(DataDemand.id.in_(ids[DEMAND_TYPE]))
        ):
            if maybe is not None:
                found[(DEMAND_TYPE, oid)] = maybe
    if ids.get(APPEAL_TYPE):
        for oid, agency_id in session.execute(
            select(Appeal.id, Appeal.agency_id).where(Appeal.id.in_(ids[APPEAL_TYPE]))
        ):
            found[(APPEAL_TYPE, oid)] = agency_id
    return found


def response_times(
    session: Session,
    *,
    since: dt.date | None = None,
    today: dt.date | None = None,
) -> list[ResponseTimes]:
    """Per agency: replies to the public made on time and late, open ones overdue, and the
    median working days from routing to reply (closed deadlines of the reply kinds). Agencies
    with nothing to answer are left out; the slowest (most overdue) first."""
    today = today or local_today()
    stmt = select(Deadline).where(Deadline.kind.in_(list(REPLY_KINDS)))
    if since is not None:
        stmt = stmt.where(Deadline.started_on >= since)
    deadlines = list(session.scalars(stmt.order_by(Deadline.id)))
    agency_of = _agency_of(session, deadlines)
    names: dict[int, str] = {i: n for i, n in session.execute(select(Agency.id, Agency.name))}
    calendar = WorkdayCalendar(session)
    rows: dict[int, ResponseTimes] = {}
    for d in deadlines:
        agency_id = agency_of.get((d.object_type, d.object_id))
        if agency_id is None:
            continue
        row = rows.setdefault(agency_id, ResponseTimes(agency_id, names.get(agency_id, "")))
        row.total += 1
        if d.closed_at is not None:
            replied_on = local_today(d.closed_at)
            row.replied += 1
            if replied_on <= d.due_on:
                row.on_time += 1
            else:
                row.late += 1
            row.days.append(calendar.count_between(d.started_on, replied_on))
        elif today > d.due_on:
            row.open_overdue += 1
        else:
            row.open_in_time += 1
    return sorted(rows.values(), key=lambda r: (-r.overdue, r.agency_name))


@dataclass(frozen=True)
class Overdue:
    deadline: Deadline
    agency_id: int | None
    agency_name: str
    days_over: int


def overdue_replies(session: Session, today: dt.date | None = None) -> list[Overdue]:
    """Open replies to the public past their due day, the longest overdue first."""
    today = today or local_today()
    deadlines = list(
        session.scalars(
            select(Deadline)
            .where(
                Deadline.kind.in_(list(REPLY_KINDS)),
                Deadline.closed_at.is_(None),
                Deadline.due_on < today,
            )
            .order_by(Deadline.due_on, Deadline.id)
        )
    )
    agency_of = _agency_of(session, deadlines)
    names: dict[int, str] = {i: n for i, n in session.execute(select(Agency.id, Agency.name))}
    calendar = WorkdayCalendar(session)
    out = []
    for d in deadlines:
        agency_id = agency_of.get((d.object_type, d.object_id))
        out.append(
            Overdue(
                d,
                agency_id,
                names.get(agency_id, "") if agency_id else "",
                -calendar.remaining(d.due_on, today),
            )
        )
    return out


def dataset_by_ids(session: Session, ids: Sequence[int]) -> list[Dataset]:
    if not ids:
        return []
    return list(session.scalars(select(Dataset).where(Dataset.id.in_(list(ids)))))
