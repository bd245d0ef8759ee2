"""Ingestion of an enterprise registry CSV: pyarrow's raw parse, frictionless, and Gongshu.

Generates a 1,000,000-row (``--five-million``: 5,000,000) enterprise registry with credit
codes, ID numbers, phones, dates and amounts (``bench/_registry.py``; 0.1% of the rows carry
one realistic error), then measures, side by side in one run:

1. ``pyarrow.csv.read_csv`` of the whole file, best of 3: the raw parse, no validation;
2. frictionless validation of the first 100,000 rows (in their own file) against a Table
   Schema of the same columns, types, enumerations, minimums and patterns (credit code,
   ID number, mobile), with the credit code as primary key;
3. Gongshu's full ingestion through ``gongshu.ingest.service.ingest_file`` into a published
   catalog entry whose fields carry the identifier checks, enumerations and ranges: every
   validation, the invalid rows quarantined, the Parquet version written; then, separately,
   the time until the version is live: serving index built and one page of 50 rows read
   through the gate (``gongshu.gate.service.read_page``). Its rows/s is rows read ÷ the
   service's own ``timings["parquet_s"]`` (reading the stored upload to the Parquet file
   written); the live time is wall clock from the ``ingest_file`` call (storing the upload
   included) to the gate's page. It runs in a child process on a scratch SQLite database
   and data directory, so its peak RSS is its own; the serving index loader process the
   ingestion starts (docs/storage.md) is counted with it.

Targets on a 2-core machine: validated Parquet at least 1/4 of pyarrow's raw parse speed
and 15× frictionless; live within 12 s per million rows (CKAN's xloader needs 206 s); peak
memory under 1 GiB at 5 M rows.

Run by hand: ``make bench`` or ``.venv/bin/python bench/ingest.py [--rows N | --five-million]
[--invalid-rate R] [--keep]``. It prints rows/s for each, the ratios and the peak memory; the
last line is one JSON object (``ratio_vs_pyarrow``, ``ratio_vs_frictionless``,
``live_s_per_million``, ``peak_rss_mb`` and more, with each target met or not).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv

# Run as a script, only bench/ is on the path: the repository root makes ``bench`` a package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._registry import BLOCK_ROWS, COLUMNS, write_registry

FRICTIONLESS_ROWS = 100_000
PYARROW_REPEAT = 3
TARGET_VS_PYARROW = 0.25
TARGET_VS_FRICTIONLESS = 15.0
TARGET_LIVE_S_PER_MILLION = 12.0
TARGET_PEAK_RSS_MB = 1024.0
ID_NUMBER_PATTERN = r"^[0-9]{17}[0-9X]$"
MOBILE_PATTERN = r"^1[3-9][0-9]{9}$"


def log(message: str) -> None:
    print(message, flush=True)


def rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else float("inf")


# --- 1. pyarrow -------------------------------------------------------------------------------


def measure_pyarrow(path: Path) -> dict[str, Any]:
    """``read_csv`` of the whole file with pyarrow's defaults (type inference, all cores)."""
    times = []
    rows = 0
    for _ in range(PYARROW_REPEAT):
        started = time.perf_counter()
        table = pacsv.read_csv(path)
        times.append(time.perf_counter() - started)
        rows = table.num_rows
        del table
    best = min(times)
    return {"rows": rows, "seconds": round(best, 3), "rows_per_s": rate(rows, best)}


# --- 2. frictionless --------------------------------------------------------------------------


def frictionless_schema() -> dict[str, Any]:
    """A Table Schema with the catalog fields' types and rules, as far as it can say them.

    It has no check characters: the patterns only check the shape of credit codes, ID
    numbers and mobile numbers.
    """
    types = {"string": "string", "decimal": "number", "date": "date", "datetime": "datetime"}
    patterns = {"legal_rep_id": ID_NUMBER_PATTERN, "phone": MOBILE_PATTERN}
    fields = []
    for column in COLUMNS:
        field: dict[str, Any] = {"name": column.label, "type": types[column.data_type]}
        if column.data_type == "datetime":
            field["format"] = "%Y-%m-%d %H:%M:%S"
        constraints: dict[str, Any] = {}
        if column.required:
            constraints["required"] = True
        if column.choices:
            constraints["enum"] = list(column.choices)
        pattern = column.pattern or patterns.get(column.name)
        if pattern:
            constraints["pattern"] = pattern
        if column.minimum is not None:
            constraints["minimum"] = (
                float(column.minimum) if column.data_type == "decimal" else column.minimum
            )
        if constraints:
            field["constraints"] = constraints
        fields.append(field)
    key = [c.label for c in COLUMNS if c.is_key]
    return {"fields": fields, "primaryKey": key}


