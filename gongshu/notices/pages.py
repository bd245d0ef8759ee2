"""Pages: my notices (/notices), the header's unread count, and the mail queue
(/admin/outbox, system admin only)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from gongshu.auth.permissions import require_login
from gongshu.i18n import N_, current_language
from gongshu.notices import queries, service
from gongshu.notices.models import OutboxStatus
from gongshu.web.deps import ActorDep, CsrfDep, SessionDep
from gongshu.web.templating import render, render_hook

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

STATUS_LABELS = {
    OutboxStatus.QUEUED.value: N_("待发送"),
    OutboxStatus.SENT.value: N_("已发送"),
    OutboxStatus.FAILED.value: N_("发送失败"),
    OutboxStatus.NO_TRANSPORT.value: N_("未配置发信服务"),
}


@render_hook
def unread_notices(request: Request, ctx: dict[str, Any]) -> None:
    """Put the signed-in user's unread count in every page (one COUNT, the request's own
    session). A page rendered after its session ended (an error page) goes without."""
    actor = ctx.get("actor")
    session: Session | None = getattr(request.state, "db", None)
    if actor is None or actor.user_id is None or session is None:
        return
    began = not session.in_transaction()
    try:
        ctx["unread_notices"] = queries.unread_count(session, actor.user_id)
    except SQLAlchemyError:
        log.debug("unread count skipped", exc_info=True)
    finally:
        if began:
            session.rollback()  # give back the connection this read borrowed


def _int(value: Any, default: int) -> int:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else default


@router.get("/notices", response_class=HTMLResponse)
def notices_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    user_id = require_login(actor).user_id or 0
    unread_only = request.query_params.get("unread") == "1"
    page = _int(request.query_params.get("page"), 1)
    result = queries.list_notices(session, user_id, unread_only=unread_only, page=page)
    lang = current_language.get()
    items = [
        (
            n,
            service.render_text(n.title, lang, n.params),
            service.render_text(n.body, lang, n.params),
        )
        for n in result.items
    ]
    return render(
        request,
        "notices/list.html",
        {
            "result": result,
            "items": items,
            "unread_only": unread_only,
            "pager_base": "/notices?" + ("unread=1&" if unread_only else ""),
        },
    )


@router.post("/notices/read-all", response_class=HTMLResponse, dependencies=[CsrfDep])
def notices_read_all(session: SessionDep, actor: ActorDep) -> Response:
    service.mark_all_read(session, actor)
    return RedirectResponse("/notices", status_code=303)


@router.post("/notices/{notice_id}/read", response_class=HTMLResponse, dependencies=[CsrfDep])
async def notices_read(
    request: Request, session: SessionDep, actor: ActorDep, notice_id: int
) -> Response:
    """Mark read; with ``open=1`` go on to the notice's link (a path in the platform)."""
    notice = service.mark_read(session, actor, notice_id)
    form = await request.form()
    target = "/notices"
    if form.get("open") == "1" and notice.link.startswith("/") and not notice.link.startswith("//"):
        target = notice.link
    return RedirectResponse(target, status_code=303)


@router.get("/admin/outbox", response_class=HTMLResponse)
def outbox_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    service.require_outbox_reader(actor)
    params = request.query_params
    raw_status = params.get("status", "")
    status = OutboxStatus(raw_status) if raw_status in STATUS_LABELS else None
    result = queries.list_outbox(session, status=status, page=_int(params.get("page"), 1))
    settings = request.app.state.settings
    return render(
        request,
        "notices/outbox.html",
        {
            "result": result,
            "status": status.value if status else "",
            "counts": queries.outbox_counts(session),
            "status_labels": STATUS_LABELS,
            "transport": bool(settings.smtp_url),
            "pager_base": "/admin/outbox?" + (f"status={status.value}&" if status else ""),
        },
    )


@router.post(
    "/admin/outbox/{message_id}/retry", response_class=HTMLResponse, dependencies=[CsrfDep]
)
def outbox_retry(session: SessionDep, actor: ActorDep, message_id: int) -> Response:
    service.retry_outbox_message(session, actor, message_id)
    return RedirectResponse("/admin/outbox", status_code=303)
