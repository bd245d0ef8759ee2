"""Reading the audit chain: filtered pages for auditors."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.auth.actor import Actor
from gongshu.auth.permissions import Perm, require
from gongshu.pagination import Page


@dataclass(frozen=True)
class AuditFilter:
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    actor_name: str = ""


AuditPage = Page[AuditEntry]


def list_entries(
    session: Session, actor: Actor | None, filters: AuditFilter, page: int = 1, per_page: int = 50
) -> AuditPage:
    """Newest entries first; only audit readers (auditors, the audit admin) may look."""
    require(actor, Perm.AUDIT_READ)
    page, per_page = max(1, page), min(max(1, per_page), 500)
    stmt = select(AuditEntry)
    if filters.action:
        stmt = stmt.where(AuditEntry.action.startswith(filters.action, autoescape=True))
    if filters.object_type:
        stmt = stmt.where(AuditEntry.object_type == filters.object_type)
    if filters.object_id:
        stmt = stmt.where(AuditEntry.object_id == filters.object_id)
    if filters.actor_name:
        stmt = stmt.where(AuditEntry.actor_name.contains(filters.actor_name, autoescape=True))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = session.scalars(
        stmt.order_by(AuditEntry.seq.desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return AuditPage(list(items), int(total), page, per_page)


def get_entry(session: Session, actor: Actor | None, seq: int) -> AuditEntry | None:
    require(actor, Perm.AUDIT_READ)
    return session.scalars(select(AuditEntry).where(AuditEntry.seq == seq)).first()
