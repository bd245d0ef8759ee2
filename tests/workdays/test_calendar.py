"""The working-day rule: overrides, the official calendar, Monday–Friday provisional."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from gongshu.errors import ValidationFailed
from gongshu.workdays.calendar import (
    Source,
    WorkdayCalendar,
    add_working_days,
    end_of_day,
    is_workday,
    local_today,
)
from gongshu.workdays.schemas import OverrideSet
from gongshu.workdays.service import set_override
from tests.factories import Person

D = dt.date


@contextmanager
def count_statements(db: Session) -> Iterator[list[str]]:
    statements: list[str] = []
    bind = db.connection()

    def before(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(bind, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(bind, "before_cursor_execute", before)


def test_national_day_2026_is_off_and_the_swapped_saturday_is_on(db: Session) -> None:
    for day in range(1, 8):
        assert is_workday(db, D(2026, 10, day)) == (False, Source.OFFICIAL)
    assert is_workday(db, D(2026, 10, 8)) == (True, Source.OFFICIAL)
    # 2026-10-10 is a Saturday and a 调休 working day; the Sunday after is off.
    assert D(2026, 10, 10).weekday() == 5
    assert is_workday(db, D(2026, 10, 10)) == (True, Source.OFFICIAL)
    assert is_workday(db, D(2026, 10, 11)) == (False, Source.OFFICIAL)


def test_counting_skips_the_holiday_and_counts_the_swapped_saturday(db: Session) -> None:
    calc = add_working_days(db, D(2026, 9, 30), 1)
    assert calc.due_on == D(2026, 10, 8)
    assert calc.provisional is False
    assert calc.rule == "1 个工作日"
    # Thursday 8th, Friday 9th, Saturday 10th (调休) → the 3rd working day is the Saturday.
    assert add_working_days(db, D(2026, 9, 30), 3).due_on == D(2026, 10, 10)
    assert add_working_days(db, D(2026, 9, 30), 4).due_on == D(2026, 10, 12)


def test_the_start_day_is_not_counted(db: Session) -> None:
    monday = D(2026, 11, 16)
    assert add_working_days(db, monday, 1).due_on == D(2026, 11, 17)
    assert add_working_days(db, monday, 5).due_on == D(2026, 11, 23)  # over the weekend
    # Starting on a day off: the first working day after it is day 1.
    assert add_working_days(db, D(2026, 11, 21), 1).due_on == D(2026, 11, 23)


def test_a_request_of_2026_12_20_gets_a_provisional_2027_deadline(db: Session) -> None:
    calc = add_working_days(db, D(2026, 12, 20), 15)
    # Dec 21–25 (5), Dec 28–31 (9), then 2027 is unknown: Jan 1 (Fri) counts as Mon–Fri (10),
    # Jan 4–8 (15).
    assert calc.due_on == D(2027, 1, 8)
    assert calc.provisional is True
    assert calc.rule == "15 个工作日"
    assert is_workday(db, D(2027, 1, 1)) == (True, Source.PROVISIONAL)
    assert is_workday(db, D(2027, 1, 2)) == (False, Source.PROVISIONAL)


def test_a_deadline_inside_known_data_is_not_provisional(db: Session) -> None:
    assert add_working_days(db, D(2026, 12, 1), 15).provisional is False


def test_an_override_wins_over_the_package(db: Session, bureau_admin: Person) -> None:
    set_override(db, bureau_admin.actor, OverrideSet(day=D(2026, 10, 8), is_workday=False))
    set_override(db, bureau_admin.actor, OverrideSet(day=D(2026, 10, 3), is_workday=True))
    assert is_workday(db, D(2026, 10, 8)) == (False, Source.OVERRIDE)
    assert is_workday(db, D(2026, 10, 3)) == (True, Source.OVERRIDE)
    assert add_working_days(db, D(2026, 9, 30), 1).due_on == D(2026, 10, 3)
    assert add_working_days(db, D(2026, 9, 30), 2).due_on == D(2026, 10, 9)


def test_an_override_in_an_unknown_year_is_not_provisional_itself(
    db: Session, bureau_admin: Person
) -> None:
    set_override(db, bureau_admin.actor, OverrideSet(day=D(2027, 1, 1), is_workday=False))
    assert is_workday(db, D(2027, 1, 1)) == (False, Source.OVERRIDE)


def test_counting_reads_overrides_once_per_year(db: Session) -> None:
    db.flush()
    with count_statements(db) as statements:
        calc = add_working_days(db, D(2026, 12, 20), 200)
    assert calc.due_on.year == 2027
    assert len(statements) == 2, statements  # 2026 and 2027


def test_days_out_of_range(db: Session) -> None:
    for n in (0, -1, 1001):
        with pytest.raises(ValidationFailed) as info:
            add_working_days(db, D(2026, 1, 5), n)
        assert "days" in info.value.errors


def test_due_at_the_end_of_the_day_in_shanghai() -> None:
    end = end_of_day(D(2026, 10, 8))
    assert end.astimezone(dt.UTC) == dt.datetime(2026, 10, 8, 16, 0, tzinfo=dt.UTC)
    assert local_today(dt.datetime(2026, 10, 8, 15, 59, tzinfo=dt.UTC)) == D(2026, 10, 8)
    assert local_today(dt.datetime(2026, 10, 8, 16, 0, tzinfo=dt.UTC)) == D(2026, 10, 9)


def test_remaining_working_days(db: Session) -> None:
    calendar = WorkdayCalendar(db)
    due = D(2026, 10, 9)  # a Friday
    assert calendar.remaining(due, D(2026, 9, 30)) == 2  # 8th and 9th
    assert calendar.remaining(due, D(2026, 10, 8)) == 1
    assert calendar.remaining(due, D(2026, 10, 9)) == 0  # due today
    assert calendar.remaining(due, D(2026, 10, 10)) == -1  # the 调休 Saturday
    assert calendar.remaining(due, D(2026, 10, 11)) == -1  # a Sunday still counts as late
    assert calendar.remaining(due, D(2026, 10, 13)) == -3
