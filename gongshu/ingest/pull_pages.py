"""Pages of scheduled pulls under ``/catalog/{id}/pull``: the entry's pull sources, the form
to add or change one, and one source with its next runs, test results and run history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from gongshu.catalog import service as catalog
from gongshu.catalog.models import Dataset
from gongshu.db import utcnow
from gongshu.errors import Conflict, PermissionDenied, ValidationFailed
from gongshu.i18n import N_
from gongshu.ingest import pull
from gongshu.ingest.models import IngestMode, InvalidPolicy
from gongshu.ingest.pull_models import PullSource
from gongshu.web.deps import ActorDep, CsrfDep, SessionDep
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)

MSG_BAD_MAPPING_LINE = N_("列映射每行写作 信息项名称=列名")


def _mapping_text(mapping: dict[str, Any]) -> str:
    return "\n".join(f"{k}={v}" for k, v in mapping.items())


def _parse_mapping(value: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in value.splitlines():
        if not line.strip():
            continue
        name, sep, column = line.partition("=")
        if not sep or not name.strip():
            raise ValidationFailed(MSG_BAD_MAPPING_LINE, {"mapping": [MSG_BAD_MAPPING_LINE]})
        out[name.strip()] = column.strip()
    return out


def _form_context(dataset: Dataset, source: PullSource | None) -> dict[str, Any]:
    return {
        "dataset": dataset,
        "source": source,
        "modes": list(IngestMode),
        "policies": list(InvalidPolicy),
        "has_key": any(f.is_key for f in dataset.fields),
        "fields": dataset.fields,
    }


def _values_of(source: PullSource) -> dict[str, Any]:
    return {
        "name": source.name,
        "url": source.url,
        "query": source.query,
        "schedule": source.schedule,
        "mode": source.mode.value,
        "snapshot": "on" if source.snapshot else "",
        "on_invalid": source.on_invalid.value if source.on_invalid else "",
        "mapping": _mapping_text(source.mapping),
        "enabled": "on" if source.enabled else "",
    }


def _source_page(
    request: Request,
    session: Session,
    actor: Any,
    dataset: Dataset,
    source: PullSource,
    *,
    preview: pull.PullPreview | None = None,
    error: str = "",
    status_code: int = 200,
) -> Response:
    runs = pull.runs_of(session, source.id)
    labels = {f.name: f.label for f in dataset.fields}
    return render(
        request,
        "pull/source.html",
        {
            "dataset": dataset,
            "source": source,
            "may_manage": pull.may_manage(actor, dataset),
            "busy": pull.is_busy(session, source),
            "schedule_text": pull.describe_schedule(source.schedule),
            "upcoming": _upcoming(source),
            "password_env": pull.password_env(source.name),
            "runs": runs,
            "errors": {r.id: pull.error_text(r.error, r.error_params) for r in runs},
            "triggers": pull.TRIGGERS,
            "preview": preview,
            "labels": labels,
            "error": error,
        },
        status_code=status_code,
    )


def _upcoming(source: PullSource) -> list[Any]:
    if not source.enabled or source.next_run_at is None:
        return []
    try:
        schedule = pull.Schedule.parse(source.schedule)
    except ValidationFailed:
        return [source.next_run_at]
    return [source.next_run_at, *schedule.upcoming(source.next_run_at, 2)]


@router.get("/catalog/{dataset_id}/pull", response_class=HTMLResponse)
def sources_page(
    request: Request, session: SessionDep, actor: ActorDep, dataset_id: int
) -> Response:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    sources = pull.sources_of(session, actor, dataset)
    return render(
        request,
        "pull/list.html",
        {
            "dataset": dataset,
            "sources": sources,
            "may_manage": pull.may_manage(actor, dataset),
            "schedules": {s.id: pull.describe_schedule(s.schedule) for s in sources},
            "now": utcnow(),
        },
    )


@router.get("/catalog/{dataset_id}/pull/new", response_class=HTMLResponse)
def new_form(request: Request, session: SessionDep, actor: ActorDep, dataset_id: int) -> Response:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    if not pull.may_manage(actor, dataset):
        raise PermissionDenied(pull.MSG_ONLY_OFFICERS)
    values = {"schedule": "daily 02:00", "mode": "replace", "enabled": "on"}
    return render(
        request,
        "pull/form.html",
        {**_form_context(dataset, None), "values": values, "errors": {}},
    )


def _form_values(
    name: str,
    url: str,
    query: str,
    schedule: str,
    mode: str,
    snapshot: str,
    on_invalid: str,
    mapping: str,
    enabled: str,
) -> dict[str, Any]:
    return {
        "name": name,
        "url": url,
        "query": query,
        "schedule": schedule,
        "mode": mode,
        "snapshot": snapshot,
        "on_invalid": on_invalid,
        "mapping": mapping,
        "enabled": enabled,
    }


def _mode(value: str) -> IngestMode:
    return IngestMode(value) if value in {m.value for m in IngestMode} else IngestMode.REPLACE


def _policy(value: str) -> InvalidPolicy | None:
    return InvalidPolicy(value) if value in {p.value for p in InvalidPolicy} else None


@router.post("/catalog/{dataset_id}/pull/new", response_class=HTMLResponse, dependencies=[CsrfDep])
def create(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    dataset_id: int,
    name: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    query: Annotated[str, Form()] = "",
    schedule: Annotated[str, Form()] = "",
    mode: Annotated[str, Form()] = "replace",
    snapshot: Annotated[str, Form()] = "",
    on_invalid: Annotated[str, Form()] = "",
    mapping: Annotated[str, Form()] = "",
    enabled: Annotated[str, Form()] = "",
) -> Response:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    values = _form_values(name, url, query, schedule, mode, snapshot, on_invalid, mapping, enabled)
    try:
        source = pull.create_source(
            session,
            actor,
            dataset,
            name=name,
            url=url,
            query=query,
            schedule=schedule,
            mode=_mode(mode),
            snapshot=snapshot == "on",
            on_invalid=_policy(on_invalid),
            mapping=_parse_mapping(mapping),
            enabled=enabled == "on",
        )
    except ValidationFailed as exc:
        errors = exc.localized_errors() or {"__all__": [exc.localized()]}
        return render(
            request,
            "pull/form.html",
            {**_form_context(dataset, None), "values": values, "errors": errors},
            status_code=422,
        )
    return RedirectResponse(f"/catalog/{dataset.id}/pull/{source.id}", status_code=303)


@router.get("/catalog/{dataset_id}/pull/{source_id}", response_class=HTMLResponse)
def source_page(
    request: Request, session: SessionDep, actor: ActorDep, dataset_id: int, source_id: int
) -> Response:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    source = pull.get_source(session, actor, dataset, source_id)
    return _source_page(request, session, actor, dataset, source)


@router.get("/catalog/{dataset_id}/pull/{source_id}/edit", response_class=HTMLResponse)
def edit_form(
    request: Request, session: SessionDep, actor: ActorDep, dataset_id: int, source_id: int
) -> Response:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    source = pull.get_source(session, actor, dataset, source_id)
    if not pull.may_manage(actor, dataset):
        raise PermissionDenied(pull.MSG_ONLY_OFFICERS)
    return render(
        request,
        "pull/form.html",
        {**_form_context(dataset, source), "values": _values_of(source), "errors": {}},
    )


@router.post(
    "/catalog/{dataset_id}/pull/{source_id}/edit",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def edit(
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    dataset_id: int,
    source_id: int,
    url: Annotated[str, Form()] = "",
    query: Annotated[str, Form()] = "",
    schedule: Annotated[str, Form()] = "",
    mode: Annotated[str, Form()] = "replace",
    snapshot: Annotated[str, Form()] = "",
    on_invalid: Annotated[str, Form()] = "",
    mapping: Annotated[str, Form()] = "",
    enabled: Annotated[str, Form()] = "",
) -> Response:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    source = pull.get_source(session, actor, dataset, source_id)
    values = _form_values(
        source.name, url, query, schedule, mode, snapshot, on_invalid, mapping, enabled
    )
    try:
        pull.update_source(
            session,
            actor,
            source,
            url=url,
            query=query,
            schedule=schedule,
            mode=_mode(mode),
            snapshot=snapshot == "on",
            on_invalid=_policy(on_invalid),
            mapping=_parse_mapping(mapping),
            enabled=enabled == "on",
        )
    except ValidationFailed as exc:
        session.rollback()
        errors = exc.localized_errors() or {"__all__": [exc.localized()]}
        return render(
            request,
            "pull/form.html",
            {**_form_context(dataset, source), "values": values, "errors": errors},
            status_code=422,
        )
    return RedirectResponse(f"/catalog/{dataset.id}/pull/{source.id}", status_code=303)


@router.post(
    "/catalog/{dataset_id}/pull/{source_id}/test",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def test(
    request: Request, session: SessionDep, actor: ActorDep, dataset_id: int, source_id: int
) -> Response:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    source = pull.get_source(session, actor, dataset, source_id)
    try:
        preview = pull.test_connection(session, actor, source)
    except ValidationFailed as exc:
        return _source_page(
            request, session, actor, dataset, source, error=exc.localized(), status_code=422
        )
    return _source_page(request, session, actor, dataset, source, preview=preview)


@router.post(
    "/catalog/{dataset_id}/pull/{source_id}/run",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def run_now(
    request: Request, session: SessionDep, actor: ActorDep, dataset_id: int, source_id: int
) -> Response:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    source = pull.get_source(session, actor, dataset, source_id)
    try:
        pull.request_run(session, actor, source)
    except Conflict as exc:
        return _source_page(
            request, session, actor, dataset, source, error=exc.localized(), status_code=409
        )
    return RedirectResponse(f"/catalog/{dataset.id}/pull/{source.id}", status_code=303)


@router.post(
    "/catalog/{dataset_id}/pull/{source_id}/delete",
    response_class=HTMLResponse,
    dependencies=[CsrfDep],
)
def delete(session: SessionDep, actor: ActorDep, dataset_id: int, source_id: int) -> Response:
    dataset = catalog.get_dataset(session, actor, dataset_id)
    source = pull.get_source(session, actor, dataset, source_id)
    pull.delete_source(session, actor, source)
    return RedirectResponse(f"/catalog/{dataset.id}/pull", status_code=303)
