"""Ingestion: a file (or a pushed batch, or a pull) becomes a new dataset version.

The pipeline streams: the reader yields text batches, ``check_batch`` validates and coerces
them against the entry's fields, the version writer appends the passing rows to the new
Parquet file, and the rows that failed go, with a reason per cell, to the rejected-rows
file. Only when every row has been read does the service decide:

* a batch with errors under the ``reject`` policy publishes nothing;
* otherwise the version is finished (serving index built) and published in one
  transaction, so readers see the old version or the new one, never a mix.

Uniqueness of the key is checked over the whole upload with Arrow's hash kernels
(``value_counts``) on the key column collected across batches. Append and upsert merge the
new rows with the current version in DuckDB; the current version's rows are read through
the gate like any other read.

Nothing here commits half a state: the version writer deletes its files when anything
fails, the ingestion row records the failure, and the previous version keeps serving.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import logging
import os
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any, BinaryIO

import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gongshu.audit.service import record
from gongshu.auth.actor import Actor
from gongshu.auth.models import User
from gongshu.catalog.models import Dataset, DatasetState, Sensitivity
from gongshu.catalog.queries import safe_cell
from gongshu.catalog.workflow import owns
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import NotFound, PermissionDenied, ValidationFailed
from gongshu.gate import service as gate
from gongshu.i18n import N_, translate
from gongshu.ingest.checks import CheckedBatch, arrow_schema, check_batch
from gongshu.ingest.mapping import ColumnMapping, resolve
from gongshu.ingest.merge import (
    ROW_COLUMN,
    copy_current,
    duplicate_rows,
    merge,
    staged_duplicates,
    tmp_dir,
    with_row,
)
from gongshu.ingest.models import (
    Ingestion,
    IngestMode,
    IngestProfile,
    IngestStatus,
    InvalidPolicy,
    SourceKind,
)
from gongshu.ingest.readers import ReadLimits, ReadOptions, open_table
from gongshu.ingest.spec import CellIssue, FieldSpec, specs_of
from gongshu.jobs.service import enqueue, handler
from gongshu.masking import mask
from gongshu.settings import Settings, get_settings
from gongshu.store.models import DatasetVersion, VersionStatus
from gongshu.store.storage import Marker, Storage, get_storage
from gongshu.store.versions import (
    StagedVersion,
    VersionWriter,
    current_version,
    on_publish,
    publish,
)

log = logging.getLogger(__name__)

INGEST_JOB = "ingest.run"
# How many issues an ingestion keeps in its row for the page; all of them go to the file.
KEPT_ISSUES = 500
REJECTED_NAME = "rejected.csv"
SAMPLES_PER_FIELD = 5
# Rows checked at a time: the column kernels' fixed costs fade at this size (a third less
# time per row than at 40,000), and a batch of wide rows is cut by bytes by the reader.
CHECK_BATCH_ROWS = 131_072
INGESTIBLE_STATES = frozenset({DatasetState.APPROVED, DatasetState.PUBLISHED})

MSG_NOT_INGESTIBLE = N_("目录条目审核通过后才能汇聚数据")
MSG_NO_FIELDS = N_("目录条目没有信息项，无法汇聚数据")
MSG_MISSING_COLUMNS = N_("文件缺少必填列：{columns}")
MSG_NO_KEY = N_("按主键更新需要目录条目标出主键信息项")
MSG_NO_VALID_ROWS = N_("没有通过校验的数据行")
MSG_DUPLICATE_KEY = N_("主键重复：{value}")
MSG_KEY_EXISTS = N_("追加的数据主键已存在：{value}")
MSG_ONLY_OFFICERS = N_("只有本部门的数据专管员可以汇聚数据")
MSG_BAD_NAME = N_("文件名无效")
MSG_REJECTED_BATCH = N_("有 {count} 行未通过校验，按本目录的设置整批拒绝，未发布新版本")
MSG_CHOOSE_FILE = N_("请选择要上传的数据文件")
MSG_BAD_HEADER_ROW = N_("表头行号应为 1 到 1000 之间的整数")
MSG_NO_INGESTION = N_("汇聚任务不存在")
MSG_NO_REJECTED = N_("这次汇聚没有被拒绝的数据行")
MSG_EMPTY_PUSH = N_("没有要推送的数据行")
MSG_PUSH_TOO_LARGE = N_("一次最多推送 {limit} 行，请分批推送")
PUSH_FILE_NAME = "push.ndjson"
MSG_INTERRUPTED = N_("汇聚进程中断，未发布新版本")
# A CLI ingestion is created queued and started at once; one still queued after this long
# without a job lost its process before it began.
STALE_QUEUED = dt.timedelta(hours=1)
MSG_SNAPSHOT_NEEDS_UPSERT = N_("只有按主键更新可以声明为全量快照")
ROW_NUMBER_HEADER = N_("行号")
REASON_HEADER = N_("错误说明")
REASON_JOIN = N_("；")


@dataclass
class IngestResult:
    """What an ingestion did; ``version`` is None when nothing was published."""

    ingestion: Ingestion
    version: DatasetVersion | None
    rows_read: int = 0
    rows_valid: int = 0
    rows_rejected: int = 0
    warnings: int = 0
    counts: tuple[int, int, int] | None = None  # added, removed, changed (append/upsert)
    timings: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------
# Accepting work


def safe_file_name(name: str) -> str:
    """The last part of a user-supplied file name, with nothing that could act as a path."""
    base = PurePath(name.replace("\\", "/")).name.strip().lstrip(".")
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '/\\:*?"<>|')
    if not base:
        raise ValidationFailed.single("file", MSG_BAD_NAME)
    return base[:200]


def check_may_ingest(actor: Actor, dataset: Dataset) -> None:
    if actor.is_system:
        return
    if not owns(actor, dataset):
        raise PermissionDenied(MSG_ONLY_OFFICERS)


def _check_dataset(dataset: Dataset, mode: IngestMode, snapshot: bool) -> list[FieldSpec]:
    if dataset.state not in INGESTIBLE_STATES:
        raise ValidationFailed(MSG_NOT_INGESTIBLE)
    specs = specs_of(dataset)
    if not specs:
        raise ValidationFailed(MSG_NO_FIELDS)
    if mode is IngestMode.UPSERT and not any(s.is_key for s in specs):
        raise ValidationFailed.single("mode", MSG_NO_KEY)
    if snapshot and mode is not IngestMode.UPSERT:
        raise ValidationFailed.single("snapshot", MSG_SNAPSHOT_NEEDS_UPSERT)
    return specs


def profile_of(session: Session, dataset_id: int) -> IngestProfile:
    profile = session.get(IngestProfile, dataset_id)
    if profile is None:
        profile = IngestProfile(dataset_id=dataset_id, on_invalid=InvalidPolicy.REJECT, mapping={})
        session.add(profile)
        session.flush()
    return profile


def set_profile(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    *,
    on_invalid: InvalidPolicy | None = None,
    mapping: dict[str, str] | None = None,
) -> IngestProfile:
    """Change how the dataset's uploads are handled (policy, remembered column mapping)."""
    check_may_ingest(actor, dataset)
    with unit_of_work(session):
        profile = profile_of(session, dataset.id)
        before = {"on_invalid": str(profile.on_invalid), "mapping": dict(profile.mapping)}
        if on_invalid is not None:
            profile.on_invalid = on_invalid
        if mapping is not None:
            names = {f.name for f in dataset.fields}
            profile.mapping = {k: v for k, v in mapping.items() if k in names and v}
        profile.updated_by_id = actor.user_id
        after = {"on_invalid": str(profile.on_invalid), "mapping": dict(profile.mapping)}
        if before != after:
            record(
                session,
                actor,
                "ingest_profile.update",
                "dataset",
                dataset.id,
                label=dataset.title,
                changes={k: [before[k], after[k]] for k in after if before[k] != after[k]},
            )
    return profile


