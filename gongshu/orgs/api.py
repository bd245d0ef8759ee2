"""JSON API for regions and agencies. Reading needs a signed-in user; writing needs
``region.manage`` or ``agency.manage`` (checked by the services)."""

from __future__ import annotations

from fastapi import APIRouter, Query, status

from gongshu.auth.models import User
from gongshu.orgs import queries, service
from gongshu.orgs.models import AgencyKind
from gongshu.orgs.schemas import (
    AgencyCreate,
    AgencyDetail,
    AgencyPage,
    AgencyRead,
    AgencyUpdate,
    FieldChange,
    HistoryEntryRead,
    RegionCreate,
    RegionRead,
    RegionUpdate,
    UserBrief,
)
from gongshu.web.deps import ActorDep, SessionDep

router = APIRouter(tags=["orgs"])


def _history(items: list[queries.HistoryItem]) -> list[HistoryEntryRead]:
    return [
        HistoryEntryRead(
            seq=item.entry.seq,
            at=item.entry.at,
            action=item.entry.action,
            actor_name=item.entry.actor_name,
            changes=[FieldChange(field=c.field, old=c.old, new=c.new) for c in item.changes],
        )
        for item in items
    ]


@router.get("/regions", response_model=list[RegionRead], summary="List regions")
def list_regions(session: SessionDep, actor: ActorDep) -> list[RegionRead]:
    """The city and its districts/counties, by GB/T 2260 code. Any signed-in user."""
    return [RegionRead.model_validate(r) for r in queries.list_regions(session)]


@router.post(
    "/regions",
    response_model=RegionRead,
    status_code=status.HTTP_201_CREATED,
    summary="Add a region",
)
def create_region(session: SessionDep, actor: ActorDep, data: RegionCreate) -> RegionRead:
    """Needs `region.manage`. A district's `parent_id` is the city; codes are unique."""
    return RegionRead.model_validate(service.create_region(session, actor, data))


@router.patch("/regions/{region_id}", response_model=RegionRead, summary="Rename a region")
def update_region(
    session: SessionDep, actor: ActorDep, region_id: int, data: RegionUpdate
) -> RegionRead:
    """Needs `region.manage`."""
    return RegionRead.model_validate(service.update_region(session, actor, region_id, data))


@router.get("/agencies", response_model=AgencyPage, summary="List agencies")
def list_agencies(
    session: SessionDep,
    actor: ActorDep,
    q: str = Query("", max_length=100, description="part of the name, short name or code"),
    region_id: int | None = None,
    kind: AgencyKind | None = None,
    domain: str = Query("", max_length=50),
    active: bool | None = Query(None, description="true: active only; false: deactivated"),
    order: str = Query(
        "name",
        description="name, credit_code, region, kind, created_at, "
        "updated_at; prefix `-` for descending",
    ),
    page: int = Query(1, ge=1),
    per_page: int = Query(20, ge=1, le=queries.MAX_PER_PAGE),
) -> AgencyPage:
    """Any signed-in user."""
    result = queries.list_agencies(
        session,
        queries.AgencyFilter(q, region_id, kind, domain, active, order, page, per_page),
    )
    return AgencyPage(
        items=[AgencyRead.model_validate(a) for a in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
    )


@router.post(
    "/agencies",
    response_model=AgencyRead,
    status_code=status.HTTP_201_CREATED,
    summary="Register an agency",
)
def create_agency(session: SessionDep, actor: ActorDep, data: AgencyCreate) -> AgencyRead:
    """Needs `agency.manage` (a district bureau admin: only in its own district). The credit
    code must pass the GB 32100 check; names and codes are unique (422 on the field)."""
    return AgencyRead.model_validate(service.create_agency(session, actor, data))


@router.get("/agencies/{agency_id}", response_model=AgencyDetail, summary="One agency")
def get_agency(session: SessionDep, actor: ActorDep, agency_id: int) -> AgencyDetail:
    """Any signed-in user. Includes the region, officers and catalog entry counts."""
    agency = queries.get_agency(session, agency_id)
    counts = queries.catalog_counts(session, agency.id)
    officer: User | None = agency.chief_data_officer
    base = AgencyRead.model_validate(agency).model_dump()
    return AgencyDetail(
        **base,
        region=RegionRead.model_validate(agency.region),
        chief_data_officer=UserBrief.model_validate(officer) if officer else None,
        data_officers=[
            UserBrief.model_validate(u) for u in queries.data_officers(session, agency.id)
        ],
        dataset_count=counts.total,
        published_count=counts.published,
    )


@router.patch("/agencies/{agency_id}", response_model=AgencyRead, summary="Change an agency")
def update_agency(
    session: SessionDep, actor: ActorDep, agency_id: int, data: AgencyUpdate
) -> AgencyRead:
    """Needs `agency.manage` in the agency's region. Only the fields sent change; the chief
    data officer must be an active user of the agency."""
    return AgencyRead.model_validate(service.update_agency(session, actor, agency_id, data))


@router.get(
    "/agencies/{agency_id}/history",
    response_model=list[HistoryEntryRead],
    summary="An agency's history (from the audit chain)",
)
def agency_history(session: SessionDep, actor: ActorDep, agency_id: int) -> list[HistoryEntryRead]:
    """Any signed-in user. Oldest first; each change as `{field, old, new}`."""
    queries.get_agency(session, agency_id)
    return _history(queries.agency_history(session, agency_id))
