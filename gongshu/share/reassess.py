"""Reassessment (复核) of conditional entries: should they stay conditional?

Every published conditional entry carries a next-assessment date (``AssessmentPlan``): one
period (``GONGSHU_SHARE_REASSESS_MONTHS``, default 12) after its publication, then one period
after each assessment. The sweep job creates missing plans, reminds the provider's officers
``GONGSHU_SHARE_REASSESS_REMIND_DAYS`` before the date, and once more (with the reviewing
bureau) when it has passed.

The provider's officers record the outcome with a reason (audited ``share.reassess`` on the
entry, so it shows in the entry's history):

- **keep**: the entry stays conditional; the next date moves one period on;
- **convert**: the entry is to become unconditional. A published entry changes only with
  the city bureau's consent, so the conversion goes through the catalog's change-request
  path: ``gongshu.catalog.changes.propose_change`` proposes ``share_type = unconditional``
  (checked by every catalog rule now — the grading table may forbid it, 422), and the entry
  changes when the bureau consents. The proposal is its own audited step
  (``change_request.create``), committed just before the assessment that links it; an
  assessment repeated after a failure reuses the open proposal instead of making another.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session, selectinload

from gongshu.audit import service as audit
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.permissions import Perm, can, require_login
from gongshu.catalog import changes
from gongshu.catalog.models import (
    ChangeKind,
    ChangeRequest,
    Dataset,
    DatasetState,
    ShareType,
)
from gongshu.catalog.schemas import DatasetUpdate
from gongshu.catalog.service import get_dataset
from gongshu.catalog.workflow_schemas import ChangeRequestCreate
from gongshu.db import unit_of_work
from gongshu.errors import Conflict, PermissionDenied
from gongshu.i18n import N_
from gongshu.notices.service import notify
from gongshu.settings import get_settings
from gongshu.share import rules
from gongshu.share.issuing import clean_reason
from gongshu.share.models import Assessment, AssessmentOutcome, AssessmentPlan
from gongshu.share.schemas import AssessmentCreate
from gongshu.workdays.calendar import local_today

__all__ = [
    "PlanRow",
    "add_months",
    "history",
    "list_plans",
    "plan_of",
    "record_assessment",
    "send_reminders",
    "sync_plans",
]

M_NOT_PROVIDER = N_("只有数据提供单位的数据专管员可以登记复核结果")
M_NOT_CONDITIONAL = N_("只有已发布的有条件共享目录条目需要复核")
M_REASON_REQUIRED = N_("请填写复核理由")
M_NOT_READER = N_("只有数据提供单位和大数据主管部门可以查看复核安排")

NOTICE_DUE = N_("共享属性复核将到期：{name}")
NOTICE_DUE_BODY = N_(
    "“{name}”的有条件共享属性应于 {due} 前复核：维持有条件共享，或转为无条件共享。"
)
NOTICE_OVERDUE = N_("共享属性复核已逾期：{name}")
NOTICE_OVERDUE_BODY = N_("“{name}”的有条件共享属性应于 {due} 复核，现已逾期，请尽快登记复核结果。")


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _period() -> int:
    return get_settings().share_reassess_months


def _due_entries() -> ColumnElement[bool]:
    return (Dataset.state == DatasetState.PUBLISHED) & (Dataset.share_type == ShareType.CONDITIONAL)


def sync_plans(session: Session, today: dt.date | None = None) -> int:
    """Give every published conditional entry without a plan its first date (one period
    after publication). Commits; returns how many plans were made."""
    day = today or local_today()
    stmt = (
        select(Dataset)
        .outerjoin(AssessmentPlan, AssessmentPlan.dataset_id == Dataset.id)
        .where(_due_entries(), AssessmentPlan.dataset_id.is_(None))
        .order_by(Dataset.id)
    )
    with unit_of_work(session):
        missing = session.scalars(stmt).all()
        for dataset in missing:
            start = dataset.published_on or day
            session.add(
                AssessmentPlan(dataset_id=dataset.id, next_due_on=add_months(start, _period()))
            )
    return len(missing)


def plan_of(session: Session, dataset: Dataset, today: dt.date | None = None) -> AssessmentPlan:
    """The entry's plan, or (not made yet) the one the sweep will make, unsaved."""
    plan = session.get(AssessmentPlan, dataset.id)
    if plan is not None:
        return plan
    start = dataset.published_on or today or local_today()
    return AssessmentPlan(dataset_id=dataset.id, next_due_on=add_months(start, _period()))


