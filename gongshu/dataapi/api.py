"""JSON API of shared data (数据接口): rows, count, aggregates and exports (and the CSV
bundle) of one catalog entry through the gate, the entry's data description, and tracing a
fingerprint or an uploaded file back to its export.

Thin by design: each route parses its parameters (``params``), calls one gate function
(``gongshu.gate.service``: the policy, masking, quota and audit entry are all there) and
renders. Every data route is rate-limited per API key or user (``ratelimit``); a refusal
is a 429 with ``Retry-After``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    File,
    Header,
    Path,
    Query,
    Request,
    Response,
    UploadFile,
)
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.auth.actor import Actor
from gongshu.auth.models import ApiKey
from gongshu.catalog.models import Dataset
from gongshu.dataapi import bundle, delivery, exports, params, queries, tracing
from gongshu.dataapi.ratelimit import Decision, RateLimited, RateLimiter
from gongshu.dataapi.schemas import (
    AggregateRead,
    CountRead,
    DataInfo,
    DataRowsPage,
    DatasetRef,
    FieldInfo,
    FileTraceMatch,
    FileTraceRead,
    FingerprintExport,
    FingerprintGrant,
    FingerprintRead,
)
from gongshu.errors import ValidationFailed
from gongshu.gate import filters as gate_filters
from gongshu.gate import service as gate
from gongshu.i18n import N_, current_language, translate
from gongshu.masking import Technique
from gongshu.orgs.models import Agency
from gongshu.portalstats.collector import record as record_use
from gongshu.settings import Settings
from gongshu.share.models import Grant
from gongshu.store.models import DatasetVersion
from gongshu.store.versions import current_version
from gongshu.web.deps import ActorDep, SessionDep, SettingsDep

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000
DEFAULT_GROUPS = 1000
MAX_GROUPS = 10_000
MSG_XLSX_TOO_BIG = delivery.MSG_XLSX_TOO_BIG
MSG_SHAPE_JSON = N_("_shape=ndjson 只适用于 JSON 导出")
EXAMPLE_PURPOSE = N_("数据核验")
BUNDLE_FORMAT = delivery.BUNDLE_FORMAT

FILTER_HELP = (
    "Filters are further query parameters `<field>__<op>=<value>` on fields the reader may "
    "see (datasette style; without `__<op>` the op is `eq`): eq, ne, in (comma list or JSON "
    "array), lt, le, gt, ge, range (`low,high`), prefix, contains (text fields), null, "
    "notnull. Parameters starting with `_` are reserved."
)


class DataRoute(APIRoute):
    """A route that answers a rate-limit refusal with 429 and ``Retry-After``, and tells
    every caller its limit and what is left (``X-RateLimit-*``)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except RateLimited as exc:
                body = {
                    "error": {
                        "code": exc.code,
                        "message": exc.localized(current_language.get()),
                        "errors": {},
                    }
                }
                return JSONResponse(
                    body,
                    status_code=exc.status_code,
                    headers={
                        "Retry-After": str(exc.retry_after),
                        "X-RateLimit-Limit": str(exc.limit),
                        "X-RateLimit-Remaining": "0",
                    },
                )
            decision: Decision | None = getattr(request.state, "rate_limit", None)
            if decision is not None and decision.limit:
                response.headers["X-RateLimit-Limit"] = str(decision.limit)
                response.headers["X-RateLimit-Remaining"] = str(decision.remaining)
            return response

        return route


router = APIRouter(prefix="/data", tags=["data"], route_class=DataRoute)


# --- dependencies --------------------------------------------------------------------------


_LIMITER_LOCK = threading.Lock()


def limiter_of(app: FastAPI) -> RateLimiter:
    """The application's rate limiter (one per application, so per server process)."""
    limiter: RateLimiter | None = getattr(app.state, "data_api_limiter", None)
    if limiter is None:
        # Requests run in a thread pool: the first two must not make two limiters.
        with _LIMITER_LOCK:
            limiter = getattr(app.state, "data_api_limiter", None)
            if limiter is None:
                limiter = RateLimiter()
                app.state.data_api_limiter = limiter
    return limiter


