"""Grouped durable commits: many requests' audit entries in one transaction.

Every gated read must have its entry committed before rows leave. Committing each entry
alone serialises all reads on the chain's head lock, one fsync each. Here a writer per
engine and process takes the entries waiting from concurrent requests, appends them in one
transaction (lock the head once, chain them, commit) and then wakes each request:
a response still leaves only after its own entry is durable, but N entries cost one commit.

There is no artificial delay: an idle writer commits the first entry at once, and entries
that arrive during a commit form the next group (up to ``GONGSHU_AUDIT_GROUP_MAX_ENTRIES``).
A failed commit fails every request of that group (each gets the error and must not return
rows); the next group goes on. The writer thread starts on first use, ends after a while
idle, and is drained and stopped at application shutdown and at interpreter exit. On
SQLite it commits through its own connection (``BEGIN IMMEDIATE``, like every transaction
of :func:`gongshu.db.make_engine`); on PostgreSQL the head row is locked ``FOR UPDATE``, so
``record`` in other transactions and other processes' writers interleave into one chain.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, insert, text
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.audit.service import Prepared, after_append, chained, lock_head, prepare, record
from gongshu.auth.actor import Actor
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import GongshuError
from gongshu.i18n import N_
from gongshu.settings import get_settings

log = logging.getLogger(__name__)

IDLE_SECONDS = 30.0
LOCK_TIMEOUT_SECONDS = 30
MSG_NOT_DURABLE = N_("审计记录未能写入，本次读取已取消，请稍后重试")

__all__ = ["AuditNotDurable", "GroupWriter", "WriterStats", "append_durable", "shutdown_all"]


class AuditNotDurable(GongshuError):
    """The entry could not be committed: the read it records must not return rows."""

    status_code = 503
    code = "audit_unavailable"


_registry_lock = threading.Lock()
_writers: dict[Engine, GroupWriter] = {}


@dataclass
class _Pending:
    item: Prepared
    done: threading.Event = field(default_factory=threading.Event)
    seq: int = 0
    error: BaseException | None = None


@dataclass
class WriterStats:
    """What a writer has done: entries appended, transactions committed, groups failed."""

    entries: int = 0
    commits: int = 0
    failures: int = 0
    largest: int = 0


class GroupWriter:
    """The writer of one engine in this process (see the module docstring).

    Its condition shares the registry's lock, so "find or start a writer, queue an entry"
    and "nothing queued for a while: retire" never interleave.
    """

    def __init__(self, engine: Engine, max_entries: int, idle_seconds: float | None = None):
        self.engine = engine
        self.max_entries = max_entries
        self.idle_seconds = IDLE_SECONDS if idle_seconds is None else idle_seconds
        self.stats = WriterStats()
        self.closing = False
        self._cond = threading.Condition(_registry_lock)
        self._queue: deque[_Pending] = deque()
        self._thread: threading.Thread | None = None

    def submit(self, item: Prepared) -> _Pending:
        """Queue an entry; the caller holds the registry lock."""
        pending = _Pending(item)
        self._queue.append(pending)
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="gongshu-audit-writer", daemon=True
            )
            self._thread.start()
        self._cond.notify()
        return pending

    def close(self, timeout: float | None = 30.0) -> None:
        """Commit what is queued, then stop the thread."""
        with self._cond:
            self.closing = True
            self._cond.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _take(self) -> list[_Pending] | None:
        """The next group, or None when the writer should stop (closed, or idle)."""
        with self._cond:
            while not self._queue:
                if self.closing or not self._cond.wait(self.idle_seconds):
                    if self._queue:
                        break
                    self._thread = None
                    if _writers.get(self.engine) is self:
                        del _writers[self.engine]
                    return None
            group: list[_Pending] = []
            while self._queue and len(group) < self.max_entries:
                group.append(self._queue.popleft())
            return group

    def _run(self) -> None:
        while True:
            group = self._take()
            if group is None:
                return
            try:
                seqs = self._commit(group)
            except BaseException as exc:  # every waiter must wake, whatever happened
                self.stats.failures += 1
                log.exception("audit group commit of %d entries failed", len(group))
                for pending in group:
                    pending.error = exc
                    pending.done.set()
                continue
            self.stats.entries += len(group)
            self.stats.commits += 1
            self.stats.largest = max(self.stats.largest, len(group))
            for pending, seq in zip(group, seqs, strict=True):
                pending.seq = seq
                pending.done.set()

    def _commit(self, group: list[_Pending]) -> list[int]:
        with Session(self.engine, expire_on_commit=False) as session, unit_of_work(session):
            if self.engine.dialect.name == "postgresql":
                # A caller that holds the head lock in its own open transaction while it
                # waits here would otherwise wait forever: fail the group instead (SQLite's
                # busy timeout does the same there).
                session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_SECONDS}s'"))
            head = lock_head(session)
            seq, prev = head.seq, head.entry_hash
            first = seq + 1
            values = []
            for pending in group:
                seq += 1
                row = chained(pending.item, seq, prev, utcnow())
                prev = row["entry_hash"]
                values.append(row)
            ids = session.scalars(
                insert(AuditEntry).returning(AuditEntry.id, sort_by_parameter_order=True),
                values,
            ).all()
            head.seq, head.entry_hash, head.entry_id = seq, prev, ids[-1]
            after_append(session, first, seq)
        return list(range(first, seq + 1))


def writer_for(engine: Engine) -> GroupWriter | None:
    """The running writer of ``engine`` in this process, if any (for statistics)."""
    with _registry_lock:
        return _writers.get(engine)


def _submit(engine: Engine, item: Prepared) -> _Pending:
    with _registry_lock:
        writer = _writers.get(engine)
        if writer is None or writer.closing:
            writer = GroupWriter(engine, get_settings().audit_group_max_entries)
            _writers[engine] = writer
        return writer.submit(item)


def append_durable(
    bind: Engine | Connection | Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object,
    *,
    label: str = "",
    changes: Mapping[str, Any] | None = None,
) -> int:
    """Append one entry and return its ``seq`` once it is committed — possibly in one
    transaction with other requests' entries. Same fields as :func:`record`.

    ``bind`` is the engine, or the caller's session: a session bound to an engine first
    commits what it holds (as the gate always did before its entry — on SQLite an open
    transaction would otherwise hold the lock the writer needs). A session or connection
    inside an outer transaction the caller controls (tests' rolled-back sessions) gets the
    entry in that transaction instead: it is as durable as that transaction.

    Raises ``AuditNotDurable`` when the commit failed; the read must then fail too.
    """
    if isinstance(bind, Session):
        target = bind.get_bind()
        if isinstance(target, Connection):
            with unit_of_work(bind):
                entry = record(
                    bind, actor, action, object_type, object_id, label=label, changes=changes
                )
            return entry.seq
        if bind.in_transaction():
            bind.commit()
        engine = target
    elif isinstance(bind, Connection):
        with Session(bind=bind, join_transaction_mode="create_savepoint") as session:
            with unit_of_work(session):
                entry = record(
                    session, actor, action, object_type, object_id, label=label, changes=changes
                )
            return entry.seq
    else:
        engine = bind
    item = prepare(actor, action, object_type, object_id, label=label, changes=changes)
    pending = _submit(engine, item)
    pending.done.wait()
    if pending.error is not None:
        raise AuditNotDurable(MSG_NOT_DURABLE) from pending.error
    return pending.seq


def shutdown_all(timeout: float | None = 30.0) -> None:
    """Drain and stop every writer of this process (application shutdown, exit). A later
    ``append_durable`` starts a new one."""
    with _registry_lock:
        writers = list(_writers.values())
    for writer in writers:
        writer.close(timeout)


def _forget_after_fork() -> None:
    # A forked child has none of the parent's threads: start from an empty registry.
    global _registry_lock
    _registry_lock = threading.Lock()
    _writers.clear()


atexit.register(shutdown_all)
os.register_at_fork(after_in_child=_forget_after_fork)
