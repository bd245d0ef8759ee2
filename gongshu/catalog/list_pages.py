"""The catalog list (with its filters) and its export, as pages."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gongshu.catalog import queries
from gongshu.catalog.pages import _may_create, _vocabulary
from gongshu.catalog.queries import MEDIA_TYPES, ExportFormat
from gongshu.catalog.schemas import DatasetFilter
from gongshu.errors import ValidationFailed
from gongshu.validation import parse
from gongshu.web.deps import ActorDep, SessionDep
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)


def _filters_from(request: Request) -> tuple[DatasetFilter, dict[str, list[str]]]:
    raw = {k: v for k, v in request.query_params.items() if k in DatasetFilter.model_fields}
    try:
        return parse(DatasetFilter, raw), {}
    except ValidationFailed as exc:
        return DatasetFilter(), exc.errors


def _int_param(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name, "")
    return int(value) if value.isdigit() and len(value) < 7 else default


@router.get("/catalog", response_class=HTMLResponse)
def catalog_list(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    filters, errors = _filters_from(request)
    result = queries.list_datasets(session, actor, filters, _int_param(request, "page", 1))
    active = filters.active()
    query = urlencode(active)
    return render(
        request,
        "catalog/list.html",
        {
            "result": result,
            "filters": active,
            "errors": errors,
            "query": query,
            "page_base": f"/catalog?{query}&" if query else "/catalog?",
            "agencies": queries.agency_choices(session),
            "may_create": _may_create(actor),
            **_vocabulary(),
        },
    )


@router.get("/catalog/export")
def catalog_export(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    fmt: ExportFormat = "xlsx" if request.query_params.get("format") == "xlsx" else "csv"
    filters, _errors = _filters_from(request)
    data = queries.export_catalog(session, actor, fmt, filters)
    return Response(
        data,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{queries.export_filename(fmt)}"'},
    )