def rate_limit(
    request: Request, session: SessionDep, actor: ActorDep, settings: SettingsDep
) -> None:
    """Take one token from the caller's bucket (per API key, else per user), or 429."""
    limiter = limiter_of(request.app)
    per_minute = settings.data_api_rate_per_minute
    if actor.api_key_id is not None:
        caller = f"key:{actor.api_key_id}"

        def load(key_id: int) -> int | None:
            return session.scalar(select(ApiKey.rate_limit_per_minute).where(ApiKey.id == key_id))

        per_minute = limiter.key_limit(actor.api_key_id, load) or per_minute
    elif actor.user_id is not None:
        caller = f"user:{actor.user_id}"
    else:
        caller = f"system:{actor.name}"
    decision = limiter.take(caller, per_minute, settings.data_api_burst)
    request.state.rate_limit = decision
    if not decision.allowed:
        raise RateLimited(decision.retry_after, decision.limit)


Limited = [Depends(rate_limit)]
RefPath = Annotated[
    str,
    Path(description="the catalog entry: its id, or its resource code such as `202001/0001`"),
]
PurposeQuery = Annotated[
    str | None,
    Query(
        alias="_purpose",
        max_length=400,
        description="why the data is read (required here or in `X-Gongshu-Purpose`); recorded",
    ),
]
PurposeHeader = Annotated[
    str | None,
    Header(
        alias="X-Gongshu-Purpose",
        description="the purpose as a header (UTF-8 or percent-encoded)",
    ),
]
VersionQuery = Annotated[
    int | None,
    Query(alias="_version", ge=1, description="a past version's number (default: the live one)"),
]
FieldsQuery = Annotated[
    str | None,
    Query(alias="_fields", max_length=4000, description="fields to return, comma-separated"),
]


def _filters(request: Request) -> list[gate_filters.Filter]:
    return params.filters(request.query_params.multi_items())


def _version(session: Session, dataset: Dataset, number: int | None) -> DatasetVersion | None:
    return queries.version_by_number(session, dataset, number) if number is not None else None


def _ref(dataset: Dataset) -> dict[str, Any]:
    return {"id": dataset.id, "code": dataset.code, "title": dataset.title}


_field_infos = delivery.field_infos


def _visible_names(
    session: Session, actor: Actor, dataset: Dataset, version: DatasetVersion
) -> tuple[list[str], dict[str, Technique]]:
    """The fields the reader's widest scope shows (for pages without rows)."""
    scope = gate.check_read(session, actor, dataset).for_schema(version.schema)
    names = [n for n in version.field_names if scope.allows(n)]
    return names, dict(scope.masks)


def _json(body: Any, status_code: int = 200) -> Response:
    return Response(exports.dumps(body).encode("utf-8"), status_code, media_type="application/json")


# --- routes ---------------------------------------------------------------------------------


def _grant_read(grant: Grant | None, agency: Agency | None) -> FingerprintGrant | None:
    if grant is None:
        return None
    return FingerprintGrant(
        id=grant.id,
        kind=str(grant.kind),
        status=str(grant.status),
        agency_id=grant.agency_id,
        agency_name=agency.name if agency is not None and agency.id == grant.agency_id else "",
        purpose=grant.purpose,
        starts_at=grant.starts_at,
        expires_at=grant.expires_at,
    )


def fingerprint_read(trace: queries.FingerprintTrace) -> FingerprintRead:
    """A fingerprint's trace as the API answers it."""

    def digest_of(export_id: Any) -> AuditEntry | None:
        return trace.digests.get(str(export_id)) if export_id else None

    exports_read = []
    for e in trace.exports:
        done = digest_of(e.changes.get("export_id"))
        exports_read.append(
            FingerprintExport(
                audit_seq=e.seq,
                at=e.at,
                actor_id=e.actor_id,
                actor_name=e.actor_name,
                agency_id=e.agency_id,
                operation=str(e.changes.get("operation", "")),
                format=e.changes.get("format"),
                rows=e.changes.get("rows"),
                version=e.changes.get("version"),
                export_id=e.changes.get("export_id"),
                purpose=e.changes.get("purpose"),
                request_id=e.request_id,
                digest=done.changes.get("digest") if done is not None else None,
                bytes=done.changes.get("bytes") if done is not None else None,
            )
        )
    return FingerprintRead(
        fingerprint=trace.fingerprint,
        dataset=DatasetRef(**_ref(trace.dataset)) if trace.dataset is not None else None,
        agency_id=trace.agency.id if trace.agency is not None else None,
        agency_name=trace.agency.name if trace.agency is not None else None,
        grant=_grant_read(trace.grant, trace.agency),
        exports=exports_read,
    )


