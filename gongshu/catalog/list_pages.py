"""The catalog list (search box, facets with counts, sort, pager) and its export, as pages."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from gongshu.catalog import queries
from gongshu.catalog.pages import _may_create
from gongshu.catalog.queries import MEDIA_TYPES, ExportFormat
from gongshu.catalog.schemas import DatasetFilter
from gongshu.errors import ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.search import SearchQuery, search_datasets
from gongshu.search.schemas import FACET_NAMES, SORT_KEYS, TAG_FACET, SearchFilter
from gongshu.search.service import index_is_stale
from gongshu.validation import parse
from gongshu.web.deps import ActorDep, SessionDep
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)

FACET_TITLES: dict[str, str] = {
    "agency_id": N_("提供方"),
    "region_id": N_("行政区划"),
    "domain": N_("所属领域"),
    "category_class": N_("信息资源分类"),
    "share_type": N_("共享属性"),
    "open_type": N_("开放属性"),
    "level": N_("数据分级"),
    "update_cycle": N_("更新周期"),
    "state": N_("状态"),
    "format": N_("资源格式"),
    TAG_FACET: N_("标签"),
}
SORT_TITLES: dict[str, str] = {
    "relevance": N_("相关度"),
    "updated": N_("更新时间"),
    "title": N_("名称拼音"),
    "code": N_("资源代码"),
}


def _filters_from(request: Request) -> tuple[DatasetFilter, dict[str, list[str]]]:
    raw = {k: v for k, v in request.query_params.items() if k in DatasetFilter.model_fields}
    try:
        return parse(DatasetFilter, raw), {}
    except ValidationFailed as exc:
        return DatasetFilter(), exc.errors


def _search_from(request: Request) -> tuple[SearchFilter, dict[str, list[str]]]:
    """The filters of the query string; a bad one is reported and the rest still apply."""
    raw = {k: v for k, v in request.query_params.items() if k in SearchFilter.model_fields}
    try:
        return parse(SearchFilter, raw), {}
    except ValidationFailed as exc:
        good = {k: v for k, v in raw.items() if k not in exc.errors}
        try:
            return parse(SearchFilter, good), exc.errors
        except ValidationFailed:
            return SearchFilter(), exc.errors


def _int_param(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name, "")
    return int(value) if value.isdigit() and len(value) < 7 else default


def _link(params: dict[str, Any], **changes: Any) -> str:
    merged = {**params, **changes}
    query = urlencode({k: v for k, v in merged.items() if v not in (None, "")})
    return f"/catalog?{query}" if query else "/catalog"


@router.get("/catalog", response_class=HTMLResponse)
def catalog_list(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    filters, errors = _search_from(request)
    sort_param = request.query_params.get("sort", "")
    sort = next((k for k in SORT_KEYS if k == sort_param), None)
    query = SearchQuery(**filters.model_dump(), sort=sort, page=_int_param(request, "page", 1))
    result = search_datasets(session, actor, query)
    active = filters.active()
    state = {**active, "sort": sort or ""}
    facets = [
        {
            "name": name,
            "title": translate(FACET_TITLES[name]),
            "active": str(active.get(name, "")),
            "clear": _link(state, **{name: None}),
            "values": [
                {
                    "label": f.label,
                    "count": f.count,
                    "href": _link(state, **{name: f.value}),
                    "selected": str(active.get(name, "")) == f.value,
                }
                for f in result.facets[name]
            ],
        }
        for name in (*FACET_NAMES, TAG_FACET)
    ]
    hidden = {k: v for k, v in active.items() if k != "q"}
    stale = bool(filters.q) and result.total == 0 and index_is_stale(session)
    page_query = urlencode({k: v for k, v in state.items() if v not in (None, "")})
    exported = {("resource_format" if k == "format" else k): v for k, v in active.items()}
    export_query = urlencode({k: v for k, v in exported.items() if k in DatasetFilter.model_fields})
    return render(
        request,
        "catalog/list.html",
        {
            "result": result,
            "filters": active,
            "hidden": hidden,
            "errors": errors,
            "query": export_query,
            "page_base": f"/catalog?{page_query}&" if page_query else "/catalog?",
            "facets": facets,
            "sort": result.sort,
            "sort_options": [(k, translate(SORT_TITLES[k])) for k in SORT_KEYS],
            "index_stale": stale,
            "may_create": _may_create(actor),
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
