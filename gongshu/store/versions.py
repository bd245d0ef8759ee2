"""Writing, publishing, pruning and sweeping dataset versions.

The life of a version, and what a crash at each step leaves (docs/storage.md has the
whole argument):

1. ``VersionWriter`` streams typed batches into a Parquet file in a fresh staging prefix
   marked ``writing`` with its process, and the same rows to the serving index builder
   (for a large version, a loader process of its own). Crash: a marked prefix of a dead
   process; the sweep deletes it, and the loader stops by itself.
2. ``finish`` waits for the serving index, checksums and ``commit``\\ s the prefix, now
   marked ``publishing``. Crash: the sweep finds no version row naming the prefix and
   deletes it.
3. ``publish`` inserts the version row, supersedes the previous one and moves the head in
   one transaction, then drops the marker. Failure: the transaction rolls back and the
   files are deleted; a crash after the commit leaves a marker the sweep simply drops.
4. ``prune`` marks old versions ``pruned`` (committed first), then deletes their files; a
   crash in between leaves files no live row names, which the sweep deletes.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import queue
import stat
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from gongshu.audit.service import record
from gongshu.auth.actor import Actor
from gongshu.catalog.models import Dataset, FieldType
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import Conflict
from gongshu.ingest.spec import FieldSpec
from gongshu.settings import Settings, get_settings
from gongshu.store import duck
from gongshu.store.models import (
    INDEX_NAME,
    PARQUET_NAME,
    DatasetHead,
    DatasetVersion,
    VersionStatus,
)
from gongshu.store.serving import IndexBuilder, arrow_schema, schema_of
from gongshu.store.storage import PUBLISHING, WRITING, StagingDir, Storage, get_storage

log = logging.getLogger(__name__)

MODES = frozenset({"replace", "append", "upsert", "rollback"})
# Modes whose rows are computed from the version they are based on: publishing one over a
# different live version would silently drop that version's rows.
MERGING_MODES = frozenset({"append", "upsert"})
ROW_GROUP_ROWS = 131_072
ROW_GROUP_BYTES = 16 * 1024 * 1024
PARQUET_COMPRESSION = "zstd"
PARQUET_COMPRESSION_LEVEL = 1
# A committed prefix without a marker that no version names is deleted only after this
# long: a publish whose transaction is nested in a longer one is not visible before.
ORPHAN_GRACE_SECONDS = 3600
MSG_STALE_BASE = "数据集在此期间已发布了新版本，请基于最新版本重新提交"


@dataclass(frozen=True)
class StagedVersion:
    """A finished, committed but not yet published version's files."""

    prefix: str
    parquet_key: str
    index_key: str
    row_count: int
    byte_size: int
    checksum: str
    schema: list[dict[str, Any]]


def _sha256(path: os.PathLike[str], *, sync: bool = False) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
        if sync:
            os.fsync(f.fileno())
    return digest.hexdigest()


