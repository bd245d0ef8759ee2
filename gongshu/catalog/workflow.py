"""The catalog review workflow (目录审核): submit, review, return, publish.

    draft ──submit──▶ submitted ──approve──▶ approved ──publish──▶ published
      ▲    ◀──recall──┘   │                                          │
      │                  return (with a reason)              change requests
      └── (edit) ── returned ──submit──▶ submitted        (gongshu.catalog.changes)

Who moves an entry (checked here, for pages, API and CLI alike):

- the owning agency's officers (``catalog.edit_own``) submit a draft or returned entry,
  and recall a submitted one back to draft before it is reviewed;
- a reviewer (``catalog.review``: a bureau admin) of the entry's level approves it or
  returns it with a reason, and publishes it once approved: a district agency's entry is
  reviewed by that district's bureau (or the city bureau), a city agency's entry by the
  city bureau (``actor.city_scope``); publishing sets ``published_on`` if it is empty.

Order of checks: an entry the actor may not read is 404 (as if it did not exist); a wrong
role or scope is 403; a wrong state or a stale ``lock_version`` is 409. Each action locks
the entry's row (``SELECT … FOR UPDATE``) and checks the state again on the locked row, and
the row's ``lock_version`` guards the UPDATE, so of two concurrent approvals one succeeds
and the other gets 409.

Submitting opens a review deadline of ``GONGSHU_CATALOG_REVIEW_DAYS`` working days
(``gongshu.workdays``), closed by the decision or a recall; notices go to the reviewers on
submission and to the agency's officers on return, approval and publication. Everything —
state, deadline, notices, audit entry — commits in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from gongshu.audit import service as audit
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.permissions import Perm, can, in_region_scope, require
from gongshu.catalog.models import Dataset, DatasetState
from gongshu.catalog.queries import visible_clause
from gongshu.catalog.service import STALE, get_dataset
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import Conflict, PermissionDenied, ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.labels import label
from gongshu.notices.reminders import register_deadline_audience
from gongshu.notices.service import notify, users_with_role
from gongshu.orgs.models import Region
from gongshu.settings import get_settings
from gongshu.workdays.calendar import local_today
from gongshu.workdays.models import Deadline
from gongshu.workdays.service import close_deadline, open_deadline, remaining_for

OBJECT_TYPE = "dataset"
REVIEW_KIND = "catalog.review"

SUBMIT = "submit"
RECALL = "recall"
APPROVE = "approve"
RETURN = "return"
PUBLISH = "publish"
ACTIONS: tuple[str, ...] = (SUBMIT, RECALL, APPROVE, RETURN, PUBLISH)

# From which states each action may start, and where it leads.
TRANSITIONS: dict[str, tuple[frozenset[DatasetState], DatasetState]] = {
    SUBMIT: (frozenset({DatasetState.DRAFT, DatasetState.RETURNED}), DatasetState.SUBMITTED),
    RECALL: (frozenset({DatasetState.SUBMITTED}), DatasetState.DRAFT),
    APPROVE: (frozenset({DatasetState.SUBMITTED}), DatasetState.APPROVED),
    RETURN: (frozenset({DatasetState.SUBMITTED}), DatasetState.RETURNED),
    PUBLISH: (frozenset({DatasetState.APPROVED}), DatasetState.PUBLISHED),
}
OFFICER_ACTIONS = frozenset({SUBMIT, RECALL})
REVIEWER_ACTIONS = frozenset({APPROVE, RETURN, PUBLISH})

ACTION_LABELS: dict[str, str] = {
    SUBMIT: N_("提交审核"),
    RECALL: N_("撤回"),
    APPROVE: N_("审核通过"),
    RETURN: N_("退回"),
    PUBLISH: N_("发布"),
}
WRONG_STATE: dict[str, str] = {
    SUBMIT: N_("只有草稿或已退回的目录条目可以提交审核，该条目当前为“{state}”"),
    RECALL: N_("只有待审核的目录条目可以撤回，该条目当前为“{state}”"),
    APPROVE: N_("只有待审核的目录条目可以审核通过，该条目当前为“{state}”"),
    RETURN: N_("只有待审核的目录条目可以退回，该条目当前为“{state}”"),
    PUBLISH: N_("只有已审核通过的目录条目可以发布，该条目当前为“{state}”"),
}
NOT_OWN = N_("只能提交或撤回本单位的目录条目")
NOT_REVIEWER = N_("只有本级大数据主管部门可以审核、发布该目录条目")
CITY_ONLY = N_("市级单位的目录条目由市级大数据主管部门审核、发布")
REASON_REQUIRED = N_("请填写退回理由")
REASON_TOO_LONG = N_("理由不能超过 {max} 个字符")
INVALID = N_("请按提示修改后重试")
STEP_REVIEW = N_("目录审核")
REASON_MAX = 2000

NOTICE_SUBMITTED = N_("目录条目待审核：{code} {name}")
NOTICE_SUBMITTED_BODY = N_("{agency}提交了目录条目，请在 {due} 前审核（{rule}）。")
NOTICE_RETURNED = N_("目录条目被退回：{code} {name}")
NOTICE_RETURNED_BODY = N_("退回理由：{reason}")
NOTICE_APPROVED = N_("目录条目已审核通过：{code} {name}")
NOTICE_APPROVED_BODY = N_("审核意见：{comment}")
NOTICE_PUBLISHED = N_("目录条目已发布：{code} {name}")


# ---------------------------------------------------------------------------------------
# Who may do what


def reviews(actor: Actor | None, dataset: Dataset) -> bool:
    """Whether the actor reviews this entry: a bureau admin of its region or of the city."""
    return (
        actor is not None
        and can(actor, Perm.CATALOG_REVIEW)
        and in_region_scope(actor, dataset.region_id)
    )


def owns(actor: Actor | None, dataset: Dataset) -> bool:
    """Whether the actor is an officer of the entry's agency."""
    return (
        actor is not None
        and can(actor, Perm.CATALOG_EDIT_OWN)
        and actor.agency_id is not None
        and actor.agency_id == dataset.agency_id
    )


