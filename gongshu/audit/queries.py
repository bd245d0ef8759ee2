"""Reading the audit chain: who may see which entries, searches, pages and exports.

Who sees what (checked here, for pages, API and CLI alike):

* auditors and the audit admin (``audit.read``), the platform itself, and bureau admins of
  the city see every entry;
* a district's bureau admin sees the entries of that district's bodies, and the reads of
  that district's catalog entries;
* an agency's data officers see their own body's traffic: entries made by their body's
  users and keys, and gate entries (``data.*``) about their body's catalog entries;
* everyone else is refused.

Pages are keyset pages, newest first: ``before`` is the ``seq`` below which the page
starts, so a page costs the same at the millionth entry as at the first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import Session

from gongshu.audit.chain import DATA_PREFIX
from gongshu.audit.models import AuditEntry
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.permissions import Perm, can, require_login
from gongshu.catalog.models import Dataset
from gongshu.errors import PermissionDenied, ValidationFailed
from gongshu.i18n import N_
from gongshu.orgs.models import Agency

MAX_PER_PAGE = 500
DEFAULT_PER_PAGE = 50
RESULTS = ("allowed", "denied")

MSG_NO_ACCESS = N_("没有查看审计记录的权限")
MSG_RESULT = N_("结果只能是 allowed（允许）或 denied（拒绝）")
MSG_RANGE = N_("开始时间不能晚于结束时间")


@dataclass(frozen=True)
class EntryQuery:
    """What an auditor searches for. Empty values do not filter.

    ``agency_id`` is the body that acted (read, wrote); ``provider_id`` the body whose
    catalog entries were concerned; ``since``/``until`` bound ``at`` (until exclusive).
    """

    agency_id: int | None = None
    provider_id: int | None = None
    dataset_id: int | None = None
    actor_id: int | None = None
    actor_name: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    result: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def checked(self) -> EntryQuery:
        if self.result and self.result not in RESULTS:
            raise ValidationFailed.single("result", MSG_RESULT)
        if self.since and self.until and self.since > self.until:
            raise ValidationFailed.single("since", MSG_RANGE)
        return replace(self, action=self.action.strip(), actor_name=self.actor_name.strip())


@dataclass(frozen=True)
class EntryPage:
    """One keyset page: the entries, and the ``before`` of the next page (None: last)."""

    items: list[AuditEntry]
    next_before: int | None
    per_page: int


def sees_all(actor: Actor) -> bool:
    """Auditors, the audit admin, the platform itself and the city's bureau admins."""
    if actor.is_system and actor.api_key_id is None:
        return True
    if can(actor, Perm.AUDIT_READ):
        return True
    return actor.has(Role.BUREAU_ADMIN) and actor.city_scope


def may_read(actor: Actor | None) -> bool:
    """Whether the actor sees any audit entries at all (for links)."""
    if actor is None:
        return False
    if sees_all(actor):
        return True
    if actor.has(Role.BUREAU_ADMIN) and actor.region_id is not None:
        return True
    return actor.has(Role.AGENCY_OFFICER) and actor.agency_id is not None


def scope_clause(actor: Actor | None) -> ColumnElement[bool]:
    """The WHERE condition selecting the entries ``actor`` may see (or refusal)."""
    actor = require_login(actor)
    if sees_all(actor):
        return true()
    conditions: list[ColumnElement[bool]] = []
    if actor.has(Role.BUREAU_ADMIN) and actor.region_id is not None:
        region_bodies = select(Agency.id).where(Agency.region_id == actor.region_id)
        region_entries = select(Dataset.id).where(Dataset.region_id == actor.region_id)
        conditions.append(AuditEntry.agency_id.in_(region_bodies.scalar_subquery()))
        conditions.append(AuditEntry.dataset_id.in_(region_entries.scalar_subquery()))
    if actor.has(Role.AGENCY_OFFICER) and actor.agency_id is not None:
        own_entries = select(Dataset.id).where(Dataset.agency_id == actor.agency_id)
        conditions.append(AuditEntry.agency_id == actor.agency_id)
        conditions.append(
            and_(
                AuditEntry.action.startswith(DATA_PREFIX),
                AuditEntry.dataset_id.in_(own_entries.scalar_subquery()),
            )
        )
    if not conditions:
        raise PermissionDenied(MSG_NO_ACCESS)
    return or_(false(), *conditions)


def filter_clause(query: EntryQuery) -> ColumnElement[bool]:
    e = AuditEntry
    conditions: list[ColumnElement[bool]] = []
    if query.agency_id is not None:
        conditions.append(e.agency_id == query.agency_id)
    if query.provider_id is not None:
        provided = select(Dataset.id).where(Dataset.agency_id == query.provider_id)
        conditions.append(e.dataset_id.in_(provided.scalar_subquery()))
    if query.dataset_id is not None:
        conditions.append(e.dataset_id == query.dataset_id)
    if query.actor_id is not None:
        conditions.append(e.actor_id == query.actor_id)
    if query.actor_name:
        conditions.append(e.actor_name.contains(query.actor_name, autoescape=True))
    if query.action:
        conditions.append(e.action.startswith(query.action, autoescape=True))
    if query.object_type:
        conditions.append(e.object_type == query.object_type)
    if query.object_id:
        conditions.append(e.object_id == query.object_id)
    if query.result:
        conditions.append(e.result == query.result)
    if query.since is not None:
        conditions.append(e.at >= query.since)
    if query.until is not None:
        conditions.append(e.at < query.until)
    return and_(true(), *conditions)


