"""The consistency check (一数一源比对): every copy of a bound item against its source.

For each (item, copy) pair the check reads the key and the item's field of the source's
and of the copy's current versions — through the gate, as the platform (``Actor.system
("governance")``, purpose ``consistency``) — into local Parquet files, and joins them in
DuckDB on the key (the field checked as the item's identifier). A key present in both with
a non-empty value on each side and different values is a mismatch:

- a mismatch without an issue opens one (``ConsistencyIssue``, one per copy dataset, item
  and key value); a resolved issue that disagrees again is reopened; an open one is
  updated (values, versions, last seen);
- an open issue whose key now agrees is resolved (``agreed``); one whose key is gone from
  either side or has lost its value is resolved too (``gone``).

So re-running the check changes nothing when the data did not change. The officers of
both agencies get one notice per run each, summing the new (and reopened) issues; the run
records one ``governance.check`` audit entry. Values that differ only in type (a decimal
against text) are compared as text. At most ``MAX_NEW_ISSUES`` new issues are opened per
pair and run, so a copy that disagrees everywhere (a wrong binding) cannot flood the table.

The check runs as a job (``governance.check``) after each publish of a dataset that takes
part in an item (``enqueue_check``, registered as a publish hook) and on demand (the
sources page, ``POST /api/v1/governance/checks``, ``gongshu governance check``).
"""

# The SQL here is built from column names quoted by ``quote`` and file paths quoted by
# ``sql_string``, never from values.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
import decimal
import importlib
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.audit.service import record
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.permissions import Perm, can, in_region_scope, require_login
from gongshu.catalog import queries as catalog_queries
from gongshu.catalog.models import Dataset
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import NotFound, PermissionDenied
from gongshu.gate import service as gate
from gongshu.governance.models import (
    ConsistencyIssue,
    DataItem,
    IssueStatus,
    ItemCopy,
    SourceBinding,
)
from gongshu.governance.sources import items_of_dataset, key_field_of
from gongshu.i18n import N_
from gongshu.jobs.models import Job, JobStatus
from gongshu.jobs.service import enqueue, handler
from gongshu.notices.service import notify, users_with_role
from gongshu.settings import get_settings
from gongshu.store.duck import duckdb_connection, sql_string
from gongshu.store.models import DatasetVersion
from gongshu.store.serving import quote
from gongshu.store.versions import current_version, on_publish

__all__ = [
    "CHECK_JOB",
    "GOVERNANCE",
    "MAX_NEW_ISSUES",
    "CheckReport",
    "PairResult",
    "check_dataset",
    "consistency_score",
    "enqueue_check",
    "register_quality_score",
    "run_check",
]

GOVERNANCE = Actor.system("governance")
PURPOSE = "consistency"
CHECK_JOB = "governance.check"
MAX_NEW_ISSUES = 10_000

M_NOT_ALLOWED = N_("无权对该目录条目发起一数一源比对")
M_ITEM_NOT_FOUND = N_("数据项不存在")
M_DATASET_NOT_FOUND = N_("目录条目不存在")
NOTICE_TITLE = N_("一数一源比对发现 {n} 处新的不一致")
NOTICE_BODY = N_("涉及数据项：{items}。请核对本单位数据与权威数据源，修正后重新汇聚。")


@dataclass
class PairResult:
    """What one (item, copy) comparison found; ``skipped`` says why it was not compared."""

    item_id: int
    source_dataset_id: int
    copy_dataset_id: int
    compared: int = 0
    opened: int = 0
    reopened: int = 0
    resolved: int = 0
    open: int = 0
    skipped: str = ""


@dataclass
class CheckReport:
    pairs: list[PairResult] = field(default_factory=list)

    @property
    def opened(self) -> int:
        return sum(p.opened for p in self.pairs)

    @property
    def reopened(self) -> int:
        return sum(p.reopened for p in self.pairs)

    @property
    def resolved(self) -> int:
        return sum(p.resolved for p in self.pairs)


@dataclass(frozen=True)
class _Side:
    """A dataset's current version copied to a local Parquet file (key and item fields)."""

    dataset: Dataset
    version: DatasetVersion
    path: Path
    key: str
    types: dict[str, Any]


