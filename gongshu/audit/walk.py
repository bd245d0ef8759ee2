"""One pass along the chain: the row reader and the loop that checks every entry.

Kept lean (no seal, no settings beyond the database layer) because ``verify`` also runs it
in worker processes, each over one range of ``seq``, when the chain is long.

Each row is the entry's columns cast to text by the database, in the order of a
version-2 hash input (:mod:`gongshu.audit.chain`), then ``entry_hash`` and ``id``. The loop
checks that ``seq`` has no gap, that ``prev_hash`` is the previous entry's hash and that
``entry_hash`` is the hash of the entry's content, and feeds the Merkle tree (or, in a worker,
collects leaf hashes for the parent to fold).
"""

from __future__ import annotations

import binascii
import hashlib
import json
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Connection,
    NullPool,
    String,
    Text,
    cast,
    create_engine,
    func,
    literal,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from gongshu.audit.chain import (
    CHECKPOINT_ACTION,
    FIELD_SEPARATOR,
    HASH_VERSION,
    canonical_json,
    derive,
    v1_hash,
)
from gongshu.audit.merkle import Frontier
from gongshu.audit.models import AuditEntry
from gongshu.i18n import N_

MSG_SEQ = N_("序号不连续：应为 {expected}，实为 {actual}")
MSG_PREV = N_("前一条记录的哈希不匹配（记录被删除、插入或重排）")
MSG_HASH = N_("记录内容与其哈希不符（记录被篡改）")
MSG_VERSION = N_("未知的哈希版本 {version}")
MSG_DERIVED = N_("检索字段（数据集、结果、行数）与记录内容不符（记录被篡改）")
MSG_HEAD = N_("链头指向第 {head} 条，但链上只有 {count} 条（末尾记录被删除或链头被改动）")
MSG_CP_ROOT = N_("检查点 #{id} 的 Merkle 根与第 {start}–{end} 条记录不符（这段记录在签发后被改写）")
MSG_CP_HEAD = N_("检查点 #{id} 所记第 {size} 条的哈希与链上不符（记录在签发后被改写）")
MSG_EXT_ROOT = N_(
    "外部保存的检查点（前 {size} 条）的 Merkle 根与第 {start}–{end} 条记录不符"
    "（这段记录在导出后被改写）"
)
MSG_EXT_HEAD = N_("外部保存的检查点所记第 {size} 条的哈希与链上不符（记录在导出后被改写）")

# Column positions in a fetched row: 0–16 are the version-2 hash fields.
_SEQ, _AT, _ACTOR_ID, _ACTOR_NAME, _AGENCY_ID, _ACTION = 1, 2, 3, 4, 5, 6
_OBJECT_TYPE, _OBJECT_ID, _LABEL, _CHANGES, _REQUEST_ID, _IP, _PREV = 7, 8, 9, 10, 11, 12, 13
_DATASET_ID, _RESULT, _ROWS, _HASH, _ID = 14, 15, 16, 17, 18
_V2 = str(HASH_VERSION)


@dataclass(frozen=True)
class Problem:
    """Something that does not fit, placed at the first entry it concerns."""

    seq: int
    reason: str
    params: dict[str, Any] = field(default_factory=dict)
    entry_id: int | None = None
    checkpoint_id: int | None = None


def _text(column: Any) -> ColumnElement[str]:
    return func.coalesce(cast(column, Text), literal(""))


def _at_text(dialect: str) -> ColumnElement[str]:
    if dialect == "postgresql":
        return func.coalesce(
            func.to_char(AuditEntry.at, literal('YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')), ""
        )
    # SQLite keeps a timestamp as 'YYYY-MM-DD HH:MM:SS.ffffff'.
    raw = cast(AuditEntry.at, String)
    return func.coalesce(
        func.substr(raw, 1, 10) + literal("T") + func.substr(raw, 12) + literal("+00:00"), ""
    )