def _check_role(actor: Actor, dataset: Dataset, action: str) -> None:
    if action in OFFICER_ACTIONS:
        require(actor, Perm.CATALOG_EDIT_OWN)
        if not owns(actor, dataset):
            raise PermissionDenied(NOT_OWN)
        return
    require(actor, Perm.CATALOG_REVIEW)
    if not reviews(actor, dataset):
        if dataset.region is not None and dataset.region.is_city:
            raise PermissionDenied(CITY_ONLY)
        raise PermissionDenied(NOT_REVIEWER)


def available_actions(actor: Actor | None, dataset: Dataset) -> list[str]:
    """The actions the actor may take on the entry now (the buttons on its page)."""
    out: list[str] = []
    for action in ACTIONS:
        allowed_from, _target = TRANSITIONS[action]
        if dataset.state not in allowed_from:
            continue
        if (action in OFFICER_ACTIONS and owns(actor, dataset)) or (
            action in REVIEWER_ACTIONS and reviews(actor, dataset)
        ):
            out.append(action)
    return out


# ---------------------------------------------------------------------------------------
# Reviewers and officers to notify


def reviewer_ids(session: Session, dataset: Dataset) -> list[int]:
    """The bureau admins who review the entry: its region's, or the city's when the
    district has none (and for city entries)."""
    ids = users_with_role(session, Role.BUREAU_ADMIN, region_id=dataset.region_id)
    region = session.get(Region, dataset.region_id)
    if not ids and region is not None and region.parent_id is not None:
        ids = users_with_role(session, Role.BUREAU_ADMIN, region_id=region.parent_id)
    return sorted(set(ids))


