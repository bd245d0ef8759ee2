"""Corrections (纠错): a reader flags a value as wrong, the provider answers and fixes it.

    open ──accept──▶ accepted ──a newer version changes the value──▶ fixed (link to it)
      │                  │      (or the provider names the version)
      └──reject with a reason──▶ rejected

Who may do what (checked here, for pages, API and CLI alike):

- any signed-in user who may read the dataset's rows (the gate's policy: ``may_read``)
  raises a ticket on one value: the row's key value, the field, the value believed right,
  a reason and optional evidence. The value seen is read through the gate (purpose
  ``correction``) from the current version, which the ticket remembers;
- the provider's data officers (the dataset's agency) accept, reject with a reason, or close
  an open or accepted ticket by naming the version that fixed it;
- the reporter, the provider's users and the bureau admins of the dataset's region read it.

Raising a ticket opens a deadline of ``GONGSHU_CORRECTION_DAYS`` working days
(``gongshu.workdays``, kind ``governance.correction``) and notifies the provider's
officers; rejecting or fixing closes it and notifies the reporter. After each publish the
job ``governance.check`` runs ``check_corrections``: every open or accepted ticket of the
dataset whose row, in the new current version, holds a different value in that field than
in the version the reporter saw is closed as fixed with a link to the new version. A row
that is gone does not count as fixed. Each write records one ``governance.correction_*``
audit entry.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, or_, select, true
from sqlalchemy.orm import Session, selectinload

from gongshu.audit.service import record
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.permissions import Perm, can, in_region_scope, require_login
from gongshu.catalog import queries as catalog_queries
from gongshu.catalog.models import Dataset, Sensitivity
from gongshu.catalog.service import get_dataset
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.gate import service as gate
from gongshu.gate.policy import may_read
from gongshu.gate.verify import keyed_hash
from gongshu.governance.consistency import GOVERNANCE, value_text
from gongshu.governance.models import (
    OPEN_OBJECTION_STATUSES,
    PUBLIC_OBJECTION_KINDS,
    Objection,
    ObjectionKind,
    ObjectionStatus,
)
from gongshu.governance.schemas import CorrectionAnswer, CorrectionCreate, CorrectionFilter
from gongshu.i18n import N_, translate
from gongshu.notices.reminders import register_deadline_audience
from gongshu.notices.service import notify, users_with_role
from gongshu.settings import get_settings
from gongshu.store.models import DatasetVersion, VersionStatus
from gongshu.store.versions import current_version
from gongshu.workdays.calendar import local_today
from gongshu.workdays.models import Deadline
from gongshu.workdays.service import close_deadline, open_deadline, remaining_for

__all__ = [
    "DEADLINE_KIND",
    "OBJECT_TYPE",
    "OPEN_OBJECTION_STATUSES",
    "QueueItem",
    "answer_correction",
    "check_corrections",
    "close_with_version",
    "create_correction",
    "get_correction",
    "has_open_tickets",
    "list_corrections",
    "may_answer",
    "open_deadline_of",
    "status_label",
    "version_url",
]

OBJECT_TYPE = "objection"
DEADLINE_KIND = "governance.correction"
PURPOSE = "correction"

INVALID = N_("提交的内容有误，请按提示修改")
M_NOT_FOUND = N_("纠错工单不存在")
M_MAY_NOT_READ = N_("只有可以读取该数据集数据的用户才能提出纠错")
M_NO_DATA = N_("该数据集还没有数据")
M_NO_KEY = N_("该数据集没有主键，无法纠错")
M_NO_FIELD = N_("数据中没有字段“{field}”")
M_KEY_FIELD = N_("主键字段不能纠错")
M_NO_ROW = N_("没有找到主键为“{key}”的记录")
M_SEEN_DIFFERS = N_("当前数据中该值为“{value}”，与您看到的不一致，请刷新后重试")
M_SAME_VALUE = N_("建议值与当前值相同")
M_DUPLICATE = N_("该值已有未办结的纠错工单（第 {id} 号）")
M_NOT_PROVIDER = N_("只有数据提供单位的数据专管员可以处理纠错")
M_WRONG_STATE = N_("工单当前状态为“{state}”，不能执行该操作")
M_REASON_REQUIRED = N_("驳回时请说明理由")
M_NO_VERSION = N_("该数据集没有第 {number} 版")
M_OLD_VERSION = N_("请指定纠错提出之后发布的版本（晚于第 {number} 版）")
STEP_CORRECTION = N_("数据纠错")

NOTICE_NEW = N_("收到数据纠错：{name}")
NOTICE_NEW_BODY = N_(
    "{reporter}认为“{name}”中主键为 {key} 的记录的“{field}”有误，请在 {due} 前答复并修正。"
)
NOTICE_ACCEPTED = N_("纠错已被接受：{name}")
NOTICE_REJECTED = N_("纠错被驳回：{name}")
NOTICE_REJECTED_BODY = N_("驳回理由：{reason}")
NOTICE_FIXED = N_("纠错已修正：{name}")
NOTICE_FIXED_BODY = N_("数据提供单位已发布第 {number} 版修正该值。")

STATUS_LABELS: dict[str, str] = {
    ObjectionStatus.OPEN: N_("待答复"),
    ObjectionStatus.ACCEPTED: N_("已接受，待修正"),
    ObjectionStatus.REJECTED: N_("已驳回"),
    ObjectionStatus.FIXED: N_("已修正"),
    ObjectionStatus.ANSWERED: N_("已答复"),
}


def status_label(status: ObjectionStatus | str) -> str:
    return translate(STATUS_LABELS.get(str(status), str(status)))


def version_url(objection: Objection) -> str | None:
    """The page of the version that fixed the value (the ticket's link)."""
    if objection.fixed_version is None:
        return None
    return f"/catalog/{objection.dataset_id}/versions/{objection.fixed_version.number}"


# --- who may -------------------------------------------------------------------------------


def may_answer(actor: Actor | None, objection: Objection) -> bool:
    """The provider's data officers (and the platform)."""
    if actor is None:
        return False
    if catalog_queries.is_platform(actor):
        return True
    return actor.agency_id == objection.agency_id and actor.has(Role.AGENCY_OFFICER)


def _may_see(actor: Actor, objection: Objection) -> bool:
    if catalog_queries.is_platform(actor):
        return True
    if objection.created_by_id is not None and objection.created_by_id == actor.user_id:
        return True
    if actor.agency_id is not None and actor.agency_id == objection.agency_id:
        return True
    return can(actor, Perm.CATALOG_REVIEW) and in_region_scope(actor, objection.dataset.region_id)


def _visible(actor: Actor) -> ColumnElement[bool]:
    if catalog_queries.is_platform(actor):
        return true()
    conditions: list[ColumnElement[bool]] = []
    if actor.user_id is not None:
        conditions.append(Objection.created_by_id == actor.user_id)
    if actor.agency_id is not None:
        conditions.append(Objection.agency_id == actor.agency_id)
    if can(actor, Perm.CATALOG_REVIEW):
        if actor.city_scope:
            conditions.append(true())
        elif actor.region_id is not None:
            conditions.append(
                Objection.dataset_id.in_(
                    select(Dataset.id).where(Dataset.region_id == actor.region_id)
                )
            )
    return or_(false(), *conditions)


# --- reads -------------------------------------------------------------------------------


def get_correction(session: Session, actor: Actor | None, objection_id: int) -> Objection:
    """A ticket the actor may see (the reporter, the provider, the bureau); otherwise 404."""
    actor = require_login(actor)
    objection = (
        session.scalars(
            select(Objection)
            .where(Objection.id == objection_id)
            .options(
                selectinload(Objection.dataset).selectinload(Dataset.agency),
                selectinload(Objection.seen_version),
                selectinload(Objection.fixed_version),
            )
        ).one_or_none()
        if catalog_queries.valid_id(objection_id)
        else None
    )
    # The public's tickets (gongshu.feedback) have their own flow: routing, public reply.
    if (
        objection is None
        or objection.kind in PUBLIC_OBJECTION_KINDS
        or not _may_see(actor, objection)
    ):
        raise NotFound(M_NOT_FOUND)
    return objection


def open_deadline_of(session: Session, objection: Objection) -> Deadline | None:
    """The ticket's deadline: the open one, else the last (closed) one."""
    stmt = select(Deadline).where(
        Deadline.object_type == OBJECT_TYPE,
        Deadline.object_id == objection.id,
        Deadline.kind == DEADLINE_KIND,
    )
    return session.scalars(stmt.order_by(Deadline.id.desc())).first()


@dataclass(frozen=True)
class QueueItem:
    """One ticket in a list, with its deadline and the working days left (None: closed)."""

    objection: Objection
    deadline: Deadline | None
    remaining: int | None


def list_corrections(
    session: Session,
    actor: Actor | None,
    filters: CorrectionFilter | None = None,
    *,
    limit: int = 200,
    today: dt.date | None = None,
) -> list[QueueItem]:
    """Tickets the actor may see, open ones first by due day (soonest first), then closed
    ones newest first. ``role``: ``provider`` (of the actor's agency), ``reporter`` (raised
    by the actor) or ``all``."""
    actor = require_login(actor)
    filters = filters or CorrectionFilter()
    stmt = (
        select(Objection, Deadline)
        .outerjoin(
            Deadline,
            and_(
                Deadline.object_type == OBJECT_TYPE,
                Deadline.object_id == Objection.id,
                Deadline.kind == DEADLINE_KIND,
                Deadline.closed_at.is_(None),
            ),
        )
        .where(_visible(actor), Objection.kind == ObjectionKind.CORRECTION)
        .options(
            selectinload(Objection.dataset).selectinload(Dataset.agency),
            selectinload(Objection.fixed_version),
        )
    )
    if filters.status == "open":
        stmt = stmt.where(Objection.status.in_(OPEN_OBJECTION_STATUSES))
    elif filters.status == "closed":
        stmt = stmt.where(Objection.status.not_in(OPEN_OBJECTION_STATUSES))
    if filters.role == "provider":
        stmt = stmt.where(Objection.agency_id == (actor.agency_id or 0))
    elif filters.role == "reporter":
        stmt = stmt.where(Objection.created_by_id == (actor.user_id or 0))
    if filters.dataset_id is not None:
        stmt = stmt.where(Objection.dataset_id == filters.dataset_id)
    is_open = case((Objection.status.in_(OPEN_OBJECTION_STATUSES), 0), else_=1)
    no_deadline = case((Deadline.id.is_(None), 1), else_=0)
    stmt = stmt.order_by(
        is_open, no_deadline, Deadline.due_on, Objection.closed_at.desc(), Objection.id.desc()
    ).limit(limit)
    rows = session.execute(stmt).all()
    deadlines = [d for _o, d in rows if d is not None]
    left = remaining_for(session, deadlines, today)
    return [QueueItem(o, d, left.get(d.id) if d is not None else None) for o, d in rows]


def has_open_tickets(session: Session, dataset_id: int) -> bool:
    stmt = select(Objection.id).where(
        Objection.dataset_id == dataset_id,
        Objection.kind == ObjectionKind.CORRECTION,
        Objection.status.in_(OPEN_OBJECTION_STATUSES),
    )
    return session.scalars(stmt.limit(1)).first() is not None


# --- raising a ticket --------------------------------------------------------------------


def _key_field(version: DatasetVersion) -> str:
    key = next((str(f["name"]) for f in version.schema if f.get("key")), None)
    if key is None:
        raise ValidationFailed(M_NO_KEY)
    return key


def _field_error(name: str, message: str, **params: Any) -> ValidationFailed:
    return ValidationFailed(INVALID, {name: [translate(message, None, **params)]})


def _officers(session: Session, agency_id: int) -> list[int]:
    return users_with_role(session, Role.AGENCY_OFFICER, agency_id=agency_id)


def _tell(
    session: Session,
    user_ids: Sequence[int],
    objection: Objection,
    dataset: Dataset,
    title: str,
    body: str = "",
    **params: Any,
) -> None:
    notify(
        session,
        user_ids=user_ids,
        kind="governance.correction",
        title=title,
        body=body,
        link=f"/governance/corrections/{objection.id}",
        name=dataset.title,
        key=objection.key_value,
        field=objection.field_name,
        **params,
    )


def _label(objection: Objection) -> str:
    # The record's key (often an ID number) goes into the audit chain as a keyed hash only.
    return f"{objection.dataset.code} {keyed_hash(objection.key_value)} · {objection.field_name}"


def _audited_value(dataset: Dataset, field_name: str, value: str) -> str:
    """A proposed value as the audit chain keeps it: a keyed hash on a field holding
    personal data (any sensitivity but ``none``), else as it is."""
    plain = any(f.name == field_name and f.sensitivity is Sensitivity.NONE for f in dataset.fields)
    return value if plain or not value else keyed_hash(value)


def create_correction(
    session: Session, actor: Actor | None, data: CorrectionCreate, *, today: dt.date | None = None
) -> Objection:
    """Flag one value as wrong (a reader of the dataset); opens the provider's deadline."""
    actor = require_login(actor)
    dataset = get_dataset(session, actor, data.dataset_id)
    if catalog_queries.is_platform(actor) or not may_read(session, actor, dataset):
        raise PermissionDenied(M_MAY_NOT_READ)
    version = current_version(session, dataset.id)
    if version is None:
        raise ValidationFailed(M_NO_DATA)
    key = _key_field(version)
    if data.field_name not in version.field_names:
        raise _field_error("field_name", M_NO_FIELD, field=data.field_name)
    if data.field_name == key:
        raise _field_error("field_name", M_KEY_FIELD)
    duplicate = session.scalar(
        select(Objection.id).where(
            Objection.dataset_id == dataset.id,
            Objection.key_value == data.key_value,
            Objection.field_name == data.field_name,
            Objection.status.in_(OPEN_OBJECTION_STATUSES),
        )
    )
    if duplicate is not None:
        raise _field_error("field_name", M_DUPLICATE, id=duplicate)
    try:
        rows = gate.lookup(
            session, actor, dataset, key, [data.key_value], purpose=PURPOSE, version=version
        )
    except ValidationFailed as exc:  # a key value that is not even of the key's type
        raise _field_error("key_value", M_NO_ROW, key=data.key_value) from exc
    if not rows:
        raise _field_error("key_value", M_NO_ROW, key=data.key_value)
    if data.field_name not in rows[0]:
        raise PermissionDenied(M_MAY_NOT_READ)
    seen = value_text(rows[0][data.field_name])
    if data.seen_value is not None and data.seen_value.strip() != seen:
        raise _field_error("seen_value", M_SEEN_DIFFERS, value=seen)
    if data.proposed_value and data.proposed_value.strip() == seen:
        raise _field_error("proposed_value", M_SAME_VALUE)
    days = get_settings().correction_days
    with unit_of_work(session):
        objection = Objection(
            kind=ObjectionKind.CORRECTION,
            dataset_id=dataset.id,
            agency_id=dataset.agency_id,
            key_field=key,
            key_value=data.key_value,
            field_name=data.field_name,
            seen_value=seen,
            proposed_value=data.proposed_value,
            reason=data.reason,
            evidence=data.evidence,
            seen_version_id=version.id,
            status=ObjectionStatus.OPEN,
            created_by_id=actor.user_id,
            reporter_agency_id=actor.agency_id,
        )
        session.add(objection)
        session.flush()
        deadline = open_deadline(
            session,
            object_type=OBJECT_TYPE,
            object_id=objection.id,
            kind=DEADLINE_KIND,
            start=today or local_today(),
            working_days=days,
        )
        _tell(
            session,
            _officers(session, dataset.agency_id),
            objection,
            dataset,
            NOTICE_NEW,
            NOTICE_NEW_BODY,
            reporter=actor.name,
            due=deadline.due_on.isoformat(),
        )
        record(
            session,
            actor,
            "governance.correction_create",
            OBJECT_TYPE,
            objection.id,
            label=_label(objection),
            changes={
                "dataset_id": dataset.id,
                "version": version.number,
                "key": [None, keyed_hash(data.key_value)],
                "field": [None, data.field_name],
                "proposed": [
                    None,
                    _audited_value(dataset, data.field_name, data.proposed_value),
                ],
                "due_on": [None, deadline.due_on.isoformat()],
                "working_days": days,
            },
        )
    objection.dataset = dataset
    objection.seen_version = version
    return objection


# --- the provider's answers --------------------------------------------------------------


def _for_answer(
    session: Session, actor: Actor | None, objection_id: int
) -> tuple[Actor, Objection]:
    actor = require_login(actor)
    objection = get_correction(session, actor, objection_id)
    if not may_answer(actor, objection):
        raise PermissionDenied(M_NOT_PROVIDER)
    session.refresh(objection, with_for_update=True)
    return actor, objection


def _state_error(objection: Objection) -> Conflict:
    return Conflict(M_WRONG_STATE, state=status_label(objection.status))


def _reporter(objection: Objection) -> list[int]:
    return [objection.created_by_id] if objection.created_by_id is not None else []


def answer_correction(
    session: Session, actor: Actor | None, objection_id: int, data: CorrectionAnswer
) -> Objection:
    """Accept (the ticket then waits for a fixing version) or reject with a reason (the
    ticket closes). The provider's officers; an open ticket, or an accepted one to reject."""
    reason = data.reason.strip()
    if data.decision == "reject" and not reason:
        raise _field_error("reason", M_REASON_REQUIRED)
    with unit_of_work(session):
        actor, objection = _for_answer(session, actor, objection_id)
        allowed = (ObjectionStatus.OPEN,) if data.decision == "accept" else OPEN_OBJECTION_STATUSES
        if objection.status not in allowed:
            raise _state_error(objection)
        before = objection.status
        now = utcnow()
        objection.answer = reason
        objection.answered_at = now
        objection.answered_by_id = actor.user_id
        if data.decision == "accept":
            objection.status = ObjectionStatus.ACCEPTED
            _tell(session, _reporter(objection), objection, objection.dataset, NOTICE_ACCEPTED)
        else:
            objection.status = ObjectionStatus.REJECTED
            objection.closed_at = now
            close_deadline(
                session, object_type=OBJECT_TYPE, object_id=objection.id, kind=DEADLINE_KIND
            )
            _tell(
                session,
                _reporter(objection),
                objection,
                objection.dataset,
                NOTICE_REJECTED,
                NOTICE_REJECTED_BODY,
                reason=reason,
            )
        session.flush()
        record(
            session,
            actor,
            f"governance.correction_{data.decision}",
            OBJECT_TYPE,
            objection.id,
            label=_label(objection),
            changes={
                "status": [before.value, objection.status.value],
                "answer": [None, reason] if reason else None,
            },
        )
    return objection


def _fix(
    session: Session, actor: Actor, objection: Objection, version: DatasetVersion, how: str
) -> None:
    """Close a ticket as fixed by ``version``, in the caller's transaction."""
    before = objection.status
    objection.status = ObjectionStatus.FIXED
    objection.fixed_version_id = version.id
    objection.fixed_version = version
    objection.closed_at = utcnow()
    close_deadline(session, object_type=OBJECT_TYPE, object_id=objection.id, kind=DEADLINE_KIND)
    _tell(
        session,
        _reporter(objection),
        objection,
        objection.dataset,
        NOTICE_FIXED,
        NOTICE_FIXED_BODY,
        number=version.number,
    )
    session.flush()
    record(
        session,
        actor,
        "governance.correction_fix",
        OBJECT_TYPE,
        objection.id,
        label=_label(objection),
        changes={
            "status": [before.value, ObjectionStatus.FIXED.value],
            "version": [None, version.number],
            "version_id": version.id,
            "by": how,
        },
    )


def close_with_version(
    session: Session, actor: Actor | None, objection_id: int, number: int
) -> Objection:
    """The provider closes an open or accepted ticket naming the version that fixed it (a
    version published after the one the reporter saw)."""
    with unit_of_work(session):
        actor, objection = _for_answer(session, actor, objection_id)
        if objection.status not in OPEN_OBJECTION_STATUSES:
            raise _state_error(objection)
        version = session.scalars(
            select(DatasetVersion).where(
                DatasetVersion.dataset_id == objection.dataset_id,
                DatasetVersion.number == number,
            )
        ).one_or_none()
        if version is None:
            raise _field_error("version", M_NO_VERSION, number=number)
        seen = objection.seen_version.number if objection.seen_version is not None else 0
        if version.number <= seen:
            raise _field_error("version", M_OLD_VERSION, number=seen)
        _fix(session, actor, objection, version, "provider")
    return objection


# --- fixed by a publish ------------------------------------------------------------------


def _values(
    session: Session,
    dataset: Dataset,
    version: DatasetVersion,
    key: str,
    tickets: Sequence[Objection],
) -> dict[str, dict[str, Any]]:
    """Rows by key value for the tickets' keys, read through the gate as the platform."""
    keys = sorted({t.key_value for t in tickets})
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), gate.MAX_LOOKUP_VALUES):
        chunk = keys[start : start + gate.MAX_LOOKUP_VALUES]
        rows = gate.lookup(
            session, GOVERNANCE, dataset, key, chunk, purpose=PURPOSE, version=version
        )
        for row in rows:
            found.setdefault(value_text(row.get(key)), row)
    return found