def _entries_sql(conn: Connection, after: int, upto: int) -> str:
    dialect = conn.dialect.name
    e = AuditEntry
    stmt = (
        select(
            _text(e.hash_version),
            _text(e.seq),
            _at_text(dialect),
            _text(e.actor_id),
            _text(e.actor_name),
            _text(e.agency_id),
            _text(e.action),
            _text(e.object_type),
            _text(e.object_id),
            _text(e.object_label),
            _text(e.changes),
            _text(e.request_id),
            _text(e.ip),
            _text(e.prev_hash),
            _text(e.dataset_id),
            _text(e.result),
            _text(e.rows),
            _text(e.entry_hash),
            e.id,
        )
        .where(e.seq > after, e.seq <= upto)
        .order_by(e.seq)
    )
    return str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))


def stream_entries(
    conn: Connection, after: int, upto: int, batch: int = 10_000
) -> Generator[list[tuple[Any, ...]]]:
    """Rows of entries ``after < seq <= upto`` in order, a batch at a time, as plain tuples
    straight from the driver (a server-side cursor on PostgreSQL)."""
    sql = _entries_sql(conn, after, upto)
    raw: Any = conn.connection.driver_connection
    restore = None
    if conn.dialect.name == "postgresql":
        cursor = raw.cursor(name=f"gongshu_audit_verify_{id(conn):x}")
        cursor.itersize = batch
    else:
        # Text as stored UTF-8 bytes: no decoding, and joined they are the hash input.
        restore, raw.text_factory = raw.text_factory, bytes
        cursor = raw.cursor()
    try:
        cursor.execute(sql)
        while True:
            rows = cursor.fetchmany(batch)
            if not rows:
                return
            yield rows
    finally:
        cursor.close()
        if restore is not None:
            raw.text_factory = restore


def _plain_text(value: Any) -> Any:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _plain(row: Sequence[Any]) -> tuple[Any, ...]:
    """A fetched row with its text columns as ``str``."""
    return tuple(_plain_text(v) for v in row)


def _opt_int(text: str) -> int | None:
    return int(text) if text else None


def _slow_check(row: Sequence[Any]) -> str | None:
    """The full check of one entry (version 1, or version 2 whose stored JSON text is not
    canonical): the reason it fails, or None."""
    version = row[0]
    try:
        changes = json.loads(row[_CHANGES])
    except ValueError:
        return MSG_HASH
    if version == _V2:
        fields = list(row[:17])
        try:
            fields[_CHANGES] = canonical_json(changes)
        except ValueError:
            return MSG_HASH
        digest = hashlib.sha256(FIELD_SEPARATOR.join(fields).encode("utf-8")).hexdigest()
        return None if digest == row[_HASH] else MSG_HASH
    if version != "1":
        return MSG_VERSION
    expected = v1_hash(
        seq=int(row[_SEQ]),
        at_iso=row[_AT],
        actor_id=_opt_int(row[_ACTOR_ID]),
        actor_name=row[_ACTOR_NAME],
        agency_id=_opt_int(row[_AGENCY_ID]),
        action=row[_ACTION],
        object_type=row[_OBJECT_TYPE],
        object_id=row[_OBJECT_ID],
        object_label=row[_LABEL],
        changes=changes,
        request_id=row[_REQUEST_ID],
        ip=row[_IP],
        prev_hash=row[_PREV],
    )
    if expected != row[_HASH]:
        return MSG_HASH
    if not isinstance(changes, dict):
        return MSG_DERIVED
    dataset_id, result, rows = derive(row[_ACTION], row[_OBJECT_TYPE], row[_OBJECT_ID], changes)
    stored = (_opt_int(row[_DATASET_ID]), row[_RESULT], _opt_int(row[_ROWS]))
    return None if stored == (dataset_id, result, rows) else MSG_DERIVED


