"""Pages of public feedback: on an entry (``/dataset/{slug}/feedback…``), data demands
(``/demands…``), reuses (``/reuses…``), rights appeals (``/appeals…``), and the bureau's
and agencies' work (``/moderation…``). Anonymous visitors read; signed-in users file; every
form posts with the session's CSRF token and works without JavaScript."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.catalog.models import Dataset
from gongshu.catalog.queries import agency_choices
from gongshu.errors import NotFound, ValidationFailed
from gongshu.feedback import common, demands, queries, reminders, tickets
from gongshu.feedback.models import (
    AppealStatus,
    DemandStatus,
    ModerationStatus,
    Reuse,
    ReuseKind,
)
from gongshu.feedback.schemas import (
    AppealDecisionIn,
    AppealIn,
    AppealStatementIn,
    CommentIn,
    DemandIn,
    DemandReplyIn,
    FeedbackCorrectedIn,
    FeedbackIn,
    FeedbackReplyIn,
    ReasonIn,
    ReuseIn,
    RouteIn,
)
from gongshu.i18n import N_, translate
from gongshu.portal.naming import dataset_slug, find_public
from gongshu.portal.openness import is_anonymous
from gongshu.validation import parse
from gongshu.web.deps import CsrfDep, OptionalActorDep, SessionDep
from gongshu.web.templating import env, render

router = APIRouter(include_in_schema=False)


REUSE_KIND_LABELS = {
    ReuseKind.APP: N_("应用"),
    ReuseKind.REPORT: N_("报告"),
    ReuseKind.SERVICE: N_("服务"),
    ReuseKind.RESEARCH: N_("研究"),
}
M_FILED = N_("已提交，我们会尽快处理")
M_COMMENT_HELD = N_("留言已提交，经审核后公开显示")
M_DONE = N_("已处理")


def _t(labels: dict[Any, str], value: Any) -> str:
    return translate(labels.get(value, str(value)))


env.globals["fb_status_label"] = tickets.public_status_label
env.globals["fb_kind_label"] = tickets.kind_label
env.globals["demand_status_label"] = demands.demand_status_label
env.globals["reuse_kind_label"] = lambda k: _t(REUSE_KIND_LABELS, ReuseKind(k))
env.globals["appeal_status_label"] = lambda s: _t(tickets.APPEAL_STATUS_LABELS, AppealStatus(s))
env.globals["moderation_label"] = lambda s: _t(tickets.MODERATION_LABELS, ModerationStatus(s))
env.globals["dataset_slug"] = dataset_slug
REPLY_KIND_LABELS = {
    tickets.FEEDBACK_DEADLINE: reminders.STEP_OBJECTION,
    demands.DEMAND_DEADLINE: reminders.STEP_DEMAND,
    tickets.APPEAL_DEADLINE: reminders.STEP_APPEAL,
}
REPLY_LINKS = {
    tickets.FEEDBACK_DEADLINE: "/moderation/replies",
    demands.DEMAND_DEADLINE: "/demands/{id}",
    tickets.APPEAL_DEADLINE: "/appeals/{id}",
}
env.globals["reply_kind_label"] = lambda kind: _t(REPLY_KIND_LABELS, kind)
env.globals["reply_link"] = lambda kind, oid: REPLY_LINKS.get(kind, "").format(id=oid)


@dataclass(frozen=True)
class Panel:
    """What an entry's page shows of its feedback."""

    slug: str
    reuses: list[Reuse]
    tickets: list[queries.Ticket]


def feedback_panel(request: Request, dataset: Dataset) -> Panel:
    """For ``feedback/_dataset_panel.html``, included by the portal's entry page: the
    request's own session (``request.state.db``) reads the entry's reuses and tickets."""
    actor: Actor | None = getattr(request.state, "actor", None)
    session: Session | None = getattr(request.state, "db", None)
    if session is None:  # a page that never asked who the reader is
        with request.app.state.session_factory() as own:
            return _panel(own, actor, dataset)
    return _panel(session, actor, dataset)


