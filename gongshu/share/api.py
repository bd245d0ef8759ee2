"""JSON API of the sharing workflow under ``/api/v1/share``: requests and their decisions,
grants, emergencies, the return flow and reassessment. Who may do what is checked by the
services (``gongshu.share.rules``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.db import utcnow
from gongshu.share import emergency, issuing, queries, reassess, requests, return_flow, rules
from gongshu.share.issuing import GrantRow
from gongshu.share.models import (
    Assessment,
    Emergency,
    EmergencyStatus,
    GrantKind,
    RequestStatus,
    ShareRequest,
)
from gongshu.share.schemas import (
    ArbitrationDecision,
    AssessmentCreate,
    AssessmentRead,
    DeadlineRead,
    EmergencyCreate,
    EmergencyEnd,
    EmergencyRead,
    EmergencyReport,
    GrantDecision,
    GrantPage,
    GrantRead,
    ObjectionCreate,
    PlanRead,
    Refusal,
    ReturnFlowRead,
    ReturnFlowSet,
    RevokeInput,
    ShareRequestCreate,
    ShareRequestPage,
    ShareRequestRead,
    SyncResult,
)
from gongshu.web.deps import ActorDep, SessionDep

router = APIRouter(tags=["share"])


# --- shapes -------------------------------------------------------------------------------


def request_reads(
    session: Session, actor: Actor, items: Sequence[ShareRequest]
) -> list[ShareRequestRead]:
    views = queries.open_deadline_views(session, items)
    out: list[ShareRequestRead] = []
    for r in items:
        view = views.get(r.id)
        out.append(
            ShareRequestRead(
                id=r.id,
                kind=r.kind,
                status=r.status,
                status_label=rules.request_status_label(r.status),
                dataset_id=r.dataset_id,
                dataset_code=r.dataset.code,
                dataset_title=r.dataset.title,
                agency_id=r.agency_id,
                agency_name=r.agency.name,
                provider_agency_id=r.provider_agency_id,
                provider_name=r.provider.name,
                purpose=r.purpose,
                scenario=r.scenario,
                legal_basis=r.legal_basis,
                fields=r.fields,
                starts_on=r.starts_on,
                ends_on=r.ends_on,
                granted_fields=r.granted_fields,
                clear_fields=list(r.clear_fields),
                decision_reason=r.decision_reason,
                decided_at=r.decided_at,
                objection_reason=r.objection_reason,
                objected_at=r.objected_at,
                arbitration_outcome=r.arbitration_outcome,
                arbitration_reason=r.arbitration_reason,
                arbitrated_at=r.arbitrated_at,
                grant_id=r.grant_id,
                end_reason=r.end_reason,
                created_at=r.created_at,
                lock_version=r.lock_version,
                deadline=DeadlineRead(
                    due_on=view.due_on,
                    rule=view.rule,
                    provisional=view.provisional,
                    remaining=view.remaining,
                    overdue=view.overdue,
                    step=view.step,
                )
                if view is not None
                else None,
                actions=queries.available_actions(session, actor, r),
            )
        )
    return out


def _one(session: Session, actor: Actor, request_id: int) -> ShareRequestRead:
    session.expire_all()
    return request_reads(session, actor, [queries.get_request(session, actor, request_id)])[0]


def grant_read(actor: Actor, row: GrantRow) -> GrantRead:
    g = row.grant
    # The grantee sees its terms; the fingerprint that traces its copies is the provider's
    # and the bureau's to know.
    sees_fingerprint = rules.decides(actor, row.dataset.agency_id) or rules.arbitrates(
        actor, row.dataset
    )
    return GrantRead(
        id=g.id,
        kind=g.kind,
        status=g.status,
        live=row.live,
        dataset_id=row.dataset.id,
        dataset_code=row.dataset.code,
        dataset_title=row.dataset.title,
        agency_id=row.agency.id,
        agency_name=row.agency.name,
        fields=g.fields,
        clear_fields=list(g.clear_fields),
        row_filter=list(g.row_filter),
        purpose=g.purpose,
        starts_at=g.starts_at,
        expires_at=g.expires_at,
        request_id=g.request_id,
        emergency_id=g.emergency_id,
        fingerprint=g.fingerprint if sees_fingerprint else None,
        ended_at=g.ended_at,
        end_reason=g.end_reason,
    )


def emergency_read(e: Emergency) -> EmergencyRead:
    return EmergencyRead(
        id=e.id,
        name=e.name,
        reason=e.reason,
        status=e.status,
        active=e.status is EmergencyStatus.ACTIVE and e.starts_at <= utcnow() < e.ends_at,
        dataset_ids=[int(i) for i in e.dataset_ids],
        agency_ids=[int(i) for i in e.agency_ids],
        all_entries=e.all_entries,
        all_agencies=e.all_agencies,
        include_not_shared=e.include_not_shared,
        in_clear=e.in_clear,
        skipped=list(e.skipped),
        grants_issued=e.grants_issued,
        starts_at=e.starts_at,
        ends_at=e.ends_at,
        ended_at=e.ended_at,
        ended_early=e.ended_early,
        end_reason=e.end_reason,
        lock_version=e.lock_version,
    )


def assessment_read(a: Assessment) -> AssessmentRead:
    return AssessmentRead(
        id=a.id,
        dataset_id=a.dataset_id,
        outcome=a.outcome,
        reason=a.reason,
        assessed_on=a.assessed_on,
        due_on=a.due_on,
        next_due_on=a.next_due_on,
        change_request_id=a.change_request_id,
        created_at=a.created_at,
    )


# --- requests -----------------------------------------------------------------------------

Box = Literal["mine", "incoming", "arbitration", "all"]


@router.get("/share/requests", response_model=ShareRequestPage, summary="List share requests")
def list_requests(
    session: SessionDep,
    actor: ActorDep,
    box: Box = "mine",
    status_: Annotated[RequestStatus | None, Query(alias="status")] = None,
    dataset_id: Annotated[int | None, Query(ge=1)] = None,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ShareRequestPage:
    """``mine``: asked by the caller's body; ``incoming``: asked of it; ``arbitration``:
    objections the caller arbitrates; ``all``: everything the caller may see."""
    result = queries.list_requests(
        session,
        actor,
        box=box,
        status=status_,
        dataset_id=dataset_id,
        page=page,
        per_page=per_page,
    )
    return ShareRequestPage(
        items=request_reads(session, actor, result.items),
        total=result.total,
        page=result.page,
        per_page=result.per_page,
    )


@router.post(
    "/share/requests",
    response_model=ShareRequestRead,
    status_code=status.HTTP_201_CREATED,
    summary="Request a share",
)
def create_request(
    session: SessionDep, actor: ActorDep, data: ShareRequestCreate
) -> ShareRequestRead:
    """An unconditional entry is granted at once; a conditional one waits for the provider;
    a not-shared one is refused (403)."""
    request = requests.create_request(session, actor, data)
    return _one(session, actor, request.id)


@router.get(
    "/share/requests/{request_id}", response_model=ShareRequestRead, summary="One share request"
)
def get_request(session: SessionDep, actor: ActorDep, request_id: int) -> ShareRequestRead:
    return _one(session, actor, request_id)


@router.post(
    "/share/requests/{request_id}/grant",
    response_model=ShareRequestRead,
    summary="Grant a share request (provider)",
)
def grant_request(
    session: SessionDep, actor: ActorDep, request_id: int, data: GrantDecision
) -> ShareRequestRead:
    requests.grant_request(session, actor, request_id, data)
    return _one(session, actor, request_id)


@router.post(
    "/share/requests/{request_id}/deny",
    response_model=ShareRequestRead,
    summary="Refuse a share request with a reason (provider)",
)
def deny_request(
    session: SessionDep, actor: ActorDep, request_id: int, data: Refusal
) -> ShareRequestRead:
    requests.deny_request(session, actor, request_id, data)
    return _one(session, actor, request_id)


@router.post(
    "/share/requests/{request_id}/object",
    response_model=ShareRequestRead,
    summary="Object to a refusal (requester)",
)
def object_request(
    session: SessionDep, actor: ActorDep, request_id: int, data: ObjectionCreate
) -> ShareRequestRead:
    requests.object_request(session, actor, request_id, data)
    return _one(session, actor, request_id)


@router.post(
    "/share/requests/{request_id}/arbitrate",
    response_model=ShareRequestRead,
    summary="Arbitrate an objection (bureau)",
)
def arbitrate_request(
    session: SessionDep, actor: ActorDep, request_id: int, data: ArbitrationDecision
) -> ShareRequestRead:
    requests.arbitrate_request(session, actor, request_id, data)
    return _one(session, actor, request_id)


@router.post(
    "/share/requests/{request_id}/revoke",
    response_model=ShareRequestRead,
    summary="Revoke the grant of a request (provider or bureau)",
)
def revoke_request(
    session: SessionDep, actor: ActorDep, request_id: int, data: RevokeInput
) -> ShareRequestRead:
    requests.revoke_request(session, actor, request_id, data.reason)
    return _one(session, actor, request_id)


# --- grants -------------------------------------------------------------------------------


@router.get("/share/grants", response_model=GrantPage, summary="List grants")
def list_grants(
    session: SessionDep,
    actor: ActorDep,
    scope: Literal["mine", "provided", "all"] = "mine",
    kind: GrantKind | None = None,
    dataset_id: Annotated[int | None, Query(ge=1)] = None,
    emergency_id: Annotated[int | None, Query(ge=1)] = None,
    active_only: bool = True,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> GrantPage:
    """``mine``: held by the caller's body; ``provided``: on its entries; ``all``: the
    bureau's region. ``active_only`` (default) keeps grants in force now."""
    result = issuing.list_grants(
        session,
        actor,
        scope=scope,
        kind=kind,
        dataset_id=dataset_id,
        emergency_id=emergency_id,
        active_only=active_only,
        page=page,
        per_page=per_page,
    )
    return GrantPage(
        items=[grant_read(actor, row) for row in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
    )


@router.post("/share/grants/{grant_id}/revoke", response_model=GrantRead, summary="Revoke a grant")
def revoke_grant(
    session: SessionDep, actor: ActorDep, grant_id: int, data: RevokeInput
) -> GrantRead:
    issuing.revoke_grant(session, actor, grant_id, data.reason)
    return grant_read(actor, issuing.get_grant_row(session, actor, grant_id))


# --- emergencies ---------------------------------------------------------------------------


@router.get("/share/emergencies", response_model=list[EmergencyRead], summary="List emergencies")
def list_emergencies(
    session: SessionDep, actor: ActorDep, page: Annotated[int, Query(ge=1, le=100000)] = 1
) -> list[EmergencyRead]:
    return [emergency_read(e) for e in emergency.list_emergencies(session, actor, page=page).items]


@router.get(
    "/share/emergencies/active",
    response_model=list[EmergencyRead],
    summary="Emergencies in force now",
)
def active_emergencies(session: SessionDep, actor: ActorDep) -> list[EmergencyRead]:
    """Any signed-in user may ask (the banner shows the same)."""
    return [emergency_read(e) for e in emergency.active_emergencies(session)]


@router.post(
    "/share/emergencies",
    response_model=EmergencyRead,
    status_code=status.HTTP_201_CREATED,
    summary="Declare an emergency (city bureau)",
)
def declare_emergency(session: SessionDep, actor: ActorDep, data: EmergencyCreate) -> EmergencyRead:
    return emergency_read(emergency.declare_emergency(session, actor, data))


@router.get(
    "/share/emergencies/{emergency_id}",
    response_model=EmergencyReport,
    summary="An emergency and its report",
)
def emergency_report(session: SessionDep, actor: ActorDep, emergency_id: int) -> EmergencyReport:
    """Grants issued and in force, bodies, entries, and the reads made under its grants."""
    data = emergency.report(session, actor, emergency_id)
    return EmergencyReport(
        emergency=emergency_read(data.emergency),
        grants=data.grants,
        live_grants=data.live_grants,
        bodies=len(data.bodies),
        entries=data.entries,
        reads=data.reads,
        rows_read=data.rows_read,
        reads_by_body=data.reads_by_body,
    )


@router.post(
    "/share/emergencies/{emergency_id}/end",
    response_model=EmergencyRead,
    summary="End an emergency early (city bureau)",
)
def end_emergency(
    session: SessionDep, actor: ActorDep, emergency_id: int, data: EmergencyEnd
) -> EmergencyRead:
    return emergency_read(emergency.end_emergency(session, actor, emergency_id, data))


# --- return flow ---------------------------------------------------------------------------


def _flow_read(row: return_flow.FlowRow) -> ReturnFlowRead:
    return ReturnFlowRead(
        dataset_id=row.dataset.id,
        dataset_code=row.dataset.code,
        dataset_title=row.dataset.title,
        field_name=row.flow.field_name,
        value_map={str(k): str(v) for k, v in row.flow.value_map.items()},
        enabled=row.flow.enabled,
        grants=row.grants,
        updated_at=row.flow.updated_at,
    )


@router.get("/share/return-flows", response_model=list[ReturnFlowRead], summary="List return flows")
def list_flows(session: SessionDep, actor: ActorDep) -> list[ReturnFlowRead]:
    return [_flow_read(row) for row in return_flow.list_flows(session, actor)]


@router.put(
    "/share/return-flows/{dataset_id}",
    response_model=ReturnFlowRead,
    summary="Enable or change an entry's return flow (city bureau)",
)
def set_flow(
    session: SessionDep, actor: ActorDep, dataset_id: int, data: ReturnFlowSet
) -> ReturnFlowRead:
    """Saving issues a filtered grant to every agency of each mapped district and revokes
    grants that no longer match."""
    return_flow.set_return_flow(session, actor, dataset_id, data)
    return next(
        _flow_read(r) for r in return_flow.list_flows(session, actor) if r.dataset.id == dataset_id
    )


@router.delete(
    "/share/return-flows/{dataset_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Disable an entry's return flow (revokes its grants)",
)
def disable_flow(session: SessionDep, actor: ActorDep, dataset_id: int) -> Response:
    return_flow.disable_return_flow(session, actor, dataset_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/share/return-flows/sync",
    response_model=SyncResult,
    summary="Issue missing return-flow grants (agencies created since)",
)
def sync_flows(session: SessionDep, actor: ActorDep) -> SyncResult:
    issued, revoked = return_flow.sync_return_flows(session, actor)
    return SyncResult(issued=issued, revoked=revoked)


# --- reassessment ------------------------------------------------------------------------


@router.get(
    "/share/assessments",
    response_model=list[PlanRead],
    summary="Conditional entries and their next reassessment",
)
def list_plans(session: SessionDep, actor: ActorDep, due_only: bool = False) -> list[PlanRead]:
    """The provider's own entries, or the bureau's region; ``due_only``: due soon or overdue."""
    return [
        PlanRead(
            dataset_id=row.dataset.id,
            dataset_code=row.dataset.code,
            dataset_title=row.dataset.title,
            agency_name=row.dataset.agency.name,
            next_due_on=row.next_due_on,
            last_assessed_on=row.last_assessed_on,
            days_left=row.days_left,
            state=row.state,
        )
        for row in reassess.list_plans(session, actor, due_only=due_only)
    ]


@router.get(
    "/share/assessments/{dataset_id}",
    response_model=list[AssessmentRead],
    summary="An entry's reassessments",
)
def history(session: SessionDep, actor: ActorDep, dataset_id: int) -> list[AssessmentRead]:
    return [assessment_read(a) for a in reassess.history(session, actor, dataset_id)]


@router.post(
    "/share/assessments/{dataset_id}",
    response_model=AssessmentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record a reassessment (provider)",
)
def record_assessment(
    session: SessionDep, actor: ActorDep, dataset_id: int, data: AssessmentCreate
) -> AssessmentRead:
    """``keep`` or ``convert`` (a catalog change request for the city bureau's consent)."""
    return assessment_read(reassess.record_assessment(session, actor, dataset_id, data))