class VersionWriter:
    """Writes one new version of a dataset: Parquet first, then the serving index.

    Use as a context manager: leaving the block by an exception, or calling ``abort()``,
    deletes everything written (also after ``finish`` as long as the version is not
    published). Batches are buffered up to one row group (~128k rows); each full row group
    is encoded, compressed and written by a thread of the writer's own (Arrow releases the
    GIL while it does), which also hands the rows to the serving index builder, so the
    caller goes on with the next rows meanwhile. At most ``QUEUED_GROUPS`` row groups wait
    for that thread, so memory stays bounded whatever the file size.
    """

    QUEUED_GROUPS = 1

    def __init__(self, storage: Storage, dataset_id: int, specs: Sequence[FieldSpec]) -> None:
        self.storage = storage
        self.dataset_id = dataset_id
        self.fields = schema_of(specs)
        self.schema = arrow_schema(self.fields)
        self._staging: StagingDir = storage.staging_dir(dataset_id)
        self._parquet_path = self._staging.path / PARQUET_NAME
        # Dictionary encoding pays only where values repeat (enumerations, flags); for codes,
        # names and addresses it is tried and abandoned per column chunk, a fifth of the write.
        repeating = [s.name for s in specs if s.choices or s.data_type == FieldType.BOOLEAN]
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(
            self._parquet_path,
            self.schema,
            compression=PARQUET_COMPRESSION,
            compression_level=PARQUET_COMPRESSION_LEVEL,
            use_dictionary=repeating,
        )
        # Fed the very rows written to Parquet, in order, so that its _pos is their position.
        self._index: IndexBuilder | None = IndexBuilder(
            self._staging.path / INDEX_NAME, self.fields
        )
        self._buffer: list[pa.RecordBatch] = []
        self._buffered = 0
        self._buffered_bytes = 0
        self.rows = 0
        self._groups: queue.Queue[pa.Table | None] | None = None
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._parquet_closed = False
        self._staged: StagedVersion | None = None
        self._aborted = False

    @property
    def prefix(self) -> str:
        return self._staging.prefix

    def __enter__(self) -> VersionWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()

    def write(self, batch: pa.RecordBatch) -> None:
        """Append a typed batch (the fields in order, then ``_row``)."""
        if self._writer is None:
            raise RuntimeError("version writer is closed")
        if self._failure is not None:
            raise self._failure
        if not batch.schema.equals(self.schema):
            if batch.schema.names != self.schema.names:
                raise ValueError(
                    f"batch columns {batch.schema.names} do not match {self.schema.names}"
                )
            batch = batch.cast(self.schema)
        if batch.num_rows == 0:
            return
        self._buffer.append(batch)
        self._buffered += batch.num_rows
        self._buffered_bytes += batch.nbytes
        if self._buffered >= ROW_GROUP_ROWS:
            self._flush(final=False)
        elif self._buffered_bytes >= ROW_GROUP_BYTES:
            # Wide rows (long texts): a row group is cut by size, so memory stays bounded.
            self._flush(final=True)

    def _flush(self, *, final: bool) -> None:
        if not self._buffer:
            return
        table = pa.Table.from_batches(self._buffer, schema=self.schema)
        whole = (table.num_rows // ROW_GROUP_ROWS) * ROW_GROUP_ROWS
        cut = table.num_rows if final else whole
        if cut:
            self._hand_over(table.slice(0, cut))
            self.rows += cut
        rest = table.slice(cut)
        self._buffer = rest.combine_chunks().to_batches() if rest.num_rows else []
        self._buffered = rest.num_rows
        self._buffered_bytes = rest.nbytes if rest.num_rows else 0

    def _hand_over(self, table: pa.Table) -> None:
        if self._groups is None:
            self._groups = queue.Queue(self.QUEUED_GROUPS)
            self._thread = threading.Thread(
                target=self._write_groups, name="version-writer", daemon=True
            )
            self._thread.start()
        while True:
            if self._failure is not None:
                raise self._failure
            try:
                self._groups.put(table, timeout=0.1)
                return
            except queue.Full:
                continue

    def _write_groups(self) -> None:
        """The writer thread: Parquet, then the serving index, one row group at a time."""
        assert self._groups is not None
        while (table := self._groups.get()) is not None:
            if self._failure is not None:
                continue  # drain, so that a producer blocked on a full queue is released
            try:
                assert self._writer is not None and self._index is not None
                self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
                for batch in table.to_batches():
                    self._index.add(batch)
            except BaseException as exc:
                self._failure = exc

    def _stop_thread(self) -> None:
        if self._thread is None:
            return
        assert self._groups is not None
        self._groups.put(None)
        self._thread.join()
        self._thread = None

    def extra_file(self, name: str) -> Path:
        """A path in the staging directory for a side file committed with the version.

        Its storage key is ``prefix + name``.
        """
        if "/" in name or name in ("", ".", "..", PARQUET_NAME, INDEX_NAME) or name[0] == ".":
            raise ValueError(f"bad side file name: {name!r}")
        return self._staging.path / name

    def close_parquet(self) -> None:
        """Write the last rows and close the Parquet file: its rows are then all on disk.

        ``finish`` does this first if it has not been done; calling it before is how a
        caller times the Parquet file apart from the serving index.
        """
        if self._writer is None:
            raise RuntimeError("version writer is closed")
        if self._parquet_closed:
            return
        try:
            self._flush(final=True)
            self._stop_thread()
            if self._failure is not None:
                raise self._failure
            self._writer.close()
            self._parquet_closed = True
        except BaseException:
            self.abort()
            raise

    def finish(self) -> StagedVersion:
        """Close the Parquet file, build the serving index, checksum and commit the files.

        The files are then permanent but not visible: only ``publish`` makes them a version.
        """
        self.close_parquet()
        try:
            # Synced and hashed while the serving index is still being loaded elsewhere.
            checksum = _sha256(self._parquet_path, sync=True)
            assert self._index is not None
            index, self._index = self._index, None
            index.finish()
            self._writer = None
            byte_size = 0
            for child in self._staging.path.iterdir():
                if not child.name.startswith("."):
                    child.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
                    byte_size += child.stat().st_size
            prefix = self.storage.commit(self._staging)
        except BaseException:
            self.abort()
            raise
        self._staged = StagedVersion(
            prefix=prefix,
            parquet_key=prefix + PARQUET_NAME,
            index_key=prefix + INDEX_NAME,
            row_count=self.rows,
            byte_size=byte_size,
            checksum=checksum,
            schema=self.fields,
        )
        return self._staged

    def abort(self) -> None:
        """Delete what this writer wrote, unless it has been published already."""
        if self._aborted:
            return
        if self._thread is not None:
            self._failure = self._failure or RuntimeError("version writer aborted")
            self._stop_thread()
        if self._writer is not None:
            with contextlib.suppress(Exception):  # the files are deleted next, whatever state
                self._writer.close()
            self._writer = None
        if self._index is not None:
            self._index.abort()
            self._index = None
        marker = self.storage.marker(self._staging.prefix)
        if self._staged is not None and marker is None:
            return  # published: its files belong to a version now
        self._aborted = True
        self.storage.delete_prefix(self._staging.prefix)


def _lock_head(session: Session, dataset_id: int) -> DatasetHead:
    """The dataset's head row, created if missing, locked until the transaction ends.

    Two publishes of one dataset queue here (PostgreSQL: the insert waits on the other's
    uncommitted row, then FOR UPDATE; SQLite: BEGIN IMMEDIATE already serialises writers).
    """
    values = {"dataset_id": dataset_id, "version_id": None, "updated_at": utcnow()}
    if session.get_bind().dialect.name == "postgresql":
        session.execute(pg_insert(DatasetHead).values(values).on_conflict_do_nothing())
    else:
        session.execute(sqlite_insert(DatasetHead).values(values).on_conflict_do_nothing())
    stmt = select(DatasetHead).where(DatasetHead.dataset_id == dataset_id).with_for_update()
    return session.scalars(stmt.execution_options(populate_existing=True)).one()


PublishHook = Callable[[Session, Dataset, DatasetVersion], None]
# Run inside the publish transaction, after the version row exists: quality scoring,
# consistency checks and correction tickets register here to queue their follow-up jobs,
# so that a published version always has them queued and a failed publish never does.
# A hook must only add rows (``enqueue``); it must not commit.
PUBLISH_HOOKS: list[PublishHook] = []


def on_publish(hook: PublishHook) -> PublishHook:
    """Register ``hook(session, dataset, version)`` to run in every publish transaction."""
    if hook not in PUBLISH_HOOKS:
        PUBLISH_HOOKS.append(hook)
    return hook


def publish(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    staged: StagedVersion,
    *,
    mode: str,
    source: dict[str, Any],
    job_id: int | None = None,
    based_on: DatasetVersion | None = None,
    quality: dict[str, Any] | None = None,
    rejected_count: int = 0,
    rejected_key: str = "",
    counts: tuple[int, int, int] | None = None,
    storage: Storage | None = None,
    keep: int | None = None,
) -> DatasetVersion:
    """Make a staged version the dataset's live version, in one transaction.

    Inserts the version (numbered after the last one), marks the previous live version
    superseded, points the head at the new one and records ``dataset_version.publish``.
    ``based_on`` defaults to the version it supersedes; for append and upsert it must *be*
    that version, or another publish came in between and this one is refused (Conflict).
    On failure the staged files are deleted. Afterwards old versions beyond ``keep``
    (default: ``settings.version_retention``) are pruned. The caller checks who may publish.
    """
    if mode not in MODES:
        raise ValueError(f"unknown version mode {mode!r}")
    storage = storage or get_storage()
    try:
        with unit_of_work(session):
            head = _lock_head(session, dataset.id)
            previous = None
            if head.version_id is not None:
                stmt = select(DatasetVersion).where(DatasetVersion.id == head.version_id)
                previous = session.scalars(stmt.execution_options(populate_existing=True)).one()
            if (
                mode in MERGING_MODES
                and based_on is not None
                and (previous is None or previous.id != based_on.id)
            ):
                raise Conflict(MSG_STALE_BASE)
            last = session.scalar(
                select(func.max(DatasetVersion.number)).where(
                    DatasetVersion.dataset_id == dataset.id
                )
            )
            number = (last or 0) + 1
            now = utcnow()
            added, removed, changed = counts if counts is not None else (None, None, None)
            base = based_on if based_on is not None else previous
            version = DatasetVersion(
                dataset_id=dataset.id,
                number=number,
                status=VersionStatus.LIVE,
                prefix=staged.prefix,
                row_count=staged.row_count,
                byte_size=staged.byte_size,
                checksum=staged.checksum,
                schema=list(staged.schema),
                mode=mode,
                source=dict(source),
                job_id=job_id,
                based_on_id=base.id if base is not None else None,
                added=added,
                removed=removed,
                changed=changed,
                rejected_count=rejected_count,
                rejected_key=rejected_key,
                quality=dict(quality or {}),
                created_by_id=actor.user_id,
                created_at=now,
                published_at=now,
            )
            if previous is not None:
                previous.status = VersionStatus.SUPERSEDED
            session.add(version)
            session.flush()
            head.version_id = version.id
            head.updated_at = now
            record(
                session,
                actor,
                "dataset_version.publish",
                "dataset_version",
                version.id,
                label=f"{dataset.code} v{number}",
                changes={
                    "dataset_id": dataset.id,
                    "number": number,
                    "mode": mode,
                    "rows": staged.row_count,
                    "checksum": staged.checksum,
                    "prefix": staged.prefix,
                    "previous": previous.number if previous is not None else None,
                    "source": source.get("kind"),
                    "rejected": rejected_count,
                    "counts": list(counts) if counts is not None else None,
                },
            )
            for hook in PUBLISH_HOOKS:
                hook(session, dataset, version)
    except BaseException:
        storage.delete_prefix(staged.prefix)
        raise
    storage.release(staged.prefix)
    try:
        prune(session, storage, dataset.id, keep=keep or get_settings().version_retention)
    except Exception:
        # The version is published; pruning is retried after the next publish.
        log.exception("pruning dataset %s after publish failed", dataset.id)
    return version


def current_version(session: Session, dataset_id: int) -> DatasetVersion | None:
    """The version readers of the dataset see now (None before its first publish)."""
    stmt = (
        select(DatasetVersion)
        .join(DatasetHead, DatasetHead.version_id == DatasetVersion.id)
        .where(DatasetHead.dataset_id == dataset_id)
    )
    return session.scalars(stmt).one_or_none()


def list_versions(session: Session, dataset_id: int) -> list[DatasetVersion]:
    """Every version of the dataset, newest first (pruned ones included, for history)."""
    stmt = (
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == dataset_id)
        .order_by(DatasetVersion.number.desc())
    )
    return list(session.scalars(stmt))


