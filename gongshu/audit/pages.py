"""Audit pages: the auditor's search of the chain, one entry, sharing statistics,
checkpoints, and verification."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from gongshu.audit import checkpoint, queries, service, stats
from gongshu.audit.chart import bar_chart, column_chart
from gongshu.auth.permissions import Perm, can, require
from gongshu.errors import NotFound
from gongshu.i18n import N_, translate
from gongshu.web.deps import ActorDep, CsrfDep, SessionDep, SettingsDep
from gongshu.web.templating import render
from gongshu.workdays.calendar import TZ

router = APIRouter(include_in_schema=False)

MSG_NO_ENTRY = N_("没有这条审计记录")
CHART_AGENCY_TITLE = N_("调用次数最多的机构")
CHART_AGENCY_DESC = N_("{since} 至 {until}，{n} 个机构的数据调用次数，数值见下表。")
CHART_DATASET_TITLE = N_("交换记录数最多的目录条目")
CHART_DATASET_DESC = N_("{since} 至 {until}，{n} 个目录条目交换的记录数，数值见下表。")
CHART_DAY_TITLE = N_("每日调用次数")
CHART_DAY_DESC = N_("{since} 至 {until} 每天的数据调用次数，数值见下表。")
AXIS_DAY = N_("日期")
CALLS = N_("调用次数")
RECORDS = N_("交换记录数")
UNKNOWN_BODY = N_("（无所属机构）")

# Labels of the keys a gate entry's changes carry, in the order the detail page shows them.
GATE_KEYS = {
    "purpose": N_("用途"),
    "operation": N_("读取方式"),
    "result": N_("结果"),
    "reason": N_("拒绝原因"),
    "basis": N_("依据"),
    "grant": N_("授权"),
    "version": N_("版本"),
    "fields": N_("字段"),
    "columns": N_("读取的列"),
    "filters": N_("筛选条件"),
    "rows": N_("行数"),
}
FILTER_NAMES = (
    "agency_id",
    "provider_id",
    "dataset_id",
    "actor_id",
    "actor_name",
    "action",
    "object_type",
    "object_id",
    "result",
    "since",
    "until",
)


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 12 else None


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        return None


def _day_start(day: dt.date | None, *, next_day: bool = False) -> dt.datetime | None:
    if day is None:
        return None
    if next_day:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(), TZ)


def _filters(request: Request) -> dict[str, str]:
    params = request.query_params
    return {name: params.get(name, "").strip()[:100] for name in FILTER_NAMES}


def _query(filters: dict[str, str]) -> queries.EntryQuery:
    """The search the filter form describes; dates are days in Asia/Shanghai, both
    inclusive; a value that does not parse is left out."""
    result = filters["result"] if filters["result"] in queries.RESULTS else ""
    return queries.EntryQuery(
        agency_id=_int(filters["agency_id"]),
        provider_id=_int(filters["provider_id"]),
        dataset_id=_int(filters["dataset_id"]),
        actor_id=_int(filters["actor_id"]),
        actor_name=filters["actor_name"],
        action=filters["action"][:64],
        object_type=filters["object_type"][:32],
        object_id=filters["object_id"][:64],
        result=result,
        since=_day_start(_date(filters["since"])),
        until=_day_start(_date(filters["until"]), next_day=True),
    )


def _link(path: str, filters: dict[str, str], **more: Any) -> str:
    params = {k: v for k, v in filters.items() if v}
    params.update({k: str(v) for k, v in more.items() if v is not None})
    return f"{path}?{urlencode(params)}" if params else path


@router.get("/audit", response_class=HTMLResponse)
def audit_home(request: Request) -> Response:
    """The chain's old address: the search page now."""
    query = request.url.query
    return RedirectResponse("/audit/entries" + (f"?{query}" if query else ""), status_code=303)


@router.get("/audit/entries", response_class=HTMLResponse)
def entries_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    filters = _filters(request)
    before = _int(request.query_params.get("before"))
    page = queries.search(session, actor, _query(filters), before=before)
    bodies, titles = queries.names(session, page.items)
    return render(
        request,
        "audit/entries.html",
        {
            "page": page,
            "filters": filters,
            "bodies": bodies,
            "titles": titles,
            "body_choices": queries.body_choices(session, actor),
            "sees_all": queries.sees_all(actor) if actor else False,
            "may_verify": can(actor, Perm.AUDIT_VERIFY),
            "next_link": _link("/audit/entries", filters, before=page.next_before)
            if page.next_before
            else None,
            "first_link": _link("/audit/entries", filters) if before else None,
            "csv_link": _link("/audit/entries.csv", filters),
        },
    )


