"""The portal's pages of this area: ``/stats`` (and per agency), ``/open-list`` (and its
XLSX), the Atom feeds under ``/feeds/`` and the signed-in user's ``/subscriptions``."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from gongshu.audit.chart import bar_chart, column_chart
from gongshu.auth.permissions import require_login
from gongshu.catalog.models import OpenType
from gongshu.errors import NotFound
from gongshu.i18n import N_, translate
from gongshu.portal.naming import agency_slug, dataset_slug
from gongshu.portalstats import feeds, openlist, subscriptions
from gongshu.portalstats.views import StatsScope, StatsView, stats_view
from gongshu.web.deps import CsrfDep, OptionalActorDep, SessionDep
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)

M_DAILY = N_("最近 {days} 天每日使用次数")
M_DAILY_DESC = N_("每日浏览、下载与接口调用次数之和，最早的一天在左")
M_MONTHLY = N_("最近 12 个月使用次数")
M_MONTHLY_DESC = N_("每月浏览、下载与接口调用次数之和")
M_TOP = N_("使用最多的数据")
M_TOP_DESC = N_("浏览、下载与接口调用次数之和最多的目录条目")
M_USES = N_("使用次数")
M_DAY = N_("日期")
M_MONTH = N_("月份")
M_SUBSCRIBED = N_("已订阅")
M_UNSUBSCRIBED = N_("已取消订阅")

DONE: dict[str, str] = {"subscribe": M_SUBSCRIBED, "unsubscribe": M_UNSUBSCRIBED}


def _charts(view: StatsView) -> dict[str, Any]:
    uses = translate(M_USES)
    return {
        "daily": column_chart(
            title=translate(M_DAILY, days=len(view.daily)),
            desc=translate(M_DAILY_DESC),
            labels=[d.day.strftime("%m-%d") for d in view.daily],
            values=[d.total for d in view.daily],
            value_title=uses,
            x_title=translate(M_DAY),
        ),
        "monthly": column_chart(
            title=translate(M_MONTHLY),
            desc=translate(M_MONTHLY_DESC),
            labels=[d.day.strftime("%Y-%m") for d in view.monthly],
            values=[d.total for d in view.monthly],
            value_title=uses,
            x_title=translate(M_MONTH),
        ),
        "top": bar_chart(
            title=translate(M_TOP),
            desc=translate(M_TOP_DESC),
            labels=[e.title for e in view.top],
            values=[e.total for e in view.top],
            value_title=uses,
        )
        if view.top
        else None,
    }


ScopeQuery = Annotated[Literal["public", "all"], Query()]


def _stats_page(
    request: Request, view: StatsView, *, subscribed: bool = False, done: str | None = None
) -> HTMLResponse:
    query: dict[str, str] = {"scope": view.scope} if view.scope == "all" else {}
    if view.agency is not None:
        query["agency"] = agency_slug(view.agency)
    return render(
        request,
        "portalstats/stats.html",
        {
            "view": view,
            "charts": _charts(view),
            "json_url": "/api/v1/portal/stats" + (f"?{urlencode(query)}" if query else ""),
            "agency_slug": agency_slug,
            "dataset_slug": dataset_slug,
            "subscribed": subscribed,
            "messages": [{"kind": "success", "text": translate(DONE[done])}]
            if done in DONE
            else [],
        },
    )


@router.get("/stats", response_class=HTMLResponse)
def stats_page(
    request: Request, session: SessionDep, actor: OptionalActorDep, scope: ScopeQuery = "public"
) -> Response:
    return _stats_page(request, stats_view(session, actor, StatsScope(scope=scope)))


@router.get("/stats/agency/{slug}", response_class=HTMLResponse)
def agency_stats_page(
    request: Request,
    session: SessionDep,
    actor: OptionalActorDep,
    slug: str,
    scope: ScopeQuery = "public",
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    view = stats_view(session, actor, StatsScope(scope=scope, agency=slug[:40]))
    assert view.agency is not None
    followed = subscriptions.is_subscribed(session, actor, "agency", str(view.agency.id))
    return _stats_page(request, view, subscribed=followed, done=done)


# --- the open list ------------------------------------------------------------------------


def _filters(
    agency: str | None, domain: str | None, open_type: str | None
) -> openlist.OpenListFilter:
    """Filters from the query string; a value that names nothing matches nothing."""
    agency_id = None
    if agency:
        agency_id = int(agency) if agency.isdigit() and len(agency) < 10 else -1
    kind = None
    if open_type:
        kind = OpenType(open_type) if open_type in {t.value for t in OpenType} else OpenType.NONE
    return openlist.OpenListFilter(
        agency_id=agency_id, domain=(domain or "").strip()[:50] or None, open_type=kind
    )


FilterQuery = Annotated[str | None, Query(max_length=50)]


@router.get("/open-list", response_class=HTMLResponse)
def open_list_page(
    request: Request,
    session: SessionDep,
    agency: FilterQuery = None,
    domain: FilterQuery = None,
    open_type: FilterQuery = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    filters = _filters(agency, domain, open_type)
    active = filters.active()
    facets = openlist.facets(session)
    return render(
        request,
        "portalstats/open_list.html",
        {
            "result": openlist.open_list_page(session, filters, page),
            "agency_options": [(i, f"{name} ({n})") for i, name, n in facets.agencies],
            "domain_options": [(d, f"{d} ({n})") for d, n in facets.domains],
            "type_options": [
                (t.value, f"{openlist.open_label(t)} ({n})") for t, n in facets.open_types
            ],
            "filters": filters,
            "query": urlencode(active),
            "open_label": openlist.open_label,
            "OpenType": OpenType,
        },
    )


@router.get("/open-list.xlsx")
def open_list_xlsx(
    session: SessionDep,
    agency: FilterQuery = None,
    domain: FilterQuery = None,
    open_type: FilterQuery = None,
) -> Response:
    lines = openlist.open_list(session, _filters(agency, domain, open_type))
    return Response(
        openlist.to_workbook(lines),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="open-list.xlsx"'},
    )


# --- Atom feeds ---------------------------------------------------------------------------


def _atom(body: bytes) -> Response:
    return Response(body, media_type=feeds.MEDIA_TYPE, headers={"Cache-Control": "max-age=300"})


@router.get("/feeds/latest.atom")
def latest_feed(session: SessionDep) -> Response:
    return _atom(feeds.latest_feed(session))


@router.get("/feeds/dataset/{slug}.atom")
def dataset_feed(session: SessionDep, slug: str) -> Response:
    return _atom(feeds.dataset_feed(session, slug[:80]))


@router.get("/feeds/organization/{slug}.atom")
def agency_feed(session: SessionDep, slug: str) -> Response:
    return _atom(feeds.agency_feed(session, slug[:40]))


@router.get("/feeds/theme/{slug}.atom")
def theme_feed(session: SessionDep, slug: str) -> Response:
    return _atom(feeds.theme_feed(session, slug[:200]))


# --- subscriptions ------------------------------------------------------------------------


def _back(value: str, fallback: str = "/subscriptions") -> str:
    """Only a path on this site (never ``//host`` or a scheme) is followed back."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return fallback


def _with_done(path: str, done: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}done={done}"


@router.get("/subscriptions", response_class=HTMLResponse)
def subscriptions_page(
    request: Request,
    session: SessionDep,
    actor: OptionalActorDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    actor = require_login(actor)
    messages = [{"kind": "success", "text": translate(DONE[done])}] if done in DONE else []
    return render(
        request,
        "portalstats/subscriptions.html",
        {"items": subscriptions.subscriptions_of(session, actor), "messages": messages},
    )


@router.post("/subscriptions", dependencies=[CsrfDep])
async def subscribe(request: Request, session: SessionDep, actor: OptionalActorDep) -> Response:
    actor = require_login(actor)
    form = await request.form()
    subscriptions.subscribe(session, actor, str(form.get("kind", "")), str(form.get("target", "")))
    return RedirectResponse(
        _with_done(_back(str(form.get("back", ""))), "subscribe"), status_code=303
    )


@router.post("/subscriptions/delete", dependencies=[CsrfDep])
async def unsubscribe(request: Request, session: SessionDep, actor: OptionalActorDep) -> Response:
    actor = require_login(actor)
    form = await request.form()
    kind, target = str(form.get("kind", "")), str(form.get("target", ""))
    try:
        key = subscriptions.resolve(session, kind, target).key
    except NotFound:
        key = target  # no longer public: the stored key as the list shows it
    subscriptions.unsubscribe(session, actor, kind, key)
    return RedirectResponse(
        _with_done(_back(str(form.get("back", ""))), "unsubscribe"), status_code=303
    )