def change_counts(
    storage: Storage, old: DatasetVersion, new: DatasetVersion, key: Sequence[str]
) -> tuple[int, int, int]:
    """Rows added, removed and changed from ``old`` to ``new``, matched on ``key``.

    Counts only (no row leaves), so it needs no gate; the row-level diff is the gate's.
    """
    key = list(key)
    fields = duck.comparable_fields(old.schema, new.schema, key)
    with duck.duckdb_connection() as con:
        return duck.count_changes(
            con,
            storage.local_path(old.parquet_key),
            storage.local_path(new.parquet_key),
            key,
            fields,
        )


def prune(session: Session, storage: Storage, dataset_id: int, *, keep: int) -> int:
    """Delete the files of superseded versions beyond the newest ``keep``; returns how many.

    The version rows stay (status ``pruned``) for history and traceability; the live
    version is never pruned. The rows are marked (and audited as
    ``dataset_version.prune``) before the files go, so no live row ever names missing files.
    """
    keep = max(1, keep)
    with unit_of_work(session):
        head = session.scalars(
            select(DatasetHead).where(DatasetHead.dataset_id == dataset_id).with_for_update()
        ).one_or_none()
        if head is None:
            return 0
        stmt = (
            select(DatasetVersion)
            .where(
                DatasetVersion.dataset_id == dataset_id,
                DatasetVersion.status != VersionStatus.PRUNED,
            )
            .order_by(DatasetVersion.number.desc())
            .execution_options(populate_existing=True)
        )
        versions = list(session.scalars(stmt))
        victims = [
            v
            for v in versions[keep:]
            if v.status is VersionStatus.SUPERSEDED and v.id != head.version_id
        ]
        for v in victims:
            v.status = VersionStatus.PRUNED
        if victims:
            record(
                session,
                Actor.system("retention"),
                "dataset_version.prune",
                "dataset",
                dataset_id,
                label=f"dataset {dataset_id}",
                changes={"pruned": [v.number for v in victims], "keep": keep},
            )
    for v in victims:
        storage.delete_prefix(v.prefix)
    return len(victims)