def file_trace_read(trace: tracing.FileTrace) -> FileTraceRead:
    """An uploaded file's trace as the API answers it."""
    matches = []
    for m in trace.matches:
        read = m.read.changes if m.read is not None else {}
        matches.append(
            FileTraceMatch(
                audit_seq=m.entry.seq,
                at=m.entry.at,
                member=m.member,
                format=m.entry.changes.get("format"),
                export_id=m.entry.changes.get("export_id"),
                fingerprint=m.entry.changes.get("fingerprint"),
                dataset=DatasetRef(**_ref(m.dataset)) if m.dataset is not None else None,
                agency_id=m.agency.id if m.agency is not None else None,
                agency_name=m.agency.name if m.agency is not None else None,
                grant=_grant_read(m.grant, m.agency),
                actor_id=m.entry.actor_id,
                actor_name=m.entry.actor_name,
                purpose=read.get("purpose"),
                version=m.entry.changes.get("version"),
                rows=read.get("rows"),
                request_id=m.entry.request_id,
            )
        )
    facts = trace.facts
    return FileTraceRead(
        digest=facts.sha256,
        bytes=facts.size,
        kind=facts.kind,
        recorded=trace.recorded,
        embedded_fingerprint=facts.fingerprint,
        matches=matches,
        fingerprint=fingerprint_read(trace.embedded) if trace.embedded is not None else None,
    )


@router.get(
    "/fingerprints/{fingerprint}",
    response_model=FingerprintRead,
    summary="Trace a fingerprint to its grant, body and exports",
    description=(
        "Which grant, body (agency) and exports produced a file carrying this fingerprint "
        "(from the `X-Gongshu-Fingerprint` header, the JSON `fingerprint`, the XLSX "
        "properties, the Parquet metadata or a CSV bundle's `datapackage.json`; the first 8 "
        "digits in a download's file name are enough when no other fingerprint starts so). "
        "Each export lists the SHA-256 and size of its file when it completed. Bureau admins "
        "(a district admin: its district's entries) and auditors."
    ),
)
def trace_fingerprint(session: SessionDep, actor: ActorDep, fingerprint: str) -> FingerprintRead:
    return fingerprint_read(queries.trace_fingerprint(session, actor, fingerprint))


@router.post(
    "/fingerprints/trace",
    response_model=FileTraceRead,
    summary="Trace a file to the export, grant, body and user that produced it",
    description=(
        "Upload a file (multipart field `file`): its SHA-256 is looked up among the "
        "recorded digests of completed exports (every format, and the `data.csv` inside a "
        "CSV bundle), and the fingerprint an XLSX, Parquet, JSON or bundle carries inside is "
        "traced too. Answers every export with exactly these bytes (which grant, body, user "
        "and time) — a CSV or NDJSON holds no fingerprint, so its bytes are its trace — and, "
        "for a file that was changed, the trace of its embedded fingerprint "
        "(`recorded: false`). 404 when neither leads anywhere. Bureau admins (a district "
        "admin: its district's entries) and auditors."
    ),
)
def trace_file(
    session: SessionDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File(description="the file to trace")],
) -> FileTraceRead:
    return file_trace_read(tracing.trace_file(session, actor, file.file))


