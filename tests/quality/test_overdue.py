"""The overdue list's scope and the daily notice to each agency's officers, sent once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select

from gongshu.auth.models import Role
from gongshu.catalog.models import Dataset, DatasetState, UpdateCycle
from gongshu.errors import PermissionDenied
from gongshu.ingest import service as ingest
from gongshu.jobs.models import Job, JobStatus
from gongshu.notices.models import Notice
from gongshu.quality import jobs, service
from gongshu.quality.models import OverdueNotice
from gongshu.quality.service import OVERDUE_JOB
from gongshu.quality.timeliness import local_date
from gongshu.workdays.calendar import local_today
from tests.factories import Person
from tests.ingest_service.conftest import good_rows

TODAY = dt.date(2026, 6, 15)


def _published(dataset: Dataset, *, cycle: UpdateCycle, on: dt.date) -> Dataset:
    dataset.state = DatasetState.PUBLISHED
    dataset.update_cycle = cycle
    dataset.published_on = on
    return dataset


@pytest.fixture
def city_and_district_entries(
    db, make_dataset, make_agency, make_person, district
) -> tuple[Dataset, Dataset, Person]:
    city_entry = _published(
        make_dataset(title="城市条目"), cycle=UpdateCycle.DAILY, on=dt.date(2026, 6, 1)
    )
    district_agency = make_agency("兰山区市场监督管理局", region=district)
    district_officer = make_person(Role.AGENCY_OFFICER, agency=district_agency)
    district_entry = _published(
        make_dataset(by=district_officer, title="区县条目", item_code="03"),
        cycle=UpdateCycle.WEEKLY,
        on=dt.date(2026, 6, 10),  # due 06-17: not overdue on the 15th
    )
    db.flush()
    return city_entry, district_entry, district_officer


def test_overdue_list_is_scoped_like_the_review_queue(
    db, city_and_district_entries, bureau_admin, district_admin, make_person, officer
) -> None:
    city_entry, district_entry, _ = city_and_district_entries
    district_entry.published_on = dt.date(2026, 6, 1)  # due 06-08: 7 days overdue
    listed = service.overdue_entries(db, bureau_admin.actor, today=TODAY)
    assert [(d.dataset.id, d.days_late) for d in listed] == [
        (city_entry.id, 13),  # most overdue first
        (district_entry.id, 7),
    ]
    mine = service.overdue_entries(db, district_admin.actor, today=TODAY)
    assert [d.dataset.id for d in mine] == [district_entry.id]
    narrowed = service.overdue_entries(
        db, bureau_admin.actor, region_id=district_entry.region_id, today=TODAY
    )
    assert [d.dataset.id for d in narrowed] == [district_entry.id]
    # A district admin cannot widen the list by naming another region.
    widened = service.overdue_entries(
        db, district_admin.actor, region_id=city_entry.region_id, today=TODAY
    )
    assert [d.dataset.id for d in widened] == [district_entry.id]
    auditor = make_person(Role.AUDITOR)
    assert len(service.overdue_entries(db, auditor.actor, today=TODAY)) == 2
    with pytest.raises(PermissionDenied):
        service.overdue_entries(db, officer.actor, today=TODAY)


def test_new_data_clears_the_entry(db, officer, registry, write_csv) -> None:
    _published(registry, cycle=UpdateCycle.MONTHLY, on=dt.date(2020, 1, 1))
    overdue = service._overdue(db, None, local_today())
    assert registry.id in [d.dataset.id for d in overdue]
    result = ingest.ingest_file(db, officer.actor, registry, write_csv(good_rows(1, 2)))
    assert result.version is not None
    overdue = service._overdue(db, None, local_date(result.version.published_at))
    assert registry.id not in [d.dataset.id for d in overdue]


def test_the_notice_goes_once_per_entry_and_due_date(
    db, city_and_district_entries, officer, make_dataset: Callable[..., Dataset]
) -> None:
    city_entry, district_entry, district_officer = city_and_district_entries
    second = _published(
        make_dataset(title="第二个城市条目", item_code="04"),
        cycle=UpdateCycle.YEARLY,
        on=dt.date(2025, 6, 1),
    )
    db.flush()
    counts = service.notify_overdue(db, today=TODAY)
    assert counts == {"agencies": 1, "entries": 2, "users": 1}
    notices = db.scalars(select(Notice).where(Notice.kind == "quality.overdue")).all()
    assert [n.user_id for n in notices] == [officer.user.id]
    assert notices[0].params["count"] == 2
    assert city_entry.code in notices[0].params["entries"]
    assert second.code in notices[0].params["entries"]
    assert notices[0].link == f"/quality/agencies/{city_entry.agency_id}"

    assert service.notify_overdue(db, today=TODAY) == {"agencies": 0, "entries": 0, "users": 0}
    assert service.notify_overdue(db, today=TODAY + dt.timedelta(days=1))["entries"] == 0

    # The district entry falls due later and is told about then, to its own officers only.
    later = service.notify_overdue(db, today=dt.date(2026, 6, 18))
    assert later == {"agencies": 1, "entries": 1, "users": 1}
    told = db.scalars(
        select(Notice).where(
            Notice.kind == "quality.overdue", Notice.user_id == district_officer.user.id
        )
    ).all()
    assert len(told) == 1
    remembered = db.scalars(
        select(OverdueNotice).where(OverdueNotice.dataset_id == district_entry.id)
    ).all()
    assert [r.due_on for r in remembered] == [dt.date(2026, 6, 17)]


def test_the_daily_job_notifies_and_queues_the_next_morning(
    db, city_and_district_entries, officer
) -> None:
    result = jobs.overdue_job(db, {})
    assert result["entries"] >= 1 and result["users"] >= 1
    queued = db.scalars(
        select(Job).where(Job.kind == OVERDUE_JOB, Job.status == JobStatus.QUEUED)
    ).all()
    assert [j.id for j in queued] == [result["next_job"]]
    run_at = queued[0].run_after.astimezone(jobs.TZ)
    assert (run_at.hour, run_at.minute) == (8, 30)
    assert jobs.overdue_job(db, {})["entries"] == 0
    assert (
        len(
            db.scalars(
                select(Job).where(Job.kind == OVERDUE_JOB, Job.status == JobStatus.QUEUED)
            ).all()
        )
        == 1
    )