def check_corrections(session: Session, dataset_id: int) -> list[Objection]:
    """Close as fixed the open and accepted tickets of a dataset whose value the current
    version changed; returns them. Runs as the platform (the ``governance.check`` job after
    each publish); reads commit their audit entries, so call it with nothing pending."""
    dataset = session.get(Dataset, dataset_id)
    current = current_version(session, dataset_id)
    if dataset is None or current is None:
        return []
    tickets = list(
        session.scalars(
            select(Objection)
            .where(
                Objection.dataset_id == dataset_id,
                Objection.status.in_(OPEN_OBJECTION_STATUSES),
            )
            .options(selectinload(Objection.seen_version), selectinload(Objection.dataset))
            .order_by(Objection.id)
        )
    )
    # Public tickets (no key value, perhaps no version) are never fixed by a publish.
    tickets = [
        t
        for t in tickets
        if t.seen_version is not None and t.key_field and t.seen_version.number < current.number
    ]
    if not tickets:
        return []
    names = set(current.field_names)
    changed: list[Objection] = []
    groups: dict[tuple[str, int], list[Objection]] = defaultdict(list)
    for ticket in tickets:
        if ticket.key_field in names and ticket.field_name in names and ticket.seen_version_id:
            groups[(ticket.key_field, ticket.seen_version_id)].append(ticket)
    for (key, _seen_id), group in groups.items():
        now_rows = _values(session, dataset, current, key, group)
        seen_version = group[0].seen_version
        before_rows: dict[str, dict[str, Any]] = {}
        if seen_version is None:
            continue
        if seen_version.status is not VersionStatus.PRUNED and key in seen_version.field_names:
            before_rows = _values(session, dataset, seen_version, key, group)
        for ticket in group:
            row = now_rows.get(ticket.key_value)
            if row is None:
                continue
            old = before_rows.get(ticket.key_value)
            before = (
                value_text(old.get(ticket.field_name))
                if old is not None and ticket.field_name in old
                else ticket.seen_value
            )
            if value_text(row.get(ticket.field_name)) != before:
                changed.append(ticket)
    if changed:
        with unit_of_work(session):
            for ticket in changed:
                session.refresh(ticket, with_for_update=True)
                if ticket.status in OPEN_OBJECTION_STATUSES:
                    _fix(session, GOVERNANCE, ticket, current, "publish")
    return [t for t in changed if t.fixed_version_id == current.id]


# --- reminders ---------------------------------------------------------------------------


def _audience(session: Session, deadline: Deadline) -> list[int]:
    objection = session.get(Objection, deadline.object_id)
    return _officers(session, objection.agency_id) if objection is not None else []


register_deadline_audience(
    DEADLINE_KIND,
    _audience,
    label=STEP_CORRECTION,
    link=lambda d: f"/governance/corrections/{d.object_id}",
)
