"""Reads of the working-day calendar shared by pages, API and CLI."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.workdays.calendar import Source, WorkdayCalendar, official_status
from gongshu.workdays.models import CalendarOverride


def list_overrides(session: Session, year: int | None = None) -> list[CalendarOverride]:
    """The admin's overrides by day, of one year or all."""
    stmt = select(CalendarOverride).order_by(CalendarOverride.day)
    if year is not None:
        stmt = stmt.where(
            CalendarOverride.day >= dt.date(year, 1, 1),
            CalendarOverride.day <= dt.date(year, 12, 31),
        )
    return list(session.scalars(stmt))


def override_years(session: Session) -> list[int]:
    """Years that have at least one override (for the year tabs)."""
    days = session.scalars(select(CalendarOverride.day)).all()
    return sorted({d.year for d in days})


def year_has_official_data(year: int) -> bool:
    """Whether the chinesecalendar package knows the State Council arrangement of a year."""
    return official_status(dt.date(year, 6, 1)) is not None


def year_days(session: Session, year: int) -> list[tuple[dt.date, bool, Source]]:
    """Every day of a year with its status and source (one query for the overrides)."""
    calendar = WorkdayCalendar(session)
    day = dt.date(year, 1, 1)
    out: list[tuple[dt.date, bool, Source]] = []
    while day.year == year:
        out.append((day, *calendar.check(day)))
        day += dt.timedelta(days=1)
    return out


def special_days(session: Session, year: int) -> list[tuple[dt.date, bool, Source]]:
    """Days of a year that differ from a plain Monday–Friday week, or come from an override
    (holidays, 调休 working weekends): what the year view lists."""
    return [
        (day, working, source)
        for day, working, source in year_days(session, year)
        if source is Source.OVERRIDE or working != (day.weekday() < 5)
    ]
