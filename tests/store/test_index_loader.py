"""The serving index of a large version is loaded by a process of its own, exactly as a small
one is loaded in process; a failed or orphaned loader never leaves a version behind."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
from sqlalchemy.orm import Session

from gongshu.catalog.models import Dataset, FieldType
from gongshu.store import rows, serving, versions
from gongshu.store.models import DatasetVersion
from gongshu.store.storage import LocalStorage
from gongshu.store.versions import VersionWriter
from tests.factories import Person
from tests.store.conftest import SPECS, make_row, store_dirs, to_batch

ROOT = Path(__file__).resolve().parents[2]


def _index_dump(path: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every row of an index file in position order, and its schema (tables, indexes)."""
    conn = sqlite3.connect(path)
    try:
        table = conn.execute("SELECT * FROM rows ORDER BY _pos").fetchall()
        schema = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
    finally:
        conn.close()
    return table, schema


@pytest.fixture
def loaders(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Small thresholds, so that a few hundred rows go to a loader process in several row
    groups; the list collects the loader processes started."""
    started: list[Any] = []
    original = serving._LoaderProcess

    class Recorded(original):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            started.append(self)

    monkeypatch.setattr(serving, "_LoaderProcess", Recorded)
    monkeypatch.setattr(serving, "IN_PROCESS_ROWS", 150)
    monkeypatch.setattr(versions, "ROW_GROUP_ROWS", 128)
    return started


def test_stored_type_names_are_the_catalog_field_types() -> None:
    names = {v for k, v in vars(serving.StoredType).items() if not k.startswith("_")}
    assert names == {str(t) for t in FieldType}


def test_a_loader_process_builds_the_same_index_as_the_process_itself(
    db: Session,
    officer: Person,
    make_dataset: Callable[..., Dataset],
    storage: LocalStorage,
    write_version: Callable[..., DatasetVersion],
    loaders: list[Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    dataset = make_dataset()
    data = [make_row(i) for i in range(1000)]
    data[3]["note"] = "多行\n备注"
    big = write_version(officer.actor, dataset, data)
    assert len(loaders) == 1  # one process, fed eight row groups
    assert loaders[0]._process.returncode == 0

    monkeypatch.setattr(serving, "IN_PROCESS_ROWS", 10**9)
    small = write_version(officer.actor, dataset, data)
    assert len(loaders) == 1

    by_process = _index_dump(storage.local_path(big.prefix + "index.sqlite"))
    in_process = _index_dump(storage.local_path(small.prefix + "index.sqlite"))
    assert by_process == in_process
    assert len(by_process[0]) == 1000 and by_process[0][999][0] == 999
    assert {name for kind, name, _ in by_process[1] if kind == "index"} == {
        name for name, _ in serving.index_plan(big.schema)
    }
    # The spool and nothing else of the loader stays beside the version's files.
    names = {p.name for p in storage.local_path(big.prefix).iterdir()}
    assert names == {"data.parquet", "index.sqlite"}
    assert rows.count(storage, big) == 1000
    page, _ = rows.page(storage, big, columns=["credit_code", "note", "_row"], limit=5)
    assert page[3] == {"credit_code": data[3]["credit_code"], "note": "多行\n备注", "_row": 5}


def test_a_loader_that_dies_fails_the_write_and_leaves_nothing(
    make_dataset: Callable[..., Dataset],
    storage: LocalStorage,
    loaders: list[Any],
) -> None:
    dataset = make_dataset()
    writer = VersionWriter(storage, dataset.id, SPECS)
    with pytest.raises(serving.IndexBuildFailed), writer:
        for start in range(0, 1000, 100):
            writer.write(to_batch([make_row(i) for i in range(start, start + 100)]))
        writer.close_parquet()
        [loader] = loaders
        loader._process.kill()
        loader._process.wait()
        writer.finish()
    assert store_dirs(storage) == set()


def test_an_abandoned_load_stops_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serving, "ABANDON_CHECK_STEPS", 1000)
    calls: list[bool] = []

    def abandoned() -> bool:
        calls.append(True)
        return len(calls) > 3

    loader = serving._Loader(tmp_path / "index.sqlite", serving.schema_of(SPECS), abandoned)
    try:
        with pytest.raises(sqlite3.OperationalError, match="interrupt"):
            loader.insert(to_batch([make_row(i) for i in range(2000)]))
    finally:
        loader.close()
    assert len(calls) == 4


_ORPHAN_SCRIPT = """
import sys, time
from pathlib import Path
from gongshu.store import serving
from tests.store.conftest import SPECS, make_row, to_batch

serving.IN_PROCESS_ROWS = 10
builder = serving.IndexBuilder(Path(sys.argv[1]), serving.schema_of(SPECS))
builder.add(to_batch([make_row(i) for i in range(50)]))
print(builder._process._process.pid, flush=True)
time.sleep(60)
"""


def test_the_loader_stops_when_its_parent_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _ORPHAN_SCRIPT, str(tmp_path / "index.sqlite")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        loader = psutil.Process(int(parent.stdout.readline()))
        assert loader.ppid() == parent.pid and loader.is_running()
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if loader.status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.05)
        else:
            loader.kill()
            pytest.fail("the loader outlived its parent")
    finally:
        if parent.poll() is None:
            parent.kill()
        if parent.stdout is not None:
            parent.stdout.close()


def test_a_loader_error_is_reported_with_its_message(tmp_path: Path) -> None:
    loader = serving._LoaderProcess(tmp_path / "index.sqlite", [{"name": "x", "type": "nope"}])
    with pytest.raises(serving.IndexBuildFailed, match="KeyError: 'nope'"):
        loader.finish()
    assert not loader.spool_path.exists()