@router.get("/audit/entries.csv")
def entries_csv(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    chunks = queries.csv_chunks(session, actor, _query(_filters(request)))
    first = next(chunks)

    def body() -> Any:
        yield first
        yield from chunks

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-entries.csv"'},
    )


@router.get("/audit/entries/{seq}", response_class=HTMLResponse)
def entry_page(request: Request, session: SessionDep, actor: ActorDep, seq: int) -> Response:
    found = queries.get_entry(session, actor, seq) if 0 < seq < 2**63 else None
    if found is None:
        raise NotFound(MSG_NO_ENTRY)
    bodies, titles = queries.names(session, [found])
    gate = found.action.startswith("data.")
    known = [(GATE_KEYS[k], found.changes[k]) for k in GATE_KEYS if gate and k in found.changes]
    others = {k: v for k, v in found.changes.items() if not gate or k not in GATE_KEYS}
    return render(
        request,
        "audit/entry.html",
        {
            "entry": found,
            "body": bodies.get(found.agency_id) if found.agency_id is not None else None,
            "title": titles.get(found.dataset_id) if found.dataset_id is not None else None,
            "gate": gate,
            "known": known,
            "others": others,
            "sees_all": queries.sees_all(actor) if actor else False,
        },
    )


@router.get("/audit/stats", response_class=HTMLResponse)
def stats_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    params = request.query_params
    days = _int(params.get("days"))
    until = _date(params.get("until"))
    since = _date(params.get("since"))
    if days and not since:
        end = until or dt.datetime.now(TZ).date()
        since = end - dt.timedelta(days=min(days, stats.MAX_DAYS) - 1)
    found = stats.sharing_stats(
        session,
        actor,
        since,
        until,
        agency_id=_int(params.get("agency_id")),
        dataset_id=_int(params.get("dataset_id")),
    )
    since_text, until_text = found.since.isoformat(), found.until.isoformat()
    charts: dict[str, Any] = {}
    if found.by_agency:
        charts["agency"] = bar_chart(
            title=translate(CHART_AGENCY_TITLE),
            desc=translate(
                CHART_AGENCY_DESC, n=len(found.by_agency), since=since_text, until=until_text
            ),
            labels=[r.name or translate(UNKNOWN_BODY) for r in found.by_agency],
            values=[r.counts.calls for r in found.by_agency],
            value_title=translate(CALLS),
        )
    records = sorted(found.by_dataset, key=lambda r: -r.counts.records)
    if records:
        charts["dataset"] = bar_chart(
            title=translate(CHART_DATASET_TITLE),
            desc=translate(CHART_DATASET_DESC, n=len(records), since=since_text, until=until_text),
            labels=[r.name or f"#{r.key}" for r in records],
            values=[r.counts.records for r in records],
            value_title=translate(RECORDS),
        )
    charts["day"] = column_chart(
        title=translate(CHART_DAY_TITLE),
        desc=translate(CHART_DAY_DESC, since=since_text, until=until_text),
        labels=[d.day.strftime("%m-%d") for d in found.by_day],
        values=[d.counts.calls for d in found.by_day],
        value_title=translate(CALLS),
        x_title=translate(AXIS_DAY),
    )
    return render(
        request,
        "audit/stats.html",
        {
            "stats": found,
            "charts": charts,
            "datasets_by_records": records,
            "agency_id": params.get("agency_id", ""),
            "dataset_id": params.get("dataset_id", ""),
            "body_choices": queries.body_choices(session, actor),
            "sees_all": queries.sees_all(actor) if actor else False,
        },
    )


@router.get("/audit/checkpoints", response_class=HTMLResponse)
def checkpoints_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    checkpoint.require_reader(actor)
    rows = checkpoint.list_checkpoints(session)
    return render(
        request,
        "audit/checkpoints.html",
        {"checkpoints": list(reversed(rows)), "may_verify": can(actor, Perm.AUDIT_VERIFY)},
    )


@router.get("/audit/checkpoints.jsonl")
def checkpoints_export(session: SessionDep, actor: ActorDep) -> Response:
    checkpoint.require_reader(actor)
    return StreamingResponse(
        checkpoint.export_lines(session),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="audit-checkpoints.jsonl"'},
    )


@router.post("/audit/verify", response_class=HTMLResponse, dependencies=[CsrfDep])
def audit_verify(
    request: Request, session: SessionDep, actor: ActorDep, settings: SettingsDep
) -> Response:
    require(actor, Perm.AUDIT_VERIFY)
    result = service.verify(session, settings=settings)
    return render(request, "audit/verify.html", {"result": result})
