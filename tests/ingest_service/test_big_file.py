"""A 2 GB upload streams: `gongshu ingest` publishes it with resident memory under 512 MiB
(the ingesting process and the serving index loader it starts, together).

It writes 2 GiB of CSV and indexes it, so CI runs it once (marked ``storage_only``): the
memory it measures is the ingesting process's, whatever database holds the metadata.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from sqlalchemy import select

from gongshu.catalog import service as catalog_service
from gongshu.catalog.models import DatasetState
from gongshu.catalog.schemas import FieldIn
from gongshu.db import make_engine, make_session_factory
from gongshu.settings import Settings
from gongshu.store.models import DatasetVersion
from tests.factories import dataset_input, seed_officer
from tests.ingest_service.conftest import code

ROOT = Path(__file__).resolve().parents[2]
TARGET_BYTES = 2 * 1024**3
NOTE_CHARS = 8_000
LIMIT_MIB = 512


def _write_big_csv(path: Path) -> int:
    """Rows of a credit code, a name and an 8,000-character note, until the file is 2 GiB."""
    note = ("临沂市公共数据汇聚测试" * (NOTE_CHARS // 11 + 1))[:NOTE_CHARS]
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("统一社会信用代码,企业名称,备注\n")
        size = 0
        while size < TARGET_BYTES:
            chunk = "".join(f"{code(i)},企业{i},{note}\n" for i in range(rows, rows + 2_000))
            out.write(chunk)
            size += len(chunk.encode("utf-8"))
            rows += 2_000
    return rows


@pytest.mark.storage_only  # memory of the ingestion, not of the database: measured once
def test_a_2_gb_file_is_ingested_in_under_512_mib(cli_settings: Settings, tmp_path: Path) -> None:
    engine = make_engine(cli_settings)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            officer = seed_officer(session)
            fields = [
                FieldIn(
                    name="credit_code",
                    label="统一社会信用代码",
                    is_key=True,
                    required=True,
                    length=18,
                    identifier="credit_code",
                ),
                FieldIn(name="name", label="企业名称", required=True, length=100),
                FieldIn(name="note", label="备注", data_type="text", length=NOTE_CHARS),
            ]
            dataset = catalog_service.create_dataset(
                session, officer.actor, dataset_input(fields=fields)
            )
            dataset.state = DatasetState.PUBLISHED
            session.commit()
            dataset_id, entry = dataset.id, dataset.code
        big = tmp_path / "big.csv"
        rows = _write_big_csv(big)
        assert big.stat().st_size >= TARGET_BYTES
        env = {
            **os.environ,
            "GONGSHU_DATABASE_URL": cli_settings.sqlalchemy_url,
            "GONGSHU_DATA_DIR": str(cli_settings.data_dir),
        }
        log = tmp_path / "ingest.log"  # a file, not a pipe: the progress bar never blocks
        with log.open("wb") as out:
            child = subprocess.Popen(
                [sys.executable, "-m", "gongshu", "ingest", entry, str(big), "--as", "officer1"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        # Sampled from outside: a forked child's ru_maxrss would start from this process's.
        # The ingestion's own children (the serving index loader) count with it. Summed as
        # PSS: the two processes map the same libraries (Python, Arrow), and RSS would count
        # those shared pages twice; the ingesting process alone is held to RSS as well.
        watched = psutil.Process(child.pid)
        peak = 0
        peak_own = 0
        loader_seen = False
        while child.poll() is None:
            with contextlib.suppress(psutil.Error):
                own = watched.memory_full_info()
                total = own.pss
                peak_own = max(peak_own, own.rss)
                for kid in watched.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        total += kid.memory_full_info().pss
                        loader_seen = True
                peak = max(peak, total)
            time.sleep(0.02)
        output = log.read_text(encoding="utf-8", errors="replace")
        assert child.returncode == 0, output
        assert peak / 2**20 < LIMIT_MIB, f"peak resident (PSS, with loader) {peak / 2**20:.0f} MiB"
        assert peak_own / 2**20 < LIMIT_MIB, f"peak RSS {peak_own / 2**20:.0f} MiB"
        assert loader_seen, "a file this size has its serving index loaded by a process"
        with factory() as session:
            version = session.scalars(
                select(DatasetVersion).where(DatasetVersion.dataset_id == dataset_id)
            ).one()
            assert version.row_count == rows
    finally:
        engine.dispose()
