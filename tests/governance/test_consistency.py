"""The consistency check between two agencies' real ingested datasets."""

from __future__ import annotations

from sqlalchemy import select

from gongshu.audit.models import AuditEntry
from gongshu.governance import consistency
from gongshu.governance.models import ConsistencyIssue, IssueStatus
from gongshu.jobs.models import Job
from gongshu.notices.models import Notice
from gongshu.quality import scores
from tests.governance.conftest import NAMES, ingest, licence_csv, registry_csv, run_jobs


def _issues(db, status=None):
    stmt = select(ConsistencyIssue).order_by(ConsistencyIssue.key_value)
    if status is not None:
        stmt = stmt.where(ConsistencyIssue.status == status)
    return list(db.scalars(stmt))


def _notices(db, person):
    return list(
        db.scalars(
            select(Notice).where(
                Notice.user_id == person.user.id, Notice.kind == "governance.issues"
            )
        )
    )


def test_check_opens_is_idempotent_and_resolves(
    db, tmp_path, officer, other_officer, bureau_admin, registry, licences, bound
) -> None:
    ingest(db, officer, registry, registry_csv(tmp_path, NAMES))
    copy = dict(NAMES)
    copy[2] = "临沂测试企业二有限公司"
    copy[4] = "临沂另一家公司"
    copy[9] = "只在副本中的企业"  # no such key in the source: not compared
    ingest(db, other_officer, licences, licence_csv(tmp_path, copy))
    # Both publishes queued the check; the job runs it.
    assert "governance.check" in run_jobs(db)

    issues = _issues(db, IssueStatus.OPEN)
    from tests.ingest_service.conftest import code

    assert [(i.key_value, i.source_value, i.copy_value) for i in issues] == [
        (code(2), NAMES[2], copy[2]),
        (code(4), NAMES[4], copy[4]),
    ]
    assert {i.source_dataset_id for i in issues} == {registry.id}
    assert {i.copy_dataset_id for i in issues} == {licences.id}
    # One notice per agency and run, not per row.
    assert len(_notices(db, officer)) >= 1 and len(_notices(db, other_officer)) >= 1
    mine = _notices(db, other_officer)
    assert mine[-1].params["n"] == 2

    before_officer, before_other = len(_notices(db, officer)), len(_notices(db, other_officer))
    report = consistency.run_check(db, consistency.GOVERNANCE, dataset_id=licences.id)
    assert (report.opened, report.reopened, report.resolved) == (0, 0, 0)
    assert report.pairs[0].compared == 5 and report.pairs[0].open == 2
    assert len(_issues(db)) == 2
    assert len(_notices(db, officer)) == before_officer
    assert len(_notices(db, other_officer)) == before_other

    # Reads went through the gate as the platform, with the purpose "consistency".
    reads = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "data.read").order_by(AuditEntry.seq.desc())
    ).all()
    assert any(
        r.changes.get("purpose") == "consistency" and r.actor_name == "governance" for r in reads
    )
    assert db.scalars(select(AuditEntry).where(AuditEntry.action == "governance.check")).first()

    # Score: 100 × (1 − 2 open / 6 rows) for the copy, the source scores 100.
    assert consistency.consistency_score(db, licences.id) == round(100 * (1 - 2 / 6), 2)
    assert consistency.consistency_score(db, registry.id) == 100.0
    assert consistency.consistency_score in scores.CONSISTENCY_SOURCES

    # A fixed upload resolves the issues (values agree again) after its job runs.
    fixed = dict(copy)
    fixed[2] = NAMES[2]
    fixed[4] = NAMES[4]
    ingest(db, other_officer, licences, licence_csv(tmp_path, fixed, name="fixed.csv"))
    assert db.scalars(
        select(Job).where(Job.kind == "governance.check", Job.status == "queued")
    ).first()
    run_jobs(db)
    resolved = _issues(db, IssueStatus.RESOLVED)
    assert [i.resolution for i in resolved] == ["agreed", "agreed"]
    assert all(i.resolved_at is not None for i in resolved)
    assert consistency.consistency_score(db, licences.id) == 100.0

    # Disagreeing again reopens the same row rather than adding one.
    ingest(db, other_officer, licences, licence_csv(tmp_path, copy, name="again.csv"))
    run_jobs(db)
    again = _issues(db, IssueStatus.OPEN)
    assert len(_issues(db)) == 2 and len(again) == 2
    assert {i.times_opened for i in again} == {2}


def test_unbound_dataset_has_no_score(db, tmp_path, officer, registry) -> None:
    ingest(db, officer, registry, registry_csv(tmp_path, NAMES))
    assert consistency.consistency_score(db, registry.id) is None
    assert consistency.enqueue_check(db, registry.id) is None


def test_on_demand_check_permissions(
    db, officer, other_officer, bureau_admin, registry, licences, bound
) -> None:
    import pytest

    from gongshu.errors import PermissionDenied

    report = consistency.check_dataset(db, officer.actor, dataset_id=registry.id)
    assert report.pairs and report.pairs[0].skipped == "no_data"
    with pytest.raises(PermissionDenied):
        consistency.check_dataset(db, officer.actor, item_id=bound.id)
    assert consistency.check_dataset(db, bureau_admin.actor, item_id=bound.id).pairs
