"""The portal's figures: totals, use over time, per entry and per agency.

Every function reads the collector's tables joined to the catalog: all-time figures and
months the monthly sums (``portal_stat_monthly``), days the daily rows
(``portal_stat_daily``). With ``public_only`` (the default, what the public statistics page shows)
only entries that are public now count — :func:`gongshu.portal.openness.public_clause`, the
one rule — so the figures never reveal that a hidden entry exists; the bureau's view passes
``public_only=False``. Counts still in a process's memory (at most a few seconds' worth) are
not included.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TypeVarTuple

from sqlalchemy import ColumnElement, Select, case, func, select, true
from sqlalchemy.orm import Session

from gongshu.catalog.models import Dataset
from gongshu.orgs.models import Agency
from gongshu.portal.openness import public_clause
from gongshu.portalstats.models import PortalStatDaily, PortalStatMonthly, StatKind
from gongshu.store.models import DatasetHead, DatasetVersion
from gongshu.workdays.calendar import local_today

_Ts = TypeVarTuple("_Ts")

__all__ = [
    "AgencyUsage",
    "DayUsage",
    "EntryUsage",
    "PortalTotals",
    "Usage",
    "by_agency",
    "by_entry",
    "daily",
    "for_entry",
    "monthly",
    "totals",
]


@dataclass(frozen=True)
class Usage:
    """Views, downloads and API calls of something."""

    views: int = 0
    downloads: int = 0
    api_calls: int = 0

    @property
    def total(self) -> int:
        return self.views + self.downloads + self.api_calls


@dataclass(frozen=True)
class PortalTotals(Usage):
    """The headline figures: open entries, their agencies and live records, and their use."""

    entries: int = 0
    agencies: int = 0
    records: int = 0


@dataclass(frozen=True)
class EntryUsage(Usage):
    dataset_id: int = 0
    code: str = ""
    title: str = ""
    agency_id: int = 0
    agency_name: str = ""


@dataclass(frozen=True)
class AgencyUsage(Usage):
    agency_id: int = 0
    name: str = ""
    credit_code: str = ""
    entries: int = 0


@dataclass(frozen=True)
class DayUsage(Usage):
    """Use on one day, or (from :func:`monthly`) in the month starting that day."""

    day: dt.date = dt.date.min


Stat = type[PortalStatDaily] | type[PortalStatMonthly]
# All-time figures and months read the monthly sums; days (and `since`) the daily rows.
DAILY: Stat = PortalStatDaily
MONTHLY: Stat = PortalStatMonthly


def _sums(t: Stat) -> tuple[ColumnElement[int], ColumnElement[int], ColumnElement[int]]:
    def of(kind: StatKind) -> ColumnElement[int]:
        summed = func.sum(case((t.kind == kind, t.count), else_=0))
        return func.coalesce(summed, 0)

    return of(StatKind.VIEW), of(StatKind.DOWNLOAD), of(StatKind.API_CALL)


def _scope(public_only: bool) -> ColumnElement[bool]:
    return public_clause() if public_only else true()


def _stats_of_entries(
    stmt: Select[*_Ts],
    t: Stat,
    *,
    public_only: bool,
    agency_id: int | None,
    since: dt.date | None,
) -> Select[*_Ts]:
    stmt = stmt.join(Dataset, Dataset.id == t.dataset_id).where(_scope(public_only))
    if agency_id is not None:
        stmt = stmt.where(Dataset.agency_id == agency_id)
    if since is not None:
        stmt = stmt.where(t.day >= since)
    return stmt


def totals(
    session: Session, *, public_only: bool = True, agency_id: int | None = None
) -> PortalTotals:
    """Entries, agencies, live records and all-time use (of one agency's entries, or all)."""
    entries_q = select(func.count(Dataset.id), func.count(func.distinct(Dataset.agency_id)))
    entries_q = entries_q.where(_scope(public_only))
    records_q = (
        select(func.coalesce(func.sum(DatasetVersion.row_count), 0))
        .select_from(DatasetHead)
        .join(DatasetVersion, DatasetVersion.id == DatasetHead.version_id)
        .join(Dataset, Dataset.id == DatasetHead.dataset_id)
        .where(_scope(public_only))
    )
    if agency_id is not None:
        entries_q = entries_q.where(Dataset.agency_id == agency_id)
        records_q = records_q.where(Dataset.agency_id == agency_id)
    entries, agencies = session.execute(entries_q).one()
    records = session.execute(records_q).scalar_one()
    use_q = _stats_of_entries(
        select(*_sums(MONTHLY)), MONTHLY, public_only=public_only, agency_id=agency_id, since=None
    )
    views, downloads, api_calls = session.execute(use_q).one()
    return PortalTotals(
        views=int(views),
        downloads=int(downloads),
        api_calls=int(api_calls),
        entries=int(entries),
        agencies=int(agencies),
        records=int(records),
    )


def for_entry(session: Session, dataset_id: int) -> Usage:
    """All-time use of one entry (whatever its openness: the caller decides who sees it)."""
    views, downloads, api_calls = session.execute(
        select(*_sums(MONTHLY)).where(PortalStatMonthly.dataset_id == dataset_id)
    ).one()
    return Usage(views=int(views), downloads=int(downloads), api_calls=int(api_calls))


def by_entry(
    session: Session,
    *,
    limit: int = 10,
    order: StatKind | None = None,
    agency_id: int | None = None,
    since: dt.date | None = None,
    public_only: bool = True,
) -> list[EntryUsage]:
    """The most used entries: by one kind of use, or (``order`` None) by all together."""
    t = MONTHLY if since is None else DAILY
    views, downloads, api_calls = _sums(t)
    stmt = _stats_of_entries(
        select(
            Dataset.id,
            Dataset.code,
            Dataset.title,
            Agency.id,
            Agency.name,
            views.label("views"),
            downloads.label("downloads"),
            api_calls.label("api_calls"),
        ).select_from(t),
        t,
        public_only=public_only,
        agency_id=agency_id,
        since=since,
    )
    rank = {
        None: views + downloads + api_calls,
        StatKind.VIEW: views,
        StatKind.DOWNLOAD: downloads,
        StatKind.API_CALL: api_calls,
    }[order]
    stmt = (
        stmt.join(Agency, Agency.id == Dataset.agency_id)
        .group_by(Dataset.id, Dataset.code, Dataset.title, Agency.id, Agency.name)
        .order_by(rank.desc(), Dataset.code)
        .limit(limit)
    )
    return [
        EntryUsage(
            dataset_id=did,
            code=code,
            title=title,
            agency_id=aid,
            agency_name=aname,
            views=int(v),
            downloads=int(d),
            api_calls=int(c),
        )
        for did, code, title, aid, aname, v, d, c in session.execute(stmt).all()
    ]


def by_agency(
    session: Session, *, public_only: bool = True, since: dt.date | None = None
) -> list[AgencyUsage]:
    """Every agency with entries in scope: how many, and their use (most used first)."""
    entries = (
        select(Dataset.agency_id, func.count(Dataset.id).label("entries"))
        .where(_scope(public_only))
        .group_by(Dataset.agency_id)
        .subquery()
    )
    t = MONTHLY if since is None else DAILY
    views, downloads, api_calls = _sums(t)
    use = _stats_of_entries(
        select(
            Dataset.agency_id.label("agency_id"),
            views.label("views"),
            downloads.label("downloads"),
            api_calls.label("api_calls"),
        ).select_from(t),
        t,
        public_only=public_only,
        agency_id=None,
        since=since,
    )
    used = use.group_by(Dataset.agency_id).subquery()
    stmt = (
        select(
            Agency.id,
            Agency.name,
            Agency.credit_code,
            entries.c.entries,
            func.coalesce(used.c.views, 0),
            func.coalesce(used.c.downloads, 0),
            func.coalesce(used.c.api_calls, 0),
        )
        .join(entries, entries.c.agency_id == Agency.id)
        .outerjoin(used, used.c.agency_id == Agency.id)
    )
    rows = [
        AgencyUsage(
            agency_id=aid,
            name=name,
            credit_code=credit,
            entries=int(n),
            views=int(v),
            downloads=int(d),
            api_calls=int(c),
        )
        for aid, name, credit, n, v, d, c in session.execute(stmt).all()
    ]
    rows.sort(key=lambda a: (-a.total, -a.entries, a.name))
    return rows


def daily(
    session: Session,
    *,
    days: int = 30,
    agency_id: int | None = None,
    public_only: bool = True,
    today: dt.date | None = None,
) -> list[DayUsage]:
    """Use per day over the last ``days`` days (today included), every day present."""
    end = today or local_today()
    start = end - dt.timedelta(days=days - 1)
    views, downloads, api_calls = _sums(DAILY)
    stmt = _stats_of_entries(
        select(PortalStatDaily.day, views, downloads, api_calls).select_from(PortalStatDaily),
        DAILY,
        public_only=public_only,
        agency_id=agency_id,
        since=start,
    ).group_by(PortalStatDaily.day)
    found = {day: (int(v), int(d), int(c)) for day, v, d, c in session.execute(stmt).all()}
    out = []
    for i in range(days):
        day = start + dt.timedelta(days=i)
        v, d, c = found.get(day, (0, 0, 0))
        out.append(DayUsage(day=day, views=v, downloads=d, api_calls=c))
    return out


def monthly(
    session: Session,
    *,
    months: int = 12,
    agency_id: int | None = None,
    public_only: bool = True,
    today: dt.date | None = None,
) -> list[DayUsage]:
    """Use per calendar month over the last ``months`` months (this one included)."""
    end = (today or local_today()).replace(day=1)
    firsts = [end]
    for _ in range(months - 1):
        prev = firsts[-1] - dt.timedelta(days=1)
        firsts.append(prev.replace(day=1))
    firsts.reverse()
    views, downloads, api_calls = _sums(MONTHLY)
    stmt = _stats_of_entries(
        select(PortalStatMonthly.day, views, downloads, api_calls).select_from(PortalStatMonthly),
        MONTHLY,
        public_only=public_only,
        agency_id=agency_id,
        since=firsts[0],
    ).group_by(PortalStatMonthly.day)
    per_month: dict[dt.date, list[int]] = {m: [0, 0, 0] for m in firsts}
    for day, v, d, c in session.execute(stmt).all():
        bucket = per_month[day.replace(day=1)]
        bucket[0] += int(v)
        bucket[1] += int(d)
        bucket[2] += int(c)
    return [
        DayUsage(day=m, views=vals[0], downloads=vals[1], api_calls=vals[2])
        for m, vals in per_month.items()
    ]
