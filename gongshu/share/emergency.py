"""Emergency mode (应急): temporary, wider sharing that ends by itself.

A city bureau admin declares an emergency with a name, a reason, a scope and an end time
(at most ``GONGSHU_SHARE_EMERGENCY_MAX_DAYS`` away); it starts at once. The scope is:

- **entries** — the ones listed, or (none listed) every published entry that is shared
  (unconditional or conditional). A not-shared entry (不予共享) is included only when the
  declaration lists it explicitly *and* says ``include_not_shared``, and never when it is
  core or important data (核心数据、重要数据: listing one is refused); listed not-shared
  entries without ``include_not_shared`` are skipped and the report says so;
- **bodies** — the agencies listed, or (none listed) every active agency. Naming neither
  is refused: an emergency is not a way to open everything to everyone.

Every body in scope gets one grant (kind ``emergency``) on every entry in scope that is not
its own: every field, masked as the gate decides unless the declaration says ``in_clear``,
expiring at the end time. A banner shows on every page while an emergency is active.

At the end everything reverts by itself: the gate stops honouring the grants at
``expires_at``; the job ``share.emergency_end`` (queued for the end time, and the hourly
sweep as a backstop) marks the emergency ended and its grants expired. The bureau may end
it early, which revokes its grants at once. Audited ``emergency.declare`` and
``emergency.end``; the report counts the grants, the bodies and the reads made under the
grants (``data.read`` entries whose ``changes.grant`` is one of them).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gongshu.audit import service as audit
from gongshu.audit.models import AuditEntry
from gongshu.auth.actor import Actor
from gongshu.auth.permissions import Perm, can, require_login
from gongshu.catalog.models import Dataset, DatasetState, Level, ShareType
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.jobs.service import enqueue
from gongshu.labels import label
from gongshu.notices.service import notify
from gongshu.orgs.models import Agency
from gongshu.pagination import Page
from gongshu.settings import get_settings
from gongshu.share import issuing, rules
from gongshu.share.issuing import clean_reason
from gongshu.share.models import Emergency, EmergencyStatus, Grant, GrantKind, GrantStatus
from gongshu.share.schemas import EmergencyCreate, EmergencyEnd
from gongshu.workdays.calendar import TZ

__all__ = [
    "END_JOB",
    "EmergencyReportData",
    "active_emergencies",
    "declare_emergency",
    "end_emergency",
    "expire_emergencies",
    "get_emergency",
    "list_emergencies",
    "report",
]

END_JOB = "share.emergency_end"
PROTECTED_LEVELS = frozenset({Level.CORE, Level.IMPORTANT})

M_NOT_FOUND = N_("应急事件不存在")
M_CITY_ONLY = N_("只有市级大数据主管部门可以宣布或结束应急状态")
M_NOT_READER = N_("只有大数据主管部门和安全监管人员可以查看应急共享记录")
M_INVALID = N_("应急声明有误，请按提示修改")
M_SCOPE_EMPTY = N_("请至少指定一个目录条目或一个机构，不能向所有机构开放所有目录条目")
M_ENDS_PAST = N_("结束时间应晚于现在")
M_ENDS_TOO_LATE = N_("应急状态最长 {days} 天，结束时间不能晚于 {latest}")
M_NO_ENTRY = N_("目录条目（第 {id} 号）不存在或未发布")
M_NO_AGENCY = N_("机构（第 {id} 号）不存在或已停用")
M_PROTECTED = N_("“{name}”为{level}且不予共享，不能纳入应急共享")
M_ENDED = N_("该应急状态已于 {at} 结束")
M_STALE = N_("该应急状态已被他人处理，请刷新页面后重试")
M_END_REASON = N_("请填写提前结束的理由")
M_NOTHING = N_("范围内没有可以授权的目录条目和机构组合")
SKIP_NOT_SHARED = "not_shared"
SKIP_LABELS = {SKIP_NOT_SHARED: N_("不予共享，声明未选择纳入")}

NOTICE_DECLARED = N_("应急状态：{name}")
NOTICE_DECLARED_BODY = N_(
    "市大数据局宣布应急状态“{name}”（{reason}），至 {until} 结束；"
    "期间本单位可按授权使用范围内的数据。"
)
NOTICE_ENDED = N_("应急状态已结束：{name}")
NOTICE_ENDED_BODY = N_("应急状态“{name}”已结束，相关应急共享授权已终止。")


def _require_city(actor: Actor | None) -> Actor:
    actor = require_login(actor)
    if not rules.city_bureau(actor):
        raise PermissionDenied(M_CITY_ONLY)
    return actor


def may_read(actor: Actor | None) -> bool:
    """Bureau admins, auditors and the platform read emergencies and their reports."""
    return actor is not None and (
        rules.is_platform(actor) or can(actor, Perm.CATALOG_REVIEW) or can(actor, Perm.AUDIT_READ)
    )


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def _aware(moment: dt.datetime) -> dt.datetime:
    """A time from a form without a zone is the city's local time."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=TZ)


