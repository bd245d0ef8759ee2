"""The gate's reads: each call decides, reads, audits once, then returns rows.

Every function takes the reader (``actor``) and a ``purpose`` (why the rows are read, kept
in the audit entry) and goes through the same steps (docs/gate.md):

1. the purpose is required;
2. the policy (``gate.policy``) gives the reader's candidate scopes — platform, bureau,
   provider, or one per active grant — and the first that covers every field the request
   names is used; none: refused;
3. the version (default: the live one; 404 without data or when pruned) fixes the schema
   the masks are computed for (``ReadScope.for_schema``);
4. fields: every field named (columns, filters, sort, groups, measures) must be visible to
   the reader; a field the reader sees masked may not be filtered, sorted, grouped or
   measured — except ``eq``/``in`` filters and grouping on a ``hash``-masked field, which
   compare pseudonyms (masked columns still join, and nothing of the clear value shows);
5. quota: a grant's rows left today bound the read;
6. the read, with the grant's row filter ANDed to the reader's filters;
7. the masks are applied (row dicts per cell, Arrow batches per distinct value);
8. one ``data.read`` entry is written and **committed** (``journal.write_entry``) before
   the rows are returned.

A refusal at steps 2, 4 or 5 writes a ``data.denied`` entry (committed too) and raises
``PermissionDenied`` (``QuotaExceeded`` for the quota). Input errors (a bad value, an
unknown field) raise ``ValidationFailed`` and write nothing.

The gate commits on the caller's session, so call it with no uncommitted writes pending —
they would be committed with the entry.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.catalog.models import Dataset, Level, Sensitivity
from gongshu.errors import GongshuError, NotFound, PermissionDenied, ValidationFailed
from gongshu.gate import filters as filters_mod
from gongshu.gate import journal, policy
from gongshu.gate.filters import Filter
from gongshu.gate.journal import QuotaExceeded
from gongshu.gate.policy import MSG_DENIED, MSG_FIELD_DENIED, ReadScope
from gongshu.gate.verify import keyed_hash
from gongshu.i18n import N_
from gongshu.masking import Technique, mask, mask_array, pseudonym, pseudonym_array
from gongshu.settings import get_settings
from gongshu.store import rows
from gongshu.store.models import DatasetHead, DatasetVersion, VersionStatus
from gongshu.store.serving import ROW_COLUMN, arrow_schema
from gongshu.store.storage import Storage, get_storage
from gongshu.store.versions import current_version

MSG_NO_DATA = N_("该数据集还没有数据")
MSG_NO_VERSION = N_("该数据集没有这个版本")
MSG_VERSION_PRUNED = N_("第 {number} 版的数据已按保留规则清理")
MSG_PURPOSE = N_("请说明读取数据的用途")
MSG_NO_KEY = N_("该数据集没有主键，无法比较版本")
MSG_MASKED_FILTER = N_("字段“{field}”对您脱敏提供，不能按它筛选或排序")
MSG_MASKED_HASH_FILTER = N_("字段“{field}”以假名提供，只能按假名值等于或属于筛选")
MSG_MASKED_GROUP = N_("字段“{field}”对您脱敏提供，不能按它分组或统计")
MSG_MASKED_LOOKUP = N_("字段“{field}”对您脱敏提供，不能按它查找")
MSG_MASKED_FILE = N_("该文件含未脱敏的原始数据，只有能读取全部明文的用户可以下载")
MSG_ROW_FILTER = N_("授权的行范围与该版本的数据不符，请联系数据提供部门")
MSG_BAD_FORMAT = N_("不支持的导出格式“{fmt}”")
MSG_QUOTA_EXPORT = N_("本次读取 {rows} 行，超出本授权今日剩余的 {left} 行")
MAX_PURPOSE = 200
DEFAULT_AGGREGATE_LIMIT = 1000
_FORMAT = re.compile(r"^[a-z0-9]{1,16}$")

__all__ = [
    "MAX_LOOKUP_VALUES",
    "EntityHit",
    "GateAggregate",
    "GateCount",
    "GateExport",
    "GatePage",
    "QuotaExceeded",
    "VersionDiff",
    "aggregate",
    "check_clear",
    "check_read",
    "count",
    "diff",
    "export",
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
    """One page of rows, the cursor of the next page (None on the last) and the version.

    ``masks``: field → technique for the fields this reader received masked."""

    rows: list[dict[str, Any]]
    next_cursor: str | None
    version: DatasetVersion
    masks: Mapping[str, Technique] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class GateCount:
    """How many rows of a version the reader's filters (and row filter) keep."""

    rows: int
    version: DatasetVersion


