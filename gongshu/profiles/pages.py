"""The profile page (/profiles): enter an ID number or credit code and a purpose, see one card
per entry the reader may read.

The lookup is posted, not put in the address: an ID number in a URL would be kept in
browser histories and server logs.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gongshu.errors import ValidationFailed
from gongshu.i18n import translate
from gongshu.profiles import queries
from gongshu.web.deps import ActorDep, CsrfDep, SessionDep
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    values: dict[str, str],
    *,
    profile: queries.Profile | None = None,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "profiles/index.html",
        {
            "values": values,
            "profile": profile,
            "errors": errors or {},
            "kinds": [(k, translate(v)) for k, v in queries.KINDS.items()],
            "kind_label": queries.kind_label,
        },
        status_code=status_code,
    )


@router.get("/profiles", response_class=HTMLResponse)
def profile_form(request: Request, actor: ActorDep) -> Response:
    return _page(request, {"kind": "citizen_id", "value": "", "purpose": ""})


@router.post("/profiles", response_class=HTMLResponse, dependencies=[CsrfDep])
async def profile_lookup(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    raw: Any = await request.form()
    values = {n: str(raw.get(n, "")).strip() for n in ("kind", "value", "purpose")}
    try:
        found = queries.lookup(
            session, actor, values["kind"], values["value"], purpose=values["purpose"]
        )
    except ValidationFailed as exc:
        errors = exc.localized_errors() or {"value": [exc.localized()]}
        return _page(request, values, errors=errors, status_code=422)
    return _page(request, values, profile=found)
