"""``gongshu audit verify`` over a million entries, against plain hashlib over the same bytes.

Builds a chain of 1,000,000 entries (``--entries N``) on a scratch database — SQLite under a
temporary directory, or PostgreSQL with ``--database-url postgresql+psycopg://…`` (a scratch
database is created on that server and dropped afterwards). The entries look like the
gate's: ``data.read`` (90%), ``data.denied`` and ``data.verify`` by 50 users of 20 bodies
over 500 catalog entries, each with purpose, grant, fields and rows in ``changes``. They are
chained with the writer's own hash input (:func:`gongshu.audit.chain.v2_fields`, version 2)
and loaded in bulk (``executemany`` on SQLite, ``COPY`` on PostgreSQL). Every 10,000
entries (``--checkpoint-every``) a checkpoint is signed with the platform seal and recorded
in the chain, as the checkpoint job does.

Then it times, on a fresh connection:

1. ``verify``: :func:`gongshu.audit.service.verify` — the whole chain, every checkpoint's
   Merkle root, head hash and signature (what ``gongshu audit verify`` runs: worker
   processes, one per CPU), and once more in one process (as inside a transaction);
2. the baseline: SHA-256 of the very same hash-input bytes, already in memory, in a bare
   loop (``hashlib.sha256(b).digest()``) — the floor any verifier in Python pays;
3. the raw fetch: the driver's cursor reading the same columns, no hashing.

Target: verify ≤ 10 s for 1,000,000 entries. It prints the figures; the last line is one
JSON object with ``verify_seconds``, ``entries``, ``baseline_hashlib_seconds``,
``overhead_ratio`` (verify ÷ baseline), ``fetch_seconds`` and whether the target was met.

Run by hand: ``.venv/bin/python bench/audit_verify.py [--entries N] [--database-url URL]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Run as a script, only bench/ is on the path: the repository root makes ``bench`` a package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from gongshu import migrate
from gongshu.audit.chain import FIELD_SEPARATOR, canonical_json, iso_at, v2_fields
from gongshu.audit.checkpoint import ACTION as CHECKPOINT_ACTION
from gongshu.audit.checkpoint import ExportedCheckpoint
from gongshu.audit.merkle import Frontier, leaf_hash
from gongshu.audit.models import GENESIS_HASH
from gongshu.audit.service import Prepared
from gongshu.db import make_engine, make_session_factory
from gongshu.seal import Signature, platform_seal
from gongshu.settings import Settings, get_settings

TARGET_SECONDS = 10.0
ENTRIES = 1_000_000
CHECKPOINT_EVERY = 10_000
START = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
COLUMNS = (
    "id",
    "seq",
    "at",
    "actor_id",
    "actor_name",
    "agency_id",
    "action",
    "object_type",
    "object_id",
    "object_label",
    "changes",
    "request_id",
    "ip",
    "prev_hash",
    "entry_hash",
    "hash_version",
    "dataset_id",
    "result",
    "rows",
)
PURPOSES = ("核查企业登记信息", "办理社会保障业务", "行政许可审查", "信用监管比对", "统计分析")


def log(message: str) -> None:
    print(message, flush=True)


def _templates(rng: random.Random) -> list[Prepared]:
    """A few hundred entry contents, reused along the chain (hashes still differ: each
    entry's seq, time and predecessor are its own)."""
    out = []
    for _ in range(400):
        user = rng.randrange(1, 51)
        agency = (user % 20) + 1
        dataset = rng.randrange(1, 501)
        roll = rng.random()
        action = "data.read" if roll < 0.9 else ("data.denied" if roll < 0.95 else "data.verify")
        rows = 0 if action != "data.read" else rng.choice((1, 20, 50, 200, 1000))
        changes: dict[str, Any] = {
            "operation": rng.choice(("page", "lookup", "export")),
            "purpose": rng.choice(PURPOSES),
            "version": rng.randrange(1, 9),
            "version_id": rng.randrange(1, 4000),
            "basis": "grant",
            "grant_id": rng.randrange(1, 900),
            "fields": ["credit_code", "name", "registered_on"],
            "rows": rows,
        }
        if action == "data.denied":
            changes["reason"] = "没有有效的共享授权"
        out.append(
            Prepared(
                actor_id=user,
                actor_name=f"用户{user:02d}",
                agency_id=agency,
                action=action,
                object_type="dataset",
                object_id=str(dataset),
                object_label=f"临沂市目录条目{dataset:03d}",
                changes=changes,
                changes_json=canonical_json(changes),
                request_id=uuid.UUID(int=rng.getrandbits(128)).hex,
                ip=f"10.{agency}.{user}.{rng.randrange(2, 250)}",
                dataset_id=dataset,
                result="denied" if action == "data.denied" else "allowed",
                rows=rows,
            )
        )
    return out


def _checkpoint_item(cp: ExportedCheckpoint, cp_id: int) -> Prepared:
    changes = {
        "tree_size": cp.tree_size,
        "seq_from": cp.seq_from,
        "root": cp.root,
        "head_hash": cp.head_hash,
        "key_id": cp.signature.key_id,
    }
    return Prepared(
        actor_id=None,
        actor_name="audit-checkpoint",
        agency_id=None,
        action=CHECKPOINT_ACTION,
        object_type="audit_checkpoint",
        object_id=str(cp_id),
        object_label=f"1–{cp.tree_size}",
        changes=changes,
        changes_json=canonical_json(changes),
        request_id="",
        ip="",
        dataset_id=None,
        result="",
        rows=None,
    )


def _db_time(at: dt.datetime) -> str:
    # What SQLAlchemy stores for a UTC timestamp on both databases: naive, microseconds.
    return at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def generate(
    settings: Settings, entries: int, checkpoint_every: int, keep_inputs: bool
) -> tuple[Iterator[list[tuple[Any, ...]]], list[dict[str, Any]], list[bytes], dict[str, Any]]:
    """Batches of entry rows (column order :data:`COLUMNS`), the checkpoint rows, the hash
    inputs (if kept) and the final head; lazily, batch by batch."""
    rng = random.Random(20260301)
    templates = _templates(rng)
    seal = platform_seal(settings)
    checkpoints: list[dict[str, Any]] = []
    inputs: list[bytes] = []
    head: dict[str, Any] = {"seq": 0, "entry_hash": GENESIS_HASH}

    def batches() -> Iterator[list[tuple[Any, ...]]]:
        frontier = Frontier()
        prev = GENESIS_HASH
        seq = 0
        last_cp = 0
        batch: list[tuple[Any, ...]] = []
        while seq < entries:
            if seq and seq % checkpoint_every == 0 and last_cp != seq and seq + 1 <= entries:
                created = START + dt.timedelta(seconds=seq // 10)
                unsigned = ExportedCheckpoint(
                    seq_from=last_cp + 1,
                    seq_to=seq,
                    tree_size=seq,
                    root=frontier.root().hex(),
                    head_hash=prev,
                    time=created.isoformat(timespec="seconds"),
                    signature=Signature("", "", "", "", ""),
                )
                sig = seal.sign(unsigned.statement_bytes())
                cp_id = len(checkpoints) + 1
                checkpoints.append(
                    {
                        "id": cp_id,
                        "seq_from": unsigned.seq_from,
                        "seq_to": seq,
                        "tree_size": seq,
                        "root_hash": unsigned.root,
                        "head_hash": prev,
                        "created_at": created,
                        "suite": sig.suite,
                        "key_id": sig.key_id,
                        "digest": sig.digest,
                        "signature": sig.signature,
                        "signed_at": sig.signed_at,
                        "frontier": frontier.to_hex(),
                    }
                )
                last_cp = seq
                item = _checkpoint_item(dataclasses.replace(unsigned, signature=sig), cp_id)
            else:
                item = templates[seq % len(templates)]
            seq += 1
            at = START + dt.timedelta(microseconds=seq * 7919)
            data = _input_bytes(item, seq, at, prev)
            digest = hashlib.sha256(data).digest()
            if keep_inputs:
                inputs.append(data)
            previous, prev = prev, digest.hex()
            frontier.append(leaf_hash(digest))
            batch.append(
                (
                    seq,
                    seq,
                    _db_time(at),
                    item.actor_id,
                    item.actor_name,
                    item.agency_id,
                    item.action,
                    item.object_type,
                    item.object_id,
                    item.object_label,
                    item.changes_json,
                    item.request_id,
                    item.ip,
                    previous,
                    prev,
                    2,
                    item.dataset_id,
                    item.result,
                    item.rows,
                )
            )
            if len(batch) == 20_000:
                yield batch
                batch = []
        if batch:
            yield batch
        head["seq"], head["entry_hash"] = seq, prev

    return batches(), checkpoints, inputs, head


def _input_bytes(item: Prepared, seq: int, at: dt.datetime, prev_hash: str) -> bytes:
    """The writer's version-2 hash input (:func:`gongshu.audit.chain.v2_fields`, as
    :func:`gongshu.audit.service.chained` builds it)."""
    fields = v2_fields(
        seq=seq,
        at_iso=iso_at(at),
        actor_id=item.actor_id,
        actor_name=item.actor_name,
        agency_id=item.agency_id,
        action=item.action,
        object_type=item.object_type,
        object_id=item.object_id,
        object_label=item.object_label,
        changes_json=item.changes_json,
        request_id=item.request_id,
        ip=item.ip,
        prev_hash=prev_hash,
        dataset_id=item.dataset_id,
        result=item.result,
        rows=item.rows,
    )
    return FIELD_SEPARATOR.join(fields).encode("utf-8")


def load(
    engine: Engine,
    settings: Settings,
    entries: int,
    checkpoint_every: int = CHECKPOINT_EVERY,
    keep_inputs: bool = False,
) -> tuple[list[bytes], int]:
    """Fill a migrated, empty database with a valid chain; returns the hash inputs (if
    kept) and the number of checkpoints."""
    batches, checkpoints, inputs, head = generate(settings, entries, checkpoint_every, keep_inputs)
    names = ", ".join(f'"{c}"' for c in COLUMNS)
    with engine.begin() as conn:
        raw: Any = conn.connection.driver_connection
        if engine.dialect.name == "postgresql":
            with raw.cursor() as cur:
                for batch in batches:
                    with cur.copy(f"COPY audit_entry ({names}) FROM STDIN") as copy:
                        for row in batch:
                            copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in COLUMNS)
            cur = raw.cursor()
            for batch in batches:
                cur.executemany(f"INSERT INTO audit_entry ({names}) VALUES ({marks})", batch)
            cur.close()
        if checkpoints:
            conn.execute(
                text(
                    "INSERT INTO audit_checkpoint (id, seq_from, seq_to, tree_size, root_hash, "
                    "head_hash, created_at, suite, key_id, digest, signature, signed_at, frontier) "
                    "VALUES (:id, :seq_from, :seq_to, :tree_size, :root_hash, :head_hash, "
                    ":created_at, :suite, :key_id, :digest, :signature, :signed_at, :frontier)"
                ),
                [
                    {
                        **c,
                        "created_at": c["created_at"].replace(tzinfo=None),
                        "frontier": json.dumps(c["frontier"]),
                    }
                    for c in checkpoints
                ],
            )
        conn.execute(
            text("INSERT INTO audit_head (id, seq, entry_hash, entry_id) VALUES (1, :s, :h, :s)"),
            {"s": head["seq"], "h": head["entry_hash"]},
        )
        if engine.dialect.name == "postgresql":
            for table in ("audit_entry", "audit_checkpoint"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE audit_entry"))
    return inputs, len(checkpoints)


def time_verify(settings: Settings, *, one_process: bool = False) -> tuple[float, float, Any]:
    """Wall and CPU seconds of the service's verify on a fresh engine and session; with
    ``one_process``, as it runs inside a transaction or a small chain (no worker processes)."""
    from gongshu.audit import service, verify

    if one_process:
        verify.PARALLEL_MIN_ENTRIES = 2**62
    engine = make_engine(settings)
    try:
        with make_session_factory(engine)() as session:
            wall, cpu = time.perf_counter(), time.process_time()
            result = service.verify(session, settings=settings)
            return time.perf_counter() - wall, time.process_time() - cpu, result
    finally:
        engine.dispose()


def verify_workers(entries: int) -> int:
    """How many worker processes ``verify`` splits a chain of ``entries`` among (1: none)."""
    from gongshu.audit import verify

    if entries < verify.PARALLEL_MIN_ENTRIES:
        return 1
    return max(1, verify.workers())


def time_baseline(inputs: list[bytes]) -> float:
    sha = hashlib.sha256
    started = time.perf_counter()
    for data in inputs:
        sha(data).digest()
    return time.perf_counter() - started


def time_fetch(settings: Settings, entries: int) -> float:
    """The driver reading the same rows and columns, nothing else."""
    from gongshu.audit.verify import read_connection, stream_entries

    engine = make_engine(settings)
    try:
        with make_session_factory(engine)() as session, read_connection(session) as conn:
            started = time.perf_counter()
            for _rows in stream_entries(conn, 0, entries):
                pass
            return time.perf_counter() - started
    finally:
        engine.dispose()


def _scratch(database_url: str | None, workdir: Path) -> tuple[Settings, Any]:
    base = get_settings()
    if database_url and database_url.startswith("postgresql"):
        url = make_url(database_url)
        name = f"gongshu_bench_audit_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        scratch_url = url.set(database=name).render_as_string(hide_password=False)

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        return base.model_copy(
            update={"database_url": scratch_url, "data_dir": workdir / "data"}
        ), drop
    scratch_url = f"sqlite:///{workdir / 'audit.db'}"
    return base.model_copy(update={"database_url": scratch_url, "data_dir": workdir / "data"}), (
        lambda: None
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--entries", type=int, default=ENTRIES)
    parser.add_argument("--checkpoint-every", type=int, default=CHECKPOINT_EVERY)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server to use")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="gongshu-bench-audit-"))
    settings, drop = _scratch(args.database_url, workdir)
    database = "postgresql" if settings.sqlalchemy_url.startswith("postgresql") else "sqlite"
    try:
        migrate.upgrade(settings)
        engine = make_engine(settings)
        log(f"building {args.entries:,} entries on {database} …")
        started = time.perf_counter()
        inputs, checkpoints = load(
            engine, settings, args.entries, args.checkpoint_every, keep_inputs=True
        )
        engine.dispose()
        build = time.perf_counter() - started
        log(f"  built in {build:.1f} s ({checkpoints} checkpoints)")

        baseline = time_baseline(inputs)
        log(f"plain hashlib over the same bytes: {baseline:.2f} s")
        del inputs
        fetch = time_fetch(settings, args.entries)
        log(f"driver fetch of the same columns:  {fetch:.2f} s")
        wall, _cpu, result = time_verify(settings)
        workers = verify_workers(args.entries)
        log(f"gongshu audit verify:              {wall:.2f} s ({workers} worker processes)")
        single, single_cpu, single_result = time_verify(settings, one_process=True)
        log(f"  … in one process:                {single:.2f} s (CPU {single_cpu:.2f} s)")
        if not result.ok:
            log(f"  verify found a problem: seq {result.broken_seq}: {result.localized_reason()}")
        scaled = wall * 1_000_000 / max(1, args.entries)
        figures = {
            "database": database,
            "entries": args.entries,
            "checkpoints": checkpoints,
            "verify_ok": result.ok,
            "verify_checked": result.checked,
            "verify_seconds": round(wall, 3),
            "verify_workers": workers,
            "verify_one_process_seconds": round(single, 3),
            "verify_one_process_cpu_seconds": round(single_cpu, 3),
            "verify_one_process_ok": single_result.ok,
            "verify_seconds_per_million": round(scaled, 3),
            "baseline_hashlib_seconds": round(baseline, 3),
            "overhead_ratio": round(wall / baseline, 2) if baseline else None,
            "fetch_seconds": round(fetch, 3),
            "build_seconds": round(build, 1),
            "target_seconds_per_million": TARGET_SECONDS,
            "target_met": result.ok and scaled <= TARGET_SECONDS,
        }
        log(
            f"verify {wall:.2f} s = {figures['overhead_ratio']}× plain hashlib; "
            f"{scaled:.2f} s per million entries (target ≤ {TARGET_SECONDS:.0f} s)"
        )
        print(json.dumps(figures), flush=True)
    finally:
        drop()
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
