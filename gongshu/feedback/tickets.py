"""Objections and error reports (异议 / 纠错), comments (留言) and rights appeals (权益申诉)
on public entries.

Objections and error reports are governance ``Objection`` tickets of the public kinds, so
the provider sees them in its correction queue too::

    filed (received) ──bureau routes──▶ routed: the provider replies within
      │                                 GONGSHU_FEEDBACK_REPLY_DAYS working days
      │                                   ├─ answer ─▶ answered (replied)
      │                                   ├─ accept ─▶ accepted (replied) ──corrected──▶ fixed
      │                                   └─ reject with a reason ─▶ rejected
      └──bureau screens it out (abuse, not about the entry; a reason)──▶ rejected, never shown

The public status shown on the portal: received (open), replied (answered or accepted),
corrected (fixed, or its linked correction ticket fixed), rejected. Only routed tickets are
public; the filer's name never is.

Comments are held for moderation and shown once the bureau approves them (先审后发).
Appeals go to the bureau and the provider at once, with a deadline of
``GONGSHU_APPEAL_DAYS`` working days; the provider may state its view, the bureau decides,
and an upheld appeal may take the entry off the portal (its open type becomes ``none``).
Every write records one ``feedback.*`` audit entry.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.service import record
from gongshu.auth.actor import Actor
from gongshu.catalog.models import Dataset, OpenType
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import Conflict, NotFound, ValidationFailed
from gongshu.feedback import common
from gongshu.feedback.models import Appeal, AppealStatus, Comment, ModerationStatus
from gongshu.feedback.schemas import (
    AppealDecisionIn,
    AppealIn,
    AppealStatementIn,
    CommentIn,
    FeedbackCorrectedIn,
    FeedbackIn,
    FeedbackReplyIn,
    PublicStatus,
    ReasonIn,
    RouteIn,
)
from gongshu.governance.models import (
    OPEN_OBJECTION_STATUSES,
    PUBLIC_OBJECTION_KINDS,
    Objection,
    ObjectionKind,
    ObjectionStatus,
)
from gongshu.i18n import N_, translate
from gongshu.orgs.models import Agency
from gongshu.portal.naming import dataset_slug
from gongshu.settings import get_settings
from gongshu.store.models import DatasetVersion
from gongshu.store.versions import current_version
from gongshu.workdays.calendar import local_today
from gongshu.workdays.service import close_deadline, open_deadline

OBJECT_TYPE = "objection"  # the governance ticket's audit object type
FEEDBACK_DEADLINE = "feedback.objection"
#: The bureau's deadline to route (or screen out) a ticket, from the day it is filed.
ROUTE_DEADLINE = "feedback.objection_route"
APPEAL_TYPE = "feedback_appeal"
APPEAL_DEADLINE = "feedback.appeal"
COMMENT_TYPE = "feedback_comment"

M_NOT_FOUND = N_("反馈不存在")
M_NO_FIELD = N_("该数据目录没有信息项“{field}”")
M_STATE = N_("当前状态为“{state}”，不能执行该操作")
M_NOT_ROUTED = N_("该反馈尚未转办")
M_NO_AGENCY = N_("承办单位不存在")
M_NO_VERSION = N_("该数据目录没有第 {number} 版")
M_NO_CORRECTION = N_("纠错工单不存在或不属于该数据目录")
M_NOTHING = N_("请填写修正的版本号或纠错工单号")
M_APPEAL_NOT_FOUND = N_("申诉不存在")
M_COMMENT_NOT_FOUND = N_("留言不存在")

NOTICE_FILED = N_("收到公众反馈：{name}")
NOTICE_ROUTED = N_("请答复公众反馈：{name}")
NOTICE_ROUTED_BODY = N_("公众对“{name}”提出{what}，请在 {due} 前公开答复。")
NOTICE_REPLIED = N_("您的反馈已答复：{name}")
NOTICE_SCREENED = N_("您的反馈未予受理：{name}")
NOTICE_CORRECTED = N_("您反映的问题已纠正：{name}")
NOTICE_COMMENT = N_("留言审核结果：{name}")
NOTICE_APPEAL = N_("收到权益申诉：{name}")
NOTICE_APPEAL_BODY = N_("有人认为“{name}”侵犯其合法权益，请在 {due} 前核实处理。")
NOTICE_APPEAL_DECIDED = N_("权益申诉已处理：{name}")

KIND_LABELS = {ObjectionKind.OBJECTION: N_("异议"), ObjectionKind.ERROR: N_("纠错")}
PUBLIC_STATUS_LABELS: dict[str, str] = {
    "received": N_("已受理"),
    "replied": N_("已答复"),
    "corrected": N_("已纠正"),
    "rejected": N_("未采纳"),
}
APPEAL_STATUS_LABELS = {
    AppealStatus.OPEN: N_("处理中"),
    AppealStatus.UPHELD: N_("申诉成立"),
    AppealStatus.DISMISSED: N_("申诉不成立"),
}
MODERATION_LABELS = {
    ModerationStatus.PENDING: N_("待审核"),
    ModerationStatus.APPROVED: N_("已通过"),
    ModerationStatus.REJECTED: N_("未通过"),
}


def kind_label(kind: ObjectionKind | str) -> str:
    return translate(KIND_LABELS.get(ObjectionKind(kind), str(kind)))


def public_status(objection: Objection, correction: Objection | None = None) -> PublicStatus:
    """The status the portal shows for a public ticket."""
    fixed = objection.status is ObjectionStatus.FIXED or (
        correction is not None and correction.status is ObjectionStatus.FIXED
    )
    if fixed:
        return "corrected"
    if objection.status is ObjectionStatus.REJECTED:
        return "rejected"
    if objection.status in (ObjectionStatus.ACCEPTED, ObjectionStatus.ANSWERED):
        return "replied"
    return "received"


def public_status_label(status: str) -> str:
    return translate(PUBLIC_STATUS_LABELS.get(status, status))


def feedback_link(objection: Objection) -> str:
    return f"/dataset/{dataset_slug(objection.dataset.code)}/feedback/{objection.id}"


# --- objections and error reports ----------------------------------------------------------


def get_feedback(session: Session, objection_id: int) -> Objection:
    """A public ticket (any status; callers decide who may see what)."""
    objection = session.get(Objection, objection_id) if 0 < objection_id < 2**31 else None
    if objection is None or objection.kind not in PUBLIC_OBJECTION_KINDS:
        raise NotFound(M_NOT_FOUND)
    return objection


def may_see_feedback(actor: Actor | None, objection: Objection) -> bool:
    """Routed tickets are public; before that, the filer, the bureau and the provider."""
    if objection.routed_at is not None:
        return True
    if actor is None:
        return False
    return (
        (objection.created_by_id is not None and objection.created_by_id == actor.user_id)
        or common.may_moderate(actor, objection.dataset.region_id)
        or common.answers_for(actor, objection.agency_id)
    )


def _state_error(objection: Objection) -> Conflict:
    from gongshu.governance.corrections import status_label

    return Conflict(M_STATE, state=status_label(objection.status))


def _audit(session: Session, actor: Actor, action: str, o: Objection, **changes: object) -> None:
    record(
        session,
        actor,
        action,
        OBJECT_TYPE,
        o.id,
        label=f"{o.dataset.code} · {o.kind.value}",
        changes={k: v for k, v in changes.items() if v is not None},
    )


def file_feedback(
    session: Session, actor: Actor | None, dataset_id: int, data: FeedbackIn
) -> Objection:
    """A signed-in user files an objection or error report on a public entry; it waits for
    the bureau to route it."""
    actor = common.filer(actor)
    dataset = common.public_entry(session, dataset_id)
    if data.field_name and data.field_name not in {f.name for f in dataset.fields}:
        raise ValidationFailed.single(
            "field_name", translate(M_NO_FIELD, None, field=data.field_name)
        )
    version = current_version(session, dataset.id)
    with unit_of_work(session):
        objection = Objection(
            kind=ObjectionKind(data.kind),
            dataset_id=dataset.id,
            agency_id=dataset.agency_id,
            field_name=data.field_name,
            reason=data.text,
            seen_version_id=version.id if version is not None else None,
            status=ObjectionStatus.OPEN,
            created_by_id=actor.user_id,
            reporter_agency_id=actor.agency_id,
        )
        session.add(objection)
        session.flush()
        objection.dataset = dataset
        common.open_routing_deadline(session, OBJECT_TYPE, objection.id, ROUTE_DEADLINE)
        common.tell(
            session,
            common.bureau(session),
            "feedback.objection",
            NOTICE_FILED,
            link="/moderation",
            name=dataset.title,
        )
        _audit(
            session,
            actor,
            "feedback.objection_file",
            objection,
            kind=[None, data.kind],
            dataset_id=dataset.id,
            field=[None, data.field_name] if data.field_name else None,
        )
    return objection


def route_feedback(
    session: Session,
    actor: Actor | None,
    objection_id: int,
    data: RouteIn,
    *,
    today: dt.date | None = None,
) -> Objection:
    """The bureau routes a received ticket to the provider (or another agency): the
    reply's deadline starts."""
    with unit_of_work(session):
        actor = common.moderator(actor)
        objection = get_feedback(session, objection_id)
        common.in_region(actor, objection.dataset.region_id)
        session.refresh(objection, with_for_update=True)
        if objection.routed_at is not None or objection.status is not ObjectionStatus.OPEN:
            raise _state_error(objection)
        if data.agency_id is not None and data.agency_id != objection.agency_id:
            if session.get(Agency, data.agency_id) is None:
                raise ValidationFailed.single("agency_id", M_NO_AGENCY)
            objection.agency_id = data.agency_id
        objection.routed_at = utcnow()
        objection.routed_by_id = actor.user_id
        close_deadline(
            session, object_type=OBJECT_TYPE, object_id=objection.id, kind=ROUTE_DEADLINE
        )
        days = get_settings().feedback_reply_days
        deadline = open_deadline(
            session,
            object_type=OBJECT_TYPE,
            object_id=objection.id,
            kind=FEEDBACK_DEADLINE,
            start=today or local_today(),
            working_days=days,
        )
        common.tell(
            session,
            common.officers(session, objection.agency_id),
            "feedback.objection",
            NOTICE_ROUTED,
            NOTICE_ROUTED_BODY,
            link="/moderation/replies",
            name=objection.dataset.title,
            what=kind_label(objection.kind),
            due=deadline.due_on.isoformat(),
        )
        _audit(
            session,
            actor,
            "feedback.objection_route",
            objection,
            agency_id=[None, objection.agency_id],
            due_on=[None, deadline.due_on.isoformat()],
            working_days=days,
        )
    return objection


