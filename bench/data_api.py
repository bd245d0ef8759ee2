"""The data API at 5,000,000 rows: Gongshu's rows endpoint through the gate, against datasette.

Builds one registry of market entities (``bench/_dataapi_rows.py``: key, district, industry,
registration date, amount, name, head count) twice from the same Arrow batches: as a Gongshu
version (``VersionWriter`` → Parquet + serving index, published on a catalog entry) and as
the SQLite file datasette serves, with the same rows and the same single-column indexes
(the key and each filterable field) and the same statistics (``ANALYZE``). Then, on
loopback, in one run:

1. Gongshu: ``bench/_serve.py`` (uvicorn workers on one ``TCP_NODELAY`` socket) with
   production settings, the metadata database on PostgreSQL (``--sqlite`` for SQLite) and
   the audit chain on: every request is one ``data.read`` entry, committed before the rows
   leave. The reader is another agency's information system (an API key of that agency)
   reading under an unconditional grant — the data API's everyday caller.
2. datasette 0.65 serving the SQLite file (immutable, default settings: 1 s time limit,
   its filtered count on every page), ``_nosuggest=1``.
3. A separate client process (``bench/_loadgen.py``) drives 16 concurrent keep-alive
   clients through the same query on each in turn — district = 兰山区 and registration date
   ≥ 2015-01-01, sorted by date, 50 rows a page, following each answer's ``next_url`` for
   20 pages — and reports requests/s and p50/p99.

It also times the gate's own cost in this process: ``gate.read_page`` (policy, grant,
masking, audit entry committed) against the bare serving-index query ``store.rows.page``
with the same filter, sort, page size and cursors (``gate_overhead_ms``: the difference of
the medians), and checks that both servers return the same rows and that every Gongshu
request left its audit entry.

Targets: at least 3× datasette's requests/s, p99 ≤ 100 ms, gate overhead ≤ 1 ms.

Run by hand: ``.venv/bin/python bench/data_api.py [--rows N] [--seconds S] [--workers W]
[--sqlite] [--keep | --reuse DIR]`` (``GONGSHU_BENCH_ROWS`` sets the default size;
``--rows 20000`` runs in well under a minute; ``--keep`` keeps the data, ``--reuse DIR``
measures it again without rebuilding). The last line is one JSON object with
``ratio_vs_datasette``, ``p99_ms``, ``gongshu_rps``, ``datasette_rps``, ``gate_overhead_ms``
and more.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

# Run as a script, only bench/ is on the path: the repository root makes ``bench`` a package.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._dataapi_rows import SPECS, TABLE, DatasetteFile, batches  # noqa: E402

TARGET_RATIO = 3.0
TARGET_P99_MS = 100.0
TARGET_GATE_MS = 1.0
DEFAULT_ROWS = int(os.environ.get("GONGSHU_BENCH_ROWS", "5000000"))
PG_URL = os.environ.get(
    "GONGSHU_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/gongshu_bench_dataapi"
)
DISTRICT = "兰山区"
SINCE = "2015-01-01"
PURPOSE = "企业登记数据核验"


def log(message: str) -> None:
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the scratch platform ------------------------------------------------------------------


def scratch_env(workdir: Path, sqlite: bool) -> dict[str, str]:
    """Production settings for a scratch database and data directory."""
    env = dict(os.environ)
    env.update(
        GONGSHU_ENV="production",
        GONGSHU_SECRET_KEY=secrets.token_urlsafe(48),
        GONGSHU_MASKING_KEY=secrets.token_urlsafe(48),
        GONGSHU_DATA_DIR=str(workdir / "data"),
        GONGSHU_DATABASE_URL=f"sqlite:///{workdir / 'gongshu.db'}" if sqlite else PG_URL,
        GONGSHU_EMBEDDED_WORKER="false",
        # The servers run this checkout's code, whatever the environment has installed.
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        # The benchmark measures throughput: one client is allowed as many requests as it
        # can send (the limiter still runs on every request).
        GONGSHU_DATA_API_RATE_PER_MINUTE="100000000",
        GONGSHU_DATA_API_BURST="100000000",
    )
    return env


@contextmanager
def postgres_database(url: str, *, keep: bool = False) -> Any:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    name = parsed.database
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def seed(session: Any, open_type: str = "none") -> dict[str, Any]:
    """The city, the provider (market supervision) and a using agency (tax), their people,
    the published entry (opened to the public as ``open_type`` says), an unconditional grant
    to the user agency and its system's key."""
    from gongshu.auth import service as auth_service
    from gongshu.auth.actor import Actor
    from gongshu.auth.models import Role
    from gongshu.auth.schemas import ApiKeyCreate, UserCreate
    from gongshu.catalog import service as catalog_service
    from gongshu.catalog import workflow
    from gongshu.catalog.schemas import DatasetCreate, FieldIn
    from gongshu.db import unit_of_work
    from gongshu.identifiers import make_credit_code
    from gongshu.orgs import service as orgs_service
    from gongshu.orgs.models import AgencyKind, RegionLevel
    from gongshu.orgs.schemas import AgencyCreate, RegionCreate
    from gongshu.share.issuing import issue_grant
    from gongshu.share.models import GrantKind

    system = Actor.system("bench")
    city = orgs_service.create_region(
        session, system, RegionCreate(code="371300", name="临沂市", level=RegionLevel.CITY)
    )

    def agency(name: str, n: int) -> Any:
        return orgs_service.create_agency(
            session,
            system,
            AgencyCreate(
                name=name,
                credit_code=make_credit_code(f"11371300MB{n:07d}"),
                region_id=city.id,
                kind=AgencyKind.GOVERNMENT,
            ),
        )

    provider = agency("临沂市市场监督管理局", 1)
    user_agency = agency("临沂市税务局", 2)

    def person(username: str, role: Role, agency_id: int | None) -> Any:
        user = auth_service.create_user(
            session,
            system,
            UserCreate(
                username=username,
                display_name=username,
                password="Bench-DataApi-2026",
                agency_id=agency_id,
                region_id=city.id,
                roles=[role],
            ),
        )
        return auth_service.actor_for_user(user)

    officer = person("scj_officer", Role.AGENCY_OFFICER, provider.id)
    admin = person("bureau", Role.BUREAU_ADMIN, None)
    tax_officer = person("tax_officer", Role.AGENCY_OFFICER, user_agency.id)
    dataset = catalog_service.create_dataset(
        session,
        officer,
        DatasetCreate(
            title="市场主体登记信息（基准）",
            description="全市市场主体的登记信息",
            category_class="base",
            item_code="02",
            domain="市场监管",
            share_type="unconditional",
            open_type=open_type,
            legal_basis="《中华人民共和国市场主体登记管理条例》",
            level="general_1",
            update_cycle="daily",
            fields=[
                FieldIn(
                    name=s.name,
                    label=s.label,
                    data_type=str(s.data_type),
                    length=s.length,
                    is_key=s.is_key,
                    required=s.required,
                    filterable=s.filterable,
                )
                for s in SPECS
            ],
        ),
    )
    workflow.submit(session, officer, dataset.id)
    workflow.approve(session, admin, dataset.id)
    dataset = workflow.publish(session, admin, dataset.id)
    with unit_of_work(session):
        grant = issue_grant(
            session,
            admin,
            dataset=dataset,
            agency_id=user_agency.id,
            kind=GrantKind.UNCONDITIONAL,
            purpose=PURPOSE,
        )
    _key, secret = auth_service.create_api_key(
        session, tax_officer, ApiKeyCreate(name="征管系统", owner_agency_id=user_agency.id)
    )
    return {"dataset": dataset, "officer": officer, "grant": grant, "key": secret}


