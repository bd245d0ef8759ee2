"""JSON API of public feedback: objections and error reports, comments and rights appeals
on entries (``/feedback/…``), data demands (``/demands``) and reuses (``/reuses``).

Reads of public things need no sign-in; filing needs a signed-in user (a bearer token or
an API key); who may route, moderate and reply is checked by the services."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.errors import NotFound
from gongshu.feedback import common, demands, queries, tickets
from gongshu.feedback.models import Appeal, DataDemand, DemandStatus, Reuse, ReuseKind
from gongshu.feedback.schemas import (
    AppealDecisionIn,
    AppealIn,
    AppealRead,
    AppealStatementIn,
    CommentIn,
    CommentRead,
    DeadlineRead,
    DemandIn,
    DemandLinkIn,
    DemandPage,
    DemandRead,
    DemandReplyIn,
    FeedbackCorrectedIn,
    FeedbackIn,
    FeedbackRead,
    FeedbackReplyIn,
    MyFeedbackRead,
    QueueCountsRead,
    ReasonIn,
    ReasonOnlyIn,
    ResponseTimeRead,
    ReuseDatasetRead,
    ReuseIn,
    ReusePage,
    ReuseRead,
    RouteIn,
)
from gongshu.portal.naming import dataset_slug
from gongshu.web.deps import ActorDep, OptionalActorDep, SessionDep
from gongshu.workdays.models import Deadline

router = APIRouter(tags=["feedback"])


def deadline_read(deadline: Deadline | None, remaining: int | None) -> DeadlineRead | None:
    if deadline is None:
        return None
    return DeadlineRead(
        due_on=deadline.due_on,
        working_days=deadline.working_days,
        remaining=remaining,
        closed=deadline.closed_at is not None,
    )


def feedback_read(ticket: queries.Ticket) -> FeedbackRead:
    o = ticket.objection
    return FeedbackRead(
        id=o.id,
        kind=o.kind.value,
        dataset_id=o.dataset_id,
        dataset_title=o.dataset.title,
        agency_id=o.agency_id,
        agency_name=o.agency.name,
        field_name=o.field_name,
        text=o.reason,
        status=o.status.value,
        public_status=ticket.public_status,
        reply=o.answer,
        routed=o.routed_at is not None,
        fixed_version=o.fixed_version.number if o.fixed_version else None,
        correction_id=o.correction_id,
        deadline=deadline_read(ticket.deadline, ticket.remaining),
        created_at=o.created_at,
        answered_at=o.answered_at,
    )


def _one_ticket(session: Session, objection_id: int) -> FeedbackRead:
    return feedback_read(queries.tickets(session, [tickets.get_feedback(session, objection_id)])[0])


def comment_read(comment: object) -> CommentRead:
    return CommentRead.model_validate(comment, from_attributes=True)


def appeal_read(session: Session, appeal: Appeal) -> AppealRead:
    deadlines = queries._deadlines(
        session, tickets.APPEAL_TYPE, tickets.APPEAL_DEADLINE, [appeal.id]
    )
    left = queries._remaining(session, deadlines)
    return _appeal_read(appeal, deadlines.get(appeal.id), left.get(appeal.id))


def _appeal_read(appeal: Appeal, deadline: Deadline | None, remaining: int | None) -> AppealRead:
    return AppealRead(
        id=appeal.id,
        dataset_id=appeal.dataset_id,
        dataset_title=appeal.dataset.title,
        agency_id=appeal.agency_id,
        text=appeal.text,
        contact=appeal.contact,
        status=appeal.status.value,
        provider_statement=appeal.provider_statement,
        decision=appeal.decision,
        withdrawn=appeal.withdrawn,
        deadline=deadline_read(deadline, remaining),
        created_at=appeal.created_at,
        decided_at=appeal.decided_at,
    )


def demand_read(view: queries.DemandView) -> DemandRead:
    d = view.demand
    return DemandRead(
        id=d.id,
        title=d.title,
        description=d.description,
        wanted_fields=d.wanted_fields,
        purpose=d.purpose,
        author_name=d.author_name,
        suggested_agency_id=d.suggested_agency_id,
        agency_id=d.agency_id,
        agency_name=d.agency.name if d.agency else None,
        status=d.status.value,
        votes=d.votes,
        voted=view.voted,
        reply=d.reply,
        dataset_id=d.dataset_id,
        dataset_slug=dataset_slug(d.dataset.code) if d.dataset else None,
        deadline=deadline_read(view.deadline, view.remaining),
        created_at=d.created_at,
        replied_at=d.replied_at,
        moderation_reason=d.moderation_reason,
    )


def _demand(session: Session, actor: Actor | None, demand: DataDemand) -> DemandRead:
    session.refresh(demand)
    return demand_read(queries.demand_views(session, actor, [demand])[0])


def reuse_read(reuse: Reuse) -> ReuseRead:
    return ReuseRead(
        id=reuse.id,
        title=reuse.title,
        kind=reuse.kind,
        url=reuse.url,
        description=reuse.description,
        submitter=reuse.submitter,
        status=reuse.status.value,
        moderation_reason=reuse.moderation_reason,
        datasets=[
            ReuseDatasetRead(id=d.id, title=d.title, slug=dataset_slug(d.code))
            for d in reuse.datasets
        ],
        created_at=reuse.created_at,
    )


# --- the bureau's figures ---------------------------------------------------------------------


@router.get(
    "/feedback/queues",
    response_model=QueueCountsRead,
    summary="Items waiting in the bureau's moderation queues",
)
def queue_counts(session: SessionDep, actor: ActorDep) -> QueueCountsRead:
    return QueueCountsRead(**queries.moderation_queues(session, actor).counts())


@router.get(
    "/feedback/response-times",
    response_model=list[ResponseTimeRead],
    summary="Response-time figures per agency",
)
def response_times(
    session: SessionDep,
    actor: ActorDep,
    since: Annotated[dt.date | None, Query(description="Deadlines started on or after")] = None,
) -> list[ResponseTimeRead]:
    """Replies to the public (objections, demands, appeals) per agency: on time, late,
    open and overdue, and the median working days to reply. The bureau."""
    common.moderator(actor)
    return [
        ResponseTimeRead(
            agency_id=r.agency_id,
            agency_name=r.agency_name,
            total=r.total,
            replied=r.replied,
            on_time=r.on_time,
            late=r.late,
            open_overdue=r.open_overdue,
            open_in_time=r.open_in_time,
            median_working_days=r.median_working_days,
        )
        for r in queries.response_times(session, since=since)
    ]


# --- objections and error reports ----------------------------------------------------------


@router.get(
    "/feedback/datasets/{dataset_id}",
    response_model=list[FeedbackRead],
    summary="Objections and error reports on a public entry",
)
def list_feedback(
    session: SessionDep, actor: OptionalActorDep, dataset_id: int
) -> list[FeedbackRead]:
    """Routed tickets with their public status and reply, newest first; a signed-in user
    also sees its own tickets not yet routed."""
    common.public_entry(session, dataset_id)
    return [
        feedback_read(t) for t in queries.public_feedback_for_dataset(session, dataset_id, actor)
    ]


@router.post(
    "/feedback/datasets/{dataset_id}",
    response_model=FeedbackRead,
    status_code=status.HTTP_201_CREATED,
    summary="File an objection or error report",
)
def file_feedback(
    session: SessionDep, actor: ActorDep, dataset_id: int, data: FeedbackIn
) -> FeedbackRead:
    objection = tickets.file_feedback(session, actor, dataset_id, data)
    return _one_ticket(session, objection.id)


@router.get("/feedback/mine", response_model=MyFeedbackRead, summary="What I have sent")
def my_feedback(session: SessionDep, actor: ActorDep) -> MyFeedbackRead:
    """The caller's objections and error reports, demands, comments, rights appeals and
    reuses, newest first and at most 200 of each, in every status: also those not yet
    routed, and those held or refused by moderation (with the reason)."""
    mine = queries.my_feedback(session, actor)
    return MyFeedbackRead(
        tickets=[feedback_read(t) for t in mine.tickets],
        demands=[demand_read(v) for v in mine.demands],
        comments=[comment_read(c) for c in mine.comments],
        appeals=[
            _appeal_read(a, mine.appeal_deadlines.get(a.id), mine.appeal_remaining.get(a.id))
            for a in mine.appeals
        ],
        reuses=[reuse_read(r) for r in mine.reuses],
    )


@router.get("/feedback/{objection_id}", response_model=FeedbackRead, summary="One ticket")
def get_feedback(session: SessionDep, actor: OptionalActorDep, objection_id: int) -> FeedbackRead:
    objection = tickets.get_feedback(session, objection_id)
    if not tickets.may_see_feedback(actor, objection):
        raise NotFound(tickets.M_NOT_FOUND)
    return _one_ticket(session, objection_id)


@router.post(
    "/feedback/{objection_id}/route",
    response_model=FeedbackRead,
    summary="Route a ticket to the provider (bureau)",
)
def route_feedback(
    session: SessionDep, actor: ActorDep, objection_id: int, data: RouteIn
) -> FeedbackRead:
    tickets.route_feedback(session, actor, objection_id, data)
    return _one_ticket(session, objection_id)


@router.post(
    "/feedback/{objection_id}/screen-out",
    response_model=FeedbackRead,
    summary="Decline to route a ticket, with a reason (bureau)",
)
def screen_out_feedback(
    session: SessionDep, actor: ActorDep, objection_id: int, data: ReasonOnlyIn
) -> FeedbackRead:
    tickets.screen_out_feedback(session, actor, objection_id, data.reason)
    return _one_ticket(session, objection_id)


@router.post(
    "/feedback/{objection_id}/reply",
    response_model=FeedbackRead,
    summary="Reply publicly to a ticket (provider)",
)
def reply_feedback(
    session: SessionDep, actor: ActorDep, objection_id: int, data: FeedbackReplyIn
) -> FeedbackRead:
    tickets.reply_feedback(session, actor, objection_id, data)
    return _one_ticket(session, objection_id)


@router.post(
    "/feedback/{objection_id}/corrected",
    response_model=FeedbackRead,
    summary="Link the version or correction ticket that corrected it (provider)",
)
def mark_corrected(
    session: SessionDep, actor: ActorDep, objection_id: int, data: FeedbackCorrectedIn
) -> FeedbackRead:
    tickets.mark_corrected(session, actor, objection_id, data)
    return _one_ticket(session, objection_id)


# --- comments and appeals ---------------------------------------------------------------------


@router.get(
    "/feedback/datasets/{dataset_id}/comments",
    response_model=list[CommentRead],
    summary="Approved comments on a public entry",
)
def list_comments(session: SessionDep, dataset_id: int) -> list[CommentRead]:
    common.public_entry(session, dataset_id)
    return [comment_read(c) for c in queries.approved_comments(session, dataset_id)]


@router.post(
    "/feedback/datasets/{dataset_id}/comments",
    response_model=CommentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Comment on a public entry (shown once approved)",
)
def post_comment(
    session: SessionDep, actor: ActorDep, dataset_id: int, data: CommentIn
) -> CommentRead:
    return comment_read(tickets.post_comment(session, actor, dataset_id, data))


@router.post(
    "/feedback/comments/{comment_id}/moderate",
    response_model=CommentRead,
    summary="Approve or reject a comment (bureau)",
)
def moderate_comment(
    session: SessionDep, actor: ActorDep, comment_id: int, data: ReasonIn
) -> CommentRead:
    return comment_read(tickets.moderate_comment(session, actor, comment_id, data))


@router.post(
    "/feedback/datasets/{dataset_id}/appeals",
    response_model=AppealRead,
    status_code=status.HTTP_201_CREATED,
    summary="File a rights appeal against a public entry",
)
def file_appeal(
    session: SessionDep, actor: ActorDep, dataset_id: int, data: AppealIn
) -> AppealRead:
    return appeal_read(session, tickets.file_appeal(session, actor, dataset_id, data))


@router.get(
    "/feedback/appeals/{appeal_id}",
    response_model=AppealRead,
    summary="One rights appeal (appellant, bureau, provider)",
)
def get_appeal(session: SessionDep, actor: ActorDep, appeal_id: int) -> AppealRead:
    return appeal_read(session, tickets.get_appeal(session, actor, appeal_id))


@router.post(
    "/feedback/appeals/{appeal_id}/statement",
    response_model=AppealRead,
    summary="The provider's statement on an appeal",
)
def state_on_appeal(
    session: SessionDep, actor: ActorDep, appeal_id: int, data: AppealStatementIn
) -> AppealRead:
    return appeal_read(session, tickets.state_on_appeal(session, actor, appeal_id, data))


@router.post(
    "/feedback/appeals/{appeal_id}/decide",
    response_model=AppealRead,
    summary="Decide an appeal, perhaps taking the entry off the portal (bureau)",
)
def decide_appeal(
    session: SessionDep, actor: ActorDep, appeal_id: int, data: AppealDecisionIn
) -> AppealRead:
    return appeal_read(session, tickets.decide_appeal(session, actor, appeal_id, data))


# --- data demands -----------------------------------------------------------------------------


@router.get("/demands", response_model=DemandPage, summary="Data demands")
def list_demands(
    session: SessionDep,
    actor: OptionalActorDep,
    status_: Annotated[DemandStatus | None, Query(alias="status")] = None,
    sort: Annotated[str, Query(pattern="^(votes|newest)$")] = "votes",
    mine: bool = False,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 20,
) -> DemandPage:
    """Public demands (routed or answered), most votes first; ``mine=true``: the caller's
    own in any status."""
    found = queries.list_demands(
        session, actor, status=status_, sort=sort, mine=mine, page=page, per_page=per_page
    )
    return DemandPage(
        items=[demand_read(v) for v in found.items],
        total=found.total,
        page=found.page,
        per_page=found.per_page,
    )


@router.post(
    "/demands",
    response_model=DemandRead,
    status_code=status.HTTP_201_CREATED,
    summary="File a data demand",
)
def file_demand(session: SessionDep, actor: ActorDep, data: DemandIn) -> DemandRead:
    return _demand(session, actor, demands.file_demand(session, actor, data))


@router.get("/demands/{demand_id}", response_model=DemandRead, summary="One data demand")
def get_demand(session: SessionDep, actor: OptionalActorDep, demand_id: int) -> DemandRead:
    return _demand(session, actor, demands.get_demand(session, actor, demand_id))


@router.post("/demands/{demand_id}/vote", response_model=DemandRead, summary="Vote for a demand")
def vote(session: SessionDep, actor: ActorDep, demand_id: int) -> DemandRead:
    return _demand(session, actor, demands.vote(session, actor, demand_id))


@router.post(
    "/demands/{demand_id}/route", response_model=DemandRead, summary="Route a demand (bureau)"
)
def route_demand(session: SessionDep, actor: ActorDep, demand_id: int, data: RouteIn) -> DemandRead:
    return _demand(session, actor, demands.route_demand(session, actor, demand_id, data))


@router.post(
    "/demands/{demand_id}/reject",
    response_model=DemandRead,
    summary="Reject a pending demand with a reason (bureau)",
)
def reject_demand(
    session: SessionDep, actor: ActorDep, demand_id: int, data: ReasonOnlyIn
) -> DemandRead:
    return _demand(session, actor, demands.reject_demand(session, actor, demand_id, data.reason))


@router.post(
    "/demands/{demand_id}/reply",
    response_model=DemandRead,
    summary="Accept or decline a demand (the agency it was routed to)",
)
def reply_demand(
    session: SessionDep, actor: ActorDep, demand_id: int, data: DemandReplyIn
) -> DemandRead:
    return _demand(session, actor, demands.reply_demand(session, actor, demand_id, data))


@router.post(
    "/demands/{demand_id}/link",
    response_model=DemandRead,
    summary="Name the entry that opened an accepted demand's data",
)
def link_demand(
    session: SessionDep, actor: ActorDep, demand_id: int, data: DemandLinkIn
) -> DemandRead:
    return _demand(
        session, actor, demands.link_demand_entry(session, actor, demand_id, data.dataset_id)
    )


# --- reuses ------------------------------------------------------------------------------------


@router.get("/reuses", response_model=ReusePage, summary="Approved reuses")
def list_reuses(
    session: SessionDep,
    kind: ReuseKind | None = None,
    dataset_id: int | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 20,
) -> ReusePage:
    """Newest first; ``dataset_id``: those built on one entry."""
    found = queries.list_reuses(session, kind, dataset_id=dataset_id, page=page, per_page=per_page)
    return ReusePage(
        items=[reuse_read(r) for r in found.items],
        total=found.total,
        page=found.page,
        per_page=found.per_page,
    )


@router.post(
    "/reuses",
    response_model=ReuseRead,
    status_code=status.HTTP_201_CREATED,
    summary="Submit a reuse (shown once approved)",
)
def submit_reuse(session: SessionDep, actor: ActorDep, data: ReuseIn) -> ReuseRead:
    return reuse_read(demands.submit_reuse(session, actor, data))


@router.get("/reuses/{reuse_id}", response_model=ReuseRead, summary="One reuse")
def get_reuse(session: SessionDep, actor: OptionalActorDep, reuse_id: int) -> ReuseRead:
    return reuse_read(demands.get_reuse(session, actor, reuse_id))


@router.post(
    "/reuses/{reuse_id}/moderate",
    response_model=ReuseRead,
    summary="Approve or reject a reuse (bureau)",
)
def moderate_reuse(
    session: SessionDep, actor: ActorDep, reuse_id: int, data: ReasonIn
) -> ReuseRead:
    return reuse_read(demands.moderate_reuse(session, actor, reuse_id, data))