# --- declaring ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    datasets: list[Dataset]
    agencies: list[Agency]
    skipped: list[list[object]]


def _invalid(field: str, message: str, **params: object) -> ValidationFailed:
    return ValidationFailed(M_INVALID, {field: [translate(message, None, **params)]})


def _resolve(session: Session, data: EmergencyCreate) -> _Scope:
    if not data.dataset_ids and not data.agency_ids:
        raise _invalid("dataset_ids", M_SCOPE_EMPTY)
    skipped: list[list[object]] = []
    if data.dataset_ids:
        wanted = list(dict.fromkeys(data.dataset_ids))
        found = {
            d.id: d
            for d in session.scalars(
                select(Dataset).where(
                    Dataset.id.in_(wanted), Dataset.state == DatasetState.PUBLISHED
                )
            )
        }
        datasets: list[Dataset] = []
        for dataset_id in wanted:
            dataset = found.get(dataset_id)
            if dataset is None:
                raise _invalid("dataset_ids", M_NO_ENTRY, id=dataset_id)
            if dataset.share_type is ShareType.NONE:
                if not data.include_not_shared:
                    skipped.append([dataset.id, SKIP_NOT_SHARED])
                    continue
                if dataset.level in PROTECTED_LEVELS:
                    raise _invalid(
                        "dataset_ids", M_PROTECTED, name=dataset.title, level=label(dataset.level)
                    )
            datasets.append(dataset)
    else:
        datasets = list(
            session.scalars(
                select(Dataset)
                .where(
                    Dataset.state == DatasetState.PUBLISHED,
                    Dataset.share_type != ShareType.NONE,
                )
                .order_by(Dataset.id)
            )
        )
    if data.agency_ids:
        wanted_agencies = list(dict.fromkeys(data.agency_ids))
        by_id = {
            a.id: a
            for a in session.scalars(
                select(Agency).where(Agency.id.in_(wanted_agencies), Agency.is_active.is_(True))
            )
        }
        agencies: list[Agency] = []
        for agency_id in wanted_agencies:
            if agency_id not in by_id:
                raise _invalid("agency_ids", M_NO_AGENCY, id=agency_id)
            agencies.append(by_id[agency_id])
    else:
        agencies = list(
            session.scalars(select(Agency).where(Agency.is_active.is_(True)).order_by(Agency.id))
        )
    return _Scope(datasets, agencies, skipped)