def build(env: dict[str, str], workdir: Path, rows: int, open_type: str = "none") -> dict[str, Any]:
    """Migrate, seed, write both copies of the rows; returns what the run needs."""
    os.environ.update({k: v for k, v in env.items() if k.startswith("GONGSHU_")})
    from gongshu import migrate
    from gongshu.db import make_engine, make_session_factory
    from gongshu.settings import get_settings
    from gongshu.store.storage import get_storage
    from gongshu.store.versions import VersionWriter, publish

    get_settings.cache_clear()
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings)
    engine = make_engine(settings)
    session = make_session_factory(engine)()
    seeded = seed(session, open_type)
    dataset = seeded["dataset"]
    log(f"   catalog entry {dataset.code}, grant to 临沂市税务局, API key issued")
    storage = get_storage(settings)
    sqlite_path = workdir / "data.db"
    copy = DatasetteFile(sqlite_path)
    started = time.perf_counter()
    with VersionWriter(storage, dataset.id, SPECS) as writer:
        for batch in batches(rows):
            writer.write(batch)
            copy.add(batch)
        staged = writer.finish()
    version = publish(
        session,
        seeded["officer"],
        dataset,
        staged,
        mode="replace",
        source={"kind": "bench", "file_name": "registrations"},
        storage=storage,
    )
    copy.finish()
    log(
        f"   {rows:,} rows: Gongshu version {version.number} "
        f"({storage.local_path(version.index_key).stat().st_size / 2**20:,.0f} MiB index) and "
        f"datasette's file ({sqlite_path.stat().st_size / 2**20:,.0f} MiB), "
        f"{time.perf_counter() - started:.1f} s"
    )
    # What a later ``--reuse`` needs: the same settings (the API key is an HMAC under the
    # secret key), the entry and the key.
    saved = {
        "rows": rows,
        "env": {k: v for k, v in env.items() if k.startswith("GONGSHU_") or k == "PYTHONPATH"},
        "dataset_id": dataset.id,
        "key": seeded["key"],
    }
    (workdir / "bench.json").write_text(json.dumps(saved))
    return {
        "session": session,
        "engine": engine,
        "dataset": dataset,
        "version": version,
        "storage": storage,
        "key": seeded["key"],
        "sqlite": sqlite_path,
    }


