"""JSON API of data quality: a dataset's scores, the agencies' ranking, overdue entries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from gongshu.quality import service
from gongshu.quality.schemas import (
    AgencyQualityRead,
    AgencyScoreRead,
    DatasetQualityRead,
    OverdueRead,
)
from gongshu.quality.scores import WEIGHTS
from gongshu.web.deps import ActorDep, SessionDep

router = APIRouter(prefix="/quality", tags=["quality"])

RegionQuery = Annotated[
    int | None, Query(description="Narrow to one district (city-level viewers only)")
]


@router.get(
    "/datasets/{dataset_id}",
    response_model=DatasetQualityRead,
    summary="A dataset's quality scores with their history",
    description="One score per version (completeness, validity, uniqueness, timeliness, "
    "consistency, weighted total; 0–100), the current standing and the next due date. "
    "For whoever may see the catalog entry.",
)
def dataset_scores(session: SessionDep, actor: ActorDep, dataset_id: int) -> DatasetQualityRead:
    return DatasetQualityRead.of(service.dataset_quality(session, actor, dataset_id), WEIGHTS)


@router.get(
    "/agencies",
    response_model=list[AgencyScoreRead],
    summary="The agencies ranked by quality score",
    description="Bureau admins and auditors, within their region's scope.",
)
def agencies(
    session: SessionDep, actor: ActorDep, region_id: RegionQuery = None
) -> list[AgencyScoreRead]:
    ranking = service.agency_ranking(session, actor, region_id=region_id)
    return [AgencyScoreRead.of(line) for line in ranking]


@router.get(
    "/agencies/{agency_id}",
    response_model=AgencyQualityRead,
    summary="One agency's quality: score, entries and monthly history",
    description="Bureau admins and auditors in scope, and the agency's own data officers.",
)
def agency(session: SessionDep, actor: ActorDep, agency_id: int) -> AgencyQualityRead:
    return AgencyQualityRead.of(service.agency_quality(session, actor, agency_id))


@router.get(
    "/overdue",
    response_model=list[OverdueRead],
    summary="Published entries past their update due date",
    description="Most overdue first. Bureau admins and auditors, within their region's scope.",
)
def overdue(
    session: SessionDep, actor: ActorDep, region_id: RegionQuery = None
) -> list[OverdueRead]:
    return [OverdueRead.of(d) for d in service.overdue_entries(session, actor, region_id=region_id)]