def officer_ids(session: Session, dataset: Dataset) -> list[int]:
    """The officers of the entry's agency."""
    return sorted(set(users_with_role(session, Role.AGENCY_OFFICER, agency_id=dataset.agency_id)))


def _review_audience(session: Session, deadline: Deadline) -> list[int]:
    dataset = session.get(Dataset, deadline.object_id)
    return reviewer_ids(session, dataset) if dataset is not None else []


register_deadline_audience(
    REVIEW_KIND, _review_audience, label=STEP_REVIEW, link=lambda d: f"/catalog/{d.object_id}"
)


def _notice(
    session: Session,
    user_ids: Sequence[int],
    kind: str,
    dataset: Dataset,
    title: str,
    body: str = "",
    **params: object,
) -> None:
    """Notices store message ids and params; each reader sees them in their language."""
    if not user_ids:
        return
    notify(
        session,
        user_ids=list(user_ids),
        kind=kind,
        title=title,
        body=body,
        link=f"/catalog/{dataset.id}",
        code=dataset.code,
        name=dataset.title,
        **params,
    )


# ---------------------------------------------------------------------------------------
# The transitions


def _transition(
    session: Session,
    actor: Actor | None,
    dataset_id: int,
    action: str,
    lock_version: int | None,
    change: Callable[[Actor, Dataset], dict[str, object]],
    validate: Callable[[], None] | None = None,
) -> Dataset:
    """Check, lock, re-check, change and audit, in one transaction."""
    if actor is None:
        require(actor, Perm.CATALOG_EDIT_OWN)  # raises 401
    assert actor is not None
    try:
        with unit_of_work(session):
            dataset = get_dataset(session, actor, dataset_id)
            _check_role(actor, dataset, action)
            if validate is not None:
                validate()
            # The state as it is now, held until we commit.
            session.refresh(dataset, with_for_update=True)
            if lock_version is not None and lock_version != dataset.lock_version:
                raise Conflict(STALE)
            allowed_from, target = TRANSITIONS[action]
            if dataset.state not in allowed_from:
                raise Conflict(WRONG_STATE[action], state=label(dataset.state))
            before = dataset.state
            dataset.state = target
            dataset.updated_at = utcnow()
            # ``change`` sets the entry's own attributes before it flushes anything else,
            # so the row is written (and its lock_version moves) once.
            extra = change(actor, dataset)
            session.flush()
            audit.record(
                session,
                actor,
                f"dataset.{action}",
                OBJECT_TYPE,
                dataset.id,
                label=f"{dataset.code} {dataset.title}",
                changes={"state": [before.value, target.value], **extra},
            )
    except StaleDataError as exc:
        raise Conflict(STALE) from exc
    return dataset


def submit(
    session: Session,
    actor: Actor | None,
    dataset_id: int,
    lock_version: int | None = None,
    *,
    today: dt.date | None = None,
) -> Dataset:
    """Submit a draft or returned entry for review (the owning agency's officers).

    Opens the review deadline (``GONGSHU_CATALOG_REVIEW_DAYS`` working days after
    ``today``) and tells the reviewers.
    """

    def change(actor: Actor, dataset: Dataset) -> dict[str, object]:
        dataset.submitted_at = utcnow()
        dataset.submitted_by_id = actor.user_id
        deadline = open_deadline(
            session,
            object_type=OBJECT_TYPE,
            object_id=dataset.id,
            kind=REVIEW_KIND,
            start=today or local_today(),
            working_days=get_settings().catalog_review_days,
        )
        _notice(
            session,
            reviewer_ids(session, dataset),
            "catalog.submitted",
            dataset,
            NOTICE_SUBMITTED,
            NOTICE_SUBMITTED_BODY,
            agency=dataset.agency.name,
            due=deadline.due_on.isoformat(),
            rule=deadline.rule,
        )
        return {"due_on": [None, deadline.due_on.isoformat()], "rule": [None, deadline.rule]}

    return _transition(session, actor, dataset_id, SUBMIT, lock_version, change)