def reopen(workdir: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """The environment and the built data of a run kept with ``--keep``."""
    saved = json.loads((workdir / "bench.json").read_text())
    env = dict(os.environ)
    env.update(saved["env"])
    os.environ.update({k: v for k, v in saved["env"].items() if k.startswith("GONGSHU_")})
    from gongshu.catalog.models import Dataset
    from gongshu.db import make_engine, make_session_factory
    from gongshu.settings import get_settings
    from gongshu.store.storage import get_storage
    from gongshu.store.versions import current_version

    get_settings.cache_clear()
    settings = get_settings()
    engine = make_engine(settings)
    session = make_session_factory(engine)()
    dataset = session.get(Dataset, saved["dataset_id"])
    version = current_version(session, saved["dataset_id"])
    assert dataset is not None and version is not None
    log(f"   reusing {workdir}: {saved['rows']:,} rows, entry {dataset.code}")
    return env, {
        "session": session,
        "engine": engine,
        "dataset": dataset,
        "version": version,
        "storage": get_storage(settings),
        "key": saved["key"],
        "sqlite": workdir / "data.db",
        "rows": saved["rows"],
    }


# --- the gate's own cost -------------------------------------------------------------------


def gate_overhead(built: dict[str, Any], limit: int, repeat: int, budget: float) -> dict[str, Any]:
    """Median time of ``gate.read_page`` and of the bare ``rows.page`` it wraps, same query,
    same cursors, interleaved; the difference is what the gate adds per request. Also the
    policy alone (``gate.check_read``: grants and masking rules, no audit). Stops after
    ``repeat`` rounds or ``budget`` seconds, whichever comes first (at least 20 rounds)."""
    from gongshu.auth import service as auth_service
    from gongshu.gate import service as gate
    from gongshu.gate.filters import Filter, check
    from gongshu.store import rows as store_rows

    session, dataset, version = built["session"], built["dataset"], built["version"]
    storage = built["storage"]
    actor = auth_service.actor_for_api_key(session, built["key"])
    assert actor is not None
    asked = [Filter("district", "eq", DISTRICT), Filter("reg_date", "ge", SINCE)]
    typed = list(check(asked, version.schema))
    order = ["reg_date"]
    gated: list[float] = []
    bare: list[float] = []
    policy: list[float] = []
    cursor_gate: str | None = None
    cursor_bare: str | None = None
    deadline = time.monotonic() + budget
    for i in range(repeat):
        if i >= 20 and time.monotonic() > deadline:
            break
        if i % 20 == 0:
            cursor_gate = cursor_bare = None
        started = time.perf_counter()
        page = gate.read_page(
            session,
            actor,
            dataset,
            purpose=PURPOSE,
            filters=asked,
            order_by=order,
            after=cursor_gate,
            limit=limit,
            storage=storage,
        )
        gated.append(time.perf_counter() - started)
        cursor_gate = page.next_cursor
        started = time.perf_counter()
        _found, cursor_bare = store_rows.page(
            storage,
            version,
            filters=typed,
            order_by=order,
            after=cursor_bare,
            limit=limit,
        )
        bare.append(time.perf_counter() - started)
        started = time.perf_counter()
        gate.check_read(session, actor, dataset)
        session.commit()  # ends the policy's read transaction (nothing written, nothing expired)
        policy.append(time.perf_counter() - started)
    gate_ms = statistics.median(gated) * 1000
    bare_ms = statistics.median(bare) * 1000
    return {
        "gate_read_page_ms": round(gate_ms, 3),
        "bare_page_ms": round(bare_ms, 3),
        "gate_overhead_ms": round(gate_ms - bare_ms, 3),
        "gate_policy_ms": round(statistics.median(policy) * 1000, 3),
        "repeat": len(gated),
    }


# --- the servers ---------------------------------------------------------------------------


def wait_ready(url: str, headers: dict[str, str], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(request, timeout=30) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = str(exc)
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer: {last}")


def get_json(url: str, headers: dict[str, str]) -> Any:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as r:
        return json.loads(r.read())


@contextmanager
def process(command: list[str], env: dict[str, str], log_path: Path) -> Any:
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


def drive(url: str, headers: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        str(ROOT / "bench" / "_loadgen.py"),
        "--url",
        url,
        "--clients",
        str(args.clients),
        "--seconds",
        str(args.seconds),
        "--warmup",
        str(args.warmup),
        "--pages",
        "20",
    ]
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- the run -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows in the dataset")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per server")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds first")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--limit", type=int, default=50, help="rows per page")
    parser.add_argument("--workers", type=int, default=2, help="Gongshu server processes")
    parser.add_argument("--gate-repeat", type=int, default=400, help="in-process gate calls")
    parser.add_argument(
        "--gate-seconds", type=float, default=30.0, help="time budget of the in-process calls"
    )
    parser.add_argument("--sqlite", action="store_true", help="metadata on SQLite, not PG")
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch directory (and database)"
    )
    parser.add_argument(
        "--reuse", type=Path, help="measure again the data of a run kept with --keep"
    )
    args = parser.parse_args()
    if args.rows < 1000:
        parser.error("--rows must be at least 1000")
    started = time.perf_counter()
    if args.reuse is not None:
        env, built = reopen(args.reuse)
        args.rows = built["rows"]
        args.sqlite = env["GONGSHU_DATABASE_URL"].startswith("sqlite")
        out = run(args.reuse, env, args, built)
        out["seconds"] = round(time.perf_counter() - started, 1)
        print(json.dumps(out, ensure_ascii=False))
        return
    workdir = Path(tempfile.mkdtemp(prefix="gongshu-bench-dataapi-"))
    env = scratch_env(workdir, args.sqlite)
    try:
        if args.sqlite:
            out = run(workdir, env, args)
        else:
            with postgres_database(PG_URL, keep=args.keep):
                out = run(workdir, env, args)
    finally:
        if args.keep:
            log(f"   kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    out["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out, ensure_ascii=False))


