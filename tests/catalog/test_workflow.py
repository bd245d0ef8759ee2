"""The review workflow: every state × action × role, deadlines, notices and audit entries.

Entries of a city agency (reviewed by the city bureau) and of a 兰山区 agency (reviewed by
the district bureau, or the city bureau) are driven into each state through the real
services; then each role tries each action.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.auth.models import Role
from gongshu.catalog import changes, service, workflow
from gongshu.catalog.models import ChangeKind, Dataset, DatasetState
from gongshu.catalog.schemas import DatasetUpdate
from gongshu.catalog.workflow_schemas import ChangeRequestCreate, ChangeReview
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.notices.models import Notice
from gongshu.orgs.models import Agency, Region
from gongshu.workdays.models import Deadline
from tests.factories import Person, dataset_input

# A Monday; 2 working days later is Wednesday 2026-03-04.
MONDAY = dt.date(2026, 3, 2)

ROLES = ("owner", "other_officer", "city_bureau", "district_bureau", "consumer", "system_admin")
STATES = tuple(DatasetState)


@dataclass
class World:
    """Everyone the workflow involves."""

    db: Session
    people: dict[str, Person]
    city_officer: Person
    district_officer: Person
    district_agency: Agency

    def make(self, region: str) -> Dataset:
        owner = self.city_officer if region == "city" else self.district_officer
        return service.create_dataset(self.db, owner.actor, dataset_input())

    def owner(self, region: str) -> Person:
        return self.city_officer if region == "city" else self.district_officer

    def drive(self, dataset: Dataset, state: DatasetState, region: str) -> Dataset:
        """Take a new draft to ``state`` through the real services."""
        owner = self.owner(region).actor
        city = self.people["city_bureau"].actor
        if state is DatasetState.DRAFT:
            return dataset
        workflow.submit(self.db, owner, dataset.id, today=MONDAY)
        if state is DatasetState.SUBMITTED:
            return dataset
        if state is DatasetState.RETURNED:
            return workflow.return_(self.db, city, dataset.id, "字段说明不完整")
        workflow.approve(self.db, city, dataset.id)
        if state is DatasetState.APPROVED:
            return dataset
        workflow.publish(self.db, city, dataset.id, today=MONDAY)
        if state is DatasetState.PUBLISHED:
            return dataset
        change = changes.propose_change(
            self.db,
            owner,
            dataset.id,
            ChangeRequestCreate(kind=ChangeKind.DELETE, reason="职能划转", basis_changed_on=MONDAY),
            today=MONDAY,
        )
        while change.is_open:
            changes.review_change(self.db, city, change.id, ChangeReview(approve=True))
        assert dataset.state is DatasetState.WITHDRAWN
        return dataset


@pytest.fixture(name="world")
def world_fixture(
    db: Session,
    make_person: Callable[..., Person],
    make_agency: Callable[..., Agency],
    agency: Agency,
    other_agency: Agency,
    district: Region,
) -> World:
    district_agency = make_agency("兰山区市场监督管理局", region=district)
    people = {
        "other_officer": make_person(Role.AGENCY_OFFICER, agency=other_agency),
        "city_bureau": make_person(Role.BUREAU_ADMIN),
        "district_bureau": make_person(Role.BUREAU_ADMIN, region=district),
        "consumer": make_person(Role.AGENCY_CONSUMER, agency=other_agency),
        "system_admin": make_person(Role.SYSTEM_ADMIN),
    }
    return World(
        db,
        people,
        make_person(Role.AGENCY_OFFICER, agency=agency),
        make_person(Role.AGENCY_OFFICER, agency=district_agency),
        district_agency,
    )


def _call(world: World, action: str, actor_person: Person, dataset_id: int) -> Dataset:
    db, actor = world.db, actor_person.actor
    if action == workflow.SUBMIT:
        return workflow.submit(db, actor, dataset_id, today=MONDAY)
    if action == workflow.RECALL:
        return workflow.recall(db, actor, dataset_id)
    if action == workflow.APPROVE:
        return workflow.approve(db, actor, dataset_id)
    if action == workflow.RETURN:
        return workflow.return_(db, actor, dataset_id, "请补充共享条件")
    return workflow.publish(db, actor, dataset_id, today=MONDAY)


def expected(region: str, state: DatasetState, action: str, role: str) -> object:
    """The outcome the rules promise: the new state, or the error class."""
    sees = role in ("owner", "city_bureau") or state is DatasetState.PUBLISHED
    if role == "district_bureau" and region == "district":
        sees = True
    if not sees:
        return NotFound
    if action in workflow.OFFICER_ACTIONS:
        allowed = role == "owner"
    else:
        allowed = role == "city_bureau" or (role == "district_bureau" and region == "district")
    if not allowed:
        return PermissionDenied
    sources, target = workflow.TRANSITIONS[action]
    return target if state in sources else Conflict


@pytest.mark.role_matrix
@pytest.mark.parametrize("region", ["city", "district"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", workflow.ACTIONS)
@pytest.mark.parametrize("state", STATES, ids=lambda s: s.value)
def test_state_action_role_matrix(
    world: World, region: str, state: DatasetState, action: str, role: str
) -> None:
    dataset = world.drive(world.make(region), state, region)
    person = world.owner(region) if role == "owner" else world.people[role]
    outcome = expected(region, state, action, role)
    version = dataset.lock_version
    if isinstance(outcome, DatasetState):
        result = _call(world, action, person, dataset.id)
        assert result.state is outcome
        assert result.lock_version == version + 1
        audit = world.db.scalars(
            select(AuditEntry).where(
                AuditEntry.action == f"dataset.{action}", AuditEntry.object_id == str(dataset.id)
            )
        ).all()
        assert audit and audit[-1].actor_id == person.user.id
        return
    assert isinstance(outcome, type)
    with pytest.raises(outcome) as info:
        _call(world, action, person, dataset.id)
    assert info.value.status_code == {NotFound: 404, PermissionDenied: 403, Conflict: 409}[outcome]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(info.value))  # a Chinese message
    world.db.expire_all()
    after = world.db.get(Dataset, dataset.id)
    assert after is not None and after.state is state and after.lock_version == version


def test_anonymous_is_refused(world: World) -> None:
    dataset = world.make("city")
    with pytest.raises(PermissionDenied) as info:
        workflow.submit(world.db, None, dataset.id)
    assert info.value.status_code == 401


def test_unknown_id_is_404(world: World) -> None:
    with pytest.raises(NotFound):
        workflow.approve(world.db, world.people["city_bureau"].actor, 987654)


def test_return_needs_a_reason(world: World) -> None:
    dataset = world.drive(world.make("city"), DatasetState.SUBMITTED, "city")
    with pytest.raises(ValidationFailed) as info:
        workflow.return_(world.db, world.people["city_bureau"].actor, dataset.id, "  ")
    assert info.value.errors == {"reason": ["请填写退回理由"]}
    assert dataset.state is DatasetState.SUBMITTED


def test_stale_lock_version_is_409(world: World) -> None:
    dataset = world.drive(world.make("city"), DatasetState.SUBMITTED, "city")
    stale = dataset.lock_version - 1
    with pytest.raises(Conflict):
        workflow.approve(world.db, world.people["city_bureau"].actor, dataset.id, stale)


def test_submission_opens_a_deadline_with_its_rule(world: World) -> None:
    dataset = world.make("city")
    workflow.submit(world.db, world.city_officer.actor, dataset.id, today=MONDAY)
    deadline = world.db.scalars(
        select(Deadline).where(Deadline.object_type == "dataset", Deadline.object_id == dataset.id)
    ).one()
    assert deadline.kind == workflow.REVIEW_KIND
    assert deadline.started_on == MONDAY
    assert deadline.due_on == dt.date(2026, 3, 4)
    assert deadline.rule == "2 个工作日"
    assert not deadline.provisional and deadline.closed_at is None
    view = workflow.review_deadline(world.db, dataset, today=MONDAY)
    assert view is not None and view.remaining == 2 and not view.overdue
    late = workflow.review_deadline(world.db, dataset, today=dt.date(2026, 3, 5))
    assert late is not None and late.overdue

    workflow.approve(world.db, world.people["city_bureau"].actor, dataset.id)
    assert deadline.closed_at is not None
    assert workflow.review_deadline(world.db, dataset) is None


def test_review_days_is_a_setting(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from gongshu.settings import get_settings

    monkeypatch.setattr(get_settings(), "catalog_review_days", 5)
    dataset = world.make("city")
    workflow.submit(world.db, world.city_officer.actor, dataset.id, today=MONDAY)
    view = workflow.review_deadline(world.db, dataset, today=MONDAY)
    assert view is not None and view.due_on == dt.date(2026, 3, 9) and view.rule == "5 个工作日"


def test_deadline_over_new_year_is_provisional(world: World) -> None:
    dataset = world.make("city")
    workflow.submit(world.db, world.city_officer.actor, dataset.id, today=dt.date(2030, 12, 30))
    view = workflow.review_deadline(world.db, dataset, today=dt.date(2030, 12, 30))
    assert view is not None and view.provisional and view.due_on == dt.date(2031, 1, 1)


def test_recall_and_return_close_the_deadline(world: World) -> None:
    dataset = world.drive(world.make("city"), DatasetState.SUBMITTED, "city")
    workflow.recall(world.db, world.city_officer.actor, dataset.id)
    assert dataset.state is DatasetState.DRAFT
    assert workflow.review_deadline(world.db, dataset) is None
    workflow.submit(world.db, world.city_officer.actor, dataset.id, today=MONDAY)
    workflow.return_(world.db, world.people["city_bureau"].actor, dataset.id, "缺少法律依据")
    assert workflow.review_deadline(world.db, dataset) is None
    open_count = world.db.scalars(
        select(Deadline).where(Deadline.object_id == dataset.id, Deadline.closed_at.is_(None))
    ).all()
    assert open_count == []


def _notices(db: Session, person: Person) -> list[Notice]:
    return list(db.scalars(select(Notice).where(Notice.user_id == person.user.id)))


def test_notices_on_submit_return_approve_publish(world: World) -> None:
    city_bureau = world.people["city_bureau"]
    district_bureau = world.people["district_bureau"]
    # A district entry: its district bureau is told, not the city bureau.
    dataset = world.make("district")
    workflow.submit(world.db, world.district_officer.actor, dataset.id, today=MONDAY)
    told = _notices(world.db, district_bureau)
    assert [n.kind for n in told] == ["catalog.submitted"]
    assert told[0].link == f"/catalog/{dataset.id}"
    assert told[0].params["code"] == dataset.code
    assert told[0].params["due"] == "2026-03-04"
    assert _notices(world.db, city_bureau) == []

    workflow.return_(world.db, district_bureau.actor, dataset.id, "请补充信息项说明")
    kinds = [n.kind for n in _notices(world.db, world.district_officer)]
    assert kinds == ["catalog.returned"]
    assert _notices(world.db, world.district_officer)[0].params["reason"] == "请补充信息项说明"

    # The officer fixes the entry (returned entries are editable) and resubmits.
    service.update_dataset(
        world.db, world.district_officer.actor, dataset.id, DatasetUpdate(description="已补充")
    )
    workflow.submit(world.db, world.district_officer.actor, dataset.id, today=MONDAY)
    workflow.approve(world.db, district_bureau.actor, dataset.id, comment="同意")
    workflow.publish(world.db, district_bureau.actor, dataset.id, today=MONDAY)
    kinds = [n.kind for n in _notices(world.db, world.district_officer)]
    assert kinds == ["catalog.returned", "catalog.approved", "catalog.published"]
    assert dataset.published_on == MONDAY
    assert dataset.review_comment == "同意"


def test_city_entries_notify_the_city_bureau(world: World) -> None:
    dataset = world.make("city")
    workflow.submit(world.db, world.city_officer.actor, dataset.id, today=MONDAY)
    assert [n.kind for n in _notices(world.db, world.people["city_bureau"])] == [
        "catalog.submitted"
    ]
    assert _notices(world.db, world.people["district_bureau"]) == []


def test_publish_keeps_a_given_date(world: World) -> None:
    dataset = world.make("city")
    service.update_dataset(
        world.db,
        world.city_officer.actor,
        dataset.id,
        DatasetUpdate(published_on=dt.date(2025, 1, 1)),
    )
    world.drive(dataset, DatasetState.PUBLISHED, "city")
    assert dataset.published_on == dt.date(2025, 1, 1)


def test_audit_entries_record_the_transition(world: World) -> None:
    dataset = world.drive(world.make("city"), DatasetState.PUBLISHED, "city")
    rows = world.db.scalars(
        select(AuditEntry)
        .where(AuditEntry.object_type == "dataset", AuditEntry.object_id == str(dataset.id))
        .order_by(AuditEntry.seq)
    ).all()
    assert [r.action for r in rows] == [
        "dataset.create",
        "dataset.submit",
        "dataset.approve",
        "dataset.publish",
    ]
    assert rows[1].changes["state"] == ["draft", "submitted"]
    assert rows[1].changes["due_on"] == [None, "2026-03-04"]
    assert rows[1].changes["rule"] == [None, "2 个工作日"]
    assert rows[3].changes["published_on"] == [None, MONDAY.isoformat()]


def test_review_queue_is_sorted_by_due_date_and_scoped(world: World) -> None:
    early = world.make("district")
    workflow.submit(world.db, world.district_officer.actor, early.id, today=MONDAY)
    later = world.make("city")
    workflow.submit(world.db, world.city_officer.actor, later.id, today=dt.date(2026, 3, 3))
    first = world.make("city")
    workflow.submit(world.db, world.city_officer.actor, first.id, today=dt.date(2026, 2, 27))

    city_queue = workflow.review_queue(world.db, world.people["city_bureau"].actor, MONDAY)
    assert [i.dataset.id for i in city_queue] == [first.id, early.id, later.id]
    # 2026-02-28 is a Saturday worked in lieu of the Spring Festival: due Monday, today.
    assert city_queue[0].deadline is not None
    assert city_queue[0].deadline.due_on == MONDAY and city_queue[0].deadline.remaining == 0
    district_queue = workflow.review_queue(world.db, world.people["district_bureau"].actor)
    assert [i.dataset.id for i in district_queue] == [early.id]
    with pytest.raises(PermissionDenied):
        workflow.review_queue(world.db, world.city_officer.actor)


def test_available_actions(world: World) -> None:
    dataset = world.make("district")
    assert workflow.available_actions(world.district_officer.actor, dataset) == ["submit"]
    assert workflow.available_actions(world.people["district_bureau"].actor, dataset) == []
    world.drive(dataset, DatasetState.SUBMITTED, "district")
    assert workflow.available_actions(world.district_officer.actor, dataset) == ["recall"]
    assert workflow.available_actions(world.people["district_bureau"].actor, dataset) == [
        "approve",
        "return",
    ]
    assert workflow.available_actions(world.people["city_bureau"].actor, dataset) == [
        "approve",
        "return",
    ]


def test_published_entries_are_not_edited_directly(world: World) -> None:
    dataset = world.drive(world.make("city"), DatasetState.PUBLISHED, "city")
    with pytest.raises(Conflict):
        service.update_dataset(
            world.db, world.city_officer.actor, dataset.id, DatasetUpdate(title="新名称")
        )
