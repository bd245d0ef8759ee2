"""Reads the data API needs besides rows: which entry a path names, which version, and who
produced a file carrying a fingerprint.

Rows themselves are read only through the gate (``gongshu.gate.service``); this module
reads catalog entries, version metadata, grants and the audit chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, lazyload

from gongshu.audit.models import AuditEntry
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.permissions import Perm, can, in_region_scope, require_login
from gongshu.catalog.models import Dataset
from gongshu.catalog.queries import valid_id, visible_clause
from gongshu.catalog.service import NOT_FOUND
from gongshu.db import utcnow
from gongshu.errors import NotFound, PermissionDenied, ValidationFailed
from gongshu.i18n import N_
from gongshu.orgs.models import Agency
from gongshu.portal.openness import public_clause
from gongshu.share.models import Grant, GrantStatus
from gongshu.store.models import DatasetHead, DatasetVersion

MSG_NO_VERSION = N_("该数据集没有第 {number} 版")
MSG_FINGERPRINT_DENIED = N_("只有大数据主管部门和安全审计人员可以追溯指纹")
MSG_FINGERPRINT_UNKNOWN = N_("没有找到带有这个指纹的授权或导出记录")
MSG_BAD_FINGERPRINT = N_("指纹应为 8 到 64 位的十六进制字符")
MSG_AMBIGUOUS_PREFIX = N_("这个指纹前缀对应不止一个指纹，请输入完整的指纹")
# A grant's fingerprint and an export's are 32 hex digits; fewer is a prefix (a download's
# file name carries the first 8).
FULL_FINGERPRINT = 32
DIGEST_ACTION = "data.export_digest"
# Audit entries an investigation lists at most (newest first).
MAX_TRACED_EXPORTS = 500


def find_dataset(session: Session, actor: Actor, ref: str) -> Dataset:
    """The entry a path names — its id (digits) or its resource code — if the reader may
    see it in the catalog or it is public (open data, whose metadata anyone sees); otherwise
    404 (whether it may read the rows is the gate's call).
    """
    ref = ref.strip().strip("/")
    # The fields load only if something asks for them: the gate reads the version's schema.
    stmt = (
        select(Dataset)
        .where(or_(visible_clause(actor), public_clause()))
        .options(lazyload(Dataset.fields))
    )
    if ref.isdigit():
        number = int(ref)
        if not valid_id(number):
            raise NotFound(NOT_FOUND)
        stmt = stmt.where(Dataset.id == number)
    else:
        stmt = stmt.where(Dataset.code == ref)
    dataset = session.scalars(stmt).one_or_none()
    if dataset is None:
        raise NotFound(NOT_FOUND)
    return dataset


def version_by_number(session: Session, dataset: Dataset, number: int) -> DatasetVersion:
    """Version ``number`` of the entry (its files may have been pruned: the gate says so)."""
    found = session.scalars(
        select(DatasetVersion).where(
            DatasetVersion.dataset_id == dataset.id, DatasetVersion.number == number
        )
    ).one_or_none()
    if found is None:
        raise NotFound(MSG_NO_VERSION, number=number)
    return found


@dataclass(frozen=True)
class FingerprintTrace:
    """What a fingerprint leads to: the grant (if it is a grant's), the entry, the body,
    and the audited exports that carried it, newest first."""

    fingerprint: str
    grant: Grant | None
    dataset: Dataset | None
    agency: Agency | None
    exports: list[AuditEntry]
    # export id → the export's ``data.export_digest`` entry (exports that completed)
    digests: dict[str, AuditEntry] = field(default_factory=dict)


def may_trace(actor: Actor) -> bool:
    """Bureau admins (大数据主管部门) and those who read the audit chain may trace."""
    return actor.has(Role.BUREAU_ADMIN) or can(actor, Perm.AUDIT_READ)


def trace_fingerprint(session: Session, actor: Actor, fingerprint: str) -> FingerprintTrace:
    """Which grant, body and export produced a file carrying ``fingerprint``.

    A grant's fingerprint names the grant (and so the body and the entry) directly; every
    export is in the audit chain as a ``data.read`` entry with ``operation`` ``export`` and
    the fingerprint in its changes, which also covers exports by readers without a grant
    (a fresh fingerprint per export). A district bureau admin traces only entries of its
    district. The lookup of exports without a grant reads the ``data.read`` entries of
    the chain (there is no index on a JSON member): an investigation, not a hot path.

    Fewer than 32 hex digits are a prefix (a download's file name carries the first 8):
    it stands for the one fingerprint it starts, and is refused when it starts several.
    """
    require_login(actor)
    if not may_trace(actor):
        raise PermissionDenied(MSG_FINGERPRINT_DENIED)
    fp = fingerprint.strip().lower()
    if not 8 <= len(fp) <= 64 or any(c not in "0123456789abcdef" for c in fp):
        raise ValidationFailed.single("fingerprint", MSG_BAD_FINGERPRINT)
    if len(fp) < FULL_FINGERPRINT:
        fp = _full_fingerprint(session, fp)
    grant = session.scalars(select(Grant).where(Grant.fingerprint == fp)).one_or_none()
    stmt = select(AuditEntry).where(
        AuditEntry.action == "data.read",
        AuditEntry.changes["fingerprint"].as_string() == fp,
    )
    if grant is not None:
        # The grant's entry narrows the search to its dataset's entries (indexed).
        stmt = stmt.where(
            AuditEntry.object_type == "dataset", AuditEntry.object_id == str(grant.dataset_id)
        )
    exports = list(session.scalars(stmt.order_by(AuditEntry.seq.desc()).limit(MAX_TRACED_EXPORTS)))
    dataset: Dataset | None = None
    if grant is not None:
        dataset = session.get(Dataset, grant.dataset_id)
    elif exports and exports[0].object_type == "dataset" and exports[0].object_id.isdigit():
        dataset = session.get(Dataset, int(exports[0].object_id))
    if grant is None and not exports:
        raise NotFound(MSG_FINGERPRINT_UNKNOWN)
    if (
        dataset is not None
        and not can(actor, Perm.AUDIT_READ)
        and not in_region_scope(actor, dataset.region_id)
    ):
        raise NotFound(MSG_FINGERPRINT_UNKNOWN)
    agency_id = grant.agency_id if grant is not None else exports[0].agency_id
    agency = session.get(Agency, agency_id) if agency_id is not None else None
    digests = {
        str(e.changes.get("export_id")): e
        for e in session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == DIGEST_ACTION,
                AuditEntry.changes["fingerprint"].as_string() == fp,
            )
        )
    }
    return FingerprintTrace(fp, grant, dataset, agency, exports, digests)


def _full_fingerprint(session: Session, prefix: str) -> str:
    """The one fingerprint starting with ``prefix`` (a grant's, or an export's), else the
    prefix itself (found nowhere); refused when it starts more than one."""
    found = set(
        session.scalars(
            select(Grant.fingerprint).where(Grant.fingerprint.startswith(prefix)).limit(2)
        )
    )
    recorded = AuditEntry.changes["fingerprint"].as_string()
    found.update(
        str(fp)
        for fp in session.scalars(
            select(recorded)
            .where(AuditEntry.action == "data.read", recorded.startswith(prefix))
            .distinct()
            .limit(2)
        )
        if fp
    )
    if len(found) > 1:
        raise ValidationFailed.single("fingerprint", MSG_AMBIGUOUS_PREFIX)
    return found.pop() if found else prefix


@dataclass(frozen=True)
class ReadableEntry:
    """An entry the reader can call the data API on, and on what basis (for the help page;
    the gate decides each call)."""

    dataset: Dataset
    version: DatasetVersion
    basis: str  # "provider", "grant" or "bureau"
    grant: Grant | None = None


def readable_entries(session: Session, actor: Actor, *, limit: int = 100) -> list[ReadableEntry]:
    """Entries with data the reader's body reads as their provider, through an active grant,
    or (a bureau admin) in its region — as the gate's policy would decide them, in a few
    queries rather than one policy check per entry."""
    live = (
        select(Dataset, DatasetVersion)
        .join(DatasetHead, DatasetHead.dataset_id == Dataset.id)
        .join(DatasetVersion, DatasetVersion.id == DatasetHead.version_id)
        .options(lazyload(Dataset.fields))
    )
    out: list[ReadableEntry] = []
    seen: set[int] = set()
    if actor.has(Role.BUREAU_ADMIN):
        stmt = live if actor.city_scope else live.where(Dataset.region_id == actor.region_id)
        for dataset, version in session.execute(stmt.order_by(Dataset.code).limit(limit)):
            out.append(ReadableEntry(dataset, version, "bureau"))
            seen.add(dataset.id)
    if actor.agency_id is not None and actor.has(Role.AGENCY_OFFICER, Role.AGENCY_CONSUMER):
        own = live.where(Dataset.agency_id == actor.agency_id).order_by(Dataset.code).limit(limit)
        for dataset, version in session.execute(own):
            if dataset.id not in seen:
                out.append(ReadableEntry(dataset, version, "provider"))
                seen.add(dataset.id)
        now = utcnow()
        granted = (
            live.add_columns(Grant)
            .join(Grant, Grant.dataset_id == Dataset.id)
            .where(
                Grant.agency_id == actor.agency_id,
                Grant.status == GrantStatus.ACTIVE,
                Grant.starts_at <= now,
                or_(Grant.expires_at.is_(None), Grant.expires_at > now),
            )
            .order_by(Dataset.code, Grant.id)
            .limit(limit)
        )
        for dataset, version, grant in session.execute(granted):
            if dataset.id not in seen:
                out.append(ReadableEntry(dataset, version, "grant", grant))
                seen.add(dataset.id)
    return out[:limit]
