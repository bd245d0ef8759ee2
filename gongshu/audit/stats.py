"""Sharing statistics (共享统计): views of the audit chain, not tables of their own.

Over a period, from the gate's entries: **calls** (``data.read``, reads that were allowed),
**refusals** (``data.denied``), **records exchanged** (the rows those reads returned) and
**verifications** (``data.verify``) — per body (the reading body), per catalog entry and
per day (Asia/Shanghai). A reader sees the statistics of the entries they may see
(:func:`gongshu.audit.queries.scope_clause`), so a body's officers see their own traffic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, case, func, literal, select, text
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.audit.queries import scope_clause
from gongshu.auth.actor import Actor
from gongshu.catalog.models import Dataset
from gongshu.errors import ValidationFailed
from gongshu.i18n import N_
from gongshu.orgs.models import Agency
from gongshu.workdays.calendar import TZ

READ, DENIED, VERIFY = "data.read", "data.denied", "data.verify"
ACTIONS = (READ, DENIED, VERIFY)
MAX_DAYS = 366
TOP = 20

MSG_PERIOD = N_("统计期间须在 1 至 {days} 天之间")


@dataclass(frozen=True)
class Counts:
    calls: int = 0
    denied: int = 0
    records: int = 0
    verifications: int = 0


@dataclass(frozen=True)
class Row:
    """One body or catalog entry (``key`` its id, ``name`` its name) and its counts."""

    key: int | None
    name: str
    counts: Counts


@dataclass(frozen=True)
class Day:
    day: dt.date
    counts: Counts


@dataclass(frozen=True)
class Stats:
    since: dt.date
    until: dt.date  # inclusive
    totals: Counts
    by_agency: list[Row] = field(default_factory=list)
    by_dataset: list[Row] = field(default_factory=list)
    by_day: list[Day] = field(default_factory=list)


def period(
    since: dt.date | None, until: dt.date | None, *, default_days: int = 30
) -> tuple[dt.date, dt.date]:
    """The period asked for (dates in Asia/Shanghai, both inclusive), by default the last
    ``default_days`` days up to today."""
    today = dt.datetime.now(TZ).date()
    until = until or today
    since = since or until - dt.timedelta(days=default_days - 1)
    if since > until or (until - since).days + 1 > MAX_DAYS:
        raise ValidationFailed.single("since", MSG_PERIOD.format(days=MAX_DAYS))
    return since, until


def _bounds(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(since, dt.time(), TZ).astimezone(dt.UTC)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), TZ).astimezone(dt.UTC)
    return start, end


def _measures() -> tuple[ColumnElement[int], ...]:
    e = AuditEntry
    return (
        func.coalesce(func.sum(case((e.action == READ, 1), else_=0)), 0),
        func.coalesce(func.sum(case((e.action == DENIED, 1), else_=0)), 0),
        func.coalesce(func.sum(case((e.action == READ, func.coalesce(e.rows, 0)), else_=0)), 0),
        func.coalesce(func.sum(case((e.action == VERIFY, 1), else_=0)), 0),
    )


def _counts(values: tuple[object, ...]) -> Counts:
    calls, denied, records, verifications = (int(str(v or 0)) for v in values)
    return Counts(calls, denied, records, verifications)


def sharing_stats(
    session: Session,
    actor: Actor | None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    *,
    agency_id: int | None = None,
    dataset_id: int | None = None,
    top: int = TOP,
) -> Stats:
    """Calls, refusals, records exchanged and verifications over the period, in total, for
    the ``top`` bodies and catalog entries by calls, and per day."""
    scope = scope_clause(actor)
    since, until = period(since, until)
    start, end = _bounds(since, until)
    e = AuditEntry
    where = and_(scope, e.action.in_(ACTIONS), e.at >= start, e.at < end)
    if agency_id is not None:
        where = and_(where, e.agency_id == agency_id)
    if dataset_id is not None:
        where = and_(where, e.dataset_id == dataset_id)
    measures = _measures()
    totals = _counts(tuple(session.execute(select(*measures).where(where)).one()))

    agencies = session.execute(
        select(e.agency_id, *measures)
        .where(where)
        .group_by(e.agency_id)
        .order_by(measures[0].desc(), measures[3].desc(), e.agency_id)
        .limit(top)
    ).all()
    datasets = session.execute(
        select(e.dataset_id, *measures)
        .where(where, e.dataset_id.is_not(None))
        .group_by(e.dataset_id)
        .order_by(measures[0].desc(), measures[3].desc(), e.dataset_id)
        .limit(top)
    ).all()
    agency_names = _agency_names(session, [r[0] for r in agencies if r[0] is not None])
    dataset_names = _dataset_titles(session, [r[0] for r in datasets if r[0] is not None])

    dialect = session.get_bind().dialect.name
    day_key = _day_expr(dialect)
    days = {
        str(key): _counts(tuple(values))
        for key, *values in session.execute(
            select(day_key, *measures).where(where).group_by(day_key)
        ).all()
    }
    by_day = []
    day = since
    while day <= until:
        by_day.append(Day(day, days.get(day.isoformat(), Counts())))
        day += dt.timedelta(days=1)
    return Stats(
        since=since,
        until=until,
        totals=totals,
        by_agency=[
            Row(r[0], agency_names.get(r[0], "") if r[0] is not None else "", _counts(tuple(r[1:])))
            for r in agencies
        ],
        by_dataset=[
            Row(
                r[0], dataset_names.get(r[0], "") if r[0] is not None else "", _counts(tuple(r[1:]))
            )
            for r in datasets
        ],
        by_day=by_day,
    )


def _day_expr(dialect: str) -> ColumnElement[str]:
    # Asia/Shanghai has kept UTC+8 all year since 1991: a fixed offset is exact here.
    if dialect == "postgresql":
        return func.to_char(AuditEntry.at + text("interval '8 hours'"), "YYYY-MM-DD")
    return func.date(AuditEntry.at, literal("+8 hours"))


def _agency_names(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(Agency.id, Agency.name).where(Agency.id.in_(ids)))
    return {int(i): str(n) for i, n in rows}


def _dataset_titles(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(Dataset.id, Dataset.title).where(Dataset.id.in_(ids)))
    return {int(i): str(n) for i, n in rows}