def screen_out_feedback(
    session: Session, actor: Actor | None, objection_id: int, reason: str
) -> Objection:
    """The bureau declines to route a ticket (abuse, not about the entry), with a reason;
    it is never shown publicly."""
    reason = common.reason_required(reason)
    with unit_of_work(session):
        actor = common.moderator(actor)
        objection = get_feedback(session, objection_id)
        common.in_region(actor, objection.dataset.region_id)
        session.refresh(objection, with_for_update=True)
        if objection.routed_at is not None or objection.status is not ObjectionStatus.OPEN:
            raise _state_error(objection)
        now = utcnow()
        objection.status = ObjectionStatus.REJECTED
        objection.answer = reason
        objection.answered_at = now
        objection.answered_by_id = actor.user_id
        objection.closed_at = now
        close_deadline(
            session, object_type=OBJECT_TYPE, object_id=objection.id, kind=ROUTE_DEADLINE
        )
        common.tell(
            session,
            [objection.created_by_id],
            "feedback.objection",
            NOTICE_SCREENED,
            reason,
            name=objection.dataset.title,
        )
        _audit(session, actor, "feedback.objection_screen_out", objection, reason=[None, reason])
    return objection


def reply_feedback(
    session: Session, actor: Actor | None, objection_id: int, data: FeedbackReplyIn
) -> Objection:
    """The provider's public reply to a routed ticket; the deadline closes."""
    with unit_of_work(session):
        objection = get_feedback(session, objection_id)
        actor = common.responder(actor, objection.agency_id)
        session.refresh(objection, with_for_update=True)
        if objection.routed_at is None:
            raise Conflict(M_NOT_ROUTED)
        if objection.status is not ObjectionStatus.OPEN:
            raise _state_error(objection)
        before = objection.status
        now = utcnow()
        objection.answer = data.reply
        objection.answered_at = now
        objection.answered_by_id = actor.user_id
        objection.status = {
            "answer": ObjectionStatus.ANSWERED,
            "accept": ObjectionStatus.ACCEPTED,
            "reject": ObjectionStatus.REJECTED,
        }[data.decision]
        if objection.status is not ObjectionStatus.ACCEPTED:
            objection.closed_at = now
        close_deadline(
            session, object_type=OBJECT_TYPE, object_id=objection.id, kind=FEEDBACK_DEADLINE
        )
        common.tell(
            session,
            [objection.created_by_id],
            "feedback.objection",
            NOTICE_REPLIED,
            data.reply,
            link=feedback_link(objection),
            name=objection.dataset.title,
        )
        _audit(
            session,
            actor,
            "feedback.objection_reply",
            objection,
            status=[before.value, objection.status.value],
            reply=[None, data.reply],
        )
    return objection