def declare_emergency(
    session: Session, actor: Actor | None, data: EmergencyCreate, *, now: dt.datetime | None = None
) -> Emergency:
    """Declare an emergency now until ``ends_at`` and issue its grants (the city bureau)."""
    actor = _require_city(actor)
    now = now or utcnow()
    ends_at = _aware(data.ends_at)
    max_days = get_settings().share_emergency_max_days
    if ends_at <= now:
        raise _invalid("ends_at", M_ENDS_PAST)
    latest = now + dt.timedelta(days=max_days)
    if ends_at > latest:
        raise _invalid("ends_at", M_ENDS_TOO_LATE, days=max_days, latest=_local(latest))
    with unit_of_work(session):
        scope = _resolve(session, data)
        pairs = [
            (dataset, agency)
            for dataset in scope.datasets
            for agency in scope.agencies
            if agency.id != dataset.agency_id
        ]
        if not pairs:
            raise _invalid("dataset_ids", M_NOTHING)
        emergency = Emergency(
            name=data.name,
            reason=data.reason,
            dataset_ids=[d.id for d in scope.datasets],
            agency_ids=[a.id for a in scope.agencies],
            all_entries=not data.dataset_ids,
            all_agencies=not data.agency_ids,
            include_not_shared=data.include_not_shared,
            in_clear=data.in_clear,
            skipped=scope.skipped,
            status=EmergencyStatus.ACTIVE,
            starts_at=now,
            ends_at=ends_at,
            declared_by_id=actor.user_id,
            declared_at=now,
        )
        session.add(emergency)
        session.flush()
        grants = [
            issuing.new_grant(
                actor,
                dataset=dataset,
                agency_id=agency.id,
                kind=GrantKind.EMERGENCY,
                clear_fields=[f.name for f in dataset.fields] if data.in_clear else [],
                purpose=data.name,
                scenario=data.reason,
                starts_at=now,
                expires_at=ends_at,
                emergency_id=emergency.id,
            )
            for dataset, agency in pairs
        ]
        issuing.add_grants(session, grants)
        emergency.grants_issued = len(grants)
        enqueue(session, END_JOB, {"emergency_id": emergency.id}, run_after=ends_at)
        audience = set(rules.city_bureau_ids(session))
        for agency_id in {a.id for _d, a in pairs} | {d.agency_id for d, _a in pairs}:
            audience |= set(rules.officer_ids(session, agency_id))
        notify(
            session,
            user_ids=audience,
            kind="emergency.declared",
            title=NOTICE_DECLARED,
            body=NOTICE_DECLARED_BODY,
            link=f"/share/emergencies/{emergency.id}",
            name=emergency.name,
            reason=emergency.reason,
            until=_local(ends_at),
        )
        session.flush()
        audit.record(
            session,
            actor,
            "emergency.declare",
            "share_emergency",
            emergency.id,
            label=emergency.name,
            changes={
                "name": emergency.name,
                "reason": emergency.reason,
                "starts_at": audit.plain(now),
                "ends_at": audit.plain(ends_at),
                "dataset_ids": emergency.dataset_ids,
                "agency_ids": emergency.agency_ids,
                "all_entries": emergency.all_entries,
                "all_agencies": emergency.all_agencies,
                "include_not_shared": emergency.include_not_shared,
                "in_clear": emergency.in_clear,
                "skipped": emergency.skipped,
                "grants_issued": emergency.grants_issued,
            },
        )
    return emergency


# --- ending -------------------------------------------------------------------------------


