"""Two decisions on one share request at the same instant: one wins, the other gets 409.

Runs on a committed scratch database (SQLite, or PostgreSQL when the suite runs there).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.auth import service as auth_service
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.schemas import UserCreate
from gongshu.catalog import service as catalog_service
from gongshu.catalog import workflow
from gongshu.db import make_engine, make_session_factory
from gongshu.errors import Conflict
from gongshu.identifiers import make_credit_code
from gongshu.orgs import service as orgs_service
from gongshu.orgs.models import AgencyKind, RegionLevel
from gongshu.orgs.schemas import AgencyCreate, RegionCreate
from gongshu.settings import Settings
from gongshu.share import requests
from gongshu.share.models import Grant, RequestStatus
from gongshu.share.schemas import GrantDecision, Refusal, ShareRequestCreate
from gongshu.workdays.calendar import local_today
from tests.factories import PASSWORD, SYSTEM, dataset_input
from tests.share.conftest import BASIS


def _setup(session: Session) -> dict[str, Actor]:
    city = orgs_service.create_region(
        session, SYSTEM, RegionCreate(code="371300", name="临沂市", level=RegionLevel.CITY)
    )
    agencies = [
        orgs_service.create_agency(
            session,
            SYSTEM,
            AgencyCreate(
                name=name,
                credit_code=make_credit_code(f"11371300MB000000{n}"),
                region_id=city.id,
                kind=AgencyKind.GOVERNMENT,
            ),
        )
        for n, name in enumerate(("临沂市市场监督管理局", "临沂市应急管理局"), start=1)
    ]

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

    return {
        "officer_a": person("officer_a", Role.AGENCY_OFFICER, agencies[0].id),
        "officer_b": person("officer_b", Role.AGENCY_OFFICER, agencies[0].id),
        "requester": person("requester", Role.AGENCY_OFFICER, agencies[1].id),
        "bureau": person("bureau", Role.BUREAU_ADMIN, None),
    }


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


def test_concurrent_decisions_one_wins(scratch_settings: Settings) -> None:
    engine = make_engine(scratch_settings)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            people = _setup(session)
            dataset = catalog_service.create_dataset(
                session,
                people["officer_a"],
                dataset_input(
                    share_type="conditional",
                    legal_basis=BASIS,
                    level="general_2",
                    open_type="none",
                    open_conditions="不予开放",
                ),
            )
            workflow.submit(session, people["officer_a"], dataset.id)
            workflow.approve(session, people["bureau"], dataset.id)
            workflow.publish(session, people["bureau"], dataset.id)

            def new_request() -> int:
                return requests.create_request(
                    session,
                    people["requester"],
                    ShareRequestCreate(
                        dataset_id=dataset.id,
                        purpose="安全生产检查",
                        scenario="联合执法",
                        legal_basis="《安全生产法》",
                        fields=["credit_code", "name"],
                        ends_on=local_today().replace(year=local_today().year + 1),
                    ),
                ).id

            first = new_request()

        # Two officers granting at once: one grant, one 409.
        outcomes = _race(
            factory,
            [
                lambda s: requests.grant_request(s, people["officer_a"], first, GrantDecision()),
                lambda s: requests.grant_request(s, people["officer_b"], first, GrantDecision()),
            ],
        )
        assert outcomes == ["conflict", "ok"]
        with factory() as session:
            grants = session.scalar(
                select(func.count()).select_from(Grant).where(Grant.request_id == first)
            )
            assert grants == 1
            assert requests.get_request(session, SYSTEM, first).status is RequestStatus.ACTIVE

        # A grant racing a refusal: exactly one decision stands.
        with factory() as session:
            second = new_request()
        outcomes = _race(
            factory,
            [
                lambda s: requests.grant_request(s, people["officer_a"], second, GrantDecision()),
                lambda s: requests.deny_request(
                    s, people["officer_b"], second, Refusal(reason="不同意")
                ),
            ],
        )
        assert outcomes == ["conflict", "ok"]
        with factory() as session:
            status = requests.get_request(session, SYSTEM, second).status
            grants = session.scalar(
                select(func.count()).select_from(Grant).where(Grant.request_id == second)
            )
            assert (status, grants) in ((RequestStatus.ACTIVE, 1), (RequestStatus.DENIED, 0))

        # A decision on a stale page (an old lock_version) is 409 as well.
        with factory() as session:
            third = new_request()
            seen = requests.get_request(session, SYSTEM, third).lock_version
            requests.deny_request(session, people["officer_a"], third, Refusal(reason="不同意"))
        with factory() as session:
            try:
                requests.grant_request(
                    session, people["officer_b"], third, GrantDecision(lock_version=seen)
                )
            except Conflict as exc:
                assert "刷新" in str(exc)
            else:
                raise AssertionError("a stale lock_version must conflict")
    finally:
        engine.dispose()