@dataclass(frozen=True)
class _Mismatch:
    key: str
    source_value: str
    copy_value: str


# --- who may run it ----------------------------------------------------------------------


def may_check(actor: Actor, dataset: Dataset) -> bool:
    """The platform, a bureau admin of the entry's region, or an officer of its agency."""
    if catalog_queries.is_platform(actor):
        return True
    if can(actor, Perm.CATALOG_REVIEW) and in_region_scope(actor, dataset.region_id):
        return True
    return actor.agency_id == dataset.agency_id and actor.has(Role.AGENCY_OFFICER)


# --- the pairs to compare ----------------------------------------------------------------


def _pairs(
    session: Session, *, dataset_id: int | None, item_id: int | None
) -> list[tuple[DataItem, SourceBinding, ItemCopy]]:
    if item_id is not None:
        item = session.get(DataItem, item_id)
        items = [item] if item is not None else []
    elif dataset_id is not None:
        items = items_of_dataset(session, dataset_id)
    else:
        items = list(session.scalars(select(DataItem).order_by(DataItem.id)))
    pairs: list[tuple[DataItem, SourceBinding, ItemCopy]] = []
    for item in items:
        binding = item.binding
        if binding is None:
            continue
        for copy in item.copies:
            if dataset_id is None or dataset_id in (binding.dataset_id, copy.dataset_id):
                pairs.append((item, binding, copy))
    return pairs


# --- reading through the gate ------------------------------------------------------------


def _snapshot(
    session: Session,
    dataset: Dataset,
    version: DatasetVersion,
    key: str,
    fields: set[str],
    workdir: Path,
) -> _Side | str:
    """The version's key and fields as a local Parquet file, or why it cannot be compared."""
    names = set(version.field_names)
    wanted = [key, *sorted(f for f in fields if f in names and f != key)]
    path = workdir / f"d{dataset.id}-{key}.parquet"
    writer: pq.ParquetWriter | None = None
    types: dict[str, Any] = {}
    try:
        for batch in gate.scan(
            session, GOVERNANCE, dataset, purpose=PURPOSE, version=version, columns=wanted
        ):
            if writer is None:
                writer = pq.ParquetWriter(path, batch.schema)
                types = {f.name: f.type for f in batch.schema}
            writer.write_batch(batch)
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        return "no_data"
    return _Side(dataset, version, path, key, types)


def value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, decimal.Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "") else text
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _compare(
    source: _Side, source_field: str, copy: _Side, copy_field: str, open_keys: list[str]
) -> tuple[list[_Mismatch], int, set[str]]:
    """Mismatches (key order), the number of keys compared, and which open keys agree."""
    same_type = source.types.get(source_field) == copy.types.get(copy_field)
    sv, cv = quote(source_field), quote(copy_field)
    if same_type:
        s_expr, c_expr = sv, cv
    else:
        s_expr, c_expr = f"trim(CAST({sv} AS VARCHAR))", f"trim(CAST({cv} AS VARCHAR))"
    con = duckdb_connection()
    try:
        con.execute(
            f"CREATE TEMP VIEW s AS SELECT CAST({quote(source.key)} AS VARCHAR) AS k, "
            f"min({s_expr}) AS v FROM read_parquet({sql_string(str(source.path))}) "
            f"WHERE {quote(source.key)} IS NOT NULL AND {sv} IS NOT NULL GROUP BY 1"
        )
        con.execute(
            f"CREATE TEMP VIEW c AS SELECT CAST({quote(copy.key)} AS VARCHAR) AS k, "
            f"{c_expr} AS v FROM read_parquet({sql_string(str(copy.path))}) "
            f"WHERE {quote(copy.key)} IS NOT NULL AND {cv} IS NOT NULL"
        )
        compared = con.execute("SELECT count(DISTINCT k) FROM c WHERE k IN (SELECT k FROM s)")
        row = compared.fetchone()
        n_compared = int(row[0]) if row else 0
        found = con.execute(
            "SELECT s.k, s.v, min(c.v) FROM s JOIN c ON c.k = s.k "
            "WHERE s.v IS DISTINCT FROM c.v GROUP BY s.k, s.v ORDER BY s.k"
        ).fetchall()
        agreed: set[str] = set()
        if open_keys:
            con.register("open_keys", pa.table({"k": pa.array(open_keys, pa.string())}))
            agreed = {
                str(r[0])
                for r in con.execute(
                    "SELECT k FROM open_keys WHERE k IN (SELECT k FROM s) "
                    "AND k IN (SELECT k FROM c)"
                ).fetchall()
            }
    finally:
        con.close()
    mismatches = [_Mismatch(str(k)[:64], value_text(a), value_text(b)) for k, a, b in found]
    return mismatches, n_compared, agreed