def search(
    session: Session,
    actor: Actor | None,
    query: EntryQuery,
    *,
    before: int | None = None,
    per_page: int = DEFAULT_PER_PAGE,
) -> EntryPage:
    """One page of the entries ``actor`` may see that match ``query``, newest first."""
    scope = scope_clause(actor)
    query = query.checked()
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    stmt = select(AuditEntry).where(scope, filter_clause(query))
    if before is not None:
        stmt = stmt.where(AuditEntry.seq < before)
    rows = list(session.scalars(stmt.order_by(AuditEntry.seq.desc()).limit(per_page + 1)))
    more = len(rows) > per_page
    items = rows[:per_page]
    return EntryPage(items, items[-1].seq if more and items else None, per_page)


def iter_entries(
    session: Session, actor: Actor | None, query: EntryQuery, *, limit: int, batch: int = 2000
) -> Iterator[AuditEntry]:
    """Every matching entry the actor may see, newest first, at most ``limit`` (exports)."""
    before: int | None = None
    sent = 0
    while sent < limit:
        page = search(session, actor, query, before=before, per_page=min(batch, limit - sent))
        yield from page.items
        sent += len(page.items)
        if page.next_before is None:
            return
        before = page.next_before
        session.expunge_all()  # a long export must not keep every entry in the session


def get_entry(session: Session, actor: Actor | None, seq: int) -> AuditEntry | None:
    """One entry by ``seq``, if the actor may see it."""
    stmt = select(AuditEntry).where(AuditEntry.seq == seq, scope_clause(actor))
    return session.scalars(stmt).first()


def names(session: Session, entries: list[AuditEntry]) -> tuple[dict[int, str], dict[int, str]]:
    """Body names and catalog entry titles for a page of entries (two queries)."""
    agency_ids = {e.agency_id for e in entries if e.agency_id is not None}
    dataset_ids = {e.dataset_id for e in entries if e.dataset_id is not None}
    bodies: dict[int, str] = {}
    titles: dict[int, str] = {}
    if agency_ids:
        stmt = select(Agency.id, Agency.name).where(Agency.id.in_(agency_ids))
        bodies = {int(i): str(n) for i, n in session.execute(stmt)}
    if dataset_ids:
        query = select(Dataset.id, Dataset.title).where(Dataset.id.in_(dataset_ids))
        titles = {int(i): str(t) for i, t in session.execute(query)}
    return bodies, titles


def body_choices(session: Session, actor: Actor | None) -> list[tuple[int, str]]:
    """The bodies an auditor may pick in the filter (the officer's own body only)."""
    actor = require_login(actor)
    stmt = select(Agency.id, Agency.name).order_by(Agency.name)
    if not sees_all(actor):
        if actor.has(Role.BUREAU_ADMIN) and actor.region_id is not None:
            stmt = stmt.where(Agency.region_id == actor.region_id)
        elif actor.agency_id is not None:
            stmt = stmt.where(Agency.id == actor.agency_id)
        else:
            return []
    return [(int(i), str(n)) for i, n in session.execute(stmt)]


CSV_LIMIT = 1_000_000
CSV_HEADER = (
    N_("序号"),
    N_("时间"),
    N_("操作人"),
    N_("所属机构"),
    N_("操作"),
    N_("结果"),
    N_("对象类型"),
    N_("对象编号"),
    N_("对象名称"),
    N_("目录条目"),
    N_("行数"),
    N_("用途"),
    N_("变更内容"),
    N_("请求编号"),
    N_("IP 地址"),
    N_("哈希"),
)


def csv_chunks(
    session: Session, actor: Actor | None, query: EntryQuery, *, limit: int = CSV_LIMIT
) -> Iterator[str]:
    """The matching entries as CSV text (header in the reader's language, times in
    Asia/Shanghai), newest first, a chunk at a time; no cell is ever a formula."""
    import csv
    import io
    import json

    from gongshu.catalog.queries import safe_cell
    from gongshu.i18n import translate
    from gongshu.workdays.calendar import TZ

    scope_clause(actor)  # refuse before the first byte is sent
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # so that spreadsheet programs read UTF-8
    writer.writerow([translate(h) for h in CSV_HEADER])
    batch: list[AuditEntry] = []

    def flush() -> str:
        bodies, titles = names(session, batch)
        for e in batch:
            purpose = e.changes.get("purpose", "") if e.action.startswith(DATA_PREFIX) else ""
            writer.writerow(
                [
                    safe_cell(v)
                    for v in (
                        e.seq,
                        e.at.astimezone(TZ).strftime("%Y-%m-%d %H:%M:%S"),
                        e.actor_name,
                        bodies.get(e.agency_id, "") if e.agency_id is not None else "",
                        e.action,
                        e.result,
                        e.object_type,
                        e.object_id,
                        e.object_label,
                        titles.get(e.dataset_id, "") if e.dataset_id is not None else "",
                        "" if e.rows is None else e.rows,
                        purpose if isinstance(purpose, str) else json.dumps(purpose),
                        json.dumps(e.changes, ensure_ascii=False, sort_keys=True),
                        e.request_id,
                        e.ip,
                        e.entry_hash,
                    )
                ]
            )
        batch.clear()
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    for entry in iter_entries(session, actor, query, limit=limit):
        batch.append(entry)
        if len(batch) >= 1000:
            yield flush()
    yield flush()
