"""The public portal's pages (公共数据开放网): home, search, agencies, themes, an entry, the
developers' guide. No login needed; a signed-in reader reads as themselves.

Metadata comes from ``public`` (public entries only); rows only through the gate, read by
the visitor: ``openness.public_actor`` for an anonymous one, the signed-in user otherwise,
so that their grants apply and masking is the gate's. The download routes are in
``downloads``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy.orm import Session

from gongshu.audit.chart import column_chart
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.catalog.models import Dataset, OpenType, UpdateCycle
from gongshu.errors import GongshuError, NotFound, ValidationFailed
from gongshu.gate import policy
from gongshu.gate import service as gate
from gongshu.i18n import N_, translate
from gongshu.masking import Technique
from gongshu.portal import ckan, datapackage, naming, public
from gongshu.portal.openness import public_actor, rows_are_open
from gongshu.portalstats import subscriptions
from gongshu.search import SearchQuery, SearchResult
from gongshu.search.schemas import MAX_WINDOW
from gongshu.store.models import DatasetVersion
from gongshu.validation import parse
from gongshu.web.deps import OptionalActorDep, SessionDep
from gongshu.web.templating import render
from gongshu.workdays.calendar import local_today

router = APIRouter(include_in_schema=False)

PREVIEW_ROWS = 10
PER_PAGE = 20
PREVIEW_PURPOSE = N_("开放数据网页预览")
MSG_NOT_PUBLIC = N_("该数据目录不存在或未开放")
MSG_NO_AGENCY = N_("该机构不存在或没有开放数据")
MSG_NO_THEME = N_("该领域不存在或没有开放数据")
#: The facets the search page offers (search index columns), in the page's order.
FACETS: tuple[tuple[str, str], ...] = (
    ("domain", N_("所属领域")),
    ("agency_id", N_("提供机构")),
    ("update_cycle", N_("更新周期")),
    ("open_type", N_("开放属性")),
    ("format", N_("资源格式")),
    ("tag", N_("标签")),
)
SORTS: tuple[tuple[str, str], ...] = (
    ("relevance", N_("相关度")),
    ("updated", N_("最近更新")),
    ("title", N_("名称")),
)
_NUMERIC = frozenset({"integer", "decimal"})


def reader_of(request: Request, actor: Actor | None) -> Actor:
    """Who reads rows on this request: the signed-in user, else the anonymous public."""
    if actor is not None:
        return actor
    client = request.client.host if request.client else ""
    return public_actor(getattr(request.state, "request_id", ""), client)


def is_public_only(actor: Actor | None) -> bool:
    """Anonymous, or a user whose only role is ``public``: they get the portal's home."""
    return actor is None or set(actor.roles) <= {Role.PUBLIC}


def find_entry(session: Session, slug: str) -> Dataset:
    dataset = naming.find_public(session, slug)
    if dataset is None:
        raise NotFound(MSG_NOT_PUBLIC)
    return dataset


# --- search ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchView:
    """A search as a page shows it: the query, its result, and links for every control."""

    base: str
    params: dict[str, str]
    result: SearchResult
    last_update: dict[int, Any]

    def url(self, **changes: Any) -> str:
        """This search with ``changes`` (``None`` drops a parameter); back to page 1 unless
        the page is what changes."""
        merged = {k: v for k, v in self.params.items() if k != "page"}
        merged.update({k: str(v) for k, v in changes.items() if v is not None})
        for k, v in changes.items():
            if v is None:
                merged.pop(k, None)
        merged = {k: v for k, v in merged.items() if v != ""}
        return self.base + ("?" + urlencode(merged) if merged else "")

    def chosen(self, name: str, value: str) -> bool:
        return self.params.get(name) == value

    @property
    def pages(self) -> int:
        return self.result.pages

    @property
    def first(self) -> int:
        return (self.result.page - 1) * self.result.per_page + 1 if self.result.total else 0

    @property
    def last(self) -> int:
        return min(self.result.total, self.result.page * self.result.per_page)


_QUERY_KEYS = (
    "q",
    *(name for name, _title in FACETS),
    "sort",
    "page",
    "per_page",
)


