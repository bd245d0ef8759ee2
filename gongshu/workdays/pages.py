"""The admin's working-day calendar page: a year's holidays and 调休 days, the overrides
with add/edit/delete, and a "N working days after D" calculator."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.auth.permissions import Perm, can, require
from gongshu.errors import ValidationFailed
from gongshu.i18n import N_
from gongshu.validation import parse
from gongshu.web.deps import ActorDep, CsrfDep, SessionDep
from gongshu.web.templating import render
from gongshu.workdays import queries, service
from gongshu.workdays.calendar import MAX_WORKING_DAYS, Source, WorkdayCalendar, local_today
from gongshu.workdays.schemas import DeadlineQuery, OverrideSet

router = APIRouter(include_in_schema=False)

BASE = "/admin/calendar"
WEEKDAYS = (
    N_("星期一"),
    N_("星期二"),
    N_("星期三"),
    N_("星期四"),
    N_("星期五"),
    N_("星期六"),
    N_("星期日"),
)
SOURCE_LABELS = {
    Source.OVERRIDE.value: N_("管理员调整"),
    Source.OFFICIAL.value: N_("国务院安排"),
    Source.PROVISIONAL.value: N_("暂定（周一至周五）"),
}


def _int(value: Any, default: int, low: int, high: int) -> int:
    text = str(value or "").strip()
    return min(max(int(text), low), high) if text.isdigit() else default


def _preview(session: Session, params: Any) -> dict[str, Any]:
    """The calculator's input and, when it is complete and valid, its result."""
    form = {"start": str(params.get("start", "")), "days": str(params.get("days", ""))}
    if not form["start"] and not form["days"]:
        return {"form": form, "result": None, "errors": {}}
    errors: dict[str, list[str]] = {}
    result = None
    try:
        data = parse(DeadlineQuery, form)
        result = WorkdayCalendar(session).add(data.start, data.days)
    except ValidationFailed as exc:
        errors = exc.localized_errors()
    return {"form": form, "result": result, "errors": errors}


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    year: int,
    form: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    official = queries.year_has_official_data(year)
    return render(
        request,
        "workdays/calendar.html",
        {
            "year": year,
            "official": official,
            "days": queries.special_days(session, year),
            "overrides": queries.list_overrides(session, year),
            "years": queries.override_years(session),
            "can_edit": can(actor, Perm.CALENDAR_MANAGE) and actor.city_scope,
            "form": form or {"is_workday": "0"},
            "errors": errors or {},
            "preview": _preview(session, request.query_params),
            "max_days": MAX_WORKING_DAYS,
            "weekdays": WEEKDAYS,
            "source_labels": SOURCE_LABELS,
        },
        status_code=status_code,
    )


@router.get(BASE, response_class=HTMLResponse)
def calendar_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    require(actor, Perm.CALENDAR_MANAGE)
    params = request.query_params
    year = _int(params.get("year"), local_today().year, 1900, 2200)
    form = None
    edit = params.get("edit", "")
    if edit:
        for row in queries.list_overrides(session, year):
            if row.day.isoformat() == edit:
                form = {
                    "day": edit,
                    "is_workday": "1" if row.is_workday else "0",
                    "note": row.note,
                }
    return _page(request, session, actor, year, form)


@router.post(BASE + "/overrides", response_class=HTMLResponse, dependencies=[CsrfDep])
async def calendar_set(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    require(actor, Perm.CALENDAR_MANAGE)
    raw = await request.form()
    form = {name: str(raw.get(name, "")).strip() for name in ("day", "is_workday", "note")}
    data = {k: v for k, v in form.items() if v}
    data.setdefault("note", "")
    year = local_today().year
    try:
        override = service.set_override(session, actor, parse(OverrideSet, data))
    except ValidationFailed as exc:
        with contextlib.suppress(ValueError):
            year = dt.date.fromisoformat(form["day"]).year
        return _page(request, session, actor, year, form, exc.localized_errors(), 422)
    return RedirectResponse(f"{BASE}?year={override.day.year}", status_code=303)


@router.post(BASE + "/overrides/{day}/delete", response_class=HTMLResponse, dependencies=[CsrfDep])
def calendar_delete(
    request: Request, session: SessionDep, actor: ActorDep, day: dt.date
) -> Response:
    service.delete_override(session, actor, day)
    return RedirectResponse(f"{BASE}?year={day.year}", status_code=303)
