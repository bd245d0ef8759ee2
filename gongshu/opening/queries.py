"""Reads of open applications shared by pages, API and CLI: who sees which, lists with
filters, and the open decision deadlines with the working days left.

Who sees an application: its applicant; the data officers of the provider agency; bureau
admins (a city-scope admin every application, a district admin those of its district's
entries); auditors. Anyone else gets 404, as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.permissions import Perm, can, require_login
from gongshu.catalog.models import Dataset
from gongshu.errors import NotFound
from gongshu.gate.policy import is_platform
from gongshu.i18n import N_
from gongshu.opening.models import ApplicationStatus, OpenApplication
from gongshu.workdays.models import Deadline
from gongshu.workdays.service import remaining_for

OBJECT_TYPE = "open_application"
DECISION_KIND = "opening.decision"
M_NOT_FOUND = N_("开放申请不存在")

STATUS_LABELS: dict[ApplicationStatus, str] = {
    ApplicationStatus.DRAFT: N_("待确认协议"),
    ApplicationStatus.PENDING: N_("待答复"),
    ApplicationStatus.ACTIVE: N_("已同意，生效中"),
    ApplicationStatus.REFUSED: N_("不予同意"),
    ApplicationStatus.REVOKED: N_("已终止"),
    ApplicationStatus.EXPIRED: N_("已到期"),
    ApplicationStatus.WITHDRAWN: N_("已撤回"),
}


def status_label(status: ApplicationStatus | str) -> str:
    return STATUS_LABELS.get(ApplicationStatus(status), str(status))


def is_bureau(actor: Actor) -> bool:
    return actor.has(Role.BUREAU_ADMIN) or can(actor, Perm.AUDIT_READ) or is_platform(actor)


def visible_clause(actor: Actor) -> ColumnElement[bool]:
    """A WHERE condition on ``open_application`` (joined to ``dataset``) for the actor."""
    if is_platform(actor) or can(actor, Perm.AUDIT_READ):
        return OpenApplication.id.is_not(None)
    conditions: list[ColumnElement[bool]] = []
    if actor.user_id is not None:
        conditions.append(OpenApplication.applicant_id == actor.user_id)
    if actor.has(Role.AGENCY_OFFICER) and actor.agency_id is not None:
        conditions.append(OpenApplication.provider_agency_id == actor.agency_id)
    if actor.has(Role.BUREAU_ADMIN):
        if actor.city_scope:
            return OpenApplication.id.is_not(None)
        if actor.region_id is not None:
            conditions.append(Dataset.region_id == actor.region_id)
    return or_(false(), *conditions)


def get_application(session: Session, actor: Actor | None, application_id: int) -> OpenApplication:
    """The application if the actor may see it, else ``NotFound``."""
    actor = require_login(actor)
    found = session.scalar(
        select(OpenApplication)
        .join(Dataset, Dataset.id == OpenApplication.dataset_id)
        .where(OpenApplication.id == application_id, visible_clause(actor))
    )
    if found is None:
        raise NotFound(M_NOT_FOUND)
    return found


@dataclass(frozen=True)
class ApplicationPage:
    items: list[OpenApplication]
    total: int
    page: int
    per_page: int


def list_applications(
    session: Session,
    actor: Actor | None,
    *,
    status: ApplicationStatus | None = None,
    dataset_id: int | None = None,
    agency_id: int | None = None,
    mine: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> ApplicationPage:
    """The applications the actor sees, newest first, filtered. ``mine``: only the actor's
    own (a public user's view); drafts are shown only to their applicant."""
    actor = require_login(actor)
    page = max(1, page)
    per_page = max(1, min(per_page, 200))
    stmt = (
        select(OpenApplication)
        .join(Dataset, Dataset.id == OpenApplication.dataset_id)
        .where(visible_clause(actor))
    )
    if mine:
        stmt = stmt.where(OpenApplication.applicant_id == actor.user_id)
    else:
        stmt = stmt.where(
            or_(
                OpenApplication.status != ApplicationStatus.DRAFT,
                OpenApplication.applicant_id == actor.user_id,
            )
        )
    if status is not None:
        stmt = stmt.where(OpenApplication.status == status)
    if dataset_id is not None:
        stmt = stmt.where(OpenApplication.dataset_id == dataset_id)
    if agency_id is not None:
        stmt = stmt.where(OpenApplication.provider_agency_id == agency_id)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = list(
        session.scalars(
            stmt.options(
                selectinload(OpenApplication.dataset),
                selectinload(OpenApplication.provider),
                selectinload(OpenApplication.applicant),
            )
            .order_by(OpenApplication.created_at.desc(), OpenApplication.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
    )
    return ApplicationPage(items, int(total), page, per_page)


@dataclass(frozen=True)
class DeadlineView:
    deadline: Deadline
    remaining: int

    @property
    def overdue(self) -> bool:
        return self.remaining < 0


def deadline_views(
    session: Session, applications: Sequence[OpenApplication]
) -> dict[int, DeadlineView]:
    """The open decision deadline of each application, with working days left, by id."""
    ids = [a.id for a in applications]
    if not ids:
        return {}
    deadlines = list(
        session.scalars(
            select(Deadline).where(
                Deadline.object_type == OBJECT_TYPE,
                Deadline.object_id.in_(ids),
                Deadline.kind == DECISION_KIND,
                Deadline.closed_at.is_(None),
            )
        )
    )
    left = remaining_for(session, deadlines)
    return {d.object_id: DeadlineView(d, left[d.id]) for d in deadlines}


def entry_fields(dataset: Dataset) -> list[tuple[str, str]]:
    """The entry's fields as (name, label), in catalog order."""
    return [(f.name, f.label) for f in dataset.fields]