def mark_corrected(
    session: Session, actor: Actor | None, objection_id: int, data: FeedbackCorrectedIn
) -> Objection:
    """The provider links what corrected the entry: a later version (the ticket closes as
    fixed) and/or a correction ticket of the same entry (fixed when that one is)."""
    if data.version is None and data.correction_id is None:
        raise ValidationFailed.single("version", M_NOTHING)
    with unit_of_work(session):
        objection = get_feedback(session, objection_id)
        actor = common.responder(actor, objection.agency_id)
        session.refresh(objection, with_for_update=True)
        if objection.routed_at is None:
            raise Conflict(M_NOT_ROUTED)
        if objection.status not in OPEN_OBJECTION_STATUSES:
            raise _state_error(objection)
        before = objection.status
        version: DatasetVersion | None = None
        if data.version is not None:
            version = session.scalars(
                select(DatasetVersion).where(
                    DatasetVersion.dataset_id == objection.dataset_id,
                    DatasetVersion.number == data.version,
                )
            ).one_or_none()
            if version is None:
                raise ValidationFailed.single(
                    "version", translate(M_NO_VERSION, None, number=data.version)
                )
        correction: Objection | None = None
        if data.correction_id is not None:
            correction = session.get(Objection, data.correction_id)
            if (
                correction is None
                or correction.kind is not ObjectionKind.CORRECTION
                or correction.dataset_id != objection.dataset_id
            ):
                raise ValidationFailed.single("correction_id", M_NO_CORRECTION)
            objection.correction_id = correction.id
        now = utcnow()
        if objection.answered_at is None:
            objection.answered_at = now
            objection.answered_by_id = actor.user_id
        if version is not None or (
            correction is not None and correction.status is ObjectionStatus.FIXED
        ):
            objection.status = ObjectionStatus.FIXED
            if version is not None:
                objection.fixed_version_id = version.id
            elif correction is not None:
                objection.fixed_version_id = correction.fixed_version_id
            objection.closed_at = now
        else:
            objection.status = ObjectionStatus.ACCEPTED
        close_deadline(
            session, object_type=OBJECT_TYPE, object_id=objection.id, kind=FEEDBACK_DEADLINE
        )
        if objection.status is ObjectionStatus.FIXED:
            common.tell(
                session,
                [objection.created_by_id],
                "feedback.objection",
                NOTICE_CORRECTED,
                link=feedback_link(objection),
                name=objection.dataset.title,
            )
        _audit(
            session,
            actor,
            "feedback.objection_correct",
            objection,
            status=[before.value, objection.status.value],
            version=[None, data.version] if data.version else None,
            correction_id=[None, data.correction_id] if data.correction_id else None,
        )
    return objection