def _store_upload(storage: Storage, stream: BinaryIO, name: str) -> tuple[str, str, int]:
    """Copy the upload into storage, hashing it on the way; returns key, sha256, size."""
    digest = hashlib.sha256()
    size = 0
    key = f"uploads/{utcnow():%Y%m}/{uuid.uuid4().hex}/{name}"
    with storage.writer(key) as out:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return key, digest.hexdigest(), size


def submit_upload(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    stream: BinaryIO,
    *,
    name: str,
    mode: IngestMode = IngestMode.REPLACE,
    snapshot: bool = False,
    on_invalid: InvalidPolicy | None = None,
    options: ReadOptions | None = None,
    mapping: dict[str, str] | None = None,
    queue: bool = True,
    storage: Storage | None = None,
    source_kind: SourceKind = SourceKind.UPLOAD,
    source: dict[str, Any] | None = None,
) -> Ingestion:
    """Keep the uploaded file and queue its ingestion (or leave it for the caller to run).

    Pulls and pushes come this way too (``source_kind``), as a file of their rows, so that
    their validation, versions, rejected rows and traceability are an upload's; ``source``
    adds what the version should record of where the rows came from (never secrets).
    """
    check_may_ingest(actor, dataset)
    _check_dataset(dataset, mode, snapshot)
    safe = safe_file_name(name)
    storage = storage or get_storage()
    key, sha, size = _store_upload(storage, stream, safe)
    options = options or ReadOptions()
    try:
        with unit_of_work(session):
            profile = profile_of(session, dataset.id)
            ingestion = Ingestion(
                dataset_id=dataset.id,
                # Run at once by this process (CLI, push): running from the start, so that a
                # process killed before it began is still found by the start-up recovery.
                status=IngestStatus.QUEUED if queue else IngestStatus.RUNNING,
                started_at=None if queue else utcnow(),
                runner={} if queue else _this_process(),
                source_kind=source_kind,
                mode=mode,
                snapshot=snapshot,
                on_invalid=on_invalid or profile.on_invalid,
                file_name=safe,
                file_key=key,
                file_sha256=sha,
                file_bytes=size,
                options=_options_dict(options),
                detected={"source": dict(source)} if source else {},
                mapping=dict(mapping) if mapping is not None else {},
                created_by_id=actor.user_id,
            )
            session.add(ingestion)
            session.flush()
            if queue:
                job = enqueue(session, INGEST_JOB, {"ingestion_id": ingestion.id}, max_attempts=1)
                ingestion.job_id = job.id
            record(
                session,
                actor,
                "ingestion.create",
                "dataset",
                dataset.id,
                label=dataset.title,
                changes={
                    "ingestion": [None, ingestion.id],
                    "file": [None, safe],
                    "mode": [None, str(mode)],
                    "bytes": [None, size],
                },
            )
    except BaseException:
        storage.delete(key)
        raise
    return ingestion


