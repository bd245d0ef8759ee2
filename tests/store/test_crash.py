"""A writer killed with SIGKILL at random moments never leaves a torn version behind."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from pathlib import Path

import psutil
import pytest
from sqlalchemy import select

from gongshu.catalog import service as catalog_service
from gongshu.db import make_engine, make_session_factory
from gongshu.settings import Settings
from gongshu.store import rows
from gongshu.store.models import DatasetVersion, VersionStatus
from gongshu.store.storage import get_storage
from gongshu.store.versions import VersionWriter, current_version, publish, sweep
from tests import forkserver
from tests.factories import dataset_input, seed_officer
from tests.store import crash_writer
from tests.store.conftest import SPECS, make_row, store_dirs, to_batch

pytestmark = pytest.mark.storage_only


@dataclass
class _Writer:
    process: BaseProcess
    ready: Event
    published: Event


def _run_child(settings: Settings, dataset_id: int) -> _Writer:
    env = {
        "GONGSHU_DATABASE_URL": settings.sqlalchemy_url,
        "GONGSHU_DATA_DIR": str(settings.data_dir),
    }
    ready, published = forkserver.CONTEXT.Event(), forkserver.CONTEXT.Event()
    process = forkserver.start(env, crash_writer.main, dataset_id, ready, published)
    assert ready.wait(120), "the writer never started"
    return _Writer(process, ready, published)


def _loaders(root: Path) -> list[int]:
    """Serving index loader processes working under ``root`` (zombies do not count)."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        line = process.info["cmdline"] or []
        if (
            "gongshu.store.serving" in line
            and any(str(root) in part for part in line)
            and process.info["status"] != psutil.STATUS_ZOMBIE
        ):
            found.append(process.pid)
    return found


def _no_loader_left(root: Path) -> None:
    """A killed writer's loader process stops too (within a few seconds)."""
    deadline = time.monotonic() + 10
    while (left := _loaders(root)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, "a loader process outlived its writer"


def test_sigkilled_writers_leave_nothing_after_sweep(scratch_settings: Settings) -> None:
    storage = get_storage(scratch_settings)
    engine = make_engine(scratch_settings)
    factory = make_session_factory(engine)
    rng = random.Random(20261124)
    try:
        with factory() as session:
            person = seed_officer(session)
            dataset = catalog_service.create_dataset(session, person.actor, dataset_input())
            with VersionWriter(storage, dataset.id, SPECS) as writer:
                writer.write(to_batch([make_row(i) for i in range(50)]))
                staged = writer.finish()
            first = publish(
                session,
                person.actor,
                dataset,
                staged,
                mode="replace",
                source={"kind": "upload"},
                storage=storage,
            )

        # How long a whole write takes here, to spread the kills over it.
        started = time.monotonic()
        child = _run_child(scratch_settings, dataset.id)
        ready_at = time.monotonic()
        assert child.published.wait(120)
        span = max(time.monotonic() - ready_at, 0.2)  # to the publish, not the process exit
        child.process.join(120)
        assert child.process.exitcode == 0
        assert time.monotonic() - started < 120

        published_before = 2
        interrupted = 0
        for _ in range(10):
            child = _run_child(scratch_settings, dataset.id)
            time.sleep(rng.uniform(0, span * 0.9))
            child.process.kill()  # SIGKILL
            child.process.join(30)
            _no_loader_left(storage.root)

            with factory() as session:
                sweep(session, storage)
                versions = list(
                    session.scalars(
                        select(DatasetVersion).where(DatasetVersion.dataset_id == dataset.id)
                    )
                )
                live = {v.prefix for v in versions if v.status is not VersionStatus.PRUNED}
                # Nothing on disk but the files of versions: no torn or orphaned prefix.
                assert store_dirs(storage) == live
                for v in versions:
                    assert storage.marker(v.prefix) is None
                    assert rows.count(storage, v) == v.row_count
                current = current_version(session, dataset.id)
                assert current is not None
                assert sum(b.num_rows for b in rows.batches(storage, current)) == current.row_count
                assert rows.count(storage, first) == 50  # the first version still reads
                # A killed run published a whole version or nothing at all.
                assert len(versions) in (published_before, published_before + 1)
                interrupted += len(versions) == published_before
                published_before = len(versions)

        assert interrupted >= 3, "too few kills landed before the publish"
    finally:
        engine.dispose()
