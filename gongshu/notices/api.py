"""JSON API of a user's own notices. Any signed-in user; each sees only their own."""

from __future__ import annotations

from fastapi import APIRouter, Query

from gongshu.auth.permissions import require_login
from gongshu.notices import queries, service
from gongshu.notices.schemas import MarkedCount, NoticePage, NoticeRead, UnreadCount
from gongshu.web.deps import ActorDep, SessionDep

router = APIRouter(tags=["notices"])


def _user_id(actor: ActorDep) -> int:
    # API keys of agency systems have no user: they have no inbox either.
    return require_login(actor).user_id or 0


@router.get("/notices", response_model=NoticePage, summary="My notices")
def list_notices(
    session: SessionDep,
    actor: ActorDep,
    unread: bool = Query(False, description="only unread notices"),
    page: int = Query(1, ge=1),
    per_page: int = Query(20, ge=1, le=queries.MAX_PER_PAGE),
) -> NoticePage:
    """Unread first, newest first; title and body in the `Accept-Language` language."""
    user_id = _user_id(actor)
    result = queries.list_notices(
        session, user_id, unread_only=unread, page=page, per_page=per_page
    )
    return NoticePage(
        items=[NoticeRead.of(n) for n in result.items],
        total=result.total,
        unread=queries.unread_count(session, user_id),
        page=result.page,
        per_page=result.per_page,
    )


@router.get("/notices/unread-count", response_model=UnreadCount, summary="My unread count")
def unread_count(session: SessionDep, actor: ActorDep) -> UnreadCount:
    return UnreadCount(unread=queries.unread_count(session, _user_id(actor)))


@router.post("/notices/read-all", response_model=MarkedCount, summary="Mark all read")
def mark_all_read(session: SessionDep, actor: ActorDep) -> MarkedCount:
    return MarkedCount(marked=service.mark_all_read(session, actor))


@router.post("/notices/{notice_id}/read", response_model=NoticeRead, summary="Mark one read")
def mark_read(session: SessionDep, actor: ActorDep, notice_id: int) -> NoticeRead:
    """404 for an unknown notice and for another user's."""
    return NoticeRead.of(service.mark_read(session, actor, notice_id))