def _options_dict(options: ReadOptions) -> dict[str, Any]:
    return {k: v for k, v in vars(options).items() if v is not None}


def _options_of(data: dict[str, Any]) -> ReadOptions:
    allowed = set(ReadOptions.__dataclass_fields__)
    return ReadOptions(**{k: v for k, v in data.items() if k in allowed})


# ---------------------------------------------------------------------------------------
# Running an ingestion


Progress = Callable[[int, int], None]


@dataclass
class _Tally:
    """Counts gathered while streaming, per field, for the quality report."""

    specs: Sequence[FieldSpec]
    rows_read: int = 0
    rows_valid: int = 0
    warnings: int = 0
    filled: dict[str, int] = field(default_factory=dict)
    invalid: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    issues: list[dict[str, Any]] = field(default_factory=list)
    # Rows rejected, counted (not kept: a file of millions of bad rows stays small in memory).
    rejected: int = 0
    # Of those, rows whose key is duplicated in the file or, on append, already there.
    duplicates: int = 0

    def note(self, issue: CellIssue) -> None:
        spec = next((s for s in self.specs if s.name == issue.column), None)
        if issue.severity == "error" and spec is not None:
            self.invalid[issue.column] = self.invalid.get(issue.column, 0) + 1
            bucket = self.samples.setdefault(issue.column, [])
            if len(bucket) < SAMPLES_PER_FIELD:
                bucket.append(
                    {
                        "row": issue.row,
                        "value": mask(issue.value, spec.sensitivity),
                        "message": issue.message,
                        "params": _jsonable(issue.params),
                    }
                )
        if len(self.issues) < KEPT_ISSUES:
            self.issues.append(
                {
                    "row": issue.row,
                    "column": issue.column,
                    "message": issue.message,
                    "params": _jsonable(issue.params),
                    "value": mask(issue.value, spec.sensitivity) if spec else issue.value,
                    "severity": issue.severity,
                }
            )


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, int | float | str | bool) else str(v) for k, v in params.items()}


class _RejectedFile:
    """The rejected rows as the user sent them, with the reasons per cell, as CSV.

    UTF-8 with a BOM so that Excel opens Chinese text correctly; every cell is written so that
    a spreadsheet shows it as text and never runs it as a formula.
    """

    def __init__(self, path: Path, headers: Sequence[str], labels: dict[str, str]) -> None:
        self.path = path
        self.headers = list(headers)
        self.labels = labels
        self.count = 0
        self._fh = path.open("w", encoding="utf-8-sig", newline="")
        self._out = csv.writer(self._fh)
        self._out.writerow([translate(ROW_NUMBER_HEADER), *self.headers, translate(REASON_HEADER)])

    def _reason(self, issues: Sequence[CellIssue]) -> str:
        parts = []
        for issue in issues:
            text = translate(issue.message, **issue.params)
            label = self.labels.get(issue.column, issue.column)
            parts.append(f"{label}: {text}" if issue.column and label not in text else text)
        return translate(REASON_JOIN).join(parts)

    def add(self, row: int, values: Sequence[Any], issues: Sequence[CellIssue]) -> None:
        if self._fh.closed:  # rows found after the version was first finished (duplicates)
            self._fh = self.path.open("a", encoding="utf-8", newline="")
            self._out = csv.writer(self._fh)
        self._out.writerow(
            [row, *(safe_cell(v) if v is not None else "" for v in values), self._reason(issues)]
        )
        self.count += 1

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def save(self, storage: Storage, ingestion_id: int) -> str:
        """Keep the file with the ingestion; returns its key ("" when no row was rejected)."""
        self.close()
        if not self.count:
            return ""
        key = f"ingestions/{ingestion_id}/{REJECTED_NAME}"
        storage.save(key, self.path)
        return key


