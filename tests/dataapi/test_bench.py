"""bench/data_api.py end to end at a tiny size: both servers answer the same rows, every
Gongshu request is audited, and the last line is the JSON the benchmark promises."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


# Storage only: it runs its own servers on its own SQLite metadata, whatever the suite's.
@pytest.mark.storage_only
def test_the_benchmark_runs_end_to_end() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGSHU_")}
    command = [
        sys.executable,
        str(ROOT / "bench" / "data_api.py"),
        "--rows",
        "5000",
        "--seconds",
        "2",
        "--warmup",
        "0.5",
        "--clients",
        "4",
        "--workers",
        "1",
        "--gate-repeat",
        "20",
        "--sqlite",
    ]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=170, check=False
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    figures = json.loads(lines[-1])
    for key in (
        "ratio_vs_datasette",
        "p99_ms",
        "gongshu_rps",
        "datasette_rps",
        "gate_overhead_ms",
    ):
        assert isinstance(figures[key], int | float), key
    assert figures["same_rows"] is True
    assert figures["gongshu_errors"] == 0 and figures["datasette_errors"] == 0
    assert figures["gongshu_rps"] > 0 and figures["datasette_rps"] > 0
    assert figures["audit_verified"] is True
    # Every page Gongshu served (the load, the checks, the in-process calls) left an entry.
    assert figures["audit_entries"] >= figures["gongshu_requests"]
    assert any("requests/s" in line for line in lines)
