"""`gongshu ingest` killed with SIGKILL twenty times, from the Parquet write to the publish
transaction: after the next start, the previous version (or a whole new one) serves, no
ingestion stays "running", and no file is left that no version names.

Each run is a process of its own (tests/forkserver.py) running the console command."""

from __future__ import annotations

import sys
import time
from multiprocessing.process import BaseProcess
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gongshu.catalog import service as catalog_service
from gongshu.catalog.models import DatasetState
from gongshu.db import make_engine, make_session_factory
from gongshu.gate import service as gate
from gongshu.ingest import service
from gongshu.ingest.models import Ingestion, IngestStatus
from gongshu.settings import Settings
from gongshu.store.models import DatasetVersion, VersionStatus
from gongshu.store.storage import LocalStorage, get_storage
from gongshu.store.versions import current_version, sweep_on_start
from tests import forkserver
from tests.factories import dataset_input, seed_officer
from tests.ingest_service.conftest import HEADER, good_rows, registry_fields
from tests.store.conftest import store_dirs

KILLS = 20
ROWS = 40_000


def _ingest(argv: list[str]) -> None:
    from gongshu.cli import main

    sys.argv = ["gongshu", *argv]
    main()


def _start(settings: Settings, code: str, path: Path) -> BaseProcess:
    env = {
        "GONGSHU_DATABASE_URL": settings.sqlalchemy_url,
        "GONGSHU_DATA_DIR": str(settings.data_dir),
    }
    return forkserver.start(env, _ingest, ["ingest", code, str(path), "--as", "officer1"])


def _last_ingestion(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.max(Ingestion.id))) or 0


def _wait_for_ingestion(factory: sessionmaker[Session], child: BaseProcess, *, after: int) -> float:
    """Polls until the child has put its ingestion on record; returns when it saw it."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if _last_ingestion(factory) > after:
            return time.monotonic()
        assert child.is_alive(), "the ingestion ended before it was on record"
        time.sleep(0.01)
    raise AssertionError("the ingestion never went on record")


def test_killed_ingestions_leave_the_previous_version_serving(
    cli_settings: Settings, tmp_path: Path
) -> None:
    # cli_settings points this process's settings at the scratch database too, so that
    # every default (storage root, database) here agrees with the killed child's.
    scratch_settings = cli_settings
    storage = get_storage(scratch_settings)
    assert isinstance(storage, LocalStorage)
    engine = make_engine(scratch_settings)
    factory = make_session_factory(engine)
    big = tmp_path / "big.csv"
    big.write_text(HEADER + "".join(r + "\n" for r in good_rows(1, ROWS)), encoding="utf-8")
    small = tmp_path / "small.csv"
    small.write_text(HEADER + "".join(r + "\n" for r in good_rows(1, 10)), encoding="utf-8")
    try:
        with factory() as session:
            officer = seed_officer(session)
            dataset = catalog_service.create_dataset(
                session, officer.actor, dataset_input(fields=registry_fields())
            )
            dataset.state = DatasetState.PUBLISHED
            session.commit()
            first = service.ingest_file(
                session, officer.actor, dataset, small, settings=scratch_settings
            )
            assert first.version is not None
            dataset_id, code = dataset.id, dataset.code

        # How long a run takes once its ingestion is on record, so that the kills spread over
        # the work itself. The clock starts when the child's row appears, not at spawn: under
        # load the interpreter's start-up alone can outlast a wall-clock guess.
        child = _start(scratch_settings, code, big)
        started = _wait_for_ingestion(factory, child, after=_last_ingestion(factory))
        child.join(timeout=300)
        assert child.exitcode == 0
        duration = time.monotonic() - started

        outcomes = set()
        for i in range(KILLS):
            last = _last_ingestion(factory)
            child = _start(scratch_settings, code, big)
            _wait_for_ingestion(factory, child, after=last)
            # From the start of the work to just past the end of the run.
            time.sleep(duration * (1.05 * i / (KILLS - 1)))
            child.kill()  # SIGKILL
            child.join()
            # The next start: the store's sweep and the ingestions' recovery.
            sweep_on_start(scratch_settings, factory)
            service.recover(scratch_settings, factory)
            with factory() as session:
                live = current_version(session, dataset_id)
                assert live is not None
                assert live.row_count in (10, ROWS)
                outcomes.add(live.row_count)
                dataset = catalog_service.get_dataset(session, officer.actor, dataset_id)
                read = sum(
                    b.num_rows
                    for b in gate.scan(session, officer.actor, dataset, purpose="crash test")
                )
                assert read == live.row_count
                kept = session.scalars(
                    select(DatasetVersion).where(
                        DatasetVersion.dataset_id == dataset_id,
                        DatasetVersion.status != VersionStatus.PRUNED,
                    )
                ).all()
                assert store_dirs(storage) == {v.prefix for v in kept}
                for version in kept:
                    assert storage.local_path(version.parquet_key).exists()
                    assert storage.local_path(version.index_key).exists()
                stuck = session.scalars(
                    select(Ingestion).where(
                        Ingestion.status.in_([IngestStatus.RUNNING, IngestStatus.QUEUED])
                    )
                ).all()
                assert stuck == []
            assert list((scratch_settings.data_dir / "tmp").glob("ingest-*")) == []
        with factory() as session:
            failed = session.scalars(
                select(Ingestion).where(Ingestion.status == IngestStatus.FAILED)
            ).all()
        # Most kills land before the publish; each of those is a failed ingestion on record.
        assert failed and all(i.error == service.MSG_INTERRUPTED for i in failed)
    finally:
        engine.dispose()
