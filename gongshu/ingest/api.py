"""JSON API of aggregation: uploads, ingestions, versions, rows (through the gate), trace."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.catalog import service as catalog
from gongshu.catalog.models import Dataset
from gongshu.errors import NotFound, ValidationFailed
from gongshu.gate import service as gate
from gongshu.gate.filters import Filter
from gongshu.i18n import N_, translate
from gongshu.identifiers import IDENTIFIER_CHECKS
from gongshu.ingest import history, service
from gongshu.ingest.models import Ingestion, IngestMode, InvalidPolicy
from gongshu.ingest.readers import ReadOptions
from gongshu.ingest.schemas import (
    DiffRead,
    EntityRead,
    IngestionRead,
    IssueRead,
    ProfileRead,
    ProfileUpdate,
    PushRows,
    RowsPage,
    TraceRead,
    VersionRead,
)
from gongshu.ingest.spec import IdentifierKind
from gongshu.store.models import DatasetVersion
from gongshu.store.versions import current_version
from gongshu.web.deps import ActorDep, SessionDep

router = APIRouter(tags=["data"])

MSG_BAD_MAPPING = N_("列映射必须是 JSON 对象：信息项名称 → 文件列名")
MSG_BAD_FILTER = N_("筛选条件格式应为 字段:运算符:值")
FILTER_OPS = {"=": "eq", "<": "lt", "<=": "le", ">": "gt", ">=": "ge", "like": "like"}


def issue_reads(ingestion: Ingestion) -> list[IssueRead]:
    return [
        IssueRead(
            row=int(i.get("row", 0)),
            column=str(i.get("column", "")),
            message=translate(str(i.get("message", "")), **(i.get("params") or {})),
            value=i.get("value"),
            severity=str(i.get("severity", "error")),
        )
        for i in ingestion.issues
    ]


def ingestion_read(session: Session, ingestion: Ingestion) -> IngestionRead:
    data = IngestionRead.model_validate(ingestion, from_attributes=True)
    data.issues = issue_reads(ingestion)
    if ingestion.version_id is not None:
        version = session.get(DatasetVersion, ingestion.version_id)
        data.version_number = version.number if version is not None else None
    if ingestion.rejected_key:
        data.rejected_url = f"/api/v1/ingestions/{ingestion.id}/rejected"
    return data


def version_read(version: DatasetVersion, current: DatasetVersion | None) -> VersionRead:
    data = VersionRead.model_validate(version, from_attributes=True)
    data.current = current is not None and current.id == version.id
    return data


def _dataset(session: Session, actor: Actor, dataset_id: int) -> Dataset:
    return catalog.get_dataset(session, actor, dataset_id)


def _ingestion(session: Session, actor: Actor, ingestion_id: int) -> tuple[Ingestion, Dataset]:
    ingestion = session.get(Ingestion, ingestion_id)
    if ingestion is None:
        raise NotFound(service.MSG_NO_INGESTION)
    dataset = _dataset(session, actor, ingestion.dataset_id)
    gate.check_clear(session, actor, dataset)
    return ingestion, dataset


def parse_filters(items: list[str]) -> list[Filter]:
    """``field:op:value`` strings from the query string as gate filters (``like``: a
    pattern: ``%kw%`` contains, ``kw%`` prefix, ``kw`` equals)."""
    filters = []
    for item in items:
        name, _, rest = item.partition(":")
        op, _, value = rest.partition(":")
        if not name or op not in FILTER_OPS:
            raise ValidationFailed.single("filter", MSG_BAD_FILTER)
        if op == "like":
            kind = (
                "contains" if value.startswith("%") else "prefix" if value.endswith("%") else "eq"
            )
            filters.append(Filter(name, kind, value.strip("%")))
        else:
            filters.append(Filter(name, FILTER_OPS[op], value))
    return filters


@router.post(
    "/datasets/{dataset_id}/ingestions",
    response_model=IngestionRead,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload a file to become the dataset's next version",
    description="Queues the ingestion; poll GET /ingestions/{id} until it is published, "
    "rejected or failed. CSV (UTF-8, GBK, GB18030), XLSX, XLS, JSON and NDJSON.",
)
def upload(
    session: SessionDep,
    actor: ActorDep,
    dataset_id: int,
    file: Annotated[UploadFile, File(description="the data file")],
    mode: Annotated[IngestMode, Form()] = IngestMode.REPLACE,
    snapshot: Annotated[bool, Form(description="upsert only: rows absent are deleted")] = False,
    on_invalid: Annotated[InvalidPolicy | None, Form()] = None,
    encoding: Annotated[str | None, Form()] = None,
    delimiter: Annotated[str | None, Form()] = None,
    sheet: Annotated[str | None, Form()] = None,
    header_row: Annotated[int, Form(ge=1, le=1000)] = 1,
    file_format: Annotated[str | None, Form(alias="format")] = None,
    mapping: Annotated[str | None, Form(description="JSON: field name -> header")] = None,
) -> IngestionRead:
    dataset = _dataset(session, actor, dataset_id)
    chosen: dict[str, str] | None = None
    if mapping:
        try:
            chosen = json.loads(mapping)
        except ValueError:
            chosen = None
        if not isinstance(chosen, dict):
            raise ValidationFailed.single("mapping", MSG_BAD_MAPPING)
    options = ReadOptions(
        format=file_format or None,
        encoding=encoding or None,
        delimiter=delimiter or None,
        sheet=sheet or None,
        header_row=header_row,
    )
    ingestion = service.submit_upload(
        session,
        actor,
        dataset,
        file.file,
        name=file.filename or "upload",
        mode=mode,
        snapshot=snapshot,
        on_invalid=on_invalid,
        options=options,
        mapping=chosen,
    )
    return ingestion_read(session, ingestion)


@router.get(
    "/datasets/{dataset_id}/ingestions",
    response_model=list[IngestionRead],
    summary="The dataset's latest ingestions",
)
def list_ingestions(session: SessionDep, actor: ActorDep, dataset_id: int) -> list[IngestionRead]:
    dataset = _dataset(session, actor, dataset_id)
    gate.check_clear(session, actor, dataset)
    return [ingestion_read(session, i) for i in service.ingestions(session, dataset.id)]


@router.get("/ingestions/{ingestion_id}", response_model=IngestionRead, summary="One ingestion")
def get_ingestion(session: SessionDep, actor: ActorDep, ingestion_id: int) -> IngestionRead:
    ingestion, _ = _ingestion(session, actor, ingestion_id)
    return ingestion_read(session, ingestion)


@router.get(
    "/ingestions/{ingestion_id}/rejected",
    summary="The rejected rows as CSV, with the reason for each bad cell",
    response_class=StreamingResponse,
)
def rejected_rows(session: SessionDep, actor: ActorDep, ingestion_id: int) -> Response:
    ingestion, dataset = _ingestion(session, actor, ingestion_id)
    return service.rejected_download(session, actor, dataset, ingestion)


@router.get(
    "/datasets/{dataset_id}/ingest-profile",
    response_model=ProfileRead,
    summary="How uploads of this dataset are handled",
)
def get_profile(session: SessionDep, actor: ActorDep, dataset_id: int) -> ProfileRead:
    dataset = _dataset(session, actor, dataset_id)
    gate.check_clear(session, actor, dataset)
    return ProfileRead.model_validate(service.profile_of(session, dataset.id))


@router.put(
    "/datasets/{dataset_id}/ingest-profile",
    response_model=ProfileRead,
    summary="Choose the invalid-row policy and the remembered column mapping",
)
def put_profile(
    session: SessionDep, actor: ActorDep, dataset_id: int, data: ProfileUpdate
) -> ProfileRead:
    dataset = _dataset(session, actor, dataset_id)
    profile = service.set_profile(
        session, actor, dataset, on_invalid=data.on_invalid, mapping=data.mapping
    )
    return ProfileRead.model_validate(profile)


@router.get(
    "/datasets/{dataset_id}/versions",
    response_model=list[VersionRead],
    summary="The dataset's versions, newest first",
)
def list_versions(session: SessionDep, actor: ActorDep, dataset_id: int) -> list[VersionRead]:
    dataset = _dataset(session, actor, dataset_id)
    gate.check_clear(session, actor, dataset)
    current = current_version(session, dataset.id)
    return [version_read(v, current) for v in history.history(session, dataset.id)]


@router.get(
    "/datasets/{dataset_id}/versions/{number}",
    response_model=VersionRead,
    summary="One version with its quality report",
)
def get_version(session: SessionDep, actor: ActorDep, dataset_id: int, number: int) -> VersionRead:
    dataset = _dataset(session, actor, dataset_id)
    gate.check_clear(session, actor, dataset)
    version = history.version_by_number(session, dataset.id, number)
    return version_read(version, current_version(session, dataset.id))


@router.post(
    "/datasets/{dataset_id}/versions/{number}/rollback",
    response_model=VersionRead,
    status_code=status.HTTP_201_CREATED,
    summary="Publish an older version's rows again as a new version",
)
def rollback(session: SessionDep, actor: ActorDep, dataset_id: int, number: int) -> VersionRead:
    dataset = _dataset(session, actor, dataset_id)
    version = history.rollback(session, actor, dataset, number)
    return version_read(version, version)


@router.get(
    "/datasets/{dataset_id}/diff",
    response_model=DiffRead,
    summary="Rows added, removed and changed between two versions, by key",
)
def diff(
    session: SessionDep,
    actor: ActorDep,
    dataset_id: int,
    old: Annotated[int, Query(alias="from", ge=1)],
    new: Annotated[int, Query(alias="to", ge=1)],
) -> DiffRead:
    dataset = _dataset(session, actor, dataset_id)
    return history.diff_read(session, actor, dataset, old, new)


@router.get(
    "/datasets/{dataset_id}/rows",
    response_model=RowsPage,
    summary="A page of the dataset's rows, through the gate",
)
def rows(
    session: SessionDep,
    actor: ActorDep,
    dataset_id: int,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: Annotated[str | None, Query(description="cursor from the previous page")] = None,
    filters: Annotated[
        list[str] | None,
        Query(alias="filter", description="field:op:value, op one of = < <= > >= like"),
    ] = None,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> RowsPage:
    dataset = _dataset(session, actor, dataset_id)
    chosen = history.version_by_number(session, dataset.id, version) if version else None
    page = gate.read_page(
        session,
        actor,
        dataset,
        version=chosen,
        purpose="api.rows",
        filters=parse_filters(filters or []),
        after=after,
        limit=limit,
    )
    return RowsPage(version=page.version.number, rows=page.rows, next=page.next_cursor)


@router.post(
    "/datasets/{dataset_id}/rows",
    response_model=IngestionRead,
    summary="Push a batch of rows (append, or upsert by the entry's key)",
    description="For systems that send changes as they happen. Each row is an object of "
    "field name → value. The batch is checked like an upload and, unless refused, published "
    "as the next version at once; the response is the finished ingestion.",
)
def push(session: SessionDep, actor: ActorDep, dataset_id: int, data: PushRows) -> IngestionRead:
    dataset = _dataset(session, actor, dataset_id)
    result = service.push_rows(
        session,
        actor,
        dataset,
        data.rows,
        mode=data.mode,
        snapshot=data.snapshot,
        on_invalid=data.on_invalid,
    )
    return ingestion_read(session, result.ingestion)


@router.get(
    "/identifiers/{kind}/{value}",
    response_model=list[EntityRead],
    summary="Every row about one person or company across the datasets the reader may read",
    description="Looks the identifier up in the serving index of each current version that "
    "has a field checked as this kind (one index probe per dataset, no file scan). "
    "A 15-digit citizen ID is converted; lower-case x is accepted.",
)
def find_entity(
    session: SessionDep,
    actor: ActorDep,
    kind: IdentifierKind,
    value: str,
    purpose: Annotated[str, Query(min_length=2, max_length=200)] = "api.entity",
) -> list[EntityRead]:
    checked = IDENTIFIER_CHECKS[kind](value)
    if not checked.ok:
        raise ValidationFailed(
            checked.errors[0].message,
            {"value": [checked.errors[0].message]},
            **checked.errors[0].params,
        )
    hits = gate.find_entity(session, actor, kind.value, checked.value, purpose=purpose)
    return [
        EntityRead(
            dataset_id=h.dataset.id,
            code=h.dataset.code,
            title=h.dataset.title,
            agency=h.dataset.agency.name,
            version=h.version.number,
            field=h.field,
            rows=h.rows,
        )
        for h in hits
    ]


@router.get(
    "/datasets/{dataset_id}/trace",
    response_model=TraceRead,
    summary="Where the row with this key came from: version, ingestion, file, row, person",
)
def trace(
    session: SessionDep,
    actor: ActorDep,
    dataset_id: int,
    key: Annotated[str, Query(description="the row's key value")],
    version: Annotated[int | None, Query(ge=1)] = None,
) -> TraceRead:
    dataset = _dataset(session, actor, dataset_id)
    gate.check_clear(session, actor, dataset)
    chosen = history.version_by_number(session, dataset.id, version) if version else None
    found = history.trace(session, actor, dataset, [key], version=chosen)
    return history.trace_read(found)