@router.get(
    "/{ref:path}/rows",
    response_model=DataRowsPage,
    summary="Read a page of rows",
    description=(
        "One page of the entry's rows through the gate (grant scope, masking, audit). "
        "Sort with `_sort=a,-b`; page with the `_after` cursor of the previous page (keyset: "
        "pages never skip or repeat a row); `_limit` 1–10,000 (default 100). " + FILTER_HELP
    ),
    dependencies=Limited,
)
def read_rows(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    ref: RefPath,
    sort: Annotated[
        str | None,
        Query(alias="_sort", max_length=4000, description="sort fields, `-name` descending"),
    ] = None,
    fields: FieldsQuery = None,
    after: Annotated[
        str | None,
        Query(alias="_after", max_length=8000, description="the previous page's `next_cursor`"),
    ] = None,
    limit: Annotated[
        int, Query(alias="_limit", ge=1, le=MAX_LIMIT, description="rows per page")
    ] = DEFAULT_LIMIT,
    purpose: PurposeQuery = None,
    version: VersionQuery = None,
    purpose_header: PurposeHeader = None,
) -> Response:
    dataset = queries.find_dataset(session, actor, ref)
    columns = params.field_list(fields)
    page = gate.read_page(
        session,
        actor,
        dataset,
        version=_version(session, dataset, version),
        purpose=params.purpose(purpose, purpose_header),
        columns=columns,
        filters=_filters(request),
        order_by=params.sort_fields(sort),
        after=after or None,
        limit=limit,
    )
    record_use("api_call", dataset.id, dataset.agency_id)
    if page.rows:
        names, masks = list(page.rows[0]), dict(page.masks)
    elif columns is not None:
        names, masks = columns, dict(page.masks)
    else:
        names, masks = _visible_names(session, actor, dataset, page.version)
    next_url = None
    if page.next_cursor is not None:
        next_url = str(
            request.url.remove_query_params("_after").include_query_params(_after=page.next_cursor)
        )
    return _json(
        {
            "dataset": _ref(dataset),
            "version": page.version.number,
            "fields": _field_infos(page.version, names, masks),
            "rows": page.rows,
            "limit": limit,
            "next_cursor": page.next_cursor,
            "next_url": next_url,
        }
    )


@router.get(
    "/{ref:path}/count",
    response_model=CountRead,
    summary="Count rows",
    description="How many rows the filters keep, within the reader's scope. " + FILTER_HELP,
    dependencies=Limited,
)
def count_rows(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    ref: RefPath,
    purpose: PurposeQuery = None,
    version: VersionQuery = None,
    purpose_header: PurposeHeader = None,
) -> CountRead:
    dataset = queries.find_dataset(session, actor, ref)
    counted = gate.count(
        session,
        actor,
        dataset,
        version=_version(session, dataset, version),
        purpose=params.purpose(purpose, purpose_header),
        filters=_filters(request),
    )
    record_use("api_call", dataset.id, dataset.agency_id)
    return CountRead(
        dataset=DatasetRef(**_ref(dataset)), version=counted.version.number, count=counted.rows
    )


@router.get(
    "/{ref:path}/aggregate",
    response_model=AggregateRead,
    summary="Grouped counts, sums, averages, minima and maxima",
    description=(
        "`_group=a,b` (none: one group of all rows) and `_measure=count,sum:amount,avg:amount,"
        "min:date,max:date` (default `count`); each group is an object keyed by the group "
        "fields and the measures as written. Groups come sorted by the group fields; "
        "`_limit` caps them (default 1,000, at most 10,000). " + FILTER_HELP
    ),
    dependencies=Limited,
)
def aggregate_rows(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    ref: RefPath,
    group: Annotated[
        str | None, Query(alias="_group", max_length=4000, description="group fields")
    ] = None,
    measure: Annotated[
        str,
        Query(alias="_measure", max_length=4000, description="count, sum:f, avg:f, min:f, max:f"),
    ] = "count",
    limit: Annotated[
        int, Query(alias="_limit", ge=1, le=MAX_GROUPS, description="groups returned at most")
    ] = DEFAULT_GROUPS,
    purpose: PurposeQuery = None,
    version: VersionQuery = None,
    purpose_header: PurposeHeader = None,
) -> Response:
    dataset = queries.find_dataset(session, actor, ref)
    group_by = params.group_fields(group)
    wanted = params.measures(measure)
    result = gate.aggregate(
        session,
        actor,
        dataset,
        version=_version(session, dataset, version),
        purpose=params.purpose(purpose, purpose_header),
        group_by=group_by,
        measures=wanted,
        filters=_filters(request),
        limit=limit,
    )
    record_use("api_call", dataset.id, dataset.agency_id)
    measure_columns = result.columns[len(group_by) :]
    labels = [params.measure_label(fn, name) for fn, name in wanted]
    groups = []
    for row in result.rows:
        item = {name: row[name] for name in group_by}
        for label, column in zip(labels, measure_columns, strict=True):
            item[label] = row[column]
        groups.append(item)
    return _json(
        {
            "dataset": _ref(dataset),
            "version": result.version.number,
            "group_by": group_by,
            "measures": labels,
            "groups": groups,
            "truncated": result.truncated,
        }
    )


class ExportFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"
    PARQUET = "parquet"


class Shape(StrEnum):
    OBJECTS = "objects"
    NDJSON = "ndjson"


class ColumnTitles(StrEnum):
    NAME = "name"
    LABEL = "label"


def _start_export(
    request: Request,
    session: Session,
    actor: Actor,
    settings: Settings,
    dataset: Dataset,
    *,
    fmt: str,
    fields: str | None,
    header: ColumnTitles,
    purpose: tuple[str | None, str | None],
    version: int | None,
) -> delivery.Export:
    """The data API's parameters parsed, then the shared export start (``delivery``)."""
    export = delivery.start_export(
        session,
        actor,
        settings,
        dataset,
        fmt=fmt,
        purpose=params.purpose(*purpose),
        columns=params.field_list(fields),
        filters=_filters(request),
        header="label" if header is ColumnTitles.LABEL else "name",
        version=_version(session, dataset, version),
    )
    record_use("download", dataset.id, dataset.agency_id)
    return export


@router.get(
    "/{ref:path}/export.csv.zip",
    summary="Export rows as a CSV bundle: data.csv, datapackage.json and its seal (streamed)",
    description=(
        "A ZIP of `data.csv` (exactly what `export.csv` writes for the same parameters), "
        "`datapackage.json` (a Frictionless Data Package descriptor of `data.csv`: Table "
        "Schema, byte count and SHA-256, attribution — source agency, entry code, version, "
        "acquisition date, licence — and the export's `fingerprint` and `export_id` in its "
        "`gongshu` property) and `data.csv.sig.json` (the platform seal's detached signature "
        "of `data.csv`; check it with `gongshu seal verify data.csv` or on `/seal/verify`). "
        "Streamed. " + FILTER_HELP
    ),
    dependencies=Limited,
    response_class=StreamingResponse,
    responses={200: {"description": "the bundle", "content": {bundle.MEDIA_TYPE: {}}}},
)
def export_bundle(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
    ref: RefPath,
    fields: FieldsQuery = None,
    header: Annotated[
        ColumnTitles,
        Query(alias="_header", description="column titles: field `name` or `label`"),
    ] = ColumnTitles.NAME,
    purpose: PurposeQuery = None,
    version: VersionQuery = None,
    purpose_header: PurposeHeader = None,
) -> StreamingResponse:
    export = _start_export(
        request,
        session,
        actor,
        settings,
        queries.find_dataset(session, actor, ref),
        fmt=BUNDLE_FORMAT,
        fields=fields,
        header=header,
        purpose=(purpose, purpose_header),
        version=version,
    )
    body, file_name = delivery.bundle_body(session, actor, export, settings)
    return StreamingResponse(
        body, media_type=bundle.MEDIA_TYPE, headers=delivery.export_headers(export, file_name)
    )


