"""JSON API of conditional opening under ``/api/v1/open-applications`` (and public
registration under ``/api/v1/public/register``). Who may do what is checked by the
services (``gongshu.opening.service``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.opening import accounts, agreement, queries, service
from gongshu.opening.models import ApplicationStatus, OpenApplication
from gongshu.opening.schemas import (
    AgreementAccept,
    AgreementRead,
    ApplicationIn,
    DeadlineRead,
    DecisionIn,
    OpenApplicationPage,
    OpenApplicationRead,
    PublicAccountRead,
    ReasonIn,
    RegistrationIn,
    UsageReportIn,
    UsageReportRead,
)
from gongshu.web.deps import ActorDep, SessionDep

router = APIRouter(tags=["opening"])


def application_reads(session: Session, items: list[OpenApplication]) -> list[OpenApplicationRead]:
    views = queries.deadline_views(session, items)
    out: list[OpenApplicationRead] = []
    for a in items:
        view = views.get(a.id)
        out.append(
            OpenApplicationRead(
                id=a.id,
                status=a.status,
                status_label=queries.status_label(a.status),
                dataset_id=a.dataset_id,
                dataset_code=a.dataset.code,
                dataset_title=a.dataset.title,
                provider_agency_id=a.provider_agency_id,
                provider_name=a.provider.name,
                applicant_id=a.applicant_id,
                applicant_name=a.applicant.display_name,
                scenario=a.scenario,
                purpose=a.purpose,
                fields=[str(f) for f in a.fields],
                security_measures=a.security_measures,
                requested_until=a.requested_until,
                reporting_committed=a.reporting_committed,
                agreement_sha256=a.agreement_sha256,
                accepted_at=a.accepted_at,
                submitted_at=a.submitted_at,
                approved_fields=None
                if a.approved_fields is None
                else [str(f) for f in a.approved_fields],
                decision_reason=a.decision_reason,
                decided_at=a.decided_at,
                starts_at=a.starts_at,
                expires_at=a.expires_at,
                ended_at=a.ended_at,
                end_reason=a.end_reason,
                created_at=a.created_at,
                deadline=DeadlineRead(
                    due_on=view.deadline.due_on,
                    working_days=view.deadline.working_days,
                    remaining_working_days=view.remaining,
                    rule=view.deadline.rule,
                )
                if view is not None
                else None,
                reports=[UsageReportRead.model_validate(r) for r in a.reports],
            )
        )
    return out


def _one(session: Session, actor: Actor, application_id: int) -> OpenApplicationRead:
    session.expire_all()
    return application_reads(session, [queries.get_application(session, actor, application_id)])[0]


@router.post(
    "/public/register",
    response_model=PublicAccountRead,
    status_code=status.HTTP_201_CREATED,
    summary="Register a public account (person or organisation)",
)
def register(request: Request, session: SessionDep, data: RegistrationIn) -> PublicAccountRead:
    ip = request.client.host if request.client else ""
    user = accounts.register(session, data, ip=ip)
    account = accounts.account_of(session, user.id)
    return PublicAccountRead.model_validate(account)


@router.get(
    "/open-applications",
    response_model=OpenApplicationPage,
    summary="List open applications (the applicant's own, the provider's, or all for the bureau)",
)
def list_applications(
    session: SessionDep,
    actor: ActorDep,
    status_: Annotated[ApplicationStatus | None, Query(alias="status")] = None,
    dataset_id: Annotated[int | None, Query(ge=1)] = None,
    agency_id: Annotated[int | None, Query(ge=1)] = None,
    page: Annotated[int, Query(ge=1, le=100000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> OpenApplicationPage:
    result = queries.list_applications(
        session,
        actor,
        status=status_,
        dataset_id=dataset_id,
        agency_id=agency_id,
        page=page,
        per_page=per_page,
    )
    return OpenApplicationPage(
        items=application_reads(session, result.items),
        total=result.total,
        page=result.page,
        per_page=result.per_page,
    )


@router.post(
    "/open-applications",
    response_model=OpenApplicationRead,
    status_code=status.HTTP_201_CREATED,
    summary="Apply for a conditional entry (a draft until the agreement is accepted)",
)
def create_application(
    session: SessionDep, actor: ActorDep, data: ApplicationIn
) -> OpenApplicationRead:
    created = service.apply(session, actor, data)
    return _one(session, actor, created.id)


@router.get(
    "/open-applications/{application_id}",
    response_model=OpenApplicationRead,
    summary="One open application",
)
def get_application(
    session: SessionDep, actor: ActorDep, application_id: int
) -> OpenApplicationRead:
    return _one(session, actor, application_id)


@router.get(
    "/open-applications/{application_id}/agreement",
    response_model=AgreementRead,
    summary="The agreement text (as accepted, or as it would be accepted now) and its SHA-256",
)
def get_agreement(session: SessionDep, actor: ActorDep, application_id: int) -> AgreementRead:
    application = queries.get_application(session, actor, application_id)
    text = service.agreement_text(session, application)
    return AgreementRead(
        application_id=application.id,
        text=text,
        sha256=agreement.digest(text),
        accepted_at=application.accepted_at,
    )


@router.post(
    "/open-applications/{application_id}/accept",
    response_model=OpenApplicationRead,
    summary="Accept the agreement (its SHA-256) and submit the application",
)
def accept(
    session: SessionDep, actor: ActorDep, application_id: int, data: AgreementAccept
) -> OpenApplicationRead:
    service.accept_agreement(session, actor, application_id, data)
    return _one(session, actor, application_id)


@router.post(
    "/open-applications/{application_id}/decision",
    response_model=OpenApplicationRead,
    summary="The provider approves or refuses (a reason is required to refuse)",
)
def decide(
    session: SessionDep, actor: ActorDep, application_id: int, data: DecisionIn
) -> OpenApplicationRead:
    service.decide(session, actor, application_id, data)
    return _one(session, actor, application_id)


@router.post(
    "/open-applications/{application_id}/withdraw",
    response_model=OpenApplicationRead,
    summary="The applicant withdraws a draft or undecided application",
)
def withdraw(session: SessionDep, actor: ActorDep, application_id: int) -> OpenApplicationRead:
    service.withdraw(session, actor, application_id)
    return _one(session, actor, application_id)


@router.post(
    "/open-applications/{application_id}/revoke",
    response_model=OpenApplicationRead,
    summary="The provider or the bureau ends an active application (a reason is required)",
)
def revoke(
    session: SessionDep, actor: ActorDep, application_id: int, data: ReasonIn
) -> OpenApplicationRead:
    service.revoke(session, actor, application_id, data.reason)
    return _one(session, actor, application_id)


@router.post(
    "/open-applications/{application_id}/reports",
    response_model=UsageReportRead,
    status_code=status.HTTP_201_CREATED,
    summary="The applicant submits its next usage report",
)
def submit_report(
    session: SessionDep, actor: ActorDep, application_id: int, data: UsageReportIn
) -> UsageReportRead:
    report = service.submit_report(session, actor, application_id, data)
    return UsageReportRead.model_validate(report)
