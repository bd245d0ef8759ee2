"""Pages of data quality: a dataset's scores, the bureau's ranking, an agency's page and
the overdue list."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.i18n import N_, translate
from gongshu.orgs.models import Region
from gongshu.quality import service
from gongshu.quality.chart import Series, line_chart
from gongshu.quality.scores import DIMENSIONS, WEIGHTS, Dimensions
from gongshu.web.deps import ActorDep, SessionDep
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)

DIMENSION_LABELS = {
    "total": N_("综合得分"),
    "completeness": N_("完整性"),
    "validity": N_("有效性"),
    "uniqueness": N_("唯一性"),
    "timeliness": N_("及时性"),
    "consistency": N_("一致性"),
}
CHART_DATASET_TITLE = N_("“{name}”各版本的质量得分")
CHART_DATASET_DESC = N_("{count} 个版本的综合得分及五个维度得分（0–100），数值见下表。")
CHART_AGENCY_TITLE = N_("“{name}”各月的平均质量得分")
CHART_AGENCY_DESC = N_("{count} 个月的平均综合得分及五个维度得分（0–100），数值见下表。")
AXIS_VERSION = N_("版本")
AXIS_MONTH = N_("月份")
AXIS_SCORE = N_("得分")
VERSION_LABEL = N_("第 {n} 版")


def _series(points: Sequence[Dimensions]) -> list[Series]:
    order = ("total", *DIMENSIONS)
    return [
        Series(
            translate(DIMENSION_LABELS[name]),
            [p.total if name == "total" else getattr(p, name) for p in points],
        )
        for name in order
    ]


def _regions(session: Session, actor: Actor) -> list[Region]:
    if not actor.city_scope:
        return []
    return list(session.scalars(select(Region).order_by(Region.code)))


def _region_param(request: Request) -> int | None:
    value = request.query_params.get("region_id", "")
    return int(value) if value.isdigit() and len(value) < 10 else None


@router.get("/catalog/{dataset_id}/quality", response_class=HTMLResponse)
def dataset_page(
    request: Request, session: SessionDep, actor: ActorDep, dataset_id: int
) -> Response:
    quality = service.dataset_quality(session, actor, dataset_id)
    chart: Markup | None = None
    if quality.history:
        chart = line_chart(
            title=translate(CHART_DATASET_TITLE, name=quality.dataset.title),
            desc=translate(CHART_DATASET_DESC, count=len(quality.history)),
            x_labels=[translate(VERSION_LABEL, n=v.number) for v in quality.history],
            series=_series([v.dims for v in quality.history]),
            x_title=translate(AXIS_VERSION),
            y_title=translate(AXIS_SCORE),
        )
    return render(
        request,
        "quality/dataset.html",
        {
            "dataset": quality.dataset,
            "quality": quality,
            "chart": chart,
            "dimensions": DIMENSIONS,
            "labels": DIMENSION_LABELS,
            "weights": WEIGHTS,
        },
    )


@router.get("/quality", response_class=HTMLResponse)
def ranking_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    region_id = _region_param(request)
    ranking = service.agency_ranking(session, actor, region_id=region_id)
    return render(
        request,
        "quality/ranking.html",
        {
            "ranking": ranking,
            "regions": _regions(session, actor),
            "region_id": region_id,
            "dimensions": DIMENSIONS,
            "labels": DIMENSION_LABELS,
            "weights": WEIGHTS,
        },
    )


@router.get("/quality/agencies/{agency_id}", response_class=HTMLResponse)
def agency_page(request: Request, session: SessionDep, actor: ActorDep, agency_id: int) -> Response:
    quality = service.agency_quality(session, actor, agency_id)
    chart: Markup | None = None
    if quality.history:
        chart = line_chart(
            title=translate(CHART_AGENCY_TITLE, name=quality.agency.name),
            desc=translate(CHART_AGENCY_DESC, count=len(quality.history)),
            x_labels=[p.month for p in quality.history],
            series=_series([p.dims for p in quality.history]),
            x_title=translate(AXIS_MONTH),
            y_title=translate(AXIS_SCORE),
        )
    return render(
        request,
        "quality/agency.html",
        {
            "quality": quality,
            "agency": quality.agency,
            "chart": chart,
            "dimensions": DIMENSIONS,
            "labels": DIMENSION_LABELS,
        },
    )


@router.get("/quality/overdue", response_class=HTMLResponse)
def overdue_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    region_id = _region_param(request)
    entries = service.overdue_entries(session, actor, region_id=region_id)
    return render(
        request,
        "quality/overdue.html",
        {"entries": entries, "regions": _regions(session, actor), "region_id": region_id},
    )
