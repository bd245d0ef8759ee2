"""Verifying the chain and its checkpoints, fast enough for millions of entries.

One pass in ``seq`` order checks, for every entry: the sequence has no gap, ``prev_hash`` is
the previous entry's hash, and ``entry_hash`` is the hash of the entry's own content (by its
hash version, :mod:`gongshu.audit.chain`). The same pass feeds a Merkle frontier, and at each
checkpoint's size compares the recomputed root and entry hash with what the checkpoint (in
the database, or kept outside and passed in) says. Signatures are checked with the platform
seal. The first problem by ``seq`` is reported.

Speed comes from letting the database cast every column to text (a version-2 hash input is
those texts joined by NUL), reading plain tuples through the driver's cursor (server-side
on PostgreSQL) and hashing in one tight loop; no ORM objects, no JSON parsing unless an
entry is version 1 or its stored JSON is not canonical.

Reads never hold SQLite's write lock (writers go on meanwhile). The head and the
checkpoints are read in one snapshot with the entries (:func:`read_connection`), and only
entries up to that head are checked.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, select
from sqlalchemy.orm import Session

from gongshu.audit.checkpoint import ExportedCheckpoint, signature_valid
from gongshu.audit.merkle import Frontier
from gongshu.audit.models import GENESIS_HASH, AuditCheckpoint, AuditHead
from gongshu.audit.service import HEAD_ID, VerifyResult
from gongshu.audit.walk import MSG_HEAD, Problem, Walk, _Target, stream_entries, walk_range
from gongshu.i18n import N_
from gongshu.settings import Settings

# Below this many entries one process is quicker than starting workers.
PARALLEL_MIN_ENTRIES = 200_000
MAX_WORKERS = 4

MSG_CP_SIGNATURE = N_("检查点 #{id}（前 {size} 条）的签名无效（检查点被伪造或改动）")
MSG_CP_SHORT = N_("检查点 #{id} 覆盖前 {size} 条记录，但链上只有 {count} 条（末尾记录被截断）")
MSG_CP_RANGE = N_("检查点 #{id} 的范围不连续：应从第 {expected} 条开始，实从第 {actual} 条开始")
MSG_CP_MISSING = N_("第 {seq} 条记录所记的检查点（前 {size} 条）已不在检查点表中或被改动")
MSG_CP_UNRECORDED = N_("检查点 #{id} 的签发记录不在审计链上（链尾被截断或记录被删除）")
MSG_EXT_SIGNATURE = N_("外部保存的检查点（前 {size} 条）的签名无效")
MSG_EXT_SHORT = N_("外部保存的检查点覆盖前 {size} 条记录，但链上只有 {count} 条（末尾记录被截断）")


@contextmanager
def read_connection(session: Session) -> Iterator[Connection]:
    """A connection to read the chain on, in one snapshot.

    Inside a transaction the session's own connection is used (its uncommitted entries
    count). Otherwise a connection of its own reads in one snapshot, so that the head, the
    checkpoints and the entries agree even while appends go on: on SQLite a deferred read
    transaction (WAL: it takes no write lock, writers go on), on PostgreSQL a REPEATABLE
    READ one. Nothing is written through it; it is rolled back.
    """
    bind = session.get_bind()
    if not isinstance(bind, Engine) or session.in_transaction():
        yield session.connection()
        return
    if bind.dialect.name == "sqlite":
        with bind.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("BEGIN DEFERRED")
            try:
                yield conn
            finally:
                conn.exec_driver_sql("ROLLBACK")
        return
    with bind.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        yield conn


def _read_head(conn: Connection) -> tuple[int, str]:
    row = conn.execute(
        select(AuditHead.seq, AuditHead.entry_hash).where(AuditHead.id == HEAD_ID)
    ).first()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)


def _checkpoint_rows(conn: Connection) -> list[ExportedCheckpoint]:
    c = AuditCheckpoint.__table__.c
    columns = (c.id, c.seq_from, c.seq_to, c.tree_size, c.root_hash, c.head_hash)
    more = (c.created_at, c.suite, c.key_id, c.digest, c.signature, c.signed_at)
    rows = conn.execute(select(*columns, *more).order_by(c.tree_size)).all()
    return [ExportedCheckpoint.of(r) for r in rows]


def _checkpoint_problems(
    stored: Sequence[ExportedCheckpoint],
    external: Sequence[ExportedCheckpoint],
    settings: Settings | None,
) -> list[Problem]:
    """Signatures and ranges, before any entry is read."""
    problems: list[Problem] = []
    expected_from = 1
    for cp in stored:
        params = {"id": cp.id, "size": cp.tree_size}
        if not signature_valid(cp, settings) or cp.seq_to != cp.tree_size:
            problems.append(Problem(cp.seq_from, MSG_CP_SIGNATURE, params, None, cp.id))
        if cp.seq_from != expected_from:
            problems.append(
                Problem(
                    min(cp.seq_from, expected_from),
                    MSG_CP_RANGE,
                    {**params, "expected": expected_from, "actual": cp.seq_from},
                    None,
                    cp.id,
                )
            )
        expected_from = cp.tree_size + 1
    for cp in external:
        if not signature_valid(cp, settings) or cp.seq_to != cp.tree_size:
            problems.append(Problem(max(1, cp.seq_from), MSG_EXT_SIGNATURE, {"size": cp.tree_size}))
    return problems


def _recorded_problems(walk: Walk, stored: Sequence[ExportedCheckpoint]) -> list[Problem]:
    """Every checkpoint is recorded in the chain by an ``audit.checkpoint`` entry (same
    transaction), and every such entry names a checkpoint that still exists unchanged."""
    by_size = {cp.tree_size: cp for cp in stored}
    problems: list[Problem] = []
    seen: set[int] = set()
    for seq, changes in walk.recorded:
        size = changes.get("tree_size")
        cp = by_size.get(size) if isinstance(size, int) else None
        if cp is None or cp.root != changes.get("root"):
            problems.append(Problem(seq, MSG_CP_MISSING, {"seq": seq, "size": size}, None, None))
        else:
            seen.add(cp.tree_size)
    for cp in stored:
        if cp.tree_size not in seen and cp.tree_size < walk.expected_seq:
            problems.append(
                Problem(cp.tree_size + 1, MSG_CP_UNRECORDED, {"id": cp.id}, None, cp.id)
            )
    return problems


def _parallel_url(session: Session) -> str | None:
    """The database URL worker processes may read, when the pass may be split among them:
    the session is not inside a transaction (whose uncommitted entries workers could not
    see) and more than one CPU is there."""
    bind = session.get_bind()
    if not isinstance(bind, Engine) or session.in_transaction() or workers() < 2:
        return None
    if bind.dialect.name == "sqlite" and bind.url.database in (None, "", ":memory:"):
        return None
    return bind.url.render_as_string(hide_password=False)


def workers() -> int:
    return min(os.cpu_count() or 1, MAX_WORKERS)


def start_method() -> str:
    """``fork`` when this process runs one thread (the CLI, a benchmark): workers start at
    once. ``spawn`` otherwise (a web server's threads may hold locks a fork would copy)."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def _walk_in_workers(url: str, walk: Walk, head_seq: int, batch: int) -> None:
    """Split entries 1–``head_seq`` into ranges checked by worker processes; fold their
    leaves into ``walk`` in order, the seams checked as if it were one pass."""
    count = workers()
    parts = count
    bounds = [head_seq * i // parts for i in range(parts + 1)]
    sizes = frozenset(walk.targets)
    context = multiprocessing.get_context(start_method())
    with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        futures = [
            pool.submit(walk_range, url, bounds[i], bounds[i + 1], sizes, batch)
            for i in range(parts)
            if bounds[i + 1] > bounds[i]
        ]
        try:
            for future in futures:
                if walk.absorb(future.result()):
                    return
        finally:
            for future in futures:
                future.cancel()


def verify_chain(
    session: Session,
    *,
    batch: int = 10_000,
    external: Sequence[ExportedCheckpoint] = (),
    settings: Settings | None = None,
) -> VerifyResult:
    """Check the whole chain, the checkpoints in the database and ``external`` ones.

    A chain of more than ``PARALLEL_MIN_ENTRIES`` entries is split among worker processes
    (one per CPU, at most ``MAX_WORKERS``) when the session is not inside a transaction.
    """
    started = time.perf_counter()
    url = _parallel_url(session)
    with read_connection(session) as conn:
        head_seq, head_hash = _read_head(conn)
        stored = _checkpoint_rows(conn)
        problems = _checkpoint_problems(stored, external, settings)
        targets: dict[int, list[_Target]] = {}
        for cp in stored:
            targets.setdefault(cp.tree_size, []).append(
                _Target(cp.tree_size, cp.root, cp.head_hash, cp.id)
            )
        for cp in external:
            targets.setdefault(cp.tree_size, []).append(
                _Target(cp.tree_size, cp.root, cp.head_hash, None)
            )
        walk = Walk(
            expected_seq=1,
            prev_hash=GENESIS_HASH,
            merkle_upto=max(targets, default=0),
            targets=targets,
        )
        if url is None or head_seq < PARALLEL_MIN_ENTRIES:
            batches = stream_entries(conn, 0, max(head_seq, 0), batch)
            try:
                walk.run(batches)
            finally:
                batches.close()
    if url is not None and head_seq >= PARALLEL_MIN_ENTRIES:
        _walk_in_workers(url, walk, head_seq, batch)
    checked = walk.expected_seq - 1
    if walk.problem is not None:
        problems.append(walk.problem)
    else:
        if head_seq != checked or head_hash != walk.prev_hash:
            problems.append(
                Problem(
                    checked + 1 if head_seq > checked else max(checked, 1),
                    MSG_HEAD,
                    {"head": head_seq, "count": checked},
                )
            )
        for target_list in targets.values():
            for target in target_list:
                if target.size > checked:
                    external_cp = target.checkpoint_id is None
                    problems.append(
                        Problem(
                            checked + 1,
                            MSG_EXT_SHORT if external_cp else MSG_CP_SHORT,
                            {"id": target.checkpoint_id, "size": target.size, "count": checked},
                            None,
                            target.checkpoint_id,
                        )
                    )
        problems.extend(_recorded_problems(walk, stored))
    seconds = time.perf_counter() - started
    if not problems:
        return VerifyResult(
            True, checked, checkpoints=len(stored), external=len(external), seconds=seconds
        )
    first = min(problems, key=lambda p: p.seq)
    return VerifyResult(
        False,
        min(checked, first.seq - 1),
        first.seq,
        first.entry_id,
        first.reason,
        first.params,
        checkpoints=len(stored),
        external=len(external),
        checkpoint_id=first.checkpoint_id,
        seconds=seconds,
    )


@dataclass(frozen=True)
class Extended:
    """The tree after the entries since the previous checkpoint, or why it could not grow."""

    frontier: Frontier
    head_hash: str
    problem: tuple[int, str] | None


def extend_frontier(
    conn: Connection,
    base_size: int,
    base_frontier: Sequence[str],
    base_hash: str,
    upto: int,
    batch: int = 10_000,
) -> Extended:
    """Verify entries ``base_size < seq <= upto`` against the previous checkpoint's end and
    grow its frontier over them."""
    walk = Walk(
        expected_seq=base_size + 1,
        prev_hash=base_hash,
        frontier=Frontier.from_hex(base_size, base_frontier),
        merkle_upto=upto,
    )
    batches = stream_entries(conn, base_size, upto, batch)
    try:
        walk.run(batches)
    finally:
        batches.close()
    last = walk.prev_hash or base_hash
    if walk.problem is not None:
        return Extended(walk.frontier, last, (walk.problem.seq, walk.problem.reason))
    if walk.frontier.size != upto:
        return Extended(walk.frontier, last, (walk.frontier.size + 1, MSG_HEAD))
    return Extended(walk.frontier, last, None)