def _finish(
    session: Session,
    actor: Actor,
    emergency: Emergency,
    *,
    early: bool,
    reason: str,
    now: dt.datetime,
) -> int:
    """End the emergency and its still-active grants (in the caller's transaction)."""
    status = GrantStatus.REVOKED if early else GrantStatus.EXPIRED
    grants = list(
        session.scalars(
            select(Grant).where(
                Grant.emergency_id == emergency.id, Grant.status == GrantStatus.ACTIVE
            )
        )
    )
    for grant in grants:
        issuing.end_grant(grant, status, actor, reason)
        grant.ended_at = now
    emergency.status = EmergencyStatus.ENDED
    emergency.ended_at = now
    emergency.ended_by_id = actor.user_id
    emergency.ended_early = early
    emergency.end_reason = reason
    audience = set(rules.city_bureau_ids(session))
    for agency_id in {g.agency_id for g in grants}:
        audience |= set(rules.officer_ids(session, agency_id))
    notify(
        session,
        user_ids=audience,
        kind="emergency.ended",
        title=NOTICE_ENDED,
        body=NOTICE_ENDED_BODY,
        link=f"/share/emergencies/{emergency.id}",
        name=emergency.name,
    )
    session.flush()
    audit.record(
        session,
        actor,
        "emergency.end",
        "share_emergency",
        emergency.id,
        label=emergency.name,
        changes={
            "status": [EmergencyStatus.ACTIVE.value, EmergencyStatus.ENDED.value],
            "early": early,
            "reason": reason,
            "grants_ended": len(grants),
            "grant_status": status.value,
        },
    )
    return len(grants)


def end_emergency(
    session: Session,
    actor: Actor | None,
    emergency_id: int,
    data: EmergencyEnd,
    *,
    now: dt.datetime | None = None,
) -> Emergency:
    """End an active emergency before its time (the city bureau, with a reason): its grants
    are revoked at once."""
    actor = _require_city(actor)
    now = now or utcnow()
    reason = clean_reason(data.reason, required=M_END_REASON)
    try:
        with unit_of_work(session):
            emergency = get_emergency(session, actor, emergency_id)
            session.refresh(emergency, with_for_update=True)
            if data.lock_version is not None and data.lock_version != emergency.lock_version:
                raise Conflict(M_STALE)
            if emergency.status is EmergencyStatus.ENDED:
                raise Conflict(M_ENDED, at=_local(emergency.ended_at or emergency.ends_at))
            _finish(
                session, actor, emergency, early=now < emergency.ends_at, reason=reason, now=now
            )
    except StaleDataError as exc:
        raise Conflict(M_STALE) from exc
    return emergency


def expire_emergencies(
    session: Session, actor: Actor, *, now: dt.datetime | None = None, only: int | None = None
) -> int:
    """End every active emergency whose time is up (the job at the end time, and the
    sweep): their grants become ``expired``. Commits; returns how many ended."""
    now = now or utcnow()
    stmt = select(Emergency).where(
        Emergency.status == EmergencyStatus.ACTIVE, Emergency.ends_at <= now
    )
    if only is not None:
        stmt = stmt.where(Emergency.id == only)
    count = 0
    with unit_of_work(session):
        for emergency in session.scalars(
            stmt.order_by(Emergency.id).with_for_update(skip_locked=True)
        ).all():
            _finish(session, actor, emergency, early=False, reason="", now=now)
            count += 1
    return count


# --- reading ------------------------------------------------------------------------------


def active_emergencies(session: Session, now: dt.datetime | None = None) -> list[Emergency]:
    """Emergencies in force right now (for the banner): declared, not ended, not past their
    end time even if the job has not run yet."""
    now = now or utcnow()
    stmt = select(Emergency).where(
        Emergency.status == EmergencyStatus.ACTIVE,
        Emergency.starts_at <= now,
        Emergency.ends_at > now,
    )
    return list(session.scalars(stmt.order_by(Emergency.ends_at)))


def get_emergency(session: Session, actor: Actor | None, emergency_id: int) -> Emergency:
    actor = require_login(actor)
    if not may_read(actor):
        raise PermissionDenied(M_NOT_READER)
    emergency = session.get(Emergency, emergency_id) if 1 <= emergency_id < 2**63 else None
    if emergency is None:
        raise NotFound(M_NOT_FOUND)
    return emergency


