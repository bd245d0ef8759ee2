"""The catalog's JSON API: entries, their history, exports and the vocabularies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import Response

from gongshu.audit import service as audit
from gongshu.catalog import grading, queries, service
from gongshu.catalog.classification import CLASS_DIGITS, CODE_PATTERN, get_taxonomy
from gongshu.catalog.queries import MEDIA_TYPES, ExportFormat
from gongshu.catalog.schemas import (
    Classification,
    ClassificationClass,
    ClassificationItem,
    DatasetCreate,
    DatasetFilter,
    DatasetRead,
    DatasetUpdate,
    GradingRow,
    HistoryEntry,
)
from gongshu.i18n import translate
from gongshu.labels import label
from gongshu.search import SearchQuery, SortKey, search_datasets
from gongshu.search.schemas import MAX_WINDOW, DatasetSearchPage, FacetCountRead, SearchFilter
from gongshu.settings import get_settings
from gongshu.web.deps import ActorDep, SessionDep

router = APIRouter(tags=["catalog"])


@router.get("/datasets", response_model=DatasetSearchPage, summary="Search catalog entries")
def list_datasets(
    session: SessionDep,
    actor: ActorDep,
    filters: Annotated[SearchFilter, Query()],
    sort: Annotated[
        SortKey | None, Query(description="default: relevance with q, else code")
    ] = None,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=queries.MAX_PER_PAGE)] = queries.DEFAULT_PER_PAGE,
    facets: Annotated[bool, Query(description="count facet values of the matches")] = True,
) -> DatasetSearchPage:
    """Entries visible to the caller that match ``q`` (Chinese, pinyin or initials) and the
    filters, with facet counts over the same visible matches. Pages stop 10,000 results deep."""
    query = SearchQuery(
        **filters.model_dump(),
        sort=sort,
        page=min(page, MAX_WINDOW),
        per_page=per_page,
        with_facets=facets,
    )
    result = search_datasets(session, actor, query)
    return DatasetSearchPage(
        items=[DatasetRead.model_validate(d) for d in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        sort=result.sort,
        pages=result.pages,
        facets={
            name: [FacetCountRead(value=f.value, label=f.label, count=f.count) for f in values]
            for name, values in result.facets.items()
        },
    )


@router.post(
    "/datasets",
    response_model=DatasetRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a draft catalog entry",
)
def create_dataset(session: SessionDep, actor: ActorDep, data: DatasetCreate) -> DatasetRead:
    """Agency officers create entries for their own agency; the code is assigned here."""
    return DatasetRead.model_validate(service.create_dataset(session, actor, data))


@router.get("/datasets/{dataset_id}", response_model=DatasetRead, summary="Read a catalog entry")
def get_dataset(session: SessionDep, actor: ActorDep, dataset_id: int) -> DatasetRead:
    return DatasetRead.model_validate(service.get_dataset(session, actor, dataset_id))


@router.patch("/datasets/{dataset_id}", response_model=DatasetRead, summary="Edit a catalog entry")
def update_dataset(
    session: SessionDep, actor: ActorDep, dataset_id: int, data: DatasetUpdate
) -> DatasetRead:
    """Send ``lock_version`` from your last read: a stale one gets 409."""
    return DatasetRead.model_validate(service.update_dataset(session, actor, dataset_id, data))


@router.get(
    "/datasets/{dataset_id}/history",
    response_model=list[HistoryEntry],
    summary="History of a catalog entry (from the audit chain)",
)
def dataset_history(session: SessionDep, actor: ActorDep, dataset_id: int) -> list[HistoryEntry]:
    dataset = service.get_dataset(session, actor, dataset_id)
    # The gate's entries (data.read, data.denied …) are other bodies' traffic: they belong
    # to the audit search, where each body sees its own only.
    return [
        HistoryEntry.model_validate(e)
        for e in audit.history(session, "dataset", dataset.id)
        if not e.action.startswith("data.")
    ]


@router.get(
    "/catalog/export",
    summary="Export the visible catalog as CSV or XLSX",
    response_class=Response,
    responses={
        200: {
            "content": {MEDIA_TYPES["csv"]: {}, MEDIA_TYPES["xlsx"]: {}},
            "description": "The catalog file",
        }
    },
)
def export_catalog(
    session: SessionDep,
    actor: ActorDep,
    filters: Annotated[DatasetFilter, Query()],
    fmt: Annotated[ExportFormat, Query(alias="format")] = "csv",
) -> Response:
    data = queries.export_catalog(session, actor, fmt, filters)
    return Response(
        data,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{queries.export_filename(fmt)}"'},
    )


@router.get("/catalog/classification", response_model=Classification, summary="The taxonomy")
def classification() -> Classification:
    """Classes, their items and the shape of resource codes (names in the request language)."""
    taxonomy = get_taxonomy()
    return Classification(
        code_pattern=CODE_PATTERN.pattern,
        sequence_width=get_settings().catalog_sequence_width,
        classes=[
            ClassificationClass(
                category_class=cls,
                digit=digit,
                name=label(cls),
                items=[
                    ClassificationItem(code=code, name=translate(name))
                    for code, name in taxonomy.items.get(cls, ())
                ],
            )
            for cls, digit in CLASS_DIGITS.items()
        ],
    )


@router.get("/catalog/grading", response_model=list[GradingRow], summary="The grading table")
def grading_table() -> list[GradingRow]:
    """Which share and open types each level allows, strictest level first."""
    return [
        GradingRow.model_validate({"level": level, "name": label(level), **row})
        for level, row in grading.as_json().items()
    ]