# --- writing the issues ------------------------------------------------------------------


def _apply(
    session: Session,
    item: DataItem,
    binding: SourceBinding,
    copy: ItemCopy,
    source: _Side,
    target: _Side,
    mismatches: list[_Mismatch],
    agreed: set[str],
    result: PairResult,
) -> None:
    now = utcnow()
    existing = {
        i.key_value: i
        for i in session.scalars(
            select(ConsistencyIssue).where(
                ConsistencyIssue.copy_dataset_id == copy.dataset_id,
                ConsistencyIssue.item_id == item.id,
            )
        )
    }
    seen: set[str] = set()
    for m in mismatches:
        seen.add(m.key)
        issue = existing.get(m.key)
        if issue is None:
            if result.opened >= MAX_NEW_ISSUES:
                continue
            issue = ConsistencyIssue(
                item_id=item.id,
                copy_dataset_id=copy.dataset_id,
                key_value=m.key,
                opened_at=now,
                times_opened=1,
                status=IssueStatus.OPEN,
                resolution="",
            )
            session.add(issue)
            result.opened += 1
        elif issue.status is IssueStatus.RESOLVED:
            issue.status = IssueStatus.OPEN
            issue.resolution = ""
            issue.resolved_at = None
            issue.opened_at = now
            issue.times_opened += 1
            result.reopened += 1
        issue.source_dataset_id = binding.dataset_id
        issue.source_field = binding.field_name
        issue.copy_field = copy.field_name
        issue.source_value = m.source_value
        issue.copy_value = m.copy_value
        issue.source_version_id = source.version.id
        issue.copy_version_id = target.version.id
        issue.last_seen_at = now
    for key, issue in existing.items():
        if issue.status is IssueStatus.OPEN and key not in seen:
            issue.status = IssueStatus.RESOLVED
            issue.resolution = "agreed" if key in agreed else "gone"
            issue.resolved_at = now
            result.resolved += 1
    session.flush()
    result.open = int(
        session.scalar(
            select(func.count()).where(
                ConsistencyIssue.copy_dataset_id == copy.dataset_id,
                ConsistencyIssue.item_id == item.id,
                ConsistencyIssue.status == IssueStatus.OPEN,
            )
        )
        or 0
    )


def _notify(
    session: Session, new_by_agency: dict[int, int], items_by_agency: dict[int, set[str]]
) -> None:
    """One notice per agency and run, summing the new issues of every pair it is in."""
    for agency_id, n in sorted(new_by_agency.items()):
        if n <= 0:
            continue
        notify(
            session,
            user_ids=users_with_role(session, Role.AGENCY_OFFICER, agency_id=agency_id),
            kind="governance.issues",
            title=NOTICE_TITLE,
            body=NOTICE_BODY,
            link=f"/governance/issues?agency_id={agency_id}",
            n=n,
            items=" / ".join(sorted(items_by_agency[agency_id])),
        )


# --- the run -----------------------------------------------------------------------------


