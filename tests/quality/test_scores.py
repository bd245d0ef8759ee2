"""Scores from real ingestions: each dimension, the total, storage, audit and rescoring."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from gongshu.audit.models import AuditEntry
from gongshu.catalog.models import UpdateCycle
from gongshu.ingest import service as ingest
from gongshu.ingest.models import InvalidPolicy
from gongshu.jobs.models import Job, JobStatus
from gongshu.jobs.service import run_one
from gongshu.quality import scores, service
from gongshu.quality.models import QualityScore
from gongshu.quality.service import OVERDUE_JOB, RESCORE_JOB
from gongshu.quality.timeliness import add_months, local_date
from gongshu.workdays.calendar import local_today
from tests.ingest_service.conftest import code, good_rows


def test_a_clean_upload_scores_full_marks(db, officer, registry, write_csv) -> None:
    registry.published_on = local_today()
    result = ingest.ingest_file(db, officer.actor, registry, write_csv(good_rows(1, 5)))
    assert result.version is not None
    row = service.score_version(db, registry, result.version)
    assert (row.completeness, row.validity, row.uniqueness) == (100.0, 100.0, 100.0)
    assert (row.timeliness, row.consistency, row.total) == (100.0, 100.0, 100.0)
    assert row.version_id == result.version.id and row.dataset_id == registry.id


def test_empty_invalid_and_duplicated_cells_lower_their_own_dimension(
    db, officer, registry, write_csv
) -> None:
    rows = [
        *good_rows(1, 8),
        f"{code(1)},重复主键企业,2020-01-01,1,有限责任公司",  # code(1) twice: both rows refused
        f"{code(20)},负资本企业,2020-01-01,-5,有限责任公司",  # capital below its minimum
        f"{code(21)},类型空白企业,2020-01-01,1,",  # an optional field left empty
    ]
    result = ingest.ingest_file(
        db,
        officer.actor,
        registry,
        write_csv(rows),
        on_invalid=InvalidPolicy.QUARANTINE,
    )
    assert result.version is not None
    assert (result.rows_read, result.rows_rejected) == (11, 3)
    assert service.duplicates_of(db, result.version) == 2
    row = service.score_version(db, registry, result.version)
    assert row.completeness == round(54 / 55 * 100, 1)  # 11 rows × 5 fields, one empty
    assert row.validity == round(53 / 54 * 100, 1)  # one bad value among the filled cells
    assert row.uniqueness == 80.0  # 2 of the 10 rows that passed the rules share a key
    assert row.total == scores.weighted_total(
        {
            "completeness": row.completeness,
            "validity": row.validity,
            "uniqueness": 80.0,
            "timeliness": 100.0,
            "consistency": 100.0,
        }
    )
    assert 90 < row.total < 100


def test_late_first_data_loses_timeliness(db, officer, registry, write_csv) -> None:
    registry.update_cycle = UpdateCycle.MONTHLY
    today = local_today()
    registry.published_on = add_months(today - dt.timedelta(days=15), -1)
    result = ingest.ingest_file(db, officer.actor, registry, write_csv(good_rows(1, 2)))
    assert result.version is not None
    published = local_date(result.version.published_at)
    late = (published - add_months(registry.published_on, 1)).days
    row = service.score_version(db, registry, result.version)
    assert row.timeliness == round(100 - 50 * late / 30, 1)
    assert row.timeliness < 100 and row.total < 100


def test_consistency_comes_from_the_registered_sources(
    db, officer, registry, write_csv, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = ingest.ingest_file(db, officer.actor, registry, write_csv(good_rows(1, 2)))
    assert result.version is not None
    asked: list[int] = []

    def source(_session: object, dataset_id: int) -> float | None:
        asked.append(dataset_id)
        return 60.0

    monkeypatch.setattr(scores, "CONSISTENCY_SOURCES", [source, lambda _s, _d: None])
    row = service.score_version(db, registry, result.version)
    assert asked == [registry.id]
    assert row.consistency == 60.0
    assert row.total == 94.0  # 100 − 15% × 40


def test_scoring_is_stored_once_per_version_audited_and_queues_the_notice_job(
    db, officer, registry, write_csv
) -> None:
    result = ingest.ingest_file(db, officer.actor, registry, write_csv(good_rows(1, 2)))
    assert result.version is not None
    first = service.score_version(db, registry, result.version)
    again = service.score_after_publish(db, registry, result.version)
    assert again is not None and again.id == first.id
    stored = db.scalars(select(QualityScore).where(QualityScore.dataset_id == registry.id)).all()
    assert len(stored) == 1
    entries = db.scalars(
        select(AuditEntry).where(
            AuditEntry.action == "quality.score", AuditEntry.object_id == str(result.version.id)
        )
    ).all()
    assert len(entries) >= 2
    assert float(entries[-1].changes["total"][1]) == 100.0
    queued = db.scalars(
        select(Job).where(Job.kind == OVERDUE_JOB, Job.status == JobStatus.QUEUED)
    ).all()
    assert len(queued) == 1


def test_rescore_and_the_view_compute_what_is_missing(db, officer, registry, write_csv) -> None:
    for start in (1, 2):
        ingest.ingest_file(db, officer.actor, registry, write_csv(good_rows(start, 3)))
    db.execute(QualityScore.__table__.delete().where(QualityScore.dataset_id == registry.id))
    view = service.dataset_quality(db, officer.actor, registry.id)
    assert [v.number for v in view.history] == [1, 2]
    assert not any(v.stored for v in view.history)
    assert view.live is not None and view.live.total == 100.0
    assert service.rescore(db, dataset_id=registry.id) == 2
    view = service.dataset_quality(db, officer.actor, registry.id)
    assert all(v.stored for v in view.history)
    assert service.rescore(db, only_missing=True) == 0


def test_every_publish_queues_its_scoring_and_the_job_scores_it(
    db, officer, registry, write_csv
) -> None:
    result = ingest.ingest_file(db, officer.actor, registry, write_csv(good_rows(1, 2)))
    assert result.version is not None
    queued = db.scalars(
        select(Job).where(Job.kind == RESCORE_JOB, Job.status == JobStatus.QUEUED)
    ).all()
    assert [j.payload for j in queued] == [{"version_id": result.version.id}]
    while run_one(db, "test-worker") is not None:
        pass
    row = db.scalars(select(QualityScore).where(QualityScore.version_id == result.version.id)).one()
    assert row.total == 100.0
