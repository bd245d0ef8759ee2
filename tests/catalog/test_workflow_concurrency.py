"""Two reviewers approving the same entry at the same instant: one wins, the other gets 409.

Runs on a committed scratch database (SQLite, or PostgreSQL when the suite runs there).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy.orm import Session

from gongshu.auth import service as auth_service
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.schemas import UserCreate
from gongshu.catalog import changes, service, workflow
from gongshu.catalog.models import ChangeKind, ChangeStatus, DatasetState
from gongshu.catalog.workflow_schemas import ChangeRequestCreate, ChangeReview
from gongshu.db import make_engine, make_session_factory
from gongshu.errors import Conflict
from gongshu.identifiers import make_credit_code
from gongshu.orgs import service as orgs_service
from gongshu.orgs.models import AgencyKind, RegionLevel
from gongshu.orgs.schemas import AgencyCreate, RegionCreate
from gongshu.settings import Settings
from tests.catalog.test_workflow import MONDAY
from tests.factories import PASSWORD, SYSTEM, dataset_input


def _setup(session: Session) -> tuple[Actor, Actor, Actor]:
    city = orgs_service.create_region(
        session, SYSTEM, RegionCreate(code="371300", name="临沂市", level=RegionLevel.CITY)
    )
    agency = orgs_service.create_agency(
        session,
        SYSTEM,
        AgencyCreate(
            name="临沂市市场监督管理局",
            credit_code=make_credit_code("11371300MB0000003"),
            region_id=city.id,
            kind=AgencyKind.GOVERNMENT,
        ),
    )

    def person(username: str, role: Role, agency_id: int | None) -> Actor:
        user = auth_service.create_user(
            session,
            SYSTEM,
            UserCreate(
                username=username,
                display_name=username,
                password=PASSWORD,
                agency_id=agency_id,
                region_id=city.id,
                roles=[role],
            ),
        )
        return auth_service.actor_for_user(user)

    return (
        person("officer", Role.AGENCY_OFFICER, agency.id),
        person("reviewer_a", Role.BUREAU_ADMIN, None),
        person("reviewer_b", Role.BUREAU_ADMIN, None),
    )


def _race(factory: Callable[[], Session], work: list[Callable[[Session], object]]) -> list[str]:
    barrier = threading.Barrier(len(work))
    outcomes: list[str] = []

    def run(fn: Callable[[Session], object]) -> None:
        with factory() as session:
            barrier.wait()
            try:
                fn(session)
                outcomes.append("ok")
            except Conflict:
                outcomes.append("conflict")

    threads = [threading.Thread(target=run, args=(fn,)) for fn in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return sorted(outcomes)


def test_two_concurrent_approvals_one_conflicts(scratch_settings: Settings) -> None:
    engine = make_engine(scratch_settings)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            officer, reviewer_a, reviewer_b = _setup(session)
            dataset_id = service.create_dataset(session, officer, dataset_input()).id
            workflow.submit(session, officer, dataset_id, today=MONDAY)

        outcomes = _race(
            factory,
            [
                lambda s: workflow.approve(s, reviewer_a, dataset_id, comment="甲"),
                lambda s: workflow.approve(s, reviewer_b, dataset_id, comment="乙"),
            ],
        )
        assert outcomes == ["conflict", "ok"]
        with factory() as session:
            final = service.get_dataset(session, SYSTEM, dataset_id)
            assert final.state is DatasetState.APPROVED
            assert final.review_comment in ("甲", "乙")
            assert final.lock_version == 3  # created 1, submitted 2, approved once 3

        # An approval racing a return: still exactly one decision.
        with factory() as session:
            other = service.create_dataset(session, officer, dataset_input(title="另一条目")).id
            workflow.submit(session, officer, other, today=MONDAY)
        outcomes = _race(
            factory,
            [
                lambda s: workflow.approve(s, reviewer_a, other),
                lambda s: workflow.return_(s, reviewer_b, other, "请补充"),
            ],
        )
        assert outcomes == ["conflict", "ok"]
    finally:
        engine.dispose()


def test_two_concurrent_change_consents_one_conflicts(scratch_settings: Settings) -> None:
    engine = make_engine(scratch_settings)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            officer, reviewer_a, reviewer_b = _setup(session)
            dataset_id = service.create_dataset(session, officer, dataset_input()).id
            workflow.submit(session, officer, dataset_id, today=MONDAY)
            workflow.approve(session, reviewer_a, dataset_id)
            workflow.publish(session, reviewer_a, dataset_id, today=MONDAY)
            change_id = changes.propose_change(
                session,
                officer,
                dataset_id,
                ChangeRequestCreate(kind=ChangeKind.DELETE, reason="撤销", basis_changed_on=MONDAY),
                today=MONDAY,
            ).id
        outcomes = _race(
            factory,
            [
                lambda s: changes.review_change(
                    s, reviewer_a, change_id, ChangeReview(approve=True)
                ),
                lambda s: changes.review_change(
                    s, reviewer_b, change_id, ChangeReview(approve=False, comment="不同意")
                ),
            ],
        )
        assert outcomes == ["conflict", "ok"]
        with factory() as session:
            change = changes.get_change(session, SYSTEM, change_id)
            assert change.status in (ChangeStatus.APPROVED, ChangeStatus.REJECTED)
    finally:
        engine.dispose()
