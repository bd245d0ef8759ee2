"""Reading the information-system registry: who sees which systems, lists and flags.

Visibility (pages, API and CLI alike):

- the platform itself (CLI, demo loader) and city-level bureau admins see every system;
- a district bureau admin sees the systems of its district's agencies;
- a user of an agency sees that agency's systems;
- nobody else sees any.

A system is flagged "未编目" (not catalogued) when it is running and no catalog entry is
linked to it (seed 001 §42).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import Session, selectinload

from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.permissions import Perm, can, in_region_scope, require_login
from gongshu.catalog.models import Dataset
from gongshu.catalog.queries import is_platform, valid_id
from gongshu.catalog.queries import visible_clause as dataset_visible
from gongshu.errors import NotFound
from gongshu.i18n import N_, translate
from gongshu.orgs.models import Agency
from gongshu.pagination import Page
from gongshu.systems.models import InformationSystem, SystemDataset, SystemStatus
from gongshu.systems.schemas import SystemFilter

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
NOT_FOUND = N_("信息系统不存在")
STATUS_LABELS: dict[SystemStatus, str] = {
    SystemStatus.PLANNED: N_("规划中"),
    SystemStatus.BUILDING: N_("建设中"),
    SystemStatus.RUNNING: N_("运行中"),
    SystemStatus.RETIRED: N_("已停用"),
}


def status_label(status: SystemStatus | str) -> str:
    """A status in the current language."""
    return translate(STATUS_LABELS[SystemStatus(status)])


def sees_all(actor: Actor) -> bool:
    return is_platform(actor) or (can(actor, Perm.CATALOG_READ_ALL) and actor.city_scope)


def visible_clause(actor: Actor) -> ColumnElement[bool]:
    """A WHERE condition selecting the systems ``actor`` may read."""
    if sees_all(actor):
        return true()
    conditions: list[ColumnElement[bool]] = []
    if actor.agency_id is not None:
        conditions.append(InformationSystem.agency_id == actor.agency_id)
    if can(actor, Perm.CATALOG_READ_ALL) and actor.region_id is not None:
        in_region = select(Agency.id).where(Agency.region_id == actor.region_id)
        conditions.append(InformationSystem.agency_id.in_(in_region))
    return or_(false(), *conditions)


def may_manage(actor: Actor, agency: Agency) -> bool:
    """Officers of the owning agency, bureau admins of its region (or the city), the platform."""
    if is_platform(actor):
        return True
    if actor.has(Role.BUREAU_ADMIN) and in_region_scope(actor, agency.region_id):
        return True
    return can(actor, Perm.CATALOG_EDIT_OWN) and actor.agency_id == agency.id


def dataset_count() -> ColumnElement[int]:
    return (
        select(func.count())
        .where(SystemDataset.system_id == InformationSystem.id)
        .correlate(InformationSystem)
        .scalar_subquery()
    )


def uncataloged_clause() -> ColumnElement[bool]:
    """Running, and no catalog entry linked."""
    linked = exists().where(SystemDataset.system_id == InformationSystem.id)
    return and_(InformationSystem.status == SystemStatus.RUNNING, ~linked)


@dataclass(frozen=True)
class SystemRow:
    """A system with the number of catalog entries linked to it."""

    system: InformationSystem
    dataset_count: int

    @property
    def uncataloged(self) -> bool:
        return self.system.status is SystemStatus.RUNNING and self.dataset_count == 0


def _filtered(actor: Actor, f: SystemFilter, *, with_flag: bool = True) -> Select[int]:
    stmt = select(InformationSystem.id).where(visible_clause(actor))
    if f.q:
        stmt = stmt.where(
            or_(
                InformationSystem.name.icontains(f.q, autoescape=True),
                InformationSystem.project_name.icontains(f.q, autoescape=True),
                InformationSystem.project_number.icontains(f.q, autoescape=True),
            )
        )
    if f.agency_id is not None:
        if not valid_id(f.agency_id):
            return stmt.where(false())
        stmt = stmt.where(InformationSystem.agency_id == f.agency_id)
    if f.region_id is not None:
        if not valid_id(f.region_id):
            return stmt.where(false())
        stmt = stmt.where(
            InformationSystem.agency_id.in_(
                select(Agency.id).where(Agency.region_id == f.region_id)
            )
        )
    if f.status is not None:
        stmt = stmt.where(InformationSystem.status == f.status)
    if with_flag and f.uncataloged:
        stmt = stmt.where(uncataloged_clause())
    return stmt


def list_systems(
    session: Session,
    actor: Actor | None,
    filters: SystemFilter | None = None,
    page: int = 1,
    per_page: int = DEFAULT_PER_PAGE,
) -> Page[SystemRow]:
    """Systems the actor may read, filtered, by agency name then system name (3 queries)."""
    actor = require_login(actor)
    f = filters or SystemFilter()
    page = max(1, page)
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    ids = _filtered(actor, f)
    total = int(session.scalar(select(func.count()).select_from(ids.subquery())) or 0)
    stmt = (
        select(InformationSystem, dataset_count())
        .join(Agency, Agency.id == InformationSystem.agency_id)
        .where(InformationSystem.id.in_(ids))
        .options(selectinload(InformationSystem.agency))
        .order_by(Agency.name, InformationSystem.name, InformationSystem.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    rows = [SystemRow(s, int(n or 0)) for s, n in session.execute(stmt).all()]
    return Page(rows, total, page, per_page)


def count_uncataloged(
    session: Session, actor: Actor | None, filters: SystemFilter | None = None
) -> int:
    """How many of the systems matching the filters are running without a catalog entry."""
    actor = require_login(actor)
    ids = _filtered(actor, filters or SystemFilter(), with_flag=False).where(uncataloged_clause())
    return int(session.scalar(select(func.count()).select_from(ids.subquery())) or 0)


def find_visible(session: Session, actor: Actor, system_id: int) -> InformationSystem | None:
    if not valid_id(system_id):
        return None
    stmt = (
        select(InformationSystem)
        .where(InformationSystem.id == system_id, visible_clause(actor))
        .options(selectinload(InformationSystem.agency))
    )
    return session.scalars(stmt).one_or_none()


def get_system(session: Session, actor: Actor | None, system_id: int) -> InformationSystem:
    """The system, if it exists and the actor may read it; otherwise 404."""
    actor = require_login(actor)
    system = find_visible(session, actor, system_id)
    if system is None:
        raise NotFound(NOT_FOUND)
    return system


def linked_datasets(session: Session, actor: Actor, system_id: int) -> list[Dataset]:
    """The catalog entries linked to a system that the actor may read, by code."""
    stmt = (
        select(Dataset)
        .join(SystemDataset, SystemDataset.dataset_id == Dataset.id)
        .where(SystemDataset.system_id == system_id, dataset_visible(actor))
        .order_by(Dataset.code, Dataset.id)
    )
    return list(session.scalars(stmt))


def link_count(session: Session, system_id: int) -> int:
    stmt = select(func.count()).where(SystemDataset.system_id == system_id)
    return int(session.scalar(stmt) or 0)


def linkable_datasets(session: Session, actor: Actor, system: InformationSystem) -> list[Dataset]:
    """Entries of the system's agency, visible to the actor and not yet linked."""
    linked = select(SystemDataset.dataset_id).where(SystemDataset.system_id == system.id)
    stmt = (
        select(Dataset)
        .where(
            Dataset.agency_id == system.agency_id,
            dataset_visible(actor),
            Dataset.id.not_in(linked),
        )
        .order_by(Dataset.code, Dataset.id)
        .limit(500)
    )
    return list(session.scalars(stmt))