def list_emergencies(
    session: Session, actor: Actor | None, *, page: int = 1, per_page: int = 20
) -> Page[Emergency]:
    actor = require_login(actor)
    if not may_read(actor):
        raise PermissionDenied(M_NOT_READER)
    page = max(1, page)
    per_page = max(1, min(per_page, 100))
    total = int(session.scalar(select(func.count()).select_from(Emergency)) or 0)
    rows = session.scalars(
        select(Emergency)
        .order_by(Emergency.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(list(rows), total, page, per_page)


@dataclass(frozen=True)
class EmergencyReportData:
    emergency: Emergency
    grants: int
    live_grants: int
    bodies: list[tuple[int, str, int]]  # agency id, name, grants held
    entries: int
    reads: int
    rows_read: int
    reads_by_body: dict[str, int]


def _grant_of(changes: dict[str, object]) -> int | None:
    """The grant a ``data.read`` entry was allowed under (an id, or a dict holding one)."""
    value = changes.get("grant")
    if isinstance(value, dict):
        value = value.get("id")
    try:
        return int(value) if value is not None else None  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def report(session: Session, actor: Actor | None, emergency_id: int) -> EmergencyReportData:
    """What an emergency did: grants issued, bodies, entries, and the reads made under its
    grants (``data.read`` entries whose ``changes.grant`` is one of them)."""
    emergency = get_emergency(session, actor, emergency_id)
    now = utcnow()
    rows = session.execute(
        select(Grant.id, Grant.agency_id, Grant.dataset_id, Grant.status, Grant.expires_at).where(
            Grant.emergency_id == emergency.id
        )
    ).all()
    grant_ids = {r[0] for r in rows}
    live = sum(1 for r in rows if r[3] is GrantStatus.ACTIVE and (r[4] is None or r[4] > now))
    held = Counter(r[1] for r in rows)
    names = dict(
        session.execute(select(Agency.id, Agency.name).where(Agency.id.in_(list(held)))).all()
    )
    bodies = [(a, names.get(a, str(a)), n) for a, n in sorted(held.items())]
    reads, rows_read, by_body = _reads(session, emergency, grant_ids, {r[2] for r in rows}, names)
    return EmergencyReportData(
        emergency=emergency,
        grants=len(rows),
        live_grants=live,
        bodies=bodies,
        entries=len({r[2] for r in rows}),
        reads=reads,
        rows_read=rows_read,
        reads_by_body=by_body,
    )


def _reads(
    session: Session,
    emergency: Emergency,
    grant_ids: set[int],
    dataset_ids: set[int],
    names: dict[int, str],
) -> tuple[int, int, dict[str, int]]:
    """Count reads under the grants: only entries on the emergency's entries during its time
    are looked at, and each one's ``changes.grant`` decides."""
    if not grant_ids:
        return 0, 0, {}
    end = emergency.ended_at or emergency.ends_at
    stmt = select(AuditEntry.agency_id, AuditEntry.changes).where(
        AuditEntry.action == "data.read",
        AuditEntry.object_type == "dataset",
        AuditEntry.object_id.in_([str(i) for i in sorted(dataset_ids)]),
        AuditEntry.at >= emergency.starts_at,
        AuditEntry.at <= end,
    )
    reads = rows_read = 0
    by_body: Counter[str] = Counter()
    for agency_id, changes in session.execute(stmt):
        grant = _grant_of(changes or {})
        if grant is None or grant not in grant_ids or (changes or {}).get("result") == "denied":
            continue
        reads += 1
        value = (changes or {}).get("rows")
        rows_read += int(value) if isinstance(value, int) else 0
        by_body[names.get(agency_id or 0, str(agency_id))] += 1
    return reads, rows_read, dict(by_body)


def skipped_labels(emergency: Emergency, titles: dict[int, str]) -> list[str]:
    """The entries left out of the scope, with why, for the report."""
    out: list[str] = []
    for dataset_id, why in emergency.skipped:
        title = titles.get(int(dataset_id), str(dataset_id))
        out.append(f"{title}: {translate(SKIP_LABELS.get(str(why), str(why)))}")
    return out


def titles_of(session: Session, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        session.execute(select(Dataset.id, Dataset.title).where(Dataset.id.in_(list(ids)))).all()
    )