# --- comments --------------------------------------------------------------------------------


def post_comment(
    session: Session, actor: Actor | None, dataset_id: int, data: CommentIn
) -> Comment:
    """A signed-in user comments on a public entry; it shows once approved."""
    actor = common.filer(actor)
    dataset = common.public_entry(session, dataset_id)
    with unit_of_work(session):
        comment = Comment(
            dataset_id=dataset.id,
            text=data.text,
            author_name=actor.name,
            created_by_id=actor.user_id,
            status=ModerationStatus.PENDING,
        )
        session.add(comment)
        session.flush()
        record(
            session,
            actor,
            "feedback.comment_post",
            COMMENT_TYPE,
            comment.id,
            label=dataset.code,
            changes={"dataset_id": dataset.id},
        )
    return comment


def moderate_comment(
    session: Session, actor: Actor | None, comment_id: int, data: ReasonIn
) -> Comment:
    """The bureau approves a comment (it shows) or rejects it with a reason."""
    reason = common.reason_required(data.reason) if data.decision == "reject" else data.reason
    with unit_of_work(session):
        actor = common.moderator(actor)
        comment = session.get(Comment, comment_id) if 0 < comment_id < 2**31 else None
        if comment is None:
            raise NotFound(M_COMMENT_NOT_FOUND)
        common.in_region(actor, comment.dataset.region_id)
        session.refresh(comment, with_for_update=True)
        if comment.status is not ModerationStatus.PENDING:
            raise Conflict(
                M_STATE, state=translate(MODERATION_LABELS[ModerationStatus(comment.status)])
            )
        comment.status = (
            ModerationStatus.APPROVED if data.decision == "approve" else ModerationStatus.REJECTED
        )
        comment.moderation_reason = reason
        comment.moderated_by_id = actor.user_id
        comment.moderated_at = utcnow()
        if comment.status is ModerationStatus.REJECTED:
            common.tell(
                session,
                [comment.created_by_id],
                "feedback.comment",
                NOTICE_COMMENT,
                reason,
                name=comment.dataset.title,
            )
        record(
            session,
            actor,
            f"feedback.comment_{data.decision}",
            COMMENT_TYPE,
            comment.id,
            label=comment.dataset.code,
            changes={"status": ["pending", comment.status.value], "reason": reason or None},
        )
    return comment


