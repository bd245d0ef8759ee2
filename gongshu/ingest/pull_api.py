"""JSON API of scheduled pulls: a dataset's pull sources, their runs, test and run now."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from gongshu.catalog import service as catalog
from gongshu.ingest import pull
from gongshu.ingest.models import IngestMode, InvalidPolicy
from gongshu.ingest.pull_models import PullRun, PullSource, PullStatus
from gongshu.web.deps import ActorDep, SessionDep

router = APIRouter(tags=["data"])


class PullSourceCreate(BaseModel):
    name: str = Field(
        description="a-z, 0-9 and _, starting with a letter; names the password's "
        "environment variable GONGSHU_PULL_PASSWORD_<NAME>"
    )
    url: str = Field(description="SQLAlchemy URL of the agency's database, without a password")
    query: str = Field(description="one SELECT (or WITH … SELECT) statement")
    schedule: str = Field(description="every 30m, every 2h or daily 02:30 (Asia/Shanghai)")
    mode: IngestMode = IngestMode.REPLACE
    snapshot: bool = False
    on_invalid: InvalidPolicy | None = Field(
        default=None, description="null: the dataset's own policy"
    )
    mapping: dict[str, str] = Field(default_factory=dict, description="field name -> column")
    enabled: bool = True


class PullSourceUpdate(BaseModel):
    url: str | None = None
    query: str | None = None
    schedule: str | None = None
    mode: IngestMode | None = None
    snapshot: bool | None = None
    on_invalid: InvalidPolicy | None = None
    mapping: dict[str, str] | None = None
    enabled: bool | None = None


class PullSourceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    dataset_id: int
    name: str
    url: str
    password_env: str = ""
    query: str
    mode: IngestMode
    snapshot: bool
    on_invalid: InvalidPolicy | None
    mapping: dict[str, Any]
    schedule: str
    schedule_text: str = ""
    enabled: bool
    next_run_at: dt.datetime | None
    last_run_at: dt.datetime | None
    last_status: PullStatus | None
    created_at: dt.datetime


class PullRunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source_id: int
    status: PullStatus
    trigger: str
    rows: int
    ingestion_id: int | None
    error: str = Field(description="in the reader's language")
    started_at: dt.datetime
    finished_at: dt.datetime | None


class PullTestRead(BaseModel):
    columns: list[str]
    rows: list[list[str | None]]
    mapping: dict[str, str] = Field(description="field name -> column")
    missing_required: list[str]
    unused_columns: list[str]


class RunQueued(BaseModel):
    job_id: int
    source: PullSourceRead


def source_read(source: PullSource) -> PullSourceRead:
    data = PullSourceRead.model_validate(source, from_attributes=True)
    data.password_env = pull.password_env(source.name)
    data.schedule_text = pull.describe_schedule(source.schedule)
    return data


def run_read(run: PullRun) -> PullRunRead:
    data = PullRunRead.model_validate(run, from_attributes=True)
    data.error = pull.error_text(run.error, run.error_params)
    return data


def _source(session: Session, actor: Any, dataset_id: int, source_id: int) -> PullSource:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    return pull.get_source(session, actor, dataset, source_id)


@router.get("/datasets/{dataset_id}/pull-sources", response_model=list[PullSourceRead])
def list_sources(session: SessionDep, actor: ActorDep, dataset_id: int) -> list[PullSourceRead]:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    return [source_read(s) for s in pull.sources_of(session, actor, dataset)]


@router.post(
    "/datasets/{dataset_id}/pull-sources",
    response_model=PullSourceRead,
    status_code=status.HTTP_201_CREATED,
    summary="Add a scheduled pull from an agency's database",
)
def create_source(
    session: SessionDep, actor: ActorDep, dataset_id: int, body: PullSourceCreate
) -> PullSourceRead:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    source = pull.create_source(session, actor, dataset, **body.model_dump())
    return source_read(source)


@router.get("/datasets/{dataset_id}/pull-sources/{source_id}", response_model=PullSourceRead)
def get_source(
    session: SessionDep, actor: ActorDep, dataset_id: int, source_id: int
) -> PullSourceRead:
    return source_read(_source(session, actor, dataset_id, source_id))


@router.patch("/datasets/{dataset_id}/pull-sources/{source_id}", response_model=PullSourceRead)
def update_source(
    session: SessionDep,
    actor: ActorDep,
    dataset_id: int,
    source_id: int,
    body: PullSourceUpdate,
) -> PullSourceRead:
    source = _source(session, actor, dataset_id, source_id)
    source = pull.update_source(session, actor, source, **body.model_dump(exclude_unset=True))
    return source_read(source)


@router.delete(
    "/datasets/{dataset_id}/pull-sources/{source_id}", status_code=status.HTTP_204_NO_CONTENT
)
def delete_source(
    session: SessionDep, actor: ActorDep, dataset_id: int, source_id: int
) -> Response:
    pull.delete_source(session, actor, _source(session, actor, dataset_id, source_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/datasets/{dataset_id}/pull-sources/{source_id}/runs", response_model=list[PullRunRead]
)
def list_runs(
    session: SessionDep, actor: ActorDep, dataset_id: int, source_id: int
) -> list[PullRunRead]:
    source = _source(session, actor, dataset_id, source_id)
    return [run_read(r) for r in pull.runs_of(session, source.id, limit=50)]


@router.post(
    "/datasets/{dataset_id}/pull-sources/{source_id}/run",
    response_model=RunQueued,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Run the pull as soon as a worker is free",
)
def run_now(session: SessionDep, actor: ActorDep, dataset_id: int, source_id: int) -> RunQueued:
    source = _source(session, actor, dataset_id, source_id)
    job = pull.request_run(session, actor, source)
    return RunQueued(job_id=job.id, source=source_read(source))


@router.post(
    "/datasets/{dataset_id}/pull-sources/{source_id}/test",
    response_model=PullTestRead,
    summary="Run the query with LIMIT 5 and match its columns to the fields",
)
def test_source(
    session: SessionDep, actor: ActorDep, dataset_id: int, source_id: int
) -> PullTestRead:
    source = _source(session, actor, dataset_id, source_id)
    preview = pull.test_connection(session, actor, source)
    return PullTestRead(
        columns=preview.columns,
        rows=preview.rows,
        mapping=preview.mapping.columns,
        missing_required=[s.name for s in preview.mapping.missing_required],
        unused_columns=preview.mapping.unused_headers,
    )