def recall(
    session: Session, actor: Actor | None, dataset_id: int, lock_version: int | None = None
) -> Dataset:
    """Take a submitted entry back to draft before it is reviewed (the owning officers)."""

    def change(_actor: Actor, dataset: Dataset) -> dict[str, object]:
        close_deadline(session, object_type=OBJECT_TYPE, object_id=dataset.id, kind=REVIEW_KIND)
        return {}

    return _transition(session, actor, dataset_id, RECALL, lock_version, change)


def _decide(actor: Actor, dataset: Dataset, comment: str) -> None:
    dataset.reviewed_at = utcnow()
    dataset.reviewed_by_id = actor.user_id
    dataset.review_comment = comment


def _clean_reason(text: str | None, *, required: bool) -> str:
    reason = (text or "").strip()
    if required and not reason:
        raise ValidationFailed(INVALID, {"reason": [translate(REASON_REQUIRED)]})
    if len(reason) > REASON_MAX:
        message = translate(REASON_TOO_LONG, max=REASON_MAX)
        raise ValidationFailed(INVALID, {"reason": [message]})
    return reason


def approve(
    session: Session,
    actor: Actor | None,
    dataset_id: int,
    lock_version: int | None = None,
    comment: str = "",
) -> Dataset:
    """Approve a submitted entry (a reviewer of its level); closes the review deadline."""
    text = _clean_reason(comment, required=False)

    def change(actor: Actor, dataset: Dataset) -> dict[str, object]:
        before = dataset.review_comment
        _decide(actor, dataset, text)
        close_deadline(session, object_type=OBJECT_TYPE, object_id=dataset.id, kind=REVIEW_KIND)
        _notice(
            session,
            officer_ids(session, dataset),
            "catalog.approved",
            dataset,
            NOTICE_APPROVED,
            NOTICE_APPROVED_BODY if text else "",
            comment=text,
        )
        return audit.diff({"review_comment": before}, {"review_comment": text})

    return _transition(session, actor, dataset_id, APPROVE, lock_version, change)


def return_(
    session: Session,
    actor: Actor | None,
    dataset_id: int,
    reason: str,
    lock_version: int | None = None,
) -> Dataset:
    """Return a submitted entry to its agency with a reason (a reviewer of its level).

    The officers fix it (a returned entry is editable) and submit it again.
    """
    holder: list[str] = []

    def validate() -> None:
        holder.append(_clean_reason(reason, required=True))

    def change(actor: Actor, dataset: Dataset) -> dict[str, object]:
        before = dataset.review_comment
        _decide(actor, dataset, holder[0])
        close_deadline(session, object_type=OBJECT_TYPE, object_id=dataset.id, kind=REVIEW_KIND)
        _notice(
            session,
            officer_ids(session, dataset),
            "catalog.returned",
            dataset,
            NOTICE_RETURNED,
            NOTICE_RETURNED_BODY,
            reason=holder[0],
        )
        return audit.diff({"review_comment": before}, {"review_comment": holder[0]})

    return _transition(session, actor, dataset_id, RETURN, lock_version, change, validate)


def publish(
    session: Session,
    actor: Actor | None,
    dataset_id: int,
    lock_version: int | None = None,
    *,
    today: dt.date | None = None,
) -> Dataset:
    """Publish an approved entry (a reviewer of its level): every public body sees it now.

    ``published_on`` is set to ``today`` unless the officers gave a date.
    """

    def change(_actor: Actor, dataset: Dataset) -> dict[str, object]:
        if dataset.published_on is not None:
            return {}
        dataset.published_on = today or local_today()
        _notice(
            session,
            officer_ids(session, dataset),
            "catalog.published",
            dataset,
            NOTICE_PUBLISHED,
        )
        return {"published_on": [None, dataset.published_on.isoformat()]}

    return _transition(session, actor, dataset_id, PUBLISH, lock_version, change)


