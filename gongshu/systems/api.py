"""JSON API of the information-system registry. Reading needs a signed-in user of a public
body; writing needs an officer of the owning agency or a bureau admin (checked by the
services)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.systems import queries, service
from gongshu.systems.models import InformationSystem
from gongshu.systems.schemas import (
    LinkedDataset,
    SystemCreate,
    SystemDetail,
    SystemFilter,
    SystemLink,
    SystemPage,
    SystemRead,
    SystemUpdate,
)
from gongshu.web.deps import ActorDep, SessionDep

router = APIRouter(tags=["systems"])


def _read(row: queries.SystemRow) -> SystemRead:
    s = row.system
    return SystemRead(
        id=s.id,
        name=s.name,
        agency_id=s.agency_id,
        agency_name=s.agency.name,
        status=s.status,
        project_name=s.project_name,
        project_number=s.project_number,
        description=s.description,
        contact=s.contact,
        contact_phone=s.contact_phone,
        dataset_count=row.dataset_count,
        uncataloged=row.uncataloged,
        created_at=s.created_at,
        updated_at=s.updated_at,
    )


def _detail(session: Session, actor: Actor, system: InformationSystem) -> SystemDetail:
    session.refresh(system)
    row = queries.SystemRow(system, queries.link_count(session, system.id))
    datasets = queries.linked_datasets(session, actor, system.id)
    return SystemDetail(
        **_read(row).model_dump(),
        datasets=[LinkedDataset.model_validate(d) for d in datasets],
    )


@router.get("/systems", response_model=SystemPage, summary="List information systems")
def list_systems(
    session: SessionDep,
    actor: ActorDep,
    filters: Annotated[SystemFilter, Query()],
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=queries.MAX_PER_PAGE)] = queries.DEFAULT_PER_PAGE,
) -> SystemPage:
    """Systems you may see; ``uncataloged=true`` keeps running systems without entries."""
    result = queries.list_systems(session, actor, filters, page, per_page)
    return SystemPage(
        items=[_read(r) for r in result.items],
        total=result.total,
        uncataloged_total=queries.count_uncataloged(session, actor, filters),
        page=result.page,
        per_page=result.per_page,
    )


@router.post(
    "/systems",
    response_model=SystemDetail,
    status_code=status.HTTP_201_CREATED,
    summary="Register an information system",
)
def create_system(session: SessionDep, actor: ActorDep, data: SystemCreate) -> SystemDetail:
    system = service.create_system(session, actor, data)
    return _detail(session, actor, system)


@router.get("/systems/{system_id}", response_model=SystemDetail, summary="Read a system")
def get_system(session: SessionDep, actor: ActorDep, system_id: int) -> SystemDetail:
    return _detail(session, actor, queries.get_system(session, actor, system_id))


@router.patch("/systems/{system_id}", response_model=SystemDetail, summary="Edit a system")
def update_system(
    session: SessionDep, actor: ActorDep, system_id: int, data: SystemUpdate
) -> SystemDetail:
    system = service.update_system(session, actor, system_id, data)
    return _detail(session, actor, system)


@router.get(
    "/systems/{system_id}/links",
    response_model=list[LinkedDataset],
    summary="Catalog entries a system produces",
)
def list_links(session: SessionDep, actor: ActorDep, system_id: int) -> list[LinkedDataset]:
    system = queries.get_system(session, actor, system_id)
    return [
        LinkedDataset.model_validate(d) for d in queries.linked_datasets(session, actor, system.id)
    ]


@router.post(
    "/systems/{system_id}/links",
    response_model=SystemDetail,
    status_code=status.HTTP_201_CREATED,
    summary="Link a catalog entry to a system",
)
def add_link(
    session: SessionDep, actor: ActorDep, system_id: int, data: SystemLink
) -> SystemDetail:
    """Name the entry by ``dataset_id`` or ``code``; it belongs to the system's agency."""
    service.link_dataset(session, actor, system_id, data)
    return _detail(session, actor, queries.get_system(session, actor, system_id))


@router.delete(
    "/systems/{system_id}/links/{dataset_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Unlink a catalog entry from a system",
    response_class=Response,
)
def remove_link(session: SessionDep, actor: ActorDep, system_id: int, dataset_id: int) -> Response:
    service.unlink_dataset(session, actor, system_id, dataset_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
