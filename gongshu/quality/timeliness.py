"""Timeliness (及时性): when an entry's next data is due, and how late it is.

The rule, in calendar days in Asia/Shanghai (an update cycle is a promise about the calendar,
not about working days):

* the clock starts at the entry's **last data update** — the publication day of its newest
  version that is not a rollback (a rollback republishes old rows, it is no new data) — or,
  for an entry that never got data, at the day it was published in the catalog
  (``published_on``), else the day it was approved;
* realtime and daily entries are due the next day, weekly ones 7 days on; monthly, quarterly,
  half-yearly and yearly ones 1, 3, 6 and 12 calendar months on (the 31st of a month becomes
  the last day of a shorter one); irregular entries are never due;
* an entry is **overdue** from the day after its due date: "剩余 N 天" until then,
  "逾期 N 天" afterwards.

A version's timeliness score is 100 when it was published on or before its due date and
loses 50 points per update cycle of lateness (pro rata, never below 0), so a version one
cycle late scores 50 and one two cycles late scores 0.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.catalog.models import Dataset, UpdateCycle
from gongshu.store.models import DatasetVersion
from gongshu.workdays.calendar import TZ

ROLLBACK = "rollback"
PENALTY_PER_CYCLE = 50.0
# How soon a due date counts as "soon" (shown in amber) rather than comfortably ahead.
SOON_DAYS = 3

_DAY_STEPS = {UpdateCycle.REALTIME: 1, UpdateCycle.DAILY: 1, UpdateCycle.WEEKLY: 7}
_MONTH_STEPS = {
    UpdateCycle.MONTHLY: 1,
    UpdateCycle.QUARTERLY: 3,
    UpdateCycle.HALF_YEARLY: 6,
    UpdateCycle.YEARLY: 12,
}
# The length of one cycle in days, only to express lateness as a share of a cycle.
NOMINAL_DAYS = {
    UpdateCycle.REALTIME: 1,
    UpdateCycle.DAILY: 1,
    UpdateCycle.WEEKLY: 7,
    UpdateCycle.MONTHLY: 30,
    UpdateCycle.QUARTERLY: 91,
    UpdateCycle.HALF_YEARLY: 182,
    UpdateCycle.YEARLY: 365,
}


def local_date(value: dt.datetime) -> dt.date:
    """The day an instant falls on in the city's time."""
    return value.astimezone(TZ).date()


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months on, clamped to the end of a shorter month."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year = day.year + years
    month = month0 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_due(cycle: UpdateCycle | str, last_update: dt.date | None) -> dt.date | None:
    """When data is next due after ``last_update`` (None: irregular, or no start yet)."""
    if last_update is None:
        return None
    cycle = UpdateCycle(cycle)
    if cycle in _DAY_STEPS:
        return last_update + dt.timedelta(days=_DAY_STEPS[cycle])
    if cycle in _MONTH_STEPS:
        return add_months(last_update, _MONTH_STEPS[cycle])
    return None


def lateness_score(cycle: UpdateCycle | str, due_on: dt.date | None, on: dt.date) -> float:
    """100 when ``on`` is no later than ``due_on``; 50 points less per cycle of lateness."""
    if due_on is None or on <= due_on:
        return 100.0
    cycle = UpdateCycle(cycle)
    late_cycles = (on - due_on).days / NOMINAL_DAYS.get(cycle, 1)
    return round(max(0.0, 100.0 - PENALTY_PER_CYCLE * late_cycles), 1)


def catalog_start(dataset: Dataset) -> dt.date | None:
    """Where the clock starts for an entry that never got data."""
    if dataset.published_on is not None:
        return dataset.published_on
    if dataset.reviewed_at is not None:
        return local_date(dataset.reviewed_at)
    return None


@dataclass(frozen=True)
class DueStatus:
    """An entry's next due date as lists and pages show it ("剩余 N 天" / "逾期 N 天")."""

    dataset: Dataset
    last_update: dt.date | None
    due_on: dt.date | None
    remaining: int | None  # days until due; 0 on the due day, negative when overdue

    @property
    def overdue(self) -> bool:
        return self.remaining is not None and self.remaining < 0

    @property
    def days_late(self) -> int:
        return -self.remaining if self.remaining is not None and self.remaining < 0 else 0

    @property
    def state(self) -> str:
        """``none`` (never due), ``ok``, ``soon``, ``today`` or ``overdue``: the colour."""
        if self.remaining is None:
            return "none"
        if self.remaining < 0:
            return "overdue"
        if self.remaining == 0:
            return "today"
        return "soon" if self.remaining <= SOON_DAYS else "ok"

    def score(self, today: dt.date) -> float:
        """The timeliness the entry has today if its next version came now."""
        return lateness_score(self.dataset.update_cycle, self.due_on, today)


def last_updates(session: Session, dataset_ids: Iterable[int]) -> dict[int, dt.datetime]:
    """Each entry's newest data publication (rollbacks left out), in one query."""
    ids = sorted(set(dataset_ids))
    if not ids:
        return {}
    stmt = (
        select(DatasetVersion.dataset_id, func.max(DatasetVersion.published_at))
        .where(DatasetVersion.dataset_id.in_(ids), DatasetVersion.mode != ROLLBACK)
        .group_by(DatasetVersion.dataset_id)
    )
    out: dict[int, dt.datetime] = {}
    for dataset_id, at in session.execute(stmt).all():
        if at is not None:
            # SQLite hands aggregates back without the column type's UTC conversion.
            out[int(dataset_id)] = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
    return out


def due_statuses(
    session: Session, datasets: Sequence[Dataset], today: dt.date
) -> dict[int, DueStatus]:
    """The due status of each entry, keyed by its id (one query for all of them)."""
    updates = last_updates(session, (d.id for d in datasets))
    out: dict[int, DueStatus] = {}
    for dataset in datasets:
        at = updates.get(dataset.id)
        last = local_date(at) if at is not None else None
        due = next_due(dataset.update_cycle, last if last is not None else catalog_start(dataset))
        remaining = (due - today).days if due is not None else None
        out[dataset.id] = DueStatus(dataset, last, due, remaining)
    return out


def version_timeliness(session: Session, dataset: Dataset, version: DatasetVersion) -> float:
    """How timely ``version`` was when it was published: measured against the due date that
    followed the previous data update (or the catalog publication for the first data)."""
    stmt = (
        select(func.max(DatasetVersion.published_at))
        .where(
            DatasetVersion.dataset_id == dataset.id,
            DatasetVersion.number < version.number,
            DatasetVersion.mode != ROLLBACK,
        )
        .limit(1)
    )
    previous = session.scalar(stmt)
    if previous is not None and previous.tzinfo is None:
        previous = previous.replace(tzinfo=dt.UTC)
    start = local_date(previous) if previous is not None else catalog_start(dataset)
    due = next_due(dataset.update_cycle, start)
    return lateness_score(dataset.update_cycle, due, local_date(version.published_at))