@router.get(
    "/{ref:path}/export.{fmt}",
    summary="Export rows as CSV, XLSX, JSON or Parquet (streamed)",
    description=(
        "The rows the filters keep, streamed as a file. CSV is UTF-8 with a BOM, the header "
        "and the rows, nothing else; a text value starting with `=`, `+`, `-`, `@`, tab, CR "
        "or `'` gets one leading `'` (drop it when reading). XLSX writes every text as text "
        "(never a formula), splits into sheets of 1,048,575 rows and is refused above "
        "`GONGSHU_DATA_API_XLSX_MAX_ROWS`. JSON is one object whose `rows` array streams "
        "(`_shape=ndjson`: one row per line, nothing else). Parquet keeps the types. "
        "The export's fingerprint is in `X-Gongshu-Fingerprint`, its first 8 digits in the "
        "file name, and inside the file where the format has room (JSON `fingerprint`, XLSX "
        "properties, Parquet metadata); the SHA-256 of every completed file is recorded for "
        "tracing. For CSV with a description and a seal use `export.csv.zip`. " + FILTER_HELP
    ),
    dependencies=Limited,
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "the file",
            "content": {
                "text/csv": {},
                exports.MEDIA_TYPES["xlsx"]: {},
                "application/json": {},
                exports.MEDIA_TYPES["ndjson"]: {},
                exports.MEDIA_TYPES["parquet"]: {},
            },
        }
    },
)
def export_rows(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
    ref: RefPath,
    fmt: Annotated[ExportFormat, Path(description="csv, xlsx, json or parquet")],
    fields: FieldsQuery = None,
    shape: Annotated[
        Shape, Query(alias="_shape", description="JSON only: `ndjson` for one row per line")
    ] = Shape.OBJECTS,
    header: Annotated[
        ColumnTitles,
        Query(alias="_header", description="CSV/XLSX column titles: field `name` or `label`"),
    ] = ColumnTitles.NAME,
    purpose: PurposeQuery = None,
    version: VersionQuery = None,
    purpose_header: PurposeHeader = None,
) -> StreamingResponse:
    dataset = queries.find_dataset(session, actor, ref)
    if shape is Shape.NDJSON and fmt is not ExportFormat.JSON:
        raise ValidationFailed.single("_shape", MSG_SHAPE_JSON)
    name = "ndjson" if shape is Shape.NDJSON else fmt.value
    export = _start_export(
        request,
        session,
        actor,
        settings,
        dataset,
        fmt=name,
        fields=fields,
        header=header,
        purpose=(purpose, purpose_header),
        version=version,
    )
    body, file_name = delivery.file_body(
        session, actor, export, fmt.value, ndjson=shape is Shape.NDJSON
    )
    return StreamingResponse(
        body,
        media_type=exports.MEDIA_TYPES[name],
        headers=delivery.export_headers(export, file_name),
    )


@router.get(
    "/{ref:path}",
    response_model=DataInfo,
    summary="Describe what the reader may read of an entry",
    description=(
        "The fields the reader sees (and which of them masked), the live version, the filter "
        "operators, measures and export formats, and example URLs. Reads no rows."
    ),
    dependencies=Limited,
)
def describe(request: Request, session: SessionDep, actor: ActorDep, ref: RefPath) -> DataInfo:
    dataset = queries.find_dataset(session, actor, ref)
    scope = gate.check_read(session, actor, dataset)
    live = current_version(session, dataset.id)
    fields: list[dict[str, Any]] = []
    if live is not None:
        scope = scope.for_schema(live.schema)
        names = [n for n in live.field_names if scope.allows(n)]
        fields = _field_infos(live, names, scope.masks)
    base = str(request.base_url).rstrip("/") + f"/api/v1/data/{dataset.code}"
    return DataInfo(
        dataset=DatasetRef(**_ref(dataset)),
        version=live.number if live is not None else None,
        rows=live.row_count if live is not None else None,
        basis=scope.basis,
        fields=[FieldInfo(**f) for f in fields],
        filter_ops=list(gate_filters.OPS),
        measures=list(params.MEASURES),
        export_formats=[f.value for f in ExportFormat],
        links=example_links(base, fields),
    )


def example_links(base: str, fields: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Example URLs for an entry's data (used by the API description and the help page)."""
    purpose = "_purpose=" + quote(translate(EXAMPLE_PURPOSE))
    first = next((f["name"] for f in fields if not f.get("masked")), None)
    links = {
        "rows": f"{base}/rows?_limit=10&{purpose}",
        "count": f"{base}/count?{purpose}",
        "aggregate": f"{base}/aggregate?_measure=count&{purpose}",
        "csv": f"{base}/export.csv?{purpose}",
        "csv_zip": f"{base}/export.csv.zip?{purpose}",
        "xlsx": f"{base}/export.xlsx?{purpose}",
        "json": f"{base}/export.json?{purpose}",
        "ndjson": f"{base}/export.json?_shape=ndjson&{purpose}",
        "parquet": f"{base}/export.parquet?{purpose}",
    }
    if first is not None:
        links["sorted"] = f"{base}/rows?_sort=-{quote(first)}&_limit=10&{purpose}"
        links["grouped"] = f"{base}/aggregate?_group={quote(first)}&_measure=count&{purpose}"
    return links