def _raw_rows(
    batch: pa.RecordBatch, numbers: pa.Array, wanted: set[int]
) -> Iterator[tuple[int, list[Any]]]:
    mask_ = pc.is_in(numbers, value_set=pa.array(sorted(wanted), pa.int64()))
    chosen = batch.filter(mask_)
    rows = pc.filter(numbers, mask_).to_pylist()
    columns = [col.to_pylist() for col in chosen.columns]
    for i, row in enumerate(rows):
        yield row, [col[i] for col in columns]


class _Pass:
    """One streaming pass over the source: read, check, write passing rows, collect the rest."""

    def __init__(
        self,
        *,
        source_path: Path,
        ingestion: Ingestion,
        specs: Sequence[FieldSpec],
        mapping: ColumnMapping,
        limits: ReadLimits,
        exclude: set[int],
        progress: Progress | None,
    ) -> None:
        self.source_path = source_path
        self.ingestion = ingestion
        self.specs = specs
        self.mapping = mapping
        self.limits = limits
        self.exclude = exclude
        self.progress = progress
        self.key_names = [s.name for s in specs if s.is_key]

    def run(self, sink: Callable[[pa.RecordBatch], None], rejected: _RejectedFile | None) -> _Tally:
        tally = _Tally(self.specs)
        options = _options_of(self.ingestion.options)
        with open_table(
            self.source_path, name=self.ingestion.file_name, options=options, limits=self.limits
        ) as source:
            seen_issues = 0
            for numbers, raw in source.batches(CHECK_BATCH_ROWS):
                checked = check_batch(raw, numbers, self.specs, self.mapping.columns)
                self._account(tally, raw, numbers, checked, rejected)
                batch = checked.batch
                if self.exclude and batch.num_rows:
                    keep = pc.invert(
                        pc.is_in(
                            batch.column(ROW_COLUMN),
                            value_set=pa.array(sorted(self.exclude), pa.int64()),
                        )
                    )
                    batch = batch.filter(keep)
                if batch.num_rows:
                    sink(batch)
                    tally.rows_valid += batch.num_rows
                pa.default_memory_pool().release_unused()
                # Reader issues (ragged rows, over-long cells) arrive between batches.
                for issue in source.issues[seen_issues:]:
                    tally.rows_read += 1
                    tally.rejected += 1
                    tally.note(issue)
                    if rejected is not None:
                        rejected.add(issue.row, [], [issue])
                seen_issues = len(source.issues)
                if self.progress is not None:
                    self.progress(source.bytes_read, source.total_bytes)
            for issue in source.issues[seen_issues:]:
                tally.rows_read += 1
                tally.rejected += 1
                tally.note(issue)
                if rejected is not None:
                    rejected.add(issue.row, [], [issue])
            self.detected = {
                "format": source.format,
                "encoding": source.encoding,
                "delimiter": source.delimiter,
                "sheet": source.sheet,
                "headers": list(source.headers),
            }
        return tally

    def _account(
        self,
        tally: _Tally,
        raw: pa.RecordBatch,
        numbers: pa.Array,
        checked: CheckedBatch,
        rejected: _RejectedFile | None,
    ) -> None:
        tally.rows_read += raw.num_rows
        tally.warnings += checked.warnings
        for spec in self.specs:
            header = self.mapping.columns.get(spec.name)
            if header is not None:
                column = raw.column(raw.schema.get_field_index(header))
                filled = len(column) - column.null_count
                tally.filled[spec.name] = tally.filled.get(spec.name, 0) + filled
        by_row: dict[int, list[CellIssue]] = {}
        for issue in checked.issues:
            tally.note(issue)
            if issue.severity == "error":
                by_row.setdefault(issue.row, []).append(issue)
        tally.rejected += len(checked.rejected_rows)
        if rejected is not None and checked.rejected_rows:
            for row, values in _raw_rows(raw, numbers, set(checked.rejected_rows)):
                rejected.add(row, values, by_row.get(row, []))


def _quality(tally: _Tally, specs: Sequence[FieldSpec], rejected: int) -> dict[str, Any]:
    rows = tally.rows_read
    fields = {}
    for spec in specs:
        filled = tally.filled.get(spec.name, 0)
        invalid = tally.invalid.get(spec.name, 0)
        fields[spec.name] = {
            "label": spec.label,
            "filled": filled,
            "completeness": round(filled / rows, 4) if rows else None,
            "invalid": invalid,
            "validity": round((filled - invalid) / filled, 4) if filled else None,
            "samples": tally.samples.get(spec.name, []),
        }
    return {
        "rows_read": rows,
        "rows_valid": tally.rows_valid,
        "rows_rejected": rejected,
        "warnings": tally.warnings,
        "duplicates": tally.duplicates,
        "fields": fields,
    }


