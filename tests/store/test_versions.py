"""Writing, publishing, pruning and sweeping versions."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.catalog import service as catalog_service
from gongshu.catalog.models import Dataset
from gongshu.db import make_engine, make_session_factory
from gongshu.errors import Conflict
from gongshu.gate.filters import Filter
from gongshu.settings import Settings
from gongshu.store import rows
from gongshu.store.models import DatasetHead, DatasetVersion, VersionStatus
from gongshu.store.storage import MARKER_NAME, NEW_PREFIX, LocalStorage, get_storage
from gongshu.store.versions import (
    ORPHAN_GRACE_SECONDS,
    VersionWriter,
    current_version,
    list_versions,
    prune,
    publish,
    sweep,
)
from tests.factories import Person, dataset_input, seed_officer
from tests.store.conftest import SPECS, make_row, store_dirs, to_batch


def _all_rows(storage: LocalStorage, version: DatasetVersion) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for batch in rows.batches(storage, version, batch_rows=50):
        out.extend(batch.to_pylist())
    return out


def test_round_trip_of_every_type(
    db: Session,
    officer: Person,
    make_dataset: Callable[..., Dataset],
    storage: LocalStorage,
    write_version: Callable[..., DatasetVersion],
) -> None:
    dataset = make_dataset()
    data = [make_row(i) for i in range(30)]
    data[5]["capital"] = Decimal("-12345.678901")
    data[6]["capital"] = Decimal("123456789012345678.123456")  # beyond 64 bits once scaled
    data[8]["note"] = "沂蒙山区\n换行与\t制表符"
    version = write_version(officer.actor, dataset, data)

    assert version.row_count == 30 and version.number == 1
    assert len(version.checksum) == 64
    expected = [{**r, "_row": i + 2} for i, r in enumerate(data)]
    assert _all_rows(storage, version) == expected

    page, cursor = rows.page(storage, version, columns=[*version.field_names, "_row"], limit=30)
    assert cursor is None
    assert page == expected
    assert type(page[0]["founded"]).__name__ == "date"
    assert isinstance(page[0]["capital"], Decimal) and page[6]["capital"] == data[6]["capital"]
    assert page[1]["active"] is True and page[3]["active"] is None
    big = rows.page(storage, version, filters=[Filter("capital", "gt", "1e15")])[0]
    assert [r["credit_code"] for r in big] == [data[6]["credit_code"]]


def test_publish_moves_the_head_and_old_versions_stay_readable(
    db: Session,
    officer: Person,
    make_dataset: Callable[..., Dataset],
    storage: LocalStorage,
    write_version: Callable[..., DatasetVersion],
) -> None:
    dataset = make_dataset()
    first = write_version(officer.actor, dataset, [make_row(i) for i in range(10)])
    assert current_version(db, dataset.id) == first
    second = write_version(officer.actor, dataset, [make_row(i) for i in range(10, 25)])

    assert current_version(db, dataset.id) == second
    assert (first.status, second.status) == (VersionStatus.SUPERSEDED, VersionStatus.LIVE)
    assert second.number == 2 and second.based_on_id == first.id
    assert db.get(DatasetHead, dataset.id).version_id == second.id  # type: ignore[union-attr]
    # A reader that resolved the old version before the swap still reads the old rows.
    assert rows.count(storage, first) == 10
    assert rows.count(storage, second) == 15
    assert [v.number for v in list_versions(db, dataset.id)] == [2, 1]
    entries = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "dataset_version.publish")
    ).all()
    assert [e.object_id for e in entries][-2:] == [str(first.id), str(second.id)]
    assert entries[-1].changes["previous"] == 1


def test_merging_publish_refuses_a_stale_base_and_deletes_its_files(
    db: Session,
    officer: Person,
    make_dataset: Callable[..., Dataset],
    storage: LocalStorage,
    write_version: Callable[..., DatasetVersion],
) -> None:
    dataset = make_dataset()
    first = write_version(officer.actor, dataset, [make_row(1)])
    write_version(officer.actor, dataset, [make_row(2)])
    before = store_dirs(storage)
    with pytest.raises(Conflict):
        write_version(officer.actor, dataset, [make_row(3)], mode="append", based_on=first)
    assert store_dirs(storage) == before
    assert current_version(db, dataset.id).number == 2  # type: ignore[union-attr]


def test_a_writer_that_raises_leaves_no_files(storage: LocalStorage) -> None:
    with pytest.raises(RuntimeError), VersionWriter(storage, 7, SPECS) as writer:
        writer.write(to_batch([make_row(i) for i in range(10)]))
        writer.extra_file("rejected.csv").write_text("x", encoding="utf-8")
        raise RuntimeError("reader failed")
    assert store_dirs(storage) == set()

    # Also after finish(): committed but never published files go.
    with pytest.raises(RuntimeError), VersionWriter(storage, 7, SPECS) as writer:
        writer.write(to_batch([make_row(1)]))
        writer.finish()
        raise RuntimeError("publish never happened")
    assert store_dirs(storage) == set()

    with pytest.raises(ValueError), VersionWriter(storage, 7, SPECS) as writer:
        writer.write(to_batch([make_row(1)], SPECS[:3]))
    assert store_dirs(storage) == set()


def test_writer_makes_row_groups_and_counts_rows(storage: LocalStorage) -> None:
    import pyarrow.parquet as pq

    with VersionWriter(storage, 3, SPECS[:2]) as writer:
        for start in range(0, 300_000, 70_000):
            n = min(70_000, 300_000 - start)
            writer.write(to_batch([make_row(start + i) for i in range(n)], SPECS[:2]))
        staged = writer.finish()
    meta = pq.ParquetFile(storage.local_path(staged.parquet_key)).metadata
    assert staged.row_count == meta.num_rows == 300_000
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [
        131_072,
        131_072,
        37_856,
    ]
    assert storage.marker(staged.prefix) is not None  # publishing until publish() runs
    storage.delete_prefix(staged.prefix)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_sweep_deletes_dead_writers_and_orphans_and_keeps_live_files(
    db: Session,
    officer: Person,
    make_dataset: Callable[..., Dataset],
    storage: LocalStorage,
    write_version: Callable[..., DatasetVersion],
) -> None:
    dataset = make_dataset()
    live = write_version(officer.actor, dataset, [make_row(i) for i in range(5)])
    old = time.time() - ORPHAN_GRACE_SECONDS - 60
    os.utime(storage.local_path(live.prefix), (old, old))

    dead = storage.staging_dir(dataset.id)  # a writer that died mid-write
    marker = dead.path / MARKER_NAME
    marker.write_text(marker.read_text().replace(f'"pid": {os.getpid()}', f'"pid": {_dead_pid()}'))
    assert storage.marker(dead.prefix).pid != os.getpid()  # type: ignore[union-attr]

    orphan = storage.staging_dir(dataset.id)  # committed, its publish rolled back long ago
    (orphan.path / "data.parquet").write_bytes(b"x")
    storage.release(storage.commit(orphan))
    os.utime(orphan.path, (old, old))

    young = storage.staging_dir(dataset.id)  # committed a moment ago: not yet an orphan
    storage.release(storage.commit(young))
    running = storage.staging_dir(dataset.id)  # this process is still writing it

    report = sweep(db, storage)
    assert report.staging_deleted == [dead.prefix]
    assert report.orphans_deleted == [orphan.prefix]
    assert report.in_progress == 1
    assert store_dirs(storage) == {live.prefix, young.prefix, running.prefix}
    assert rows.count(storage, live) == 5


def test_sweep_keeps_a_published_prefix_whose_publisher_died_before_dropping_its_marker(
    db: Session,
    officer: Person,
    make_dataset: Callable[..., Dataset],
    storage: LocalStorage,
    write_version: Callable[..., DatasetVersion],
) -> None:
    dataset = make_dataset()
    version = write_version(officer.actor, dataset, [make_row(1)])
    directory = storage.local_path(version.prefix)
    (directory / MARKER_NAME).write_text(
        f'{{"state": "publishing", "host": "x", "pid": {_dead_pid()}, '
        '"process_started": 0, "at": 0}',
        encoding="utf-8",
    )
    report = sweep(db, storage)
    assert report.markers_released == [version.prefix]
    assert storage.marker(version.prefix) is None
    assert rows.count(storage, version) == 1


def test_prune_keeps_the_newest_and_the_live_version(
    db: Session,
    officer: Person,
    make_dataset: Callable[..., Dataset],
    storage: LocalStorage,
    write_version: Callable[..., DatasetVersion],
) -> None:
    dataset = make_dataset()
    versions = [write_version(officer.actor, dataset, [make_row(i)], keep=10) for i in range(4)]
    assert prune(db, storage, dataset.id, keep=2) == 2
    statuses = [v.status for v in versions]
    assert statuses == [
        VersionStatus.PRUNED,
        VersionStatus.PRUNED,
        VersionStatus.SUPERSEDED,
        VersionStatus.LIVE,
    ]
    assert store_dirs(storage) == {versions[2].prefix, versions[3].prefix}
    assert prune(db, storage, dataset.id, keep=1) == 1
    assert store_dirs(storage) == {versions[3].prefix}
    assert len(list_versions(db, dataset.id)) == 4  # rows stay for history
    entry = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "dataset_version.prune")
        .order_by(AuditEntry.seq.desc())
    ).first()
    assert entry is not None and entry.changes["pruned"] == [3]

    # Publishing prunes by itself with the retention given.
    fifth = write_version(officer.actor, dataset, [make_row(9)], keep=1)
    assert store_dirs(storage) == {fifth.prefix}


def _publish_in_thread(
    settings: Settings, storage: LocalStorage, dataset_id: int, person: Person, out: list[Any]
) -> None:
    engine = make_engine(settings)
    try:
        with make_session_factory(engine)() as session:
            dataset = session.get(Dataset, dataset_id)
            assert dataset is not None
            with VersionWriter(storage, dataset_id, SPECS) as writer:
                writer.write(to_batch([make_row(i) for i in range(200)]))
                staged = writer.finish()
            version = publish(
                session,
                person.actor,
                dataset,
                staged,
                mode="replace",
                source={"kind": "upload"},
                storage=storage,
            )
            out.append(version.number)
    except BaseException as exc:
        out.append(exc)
    finally:
        engine.dispose()


def test_concurrent_publishes_get_numbers_one_and_two(
    scratch_settings: Settings, storage: LocalStorage
) -> None:
    engine = make_engine(scratch_settings)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            person = seed_officer(session)
            dataset = catalog_service.create_dataset(session, person.actor, dataset_input())
        out: list[Any] = []
        threads = [
            threading.Thread(
                target=_publish_in_thread,
                args=(scratch_settings, storage, dataset.id, person, out),
            )
            for _ in range(2)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(out) == [1, 2], out
        with factory() as session:
            versions = list_versions(session, dataset.id)
            assert [v.status for v in versions] == [VersionStatus.LIVE, VersionStatus.SUPERSEDED]
            assert current_version(session, dataset.id) == versions[0]
            assert session.scalar(select(func.count()).select_from(DatasetHead)) == 1
        assert store_dirs(storage) == {v.prefix for v in versions}
    finally:
        engine.dispose()


def test_get_storage_lives_under_the_data_dir(settings: Settings) -> None:
    storage = get_storage(settings)
    assert isinstance(storage, LocalStorage)
    assert storage.root == settings.data_dir / "store"
    with pytest.raises(ValueError):
        storage.local_path("datasets/../../etc/passwd")


def test_app_and_worker_sweep_at_start(scratch_settings: Settings, monkeypatch: Any) -> None:
    from fastapi.testclient import TestClient

    from gongshu.app import create_app
    from gongshu.jobs import worker

    storage = get_storage(scratch_settings)

    def dead_staging() -> str:
        staging = storage.staging_dir(1)
        marker = staging.path / MARKER_NAME
        marker.write_text(
            marker.read_text().replace(f'"pid": {os.getpid()}', f'"pid": {_dead_pid()}')
        )
        return staging.prefix

    dead_staging()
    with TestClient(create_app(scratch_settings)):
        assert store_dirs(storage) == set()

    dead_staging()
    monkeypatch.setattr(worker, "get_settings", lambda: scratch_settings)
    assert worker.run_worker(once=True) == 0
    assert store_dirs(storage) == set()


def test_sweep_removes_prefixes_that_died_being_born_and_keeps_one_being_born(
    db: Session, make_dataset: Callable[..., Dataset], storage: LocalStorage
) -> None:
    dataset = make_dataset()
    parent = storage.local_path(f"datasets/{dataset.id}")
    unmarked = parent / f"{NEW_PREFIX}killed-before-its-marker"  # a kill right after mkdir
    unmarked.mkdir(parents=True)
    dead = parent / f"{NEW_PREFIX}killed-before-its-rename"
    dead.mkdir()
    (dead / MARKER_NAME).write_text(
        f'{{"state": "writing", "host": "{socket.gethostname()}", "pid": {_dead_pid()}, '
        '"process_started": 0, "at": 0}',
        encoding="utf-8",
    )
    alive = parent / f"{NEW_PREFIX}still-being-born"
    alive.mkdir()
    storage._write_marker(alive, "writing")

    report = sweep(db, storage)

    assert report.trash_emptied == 2
    assert not unmarked.exists() and not dead.exists()
    assert alive.exists()
    # A fresh staging directory appears under its prefix, already marked.
    staging = storage.staging_dir(dataset.id)
    assert storage.marker(staging.prefix) is not None
    assert not any(p.name.startswith(NEW_PREFIX + staging.path.name) for p in parent.iterdir())
