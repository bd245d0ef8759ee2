"""Which days are working days, and counting "N working days after D".

The rule, in order:

1. the admin's override table (``CalendarOverride``) — it always wins;
2. the official State Council arrangement as shipped in the ``chinesecalendar`` package
   (public holidays off, 调休 weekends on); the package raises ``NotImplementedError`` for
   years it does not know yet (after the last announced year, before 2004);
3. outside any known data, Monday–Friday — and whatever is counted that way is
   *provisional* (暂定), to be recomputed when the admin enters the year's arrangement.

"N working days after D" is the N-th working day after D, D itself not counted; the
deadline is at the end of that day in Asia/Shanghai.

Overrides are read a year at a time and kept by one ``WorkdayCalendar``, so a deadline
computation (or a page of deadlines) costs one query per calendar year it touches, not one
per day.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.errors import ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.workdays.models import CalendarOverride

__all__ = [
    "MAX_WORKING_DAYS",
    "RULE",
    "TZ",
    "DeadlineCalc",
    "Source",
    "WorkdayCalendar",
    "add_working_days",
    "end_of_day",
    "is_workday",
    "local_today",
    "official_status",
]

TZ = ZoneInfo("Asia/Shanghai")
MAX_WORKING_DAYS = 1000
RULE = N_("{n} 个工作日")
M_DAYS_RANGE = N_("工作日天数应在 1 到 {max} 之间")


class Source(enum.StrEnum):
    """Where the answer for a day came from."""

    OVERRIDE = "override"  # the admin's override table
    OFFICIAL = "official"  # the chinesecalendar package (State Council arrangement)
    PROVISIONAL = "provisional"  # Monday–Friday, no official data yet


@dataclass(frozen=True)
class DeadlineCalc:
    """The result of counting working days: the last day, and how sure we are of it."""

    due_on: dt.date
    provisional: bool
    rule: str


def local_today(now: dt.datetime | None = None) -> dt.date:
    """Today in the city's time zone (Asia/Shanghai)."""
    return (now or dt.datetime.now(TZ)).astimezone(TZ).date()


def end_of_day(day: dt.date) -> dt.datetime:
    """The instant a deadline on ``day`` runs out: the following midnight, Asia/Shanghai."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=TZ)


def official_status(day: dt.date) -> bool | None:
    """The package's answer for a day, or None where it has no data."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


@dataclass
class WorkdayCalendar:
    """Answers for many days with few queries: overrides are loaded once per year.

    Make one per computation (or per request); it does not see overrides written after
    a year was loaded unless ``forget`` is called.
    """

    session: Session
    _years: dict[int, dict[dt.date, bool]] = field(default_factory=dict)

    def _overrides(self, year: int) -> dict[dt.date, bool]:
        if year not in self._years:
            stmt = select(CalendarOverride.day, CalendarOverride.is_workday).where(
                CalendarOverride.day >= dt.date(year, 1, 1),
                CalendarOverride.day <= dt.date(year, 12, 31),
            )
            self._years[year] = {day: bool(w) for day, w in self.session.execute(stmt)}
        return self._years[year]

    def forget(self) -> None:
        """Drop what was loaded (after the override table changed)."""
        self._years.clear()

    def check(self, day: dt.date) -> tuple[bool, Source]:
        """Whether ``day`` is a working day, and which rule said so."""
        override = self._overrides(day.year).get(day)
        if override is not None:
            return override, Source.OVERRIDE
        official = official_status(day)
        if official is not None:
            return official, Source.OFFICIAL
        return day.weekday() < 5, Source.PROVISIONAL

    def add(self, start: dt.date, n: int) -> DeadlineCalc:
        """The ``n``-th working day after ``start`` (``start`` not counted)."""
        if not 1 <= n <= MAX_WORKING_DAYS:
            raise _days_out_of_range()
        day = start
        counted = 0
        provisional = False
        while counted < n:
            day += dt.timedelta(days=1)
            working, source = self.check(day)
            provisional = provisional or source is Source.PROVISIONAL
            if working:
                counted += 1
        return DeadlineCalc(due_on=day, provisional=provisional, rule=RULE.format(n=n))

    def count_between(self, after: dt.date, until: dt.date) -> int:
        """Working days in (``after``, ``until``]: 0 when ``until`` is not after ``after``."""
        total = 0
        day = after
        while day < until:
            day += dt.timedelta(days=1)
            if self.check(day)[0]:
                total += 1
        return total

    def remaining(self, due_on: dt.date, today: dt.date) -> int:
        """Working days left until the end of ``due_on``; negative once it has passed.

        On the due day itself 0 remain (it runs out tonight); the day after a deadline
        counts as overdue by at least 1 even when it is a day off.
        """
        if today <= due_on:
            return self.count_between(today, due_on)
        return -max(1, self.count_between(due_on, today))


def _days_out_of_range() -> ValidationFailed:
    message = translate(M_DAYS_RANGE, max=MAX_WORKING_DAYS)
    return ValidationFailed(M_DAYS_RANGE, {"days": [message]}, max=MAX_WORKING_DAYS)


def is_workday(session: Session, day: dt.date) -> tuple[bool, Source]:
    """Whether ``day`` is an official working day, and the source of that answer."""
    return WorkdayCalendar(session).check(day)


def add_working_days(session: Session, start: dt.date, n: int) -> DeadlineCalc:
    """The ``n``-th working day after ``start``: the due day, whether it is provisional, and the
    rule text to store with it ("15 个工作日"). ``n`` is 1 … ``MAX_WORKING_DAYS``."""
    return WorkdayCalendar(session).add(start, n)