@dataclass(frozen=True)
class GateAggregate:
    """Grouped measures: ``columns`` (groups then measures such as ``count(*)``,
    ``sum(capital)``), one dict per group, and whether more groups were cut off."""

    columns: list[str]
    rows: list[dict[str, Any]]
    truncated: bool
    version: DatasetVersion
    masks: Mapping[str, Technique] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class GateExport:
    """Rows for a file, masked, as Arrow batches (taken lazily: the entry is already written).

    ``schema`` is the batches' schema (masked columns are text); ``fingerprint`` is the
    grant's for a grant reader, else a fresh token; ``export_id`` is recorded in the audit
    entry; both belong in the file so a leaked copy can be traced.
    """

    batches: Iterator[pa.RecordBatch]
    schema: pa.Schema
    version: DatasetVersion
    fingerprint: str
    export_id: str
    fmt: str
    rows: int
    masks: Mapping[str, Technique] = dataclasses.field(default_factory=dict)


# --- the steps shared by every read ----------------------------------------------------------


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


def _filter_names(given: Iterable[Filter]) -> list[str]:
    return [f.field for f in given if isinstance(f, Filter)]


def _sensitivities(version: DatasetVersion) -> dict[str, Sensitivity]:
    out: dict[str, Sensitivity] = {}
    for f in version.schema:
        try:
            out[str(f["name"])] = Sensitivity(str(f.get("sensitivity") or "none"))
        except ValueError:
            out[str(f["name"])] = Sensitivity.FREE_TEXT
    return out