@dataclass
class _Target:
    """A size at which the recomputed tree is compared with a checkpoint."""

    size: int
    root: str
    head_hash: str
    checkpoint_id: int | None  # None: a checkpoint kept outside


@dataclass
class Walk:
    """The state of one pass along the chain.

    ``prev_hash`` None takes the first row's predecessor as given (a worker's range: its
    parent checks the seam) and keeps it in ``first_prev``. With ``leaves`` set, leaf hashes
    are collected there (32 bytes each) instead of growing ``frontier``.
    """

    expected_seq: int
    prev_hash: str | None
    frontier: Frontier = field(default_factory=Frontier)
    merkle_upto: int = 0
    targets: dict[int, list[_Target]] = field(default_factory=dict)
    last_good_size: int = 0
    recorded: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    problem: Problem | None = None
    leaves: bytearray | None = None
    first_prev: str | None = None
    marks: dict[int, str] = field(default_factory=dict)
    mark_at: frozenset[int] = frozenset()

    def run(self, batches: Iterator[list[tuple[Any, ...]]]) -> None:
        """Consume rows until the end or the first problem.

        Text columns arrive as ``bytes`` (SQLite, read with a bytes text factory: no
        decoding, and the joined fields are already the UTF-8 hash input) or as ``str``.
        """
        sha = hashlib.sha256
        expected = self.expected_seq
        prev: Any = self.prev_hash
        nodes = self.frontier.nodes
        size = self.frontier.size
        merkle_upto = self.merkle_upto
        targets = self.targets
        leaves = self.leaves
        marks, mark_at = self.marks, self.mark_at
        encoded: bool | None = None
        try:
            for rows in batches:
                if encoded is None and rows:
                    encoded = isinstance(rows[0][_HASH], bytes)
                    if prev is None:
                        prev = rows[0][_PREV]
                        self.first_prev = _plain_text(prev)
                    elif encoded:
                        prev = prev.encode()
                    if encoded:
                        join: Any = FIELD_SEPARATOR.encode().join
                        tohex: Any = binascii.hexlify
                        number: Any = b"%d".__mod__
                        v2: Any = _V2.encode()
                        checkpoint_action: Any = CHECKPOINT_ACTION.encode()
                    else:
                        join, tohex, number = FIELD_SEPARATOR.join, bytes.hex, str
                        v2, checkpoint_action = _V2, CHECKPOINT_ACTION
                for row in rows:
                    if row[_SEQ] != number(expected):
                        text = _plain(row)
                        self.problem = Problem(
                            int(text[_SEQ]) if text[_SEQ].lstrip("-").isdigit() else expected,
                            MSG_SEQ,
                            {"expected": expected, "actual": text[_SEQ]},
                            row[_ID],
                        )
                        return
                    if row[_PREV] != prev:
                        self.problem = Problem(expected, MSG_PREV, {}, row[_ID])
                        return
                    stored = row[_HASH]
                    if row[0] == v2:
                        data = join(row[:17])
                        digest = sha(data if encoded else data.encode("utf-8")).digest()
                        if tohex(digest) != stored:
                            reason = _slow_check(_plain(row))
                            if reason is not None:
                                self.problem = Problem(expected, reason, {}, row[_ID])
                                return
                            digest = binascii.unhexlify(stored)
                    else:
                        text = _plain(row)
                        reason = _slow_check(text)
                        if reason is not None:
                            self.problem = Problem(expected, reason, {"version": text[0]}, row[_ID])
                            return
                        digest = binascii.unhexlify(stored)
                    if row[_ACTION] == checkpoint_action:
                        self._note_checkpoint_entry(expected, _plain(row)[_CHANGES])
                    if leaves is not None:
                        leaves += sha(b"\x00" + digest).digest()
                        if expected in mark_at:
                            marks[expected] = _plain_text(stored)
                    elif size < merkle_upto:
                        node = sha(b"\x00" + digest).digest()
                        n = size
                        while n & 1:
                            node = sha(b"\x01" + nodes.pop() + node).digest()
                            n >>= 1
                        nodes.append(node)
                        size += 1
                        if size in targets:
                            self.frontier.size = size
                            if self._compare(size, _plain_text(stored)):
                                return
                    prev = stored
                    expected += 1
        finally:
            self.frontier.size = size
            self.expected_seq = expected
            self.prev_hash = _plain_text(prev)

    def absorb(self, outcome: RangeOutcome) -> bool:
        """Continue the pass with a worker's range (ranges come in order); True once a
        problem is found."""
        if outcome.count and outcome.first_prev != self.prev_hash:
            self.problem = Problem(outcome.after + 1, MSG_PREV)
            return True
        self.recorded.extend(outcome.recorded)
        leaves = outcome.leaves
        frontier = self.frontier
        for offset in range(0, len(leaves), 32):
            if frontier.size >= self.merkle_upto:
                break
            frontier.append(leaves[offset : offset + 32])
            size = frontier.size
            if size in self.targets and self._compare(size, outcome.marks.get(size, "")):
                return True
        if outcome.problem is not None:
            self.problem = outcome.problem
            return True
        if outcome.count:
            self.prev_hash = outcome.last_hash
        self.expected_seq = outcome.after + outcome.count + 1
        if outcome.count < outcome.upto - outcome.after:
            self.problem = Problem(
                outcome.upto + 1,
                MSG_SEQ,
                {"expected": self.expected_seq, "actual": outcome.upto + 1},
            )
            return True
        return False

    def _note_checkpoint_entry(self, seq: int, changes_text: str) -> None:
        try:
            changes = json.loads(changes_text)
        except ValueError:
            changes = {}
        self.recorded.append((seq, changes if isinstance(changes, dict) else {}))

    def _compare(self, size: int, entry_hash: str) -> bool:
        root = self.frontier.root().hex()
        for target in self.targets[size]:
            external = target.checkpoint_id is None
            params: dict[str, Any] = {"id": target.checkpoint_id, "size": size}
            if target.root != root:
                params |= {"start": self.last_good_size + 1, "end": size}
                self.problem = Problem(
                    self.last_good_size + 1,
                    MSG_EXT_ROOT if external else MSG_CP_ROOT,
                    params,
                    None,
                    target.checkpoint_id,
                )
                return True
            if target.head_hash != entry_hash:
                self.problem = Problem(
                    size,
                    MSG_EXT_HEAD if external else MSG_CP_HEAD,
                    params,
                    None,
                    target.checkpoint_id,
                )
                return True
        self.last_good_size = size
        return False


@dataclass(frozen=True)
class RangeOutcome:
    """What a worker found in entries ``after < seq <= upto``."""

    after: int
    upto: int
    count: int
    first_prev: str | None
    last_hash: str | None
    problem: Problem | None
    leaves: bytes
    marks: dict[int, str]
    recorded: list[tuple[int, dict[str, Any]]]


def walk_range(
    url: str, after: int, upto: int, mark_at: frozenset[int], batch: int = 10_000
) -> RangeOutcome:
    """Worker process: check one range on a connection of its own, collecting leaf hashes
    and the entry hashes at the sizes in ``mark_at`` for the parent to fold."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            walk = Walk(expected_seq=after + 1, prev_hash=None, leaves=bytearray(), mark_at=mark_at)
            batches = stream_entries(conn, after, upto, batch)
            try:
                walk.run(batches)
            finally:
                batches.close()
    finally:
        engine.dispose()
    count = walk.expected_seq - after - 1
    return RangeOutcome(
        after=after,
        upto=upto,
        count=count,
        first_prev=walk.first_prev,
        last_hash=walk.prev_hash if count else None,
        problem=walk.problem,
        leaves=bytes(walk.leaves or b""),
        marks=walk.marks,
        recorded=walk.recorded,
    )
