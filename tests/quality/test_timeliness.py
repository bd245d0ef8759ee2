"""Due dates for every update cycle, lateness scores, and due statuses from real versions."""

from __future__ import annotations

import datetime as dt

import pytest

from gongshu.catalog.models import UpdateCycle
from gongshu.ingest import history
from gongshu.ingest import service as ingest
from gongshu.quality.timeliness import (
    add_months,
    due_statuses,
    last_updates,
    lateness_score,
    local_date,
    next_due,
)
from tests.ingest_service.conftest import good_rows

D = dt.date(2026, 1, 31)


@pytest.mark.parametrize(
    ("cycle", "expected"),
    [
        (UpdateCycle.REALTIME, dt.date(2026, 2, 1)),
        (UpdateCycle.DAILY, dt.date(2026, 2, 1)),
        (UpdateCycle.WEEKLY, dt.date(2026, 2, 7)),
        (UpdateCycle.MONTHLY, dt.date(2026, 2, 28)),  # the 31st becomes February's last day
        (UpdateCycle.QUARTERLY, dt.date(2026, 4, 30)),
        (UpdateCycle.HALF_YEARLY, dt.date(2026, 7, 31)),
        (UpdateCycle.YEARLY, dt.date(2027, 1, 31)),
        (UpdateCycle.IRREGULAR, None),
    ],
)
def test_next_due_for_each_cycle(cycle: UpdateCycle, expected: dt.date | None) -> None:
    assert next_due(cycle, D) == expected


def test_no_start_means_no_due_date_and_months_cross_years() -> None:
    assert next_due(UpdateCycle.DAILY, None) is None
    assert add_months(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2025, 11, 30), 3) == dt.date(2026, 2, 28)


def test_lateness_costs_fifty_points_per_cycle() -> None:
    due = dt.date(2026, 3, 1)
    assert lateness_score(UpdateCycle.MONTHLY, due, due) == 100.0
    assert lateness_score(UpdateCycle.MONTHLY, due, due - dt.timedelta(days=9)) == 100.0
    assert lateness_score(UpdateCycle.MONTHLY, due, due + dt.timedelta(days=15)) == 75.0
    assert lateness_score(UpdateCycle.WEEKLY, due, due + dt.timedelta(days=7)) == 50.0
    assert lateness_score(UpdateCycle.DAILY, due, due + dt.timedelta(days=2)) == 0.0
    assert lateness_score(UpdateCycle.DAILY, due, due + dt.timedelta(days=30)) == 0.0
    assert lateness_score(UpdateCycle.IRREGULAR, None, due) == 100.0


def test_entry_without_data_is_due_from_its_catalog_publication(db, registry) -> None:
    today = dt.date(2026, 5, 20)
    registry.update_cycle = UpdateCycle.WEEKLY
    registry.published_on = dt.date(2026, 5, 10)
    status = due_statuses(db, [registry], today)[registry.id]
    assert status.last_update is None
    assert status.due_on == dt.date(2026, 5, 17)
    assert (status.remaining, status.overdue, status.days_late, status.state) == (
        -3,
        True,
        3,
        "overdue",
    )
    registry.published_on = dt.date(2026, 5, 19)
    status = due_statuses(db, [registry], today)[registry.id]
    assert (status.remaining, status.state) == (6, "ok")
    registry.update_cycle = UpdateCycle.IRREGULAR
    status = due_statuses(db, [registry], today)[registry.id]
    assert (status.due_on, status.overdue, status.state) == (None, False, "none")


def test_last_data_update_starts_the_clock_and_rollbacks_do_not(
    db, officer, registry, write_csv
) -> None:
    registry.update_cycle = UpdateCycle.QUARTERLY
    registry.published_on = dt.date(2020, 1, 1)
    first = ingest.ingest_file(db, officer.actor, registry, write_csv(good_rows(1, 3)))
    assert first.version is not None
    day = local_date(first.version.published_at)
    status = due_statuses(db, [registry], day)[registry.id]
    assert status.last_update == day
    assert status.due_on == add_months(day, 3)
    assert status.remaining == (add_months(day, 3) - day).days
    second = ingest.ingest_file(db, officer.actor, registry, write_csv(good_rows(2, 3)))
    assert second.version is not None
    back = history.rollback(db, officer.actor, registry, 1)
    assert back.published_at > second.version.published_at
    assert last_updates(db, [registry.id]) == {registry.id: second.version.published_at}
