"""Emergency mode: declare → grants for every body on every entry in scope → report → end
(early: revoked; at its time: expired) → everything reverts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit import service as audit
from gongshu.catalog.models import Dataset
from gongshu.db import utcnow
from gongshu.errors import Conflict, PermissionDenied, ValidationFailed
from gongshu.orgs.models import Agency
from gongshu.share import emergency
from gongshu.share.grants import active_grants
from gongshu.share.jobs import SWEEP_ACTOR, SWEEP_JOB
from gongshu.share.models import Emergency, EmergencyStatus, Grant, GrantKind, GrantStatus
from gongshu.share.schemas import EmergencyCreate, EmergencyEnd
from tests.factories import Person
from tests.share.conftest import actions, notices_of


def declare(db: Session, who: Person, **kw: object) -> Emergency:
    data = {
        "name": "沂河流域防汛应急",
        "reason": "沂河上游强降雨，启动防汛Ⅱ级应急响应",
        "ends_at": utcnow() + dt.timedelta(days=3),
        **kw,
    }
    return emergency.declare_emergency(db, who.actor, EmergencyCreate.model_validate(data))


def grants_of(db: Session, e: Emergency) -> list[Grant]:
    return list(db.scalars(select(Grant).where(Grant.emergency_id == e.id).order_by(Grant.id)))


def test_declare_issues_grants_to_every_body_in_scope(
    db: Session,
    conditional: Dataset,
    unconditional: Dataset,
    not_shared: Dataset,
    agency: Agency,
    other_agency: Agency,
    make_agency: Callable[..., Agency],
    bureau_admin: Person,
    other_officer: Person,
) -> None:
    third = make_agency("临沂市应急管理局")
    e = declare(
        db,
        bureau_admin,
        dataset_ids=[conditional.id, unconditional.id, not_shared.id],
        agency_ids=[other_agency.id, third.id, agency.id],
    )
    # The provider gets nothing on its own entries; the not-shared entry is left out.
    got = {(g.dataset_id, g.agency_id) for g in grants_of(db, e)}
    assert got == {
        (d, a) for d in (conditional.id, unconditional.id) for a in (other_agency.id, third.id)
    }
    assert e.skipped == [[not_shared.id, "not_shared"]]
    assert e.grants_issued == 4 and e.status is EmergencyStatus.ACTIVE
    for g in grants_of(db, e):
        assert g.kind is GrantKind.EMERGENCY and g.expires_at == e.ends_at
        assert g.fields is None and g.clear_fields == []
    assert [g.id for g in active_grants(db, third.id, conditional.id)] != []
    assert actions(db, "share_emergency", e.id) == ["emergency.declare"]
    assert any(n.kind == "emergency.declared" for n in notices_of(db, other_officer))
    assert emergency.active_emergencies(db) == [e]


def test_not_shared_entries_only_when_listed_and_not_protected(
    db: Session,
    not_shared: Dataset,
    make_dataset: Callable[..., Dataset],
    publish: Callable[[Dataset], Dataset],
    other_agency: Agency,
    bureau_admin: Person,
) -> None:
    e = declare(
        db,
        bureau_admin,
        dataset_ids=[not_shared.id],
        agency_ids=[other_agency.id],
        include_not_shared=True,
        in_clear=True,
    )
    [g] = grants_of(db, e)
    assert g.dataset_id == not_shared.id
    assert g.clear_fields == [f.name for f in not_shared.fields]
    core = publish(
        make_dataset(
            title="1:500基础地形图",
            item_code="05",
            share_type="none",
            legal_basis="《测绘法》第三十四条",
            level="core",
            open_type="none",
        )
    )
    with pytest.raises(ValidationFailed) as refused:
        declare(
            db,
            bureau_admin,
            dataset_ids=[core.id],
            agency_ids=[other_agency.id],
            include_not_shared=True,
        )
    assert "核心数据" in str(refused.value.errors)


def test_declaration_is_checked(
    db: Session,
    conditional: Dataset,
    other_agency: Agency,
    bureau_admin: Person,
    district_admin: Person,
    officer: Person,
) -> None:
    with pytest.raises(ValidationFailed):
        declare(db, bureau_admin)  # neither entries nor agencies
    with pytest.raises(ValidationFailed):
        declare(db, bureau_admin, dataset_ids=[conditional.id], ends_at=utcnow())
    with pytest.raises(ValidationFailed) as too_long:
        declare(
            db,
            bureau_admin,
            dataset_ids=[conditional.id],
            ends_at=utcnow() + dt.timedelta(days=31),
        )
    assert "30" in str(too_long.value.errors)
    with pytest.raises(PermissionDenied):
        declare(db, district_admin, dataset_ids=[conditional.id])
    with pytest.raises(PermissionDenied):
        declare(db, officer, dataset_ids=[conditional.id])
    # Naming only entries means every active body (the provider excepted).
    e = declare(db, bureau_admin, dataset_ids=[conditional.id])
    assert e.all_agencies and other_agency.id in e.agency_ids
    assert {g.agency_id for g in grants_of(db, e)} == set(e.agency_ids) - {conditional.agency_id}


def test_end_early_revokes_and_report_counts_reads(
    db: Session,
    conditional: Dataset,
    other_agency: Agency,
    bureau_admin: Person,
    other_officer: Person,
) -> None:
    e = declare(db, bureau_admin, dataset_ids=[conditional.id], agency_ids=[other_agency.id])
    [g] = grants_of(db, e)
    # Two reads under the emergency's grant and one under nothing in particular, as the gate
    # records them (changes.grant names the grant that allowed the read).
    for grant_id, rows in ((g.id, 12), (g.id, 3), (None, 99)):
        audit.record(
            db,
            other_officer.actor,
            "data.read",
            "dataset",
            conditional.id,
            label=conditional.title,
            changes={"operation": "page", "rows": rows, "grant": grant_id},
        )
    db.commit()
    report = emergency.report(db, bureau_admin.actor, e.id)
    assert (report.grants, report.live_grants, report.entries) == (1, 1, 1)
    assert report.reads == 2 and report.rows_read == 15
    assert report.bodies == [(other_agency.id, other_agency.name, 1)]
    assert report.reads_by_body == {other_agency.name: 2}
    with pytest.raises(PermissionDenied):
        emergency.report(db, other_officer.actor, e.id)

    with pytest.raises(ValidationFailed):
        emergency.end_emergency(db, bureau_admin.actor, e.id, EmergencyEnd(reason=""))
    ended = emergency.end_emergency(db, bureau_admin.actor, e.id, EmergencyEnd(reason="汛情解除"))
    assert ended.status is EmergencyStatus.ENDED and ended.ended_early
    db.refresh(g)
    assert g.status is GrantStatus.REVOKED and g.end_reason == "汛情解除"
    assert active_grants(db, other_agency.id, conditional.id) == []
    assert emergency.active_emergencies(db) == []
    assert actions(db, "share_emergency", e.id) == ["emergency.declare", "emergency.end"]
    with pytest.raises(Conflict):
        emergency.end_emergency(db, bureau_admin.actor, e.id, EmergencyEnd(reason="再次"))


def test_everything_reverts_at_the_end_time(
    db: Session,
    conditional: Dataset,
    other_agency: Agency,
    bureau_admin: Person,
) -> None:
    from gongshu.jobs.models import Job

    e = declare(db, bureau_admin, dataset_ids=[conditional.id], agency_ids=[other_agency.id])
    [g] = grants_of(db, e)
    end_job = db.scalars(select(Job).where(Job.kind == emergency.END_JOB)).one()
    assert end_job.payload == {"emergency_id": e.id} and end_job.run_after == e.ends_at
    assert db.scalars(select(Job).where(Job.kind == SWEEP_JOB)).first() is not None
    # The gate stops honouring the grant at the end, before any job runs.
    after = e.ends_at + dt.timedelta(seconds=1)
    assert active_grants(db, other_agency.id, conditional.id, now=after) == []
    assert emergency.active_emergencies(db, now=after) == []
    # Too early: nothing ends.
    assert emergency.expire_emergencies(db, SWEEP_ACTOR, now=e.ends_at - dt.timedelta(1)) == 0
    assert emergency.expire_emergencies(db, SWEEP_ACTOR, now=after, only=e.id) == 1
    db.refresh(e)
    db.refresh(g)
    assert e.status is EmergencyStatus.ENDED and not e.ended_early
    assert g.status is GrantStatus.EXPIRED
