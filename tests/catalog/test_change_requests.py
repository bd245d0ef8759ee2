"""Change requests for published entries: the entry stays as it is until the city bureau
consents; district entries go through the district bureau first; deletion withdraws."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from gongshu.audit.models import AuditEntry
from gongshu.catalog import changes, queries, service, workflow
from gongshu.catalog.models import ChangeKind, ChangeStatus, DatasetState, ShareType
from gongshu.catalog.schemas import DatasetFilter, DatasetUpdate, FieldIn
from gongshu.catalog.workflow_schemas import ChangeRequestCreate, ChangeReview
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.notices.models import Notice
from gongshu.workdays.models import Deadline
from tests.catalog.test_workflow import MONDAY, World, world_fixture  # noqa: F401 — fixture


def _published(world: World, region: str = "city") -> int:
    return world.drive(world.make(region), DatasetState.PUBLISHED, region).id


def _modify(**changes_: object) -> ChangeRequestCreate:
    return ChangeRequestCreate.model_validate(
        {
            "kind": "modify",
            "reason": "《条例》修订，共享属性调整",
            "basis_changed_on": MONDAY.isoformat(),
            "changes": changes_,
        }
    )


def _delete() -> ChangeRequestCreate:
    return ChangeRequestCreate(kind=ChangeKind.DELETE, reason="职能划转", basis_changed_on=MONDAY)


def test_city_entry_modify_applies_only_on_consent(world: World) -> None:
    dataset_id = _published(world)
    change = changes.propose_change(
        world.db,
        world.city_officer.actor,
        dataset_id,
        _modify(title="企业登记基本信息（2026 版）", share_type="unconditional"),
        today=MONDAY,
    )
    dataset = service.get_dataset(world.db, world.city_officer.actor, dataset_id)
    # Stored trimmed to what changes; the published entry is untouched.
    assert change.changes == {"title": "企业登记基本信息（2026 版）"}
    assert dataset.title == "企业登记基本信息" and dataset.state is DatasetState.PUBLISHED
    version = dataset.lock_version
    assert changes.preview(world.db, world.city_officer.actor, change) == {
        "title": ["企业登记基本信息", "企业登记基本信息（2026 版）"]
    }
    # Other agencies keep seeing the published entry as it was.
    other = service.get_dataset(world.db, world.people["other_officer"].actor, dataset_id)
    assert other.title == "企业登记基本信息"

    changes.review_change(
        world.db, world.people["city_bureau"].actor, change.id, ChangeReview(approve=True)
    )
    assert change.status is ChangeStatus.APPROVED
    assert dataset.title == "企业登记基本信息（2026 版）"
    assert dataset.state is DatasetState.PUBLISHED and dataset.lock_version == version + 1
    actions = world.db.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.object_type == "dataset", AuditEntry.object_id == str(dataset_id))
        .order_by(AuditEntry.seq)
    ).all()
    assert actions[-1] == "dataset.modify"
    modify = world.db.scalars(select(AuditEntry).where(AuditEntry.action == "dataset.modify")).one()
    assert modify.changes["title"] == ["企业登记基本信息", "企业登记基本信息（2026 版）"]
    assert modify.changes["change_request"] == change.id


def test_district_entry_needs_district_review_then_city_consent(world: World) -> None:
    dataset_id = _published(world, "district")
    change = changes.propose_change(
        world.db,
        world.district_officer.actor,
        dataset_id,
        _modify(description="新摘要"),
        today=MONDAY,
    )
    district, city = world.people["district_bureau"], world.people["city_bureau"]
    told = world.db.scalars(select(Notice.kind).where(Notice.user_id == district.user.id)).all()
    assert told[-1] == "catalog.change_proposed"
    assert changes.step_of(change) == changes.STEP_DISTRICT
    assert [
        i.id for i in workflow.review_queue(world.db, district.actor) if i.kind != "dataset"
    ] == [change.id]
    changes.review_change(
        world.db, district.actor, change.id, ChangeReview(approve=True, comment="属实")
    )
    assert change.status is ChangeStatus.DISTRICT_REVIEWED
    assert change.district_reviewer_id == district.user.id
    dataset = service.get_dataset(world.db, district.actor, dataset_id)
    assert dataset.description == "全市市场主体登记的基本信息"  # still unchanged

    # The district bureau cannot consent: that is the city's.
    with pytest.raises(PermissionDenied) as info:
        changes.review_change(world.db, district.actor, change.id, ChangeReview(approve=True))
    assert "市级大数据主管部门同意" in str(info.value)
    assert workflow.review_queue(world.db, district.actor) == []
    queue = workflow.review_queue(world.db, city.actor)
    assert [(i.kind, i.id, i.step) for i in queue] == [
        ("change_request", change.id, changes.STEP_CONSENT)
    ]
    consent = world.db.scalars(
        select(Deadline).where(
            Deadline.kind == changes.CONSENT_KIND, Deadline.object_id == change.id
        )
    ).one()
    assert consent.rule == "2 个工作日" and consent.closed_at is None

    changes.review_change(world.db, city.actor, change.id, ChangeReview(approve=True))
    assert change.status is ChangeStatus.APPROVED and change.reviewer_id == city.user.id
    assert dataset.description == "新摘要"
    assert consent.closed_at is not None
    kinds = world.db.scalars(
        select(Notice.kind).where(Notice.user_id == world.district_officer.user.id)
    ).all()
    assert "catalog.change_approved" in kinds


def test_delete_withdraws_the_entry_and_keeps_its_history(world: World) -> None:
    dataset_id = _published(world)
    change = changes.propose_change(
        world.db, world.city_officer.actor, dataset_id, _delete(), today=MONDAY
    )
    city = world.people["city_bureau"].actor
    assert queries.find_visible(world.db, world.people["other_officer"].actor, dataset_id)
    changes.review_change(world.db, city, change.id, ChangeReview(approve=True))
    dataset = service.get_dataset(world.db, world.city_officer.actor, dataset_id)
    assert dataset.state is DatasetState.WITHDRAWN and dataset.withdrawn_at is not None
    # Gone for other agencies, its own page and history stay for the owner.
    with pytest.raises(NotFound):
        service.get_dataset(world.db, world.people["other_officer"].actor, dataset_id)
    listed = queries.list_datasets(world.db, world.city_officer.actor, DatasetFilter())
    assert dataset_id not in [d.id for d in listed.items]
    actions = world.db.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.object_type == "dataset", AuditEntry.object_id == str(dataset_id))
        .order_by(AuditEntry.seq)
    ).all()
    assert actions[0] == "dataset.create" and actions[-1] == "dataset.withdraw"


def test_reject_needs_a_reason_and_leaves_the_entry(world: World) -> None:
    dataset_id = _published(world)
    change = changes.propose_change(
        world.db, world.city_officer.actor, dataset_id, _delete(), today=MONDAY
    )
    city = world.people["city_bureau"].actor
    with pytest.raises(ValidationFailed) as info:
        changes.review_change(world.db, city, change.id, ChangeReview(approve=False))
    assert "comment" in info.value.errors
    changes.review_change(
        world.db, city, change.id, ChangeReview(approve=False, comment="仍需保留")
    )
    assert change.status is ChangeStatus.REJECTED
    assert service.get_dataset(world.db, city, dataset_id).state is DatasetState.PUBLISHED
    with pytest.raises(Conflict):
        changes.review_change(world.db, city, change.id, ChangeReview(approve=True))


def test_only_published_entries_and_one_open_request(world: World) -> None:
    draft = world.make("city")
    with pytest.raises(Conflict):
        changes.propose_change(
            world.db, world.city_officer.actor, draft.id, _delete(), today=MONDAY
        )
    dataset_id = _published(world)
    changes.propose_change(world.db, world.city_officer.actor, dataset_id, _delete(), today=MONDAY)
    with pytest.raises(Conflict):
        changes.propose_change(
            world.db, world.city_officer.actor, dataset_id, _delete(), today=MONDAY
        )


def test_who_may_propose(world: World) -> None:
    dataset_id = _published(world)
    with pytest.raises(PermissionDenied):
        changes.propose_change(
            world.db, world.people["other_officer"].actor, dataset_id, _delete(), today=MONDAY
        )
    with pytest.raises(PermissionDenied):
        changes.propose_change(
            world.db, world.people["city_bureau"].actor, dataset_id, _delete(), today=MONDAY
        )
    with pytest.raises(PermissionDenied) as info:
        changes.propose_change(world.db, None, dataset_id, _delete(), today=MONDAY)
    assert info.value.status_code == 401


def test_a_modification_passes_the_same_rules(world: World) -> None:
    dataset_id = _published(world)
    with pytest.raises(ValidationFailed) as info:
        changes.propose_change(
            world.db,
            world.city_officer.actor,
            dataset_id,
            _modify(share_type=ShareType.CONDITIONAL.value),
            today=MONDAY,
        )
    assert "legal_basis" in info.value.errors
    with pytest.raises(ValidationFailed):
        changes.propose_change(
            world.db,
            world.city_officer.actor,
            dataset_id,
            _modify(title="企业登记基本信息"),
            today=MONDAY,
        )
    fields = [
        FieldIn(name="credit_code", label="统一社会信用代码", is_key=True, required=True),
        FieldIn(name="name", label="企业名称", required=True),
    ]
    change = changes.propose_change(
        world.db,
        world.city_officer.actor,
        dataset_id,
        ChangeRequestCreate(
            kind=ChangeKind.MODIFY,
            reason="删去成立日期",
            basis_changed_on=MONDAY,
            changes=DatasetUpdate(fields=fields),
        ),
        today=MONDAY,
    )
    assert set(change.changes) == {"fields"}


def test_proposal_deadline_and_late_mark(world: World) -> None:
    dataset_id = _published(world)
    # 15 working days after 2026-03-02 is 2026-03-23.
    on_time = changes.propose_change(
        world.db, world.city_officer.actor, dataset_id, _delete(), today=dt.date(2026, 3, 23)
    )
    assert on_time.proposal_due_on == dt.date(2026, 3, 23) and not on_time.late
    proposal = world.db.scalars(
        select(Deadline).where(
            Deadline.kind == changes.PROPOSAL_KIND, Deadline.object_id == on_time.id
        )
    ).one()
    assert proposal.rule == "15 个工作日" and proposal.closed_at is not None
    changes.review_change(
        world.db,
        world.people["city_bureau"].actor,
        on_time.id,
        ChangeReview(approve=False, comment="否"),
    )
    late = changes.propose_change(
        world.db, world.city_officer.actor, dataset_id, _delete(), today=dt.date(2026, 3, 24)
    )
    assert late.late
    with pytest.raises(ValidationFailed):
        changes.propose_change(
            world.db,
            world.city_officer.actor,
            world.drive(world.make("city"), DatasetState.PUBLISHED, "city").id,
            ChangeRequestCreate(
                kind=ChangeKind.DELETE, reason="x", basis_changed_on=dt.date(2026, 4, 1)
            ),
            today=MONDAY,
        )


def test_visibility_of_change_requests(world: World) -> None:
    dataset_id = _published(world)
    change = changes.propose_change(
        world.db, world.city_officer.actor, dataset_id, _delete(), today=MONDAY
    )
    for role in ("other_officer", "district_bureau", "consumer"):
        with pytest.raises(NotFound):
            changes.get_change(world.db, world.people[role].actor, change.id)
    with pytest.raises(NotFound):
        changes.get_change(world.db, world.city_officer.actor, 999999)
    assert changes.get_change(world.db, world.people["city_bureau"].actor, change.id) is change
    assert changes.list_changes(world.db, world.people["other_officer"].actor).total == 0
    assert changes.list_changes(world.db, world.city_officer.actor).total == 1
    created = world.db.scalars(
        select(AuditEntry).where(AuditEntry.action == "change_request.create")
    ).one()
    assert created.object_id == str(change.id) and created.changes["proposal_rule"] == [
        None,
        "15 个工作日",
    ]