def send_reminders(session: Session, today: dt.date | None = None) -> dict[str, int]:
    """Remind the providers of assessments due within the reminder window (once per due
    date), and the providers and reviewing bureau of overdue ones (once). Commits."""
    day = today or local_today()
    window = day + dt.timedelta(days=get_settings().share_reassess_remind_days)
    counts = {"due_soon": 0, "overdue": 0}
    stmt = (
        select(AssessmentPlan)
        .join(Dataset, Dataset.id == AssessmentPlan.dataset_id)
        .where(_due_entries(), AssessmentPlan.next_due_on <= window)
        .options(selectinload(AssessmentPlan.dataset))
        .order_by(AssessmentPlan.next_due_on)
        .with_for_update(skip_locked=True)
    )
    with unit_of_work(session):
        for plan in session.scalars(stmt).all():
            dataset = plan.dataset
            due = plan.next_due_on
            link = f"/share/reassessments/{dataset.id}"
            if due < day:
                if plan.overdue_for == due:
                    continue
                users = set(rules.officer_ids(session, dataset.agency_id))
                users |= set(rules.arbitrator_ids(session, dataset))
                notify(
                    session,
                    user_ids=users,
                    kind="share.reassess_overdue",
                    title=NOTICE_OVERDUE,
                    body=NOTICE_OVERDUE_BODY,
                    link=link,
                    name=dataset.title,
                    due=due.isoformat(),
                )
                plan.overdue_for = due
                counts["overdue"] += 1
            elif plan.reminded_for != due:
                notify(
                    session,
                    user_ids=rules.officer_ids(session, dataset.agency_id),
                    kind="share.reassess_due",
                    title=NOTICE_DUE,
                    body=NOTICE_DUE_BODY,
                    link=link,
                    name=dataset.title,
                    due=due.isoformat(),
                )
                plan.reminded_for = due
                counts["due_soon"] += 1
    return counts


# --- recording ------------------------------------------------------------------------------


def _records(actor: Actor, dataset: Dataset) -> bool:
    if rules.is_platform(actor):
        return True
    return actor.agency_id == dataset.agency_id and actor.has(Role.AGENCY_OFFICER)


def may_record(actor: Actor | None, dataset: Dataset) -> bool:
    return actor is not None and _records(actor, dataset)


def _open_conversion(session: Session, dataset: Dataset) -> ChangeRequest | None:
    """An open change request that already proposes exactly the conversion."""
    change = changes.open_change_for(session, dataset)
    if change is None or change.kind is not ChangeKind.MODIFY:
        return None
    return change if change.changes == {"share_type": ShareType.UNCONDITIONAL.value} else None


