"""The responsibility and negative lists as pages, with their CSV/XLSX exports."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gongshu.catalog import duty_lists
from gongshu.catalog.duty_lists import LIST_KINDS, DutyListRead, ListFilter, ListKind
from gongshu.catalog.queries import MEDIA_TYPES, ExportFormat, agency_choices
from gongshu.errors import NotFound, ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.orgs.queries import list_regions
from gongshu.validation import parse
from gongshu.web.deps import ActorDep, SessionDep
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)

LIST_NOT_FOUND = N_("清单不存在")
SCOPE_OPTIONS: tuple[tuple[str, str], ...] = (
    ("published", N_("仅已发布条目")),
    ("visible", N_("我可见的全部条目（含草稿）")),
)


def _kind(value: str) -> ListKind:
    for kind in LIST_KINDS:
        if kind == value:
            return kind
    raise NotFound(LIST_NOT_FOUND)


def _filters_from(request: Request) -> tuple[ListFilter, dict[str, list[str]]]:
    raw = {k: v for k, v in request.query_params.items() if k in ListFilter.model_fields}
    try:
        return parse(ListFilter, raw), {}
    except ValidationFailed as exc:
        return ListFilter(), exc.errors


def _page_number(request: Request) -> int:
    value = request.query_params.get("page", "")
    return int(value) if value.isdigit() and len(value) < 7 else 1


@router.get("/catalog/lists", include_in_schema=False)
def lists_home() -> Response:
    return RedirectResponse("/catalog/lists/responsibility", status_code=303)


@router.get("/catalog/lists/{kind}", response_class=HTMLResponse)
def list_page(request: Request, session: SessionDep, actor: ActorDep, kind: str) -> Response:
    list_kind = _kind(kind)
    filters, errors = _filters_from(request)
    result = duty_lists.list_page(session, actor, list_kind, filters, _page_number(request))
    active = filters.active()
    query = urlencode(active)
    base = f"/catalog/lists/{list_kind}"
    return render(
        request,
        "lists/list.html",
        {
            "kind": list_kind,
            "title": translate(duty_lists.TITLES[list_kind]),
            "result": result,
            "groups": duty_lists.group_by_agency(result.items),
            "filters": active,
            "scope": filters.scope,
            "errors": errors,
            "query": query,
            "base": base,
            "page_base": f"{base}?{query}&" if query else f"{base}?",
            "agencies": agency_choices(session),
            "regions": [(r.id, translate(r.name)) for r in list_regions(session)],
            "scopes": [(v, translate(t)) for v, t in SCOPE_OPTIONS],
            "share_label": duty_lists.share_label,
            "open_label": duty_lists.open_label,
        },
    )


@router.get("/catalog/lists/{kind}/export")
def list_export(request: Request, session: SessionDep, actor: ActorDep, kind: str) -> Response:
    list_kind = _kind(kind)
    fmt: ExportFormat = "xlsx" if request.query_params.get("format") == "xlsx" else "csv"
    filters, _errors = _filters_from(request)
    data = duty_lists.export_list(session, actor, list_kind, fmt, filters)
    name = duty_lists.export_filename(list_kind, fmt)
    return Response(
        data,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# ---------------------------------------------------------------------------------------
# JSON API (mounted under /api/v1)

api_router = APIRouter(tags=["catalog lists"])

ListFormat = Literal["json", "csv", "xlsx"]


@api_router.get(
    "/catalog/lists/{kind}",
    response_model=DutyListRead,
    summary="The responsibility list or the negative list",
    responses={
        200: {
            "content": {
                "application/json": {},
                MEDIA_TYPES["csv"]: {},
                MEDIA_TYPES["xlsx"]: {},
            },
            "description": "The list as JSON, CSV (UTF-8 with BOM) or XLSX",
        }
    },
)
def api_list(
    session: SessionDep,
    actor: ActorDep,
    kind: ListKind,
    filters: Annotated[ListFilter, Query()],
    fmt: Annotated[ListFormat, Query(alias="format")] = "json",
) -> Response | DutyListRead:
    """Entries you may see, by agency then code. ``scope=published`` (default) holds
    published entries only; ``scope=visible`` adds the drafts you may see.
    """
    if fmt == "json":
        rows = duty_lists.list_rows(session, actor, kind, filters)
        return duty_lists.to_read(kind, filters.scope, rows)
    data = duty_lists.export_list(session, actor, kind, fmt, filters)
    name = duty_lists.export_filename(kind, fmt)
    return Response(
        data,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