class _Read:
    """One read in progress: who, what, under which scope; writes its entries."""

    def __init__(
        self,
        session: Session,
        actor: Actor,
        dataset: Dataset,
        operation: str,
        purpose: str,
        *,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.session = session
        self.actor = actor
        self.dataset = dataset
        self.operation = operation
        self.purpose = purpose
        self.details: dict[str, Any] = dict(details or {})
        self.scope: ReadScope | None = None
        self.version: DatasetVersion | None = None

    # entries

    def _changes(self, result: str) -> dict[str, Any]:
        scope, version = self.scope, self.version
        changes: dict[str, Any] = {
            "operation": self.operation,
            "purpose": self.purpose,
            "version": version.number if version is not None else None,
            "version_id": version.id if version is not None else None,
            "basis": scope.basis if scope is not None else None,
            "grant": scope.grant_id if scope is not None else None,
            "result": result,
        }
        if scope is not None and scope.application_id is not None:
            changes["application"] = scope.application_id
        changes.update(self.details)
        if "filters" in changes:
            changes["filters"] = _audited_filters(changes["filters"], self._plain_fields())
        return changes

    def _plain_fields(self) -> frozenset[str]:
        """Fields that hold no personal data (sensitivity ``none``): their filter values
        are kept as they are."""
        if self.version is not None:
            found = _sensitivities(self.version).items()
            return frozenset(n for n, s in found if s is Sensitivity.NONE)
        return frozenset(f.name for f in self.dataset.fields if f.sensitivity is Sensitivity.NONE)

    def deny(self, error: GongshuError) -> GongshuError:
        """Record the refusal (committed) and give back the error to raise."""
        changes = self._changes("denied")
        changes.setdefault("rows", 0)
        changes["reason"] = str(error)
        journal.write_entry(
            self.session,
            self.actor,
            journal.DENIED,
            "dataset",
            self.dataset.id,
            label=self.dataset.title,
            changes=changes,
        )
        return error

    def allow(self, rows_returned: int | None, *, counted: int | None = None) -> None:
        """Record the read (committed), counting ``counted`` rows (default: those returned)
        against the grant's quota; refused at the last moment if the quota ran out."""
        changes = self._changes("allowed")
        changes["rows"] = rows_returned
        grant = self.scope.grant if self.scope is not None else None
        used = counted if counted is not None else (rows_returned or 0)
        try:
            journal.write_entry(
                self.session,
                self.actor,
                journal.READ,
                "dataset",
                self.dataset.id,
                label=self.dataset.title,
                changes=changes,
                grant=grant,
                rows=used,
            )
        except QuotaExceeded as exc:
            self.details["rows_asked"] = used
            raise self.deny(exc) from None

    # decisions

    def decide(self, needed: Iterable[str]) -> ReadScope:
        """The scope to read under (policy step), or a recorded refusal."""
        wanted = [n for n in dict.fromkeys(needed) if n != ROW_COLUMN]
        scopes = policy.candidate_scopes(self.session, self.actor, self.dataset)
        if not scopes:
            raise self.deny(PermissionDenied(MSG_DENIED))
        chosen = policy.choose(scopes, wanted)
        if chosen is None:
            self.scope = scopes[0]
            missing = next(n for n in wanted if not scopes[0].allows(n))
            raise self.deny(PermissionDenied(MSG_FIELD_DENIED, field=missing))
        self.scope = chosen
        return chosen

    def at(self, version: DatasetVersion) -> ReadScope:
        """Fix the version read; the scope's masks follow its schema."""
        assert self.scope is not None
        self.version = version
        self.scope = self.scope.for_schema(version.schema)
        return self.scope

    @property
    def masks(self) -> dict[str, Technique]:
        return dict(self.scope.masks) if self.scope is not None else {}

    def require_fields(self, names: Iterable[str]) -> None:
        scope = self.scope
        assert scope is not None
        for name in names:
            if name != ROW_COLUMN and not scope.allows(name):
                raise self.deny(PermissionDenied(MSG_FIELD_DENIED, field=name))

    def columns(self, columns: Sequence[str] | None, *, row: bool) -> list[str] | None:
        """The columns to read: those asked for (each visible), else every visible field."""
        scope, version = self.scope, self.version
        assert scope is not None and version is not None
        if columns is None:
            if scope.fields is None and not scope.masks:
                return None
            names = [n for n in version.field_names if scope.allows(n)]
            return [*names, ROW_COLUMN] if row else names
        self.require_fields(columns)
        return list(dict.fromkeys(columns))

    def user_filters(self, given: Sequence[Filter]) -> list[Filter]:
        """The reader's filters, each on a visible field; on a masked field only ``eq``/``in``
        on a hash-masked one, marked ``hashed``."""
        scope = self.scope
        assert scope is not None
        out: list[Filter] = []
        for f in given:
            if not isinstance(f, Filter):
                raise ValidationFailed(filters_mod.MSG_BAD_OP, op=str(f)[:100])
            self.require_fields([f.field])
            technique = scope.technique(f.field)
            if technique is Technique.CLEAR:
                out.append(Filter(f.field, f.op, f.value))
            elif technique is Technique.HASH and f.op in filters_mod.HASHED_OPS:
                out.append(Filter(f.field, f.op, f.value, hashed=True))
            elif technique is Technique.HASH:
                raise self.deny(PermissionDenied(MSG_MASKED_HASH_FILTER, field=f.field))
            else:
                raise self.deny(PermissionDenied(MSG_MASKED_FILTER, field=f.field))
        return out

    def row_filter(self) -> list[Filter]:
        """The grant's row filter, checked against the version (a grant whose filter no
        longer fits the data denies rather than reading more than it names)."""
        scope, version = self.scope, self.version
        assert scope is not None and version is not None
        if not scope.row_filter:
            return []
        try:
            return list(filters_mod.check(scope.row_filter, version.schema))
        except ValidationFailed:
            raise self.deny(PermissionDenied(MSG_ROW_FILTER)) from None

    def all_filters(self, given: Sequence[Filter]) -> list[Filter]:
        mine = self.user_filters(given)
        if mine and self.version is not None:
            filters_mod.check(mine, self.version.schema)  # input errors before any read
        return [*self.row_filter(), *mine]

    def no_masked(self, names: Iterable[str], message: str) -> None:
        scope = self.scope
        assert scope is not None
        for name in names:
            if scope.technique(name) is not Technique.CLEAR:
                raise self.deny(PermissionDenied(message, field=name))

    def remaining(self) -> int | None:
        """Rows the grant may still read today (None: no quota); none left: refused."""
        grant = self.scope.grant if self.scope is not None else None
        left = journal.remaining_today(self.session, grant)
        if left is not None and left <= 0 and grant is not None:
            assert grant.daily_row_quota is not None
            raise self.deny(QuotaExceeded(journal.MSG_QUOTA, quota=grant.daily_row_quota))
        return left

    def within_quota(self, rows_to_read: int) -> None:
        left = self.remaining()
        if left is not None and rows_to_read > left:
            self.details["rows_asked"] = rows_to_read
            raise self.deny(QuotaExceeded(MSG_QUOTA_EXPORT, rows=rows_to_read, left=left))


def _audited_filters(items: Iterable[Sequence[Any]], plain: frozenset[str]) -> list[list[Any]]:
    """Filters as the audit chain keeps them. On a field that holds personal data (any
    sensitivity but ``none``) each value is a keyed hash, as verification keeps claims: such
    a value is often the very record looked up (an ID number), and auditors must not read it;
    whoever holds the masking key can still test whether a given value was asked for."""
    out: list[list[Any]] = []
    for item in items:
        name, op, *rest = list(item)
        value = rest[0] if rest else None
        if name in plain:
            out.append([name, op, value])
            continue
        if isinstance(value, list | tuple):
            hashed: Any = [None if v is None else keyed_hash(v) for v in value]
        else:
            hashed = None if value is None else keyed_hash(value)
        out.append([name, op, hashed])
    return out


def _begin(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    operation: str,
    purpose: str,
    version: DatasetVersion | None,
    needed: Iterable[str],
    **details: Any,
) -> tuple[_Read, DatasetVersion, ReadScope]:
    read = _Read(session, actor, dataset, operation, _purpose(purpose), details=details)
    read.decide(needed)
    chosen = _version(session, dataset, version)
    scope = read.at(chosen)
    return read, chosen, scope


# --- masking -----------------------------------------------------------------------------


def _masker(
    scope: ReadScope, version: DatasetVersion
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A function that masks one row dict for this reader (and drops what it may not see)."""
    if scope.fields is None and not scope.masks:
        return lambda row: row
    key = get_settings().masking_secret
    kinds = _sensitivities(version)

    def apply(row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in row.items():
            if name == ROW_COLUMN:
                out[name] = value
                continue
            if not scope.allows(name):
                continue
            technique = scope.technique(name)
            if technique is Technique.CLEAR or value is None:
                out[name] = value
            elif technique is Technique.HASH:
                out[name] = pseudonym(str(value), key)
            else:
                out[name] = mask(str(value), kinds.get(name, Sensitivity.FREE_TEXT))
        return out

    return apply


def _mask_value(scope: ReadScope, version: DatasetVersion, name: str, value: Any) -> Any:
    return _masker(scope, version)({name: value}).get(name)


def _mask_batches(
    scope: ReadScope, version: DatasetVersion, batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """Masked Arrow batches: per column, the mask computed once per distinct value."""
    if not scope.masks and scope.fields is None:
        yield from batches
        return
    key = get_settings().masking_secret
    kinds = _sensitivities(version)
    for batch in batches:
        names: list[str] = []
        arrays: list[pa.Array] = []
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            if name != ROW_COLUMN and not scope.allows(name):
                continue
            technique = scope.technique(name) if name != ROW_COLUMN else Technique.CLEAR
            if technique is Technique.HASH:
                column = pseudonym_array(column, key)
            elif technique is Technique.MASK:
                column = mask_array(column, kinds.get(name, Sensitivity.FREE_TEXT))
            names.append(name)
            arrays.append(column)
        yield pa.record_batch(arrays, names=names)


def _masked_schema(
    scope: ReadScope, version: DatasetVersion, columns: list[str] | None
) -> pa.Schema:
    """The schema of the masked batches (masked columns are text)."""
    base = arrow_schema(version.schema)
    wanted = columns if columns is not None else base.names
    out = []
    for name in wanted:
        if name != ROW_COLUMN and not scope.allows(name):
            continue
        f = base.field(name)
        if name != ROW_COLUMN and scope.technique(name) in (Technique.HASH, Technique.MASK):
            f = pa.field(name, pa.string())
        out.append(f)
    return pa.schema(out)


# --- the reads ---------------------------------------------------------------------------


def read_page(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    *,
    version: DatasetVersion | None = None,
    purpose: str,
    columns: Sequence[str] | None = None,
    filters: Sequence[Filter] = (),
    order_by: Sequence[str] = (),
    after: str | None = None,
    limit: int = 50,
    storage: Storage | None = None,
) -> GatePage:
    """One page of rows through the serving index (keyset cursor in ``next_cursor``).

    ``order_by``: field names, ``-name`` descending. At most ``rows.MAX_LIMIT`` rows.
    """
    sort_fields = [o.lstrip("-") for o in order_by]
    read, chosen, scope = _begin(
        session,
        actor,
        dataset,
        "page",
        purpose,
        version,
        [*(columns or ()), *_filter_names(filters), *sort_fields],
        filters=filters_mod.plain(f for f in filters if isinstance(f, Filter)),
        order_by=list(order_by),
        after=after is not None,
    )
    wanted = read.columns(columns, row=False)
    every = read.all_filters(filters)
    read.require_fields(sort_fields)
    read.no_masked(sort_fields, MSG_MASKED_FILTER)
    left = read.remaining()
    size = limit if left is None else max(1, min(limit, left))
    found, cursor = rows.page(
        storage or get_storage(),
        chosen,
        columns=wanted,
        filters=every,
        order_by=order_by,
        after=after,
        limit=size,
    )
    masker = _masker(scope, chosen)
    masked = [masker(r) for r in found]
    read.details.update(
        fields=_returned(scope, chosen, wanted), masked=_masked_names(scope, wanted, chosen)
    )
    read.allow(len(masked))
    return GatePage(rows=masked, next_cursor=cursor, version=chosen, masks=read.masks)


def _returned(scope: ReadScope, version: DatasetVersion, wanted: Sequence[str] | None) -> list[str]:
    names = list(wanted) if wanted is not None else version.field_names
    return [n for n in names if n == ROW_COLUMN or scope.allows(n)]


def _masked_names(
    scope: ReadScope, wanted: Sequence[str] | None, version: DatasetVersion
) -> dict[str, str]:
    names = list(wanted) if wanted is not None else version.field_names
    return {
        n: str(scope.technique(n))
        for n in names
        if n != ROW_COLUMN and scope.allows(n) and scope.technique(n) is not Technique.CLEAR
    }


def count(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    *,
    purpose: str,
    filters: Sequence[Filter] = (),
    version: DatasetVersion | None = None,
    storage: Storage | None = None,
) -> GateCount:
    """How many rows the filters keep (within the reader's row filter); no row leaves."""
    read, chosen, _scope = _begin(
        session,
        actor,
        dataset,
        "count",
        purpose,
        version,
        _filter_names(filters),
        filters=filters_mod.plain(f for f in filters if isinstance(f, Filter)),
    )
    every = read.all_filters(filters)
    total = rows.count(storage or get_storage(), chosen, filters=every)
    read.details["matched"] = total
    read.allow(0)
    return GateCount(rows=total, version=chosen)


def aggregate(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    *,
    purpose: str,
    group_by: Sequence[str] = (),
    measures: Sequence[tuple[str, str | None]] = (("count", None),),
    filters: Sequence[Filter] = (),
    version: DatasetVersion | None = None,
    limit: int = DEFAULT_AGGREGATE_LIMIT,
    storage: Storage | None = None,
) -> GateAggregate:
    """Grouped measures (``count``, ``sum``, ``avg``, ``min``, ``max``) over the version's
    file (DuckDB), within the reader's row filter.

    A reader who sees a field masked may group by it only when it is ``hash``-masked (the
    groups are its pseudonyms) and may not measure it at all.
    """
    measure_fields = [name for _fn, name in measures if name is not None]
    read, chosen, scope = _begin(
        session,
        actor,
        dataset,
        "aggregate",
        purpose,
        version,
        [*group_by, *measure_fields, *_filter_names(filters)],
        group_by=list(group_by),
        measures=[[fn, name] for fn, name in measures],
        filters=filters_mod.plain(f for f in filters if isinstance(f, Filter)),
    )
    read.require_fields([*group_by, *measure_fields])
    hashed = frozenset(n for n in group_by if scope.technique(n) is Technique.HASH)
    read.no_masked([n for n in group_by if n not in hashed], MSG_MASKED_GROUP)
    read.no_masked(measure_fields, MSG_MASKED_GROUP)
    every = read.all_filters(filters)
    left = read.remaining()
    size = limit if left is None else max(1, min(limit, left))
    names, found, truncated = rows.aggregate(
        storage or get_storage(),
        chosen,
        group_by=list(group_by),
        measures=list(measures),
        filters=every,
        hashed_groups=hashed,
        limit=size,
    )
    read.details.update(fields=list(group_by), masked={n: "hash" for n in hashed})
    read.allow(len(found))
    return GateAggregate(
        columns=names,
        rows=found,
        truncated=truncated,
        version=chosen,
        masks={n: Technique.HASH for n in hashed},
    )


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
    """The rows whose ``field`` (key, filterable or identifier) equals one of ``values``,
    within the reader's row filter. On a ``hash``-masked field the values are pseudonyms;
    on a field masked otherwise the lookup is refused."""
    read, chosen, scope = _begin(
        session,
        actor,
        dataset,
        "lookup",
        purpose,
        version,
        [field],
        filters=[[field, "in", list(values)[:20]]],
        values=len(values),
    )
    read.require_fields([field])
    technique = scope.technique(field)
    if technique not in (Technique.CLEAR, Technique.HASH):
        raise read.deny(PermissionDenied(MSG_MASKED_LOOKUP, field=field))
    every = read.row_filter()
    left = read.remaining()
    found = rows.lookup(
        storage or get_storage(),
        chosen,
        field,
        values,
        filters=every,
        hashed=technique is Technique.HASH,
        limit=rows.MAX_LIMIT if left is None else max(1, min(rows.MAX_LIMIT, left)),
    )
    masker = _masker(scope, chosen)
    masked = [masker(r) for r in found]
    read.details.update(
        fields=_returned(scope, chosen, None), masked=_masked_names(scope, None, chosen)
    )
    read.allow(len(masked))
    return masked


def scan(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    *,
    purpose: str,
    version: DatasetVersion | None = None,
    columns: Sequence[str] | None = None,
    filters: Sequence[Filter] = (),
    storage: Storage | None = None,
) -> Iterator[pa.RecordBatch]:
    """The rows as masked Arrow batches (default: every visible field and ``_row``).

    The policy is checked and the read audited when this is called, before the first batch.
    """
    read, chosen, scope = _begin(
        session,
        actor,
        dataset,
        "scan",
        purpose,
        version,
        [*(columns or ()), *_filter_names(filters)],
        filters=filters_mod.plain(f for f in filters if isinstance(f, Filter)),
    )
    batches, total, wanted = _prepared_scan(read, chosen, scope, columns, filters, storage)
    read.details.update(
        columns=wanted,
        fields=_returned(scope, chosen, wanted),
        masked=_masked_names(scope, wanted, chosen),
    )
    read.allow(total)
    return batches


def _prepared_scan(
    read: _Read,
    version: DatasetVersion,
    scope: ReadScope,
    columns: Sequence[str] | None,
    given: Sequence[Filter],
    storage: Storage | None,
) -> tuple[Iterator[pa.RecordBatch], int, list[str] | None]:
    wanted = read.columns(columns, row=True)
    every = read.all_filters(given)
    store = storage or get_storage()
    total = rows.count(store, version, filters=every) if every else version.row_count
    read.within_quota(total)
    batches = rows.batches(store, version, columns=wanted, filters=every)
    return _mask_batches(scope, version, batches), total, wanted


def export(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    *,
    purpose: str,
    fmt: str,
    columns: Sequence[str] | None = None,
    filters: Sequence[Filter] = (),
    version: DatasetVersion | None = None,
    storage: Storage | None = None,
) -> GateExport:
    """Masked rows for a file of format ``fmt`` (the caller writes the file), with the
    fingerprint the file must carry. Audited (with a fresh ``export_id``) before the first
    batch; a grant's quota must cover every row of the export."""
    if not _FORMAT.match(fmt or ""):
        raise ValidationFailed(MSG_BAD_FORMAT, fmt=str(fmt)[:20])
    export_id = uuid.uuid4().hex
    read, chosen, scope = _begin(
        session,
        actor,
        dataset,
        "export",
        purpose,
        version,
        [*(columns or ()), *_filter_names(filters)],
        filters=filters_mod.plain(f for f in filters if isinstance(f, Filter)),
        format=fmt,
        export_id=export_id,
    )
    batches, total, wanted = _prepared_scan(read, chosen, scope, columns, filters, storage)
    fingerprint = scope.grant.fingerprint if scope.grant is not None else secrets.token_hex(16)
    read.details.update(
        columns=wanted,
        fields=_returned(scope, chosen, wanted),
        masked=_masked_names(scope, wanted, chosen),
        fingerprint=fingerprint,
    )
    read.allow(total)
    return GateExport(
        batches=batches,
        schema=_masked_schema(scope, chosen, wanted),
        version=chosen,
        fingerprint=fingerprint,
        export_id=export_id,
        fmt=fmt,
        rows=total,
        masks=read.masks,
    )


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
    """What changed from ``old`` to ``new`` (rows matched on the new version's key), within
    the reader's row filter, masked as the reader sees the new version."""
    key = [str(f["name"]) for f in new.schema if f.get("key")]
    read, new, scope = _begin(
        session, actor, dataset, "diff", purpose, new, key, old_version=old.number
    )
    old = _version(session, dataset, old)
    if not key:
        raise ValidationFailed(MSG_NO_KEY)
    read.require_fields(key)
    every = read.row_filter()
    if every:
        try:
            filters_mod.check(every, old.schema)
        except ValidationFailed:
            raise read.deny(PermissionDenied(MSG_ROW_FILTER)) from None
    result = rows.diff(storage or get_storage(), old, new, key, filters=every, limit=limit)
    if not scope.clear:
        masker = _masker(scope, new)
        result = rows.VersionDiff(
            added=result.added,
            removed=result.removed,
            changed=result.changed,
            added_rows=[masker(r) for r in result.added_rows],
            removed_rows=[masker(r) for r in result.removed_rows],
            changed_cells=[
                rows.ChangedCell(
                    masker(dict(c.key)),
                    c.field,
                    _mask_value(scope, new, c.field, c.old),
                    _mask_value(scope, new, c.field, c.new),
                )
                for c in result.changed_cells
                if scope.allows(c.field)
            ],
            compared_fields=[f for f in result.compared_fields if scope.allows(f)],
        )
    read.details.update(cells=len(result.changed_cells), masked=_masked_names(scope, None, new))
    read.allow(len(result.added_rows) + len(result.removed_rows))
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
    """Per visible field: non-null count, exact distinct count, minimum and maximum, over
    the reader's rows. A masked field keeps its counts but not its minimum and maximum
    (they would be clear values)."""
    read, chosen, scope = _begin(session, actor, dataset, "profile", purpose, version, [])
    every = read.row_filter()
    stats = rows.profile(storage or get_storage(), chosen, filters=every)
    out: dict[str, dict[str, Any]] = {}
    for name, values in stats.items():
        if not scope.allows(name):
            continue
        if scope.technique(name) is not Technique.CLEAR:
            values = {**values, "min": None, "max": None}
        out[name] = values
    read.details.update(columns=list(out), masked=_masked_names(scope, list(out), chosen))
    read.allow(0)
    return out


def check_read(session: Session, actor: Actor, dataset: Dataset) -> ReadScope:
    """The reader's widest scope on the dataset, or ``PermissionDenied`` (reads nothing,
    records nothing: for links, buttons and pages about the data)."""
    return policy.require_read(session, actor, dataset)


def check_clear(session: Session, actor: Actor, dataset: Dataset) -> ReadScope:
    """The scope of a reader who reads the dataset in the clear — the platform, the bureau or
    the provider — or ``PermissionDenied``. For the provider's own views (ingestions,
    versions and their quality reports, traces), which show every field and row; a grant
    reader reads through the gate's reads instead."""
    scope = policy.require_read(session, actor, dataset)
    if scope.masked:
        raise PermissionDenied(MSG_DENIED)
    return scope


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

    Such a file holds every column as the provider sent it, so only a reader who reads
    every field of every row in the clear may open it.
    """
    read = _Read(session, actor, dataset, "file", _purpose(purpose), details={"file": key})
    scope = read.decide([])
    if scope.basis == "open" or (scope.masked and not _grant_reads_all(scope)):
        raise read.deny(PermissionDenied(MSG_MASKED_FILE))
    handle = (storage or get_storage()).open(key)
    read.allow(rows)
    return handle


def _grant_reads_all(scope: ReadScope) -> bool:
    return (
        scope.fields is None
        and not scope.row_filter
        and all(t is Technique.CLEAR for t in scope.techniques.values())
    )


@dataclass(frozen=True)
class EntityHit:
    """The rows of one dataset that carry the identifier looked up."""

    dataset: Dataset
    version: DatasetVersion
    field: str
    rows: list[dict[str, Any]]
    masks: Mapping[str, Technique] = dataclasses.field(default_factory=dict)


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
    reader may not read are skipped unseen, and so are those where the reader sees the
    identifier field masked: answering a clear value there would tell the reader the
    pseudonym of any value it chose. A grant reader gets only its grant's rows, masked.
    Each dataset that returned rows is audited like a lookup, and the search itself gets
    one entry whatever it found.
    """
    purpose = _purpose(purpose)
    storage = storage or get_storage()
    candidates = [
        (dataset, version)
        for dataset, version in session.execute(
            select(Dataset, DatasetVersion)
            .join(DatasetHead, DatasetHead.dataset_id == Dataset.id)
            .join(DatasetVersion, DatasetVersion.id == DatasetHead.version_id)
            .order_by(Dataset.id)
        ).all()
        if any(f.get("identifier") == kind for f in version.schema)
    ]
    grants = policy.grants_by_dataset(session, actor, [d.id for d, _v in candidates])
    techniques: dict[Level, dict[Sensitivity, Technique]] = {}
    hits: list[EntityHit] = []
    for dataset, version in candidates:
        scopes = _entity_scopes(session, actor, dataset, grants, techniques)
        for name in [str(f["name"]) for f in version.schema if f.get("identifier") == kind]:
            scope = policy.choose(scopes, [name])
            if scope is None:
                continue
            scope = scope.for_schema(version.schema)
            if scope.technique(name) is not Technique.CLEAR:
                continue
            read = _Read(session, actor, dataset, "entity", purpose, details={"field": name})
            read.scope, read.version = scope, version
            try:
                left = read.remaining()
                found = rows.lookup(
                    storage,
                    version,
                    name,
                    [value],
                    filters=read.row_filter(),
                    limit=rows.MAX_LIMIT if left is None else max(1, min(rows.MAX_LIMIT, left)),
                )
                if not found:
                    continue
                masker = _masker(scope, version)
                masked = [masker(r) for r in found]
                read.details.update(masked=_masked_names(scope, None, version))
                read.allow(len(masked))
            except PermissionDenied:
                continue  # recorded as data.denied; the search goes on elsewhere
            hits.append(EntityHit(dataset, version, name, masked, read.masks))
    # One entry for the search itself, hits or not: who looked for whom, and where it led.
    journal.write_entry(
        session,
        actor,
        journal.READ,
        "identifier",
        kind,
        label=keyed_hash(value),  # whom it looked for, testable with the key, never in clear
        changes={
            "operation": "entity_search",
            "purpose": purpose,
            "datasets": [h.dataset.id for h in hits],
            "rows": sum(len(h.rows) for h in hits),
            "result": "allowed",
        },
    )
    return hits


def _entity_scopes(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    grants: Mapping[int, list[Any]],
    techniques: dict[Level, dict[Sensitivity, Technique]],
) -> list[ReadScope]:
    """The reader's scopes on one dataset, from grants fetched for all datasets at once."""
    clear = policy.clear_scope(actor, dataset)
    if clear is not None:
        return [clear]
    mine = grants.get(dataset.id, [])
    if not mine:
        return []
    if dataset.level not in techniques:
        techniques[dataset.level] = policy.level_techniques(session, dataset.level)
    return [policy.grant_scope(g, techniques[dataset.level]) for g in mine]
