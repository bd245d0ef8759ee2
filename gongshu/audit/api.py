"""Audit chain API: entries for auditors, and verification of the chain."""

from __future__ import annotations

from fastapi import APIRouter, Query

from gongshu.audit import service
from gongshu.audit.queries import AuditFilter, list_entries
from gongshu.audit.schemas import AuditEntryPage, AuditEntryRead, VerifyRead
from gongshu.auth.permissions import Perm, require
from gongshu.web.deps import ActorDep, SessionDep

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("/entries", response_model=AuditEntryPage, summary="List audit entries, newest first")
def entries(
    session: SessionDep,
    actor: ActorDep,
    action: str = Query("", description="action prefix, e.g. `dataset.` or `agency.update`"),
    object_type: str = "",
    object_id: str = "",
    actor_name: str = "",
    page: int = Query(1, ge=1),
    per_page: int = Query(50, ge=1, le=500),
) -> AuditEntryPage:
    """Needs `audit.read` (auditor, audit admin)."""
    result = list_entries(
        session, actor, AuditFilter(action, object_type, object_id, actor_name), page, per_page
    )
    return AuditEntryPage(
        items=[AuditEntryRead.model_validate(e) for e in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
    )


@router.post("/verify", response_model=VerifyRead, summary="Recompute the whole audit chain")
def verify(session: SessionDep, actor: ActorDep) -> VerifyRead:
    """Needs `audit.verify`. Names the first broken entry, if any."""
    require(actor, Perm.AUDIT_VERIFY)
    result = service.verify(session)
    return VerifyRead(
        ok=result.ok,
        checked=result.checked,
        broken_seq=result.broken_seq,
        broken_id=result.broken_id,
        reason=result.localized_reason() if result.reason else "",
    )
