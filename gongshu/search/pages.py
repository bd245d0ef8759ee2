"""The pinyin override page for city bureau admins and system admins."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.errors import ValidationFailed
from gongshu.search import service
from gongshu.search.schemas import PinyinOverrideIn
from gongshu.validation import parse
from gongshu.web.deps import ActorDep, CsrfDep, SessionDep
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    form: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    overrides = service.list_overrides(session, actor)
    entries, indexed = service.index_status(session)
    return render(
        request,
        "search/pinyin.html",
        {
            "overrides": overrides,
            "entries": entries,
            "indexed": indexed,
            "form": form or {},
            "errors": errors or {},
            "done": request.query_params.get("done", ""),
        },
        status_code=status_code,
    )


@router.get("/admin/pinyin", response_class=HTMLResponse)
def pinyin_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _page(request, session, actor)


@router.post("/admin/pinyin", response_class=HTMLResponse, dependencies=[CsrfDep])
async def pinyin_save(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    form = await request.form()
    values = {k: str(form.get(k, "")) for k in ("phrase", "pinyin", "note")}
    try:
        service.set_override(session, actor, parse(PinyinOverrideIn, values))
    except ValidationFailed as exc:
        return _page(request, session, actor, values, exc.localized_errors(), 422)
    return RedirectResponse("/admin/pinyin?done=saved", status_code=303)


@router.post("/admin/pinyin/delete", response_class=HTMLResponse, dependencies=[CsrfDep])
async def pinyin_delete(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    form = await request.form()
    service.delete_override(session, actor, str(form.get("phrase", "")))
    return RedirectResponse("/admin/pinyin?done=deleted", status_code=303)