def measure_frictionless(path: Path) -> dict[str, Any]:
    from frictionless import Resource, Schema

    schema = Schema.from_descriptor(frictionless_schema())
    started = time.perf_counter()
    # frictionless refuses absolute paths unless they sit under the resource's basepath.
    resource_ = Resource(path.name, basepath=str(path.parent), schema=schema)
    report = resource_.validate(limit_errors=10_000_000)
    seconds = time.perf_counter() - started
    task = report.tasks[0]
    rows = int(task.stats["rows"])
    failed = {e[0] for e in report.flatten(["rowNumber"]) if e[0] is not None}
    if rows == 0 or any(e[0] == "resource-error" for e in report.flatten(["type"])):
        raise RuntimeError(
            f"frictionless did not validate the slice: {report.flatten(['message'])}"
        )
    return {
        "rows": rows,
        "seconds": round(seconds, 3),
        "rows_per_s": rate(rows, seconds),
        "errors": int(task.stats["errors"]),
        "rows_with_errors": len(failed),
    }


# --- 3. Gongshu (in a child process) ----------------------------------------------------------


def measure_gongshu(path: Path, workdir: Path) -> dict[str, Any]:
    """Run the ingestion in a child process on a scratch database; it reports its own peak
    resident set, sampled every 20 ms from its start to its end."""
    result_path = workdir / "gongshu-result.json"
    env = dict(os.environ)
    env["GONGSHU_DATABASE_URL"] = f"sqlite:///{workdir / 'gongshu.db'}"
    env["GONGSHU_DATA_DIR"] = str(workdir / "data")
    command = [sys.executable, __file__, "--child", str(path), "--result", str(result_path)]
    completed = subprocess.run(command, env=env, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"the Gongshu ingestion failed (exit {completed.returncode})")
    out: dict[str, Any] = json.loads(result_path.read_text())
    # The child samples its own resident set: ru_maxrss of a forked child starts from the
    # parent's (which holds pyarrow's whole parsed table by then), so it over-reports.
    out["peak_rss_mb"] = out["sampled_peak_rss_mb"]
    return out


def published_entry(session: Any) -> tuple[Any, Any]:
    """On a migrated, empty database: the city, its market supervision bureau, an officer
    and a bureau admin, and the registry's catalog entry, published; (entry, officer)."""
    from gongshu.auth import service as auth_service
    from gongshu.auth.actor import Actor
    from gongshu.auth.models import Role
    from gongshu.auth.schemas import UserCreate
    from gongshu.catalog import service as catalog_service
    from gongshu.catalog import workflow
    from gongshu.catalog.schemas import DatasetCreate, FieldIn
    from gongshu.identifiers import make_credit_code
    from gongshu.orgs import service as orgs_service
    from gongshu.orgs.models import AgencyKind, RegionLevel
    from gongshu.orgs.schemas import AgencyCreate, RegionCreate

    system = Actor.system("bench")
    password = "Bench-Ingest-2026"

    city = orgs_service.create_region(
        session, system, RegionCreate(code="371300", name="临沂市", level=RegionLevel.CITY)
    )
    agency = orgs_service.create_agency(
        session,
        system,
        AgencyCreate(
            name="临沂市市场监督管理局",
            credit_code=make_credit_code("11371300MB0000001"),
            region_id=city.id,
            kind=AgencyKind.GOVERNMENT,
        ),
    )

    def person(username: str, name: str, role: Role, agency_id: int | None) -> Actor:
        user = auth_service.create_user(
            session,
            system,
            UserCreate(
                username=username,
                display_name=name,
                password=password,
                agency_id=agency_id,
                region_id=city.id,
                roles=[role],
            ),
        )
        return auth_service.actor_for_user(user)

    officer = person("scj_officer", "王专管", Role.AGENCY_OFFICER, agency.id)
    admin = person("bureau", "李审核", Role.BUREAU_ADMIN, None)
    fields = [
        FieldIn(
            name=c.name,
            label=c.label,
            data_type=c.data_type,
            length=c.length,
            is_key=c.is_key,
            required=c.required,
            filterable=c.filterable,
            sensitivity=c.sensitivity,
            identifier=c.identifier or "",
            choices=list(c.choices),
            min_value=c.minimum,
            max_value=c.maximum,
            pattern=c.pattern,
        )
        for c in COLUMNS
    ]
    dataset = catalog_service.create_dataset(
        session,
        officer,
        DatasetCreate(
            title="市场主体登记信息",
            description="全市企业、个体工商户和农民专业合作社的登记信息",
            category_class="base",
            item_code="02",
            domain="市场监管",
            share_type="conditional",
            legal_basis="《中华人民共和国市场主体登记管理条例》",
            open_type="conditional",
            open_conditions="经审核同意后开放",
            level="general_2",
            update_cycle="daily",
            fields=fields,
        ),
    )
    workflow.submit(session, officer, dataset.id)
    workflow.approve(session, admin, dataset.id)
    dataset = workflow.publish(session, admin, dataset.id)
    log(f"   catalog entry {dataset.code} published with {len(fields)} fields")

    return dataset, officer


