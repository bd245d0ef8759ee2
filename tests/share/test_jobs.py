"""The sweep job runs through the job table, does its work and queues its next run; the
emergency end job ends its emergency."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.catalog.models import Dataset
from gongshu.db import utcnow
from gongshu.jobs.models import Job, JobStatus
from gongshu.jobs.service import HANDLERS, load_handlers
from gongshu.orgs.models import Agency
from gongshu.share import emergency, jobs
from gongshu.share.models import AssessmentPlan, EmergencyStatus, Grant, GrantStatus
from gongshu.share.schemas import EmergencyCreate
from tests.factories import Person
from tests.share.conftest import ask, grant


def test_handlers_are_registered() -> None:
    load_handlers()
    assert {jobs.SWEEP_JOB, emergency.END_JOB} <= set(HANDLERS)


def test_next_sweep_is_five_past_the_next_hour() -> None:
    at = dt.datetime(2026, 12, 7, 14, 3, tzinfo=dt.UTC)
    assert jobs.next_sweep(at) == dt.datetime(2026, 12, 7, 14, 5, tzinfo=dt.UTC)
    assert jobs.next_sweep(at.replace(minute=5)) == dt.datetime(2026, 12, 7, 15, 5, tzinfo=dt.UTC)


def test_sweep_job_does_its_work_and_requeues(
    db: Session,
    conditional: Dataset,
    officer: Person,
    other_officer: Person,
    other_agency: Agency,
    bureau_admin: Person,
) -> None:
    request = grant(db, officer, ask(db, other_officer, conditional))
    row = db.get(Grant, request.grant_id)
    assert row is not None
    queued = db.scalars(select(Job).where(Job.kind == jobs.SWEEP_JOB)).all()
    assert len(queued) == 1 and queued[0].status is JobStatus.QUEUED  # one chain only
    e = emergency.declare_emergency(
        db,
        bureau_admin.actor,
        EmergencyCreate(
            name="防汛",
            reason="降雨",
            dataset_ids=[conditional.id],
            agency_ids=[other_agency.id],
            ends_at=utcnow() + dt.timedelta(hours=2),
        ),
    )
    assert len(db.scalars(select(Job).where(Job.kind == jobs.SWEEP_JOB)).all()) == 1

    later = max(row.expires_at or utcnow(), e.ends_at) + dt.timedelta(minutes=1)
    counts = jobs.sweep(db, now=later)
    assert counts["expired"] == 1 and counts["emergencies_ended"] == 1
    assert counts["plans_made"] == 1
    db.refresh(row)
    db.refresh(e)
    assert row.status is GrantStatus.EXPIRED and e.status is EmergencyStatus.ENDED
    assert db.get(AssessmentPlan, conditional.id) is not None

    result = HANDLERS[jobs.SWEEP_JOB](db, {})
    assert result["expired"] == 0
    nxt = db.get(Job, result["next_job"])
    assert nxt is not None and nxt.status is JobStatus.QUEUED and nxt.run_after > utcnow()
    assert HANDLERS[emergency.END_JOB](db, {"emergency_id": e.id}) == {
        "emergency_id": e.id,
        "ended": 0,
    }