def run_check(
    session: Session,
    actor: Actor,
    *,
    dataset_id: int | None = None,
    item_id: int | None = None,
) -> CheckReport:
    """Compare the copies of the items a dataset takes part in (or of one item, or of every
    item) with their sources; open, update and resolve issues; notify; audit once.

    The caller has checked who may ask (``check_dataset`` does for users); rows are read as
    the platform. Do not call with uncommitted writes pending: the gate commits its audit
    entries."""
    report = CheckReport()
    pairs = _pairs(session, dataset_id=dataset_id, item_id=item_id)
    if not pairs:
        return report
    workdir = Path(tempfile.mkdtemp(prefix="governance-", dir=_tmp_dir()))
    try:
        needed: dict[int, set[str]] = defaultdict(set)
        datasets: dict[int, Dataset] = {}
        for _item, binding, copy in pairs:
            needed[binding.dataset_id].add(binding.field_name)
            needed[copy.dataset_id].add(copy.field_name)
            datasets[binding.dataset_id] = binding.dataset
            datasets[copy.dataset_id] = copy.dataset
        versions = {ds_id: current_version(session, ds_id) for ds_id in datasets}
        sides: dict[tuple[int, str], _Side | str] = {}

        def side_for(ds_id: int, item: DataItem) -> _Side | str:
            version = versions[ds_id]
            if version is None:
                return "no_data"
            key = key_field_of(version.schema, item.key_kind)
            if key is None:
                return "no_key"
            if (ds_id, key) not in sides:
                sides[(ds_id, key)] = _snapshot(
                    session, datasets[ds_id], version, key, needed[ds_id], workdir
                )
            return sides[(ds_id, key)]

        compared: list[tuple[DataItem, SourceBinding, ItemCopy, _Side, _Side, Any]] = []
        for item, binding, copy in pairs:
            result = PairResult(item.id, binding.dataset_id, copy.dataset_id)
            report.pairs.append(result)
            source = side_for(binding.dataset_id, item)
            target = side_for(copy.dataset_id, item)
            if isinstance(source, str) or isinstance(target, str):
                result.skipped = source if isinstance(source, str) else str(target)
                continue
            if binding.field_name not in source.types or copy.field_name not in target.types:
                result.skipped = "no_field"
                continue
            open_keys = list(
                session.scalars(
                    select(ConsistencyIssue.key_value).where(
                        ConsistencyIssue.copy_dataset_id == copy.dataset_id,
                        ConsistencyIssue.item_id == item.id,
                        ConsistencyIssue.status == IssueStatus.OPEN,
                    )
                )
            )
            found = _compare(source, binding.field_name, target, copy.field_name, open_keys)
            compared.append((item, binding, copy, source, target, found))
        new_by_agency: dict[int, int] = defaultdict(int)
        items_by_agency: dict[int, set[str]] = defaultdict(set)
        with unit_of_work(session):
            by_pair = {(p.item_id, p.copy_dataset_id): p for p in report.pairs}
            for item, binding, copy, source, target, (mismatches, n, agreed) in compared:
                result = by_pair[(item.id, copy.dataset_id)]
                result.compared = n
                _apply(session, item, binding, copy, source, target, mismatches, agreed, result)
                new = result.opened + result.reopened
                if new:
                    for agency_id in (source.dataset.agency_id, target.dataset.agency_id):
                        new_by_agency[agency_id] += new
                        items_by_agency[agency_id].add(item.name)
            _notify(session, new_by_agency, items_by_agency)
            record(
                session,
                actor,
                "governance.check",
                "dataset" if dataset_id is not None else "governance_item",
                dataset_id if dataset_id is not None else (item_id or 0),
                label=_label(session, dataset_id, item_id),
                changes={
                    "pairs": len(report.pairs),
                    "opened": report.opened,
                    "reopened": report.reopened,
                    "resolved": report.resolved,
                    "skipped": sorted({p.skipped for p in report.pairs if p.skipped}),
                },
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return report


def _label(session: Session, dataset_id: int | None, item_id: int | None) -> str:
    if dataset_id is not None:
        dataset = session.get(Dataset, dataset_id)
        return f"{dataset.code} {dataset.title}" if dataset is not None else str(dataset_id)
    if item_id is not None:
        item = session.get(DataItem, item_id)
        return item.name if item is not None else str(item_id)
    return "*"


def _tmp_dir() -> Path:
    path = Path(get_settings().data_dir) / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_dataset(
    session: Session,
    actor: Actor | None,
    *,
    dataset_id: int | None = None,
    item_id: int | None = None,
) -> CheckReport:
    """Run the check now on a user's request (pages, API, CLI).

    A dataset: the platform, a bureau admin of its region or an officer of its agency. One
    item or every item: the platform or a city-level bureau admin."""
    actor = require_login(actor)
    if dataset_id is not None:
        dataset = catalog_queries.find_visible(session, actor, dataset_id)
        if dataset is None:
            raise NotFound(M_DATASET_NOT_FOUND)
        if not may_check(actor, dataset):
            raise PermissionDenied(M_NOT_ALLOWED)
    else:
        from gongshu.governance.sources import may_manage

        if not may_manage(actor):
            raise PermissionDenied(M_NOT_ALLOWED)
        if item_id is not None and session.get(DataItem, item_id) is None:
            raise NotFound(M_ITEM_NOT_FOUND)
    return run_check(session, actor, dataset_id=dataset_id, item_id=item_id)


# --- the job -----------------------------------------------------------------------------


def _takes_part(session: Session, dataset_id: int) -> bool:
    bound = select(SourceBinding.item_id).where(SourceBinding.dataset_id == dataset_id)
    copied = select(ItemCopy.item_id).where(ItemCopy.dataset_id == dataset_id)
    return session.scalar(select(bound.union(copied).exists())) or False


def _queued(session: Session, dataset_id: int) -> bool:
    stmt = select(Job.payload).where(Job.kind == CHECK_JOB, Job.status == JobStatus.QUEUED)
    return any(int(p.get("dataset_id", 0)) == dataset_id for p in session.scalars(stmt))


def enqueue_check(session: Session, dataset_id: int) -> Job | None:
    """Queue the governance follow-up of a publish, in the caller's transaction: the
    consistency check of the dataset's items and the correction tickets it may fix.

    Nothing is queued when the dataset has no bound item and no open ticket, or when a
    check of it is already queued (one run sees the newest version anyway)."""
    from gongshu.governance.corrections import has_open_tickets

    if not (_takes_part(session, dataset_id) or has_open_tickets(session, dataset_id)):
        return None
    if _queued(session, dataset_id):
        return None
    return enqueue(session, CHECK_JOB, {"dataset_id": dataset_id})


@handler(CHECK_JOB)
def _run_job(session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    from gongshu.governance.corrections import check_corrections

    dataset_id = int(payload["dataset_id"])
    if session.get(Dataset, dataset_id) is None:
        return {"skipped": "no_dataset"}
    report = run_check(session, GOVERNANCE, dataset_id=dataset_id)
    fixed = check_corrections(session, dataset_id)
    return {
        "pairs": len(report.pairs),
        "opened": report.opened,
        "reopened": report.reopened,
        "resolved": report.resolved,
        "corrections_fixed": [o.id for o in fixed],
    }


@on_publish
def _after_publish(session: Session, dataset: Dataset, version: DatasetVersion) -> None:
    enqueue_check(session, dataset.id)


# --- the quality score -------------------------------------------------------------------


def consistency_score(session: Session, dataset_id: int) -> float | None:
    """100 × (1 − open issues where the dataset is the copy / rows of its current version);
    None when the dataset takes part in no bound item or has no data. A source scores 100:
    a disagreement is counted against the copy."""
    if not _takes_part(session, dataset_id):
        return None
    version = current_version(session, dataset_id)
    if version is None or version.row_count <= 0:
        return None
    open_issues = session.scalar(
        select(func.count()).where(
            ConsistencyIssue.copy_dataset_id == dataset_id,
            ConsistencyIssue.status == IssueStatus.OPEN,
        )
    )
    ratio = int(open_issues or 0) / version.row_count
    return round(100.0 * max(0.0, 1.0 - ratio), 2)


def register_quality_score() -> bool:
    """Add ``consistency_score`` to the quality helper's providers, when that module exists
    (``gongshu.quality.scores.CONSISTENCY_SOURCES``). Returns whether it was registered."""
    try:
        scores = importlib.import_module("gongshu.quality.scores")
    except ImportError:
        return False
    sources = getattr(scores, "CONSISTENCY_SOURCES", None)
    if not isinstance(sources, list):
        return False
    if consistency_score not in sources:
        sources.append(consistency_score)
    return True


def open_issue_total(session: Session, dataset_ids: Iterable[int]) -> int:
    ids = list(dataset_ids)
    if not ids:
        return 0
    return int(
        session.scalar(
            select(func.count()).where(
                ConsistencyIssue.status == IssueStatus.OPEN,
                (ConsistencyIssue.copy_dataset_id.in_(ids))
                | (ConsistencyIssue.source_dataset_id.in_(ids)),
            )
        )
        or 0
    )


register_quality_score()