def child(path: Path, result_path: Path) -> None:
    """The child process: the environment names a scratch database; set it up, ingest, read."""
    import threading

    import psutil

    from gongshu import migrate
    from gongshu.db import make_engine, make_session_factory
    from gongshu.ingest.models import InvalidPolicy
    from gongshu.ingest.service import IngestResult, ingest_file
    from gongshu.settings import get_settings

    peak = [0, 0, 0]  # the process with its children, the process alone, the children
    done = threading.Event()

    def sample() -> None:
        # The serving index is loaded by a child process: its memory counts too.
        process = psutil.Process()
        while not done.is_set():
            own = process.memory_info().rss
            children = 0
            for kid in process.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    children += kid.memory_info().rss
            peak[0] = max(peak[0], own + children)
            peak[1] = max(peak[1], own)
            peak[2] = max(peak[2], children)
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings)
    engine = make_engine(settings)
    session = make_session_factory(engine)()
    dataset, officer = published_entry(session)

    started = time.perf_counter()
    result: IngestResult = ingest_file(
        session,
        officer,
        dataset,
        path,
        name="registry.csv",
        on_invalid=InvalidPolicy.QUARANTINE,
    )
    ingested = time.perf_counter()
    if result.version is None:
        raise RuntimeError(f"nothing was published: {result.ingestion.status}")
    gate_rows = _read_through_gate(session, officer, dataset)
    live = time.perf_counter()
    out = {
        "rows_read": result.rows_read,
        "rows_valid": result.rows_valid,
        "rows_rejected": result.rows_rejected,
        "warnings": result.warnings,
        "timings": {k: round(v, 3) for k, v in result.timings.items()},
        "parquet_s": result.timings["parquet_s"],
        "ingest_call_s": ingested - started,
        "gate_read_s": live - ingested,
        "live_s": live - started,
        "gate_rows": gate_rows,
        "self_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    done.set()
    sampler.join()
    out["sampled_peak_rss_mb"] = peak[0] / 2**20
    out["sampled_peak_rss_own_mb"] = peak[1] / 2**20
    out["sampled_peak_rss_children_mb"] = peak[2] / 2**20
    session.close()
    engine.dispose()
    result_path.write_text(json.dumps(out))


def _read_through_gate(session: Any, actor: Any, dataset: Any) -> int:
    """One page of 50 rows through the gate, as the data API would read it; its row count."""
    from gongshu.gate.service import read_page

    # The gate commits its audit entry itself, before the rows leave.
    page = read_page(session, actor, dataset, purpose="bench", limit=50)
    return len(page.rows)


# --- the run ----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to generate")
    parser.add_argument("--five-million", action="store_true", help="5,000,000 rows")
    parser.add_argument(
        "--invalid-rate", type=float, default=0.001, help="share of rows with one error"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.result)
        return
    rows = 5_000_000 if args.five_million else args.rows
    if rows < 1:
        parser.error("--rows must be positive")

    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="gongshu-bench-ingest-"))
    try:
        out = run(workdir, rows, args.invalid_rate)
    finally:
        if args.keep:
            log(f"   kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    out["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out, ensure_ascii=False))


