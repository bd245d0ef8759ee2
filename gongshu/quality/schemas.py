"""Shapes of the quality API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from gongshu.quality.scores import Dimensions
from gongshu.quality.service import (
    AgencyQuality,
    AgencyScore,
    DatasetQuality,
    EntryStanding,
    MonthPoint,
    ScoreView,
)
from gongshu.quality.timeliness import DueStatus


class DimensionsRead(BaseModel):
    """Each dimension and the weighted total, from 0 to 100."""

    completeness: float
    validity: float
    uniqueness: float
    timeliness: float
    consistency: float
    total: float

    @classmethod
    def of(cls, dims: Dimensions | None) -> DimensionsRead | None:
        if dims is None:
            return None
        return cls(**dims.as_dict(), total=dims.total)


class ScoreRead(BaseModel):
    version_id: int
    version_number: int
    published_at: dt.datetime
    computed_at: dt.datetime | None = Field(description="None: computed for this answer")
    scores: DimensionsRead

    @classmethod
    def of(cls, view: ScoreView) -> ScoreRead:
        scores = DimensionsRead.of(view.dims)
        assert scores is not None
        return cls(
            version_id=view.version_id,
            version_number=view.number,
            published_at=view.published_at,
            computed_at=view.computed_at,
            scores=scores,
        )


class DueRead(BaseModel):
    update_cycle: str
    last_update: dt.date | None = Field(description="Newest data publication (no rollbacks)")
    due_on: dt.date | None = Field(description="None for irregular entries")
    remaining_days: int | None = Field(description="Negative when overdue")
    overdue: bool

    @classmethod
    def of(cls, due: DueStatus) -> DueRead:
        return cls(
            update_cycle=str(due.dataset.update_cycle),
            last_update=due.last_update,
            due_on=due.due_on,
            remaining_days=due.remaining,
            overdue=due.overdue,
        )


class DatasetQualityRead(BaseModel):
    dataset_id: int
    code: str
    title: str
    current: DimensionsRead | None = Field(
        description="The current version's score, timeliness lowered while overdue"
    )
    due: DueRead
    history: list[ScoreRead] = Field(description="One score per version, oldest first")
    weights: dict[str, int]

    @classmethod
    def of(cls, quality: DatasetQuality, weights: dict[str, int]) -> DatasetQualityRead:
        return cls(
            dataset_id=quality.dataset.id,
            code=quality.dataset.code,
            title=quality.dataset.title,
            current=DimensionsRead.of(quality.live),
            due=DueRead.of(quality.due),
            history=[ScoreRead.of(v) for v in quality.history],
            weights=weights,
        )


class AgencyScoreRead(BaseModel):
    agency_id: int
    agency_name: str
    rank: int | None
    scores: DimensionsRead | None = Field(description="Mean of the entries' current scores")
    datasets: int = Field(description="Published entries")
    scored: int = Field(description="Entries with a scored current version")
    overdue: int
    datasets_url: str

    @classmethod
    def of(cls, line: AgencyScore) -> AgencyScoreRead:
        return cls(
            agency_id=line.agency.id,
            agency_name=line.agency.name,
            rank=line.rank,
            scores=DimensionsRead.of(line.dims),
            datasets=line.datasets,
            scored=line.scored,
            overdue=line.overdue,
            datasets_url=f"/api/v1/datasets?agency_id={line.agency.id}",
        )


class EntryStandingRead(BaseModel):
    dataset_id: int
    code: str
    title: str
    version_number: int | None
    scores: DimensionsRead | None
    due: DueRead

    @classmethod
    def of(cls, item: EntryStanding) -> EntryStandingRead:
        return cls(
            dataset_id=item.dataset.id,
            code=item.dataset.code,
            title=item.dataset.title,
            version_number=item.version_number,
            scores=DimensionsRead.of(item.dims),
            due=DueRead.of(item.due),
        )


class MonthRead(BaseModel):
    month: str = Field(description="YYYY-MM")
    entries: int
    scores: DimensionsRead

    @classmethod
    def of(cls, point: MonthPoint) -> MonthRead:
        scores = DimensionsRead.of(point.dims)
        assert scores is not None
        return cls(month=point.month, entries=point.entries, scores=scores)


class AgencyQualityRead(BaseModel):
    score: AgencyScoreRead
    datasets: list[EntryStandingRead]
    history: list[MonthRead] = Field(description="Mean score at the end of each month")

    @classmethod
    def of(cls, quality: AgencyQuality) -> AgencyQualityRead:
        return cls(
            score=AgencyScoreRead.of(quality.score),
            datasets=[EntryStandingRead.of(i) for i in quality.entries],
            history=[MonthRead.of(p) for p in quality.history],
        )


class OverdueRead(BaseModel):
    dataset_id: int
    code: str
    title: str
    agency_id: int
    agency_name: str
    update_cycle: str
    last_update: dt.date | None
    due_on: dt.date
    days_overdue: int

    @classmethod
    def of(cls, due: DueStatus) -> OverdueRead:
        assert due.due_on is not None
        return cls(
            dataset_id=due.dataset.id,
            code=due.dataset.code,
            title=due.dataset.title,
            agency_id=due.dataset.agency_id,
            agency_name=due.dataset.agency.name,
            update_cycle=str(due.dataset.update_cycle),
            last_update=due.last_update,
            due_on=due.due_on,
            days_overdue=due.days_late,
        )
