"""JSON API of the working-day calendar. Reading needs a signed-in user; changing
overrides needs ``calendar.manage`` at city level (checked by the services)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Query, Response, status

from gongshu.web.deps import ActorDep, SessionDep
from gongshu.workdays import queries, service
from gongshu.workdays.calendar import MAX_WORKING_DAYS, WorkdayCalendar, end_of_day
from gongshu.workdays.schemas import DayRead, DeadlinePreview, OverrideRead, OverrideSet

router = APIRouter(tags=["calendar"])


@router.get(
    "/calendar/overrides", response_model=list[OverrideRead], summary="List calendar overrides"
)
def list_overrides(
    session: SessionDep,
    actor: ActorDep,
    year: int | None = Query(None, ge=1900, le=2200, description="only this year"),
) -> list[OverrideRead]:
    """The days an admin declared working days or days off, by date. Any signed-in user."""
    return [OverrideRead.model_validate(o) for o in queries.list_overrides(session, year)]


@router.post("/calendar/overrides", response_model=OverrideRead, summary="Set a calendar override")
def set_override(session: SessionDep, actor: ActorDep, data: OverrideSet) -> OverrideRead:
    """Adds the day's override or changes it. Needs `calendar.manage` (a city-level bureau
    admin or the system admin). Every open deadline is recomputed in the same transaction."""
    return OverrideRead.model_validate(service.set_override(session, actor, data))


@router.delete(
    "/calendar/overrides/{day}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a calendar override",
)
def delete_override(session: SessionDep, actor: ActorDep, day: dt.date) -> Response:
    """Needs `calendar.manage`; 404 when the day has no override. Open deadlines are
    recomputed."""
    service.delete_override(session, actor, day)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/calendar/days/{day}", response_model=DayRead, summary="Is a day a working day")
def get_day(session: SessionDep, actor: ActorDep, day: dt.date) -> DayRead:
    """`source` is `override`, `official` (State Council arrangement) or `provisional`
    (Monday–Friday, no official data for that year yet). Any signed-in user."""
    working, source = WorkdayCalendar(session).check(day)
    return DayRead(day=day, is_workday=working, source=source)


@router.get("/calendar/deadline", response_model=DeadlinePreview, summary="Count working days")
def preview_deadline(
    session: SessionDep,
    actor: ActorDep,
    start: dt.date = Query(description="the day D (not counted), YYYY-MM-DD"),
    days: int = Query(ge=1, le=MAX_WORKING_DAYS, description="N working days"),
) -> DeadlinePreview:
    """The N-th working day after D, due at the end of that day
    (Asia/Shanghai). Any signed-in user."""
    calc = WorkdayCalendar(session).add(start, days)
    return DeadlinePreview(
        start=start,
        days=days,
        due_on=calc.due_on,
        due_at=end_of_day(calc.due_on),
        provisional=calc.provisional,
        rule=calc.rule,
    )
