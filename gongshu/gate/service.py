"""The gate's reads: each call checks the policy, reads, audits once, then returns rows.

Every function takes the reader (``actor``) and a ``purpose`` (why the rows are read, kept
in the audit entry), checks ``policy.require_read``, reads through ``gongshu.store.rows``
and records one ``data.read`` entry (dataset, version, operation, purpose, rows returned,
filters, columns). **The gate commits that entry itself** (``unit_of_work`` on the caller's
session) before it returns: an entry is durable before any row leaves, and a caller cannot
forget it. So call the gate with no uncommitted writes pending in the session — they would
be committed with the entry.

``version`` defaults to the dataset's live version; an older version is readable until the
retention rule prunes its files.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.service import record
from gongshu.auth.actor import Actor
from gongshu.catalog.models import Dataset
from gongshu.db import unit_of_work
from gongshu.errors import NotFound, PermissionDenied, ValidationFailed
from gongshu.gate.policy import MSG_DENIED, MSG_FIELD_DENIED, ReadScope, require_read, scope_for
from gongshu.i18n import N_
from gongshu.store import rows
from gongshu.store.models import DatasetHead, DatasetVersion, VersionStatus
from gongshu.store.serving import ROW_COLUMN
from gongshu.store.storage import Storage, get_storage
from gongshu.store.versions import current_version

MSG_NO_DATA = N_("该数据集还没有数据")
MSG_NO_VERSION = N_("该数据集没有这个版本")
MSG_VERSION_PRUNED = N_("第 {number} 版的数据已按保留规则清理")
MSG_PURPOSE = N_("请说明读取数据的用途")
MSG_NO_KEY = N_("该数据集没有主键，无法比较版本")
MAX_PURPOSE = 200

__all__ = [
    "MAX_LOOKUP_VALUES",
    "GatePage",
    "VersionDiff",
    "check_read",
    "diff",
    "find_entity",
    "lookup",
    "open_file",
    "profile",
    "read_page",
    "scan",
]

VersionDiff = rows.VersionDiff
# The most values one ``lookup`` takes; callers with more split them into chunks.
MAX_LOOKUP_VALUES = rows.MAX_VALUES


@dataclass(frozen=True)
class GatePage:
    """One page of rows, the cursor of the next page (None on the last) and the version."""

    rows: list[dict[str, Any]]
    next_cursor: str | None
    version: DatasetVersion


def _purpose(purpose: str) -> str:
    text = (purpose or "").strip()
    if not text:
        raise ValidationFailed.single("purpose", MSG_PURPOSE)
    return text[:MAX_PURPOSE]


def _version(session: Session, dataset: Dataset, version: DatasetVersion | None) -> DatasetVersion:
    if version is None:
        found = current_version(session, dataset.id)
        if found is None:
            raise NotFound(MSG_NO_DATA)
        version = found
    if version.dataset_id != dataset.id:
        raise NotFound(MSG_NO_VERSION)
    if version.status is VersionStatus.PRUNED:
        raise NotFound(MSG_VERSION_PRUNED, number=version.number)
    return version


def _columns(
    scope: ReadScope, version: DatasetVersion, columns: Sequence[str] | None, *, row: bool
) -> list[str] | None:
    """The columns to read: those asked for (each must be in scope), else all in scope."""
    if columns is None:
        if scope.fields is None:
            return None
        names = [n for n in version.field_names if scope.allows(n)]
        return [*names, ROW_COLUMN] if row else names
    for name in columns:
        if name != ROW_COLUMN and not scope.allows(name):
            raise PermissionDenied(MSG_FIELD_DENIED, field=name)
    return list(columns)


def _check_filters(scope: ReadScope, filters: Sequence[tuple[str, str, Any]]) -> None:
    for name, _op, _value in filters:
        if not scope.allows(name):
            raise PermissionDenied(MSG_FIELD_DENIED, field=name)


def _visible(scope: ReadScope, row: dict[str, Any]) -> dict[str, Any]:
    if scope.fields is None:
        return row
    return {k: v for k, v in row.items() if k == ROW_COLUMN or scope.allows(k)}


def _audit(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    version: DatasetVersion | None,
    scope: ReadScope,
    *,
    operation: str,
    purpose: str,
    rows_returned: int | None,
    **details: Any,
) -> None:
    with unit_of_work(session):
        record(
            session,
            actor,
            "data.read",
            "dataset",
            dataset.id,
            label=dataset.title,
            changes={
                "operation": operation,
                "purpose": purpose,
                **(
                    {"version": version.number, "version_id": version.id}
                    if version is not None
                    else {}
                ),
                "basis": scope.basis,
                "rows": rows_returned,
                **details,
            },
        )


def _filters_plain(filters: Sequence[tuple[str, str, Any]]) -> list[list[Any]]:
    return [[name, op, list(value) if op == "in" else value] for name, op, value in filters]


def read_page(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    *,
    version: DatasetVersion | None = None,
    purpose: str,
    columns: Sequence[str] | None = None,
    filters: Sequence[tuple[str, str, Any]] = (),
    order_by: Sequence[str] = (),
    after: str | None = None,
    limit: int = 50,
    storage: Storage | None = None,
) -> GatePage:
    """One page of rows through the serving index (filters, order and cursor: ``rows.page``)."""
    scope = require_read(actor, dataset)
    purpose = _purpose(purpose)
    version = _version(session, dataset, version)
    wanted = _columns(scope, version, columns, row=False)
    _check_filters(scope, filters)
    _check_filters(scope, [(o.lstrip("-"), "", None) for o in order_by])
    found, cursor = rows.page(
        storage or get_storage(),
        version,
        columns=wanted,
        filters=filters,
        order_by=order_by,
        after=after,
        limit=limit,
    )
    _audit(
        session,
        actor,
        dataset,
        version,
        scope,
        operation="page",
        purpose=purpose,
        rows_returned=len(found),
        filters=_filters_plain(filters),
        order_by=list(order_by),
        columns=wanted,
        after=after is not None,
    )
    return GatePage(rows=found, next_cursor=cursor, version=version)


def lookup(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    field: str,
    values: Sequence[Any],
    *,
    purpose: str,
    version: DatasetVersion | None = None,
    storage: Storage | None = None,
) -> list[dict[str, Any]]:
    """The rows whose ``field`` (key, filterable or identifier) equals one of ``values``."""
    scope = require_read(actor, dataset)
    purpose = _purpose(purpose)
    version = _version(session, dataset, version)
    _check_filters(scope, [(field, "", None)])
    found = [
        _visible(scope, r) for r in rows.lookup(storage or get_storage(), version, field, values)
    ]
    _audit(
        session,
        actor,
        dataset,
        version,
        scope,
        operation="lookup",
        purpose=purpose,
        rows_returned=len(found),
        filters=[[field, "in", list(values)[:20]]],
        values=len(values),
    )
    return found


def scan(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    *,
    purpose: str,
    version: DatasetVersion | None = None,
    columns: Sequence[str] | None = None,
    storage: Storage | None = None,
) -> Iterator[pa.RecordBatch]:
    """Every row as Arrow batches (default: every field in scope and ``_row``).

    The policy is checked and the read audited when this is called, before the first batch.
    """
    scope = require_read(actor, dataset)
    purpose = _purpose(purpose)
    version = _version(session, dataset, version)
    wanted = _columns(scope, version, columns, row=True)
    _audit(
        session,
        actor,
        dataset,
        version,
        scope,
        operation="scan",
        purpose=purpose,
        rows_returned=version.row_count,
        columns=wanted,
    )
    return rows.batches(storage or get_storage(), version, columns=wanted)


def diff(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    old: DatasetVersion,
    new: DatasetVersion,
    *,
    purpose: str,
    limit: int = 200,
    storage: Storage | None = None,
) -> rows.VersionDiff:
    """What changed from ``old`` to ``new`` (rows matched on the new version's key)."""
    scope = require_read(actor, dataset)
    purpose = _purpose(purpose)
    old = _version(session, dataset, old)
    new = _version(session, dataset, new)
    key = [str(f["name"]) for f in new.schema if f.get("key")]
    if not key:
        raise ValidationFailed(MSG_NO_KEY)
    _check_filters(scope, [(k, "", None) for k in key])
    result = rows.diff(storage or get_storage(), old, new, key, limit=limit)
    if scope.fields is not None:
        result = rows.VersionDiff(
            added=result.added,
            removed=result.removed,
            changed=result.changed,
            added_rows=[_visible(scope, r) for r in result.added_rows],
            removed_rows=[_visible(scope, r) for r in result.removed_rows],
            changed_cells=[c for c in result.changed_cells if scope.allows(c.field)],
            compared_fields=[f for f in result.compared_fields if scope.allows(f)],
        )
    _audit(
        session,
        actor,
        dataset,
        new,
        scope,
        operation="diff",
        purpose=purpose,
        rows_returned=len(result.added_rows) + len(result.removed_rows),
        old_version=old.number,
        cells=len(result.changed_cells),
    )
    return result


def profile(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    version: DatasetVersion | None,
    *,
    purpose: str,
    storage: Storage | None = None,
) -> dict[str, dict[str, Any]]:
    """Per field in scope: non-null count, exact distinct count, minimum and maximum."""
    scope = require_read(actor, dataset)
    purpose = _purpose(purpose)
    version = _version(session, dataset, version)
    stats = rows.profile(storage or get_storage(), version)
    stats = {k: v for k, v in stats.items() if scope.allows(k)}
    _audit(
        session,
        actor,
        dataset,
        version,
        scope,
        operation="profile",
        purpose=purpose,
        rows_returned=0,
        columns=list(stats),
    )
    return stats


def check_read(actor: Actor, dataset: Dataset) -> ReadScope:
    """The reader's scope on the dataset, or ``PermissionDenied`` (reads nothing)."""
    return require_read(actor, dataset)


def open_file(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    key: str,
    *,
    purpose: str,
    rows: int | None,
    storage: Storage | None = None,
) -> BinaryIO:
    """A stored file of the dataset's raw rows (an upload's rejected rows), audited.

    Such a file holds every column as the provider sent it, so only a reader whose scope
    covers every field may open it.
    """
    scope = require_read(actor, dataset)
    if scope.fields is not None:
        raise PermissionDenied(MSG_DENIED)
    purpose = _purpose(purpose)
    handle = (storage or get_storage()).open(key)
    _audit(
        session,
        actor,
        dataset,
        None,
        scope,
        operation="file",
        purpose=purpose,
        rows_returned=rows,
        file=key,
    )
    return handle


@dataclass(frozen=True)
class EntityHit:
    """The rows of one dataset that carry the identifier looked up."""

    dataset: Dataset
    version: DatasetVersion
    field: str
    rows: list[dict[str, Any]]


def find_entity(
    session: Session,
    actor: Actor,
    kind: str,
    value: str,
    *,
    purpose: str,
    storage: Storage | None = None,
) -> list[EntityHit]:
    """Every row, across the current versions of the datasets the reader may read, whose
    identifier field of ``kind`` (citizen_id, credit_code, …) holds ``value``.

    Each version's serving index has a B-tree on its identifier fields, so this is one index
    probe per dataset that has such a field — never a scan of the files. Datasets the
    reader may not read are skipped unseen; each dataset that returned rows is audited like
    a lookup, and the search itself gets one entry whatever it found.
    """
    purpose = _purpose(purpose)
    storage = storage or get_storage()
    candidates = session.execute(
        select(Dataset, DatasetVersion)
        .join(DatasetHead, DatasetHead.dataset_id == Dataset.id)
        .join(DatasetVersion, DatasetVersion.id == DatasetHead.version_id)
        .order_by(Dataset.id)
    ).all()
    hits: list[EntityHit] = []
    for dataset, version in candidates:
        fields = [str(f["name"]) for f in version.schema if f.get("identifier") == kind]
        scope = scope_for(actor, dataset)
        if not fields or scope is None:
            continue
        for field in fields:
            if not scope.allows(field):
                continue
            found = [_visible(scope, r) for r in rows.lookup(storage, version, field, [value])]
            if found:
                _audit(
                    session,
                    actor,
                    dataset,
                    version,
                    scope,
                    operation="entity",
                    purpose=purpose,
                    rows_returned=len(found),
                    field=field,
                )
                hits.append(EntityHit(dataset, version, field, found))
    # One entry for the search itself, hits or not: who looked for whom, and where it led.
    with unit_of_work(session):
        record(
            session,
            actor,
            "data.read",
            "identifier",
            kind,
            label=value,
            changes={
                "operation": "entity_search",
                "purpose": purpose,
                "datasets": [h.dataset.id for h in hits],
                "rows": sum(len(h.rows) for h in hits),
            },
        )
    return hits