def _panel(session: Session, actor: Actor | None, dataset: Dataset) -> Panel:
    return Panel(
        slug=dataset_slug(dataset.code),
        reuses=queries.reuses_for_dataset(session, dataset.id),
        tickets=queries.public_feedback_for_dataset(session, dataset.id, actor, limit=10),
    )


env.globals["feedback_panel"] = feedback_panel


def _signed_in(actor: Actor | None) -> bool:
    return actor is not None and not is_anonymous(actor)


def _entry(session: Session, slug: str) -> Dataset:
    """The public entry a slug (or an id, or a resource code) names, else 404."""
    dataset = find_public(session, slug)
    if dataset is None:
        raise NotFound(common.M_NO_ENTRY)
    return dataset


def _form(raw: Any, names: tuple[str, ...]) -> dict[str, str]:
    return {n: str(raw.get(n, "")).strip() for n in names}


def _back(url: str, message: str = "") -> RedirectResponse:
    sep = "&" if "?" in url else "?"
    return RedirectResponse(f"{url}{sep}done=1" if message else url, status_code=303)


def _page(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return min(int(raw), 10_000) if raw.isdigit() and int(raw) > 0 else 1


def _flash(request: Request, text: str) -> list[dict[str, str]]:
    return [{"kind": "ok", "text": translate(text)}] if request.query_params.get("done") else []


# --- on an entry -------------------------------------------------------------------------------


def _entry_page(
    request: Request,
    session: Session,
    actor: Actor | None,
    dataset: Dataset,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    comment_form: dict[str, str] | None = None,
    comment_errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "feedback/entry.html",
        {
            "dataset": dataset,
            "slug": dataset_slug(dataset.code),
            "tickets": queries.public_feedback_for_dataset(session, dataset.id, actor),
            "comments": queries.approved_comments(session, dataset.id),
            "signed_in": _signed_in(actor),
            "form": form or {"kind": "error"},
            "errors": errors or {},
            "comment_form": comment_form or {},
            "comment_errors": comment_errors or {},
            "kinds": [
                ("error", tickets.kind_label("error")),
                ("objection", tickets.kind_label("objection")),
            ],
            "field_options": [("", translate(N_("（不指定）")))]
            + [(f.name, f"{f.label} ({f.name})") for f in dataset.fields],
            "messages": (
                [{"kind": "ok", "text": translate(M_COMMENT_HELD)}]
                if request.query_params.get("held")
                else []
            ),
        },
        status_code=status_code,
    )


@router.get("/dataset/{slug}/feedback", response_class=HTMLResponse)
def entry_feedback(
    request: Request, session: SessionDep, actor: OptionalActorDep, slug: str
) -> Response:
    return _entry_page(request, session, actor, _entry(session, slug))


@router.post("/dataset/{slug}/feedback", dependencies=[CsrfDep])
async def file_feedback(
    request: Request, session: SessionDep, actor: OptionalActorDep, slug: str
) -> Response:
    dataset = _entry(session, slug)
    form = _form(await request.form(), ("kind", "text", "field_name"))
    try:
        objection = tickets.file_feedback(session, actor, dataset.id, parse(FeedbackIn, form))
    except ValidationFailed as exc:
        session.rollback()
        return _entry_page(
            request,
            session,
            actor,
            dataset,
            form=form,
            errors=exc.localized_errors(),
            status_code=422,
        )
    return _back(f"/dataset/{slug}/feedback/{objection.id}", M_FILED)


@router.post("/dataset/{slug}/feedback/comments", dependencies=[CsrfDep])
async def post_comment(
    request: Request, session: SessionDep, actor: OptionalActorDep, slug: str
) -> Response:
    dataset = _entry(session, slug)
    form = _form(await request.form(), ("text",))
    try:
        tickets.post_comment(session, actor, dataset.id, parse(CommentIn, form))
    except ValidationFailed as exc:
        session.rollback()
        return _entry_page(
            request,
            session,
            actor,
            dataset,
            comment_form=form,
            comment_errors=exc.localized_errors(),
            status_code=422,
        )
    return RedirectResponse(f"/dataset/{slug}/feedback?held=1#comments", status_code=303)


def _appeal_form(
    request: Request,
    dataset: Dataset,
    form: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "feedback/appeal_new.html",
        {
            "dataset": dataset,
            "slug": dataset_slug(dataset.code),
            "form": form or {},
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/dataset/{slug}/feedback/appeal", response_class=HTMLResponse)
def appeal_form(
    request: Request, session: SessionDep, actor: OptionalActorDep, slug: str
) -> Response:
    dataset = _entry(session, slug)
    common.filer(actor)
    return _appeal_form(request, dataset)


@router.post("/dataset/{slug}/feedback/appeal", dependencies=[CsrfDep])
async def file_appeal(
    request: Request, session: SessionDep, actor: OptionalActorDep, slug: str
) -> Response:
    dataset = _entry(session, slug)
    form = _form(await request.form(), ("text", "contact"))
    try:
        appeal = tickets.file_appeal(session, actor, dataset.id, parse(AppealIn, form))
    except ValidationFailed as exc:
        session.rollback()
        return _appeal_form(request, dataset, form, exc.localized_errors(), 422)
    return _back(f"/appeals/{appeal.id}", M_FILED)


@router.get("/dataset/{slug}/feedback/{objection_id}", response_class=HTMLResponse)
def feedback_ticket(
    request: Request, session: SessionDep, actor: OptionalActorDep, slug: str, objection_id: int
) -> Response:
    dataset = _entry(session, slug)
    objection = tickets.get_feedback(session, objection_id)
    if objection.dataset_id != dataset.id or not tickets.may_see_feedback(actor, objection):
        raise NotFound(tickets.M_NOT_FOUND)
    [ticket] = queries.tickets(session, [objection])
    return render(
        request,
        "feedback/ticket.html",
        {
            "dataset": dataset,
            "slug": dataset_slug(dataset.code),
            "t": ticket,
            "messages": _flash(request, M_FILED),
        },
    )


# --- what one person has sent ------------------------------------------------------------------


@router.get("/account/feedback", response_class=HTMLResponse)
def my_feedback_page(request: Request, session: SessionDep, actor: OptionalActorDep) -> Response:
    return render(request, "feedback/mine.html", {"mine": queries.my_feedback(session, actor)})


# --- rights appeals ----------------------------------------------------------------------------


@router.get("/appeals/{appeal_id}", response_class=HTMLResponse)
def appeal_page(
    request: Request, session: SessionDep, actor: OptionalActorDep, appeal_id: int
) -> Response:
    appeal = tickets.get_appeal(session, common.filer(actor), appeal_id)
    deadlines = queries._deadlines(
        session, tickets.APPEAL_TYPE, tickets.APPEAL_DEADLINE, [appeal.id]
    )
    left = queries._remaining(session, deadlines)
    return render(
        request,
        "feedback/appeal.html",
        {
            "a": appeal,
            "deadline": deadlines.get(appeal.id),
            "remaining": left.get(appeal.id),
            "may_state": common.answers_for(actor, appeal.agency_id),
            "may_decide": common.may_moderate(actor, appeal.dataset.region_id),
            "messages": _flash(request, M_FILED),
        },
    )


@router.post("/appeals/{appeal_id}/statement", dependencies=[CsrfDep])
async def appeal_statement(
    request: Request, session: SessionDep, actor: OptionalActorDep, appeal_id: int
) -> Response:
    form = _form(await request.form(), ("statement",))
    tickets.state_on_appeal(session, actor, appeal_id, parse(AppealStatementIn, form))
    return _back(f"/appeals/{appeal_id}", M_DONE)


@router.post("/appeals/{appeal_id}/decide", dependencies=[CsrfDep])
async def appeal_decide(
    request: Request, session: SessionDep, actor: OptionalActorDep, appeal_id: int
) -> Response:
    raw = await request.form()
    form: dict[str, Any] = _form(raw, ("decision", "reason"))
    form["withdraw"] = raw.get("withdraw") == "1"
    tickets.decide_appeal(session, actor, appeal_id, parse(AppealDecisionIn, form))
    return _back(f"/appeals/{appeal_id}", M_DONE)


# --- data demands ------------------------------------------------------------------------------


@router.get("/demands", response_class=HTMLResponse)
def demands_page(request: Request, session: SessionDep, actor: OptionalActorDep) -> Response:
    raw_status = request.query_params.get("status", "")
    status = DemandStatus(raw_status) if raw_status in {s.value for s in DemandStatus} else None
    sort = "newest" if request.query_params.get("sort") == "newest" else "votes"
    mine = request.query_params.get("mine") == "1" and _signed_in(actor)
    return render(
        request,
        "feedback/demands.html",
        {
            "found": queries.list_demands(
                session, actor, status=status, sort=sort, mine=mine, page=_page(request)
            ),
            "status": raw_status,
            "sort": sort,
            "mine": mine,
            "signed_in": _signed_in(actor),
            "statuses": [(s.value, demands.demand_status_label(s)) for s in DemandStatus],
        },
    )


def _demand_form(
    request: Request,
    session: Session,
    form: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "feedback/demand_new.html",
        {
            "form": form or {},
            "errors": errors or {},
            "agencies": [("", translate(N_("（不确定）"))), *agency_choices(session)],
        },
        status_code=status_code,
    )


@router.get("/demands/new", response_class=HTMLResponse)
def demand_new(request: Request, session: SessionDep, actor: OptionalActorDep) -> Response:
    common.filer(actor)
    return _demand_form(request, session)


@router.post("/demands", dependencies=[CsrfDep])
async def demand_create(request: Request, session: SessionDep, actor: OptionalActorDep) -> Response:
    names = ("title", "description", "wanted_fields", "purpose", "suggested_agency_id")
    form = _form(await request.form(), names)
    data: dict[str, Any] = dict(form)
    data["suggested_agency_id"] = form["suggested_agency_id"] or None
    try:
        demand = demands.file_demand(session, actor, parse(DemandIn, data))
    except ValidationFailed as exc:
        session.rollback()
        return _demand_form(request, session, form, exc.localized_errors(), 422)
    return _back(f"/demands/{demand.id}", M_FILED)


@router.get("/demands/{demand_id}", response_class=HTMLResponse)
def demand_page(
    request: Request, session: SessionDep, actor: OptionalActorDep, demand_id: int
) -> Response:
    demand = demands.get_demand(session, actor, demand_id)
    [view] = queries.demand_views(session, actor, [demand])
    return render(
        request,
        "feedback/demand.html",
        {
            "v": view,
            "d": demand,
            "signed_in": _signed_in(actor),
            "may_route": common.may_moderate(actor, city=True)
            and demand.status is DemandStatus.PENDING,
            "may_reply": common.answers_for(actor, demand.agency_id)
            and demand.status in (DemandStatus.ROUTED, DemandStatus.ACCEPTED),
            "agencies": agency_choices(session),
            "messages": _flash(request, M_DONE),
        },
    )


@router.post("/demands/{demand_id}/vote", dependencies=[CsrfDep])
def demand_vote(session: SessionDep, actor: OptionalActorDep, demand_id: int) -> Response:
    demands.vote(session, actor, demand_id)
    return _back(f"/demands/{demand_id}", M_DONE)


@router.post("/demands/{demand_id}/route", dependencies=[CsrfDep])
async def demand_route(
    request: Request, session: SessionDep, actor: OptionalActorDep, demand_id: int
) -> Response:
    form = _form(await request.form(), ("agency_id",))
    demands.route_demand(
        session, actor, demand_id, parse(RouteIn, {"agency_id": form["agency_id"] or None})
    )
    return _back(f"/demands/{demand_id}", M_DONE)


@router.post("/demands/{demand_id}/reject", dependencies=[CsrfDep])
async def demand_reject(
    request: Request, session: SessionDep, actor: OptionalActorDep, demand_id: int
) -> Response:
    form = _form(await request.form(), ("reason",))
    demands.reject_demand(session, actor, demand_id, form["reason"])
    return _back(f"/demands/{demand_id}", M_DONE)


@router.post("/demands/{demand_id}/reply", dependencies=[CsrfDep])
async def demand_reply(
    request: Request, session: SessionDep, actor: OptionalActorDep, demand_id: int
) -> Response:
    form = _form(await request.form(), ("decision", "reply", "dataset_id"))
    data: dict[str, Any] = dict(form)
    data["dataset_id"] = form["dataset_id"] or None
    demand = demands.get_demand(session, actor, demand_id)
    if demand.status is DemandStatus.ACCEPTED and data["dataset_id"]:
        demands.link_demand_entry(session, actor, demand_id, int(data["dataset_id"]))
    else:
        demands.reply_demand(session, actor, demand_id, parse(DemandReplyIn, data))
    return _back(f"/demands/{demand_id}", M_DONE)


# --- reuses ------------------------------------------------------------------------------------


@router.get("/reuses", response_class=HTMLResponse)
def reuses_page(request: Request, session: SessionDep, actor: OptionalActorDep) -> Response:
    raw_kind = request.query_params.get("kind", "")
    kind = ReuseKind(raw_kind) if raw_kind in {k.value for k in ReuseKind} else None
    return render(
        request,
        "feedback/reuses.html",
        {
            "found": queries.list_reuses(session, kind, page=_page(request)),
            "kind": raw_kind,
            "kinds": [(k.value, _t(REUSE_KIND_LABELS, k)) for k in ReuseKind],
            "signed_in": _signed_in(actor),
        },
    )


def _reuse_form(
    request: Request,
    form: dict[str, str] | None = None,
    errors: dict[str, list[str]] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "feedback/reuse_new.html",
        {
            "form": form or {},
            "errors": errors or {},
            "kinds": [(k.value, _t(REUSE_KIND_LABELS, k)) for k in ReuseKind],
        },
        status_code=status_code,
    )


@router.get("/reuses/new", response_class=HTMLResponse)
def reuse_new(request: Request, actor: OptionalActorDep) -> Response:
    common.filer(actor)
    return _reuse_form(request, {"datasets": request.query_params.get("dataset", "")})


def _dataset_ids(session: Session, text: str) -> list[int]:
    """Public entries named by id, resource code or slug, separated by commas or lines."""
    ids: list[int] = []
    for part in text.replace(chr(0xFF0C), ",").replace("\n", ",").split(","):
        ref = part.strip()
        if not ref:
            continue
        found = find_public(session, ref)
        if found is None:
            raise ValidationFailed.single(
                "datasets", translate(N_("找不到数据目录“{ref}”"), None, ref=ref)
            )
        ids.append(found.id)
    return ids


@router.post("/reuses", dependencies=[CsrfDep])
async def reuse_create(request: Request, session: SessionDep, actor: OptionalActorDep) -> Response:
    form = _form(
        await request.form(), ("title", "kind", "url", "description", "submitter", "datasets")
    )
    try:
        data: dict[str, Any] = {k: v for k, v in form.items() if k != "datasets"}
        data["dataset_ids"] = _dataset_ids(session, form["datasets"])
        reuse = demands.submit_reuse(session, actor, parse(ReuseIn, data))
    except (ValidationFailed, NotFound) as exc:
        session.rollback()
        errors = (
            exc.localized_errors()
            if isinstance(exc, ValidationFailed)
            else {"datasets": [exc.localized(None)]}
        )
        return _reuse_form(request, form, errors, 422)
    return _back(f"/reuses/{reuse.id}", M_FILED)


@router.get("/reuses/{reuse_id}", response_class=HTMLResponse)
def reuse_page(
    request: Request, session: SessionDep, actor: OptionalActorDep, reuse_id: int
) -> Response:
    return render(
        request,
        "feedback/reuse.html",
        {
            "r": demands.get_reuse(session, actor, reuse_id),
            "messages": _flash(request, M_FILED),
        },
    )


# --- moderation ----------------------------------------------------------------------------------


@router.get("/moderation", response_class=HTMLResponse)
def moderation_page(request: Request, session: SessionDep, actor: OptionalActorDep) -> Response:
    return render(
        request,
        "feedback/moderation.html",
        {
            "q": queries.moderation_queues(session, actor),
            "agencies": agency_choices(session),
            "messages": _flash(request, M_DONE),
        },
    )


@router.post("/moderation/comments/{comment_id}", dependencies=[CsrfDep])
async def moderate_comment(
    request: Request, session: SessionDep, actor: OptionalActorDep, comment_id: int
) -> Response:
    form = _form(await request.form(), ("decision", "reason"))
    tickets.moderate_comment(session, actor, comment_id, parse(ReasonIn, form))
    return _back("/moderation#comments", M_DONE)


@router.post("/moderation/reuses/{reuse_id}", dependencies=[CsrfDep])
async def moderate_reuse(
    request: Request, session: SessionDep, actor: OptionalActorDep, reuse_id: int
) -> Response:
    form = _form(await request.form(), ("decision", "reason"))
    demands.moderate_reuse(session, actor, reuse_id, parse(ReasonIn, form))
    return _back("/moderation", M_DONE)


@router.post("/moderation/objections/{objection_id}", dependencies=[CsrfDep])
async def moderate_objection(
    request: Request, session: SessionDep, actor: OptionalActorDep, objection_id: int
) -> Response:
    form = _form(await request.form(), ("decision", "agency_id", "reason"))
    if form["decision"] == "route":
        tickets.route_feedback(
            session, actor, objection_id, parse(RouteIn, {"agency_id": form["agency_id"] or None})
        )
    else:
        tickets.screen_out_feedback(session, actor, objection_id, form["reason"])
    return _back("/moderation", M_DONE)


@router.get("/moderation/replies", response_class=HTMLResponse)
def replies_page(request: Request, session: SessionDep, actor: OptionalActorDep) -> Response:
    return render(
        request,
        "feedback/replies.html",
        {"q": queries.agency_queue(session, actor), "messages": _flash(request, M_DONE)},
    )


@router.post("/moderation/objections/{objection_id}/reply", dependencies=[CsrfDep])
async def reply_objection(
    request: Request, session: SessionDep, actor: OptionalActorDep, objection_id: int
) -> Response:
    form = _form(await request.form(), ("decision", "reply"))
    tickets.reply_feedback(session, actor, objection_id, parse(FeedbackReplyIn, form))
    return _back("/moderation/replies", M_DONE)


@router.post("/moderation/objections/{objection_id}/corrected", dependencies=[CsrfDep])
async def corrected_objection(
    request: Request, session: SessionDep, actor: OptionalActorDep, objection_id: int
) -> Response:
    form = _form(await request.form(), ("version", "correction_id"))
    data = {k: (v or None) for k, v in form.items()}
    tickets.mark_corrected(session, actor, objection_id, parse(FeedbackCorrectedIn, data))
    return _back("/moderation/replies", M_DONE)


@router.get("/moderation/response-times", response_class=HTMLResponse)
def response_times_page(request: Request, session: SessionDep, actor: OptionalActorDep) -> Response:
    common.moderator(actor)
    return render(
        request,
        "feedback/response_times.html",
        {
            "rows": queries.response_times(session),
            "overdue": queries.overdue_replies(session),
        },
    )