def run(workdir: Path, rows: int, invalid_rate: float) -> dict[str, Any]:
    log(f"== generating {rows:,} registry rows (invalid rate {invalid_rate})")
    registry = write_registry(workdir / "registry.csv", rows, invalid_rate=invalid_rate)
    log(
        f"   {registry.bytes / 2**20:,.0f} MiB, {registry.invalid_rows:,} invalid rows, "
        f"{registry.seconds:.1f} s"
    )
    # The same seed and rate: the slice is the first rows of the big file, byte for byte.
    slice_rows = min(FRICTIONLESS_ROWS, rows)
    sliced = write_registry(workdir / "slice.csv", slice_rows, invalid_rate=invalid_rate)

    log(f"== pyarrow read_csv, best of {PYARROW_REPEAT}")
    arrow = measure_pyarrow(registry.path)
    log(f"   {arrow['seconds']:.2f} s, {arrow['rows_per_s']:,.0f} rows/s")

    log(f"== frictionless validate, first {slice_rows:,} rows")
    fl = measure_frictionless(sliced.path)
    log(
        f"   {fl['seconds']:.2f} s, {fl['rows_per_s']:,.0f} rows/s, "
        f"{fl['rows_with_errors']} rows with errors (generator: {sliced.invalid_rows})"
    )

    log("== Gongshu ingest_file (child process)")
    gs = measure_gongshu(registry.path, workdir)
    gongshu_rate = rate(gs["rows_read"], gs["parquet_s"])
    live_per_million = gs["live_s"] / (rows / 1_000_000)
    log(
        f"   read {gs['rows_read']:,}, valid {gs['rows_valid']:,}, rejected "
        f"{gs['rows_rejected']:,} (generator: {registry.invalid_rows:,}); timings {gs['timings']}"
    )

    ratio_arrow = gongshu_rate / arrow["rows_per_s"]
    ratio_fl = gongshu_rate / fl["rows_per_s"]
    met = {
        "met_vs_pyarrow": ratio_arrow >= TARGET_VS_PYARROW,
        "met_vs_frictionless": ratio_fl >= TARGET_VS_FRICTIONLESS,
        "met_live": live_per_million <= TARGET_LIVE_S_PER_MILLION,
        "met_peak_rss": gs["peak_rss_mb"] < TARGET_PEAK_RSS_MB,
    }
    table = [
        ("pyarrow read_csv (raw parse)", arrow["rows"], arrow["seconds"], arrow["rows_per_s"]),
        ("frictionless validate", fl["rows"], fl["seconds"], fl["rows_per_s"]),
        ("Gongshu validated Parquet", gs["rows_read"], gs["parquet_s"], gongshu_rate),
        ("Gongshu live (index + gate)", gs["rows_read"], gs["live_s"], rate(rows, gs["live_s"])),
    ]
    log("")
    log(f"   {'':32} {'rows':>10} {'seconds':>9} {'rows/s':>12}")
    for name, n, seconds, per_s in table:
        log(f"   {name:32} {n:>10,} {seconds:>9.2f} {per_s:>12,.0f}")
    log("")
    log(f"   Gongshu ÷ pyarrow       {ratio_arrow:8.3f}   target ≥ {TARGET_VS_PYARROW}")
    log(f"   Gongshu ÷ frictionless  {ratio_fl:8.1f}   target ≥ {TARGET_VS_FRICTIONLESS:.0f}")
    log(
        f"   live s per million      {live_per_million:8.2f}   target ≤ "
        f"{TARGET_LIVE_S_PER_MILLION:.0f} (CKAN xloader: 206)"
    )
    log(
        f"   peak RSS (Gongshu)      {gs['peak_rss_mb']:8.0f}   MB (with the index loader "
        f"process), target < "
        f"{TARGET_PEAK_RSS_MB:.0f} at 5 M rows"
    )
    log("   " + ", ".join(f"{k}={v}" for k, v in met.items()))
    return {
        "rows": rows,
        "invalid_rows": registry.invalid_rows,
        "file_mib": round(registry.bytes / 2**20, 1),
        "generate_s": round(registry.seconds, 2),
        "pyarrow_rows_per_s": round(arrow["rows_per_s"]),
        "pyarrow_s": arrow["seconds"],
        "frictionless_rows": fl["rows"],
        "frictionless_rows_per_s": round(fl["rows_per_s"]),
        "frictionless_s": fl["seconds"],
        "gongshu_rows_per_s": round(gongshu_rate),
        "gongshu_parquet_s": round(gs["parquet_s"], 3),
        "gongshu_live_s": round(gs["live_s"], 3),
        "gongshu_ingest_call_s": round(gs["ingest_call_s"], 3),
        "gongshu_gate_read_s": round(gs["gate_read_s"], 3),
        "gongshu_timings": gs["timings"],
        "rows_read": gs["rows_read"],
        "rows_valid": gs["rows_valid"],
        "rows_rejected": gs["rows_rejected"],
        "rows_rejected_as_generated": gs["rows_rejected"] == registry.invalid_rows,
        "gate_rows": gs["gate_rows"],
        "ratio_vs_pyarrow": round(ratio_arrow, 3),
        "ratio_vs_frictionless": round(ratio_fl, 1),
        "live_s_per_million": round(live_per_million, 2),
        "peak_rss_mb": round(gs["peak_rss_mb"], 1),
        "peak_rss_ingesting_process_mb": round(gs["sampled_peak_rss_own_mb"], 1),
        "peak_rss_index_loader_mb": round(gs["sampled_peak_rss_children_mb"], 1),
        **met,
        "block_rows": BLOCK_ROWS,
    }


if __name__ == "__main__":
    main()
