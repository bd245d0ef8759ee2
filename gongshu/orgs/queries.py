"""Reads of regions and agencies, shared by pages, the API and the CLI.

Lists load what their rows show in a fixed number of statements (count, page with its
regions, catalog counts for the page), never one per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, joinedload

from gongshu.audit.models import AuditEntry
from gongshu.audit.service import history
from gongshu.auth.models import Role, User, UserRole
from gongshu.catalog.models import Dataset, DatasetState
from gongshu.errors import NotFound
from gongshu.i18n import N_
from gongshu.orgs.models import Agency, AgencyKind, Region
from gongshu.pagination import Page

__all__ = [
    "ORDERINGS",
    "AgencyFilter",
    "AgencyList",
    "CatalogCounts",
    "HistoryItem",
    "agency_history",
    "agency_users",
    "catalog_counts",
    "data_officers",
    "dataset_counts",
    "get_agency",
    "get_region",
    "list_agencies",
    "list_regions",
    "region_by_code",
]

M_AGENCY_NOT_FOUND = N_("机构不存在")
M_REGION_NOT_FOUND = N_("行政区划不存在")
M_REGION_CODE_NOT_FOUND = N_("行政区划代码 {code} 不存在")

#: Accepted values of ``order`` (a leading "-" sorts descending) and their columns.
ORDERINGS: dict[str, Any] = {
    "name": Agency.name,
    "credit_code": Agency.credit_code,
    "created_at": Agency.created_at,
    "updated_at": Agency.updated_at,
    "region": Region.code,
    "kind": Agency.kind,
}
MAX_PER_PAGE = 200


# --- regions ------------------------------------------------------------------------------


def list_regions(session: Session) -> list[Region]:
    """Every region, the city first, then its districts by code."""
    stmt = select(Region).options(joinedload(Region.parent)).order_by(Region.code)
    return list(session.scalars(stmt))


def get_region(session: Session, region_id: int) -> Region:
    region = session.get(Region, region_id)
    if region is None:
        raise NotFound(M_REGION_NOT_FOUND)
    return region


def region_by_code(session: Session, code: str) -> Region:
    region = session.scalar(select(Region).where(Region.code == code.strip()))
    if region is None:
        raise NotFound(M_REGION_CODE_NOT_FOUND, code=code)
    return region


def region_agency_counts(session: Session) -> dict[int, int]:
    """Number of agencies per region id (one statement)."""
    stmt = select(Agency.region_id, func.count()).group_by(Agency.region_id)
    return {rid: int(n) for rid, n in session.execute(stmt)}


# --- agencies -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AgencyFilter:
    """What the agency list shows: a keyword over name, short name and credit code, plus
    exact filters; ``active`` None shows both active and deactivated agencies."""

    q: str = ""
    region_id: int | None = None
    kind: AgencyKind | None = None
    domain: str = ""
    active: bool | None = None
    order: str = "name"
    page: int = 1
    per_page: int = 20


@dataclass(frozen=True)
class AgencyList(Page[Agency]):
    """A page of agencies with the number of catalog entries of each."""

    dataset_counts: dict[int, int] = field(default_factory=dict)


def _filtered(stmt: Select[Any], f: AgencyFilter) -> Select[Any]:
    if q := f.q.strip():
        stmt = stmt.where(
            Agency.name.icontains(q, autoescape=True)
            | Agency.short_name.icontains(q, autoescape=True)
            | Agency.credit_code.icontains(q.upper(), autoescape=True)
        )
    if f.region_id is not None:
        stmt = stmt.where(Agency.region_id == f.region_id)
    if f.kind is not None:
        stmt = stmt.where(Agency.kind == f.kind)
    if f.domain.strip():
        stmt = stmt.where(Agency.domain == f.domain.strip())
    if f.active is not None:
        stmt = stmt.where(Agency.is_active.is_(f.active))
    return stmt


def list_agencies(session: Session, f: AgencyFilter) -> AgencyList:
    """One page of agencies with their regions and catalog entry counts (3 statements)."""
    per_page = min(max(f.per_page, 1), MAX_PER_PAGE)
    page = max(f.page, 1)
    total = int(session.scalar(_filtered(select(func.count(Agency.id)), f)) or 0)
    key = f.order.lstrip("-")
    column = ORDERINGS.get(key, Agency.name)
    ordering = column.desc() if f.order.startswith("-") and key in ORDERINGS else column.asc()
    stmt = (
        _filtered(select(Agency).join(Agency.region), f)
        .options(joinedload(Agency.region))
        .order_by(ordering, Agency.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    items = list(session.scalars(stmt))
    counts = dataset_counts(session, [a.id for a in items]) if items else {}
    return AgencyList(items, total, page, per_page, counts)


def get_agency(session: Session, agency_id: int) -> Agency:
    """One agency with its region and chief data officer, or 404 "机构不存在"."""
    stmt = (
        select(Agency)
        .where(Agency.id == agency_id)
        .options(joinedload(Agency.region), joinedload(Agency.chief_data_officer))
    )
    agency = session.scalar(stmt)
    if agency is None:
        raise NotFound(M_AGENCY_NOT_FOUND)
    return agency


def domains(session: Session) -> list[str]:
    """The distinct business domains (领域) agencies have, for the list filter."""
    stmt = select(Agency.domain).where(Agency.domain != "").distinct().order_by(Agency.domain)
    return list(session.scalars(stmt))


def data_officers(session: Session, agency_id: int) -> list[User]:
    """The agency's data officers (数据专管员): its users holding ``agency_officer``."""
    stmt = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.agency_id == agency_id, UserRole.role == Role.AGENCY_OFFICER)
        .order_by(User.display_name, User.id)
    )
    return list(session.scalars(stmt).unique())