# ---------------------------------------------------------------------------------------
# Reads: an entry's open review deadline, and the review queue


@dataclass(frozen=True)
class DeadlineView:
    """A deadline as pages and the API show it: date, rule and "剩余 N 个工作日"."""

    due_on: dt.date
    rule: str
    provisional: bool
    remaining: int  # working days; 0 on the due day, negative when overdue

    @property
    def overdue(self) -> bool:
        return self.remaining < 0


def deadline_view(
    session: Session, deadline: Deadline | None, today: dt.date | None = None
) -> DeadlineView | None:
    if deadline is None:
        return None
    remaining = remaining_for(session, [deadline], today)[deadline.id]
    return DeadlineView(deadline.due_on, deadline.rule, deadline.provisional, remaining)


def review_deadline(
    session: Session, dataset: Dataset, today: dt.date | None = None
) -> DeadlineView | None:
    """The entry's open review deadline, if it is waiting for review."""
    stmt = select(Deadline).where(
        Deadline.object_type == OBJECT_TYPE,
        Deadline.object_id == dataset.id,
        Deadline.kind == REVIEW_KIND,
        Deadline.closed_at.is_(None),
    )
    return deadline_view(session, session.scalars(stmt.order_by(Deadline.id.desc())).first(), today)


@dataclass(frozen=True)
class QueueItem:
    """One thing waiting for the actor's review: an entry or a change request."""

    kind: str  # "dataset" or "change_request"
    id: int
    dataset: Dataset
    step: str  # what the reviewer decides, as a message id
    submitted_at: dt.datetime | None
    deadline: DeadlineView | None


def pending_entries(session: Session, actor: Actor) -> list[tuple[Dataset, Deadline | None]]:
    """Submitted entries the actor reviews, each with its open review deadline."""
    stmt = (
        select(Dataset, Deadline)
        .outerjoin(
            Deadline,
            and_(
                Deadline.object_type == OBJECT_TYPE,
                Deadline.object_id == Dataset.id,
                Deadline.kind == REVIEW_KIND,
                Deadline.closed_at.is_(None),
            ),
        )
        .where(Dataset.state == DatasetState.SUBMITTED, visible_clause(actor))
        .options(selectinload(Dataset.agency), selectinload(Dataset.region))
        .order_by(Dataset.id)
    )
    if not actor.city_scope:
        stmt = stmt.where(Dataset.region_id == actor.region_id)
    return [(d, dl) for d, dl in session.execute(stmt).all()]


def review_queue(
    session: Session, actor: Actor | None, today: dt.date | None = None
) -> list[QueueItem]:
    """Everything waiting for the actor's review — submitted entries and change requests at
    the actor's step — soonest due first (no deadline last). Bureau admins only."""
    from gongshu.catalog import changes  # changes builds on this module

    actor = require(actor, Perm.CATALOG_REVIEW)
    rows: list[tuple[str, int, Dataset, str, dt.datetime | None, Deadline | None]] = [
        ("dataset", d.id, d, STEP_REVIEW, d.submitted_at, dl)
        for d, dl in pending_entries(session, actor)
    ]
    for cr, dl in changes.pending_changes(session, actor):
        rows.append(("change_request", cr.id, cr.dataset, changes.step_of(cr), cr.proposed_at, dl))
    remaining = remaining_for(session, [r[5] for r in rows if r[5] is not None], today)
    items = [
        QueueItem(
            kind,
            oid,
            dataset,
            step,
            at,
            DeadlineView(dl.due_on, dl.rule, dl.provisional, remaining[dl.id]) if dl else None,
        )
        for kind, oid, dataset, step, at, dl in rows
    ]
    far = dt.date.max
    items.sort(key=lambda i: (i.deadline.due_on if i.deadline else far, i.kind, i.id))
    return items
