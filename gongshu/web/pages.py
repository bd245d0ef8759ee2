"""The signed-in home page (工作台)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gongshu.web.deps import OptionalActorDep, SessionDep
from gongshu.web.queries import dashboard_figures
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, actor: OptionalActorDep) -> Response:
    if actor is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "home.html", {"figures": dashboard_figures(session, actor)})