def _actor_of(session: Session, ingestion: Ingestion) -> Actor:
    from gongshu.auth.service import actor_for_user

    if ingestion.created_by_id is None:
        return Actor.system("ingest")
    user = session.get(User, ingestion.created_by_id)
    if user is None:
        return Actor.system("ingest")
    return actor_for_user(user)


def _finish(
    session: Session,
    ingestion: Ingestion,
    *,
    status: IngestStatus,
    tally: _Tally | None,
    rejected_key: str = "",
    version: DatasetVersion | None = None,
    error: str = "",
    detected: dict[str, Any] | None = None,
    mapping: dict[str, str] | None = None,
    issues: list[dict[str, Any]] | None = None,
) -> None:
    with unit_of_work(session):
        ingestion.status = status
        ingestion.finished_at = utcnow()
        ingestion.error = error
        ingestion.rejected_key = rejected_key
        ingestion.version_id = version.id if version is not None else None
        if detected is not None:
            ingestion.detected = detected
        if mapping is not None:
            ingestion.mapping = mapping
        if tally is not None:
            ingestion.rows_read = tally.rows_read
            ingestion.rows_valid = tally.rows_valid if version is not None else 0
            ingestion.rows_rejected = tally.rejected
            ingestion.warnings = tally.warnings
            ingestion.issues = tally.issues
        if issues is not None:
            ingestion.issues = issues