def record_assessment(
    session: Session,
    actor: Actor | None,
    dataset_id: int,
    data: AssessmentCreate,
    *,
    today: dt.date | None = None,
) -> Assessment:
    """Record a reassessment of a published conditional entry (its provider's officers):
    keep it conditional, or propose converting it to unconditional (a catalog change request
    for the city bureau's consent). The next date moves one period on either way."""
    actor = require_login(actor)
    day = today or local_today()
    dataset = get_dataset(session, actor, dataset_id)
    if not _records(actor, dataset):
        raise PermissionDenied(M_NOT_PROVIDER)
    reason = clean_reason(data.reason, required=M_REASON_REQUIRED)
    if (
        dataset.state is not DatasetState.PUBLISHED
        or dataset.share_type is not ShareType.CONDITIONAL
    ):
        raise Conflict(M_NOT_CONDITIONAL)
    change_id: int | None = None
    if data.outcome is AssessmentOutcome.CONVERT:
        found = _open_conversion(session, dataset)
        if found is None:
            found = changes.propose_change(
                session,
                actor,
                dataset.id,
                ChangeRequestCreate(
                    kind=ChangeKind.MODIFY,
                    reason=reason,
                    basis_changed_on=day,
                    changes=DatasetUpdate(share_type=ShareType.UNCONDITIONAL),
                ),
                today=day,
            )
        change_id = found.id
    with unit_of_work(session):
        plan = session.get(AssessmentPlan, dataset.id, with_for_update=True)
        due = plan.next_due_on if plan is not None else None
        next_due = add_months(day, _period())
        if plan is None:
            plan = AssessmentPlan(dataset_id=dataset.id, next_due_on=next_due)
            session.add(plan)
        plan.next_due_on = next_due
        plan.last_assessed_on = day
        assessment = Assessment(
            dataset_id=dataset.id,
            outcome=data.outcome,
            reason=reason,
            assessed_on=day,
            due_on=due,
            next_due_on=next_due,
            change_request_id=change_id,
            assessed_by_id=actor.user_id,
        )
        session.add(assessment)
        session.flush()
        audit.record(
            session,
            actor,
            "share.reassess",
            "dataset",
            dataset.id,
            label=f"{dataset.code} {dataset.title}",
            changes={
                "outcome": data.outcome.value,
                "reason": reason,
                "due_on": due.isoformat() if due else None,
                "next_due_on": [due.isoformat() if due else None, next_due.isoformat()],
                "change_request": change_id,
                "assessment": assessment.id,
            },
        )
    return assessment


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanRow:
    dataset: Dataset
    next_due_on: dt.date
    last_assessed_on: dt.date | None
    days_left: int

    @property
    def state(self) -> Literal["ok", "soon", "overdue"]:
        if self.days_left < 0:
            return "overdue"
        return "soon" if self.days_left <= get_settings().share_reassess_remind_days else "ok"


def _scope(actor: Actor) -> ColumnElement[bool]:
    if rules.is_platform(actor) or (can(actor, Perm.CATALOG_REVIEW) and actor.city_scope):
        return true()
    if can(actor, Perm.CATALOG_REVIEW) and actor.region_id is not None:
        return Dataset.region_id == actor.region_id
    if actor.agency_id is not None and actor.has(Role.AGENCY_OFFICER):
        return Dataset.agency_id == actor.agency_id
    return false()


def list_plans(
    session: Session, actor: Actor | None, *, today: dt.date | None = None, due_only: bool = False
) -> list[PlanRow]:
    """Published conditional entries the actor oversees (the provider its own, the bureau
    its region's) with their next assessment date, soonest first."""
    actor = require_login(actor)
    if not (
        rules.is_platform(actor)
        or can(actor, Perm.CATALOG_REVIEW)
        or (actor.agency_id is not None and actor.has(Role.AGENCY_OFFICER))
    ):
        raise PermissionDenied(M_NOT_READER)
    day = today or local_today()
    rows = session.execute(
        select(Dataset, AssessmentPlan)
        .outerjoin(AssessmentPlan, AssessmentPlan.dataset_id == Dataset.id)
        .where(_due_entries(), _scope(actor))
        .options(selectinload(Dataset.agency))
    ).all()
    out: list[PlanRow] = []
    for dataset, plan in rows:
        plan = plan or plan_of(session, dataset, day)
        row = PlanRow(
            dataset, plan.next_due_on, plan.last_assessed_on, (plan.next_due_on - day).days
        )
        if not due_only or row.state != "ok":
            out.append(row)
    out.sort(key=lambda r: (r.next_due_on, r.dataset.id))
    return out


def history(session: Session, actor: Actor | None, dataset_id: int) -> list[Assessment]:
    """The entry's assessments, newest first (whoever may read the entry)."""
    dataset = get_dataset(session, actor, dataset_id)
    stmt = (
        select(Assessment)
        .where(Assessment.dataset_id == dataset.id)
        .options(selectinload(Assessment.assessed_by))
        .order_by(Assessment.id.desc())
    )
    return list(session.scalars(stmt))