@dataclass
class SweepReport:
    """What a sweep deleted or kept."""

    staging_deleted: list[str] = field(default_factory=list)
    orphans_deleted: list[str] = field(default_factory=list)
    markers_released: list[str] = field(default_factory=list)
    in_progress: int = 0
    trash_emptied: int = 0

    @property
    def deleted(self) -> int:
        return len(self.staging_deleted) + len(self.orphans_deleted)


def sweep(session: Session, storage: Storage) -> SweepReport:
    """Delete what dead writers and interrupted deletions left; keep everything in use.

    - a prefix marked ``writing`` whose writer is dead: deleted;
    - a prefix marked ``publishing`` whose writer is dead: kept (marker dropped) if a
      version row names it — the publish committed — else deleted;
    - a prefix without a marker that no live or superseded version names (a pruned one,
      or one whose publish failed without cleaning up): deleted once older than an hour;
    - prefixes of live writers are left alone.

    The disk is listed before the database is read, and markers are dropped only after the
    publish commits, so a version being published is never mistaken for an orphan. The
    database is read only when some prefix needs it, so a start-up sweep stays cheap.
    """
    report = SweepReport(trash_emptied=storage.empty_trash())
    now = time.time()
    candidates: list[tuple[str, bool]] = []  # (prefix, writer known dead)
    for dataset_prefix in storage.prefixes("datasets/"):
        for prefix in storage.prefixes(dataset_prefix):
            marker = storage.marker(prefix)
            if marker is None:
                if now - storage.modified_at(prefix) > ORPHAN_GRACE_SECONDS:
                    candidates.append((prefix, False))
            elif marker.writer_alive(now):
                report.in_progress += 1
            elif marker.state == WRITING:
                storage.delete_prefix(prefix)
                report.staging_deleted.append(prefix)
            else:
                assert marker.state == PUBLISHING
                candidates.append((prefix, True))
    if not candidates:
        return report
    with unit_of_work(session):
        referenced = set(
            session.scalars(
                select(DatasetVersion.prefix).where(DatasetVersion.status != VersionStatus.PRUNED)
            )
        )
    for prefix, dead_publisher in candidates:
        if prefix in referenced:
            if dead_publisher:
                storage.release(prefix)
                report.markers_released.append(prefix)
            continue
        storage.delete_prefix(prefix)
        report.orphans_deleted.append(prefix)
    return report


def sweep_on_start(settings: Settings, session_factory: sessionmaker[Session]) -> None:
    """The start-up sweep of the web app and the worker; a failure is logged, not raised."""
    try:
        with session_factory() as session:
            report = sweep(session, get_storage(settings))
        if report.deleted or report.markers_released:
            log.info(
                "store sweep: %d staging, %d orphan prefixes deleted, %d markers released",
                len(report.staging_deleted),
                len(report.orphans_deleted),
                len(report.markers_released),
            )
    except Exception:
        log.exception("store sweep at start failed")
