"""Two officers saving the same entry at the same time: one wins, the other gets 409."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from gongshu.auth import service as auth_service
from gongshu.auth.models import Role
from gongshu.auth.schemas import UserCreate
from gongshu.catalog import service
from gongshu.catalog.schemas import DatasetUpdate
from gongshu.db import make_engine, make_session_factory
from gongshu.errors import Conflict
from gongshu.identifiers import make_credit_code
from gongshu.orgs import service as orgs_service
from gongshu.orgs.models import AgencyKind, RegionLevel
from gongshu.orgs.schemas import AgencyCreate, RegionCreate
from gongshu.settings import Settings
from tests.factories import PASSWORD, SYSTEM, dataset_input


def test_concurrent_edits_conflict_instead_of_overwriting(scratch_settings: Settings) -> None:
    engine = make_engine(scratch_settings)
    factory = make_session_factory(engine)
    with factory() as session:
        city = orgs_service.create_region(
            session, SYSTEM, RegionCreate(code="371300", name="临沂市", level=RegionLevel.CITY)
        )
        agency = orgs_service.create_agency(
            session,
            SYSTEM,
            AgencyCreate(
                name="临沂市市场监督管理局",
                credit_code=make_credit_code("11371300MB0000002"),
                region_id=city.id,
                kind=AgencyKind.GOVERNMENT,
            ),
        )
        user = auth_service.create_user(
            session,
            SYSTEM,
            UserCreate(
                username="officer2",
                display_name="李专管",
                password=PASSWORD,
                agency_id=agency.id,
                region_id=city.id,
                roles=[Role.AGENCY_OFFICER],
            ),
        )
        actor = auth_service.actor_for_user(user)
        dataset_id = service.create_dataset(session, actor, dataset_input()).id

    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def save(title: str) -> None:
        with factory() as session:
            barrier.wait()
            try:
                service.update_dataset(
                    session, actor, dataset_id, DatasetUpdate(lock_version=1, title=title)
                )
                outcomes.append("saved")
            except Conflict:
                outcomes.append("conflict")

    threads = [threading.Thread(target=save, args=(t,)) for t in ("甲的标题", "乙的标题")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    try:
        assert sorted(outcomes) == ["conflict", "saved"]
        with Session(engine) as session:
            final = service.get_dataset(session, SYSTEM, dataset_id)
            assert final.lock_version == 2
            assert final.title in ("甲的标题", "乙的标题")
    finally:
        engine.dispose()