# --- rights appeals ---------------------------------------------------------------------------


def get_appeal(session: Session, actor: Actor | None, appeal_id: int) -> Appeal:
    """An appeal the actor may see: the appellant, the bureau, the provider."""
    actor = common.filer(actor)
    appeal = session.get(Appeal, appeal_id) if 0 < appeal_id < 2**31 else None
    if appeal is None:
        raise NotFound(M_APPEAL_NOT_FOUND)
    if not (
        appeal.created_by_id == actor.user_id
        or common.may_moderate(actor, appeal.dataset.region_id)
        or common.answers_for(actor, appeal.agency_id)
    ):
        raise NotFound(M_APPEAL_NOT_FOUND)
    return appeal


def file_appeal(
    session: Session,
    actor: Actor | None,
    dataset_id: int,
    data: AppealIn,
    *,
    today: dt.date | None = None,
) -> Appeal:
    """Someone says a public entry infringes their rights: the bureau and the provider are
    told, and the bureau must decide within ``GONGSHU_APPEAL_DAYS`` working days."""
    actor = common.filer(actor)
    dataset = common.public_entry(session, dataset_id)
    with unit_of_work(session):
        appeal = Appeal(
            dataset_id=dataset.id,
            agency_id=dataset.agency_id,
            text=data.text,
            contact=data.contact,
            created_by_id=actor.user_id,
        )
        session.add(appeal)
        session.flush()
        days = get_settings().appeal_days
        deadline = open_deadline(
            session,
            object_type=APPEAL_TYPE,
            object_id=appeal.id,
            kind=APPEAL_DEADLINE,
            start=today or local_today(),
            working_days=days,
        )
        common.tell(
            session,
            [*common.bureau(session), *common.officers(session, dataset.agency_id)],
            "feedback.appeal",
            NOTICE_APPEAL,
            NOTICE_APPEAL_BODY,
            link=f"/appeals/{appeal.id}",
            name=dataset.title,
            due=deadline.due_on.isoformat(),
        )
        # The appeal's text may name the appellant's own data: it stays out of the chain.
        record(
            session,
            actor,
            "feedback.appeal_file",
            APPEAL_TYPE,
            appeal.id,
            label=dataset.code,
            changes={
                "dataset_id": dataset.id,
                "due_on": [None, deadline.due_on.isoformat()],
                "working_days": days,
            },
        )
    appeal.dataset = dataset
    return appeal