def run_search(
    request: Request, session: Session, base: str, fixed: dict[str, str] | None = None
) -> SearchView:
    """The search the query string asks for, within ``fixed`` filters (an agency, a domain)."""
    given = {k: request.query_params.get(k, "").strip() for k in _QUERY_KEYS}
    given = {k: v for k, v in given.items() if v}
    if given.get("sort") not in {s for s, _ in SORTS}:
        given.pop("sort", None)
    values: dict[str, Any] = {"per_page": PER_PAGE, **given, **(fixed or {})}
    try:
        query = parse(SearchQuery, values)
    except ValidationFailed:
        # A hand-edited link with a bad filter: search the words alone.
        query = parse(SearchQuery, {"q": given.get("q", "")[:100], **(fixed or {})})
        given = {"q": query.q} if query.q else {}
    page = min(query.page, max(1, math.ceil(MAX_WINDOW / query.per_page)))
    query = query.model_copy(update={"page": page})
    result = public.search(session, query)
    updates = public.last_updates(session, [d.id for d in result.items])
    return SearchView(base, given, result, updates)


def _search_page(
    request: Request,
    session: Session,
    *,
    base: str,
    heading: str,
    fixed: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    view = run_search(request, session, base, fixed)
    facets = [(name, title) for name, title in FACETS if name not in (fixed or {})]
    return render(
        request,
        "portal/search.html",
        {
            "view": view,
            "heading": heading,
            "facets": facets,
            "sorts": SORTS,
            "dataset_slug": naming.dataset_slug,
            **(extra or {}),
        },
    )


def _follow(
    session: Session, actor: Actor | None, kind: str, target: str, key: str, feed: str
) -> dict[str, Any]:
    """What the subscribe button and the Atom link of a page need (portalstats/_subscribe)."""
    subscribed = subscriptions.is_subscribed(session, actor, kind, key)
    return {"kind": kind, "target": target, "subscribed": subscribed, "feed": feed}


@router.get("/dataset", response_class=HTMLResponse)
def dataset_search(request: Request, session: SessionDep, actor: OptionalActorDep) -> Response:
    return _search_page(request, session, base="/dataset", heading=N_("数据目录"))


@router.get("/organization", response_class=HTMLResponse)
def organizations(request: Request, session: SessionDep, actor: OptionalActorDep) -> Response:
    return render(request, "portal/organizations.html", {"agencies": public.agencies(session)})


@router.get("/organization/{slug}", response_class=HTMLResponse)
def organization(
    request: Request, session: SessionDep, actor: OptionalActorDep, slug: str
) -> Response:
    agency = public.find_agency(session, slug)
    if agency is None:
        raise NotFound(MSG_NO_AGENCY)
    return _search_page(
        request,
        session,
        base=f"/organization/{naming.agency_slug(agency)}",
        heading=agency.name,
        fixed={"agency_id": str(agency.id)},
        extra={
            "agency": agency,
            "follow": _follow(
                session,
                actor,
                "agency",
                naming.agency_slug(agency),
                str(agency.id),
                f"/feeds/organization/{naming.agency_slug(agency)}.atom",
            ),
        },
    )


@router.get("/theme/{slug}", response_class=HTMLResponse)
def theme(request: Request, session: SessionDep, actor: OptionalActorDep, slug: str) -> Response:
    found = public.domains_of_slug(session, slug)
    if not found:
        raise NotFound(MSG_NO_THEME)
    return _search_page(
        request,
        session,
        base=f"/theme/{slug}",
        heading=found[0],
        fixed={"domain": found[0]},
        extra={
            "theme": found[0],
            "follow": _follow(session, actor, "theme", slug, slug, f"/feeds/theme/{slug}.atom"),
        },
    )


# --- home -----------------------------------------------------------------------------------


def portal_home(request: Request, session: Session) -> Response:
    """The portal's home page: figures, priority domains, newest entries, a search box."""
    figures = public.headline(session)
    newest = public.newest(session)
    return render(
        request,
        "portal/home.html",
        {
            "figures": figures,
            "domains": public.domains(session)[:12],
            "newest": newest,
            "last_update": public.last_updates(session, [d.id for d in newest]),
            "dataset_slug": naming.dataset_slug,
        },
    )


# --- one entry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """The first rows as the reader may see them (masked as the gate decides)."""

    columns: list[tuple[str, str, bool]]  # name, label, masked
    rows: list[dict[str, Any]]
    chart: Markup | None


def _chart(dataset: Dataset, version: DatasetVersion, preview: Preview) -> Markup | None:
    """Columns of the first numeric field the reader sees in the clear, over the preview."""
    types = {str(f["name"]): str(f["type"]) for f in version.schema}
    numeric = next(
        (c for c in preview.columns if types.get(c[0]) in _NUMERIC and not c[2]),
        None,
    )
    if numeric is None or not preview.rows:
        return None
    text = next(
        (c for c in preview.columns if types.get(c[0]) in {"string", "text"} and not c[2]), None
    )
    labels, values = [], []
    for i, row in enumerate(preview.rows, start=1):
        value = row.get(numeric[0])
        if value is None:
            continue
        labels.append(str(row.get(text[0]) or i) if text else str(i))
        values.append(float(value))
    if not values:
        return None
    title = translate(N_("{field}（预览的前 {rows} 行）")).format(
        field=numeric[1], rows=len(preview.rows)
    )
    return column_chart(
        title=title,
        desc=translate(N_("每行一个柱，数值与上方预览表一致")),
        labels=labels,
        values=values,
        value_title=numeric[1],
        x_title=text[1] if text else translate(N_("行")),
        width=640,
    )


def read_preview(
    session: Session, reader: Actor, dataset: Dataset, version: DatasetVersion
) -> Preview | None:
    """The first rows through the gate, or None when the reader may not read them."""
    if not policy.may_read(session, reader, dataset):
        return None
    try:
        page = gate.read_page(
            session,
            reader,
            dataset,
            purpose=translate(PREVIEW_PURPOSE, "zh"),
            limit=PREVIEW_ROWS,
        )
    except GongshuError:
        # A refusal (quota, an expired grant) is the gate's and already recorded.
        return None
    labels = {str(f["name"]): str(f.get("label") or f["name"]) for f in version.schema}
    names = [n for n in (list(page.rows[0]) if page.rows else []) if not n.startswith("_")]
    columns = [
        (n, labels.get(n, n), page.masks.get(n, Technique.CLEAR) is not Technique.CLEAR)
        for n in names
    ]
    preview = Preview(columns, page.rows, None)
    return Preview(columns, page.rows, _chart(dataset, version, preview))


CITE = N_(
    "{agency}，《{title}》，资源代码 {code}，第 {number} 版，"
    "{date} 获取自 {url}，许可协议：{licence}。"
)
CITE_NO_VERSION = N_(
    "{agency}，《{title}》，资源代码 {code}，{date} 获取自 {url}，许可协议：{licence}。"
)


def citation(dataset: Dataset, version: DatasetVersion | None, today: str) -> str:
    """How to cite the entry: source agency, title, entry code, version, date, licence."""
    licence = datapackage.licence_of(dataset)
    return translate(CITE if version is not None else CITE_NO_VERSION).format(
        agency=dataset.agency.name,
        title=dataset.title,
        code=dataset.code,
        number=version.number if version is not None else "",
        date=today,
        url=naming.dataset_url(dataset),
        licence=licence["title"] or licence["name"],
    )


@router.get("/dataset/{slug}", response_class=HTMLResponse)
def dataset_page(
    request: Request, session: SessionDep, actor: OptionalActorDep, slug: str
) -> Response:
    dataset = find_entry(session, slug)
    reader = reader_of(request, actor)
    version = public.live_version(session, dataset.id)
    preview = read_preview(session, reader, dataset, version) if version is not None else None
    public.record_stat("view", dataset)
    slug = naming.dataset_slug(dataset.code)
    return render(
        request,
        "portal/dataset.html",
        {
            "dataset": dataset,
            "slug": slug,
            "version": version,
            "preview": preview,
            "rows_open": rows_are_open(dataset),
            "conditional": dataset.open_type == OpenType.CONDITIONAL,
            "licence": datapackage.licence_of(dataset),
            "citation": citation(dataset, version, local_today().isoformat()),
            "agency_slug": naming.agency_slug(dataset.agency),
            "theme_slug": naming.theme_slug(dataset.domain) if dataset.domain else "",
            "base_url": naming.base_url(),
            "resource_id": ckan.resource_id(dataset, "csv"),
            "formats": naming.DOWNLOAD_FORMATS,
            "realtime": dataset.update_cycle == UpdateCycle.REALTIME,
            "follow": _follow(
                session, actor, "dataset", slug, str(dataset.id), f"/feeds/dataset/{slug}.atom"
            ),
        },
    )


@router.get("/developers", response_class=HTMLResponse)
def developers(request: Request, session: SessionDep, actor: OptionalActorDep) -> Response:
    example = public.newest(session, 1)
    return render(
        request,
        "portal/developers.html",
        {
            "base_url": naming.base_url(),
            "example": example[0] if example else None,
            "resource_id": ckan.resource_id(example[0], "csv") if example else "",
            "slug": naming.dataset_slug(example[0].code) if example else "",
        },
    )
