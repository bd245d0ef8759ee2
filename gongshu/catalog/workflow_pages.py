"""Pages of the review workflow: the buttons' posts, the return form, the review queue,
and change requests (propose, list, read, review). Every rule lives in
``gongshu.catalog.workflow`` and ``gongshu.catalog.changes``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from gongshu.auth.actor import Actor
from gongshu.catalog import changes, pages, service, workflow
from gongshu.catalog.models import ChangeKind, Dataset
from gongshu.catalog.workflow_schemas import ChangeRequestCreate, ChangeReview
from gongshu.errors import Conflict, PermissionDenied, ValidationFailed
from gongshu.settings import get_settings
from gongshu.validation import parse
from gongshu.web.deps import ActorDep, CsrfDep, SessionDep
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)


def _lock(form: FormData) -> int | None:
    value = str(form.get("lock_version", "") or "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def _back(dataset_id: int) -> Response:
    return RedirectResponse(f"/catalog/{dataset_id}", status_code=303)


# ---------------------------------------------------------------------------------------
# The review queue (before /catalog/{id}, which it would otherwise match)


@router.get("/catalog/review", response_class=HTMLResponse)
def review_queue(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    items = workflow.review_queue(session, actor)
    return render(request, "catalog/workflow/queue.html", {"items": items})


@router.get("/catalog/changes", response_class=HTMLResponse)
def change_list(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    raw = request.query_params.get("page", "")
    page = int(raw) if raw.isdigit() and len(raw) < 7 else 1
    open_only = request.query_params.get("open") == "1"
    result = changes.list_changes(session, actor, open_only=open_only, page=page)
    return render(
        request,
        "catalog/workflow/changes.html",
        {
            "result": result,
            "open_only": open_only,
            "page_base": "/catalog/changes?open=1&" if open_only else "/catalog/changes?",
        },
    )


# ---------------------------------------------------------------------------------------
# Buttons on an entry's page


def _simple(
    action: Callable[[Session, Actor, int, int | None], Dataset],
) -> Callable[..., Any]:
    async def post(
        request: Request, session: SessionDep, actor: ActorDep, dataset_id: int
    ) -> Response:
        form = await request.form()
        action(session, actor, dataset_id, _lock(form))
        return _back(dataset_id)

    return post


for _name, _fn in (
    ("submit", workflow.submit),
    ("recall", workflow.recall),
    ("publish", workflow.publish),
):
    router.add_api_route(
        f"/catalog/{{dataset_id}}/{_name}",
        _simple(_fn),
        methods=["POST"],
        response_class=HTMLResponse,
        dependencies=[CsrfDep],
    )


@router.post("/catalog/{dataset_id}/approve", response_class=HTMLResponse, dependencies=[CsrfDep])
async def approve(
    request: Request, session: SessionDep, actor: ActorDep, dataset_id: int
) -> Response:
    form = await request.form()
    comment = str(form.get("comment", "") or "")
    workflow.approve(session, actor, dataset_id, _lock(form), comment)
    return _back(dataset_id)


def _return_form(
    request: Request,
    dataset: Dataset,
    reason: str = "",
    errors: dict[str, list[str]] | None = None,
    form_error: str = "",
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "catalog/workflow/return.html",
        {
            "dataset": dataset,
            "reason": reason,
            "errors": errors or {},
            "form_error": form_error,
        },
        status_code=status_code,
    )


@router.get("/catalog/{dataset_id}/return", response_class=HTMLResponse)
def return_form(
    request: Request, session: SessionDep, actor: ActorDep, dataset_id: int
) -> Response:
    dataset = service.get_dataset(session, actor, dataset_id)
    if not workflow.reviews(actor, dataset):
        raise PermissionDenied(workflow.NOT_REVIEWER)
    return _return_form(request, dataset)


@router.post("/catalog/{dataset_id}/return", response_class=HTMLResponse, dependencies=[CsrfDep])
async def return_entry(
    request: Request, session: SessionDep, actor: ActorDep, dataset_id: int
) -> Response:
    form = await request.form()
    reason = str(form.get("reason", "") or "")
    try:
        workflow.return_(session, actor, dataset_id, reason, _lock(form))
    except ValidationFailed as exc:
        dataset = service.get_dataset(session, actor, dataset_id)
        return _return_form(
            request,
            dataset,
            reason,
            exc.localized_errors(),
            exc.localized(),
            status_code=422,
        )
    return _back(dataset_id)


# ---------------------------------------------------------------------------------------
# Change requests


def _proposal_days() -> int:
    return get_settings().catalog_change_proposal_days


def _delete_form(
    request: Request,
    dataset: Dataset,
    values: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
    form_error: str = "",
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "catalog/workflow/change_delete.html",
        {
            "dataset": dataset,
            "values": values,
            "errors": errors or {},
            "form_error": form_error,
            "proposal_days": _proposal_days(),
        },
        status_code=status_code,
    )


def _modify_form(
    request: Request,
    dataset: Dataset,
    values: dict[str, Any],
    rows: list[dict[str, Any]],
    errors: dict[str, list[str]] | None = None,
    form_error: str = "",
    status_code: int = 200,
) -> Response:
    return pages._render_form(
        request,
        dataset=dataset,
        values=values,
        rows=rows,
        errors=errors,
        form_error=form_error,
        status_code=status_code,
        extra={"change_mode": True, "proposal_days": _proposal_days()},
    )


def _require_proposer(actor: Actor, dataset: Dataset) -> None:
    if not workflow.owns(actor, dataset):
        raise PermissionDenied(changes.NOT_OWN)


@router.get("/catalog/{dataset_id}/change-request", response_class=HTMLResponse)
def change_form(
    request: Request, session: SessionDep, actor: ActorDep, dataset_id: int
) -> Response:
    dataset = service.get_dataset(session, actor, dataset_id)
    _require_proposer(actor, dataset)
    if request.query_params.get("kind") == ChangeKind.DELETE.value:
        return _delete_form(request, dataset, {"reason": "", "basis_changed_on": ""})
    values = {**pages._values_of(dataset), "reason": "", "basis_changed_on": ""}
    return _modify_form(request, dataset, values, pages._rows_of(dataset))


@router.post(
    "/catalog/{dataset_id}/change-request", response_class=HTMLResponse, dependencies=[CsrfDep]
)
async def propose(
    request: Request, session: SessionDep, actor: ActorDep, dataset_id: int
) -> Response:
    dataset = service.get_dataset(session, actor, dataset_id)
    form = await request.form()
    values: dict[str, Any] = pages._form_values(form)
    delete = values.get("kind") == ChangeKind.DELETE.value
    rows = [] if delete else pages._rows_from_form(form)
    payload: dict[str, Any] = {
        "kind": ChangeKind.DELETE.value if delete else ChangeKind.MODIFY.value,
        "reason": values.get("reason", ""),
        "basis_changed_on": values.get("basis_changed_on") or None,
    }
    if not delete:
        payload["changes"] = pages._payload(values, rows)
    try:
        change = changes.propose_change(
            session, actor, dataset.id, parse(ChangeRequestCreate, payload)
        )
    except (ValidationFailed, Conflict) as exc:
        errors = exc.localized_errors() if isinstance(exc, ValidationFailed) else {}
        errors = {k.removeprefix("changes."): v for k, v in errors.items()}
        status_code = 422 if isinstance(exc, ValidationFailed) else 409
        if delete:
            return _delete_form(request, dataset, values, errors, exc.localized(), status_code)
        return _modify_form(request, dataset, values, rows, errors, exc.localized(), status_code)
    return RedirectResponse(f"/catalog/changes/{change.id}", status_code=303)


@router.get("/catalog/changes/{change_id}", response_class=HTMLResponse)
def change_detail(
    request: Request, session: SessionDep, actor: ActorDep, change_id: int
) -> Response:
    change = changes.get_change(session, actor, change_id)
    return _render_change(request, session, actor, change)


def _render_change(
    request: Request,
    session: Session,
    actor: Actor,
    change: Any,
    errors: dict[str, list[str]] | None = None,
    form_error: str = "",
    comment: str = "",
    status_code: int = 200,
) -> Response:
    dataset = change.dataset
    names = {"agency_id": {dataset.agency_id: dataset.agency.name}}
    diff = changes.preview(session, actor, change) if change.is_open else {}
    return render(
        request,
        "catalog/workflow/change_detail.html",
        {
            "change": change,
            "dataset": dataset,
            "step": changes.step_of(change) if change.is_open else "",
            "deadline": workflow.deadline_view(session, changes.open_deadline_of(session, change)),
            "diff_rows": pages._change_rows(diff, names),
            "may_decide": changes.may_decide(session, actor, change),
            "errors": errors or {},
            "form_error": form_error,
            "comment": comment,
        },
        status_code=status_code,
    )


@router.post(
    "/catalog/changes/{change_id}/review", response_class=HTMLResponse, dependencies=[CsrfDep]
)
async def review_change(
    request: Request, session: SessionDep, actor: ActorDep, change_id: int
) -> Response:
    form = await request.form()
    comment = str(form.get("comment", "") or "")
    data = ChangeReview(
        approve=form.get("decision") == "approve",
        comment=comment,
        lock_version=_lock(form),
    )
    try:
        changes.review_change(session, actor, change_id, data)
    except ValidationFailed as exc:
        change = changes.get_change(session, actor, change_id)
        return _render_change(
            request,
            session,
            actor,
            change,
            exc.localized_errors(),
            exc.localized(),
            comment,
            status_code=422,
        )
    return RedirectResponse(f"/catalog/changes/{change_id}", status_code=303)
