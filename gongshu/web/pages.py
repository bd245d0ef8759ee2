"""The home page: the portal's for anonymous visitors and public users, the 工作台 for staff."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gongshu.portal.pages import is_public_only, portal_home
from gongshu.web.deps import OptionalActorDep, SessionDep
from gongshu.web.queries import dashboard_figures
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, actor: OptionalActorDep) -> Response:
    if actor is None or is_public_only(actor):
        return portal_home(request, session)
    return render(request, "home.html", {"figures": dashboard_figures(session, actor)})
