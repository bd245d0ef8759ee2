"""JSON API of the portal's statistics and open list (anonymous; ``scope=all`` is the
bureau's, or an agency officer's for their own agency)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from gongshu.catalog.models import OpenType
from gongshu.db import utcnow
from gongshu.portal.naming import dataset_url
from gongshu.portalstats import openlist, queries
from gongshu.portalstats.schemas import (
    AgencyUsageRead,
    DayUsageRead,
    EntryUsageRead,
    OpenListItem,
    OpenListRead,
    PortalStatsRead,
    TotalsRead,
)
from gongshu.portalstats.views import StatsScope, stats_view
from gongshu.web.deps import OptionalActorDep, SessionDep

router = APIRouter(prefix="/portal", tags=["portal"])


def _usage(u: queries.Usage) -> dict[str, int]:
    return {"views": u.views, "downloads": u.downloads, "api_calls": u.api_calls}


def agency_read(a: queries.AgencyUsage) -> AgencyUsageRead:
    return AgencyUsageRead(
        agency_id=a.agency_id,
        name=a.name,
        credit_code=a.credit_code,
        entries=a.entries,
        **_usage(a),
    )


@router.get(
    "/stats",
    response_model=PortalStatsRead,
    summary="Usage statistics of the open-data portal",
    description=(
        "Entries, agencies, records, views, downloads and API calls: totals, per day, per "
        "month, the most used entries and every agency. Public entries only unless "
        "`scope=all` (the bureau; an agency's officers for `agency` = their own). Counts reach "
        "the figures within seconds (they are collected in memory and added in the background)."
    ),
)
def portal_stats(
    session: SessionDep,
    actor: OptionalActorDep,
    agency: Annotated[
        str | None, Query(max_length=40, description="an agency's slug (credit code) or id")
    ] = None,
    scope: Annotated[Literal["public", "all"], Query(description="public or all entries")] = (
        "public"
    ),
    days: Annotated[int, Query(ge=1, le=366, description="days of the daily series")] = 30,
    top: Annotated[int, Query(ge=1, le=100, description="most used entries listed")] = 10,
) -> PortalStatsRead:
    view = stats_view(session, actor, StatsScope(scope=scope, agency=agency), days=days, top=top)
    return PortalStatsRead(
        scope=view.scope,
        agency=agency_read(view.agency_usage) if view.agency_usage else None,
        totals=TotalsRead(
            entries=view.totals.entries,
            agencies=view.totals.agencies,
            records=view.totals.records,
            **_usage(view.totals),
        ),
        daily=[DayUsageRead(day=d.day, **_usage(d)) for d in view.daily],
        monthly=[DayUsageRead(day=d.day, **_usage(d)) for d in view.monthly],
        top_entries=[
            EntryUsageRead(
                dataset_id=e.dataset_id,
                code=e.code,
                title=e.title,
                agency_id=e.agency_id,
                agency_name=e.agency_name,
                **_usage(e),
            )
            for e in view.top
        ],
        agencies=[agency_read(a) for a in view.agencies],
        generated_at=utcnow().replace(microsecond=0),
    )


@router.get(
    "/open-list",
    response_model=OpenListRead,
    summary="The open list",
    description=(
        "Every public entry with its agency, domain, open type (and conditions), update "
        "cycle, formats, information items and last update, by agency then code. The same "
        "lines as `/open-list` and `/open-list.xlsx`."
    ),
)
def open_list(
    session: SessionDep,
    agency: Annotated[int | None, Query(ge=1, description="an agency's id")] = None,
    domain: Annotated[
        str | None, Query(max_length=50, description="a domain (its Chinese name)")
    ] = None,
    open_type: Annotated[OpenType | None, Query(description="unconditional or conditional")] = (
        None
    ),
) -> OpenListRead:
    lines = openlist.open_list(
        session, openlist.OpenListFilter(agency_id=agency, domain=domain, open_type=open_type)
    )
    items = [
        OpenListItem(
            dataset_id=line.dataset.id,
            code=line.dataset.code,
            title=line.dataset.title,
            url=dataset_url(line.dataset),
            agency_id=line.dataset.agency_id,
            agency_name=line.dataset.agency.name,
            domain=line.dataset.domain,
            open_type=line.dataset.open_type,
            open_conditions=line.dataset.open_conditions
            if line.dataset.open_type == OpenType.CONDITIONAL
            else "",
            update_cycle=line.dataset.update_cycle.value,
            formats=line.formats,
            fields=[f.label for f in line.dataset.fields],
            records=line.rows,
            last_update=line.last_update,
        )
        for line in lines
    ]
    return OpenListRead(total=len(items), items=items)