def run(
    session: Session,
    ingestion_id: int,
    *,
    progress: Progress | None = None,
    settings: Settings | None = None,
    storage: Storage | None = None,
) -> IngestResult:
    """Carry out a queued ingestion to its end: published, rejected or failed."""
    settings = settings or get_settings()
    storage = storage or get_storage(settings)
    ingestion = session.get(Ingestion, ingestion_id)
    if ingestion is None:
        raise NotFound(MSG_NO_INGESTION)
    result = IngestResult(ingestion=ingestion, version=None)
    mine = ingestion.status is IngestStatus.RUNNING and ingestion.runner == _this_process()
    if ingestion.status is not IngestStatus.QUEUED and not mine:
        # A job taken again after its lease ran out, while the first run goes on or is done.
        log.warning("ingestion %s is %s, not run again", ingestion_id, ingestion.status)
        return result
    dataset = session.get(Dataset, ingestion.dataset_id)
    assert dataset is not None
    actor = _actor_of(session, ingestion)
    started = time.perf_counter()
    with unit_of_work(session):
        ingestion.status = IngestStatus.RUNNING
        ingestion.started_at = utcnow()
        ingestion.runner = _this_process()
    last_saved = [0.0]

    def track(done: int, total: int) -> None:
        # The page polls bytes_done; saving it at most once a second keeps commits cheap.
        now = time.monotonic()
        if now - last_saved[0] >= 1.0:
            last_saved[0] = now
            with unit_of_work(session):
                ingestion.bytes_done = done
        if progress is not None:
            progress(done, total)

    try:
        specs = _check_dataset(dataset, ingestion.mode, ingestion.snapshot)
        version = _run_pass(
            session, actor, dataset, ingestion, specs, result, track, settings, storage
        )
    except ValidationFailed as exc:  # the file or the entry cannot be taken as it is
        session.rollback()
        problem = {
            "row": 0,
            "column": "",
            "message": exc.message,
            "params": _jsonable(dict(exc.params)),
            "severity": "error",
        }
        _finish(
            session,
            ingestion,
            status=IngestStatus.REJECTED,
            tally=None,
            error=exc.message,
            issues=[problem],
        )
        return result
    except Exception as exc:
        session.rollback()
        log.exception("ingestion %s failed", ingestion_id)
        _finish(
            session,
            ingestion,
            status=IngestStatus.FAILED,
            tally=None,
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        raise
    result.version = version
    result.timings["live_s"] = time.perf_counter() - started
    return result


def _run_pass(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    ingestion: Ingestion,
    specs: list[FieldSpec],
    result: IngestResult,
    progress: Progress | None,
    settings: Settings,
    storage: Storage,
) -> DatasetVersion | None:
    started = time.perf_counter()
    source_path = storage.local_path(ingestion.file_key)
    limits = ReadLimits.from_settings(settings)
    with open_table(
        source_path, name=ingestion.file_name, options=_options_of(ingestion.options), limits=limits
    ) as probe:
        headers = list(probe.headers)
    profile = profile_of(session, dataset.id)
    mapping = resolve(
        specs,
        headers,
        chosen=ingestion.mapping or None,
        remembered=profile.mapping,
    )
    if mapping.missing_required:
        raise ValidationFailed(
            MSG_MISSING_COLUMNS,
            columns=translate(REASON_JOIN).join(s.label for s in mapping.missing_required),
        )
    labels = {s.name: s.label for s in specs}
    current = current_version(session, dataset.id)
    workdir = Path(tempfile.mkdtemp(prefix=f"ingest-{os.getpid()}-", dir=tmp_dir(settings)))
    try:
        rejected = _RejectedFile(workdir / "rejected.csv", headers, labels)
        merging = ingestion.mode is not IngestMode.REPLACE and current is not None
        try:
            version, tally = _write_version(
                session,
                actor,
                dataset,
                ingestion,
                specs,
                mapping,
                limits,
                progress,
                storage,
                rejected,
                workdir,
                current,
                merging,
                result,
            )
        finally:
            rejected.close()
        rejected_key = version.rejected_key if version is not None else ""
        if version is None:
            rejected_key = rejected.save(storage, ingestion.id)
        result.rows_read = tally.rows_read
        result.rows_valid = tally.rows_valid if version is not None else 0
        result.rows_rejected = tally.rejected
        result.warnings = tally.warnings
        result.timings["parquet_s"] = result.timings.get("parquet_s", time.perf_counter() - started)
        if version is None:
            _finish(
                session,
                ingestion,
                status=IngestStatus.REJECTED,
                tally=tally,
                rejected_key=rejected_key,
                detected=ingestion.detected,
                mapping=mapping.columns,
            )
            return None
        with unit_of_work(session):
            profile.mapping = dict(mapping.columns)
        _finish(
            session,
            ingestion,
            status=IngestStatus.PUBLISHED,
            tally=tally,
            rejected_key=rejected_key,
            version=version,
            detected=ingestion.detected,
            mapping=mapping.columns,
        )
        return version
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _write_version(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    ingestion: Ingestion,
    specs: list[FieldSpec],
    mapping: ColumnMapping,
    limits: ReadLimits,
    progress: Progress | None,
    storage: Storage,
    rejected: _RejectedFile,
    workdir: Path,
    current: DatasetVersion | None,
    merging: bool,
    result: IngestResult,
) -> tuple[DatasetVersion | None, _Tally]:
    """Stream the source into a version (or a merge input), decide, finish and publish."""
    started = time.perf_counter()

    def make_pass(exclude: set[int]) -> _Pass:
        return _Pass(
            source_path=storage.local_path(ingestion.file_key),
            ingestion=ingestion,
            specs=specs,
            mapping=mapping,
            limits=limits,
            exclude=exclude,
            progress=progress,
        )

    keys = [s.name for s in specs if s.is_key]
    writer = VersionWriter(storage, dataset.id, specs)
    try:
        stream = make_pass(set())
        if merging:
            new_rows = workdir / "new.parquet"
            merge_schema = with_row(arrow_schema(specs))
            with pq.ParquetWriter(new_rows, merge_schema) as out:
                tally = stream.run(lambda b: out.write_batch(b.cast(merge_schema)), rejected)
        else:
            tally = stream.run(writer.write, rejected)
        ingestion.detected = {**ingestion.detected, **stream.detected}
        refuse = ingestion.on_invalid is InvalidPolicy.REJECT
        if tally.rejected and refuse:
            writer.abort()
            return None, tally
        written = tally.rows_valid
        if merging:
            assert current is not None
            duplicates = duplicate_rows(new_rows, keys) if keys else {}
            _reject_all(tally, rejected, duplicates, keys, MSG_DUPLICATE_KEY)
            if duplicates and refuse:
                writer.abort()
                return None, tally
            old_rows = workdir / "old.parquet"
            copy_current(session, actor, dataset, current, specs, old_rows, storage)
            outcome = merge(ingestion, specs, old_rows, new_rows, writer, set(duplicates))
            result.counts = outcome.counts
            _reject_all(tally, rejected, outcome.clashes, keys, MSG_KEY_EXISTS)
            if outcome.clashes and refuse:
                writer.abort()
                return None, tally
            written -= len(duplicates) + len(outcome.clashes)
        if written <= 0:
            writer.abort()
            raise ValidationFailed(MSG_NO_VALID_ROWS)
        # Every row read, checked and in a closed Parquet file; the serving index may still
        # be loading (``finish`` waits for it), and the key's uniqueness is checked on it.
        writer.close_parquet()
        result.timings["parquet_s"] = time.perf_counter() - started
        staged = _finish_writer(writer, rejected)
        if keys and not merging:
            # The key's uniqueness over the whole file, from the index just built: no key
            # is held in memory while the file streams.
            duplicates = staged_duplicates(storage, staged, keys)
            if duplicates:
                writer.abort()
                _reject_all(tally, rejected, duplicates, keys, MSG_DUPLICATE_KEY)
                if refuse:
                    return None, tally
                # Quarantine: read the file once more, leaving every row of a duplicated key
                # out; rare enough that a second pass beats keeping every row at hand.
                writer = VersionWriter(storage, dataset.id, specs)
                written = make_pass(set(duplicates)).run(writer.write, None).rows_valid
                if written <= 0:
                    writer.abort()
                    raise ValidationFailed(MSG_NO_VALID_ROWS)
                staged = _finish_writer(writer, rejected)
        tally.rows_valid = written
    except BaseException:
        writer.abort()
        raise
    version = publish(
        session,
        actor,
        dataset,
        staged,
        mode=str(ingestion.mode),
        source=_source_of(ingestion),
        job_id=ingestion.job_id,
        based_on=current,
        quality=_quality(tally, specs, tally.rejected),
        rejected_count=tally.rejected,
        rejected_key=staged.prefix + REJECTED_NAME if rejected.count else "",
        counts=result.counts,
        storage=storage,
    )
    return version, tally


def _reject_all(
    tally: _Tally,
    rejected: _RejectedFile,
    rows: dict[int, str],
    keys: Sequence[str],
    message: str,
) -> None:
    """Reject whole rows for a reason about their key (duplicated, already there)."""
    for row, value in sorted(rows.items()):
        issue = CellIssue(row, keys[0], message, {"value": value}, value)
        tally.note(issue)
        tally.rejected += 1
        tally.duplicates += 1
        rejected.add(row, [], [issue])


def _finish_writer(writer: VersionWriter, rejected: _RejectedFile) -> StagedVersion:
    """Finish the version with the rejected rows so far committed beside it."""
    rejected.close()
    if rejected.count:
        # Committed with the version's files, so it exists exactly when the version does.
        shutil.copyfile(rejected.path, writer.extra_file(REJECTED_NAME))
    return writer.finish()


def _source_of(ingestion: Ingestion) -> dict[str, Any]:
    extra = ingestion.detected.get("source")
    return {
        **(extra if isinstance(extra, dict) else {}),
        "kind": str(ingestion.source_kind),
        "ingestion": ingestion.id,
        "file_name": ingestion.file_name,
        "file_key": ingestion.file_key,
        "file_sha256": ingestion.file_sha256,
        "bytes": ingestion.file_bytes,
        **{k: v for k, v in ingestion.detected.items() if k not in ("headers", "source")},
    }


@handler(INGEST_JOB)
def _run_job(session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    result = run(session, int(payload["ingestion_id"]))
    return {
        "status": str(result.ingestion.status),
        "version": result.version.id if result.version is not None else None,
        "rows_read": result.rows_read,
        "rows_rejected": result.rows_rejected,
    }


def ingest_file(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    path: Path,
    *,
    name: str | None = None,
    options: ReadOptions | None = None,
    mode: IngestMode = IngestMode.REPLACE,
    snapshot: bool = False,
    on_invalid: InvalidPolicy | None = None,
    mapping: dict[str, str] | None = None,
    progress: Progress | None = None,
    settings: Settings | None = None,
) -> IngestResult:
    """Ingest a local file now, in this process (the CLI and benchmarks use this)."""
    settings = settings or get_settings()
    storage = get_storage(settings)
    with path.open("rb") as stream:
        ingestion = submit_upload(
            session,
            actor,
            dataset,
            stream,
            name=name or path.name,
            mode=mode,
            snapshot=snapshot,
            on_invalid=on_invalid,
            options=options,
            mapping=mapping,
            queue=False,
            storage=storage,
        )
    return run(session, ingestion.id, progress=progress, settings=settings, storage=storage)


def rejected_download(
    session: Session, actor: Actor, dataset: Dataset, ingestion: Ingestion
) -> Response:
    """The rejected rows file, read through the gate (it holds the provider's raw values)."""
    if not ingestion.rejected_key:
        raise NotFound(MSG_NO_REJECTED)
    handle = gate.open_file(
        session,
        actor,
        dataset,
        ingestion.rejected_key,
        purpose="rejected_rows",
        rows=ingestion.rows_rejected,
    )

    def chunks() -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(256 * 1024):
                yield chunk

    name = f"rejected-{dataset.code.replace('/', '-')}-{ingestion.id}.csv"
    return StreamingResponse(
        chunks(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _this_process() -> dict[str, Any]:
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "process_started": psutil.Process().create_time(),
    }


def _runner_alive(runner: dict[str, Any], started: dt.datetime | None) -> bool:
    if not runner:
        return False
    marker = Marker(
        state="running",
        host=str(runner.get("host", "")),
        pid=int(runner.get("pid", 0)),
        process_started=float(runner.get("process_started", 0.0)),
        at=started.timestamp() if started is not None else 0.0,
    )
    return marker.writer_alive()


def _interrupted(ingestion: Ingestion, cutoff: dt.datetime) -> bool:
    """Running in a process that is gone, or queued by a CLI run that never started it."""
    if ingestion.status is IngestStatus.RUNNING:
        return not _runner_alive(ingestion.runner, ingestion.started_at)
    return ingestion.job_id is None and ingestion.created_at < cutoff


def recover(settings: Settings, session_factory: sessionmaker[Session]) -> int:
    """At start: fail the ingestions whose process died mid-way, and clear their work files.

    The version files they may have left are the store sweep's; this clears the rest, so a
    killed ingestion leaves a failed ingestion row (its upload kept, for the record) and
    nothing half-made. Returns how many ingestions were failed. Errors are logged.
    """
    failed = 0
    try:
        bind = session_factory.kw["bind"]
        with bind.connect().execution_options(isolation_level="AUTOCOMMIT") as probe:
            unfinished = probe.scalar(
                select(func.count())
                .select_from(Ingestion)
                .where(Ingestion.status.in_([IngestStatus.RUNNING, IngestStatus.QUEUED]))
            )
        if unfinished:
            with session_factory() as session:
                stale = session.scalars(
                    select(Ingestion).where(
                        Ingestion.status.in_([IngestStatus.RUNNING, IngestStatus.QUEUED])
                    )
                ).all()
                cutoff = utcnow() - STALE_QUEUED
                with unit_of_work(session):
                    for ingestion in stale:
                        if _interrupted(ingestion, cutoff):
                            ingestion.status = IngestStatus.FAILED
                            ingestion.error = MSG_INTERRUPTED
                            ingestion.finished_at = utcnow()
                            failed += 1
        root = tmp_dir(settings)
        for workdir in root.glob("ingest-*"):
            pid = workdir.name.split("-")[1]
            if pid.isdigit() and not psutil.pid_exists(int(pid)):
                shutil.rmtree(workdir, ignore_errors=True)
    except Exception:
        log.exception("recovering interrupted ingestions failed")
    return failed


def push_rows(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    rows: Sequence[dict[str, Any]],
    *,
    mode: IngestMode = IngestMode.APPEND,
    snapshot: bool = False,
    on_invalid: InvalidPolicy | None = None,
    settings: Settings | None = None,
) -> IngestResult:
    """A batch of rows sent by a system (field name -> value), ingested at once.

    The batch goes through the same pipeline as a file (as NDJSON), so it is checked,
    versioned and traceable the same way; the source records it as a push.
    """
    settings = settings or get_settings()
    if not rows:
        raise ValidationFailed.single("rows", MSG_EMPTY_PUSH)
    if len(rows) > settings.push_max_rows:
        raise ValidationFailed(MSG_PUSH_TOO_LARGE, limit=settings.push_max_rows)
    body = io.BytesIO()
    for row in rows:
        body.write(json.dumps(row, ensure_ascii=False, default=str).encode("utf-8"))
        body.write(b"\n")
    body.seek(0)
    storage = get_storage(settings)
    ingestion = submit_upload(
        session,
        actor,
        dataset,
        body,
        name=PUSH_FILE_NAME,
        mode=mode,
        snapshot=snapshot,
        on_invalid=on_invalid,
        options=ReadOptions(format="ndjson"),
        queue=False,
        storage=storage,
        source_kind=SourceKind.PUSH,
        source={"rows_sent": len(rows), "api_key": actor.api_key_id},
    )
    return run(session, ingestion.id, settings=settings, storage=storage)


def ingestions(session: Session, dataset_id: int, *, limit: int = 50) -> list[Ingestion]:
    """The dataset's latest ingestions, newest first."""
    return list(
        session.scalars(
            select(Ingestion)
            .where(Ingestion.dataset_id == dataset_id)
            .order_by(Ingestion.id.desc())
            .limit(limit)
        )
    )


PROFILE_JOB = "ingest.profile"


@on_publish
def _queue_profile(session: Session, dataset: Dataset, version: DatasetVersion) -> None:
    enqueue(session, PROFILE_JOB, {"version_id": version.id})


@handler(PROFILE_JOB)
def _profile_job(session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    version = session.get(DatasetVersion, int(payload["version_id"]))
    if version is None or version.status is VersionStatus.PRUNED:
        return {"skipped": True}
    return {"fields": profile_version(session, version)}


def profile_version(session: Session, version: DatasetVersion) -> int:
    """Add each field's distinct count, minimum and maximum to the version's quality report.

    Read through the gate as the platform (one DuckDB scan of the Parquet file) after the
    version is live, so that publishing never waits for it. Returns the fields profiled.
    """
    dataset = session.get(Dataset, version.dataset_id)
    assert dataset is not None
    stats = gate.profile(
        session, Actor.system("quality"), dataset, version, purpose="quality.profile"
    )
    sensitivity = {str(c["name"]): str(c.get("sensitivity") or "none") for c in version.schema}
    quality = dict(version.quality)
    fields = {name: dict(values) for name, values in quality.get("fields", {}).items()}
    for name, values in stats.items():
        entry = fields.setdefault(name, {})
        entry["distinct"] = values["distinct"]
        # Extremes are values like any other: masked where the field is sensitive.
        for bound in ("min", "max"):
            raw = values[bound]
            text = None if raw is None else str(raw)
            entry[bound] = mask(text, Sensitivity(sensitivity.get(name, "none")))
    quality["fields"] = fields
    quality["profiled"] = True
    with unit_of_work(session):
        version.quality = quality
    return len(stats)
