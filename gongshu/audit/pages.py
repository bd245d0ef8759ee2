"""Audit pages: the chain for auditors, and its verification."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gongshu.audit import service
from gongshu.audit.queries import AuditFilter, list_entries
from gongshu.auth.permissions import Perm, require
from gongshu.web.deps import ActorDep, CsrfDep, SessionDep
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    actor_name: str = "",
    page: int = 1,
) -> Response:
    filters = AuditFilter(action, object_type, object_id, actor_name)
    result = list_entries(session, actor, filters, page)
    return render(request, "audit/list.html", {"result": result, "filters": filters})


@router.post("/audit/verify", response_class=HTMLResponse, dependencies=[CsrfDep])
def audit_verify(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    require(actor, Perm.AUDIT_VERIFY)
    result = service.verify(session)
    return render(request, "audit/verify.html", {"result": result})