def run(
    workdir: Path,
    env: dict[str, str],
    args: argparse.Namespace,
    built: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if built is None:
        kind = "SQLite" if args.sqlite else "PostgreSQL"
        log(f"== building {args.rows:,} rows ({kind} metadata)")
        built = build(env, workdir, args.rows)
    dataset = built["dataset"]

    log(f"== the gate's own cost, up to {args.gate_repeat} calls in process")
    overhead = gate_overhead(built, args.limit, args.gate_repeat, args.gate_seconds)
    log(
        f"   gate.read_page {overhead['gate_read_page_ms']:.3f} ms, bare serving-index page "
        f"{overhead['bare_page_ms']:.3f} ms: overhead {overhead['gate_overhead_ms']:.3f} ms "
        f"(of which the policy alone {overhead['gate_policy_ms']:.3f} ms; the rest is the "
        f"version lookup, masking and the audit entry committed), {overhead['repeat']} calls"
    )
    built["session"].close()
    built["engine"].dispose()

    gongshu_port, datasette_port = free_port(), free_port()
    gongshu_query = urlencode(
        {
            "district": DISTRICT,
            "reg_date__ge": SINCE,
            "_sort": "reg_date",
            "_limit": args.limit,
            "_purpose": PURPOSE,
        }
    )
    gongshu_url = f"http://127.0.0.1:{gongshu_port}/api/v1/data/{dataset.code}/rows?{gongshu_query}"
    datasette_query = urlencode(
        {
            "district": DISTRICT,
            "reg_date__gte": SINCE,
            "_sort": "reg_date",
            "_size": args.limit,
            "_nosuggest": 1,
        }
    )
    db_name = built["sqlite"].stem
    datasette_url = f"http://127.0.0.1:{datasette_port}/{db_name}/{TABLE}.json?{datasette_query}"
    key_headers = {"X-API-Key": built["key"]}
    serve = [sys.executable, str(ROOT / "bench" / "_serve.py"), "--port", str(gongshu_port)]
    serve += ["--workers", str(args.workers)]
    datasette = [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        "-i",
        str(built["sqlite"]),
        "--host",
        "127.0.0.1",
        "--port",
        str(datasette_port),
    ]
    with (
        process(serve, env, workdir / "gongshu.log") as gongshu_proc,
        process(datasette, env, workdir / "datasette.log") as datasette_proc,
    ):
        wait_ready(gongshu_url, key_headers)
        wait_ready(datasette_url, {})
        same = same_rows(gongshu_url, key_headers, datasette_url)
        log(f"== both servers up; first three pages identical: {same}")
        log(f"== Gongshu ({args.workers} workers): {args.clients} clients, {args.seconds:.0f} s")
        before = cpu_seconds(gongshu_proc.pid)
        gongshu = drive(gongshu_url, key_headers, args)
        gongshu["cpu_ms"] = per_request(cpu_seconds(gongshu_proc.pid) - before, gongshu)
        report("Gongshu", gongshu)
        log(f"== datasette: {args.clients} clients, {args.seconds:.0f} s")
        before = cpu_seconds(datasette_proc.pid)
        other = drive(datasette_url, {}, args)
        other["cpu_ms"] = per_request(cpu_seconds(datasette_proc.pid) - before, other)
        report("datasette", other)
    audited = audit_check(env, dataset.id)
    log(f"   audit: {audited['reads']:,} data.read entries for the dataset, {audited['verify']}")
    ratio = gongshu["rps"] / other["rps"] if other["rps"] else float("inf")
    log(
        f"== ratio {ratio:.1f}× datasette (target ≥ {TARGET_RATIO:.0f}×), Gongshu p99 "
        f"{gongshu['p99_ms']:.1f} ms (target ≤ {TARGET_P99_MS:.0f}), gate overhead "
        f"{overhead['gate_overhead_ms']:.3f} ms (target ≤ {TARGET_GATE_MS:.0f})"
    )
    return {
        "rows": args.rows,
        "clients": args.clients,
        "page_size": args.limit,
        "workers": args.workers,
        "metadata_db": "sqlite" if args.sqlite else "postgresql",
        "ratio_vs_datasette": round(ratio, 2),
        "p99_ms": round(gongshu["p99_ms"], 2),
        "p50_ms": round(gongshu["p50_ms"], 2),
        "gongshu_rps": round(gongshu["rps"], 1),
        "gongshu_requests": gongshu["requests"],
        "gongshu_errors": gongshu["errors"],
        "datasette_rps": round(other["rps"], 1),
        "datasette_p50_ms": round(other["p50_ms"], 2),
        "datasette_p99_ms": round(other["p99_ms"], 2),
        "datasette_requests": other["requests"],
        "gongshu_cpu_ms_per_request": gongshu["cpu_ms"],
        "datasette_cpu_ms_per_request": other["cpu_ms"],
        "datasette_errors": other["errors"],
        "gate_overhead_ms": overhead["gate_overhead_ms"],
        "gate_read_page_ms": overhead["gate_read_page_ms"],
        "bare_page_ms": overhead["bare_page_ms"],
        "gate_policy_ms": overhead["gate_policy_ms"],
        "same_rows": same,
        "audit_entries": audited["reads"],
        "audit_verified": audited["ok"],
        "ratio_met": ratio >= TARGET_RATIO,
        "p99_met": gongshu["p99_ms"] <= TARGET_P99_MS,
        "gate_overhead_met": overhead["gate_overhead_ms"] <= TARGET_GATE_MS,
    }


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a server process and all its children so far."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def per_request(seconds: float, result: dict[str, Any]) -> float:
    """Server CPU milliseconds per request answered (warm-up included on both sides)."""
    return round(seconds * 1000 / max(1, result["all_requests"]), 2)


def report(name: str, result: dict[str, Any]) -> None:
    log(
        f"   {name}: {result['rps']:,.0f} requests/s, p50 {result['p50_ms']:.1f} ms, p99 "
        f"{result['p99_ms']:.1f} ms, max {result['max_ms']:.1f} ms, {result['requests']:,} "
        f"requests, server CPU {result['cpu_ms']:.1f} ms a request (its database's not "
        f"counted), {result['errors']} errors {result['statuses']}"
        + (f" first error: {result['first_error'][:200]}" if result["errors"] else "")
    )


def same_rows(gongshu_url: str, headers: dict[str, str], datasette_url: str) -> bool:
    """Whether the first three pages of both servers hold the same records in order."""
    ours: list[str] = []
    theirs: list[str] = []
    url: str | None = gongshu_url
    for _ in range(3):
        if url is None:
            break
        body = get_json(url, headers)
        ours.extend(r["record_id"] for r in body["rows"])
        url = body["next_url"]
    url = datasette_url + "&_shape=objects"
    for _ in range(3):
        if url is None:
            break
        body = get_json(url, {})
        theirs.extend(r["record_id"] for r in body["rows"])
        url = body.get("next_url")
    return bool(ours) and ours == theirs


def audit_check(env: dict[str, str], dataset_id: int) -> dict[str, Any]:
    """How many ``data.read`` entries the dataset has, and whether the chain verifies."""
    from sqlalchemy import func, select

    from gongshu.audit.models import AuditEntry
    from gongshu.audit.service import verify
    from gongshu.db import make_engine, make_session_factory
    from gongshu.settings import get_settings

    get_settings.cache_clear()
    engine = make_engine(get_settings())
    with make_session_factory(engine)() as session:
        reads = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "data.read", AuditEntry.object_id == str(dataset_id))
        )
        result = verify(session)
    engine.dispose()
    text = f"chain verified ({result.checked:,} entries)" if result.ok else "chain BROKEN"
    return {"reads": int(reads or 0), "ok": result.ok, "verify": text}


if __name__ == "__main__":
    main()
