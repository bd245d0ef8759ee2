"""Figures for the home page."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.auth.models import User
from gongshu.catalog.models import Dataset, DatasetState
from gongshu.orgs.models import Agency, Region


@dataclass(frozen=True)
class DashboardFigures:
    regions: int
    agencies: int
    users: int
    datasets: int
    published: int
    own_datasets: int


def dashboard_figures(session: Session, actor: Actor) -> DashboardFigures:
    def count(stmt: object) -> int:
        return int(session.scalar(stmt) or 0)  # type: ignore[call-overload]

    own = 0
    if actor.agency_id is not None:
        own = count(select(func.count()).where(Dataset.agency_id == actor.agency_id))
    return DashboardFigures(
        regions=count(select(func.count()).select_from(Region)),
        agencies=count(select(func.count()).select_from(Agency)),
        users=count(select(func.count()).select_from(User)),
        datasets=count(select(func.count()).select_from(Dataset)),
        published=count(select(func.count()).where(Dataset.state == DatasetState.PUBLISHED)),
        own_datasets=own,
    )