def state_on_appeal(
    session: Session, actor: Actor | None, appeal_id: int, data: AppealStatementIn
) -> Appeal:
    """The provider states its view on an open appeal (the bureau decides)."""
    with unit_of_work(session):
        appeal = get_appeal(session, actor, appeal_id)
        actor = common.responder(actor, appeal.agency_id)
        if appeal.status is not AppealStatus.OPEN:
            raise Conflict(M_STATE, state=translate(APPEAL_STATUS_LABELS[appeal.status]))
        appeal.provider_statement = data.statement
        record(
            session,
            actor,
            "feedback.appeal_statement",
            APPEAL_TYPE,
            appeal.id,
            label=appeal.dataset.code,
            changes={"statement": [None, data.statement]},
        )
    return appeal


def decide_appeal(
    session: Session, actor: Actor | None, appeal_id: int, data: AppealDecisionIn
) -> Appeal:
    """The bureau decides an appeal with its reason; an upheld one may take the entry off
    the portal (open type ``none``), recorded on the entry's history too."""
    with unit_of_work(session):
        actor = common.moderator(actor)
        appeal = get_appeal(session, actor, appeal_id)
        session.refresh(appeal, with_for_update=True)
        if appeal.status is not AppealStatus.OPEN:
            raise Conflict(M_STATE, state=translate(APPEAL_STATUS_LABELS[appeal.status]))
        appeal.status = AppealStatus(data.decision)
        appeal.decision = data.reason
        appeal.decided_by_id = actor.user_id
        appeal.decided_at = utcnow()
        close_deadline(session, object_type=APPEAL_TYPE, object_id=appeal.id, kind=APPEAL_DEADLINE)
        dataset: Dataset = appeal.dataset
        if appeal.status is AppealStatus.UPHELD and data.withdraw:
            before = dataset.open_type
            dataset.open_type = OpenType.NONE
            appeal.withdrawn = True
            session.flush()
            record(
                session,
                actor,
                "feedback.entry_withdraw",
                "dataset",
                dataset.id,
                label=dataset.code,
                changes={
                    "open_type": [before.value, OpenType.NONE.value],
                    "appeal_id": appeal.id,
                },
            )
        common.tell(
            session,
            [appeal.created_by_id, *common.officers(session, appeal.agency_id)],
            "feedback.appeal",
            NOTICE_APPEAL_DECIDED,
            data.reason,
            link=f"/appeals/{appeal.id}",
            name=dataset.title,
        )
        record(
            session,
            actor,
            "feedback.appeal_decide",
            APPEAL_TYPE,
            appeal.id,
            label=dataset.code,
            changes={
                "status": ["open", appeal.status.value],
                "reason": [None, data.reason],
                "withdrawn": appeal.withdrawn,
            },
        )
    return appeal