def agency_users(session: Session, agency_id: int, *, active_only: bool = True) -> list[User]:
    """The agency's own users (candidates for its chief data officer)."""
    stmt = select(User).where(User.agency_id == agency_id).order_by(User.display_name, User.id)
    if active_only:
        stmt = stmt.where(User.is_active.is_(True))
    return list(session.scalars(stmt))


def dataset_counts(session: Session, agency_ids: Sequence[int]) -> dict[int, int]:
    """Catalog entries per agency for the given ids (one statement)."""
    stmt = (
        select(Dataset.agency_id, func.count())
        .where(Dataset.agency_id.in_(agency_ids))
        .group_by(Dataset.agency_id)
    )
    return {aid: int(n) for aid, n in session.execute(stmt)}


@dataclass(frozen=True)
class CatalogCounts:
    total: int
    published: int


def catalog_counts(session: Session, agency_id: int) -> CatalogCounts:
    """How many catalog entries an agency provides, and how many are published."""
    stmt = (
        select(Dataset.state, func.count())
        .where(Dataset.agency_id == agency_id)
        .group_by(Dataset.state)
    )
    by_state = {state: int(n) for state, n in session.execute(stmt)}
    return CatalogCounts(sum(by_state.values()), by_state.get(DatasetState.PUBLISHED, 0))


# --- history ------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldChangeItem:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class HistoryItem:
    """One audit entry about an object, its changes split per field."""

    entry: AuditEntry
    changes: list[FieldChangeItem]


def _changes(entry: AuditEntry) -> list[FieldChangeItem]:
    out: list[FieldChangeItem] = []
    for name, value in (entry.changes or {}).items():
        if isinstance(value, list) and len(value) == 2:
            out.append(FieldChangeItem(name, value[0], value[1]))
        else:
            out.append(FieldChangeItem(name, None, value))
    return out


def agency_history(
    session: Session, agency_id: int, *, newest_first: bool = False
) -> list[HistoryItem]:
    """The agency's history: a view of the audit chain (oldest first unless asked)."""
    entries = history(session, "agency", agency_id)
    if newest_first:
        entries.reverse()
    return [HistoryItem(e, _changes(e)) for e in entries]


def history_names(session: Session, items: Iterable[HistoryItem]) -> dict[str, dict[Any, str]]:
    """Display names for ids that appear in changes (regions, users): two statements at most."""
    region_ids: set[int] = set()
    user_ids: set[int] = set()
    for item in items:
        for change in item.changes:
            target = region_ids if change.field in ("region_id", "parent_id") else None
            if change.field == "chief_data_officer_id":
                target = user_ids
            if target is None:
                continue
            target.update(v for v in (change.old, change.new) if isinstance(v, int))
    names: dict[str, dict[Any, str]] = {"region": {}, "user": {}}
    if region_ids:
        rows = session.execute(select(Region.id, Region.name).where(Region.id.in_(region_ids)))
        names["region"] = {rid: name for rid, name in rows}
    if user_ids:
        rows = session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids)))
        names["user"] = {uid: name for uid, name in rows}
    return names
