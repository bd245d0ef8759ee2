"""Reads the public portal's pages need: headline figures, domains, agencies, newest entries,
one entry's live version, and the search of public entries.

Everything here is metadata of public entries (``openness.public_clause``); rows are read
only through the gate (``gongshu.portal.pages``). The figures (and the usage counts: views,
downloads, API calls) are ``gongshu.portalstats``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from gongshu.catalog.models import Dataset
from gongshu.orgs.models import Agency
from gongshu.portal import naming
from gongshu.portal.openness import public_clause
from gongshu.portalstats import collector
from gongshu.portalstats import queries as stats
from gongshu.portalstats.queries import PortalTotals
from gongshu.search import SearchQuery, SearchResult, search_datasets
from gongshu.store.models import DatasetHead, DatasetVersion

#: How many newest entries the home page lists.
NEWEST = 6


def record_stat(kind: str, dataset: Dataset) -> None:
    """Count a view, download or API call of a public entry (in memory: no I/O here)."""
    collector.record(kind, dataset.id, dataset.agency_id)


def headline(session: Session) -> PortalTotals:
    """Open entries, publishing agencies, records (rows of the live versions of public
    entries), views, downloads and API calls (``gongshu.portalstats``)."""
    return stats.totals(session)


@dataclass(frozen=True)
class DomainCount:
    name: str
    slug: str
    count: int


def domains(session: Session) -> list[DomainCount]:
    """The domains (所属领域) of public entries, most entries first."""
    rows = session.execute(
        select(Dataset.domain, func.count(Dataset.id))
        .where(public_clause(), Dataset.domain != "")
        .group_by(Dataset.domain)
        .order_by(func.count(Dataset.id).desc(), Dataset.domain)
    ).all()
    return [DomainCount(str(d), naming.theme_slug(str(d)), int(n)) for d, n in rows]


def domains_of_slug(session: Session, slug: str) -> list[str]:
    """The domains a theme name stands for (two that read alike share one)."""
    return [d.name for d in domains(session) if d.slug == slug]


def newest(session: Session, limit: int = NEWEST) -> list[Dataset]:
    """The most recently published (or updated) public entries."""
    return list(
        session.scalars(
            select(Dataset)
            .where(public_clause())
            .options(selectinload(Dataset.agency))
            .order_by(Dataset.updated_at.desc(), Dataset.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class AgencyCount:
    agency: Agency
    slug: str
    count: int


def agencies(session: Session) -> list[AgencyCount]:
    """Agencies that publish public entries, with how many, most first."""
    n = func.count(Dataset.id)
    rows = session.execute(
        select(Agency, n)
        .join(Dataset, Dataset.agency_id == Agency.id)
        .where(public_clause())
        .group_by(Agency.id)
        .order_by(n.desc(), Agency.name)
    ).all()
    return [AgencyCount(a, naming.agency_slug(a), int(c)) for a, c in rows]


def find_agency(session: Session, slug: str) -> Agency | None:
    """The publishing agency a slug (its credit code in lower case, or its id) names."""
    code = slug.strip().upper()
    if not code.isalnum() or len(code) > 32:
        return None
    by = Agency.id == int(code) if code.isdigit() and len(code) < 18 else Agency.credit_code == code
    agency = session.scalars(select(Agency).where(by)).one_or_none()
    if agency is None:
        return None
    publishes = session.scalar(
        select(func.count(Dataset.id)).where(public_clause(), Dataset.agency_id == agency.id)
    )
    return agency if publishes else None


def live_version(session: Session, dataset_id: int) -> DatasetVersion | None:
    """The version readers see (None: no data yet)."""
    return session.scalars(
        select(DatasetVersion)
        .join(DatasetHead, DatasetHead.version_id == DatasetVersion.id)
        .where(DatasetHead.dataset_id == dataset_id)
    ).one_or_none()


def last_updates(session: Session, ids: Sequence[int]) -> dict[int, Any]:
    """When each entry's data last changed (its live version's time), by entry id."""
    if not ids:
        return {}
    rows = session.execute(
        select(DatasetHead.dataset_id, DatasetVersion.created_at)
        .join(DatasetVersion, DatasetVersion.id == DatasetHead.version_id)
        .where(DatasetHead.dataset_id.in_(list(ids)))
    ).all()
    return {int(i): at for i, at in rows}


def search(session: Session, query: SearchQuery) -> SearchResult:
    """Public entries matching ``query`` (anyone may search, signed in or not)."""
    return search_datasets(session, None, query, public=True)


__all__ = [
    "AgencyCount",
    "DomainCount",
    "agencies",
    "domains",
    "domains_of_slug",
    "find_agency",
    "headline",
    "last_updates",
    "live_version",
    "newest",
    "record_stat",
    "search",
]
