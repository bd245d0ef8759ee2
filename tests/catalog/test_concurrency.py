"""Two officers saving the same entry at the same time: one wins, the other gets 409."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from gongshu.catalog import service
from gongshu.catalog.schemas import DatasetUpdate
from gongshu.db import make_engine, make_session_factory
from gongshu.errors import Conflict
from gongshu.settings import Settings
from tests.factories import SYSTEM, dataset_input, seed_officer


def test_concurrent_edits_conflict_instead_of_overwriting(scratch_settings: Settings) -> None:
    engine = make_engine(scratch_settings)
    factory = make_session_factory(engine)
    with factory() as session:
        actor = seed_officer(session, "officer2").actor
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
