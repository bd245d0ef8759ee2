"""Change requests (目录变更申请) for published catalog entries: modify or delete.

A published entry is never edited directly. When its legal basis or the agency's duties
change, the agency's officer proposes a change within ``GONGSHU_CATALOG_CHANGE_PROPOSAL_DAYS``
working days of ``basis_changed_on`` (seed 001 §12: 15). A later proposal is still
accepted — refusing it would leave the catalog wrong — but it is marked ``late`` and shows
as such to the reviewers and in the supervision record.

The bureau reviews within ``GONGSHU_CATALOG_REVIEW_DAYS`` working days, and modifying or
deleting a published entry needs the city bureau's consent:

- a city agency's entry: ``submitted`` → the city bureau approves (consents) or rejects;
- a district agency's entry: ``submitted`` → the district bureau (or the city bureau)
  reviews it → ``district_reviewed`` → the city bureau consents (``approved``) or rejects.
  Each step has its own deadline.

Until consent the entry stays exactly as it is. On consent the change is applied in the
same transaction: a modification passes through the very checks of a direct edit
(``service.prepare_update``), a deletion sets the entry to ``withdrawn`` (it disappears
from lists and from other agencies; its page and history stay for its agency and the
reviewers). One change request per entry may be open at a time.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, true
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from gongshu.audit import service as audit
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.permissions import Perm, can, require, require_login
from gongshu.catalog import service, workflow
from gongshu.catalog.models import (
    OPEN_CHANGE_STATUSES,
    ChangeKind,
    ChangeRequest,
    ChangeStatus,
    Dataset,
    DatasetState,
)
from gongshu.catalog.queries import is_platform, valid_id
from gongshu.catalog.schemas import DatasetUpdate
from gongshu.catalog.workflow_schemas import ChangeRequestCreate, ChangeReview
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.labels import label
from gongshu.notices.reminders import register_deadline_audience
from gongshu.notices.service import notify, users_with_role
from gongshu.orgs.models import Region
from gongshu.pagination import Page
from gongshu.settings import get_settings
from gongshu.workdays.calendar import local_today
from gongshu.workdays.models import Deadline
from gongshu.workdays.service import close_deadline, open_deadline

OBJECT_TYPE = "change_request"
PROPOSAL_KIND = "catalog.change_proposal"
REVIEW_KIND = "catalog.change_review"
CONSENT_KIND = "catalog.change_consent"

NOT_FOUND = N_("变更申请不存在")
NOT_PUBLISHED = N_("只有已发布的目录条目需要通过变更申请修改或删减，该条目当前为“{state}”")
ALREADY_OPEN = N_("该目录条目已有一份待审核的变更申请")
NOT_OWN = N_("只能为本单位的目录条目提出变更申请")
REASON_REQUIRED = N_("请填写变更理由")
REJECT_REASON_REQUIRED = N_("不同意时请填写理由")
BASIS_IN_FUTURE = N_("依据变化的日期不能晚于今天")
CHANGES_REQUIRED = N_("请填写要修改的内容")
NOTHING_CHANGES = N_("修改内容与现有目录条目相同")
NOT_OPEN = N_("该变更申请已处理完毕（{status}）")
NOT_REVIEWER = N_("只有本级大数据主管部门可以审核该变更申请")
CITY_CONSENT = N_("删减、修改已发布的目录条目须经市级大数据主管部门同意")
STALE = N_("变更申请已被他人处理，请刷新页面后重试")
INVALID = N_("变更申请未通过校验，请按提示修改")
TEXT_MAX = 2000

STEP_REVIEW = N_("变更审核")
STEP_DISTRICT = N_("区县审核")
STEP_CONSENT = N_("市级同意")

NOTICE_PROPOSED = N_("目录变更申请待审核：{code} {name}")
NOTICE_PROPOSED_BODY = N_("{agency}申请{what}目录条目，请在 {due} 前审核（{rule}）。")
NOTICE_FORWARDED = N_("目录变更申请待市级同意：{code} {name}")
NOTICE_FORWARDED_BODY = N_("区县大数据主管部门已审核，请在 {due} 前决定是否同意（{rule}）。")
NOTICE_APPROVED = N_("目录变更申请已同意：{code} {name}")
NOTICE_REJECTED = N_("目录变更申请未获同意：{code} {name}")
NOTICE_COMMENT_BODY = N_("意见：{comment}")
KIND_NAMES: dict[ChangeKind, str] = {ChangeKind.MODIFY: N_("修改"), ChangeKind.DELETE: N_("删减")}


def _invalid(field: str, message: str, **params: object) -> ValidationFailed:
    return ValidationFailed(INVALID, {field: [translate(message, None, **params)]})


def _clean(text: str | None, field: str, required_message: str | None) -> str:
    value = (text or "").strip()
    if required_message and not value:
        raise _invalid(field, required_message)
    if len(value) > TEXT_MAX:
        raise _invalid(field, workflow.REASON_TOO_LONG, max=TEXT_MAX)
    return value


# ---------------------------------------------------------------------------------------
# Who sees and decides


def _is_district_entry(session: Session, dataset: Dataset) -> bool:
    region = session.get(Region, dataset.region_id)
    return region is not None and not region.is_city


def visible_changes(actor: Actor) -> ColumnElement[bool]:
    """Change requests the actor may read: the owning agency's officers, and the bureau
    admins whose region covers the entry (the city bureau sees all)."""
    if is_platform(actor) or (can(actor, Perm.CATALOG_REVIEW) and actor.city_scope):
        return true()
    conditions: list[ColumnElement[bool]] = []
    if can(actor, Perm.CATALOG_EDIT_OWN) and actor.agency_id is not None:
        conditions.append(Dataset.agency_id == actor.agency_id)
    if can(actor, Perm.CATALOG_REVIEW) and actor.region_id is not None:
        conditions.append(Dataset.region_id == actor.region_id)
    return or_(false(), *conditions)


def get_change(session: Session, actor: Actor | None, change_id: int) -> ChangeRequest:
    """The change request, if it exists and the actor may read it; otherwise 404."""
    actor = require_login(actor)
    if not valid_id(change_id):
        raise NotFound(NOT_FOUND)
    stmt = (
        select(ChangeRequest)
        .join(ChangeRequest.dataset)
        .where(ChangeRequest.id == change_id, visible_changes(actor))
        .options(selectinload(ChangeRequest.dataset).selectinload(Dataset.agency))
    )
    change = session.scalars(stmt).one_or_none()
    if change is None:
        raise NotFound(NOT_FOUND)
    return change


def step_of(change: ChangeRequest) -> str:
    """What the next reviewer decides (a message id)."""
    if change.status is ChangeStatus.DISTRICT_REVIEWED:
        return STEP_CONSENT
    region = change.dataset.region
    if region is not None and not region.is_city:
        return STEP_DISTRICT
    return STEP_REVIEW


def may_decide(session: Session, actor: Actor | None, change: ChangeRequest) -> bool:
    """Whether the actor takes the next step on this request (for the buttons)."""
    try:
        _check_reviewer(session, actor, change)
    except PermissionDenied:
        return False
    return change.is_open


def _check_reviewer(session: Session, actor: Actor | None, change: ChangeRequest) -> Actor:
    actor = require(actor, Perm.CATALOG_REVIEW)
    if change.status is ChangeStatus.DISTRICT_REVIEWED or not _is_district_entry(
        session, change.dataset
    ):
        if not actor.city_scope:
            raise PermissionDenied(CITY_CONSENT)
    elif not workflow.reviews(actor, change.dataset):
        raise PermissionDenied(NOT_REVIEWER)
    return actor


# ---------------------------------------------------------------------------------------
# Notices and deadlines


def _city_region_id(session: Session, dataset: Dataset) -> int | None:
    region = session.get(Region, dataset.region_id)
    if region is None:
        return None
    return region.id if region.parent_id is None else region.parent_id


def _city_reviewers(session: Session, dataset: Dataset) -> list[int]:
    city = _city_region_id(session, dataset)
    return sorted(set(users_with_role(session, Role.BUREAU_ADMIN, region_id=city)))


def _audience(session: Session, deadline: Deadline) -> list[int]:
    change = session.get(ChangeRequest, deadline.object_id)
    if change is None:
        return []
    if deadline.kind == CONSENT_KIND:
        return _city_reviewers(session, change.dataset)
    return workflow.reviewer_ids(session, change.dataset)


def _link(deadline: Deadline) -> str:
    return f"/catalog/changes/{deadline.object_id}"


register_deadline_audience(REVIEW_KIND, _audience, label=STEP_REVIEW, link=_link)
register_deadline_audience(CONSENT_KIND, _audience, label=STEP_CONSENT, link=_link)


def _notice(
    session: Session,
    user_ids: list[int],
    kind: str,
    change: ChangeRequest,
    title: str,
    body: str,
    **params: object,
) -> None:
    if user_ids:
        notify(
            session,
            user_ids=user_ids,
            kind=kind,
            title=title,
            body=body,
            link=f"/catalog/changes/{change.id}",
            code=change.dataset.code,
            name=change.dataset.title,
            **params,
        )


def _open(session: Session, change: ChangeRequest, kind: str, today: dt.date) -> Deadline:
    return open_deadline(
        session,
        object_type=OBJECT_TYPE,
        object_id=change.id,
        kind=kind,
        start=today,
        working_days=get_settings().catalog_review_days,
    )


def _close(session: Session, change: ChangeRequest, kind: str) -> None:
    close_deadline(session, object_type=OBJECT_TYPE, object_id=change.id, kind=kind)


def open_deadline_of(session: Session, change: ChangeRequest) -> Deadline | None:
    """The open review or consent deadline of the request."""
    stmt = select(Deadline).where(
        Deadline.object_type == OBJECT_TYPE,
        Deadline.object_id == change.id,
        Deadline.kind.in_((REVIEW_KIND, CONSENT_KIND)),
        Deadline.closed_at.is_(None),
    )
    return session.scalars(stmt.order_by(Deadline.id.desc())).first()


# ---------------------------------------------------------------------------------------
# Proposing


def _proposed_update(
    session: Session, actor: Actor, dataset: Dataset, data: ChangeRequestCreate
) -> dict[str, Any]:
    """The proposed edit, checked by the rules of a direct edit, trimmed to what changes."""
    if data.changes is None:
        raise _invalid("changes", CHANGES_REQUIRED)
    update = data.changes
    prepared = service.prepare_update(session, actor, dataset, update)
    diff = service.preview_update(dataset, prepared)
    if not diff:
        raise _invalid("changes", NOTHING_CHANGES)
    changed = {key.split(".", 1)[0] for key in diff}
    payload = update.model_dump(mode="json", exclude_unset=True, exclude={"lock_version"})
    return {k: v for k, v in payload.items() if k in changed}


def propose_change(
    session: Session,
    actor: Actor | None,
    dataset_id: int,
    data: ChangeRequestCreate,
    *,
    today: dt.date | None = None,
) -> ChangeRequest:
    """Propose to modify or delete a published entry of the officer's own agency.

    A modification is checked now by the same rules as a direct edit (422 with per-field
    messages) and stored trimmed to what it changes. The proposal deadline (N working days
    after ``basis_changed_on``) is stored with its rule; a proposal after it is ``late``.
    Opens the first review deadline and tells the reviewers.
    """
    actor = require(actor, Perm.CATALOG_EDIT_OWN)
    day = today or local_today()
    with unit_of_work(session):
        dataset = service.get_dataset(session, actor, dataset_id)
        if not workflow.owns(actor, dataset):
            raise PermissionDenied(NOT_OWN)
        reason = _clean(data.reason, "reason", REASON_REQUIRED)
        if data.basis_changed_on > day:
            raise _invalid("basis_changed_on", BASIS_IN_FUTURE)
        session.refresh(dataset, with_for_update=True)
        if dataset.state is not DatasetState.PUBLISHED:
            raise Conflict(NOT_PUBLISHED, state=label(dataset.state))
        busy = session.scalar(
            select(ChangeRequest.id).where(
                ChangeRequest.dataset_id == dataset.id,
                ChangeRequest.status.in_(OPEN_CHANGE_STATUSES),
            )
        )
        if busy is not None:
            raise Conflict(ALREADY_OPEN)
        changes: dict[str, Any] = {}
        if data.kind is ChangeKind.MODIFY:
            changes = _proposed_update(session, actor, dataset, data)
        change = ChangeRequest(
            dataset=dataset,
            kind=data.kind,
            changes=changes,
            reason=reason,
            basis_changed_on=data.basis_changed_on,
            proposal_due_on=data.basis_changed_on,
            proposed_by_id=actor.user_id,
        )
        session.add(change)
        session.flush()
        proposal = open_deadline(
            session,
            object_type=OBJECT_TYPE,
            object_id=change.id,
            kind=PROPOSAL_KIND,
            start=data.basis_changed_on,
            working_days=get_settings().catalog_change_proposal_days,
        )
        change.proposal_due_on = proposal.due_on
        change.late = day > proposal.due_on
        _close(session, change, PROPOSAL_KIND)  # met (or missed) by this very proposal
        review = _open(session, change, REVIEW_KIND, day)
        _notice(
            session,
            workflow.reviewer_ids(session, dataset),
            "catalog.change_proposed",
            change,
            NOTICE_PROPOSED,
            NOTICE_PROPOSED_BODY,
            agency=dataset.agency.name,
            what=KIND_NAMES[data.kind],
            due=review.due_on.isoformat(),
            rule=review.rule,
        )
        audit.record(
            session,
            actor,
            "change_request.create",
            OBJECT_TYPE,
            change.id,
            label=f"{dataset.code} {dataset.title}",
            changes={
                "dataset_id": [None, dataset.id],
                "kind": [None, data.kind.value],
                "changes": [None, changes],
                "reason": [None, reason],
                "basis_changed_on": [None, data.basis_changed_on.isoformat()],
                "proposal_due_on": [None, proposal.due_on.isoformat()],
                "proposal_rule": [None, proposal.rule],
                "late": [None, change.late],
                "review_due_on": [None, review.due_on.isoformat()],
            },
        )
    return change


# ---------------------------------------------------------------------------------------
# Reviewing


def _apply(session: Session, actor: Actor, change: ChangeRequest) -> None:
    """Apply an approved change to its entry (in the caller's transaction)."""
    dataset = change.dataset
    session.refresh(dataset, with_for_update=True)
    if dataset.state is not DatasetState.PUBLISHED:
        raise Conflict(NOT_PUBLISHED, state=label(dataset.state))
    label_text = f"{dataset.code} {dataset.title}"
    if change.kind is ChangeKind.DELETE:
        dataset.state = DatasetState.WITHDRAWN
        dataset.withdrawn_at = utcnow()
        dataset.updated_at = utcnow()
        session.flush()
        audit.record(
            session,
            actor,
            "dataset.withdraw",
            workflow.OBJECT_TYPE,
            dataset.id,
            label=label_text,
            changes={"state": ["published", "withdrawn"], "change_request": change.id},
        )
        return
    update = DatasetUpdate.model_validate(change.changes)
    prepared = service.prepare_update(session, actor, dataset, update)
    diff = service.apply_update(session, dataset, prepared)
    audit.record(
        session,
        actor,
        "dataset.modify",
        workflow.OBJECT_TYPE,
        dataset.id,
        label=label_text,
        changes={**diff, "change_request": change.id},
    )


def review_change(
    session: Session,
    actor: Actor | None,
    change_id: int,
    data: ChangeReview,
    *,
    today: dt.date | None = None,
) -> ChangeRequest:
    """Take the next step on an open change request (bureau admins).

    A district entry's first step belongs to its district bureau (or the city bureau) and
    leads to ``district_reviewed``; the last step — consent — to the city bureau, which
    approves (the change is applied now) or rejects. Rejecting needs a reason.
    """
    actor = require(actor, Perm.CATALOG_REVIEW)
    day = today or local_today()
    try:
        with unit_of_work(session):
            change = get_change(session, actor, change_id)
            _check_reviewer(session, actor, change)
            comment = _clean(
                data.comment, "comment", None if data.approve else REJECT_REASON_REQUIRED
            )
            session.refresh(change, with_for_update=True)
            if data.lock_version is not None and data.lock_version != change.lock_version:
                raise Conflict(STALE)
            if not change.is_open:
                raise Conflict(NOT_OPEN, status=label(change.status))
            _check_reviewer(session, actor, change)  # the step may have moved meanwhile
            before = change.status
            now = utcnow()
            dataset = change.dataset
            first_step = before is ChangeStatus.SUBMITTED
            district_step = first_step and _is_district_entry(session, dataset)
            _close(session, change, REVIEW_KIND if first_step else CONSENT_KIND)
            if district_step:
                change.district_reviewer_id = actor.user_id
                change.district_reviewed_at = now
                change.district_comment = comment
            else:
                change.reviewer_id = actor.user_id
                change.reviewed_at = now
                change.review_comment = comment
            officers = workflow.officer_ids(session, dataset)
            if not data.approve:
                change.status = ChangeStatus.REJECTED
                action = "change_request.reject"
                _notice(
                    session,
                    officers,
                    "catalog.change_rejected",
                    change,
                    NOTICE_REJECTED,
                    NOTICE_COMMENT_BODY,
                    comment=comment,
                )
            elif district_step:
                change.status = ChangeStatus.DISTRICT_REVIEWED
                action = "change_request.district_review"
                consent = _open(session, change, CONSENT_KIND, day)
                _notice(
                    session,
                    _city_reviewers(session, dataset),
                    "catalog.change_forwarded",
                    change,
                    NOTICE_FORWARDED,
                    NOTICE_FORWARDED_BODY,
                    due=consent.due_on.isoformat(),
                    rule=consent.rule,
                )
            else:
                change.status = ChangeStatus.APPROVED
                action = "change_request.approve"
                _apply(session, actor, change)
                _notice(
                    session,
                    officers,
                    "catalog.change_approved",
                    change,
                    NOTICE_APPROVED,
                    NOTICE_COMMENT_BODY if comment else "",
                    comment=comment,
                )
            change.updated_at = now
            session.flush()
            audit.record(
                session,
                actor,
                action,
                OBJECT_TYPE,
                change.id,
                label=f"{dataset.code} {dataset.title}",
                changes={"status": [before.value, change.status.value], "comment": comment},
            )
    except StaleDataError as exc:
        raise Conflict(STALE) from exc
    return change


# ---------------------------------------------------------------------------------------
# Reads


def list_changes(
    session: Session,
    actor: Actor | None,
    *,
    dataset_id: int | None = None,
    open_only: bool = False,
    page: int = 1,
    per_page: int = 20,
) -> Page[ChangeRequest]:
    """Change requests the actor may read, newest first."""
    actor = require_login(actor)
    page = max(1, page)
    per_page = max(1, min(per_page, 100))
    stmt = select(ChangeRequest).join(ChangeRequest.dataset).where(visible_changes(actor))
    if dataset_id is not None:
        stmt = stmt.where(ChangeRequest.dataset_id == dataset_id)
    if open_only:
        stmt = stmt.where(ChangeRequest.status.in_(OPEN_CHANGE_STATUSES))
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = session.scalars(
        stmt.options(selectinload(ChangeRequest.dataset).selectinload(Dataset.agency))
        .order_by(ChangeRequest.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(list(rows), total, page, per_page)


def pending_changes(session: Session, actor: Actor) -> list[tuple[ChangeRequest, Deadline | None]]:
    """Open change requests waiting for the actor's step, with their open deadline."""
    if not can(actor, Perm.CATALOG_REVIEW):
        return []
    deadline_join = and_(
        Deadline.object_type == OBJECT_TYPE,
        Deadline.object_id == ChangeRequest.id,
        Deadline.kind.in_((REVIEW_KIND, CONSENT_KIND)),
        Deadline.closed_at.is_(None),
    )
    stmt = (
        select(ChangeRequest, Deadline)
        .join(ChangeRequest.dataset)
        .outerjoin(Deadline, deadline_join)
        .where(ChangeRequest.status.in_(OPEN_CHANGE_STATUSES), visible_changes(actor))
        .options(
            selectinload(ChangeRequest.dataset).selectinload(Dataset.agency),
            selectinload(ChangeRequest.dataset).selectinload(Dataset.region),
        )
        .order_by(ChangeRequest.id)
    )
    out: list[tuple[ChangeRequest, Deadline | None]] = []
    for change, deadline in session.execute(stmt).all():
        if may_decide(session, actor, change):
            out.append((change, deadline))
    return out


def open_change_for(session: Session, dataset: Dataset) -> ChangeRequest | None:
    """The entry's open change request, if any."""
    stmt = select(ChangeRequest).where(
        ChangeRequest.dataset_id == dataset.id,
        ChangeRequest.status.in_(OPEN_CHANGE_STATUSES),
    )
    return session.scalars(stmt).first()


def preview(session: Session, actor: Actor, change: ChangeRequest) -> dict[str, Any]:
    """What an open modification would change on the entry now, as an audit-style diff."""
    if change.kind is not ChangeKind.MODIFY:
        return {}
    update = DatasetUpdate.model_validate(change.changes)
    try:
        prepared = service.prepare_update(session, actor, change.dataset, update)
    except ValidationFailed:
        return {}
    return service.preview_update(change.dataset, prepared)
