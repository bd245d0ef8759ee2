"""JSON API of verification (核验): services configured by the bureau, and checks answered
yes or no without returning the record. ``?sealed=1`` returns the answer with the
platform's seal (``{"answer": …, "seal": {…}}``, docs/seal.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from gongshu.catalog.models import Dataset
from gongshu.db import utcnow
from gongshu.gate.verify import VerifyResult
from gongshu.seal.core import platform_seal
from gongshu.seal.statements import seal_answer
from gongshu.settings import Settings
from gongshu.verification import service
from gongshu.verification.models import VerificationService
from gongshu.verification.schemas import (
    BatchRequest,
    CheckAnswer,
    CheckRequest,
    DatasetCheckRequest,
    SealedAnswer,
    SealedBatchAnswer,
    ServiceCreate,
    ServiceRead,
    ServiceUpdate,
    VerificationAnswer,
    VerificationBatchAnswer,
)
from gongshu.web.deps import ActorDep, SessionDep, SettingsDep

router = APIRouter(prefix="/verification", tags=["verification"])

SealedQuery = Annotated[
    bool, Query(description="return the answer with the platform's seal (docs/seal.md)")
]


def service_read(s: VerificationService) -> ServiceRead:
    return ServiceRead(
        id=s.id,
        code=s.code,
        name=s.name,
        description=s.description,
        dataset_id=s.dataset_id,
        dataset_code=s.dataset.code,
        dataset_title=s.dataset.title,
        agency_name=s.dataset.agency.name,
        key_field=s.key_field,
        fields=[str(f) for f in s.fields],
        valid_until_field=s.valid_until_field,
        status_field=s.status_field,
        status_values=[str(v) for v in s.status_values],
        reveal_existence=s.reveal_existence,
        open_to_all=s.open_to_all,
        active=s.active,
        created_at=s.created_at,
        updated_at=s.updated_at,
    )


def _answers(result: VerifyResult) -> list[CheckAnswer]:
    return [CheckAnswer.model_validate(o.as_dict()) for o in result.outcomes]


def _respond(
    answer: VerificationAnswer | VerificationBatchAnswer,
    *,
    sealed: bool,
    settings: Settings,
    svc: VerificationService | None,
    dataset: Dataset,
    result: VerifyResult,
) -> Any:
    if not sealed:
        return answer
    # Returned as is (not re-validated), so the client gets exactly the JSON that was sealed.
    envelope = seal_answer(
        platform_seal(settings),
        answer.model_dump(mode="json"),
        context=service.answer_context(svc, dataset, result),
    )
    return JSONResponse(envelope)


@router.get(
    "/services",
    response_model=list[ServiceRead],
    summary="Verification services the reader manages or may call",
)
def list_services(session: SessionDep, actor: ActorDep) -> list[ServiceRead]:
    return [service_read(s) for s in service.list_services(session, actor)]


@router.post(
    "/services",
    response_model=ServiceRead,
    status_code=status.HTTP_201_CREATED,
    summary="Offer a verification service over a catalog entry (bureau admin)",
)
def create_service(session: SessionDep, actor: ActorDep, data: ServiceCreate) -> ServiceRead:
    return service_read(service.create_service(session, actor, data))


@router.get("/services/{code}", response_model=ServiceRead, summary="One verification service")
def get_service(session: SessionDep, actor: ActorDep, code: str) -> ServiceRead:
    return service_read(service.get_service(session, actor, code))


@router.put(
    "/services/{code}",
    response_model=ServiceRead,
    summary="Change or switch off a verification service (bureau admin)",
)
def update_service(
    session: SessionDep, actor: ActorDep, code: str, data: ServiceUpdate
) -> ServiceRead:
    return service_read(service.update_service(session, actor, code, data))


@router.post(
    "/services/{code}/check",
    response_model=VerificationAnswer | SealedAnswer,
    summary="One check: do the claimed values match the record with this key?",
    description="Answers match, the mismatched fields and validity; never the record. "
    "Audited as data.verify with keyed hashes instead of the values; counted against the "
    "body's rate (429 beyond it).",
)
def check(
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
    code: str,
    data: CheckRequest,
    sealed: SealedQuery = False,
) -> Any:
    svc, result = service.check(
        session, actor, code, [data], purpose=data.purpose, settings=settings
    )
    answer = VerificationAnswer(
        service=svc.code,
        dataset_id=svc.dataset_id,
        version=result.version.number,
        checked_at=utcnow(),
        result=_answers(result)[0],
    )
    return _respond(
        answer, sealed=sealed, settings=settings, svc=svc, dataset=svc.dataset, result=result
    )


@router.post(
    "/services/{code}/batch",
    response_model=VerificationBatchAnswer | SealedBatchAnswer,
    summary="Up to 1,000 checks in one call",
    description="Answers in the order of the checks; each check may carry a `ref` that is "
    "echoed back. One audit entry for the call.",
)
def batch(
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
    code: str,
    data: BatchRequest,
    sealed: SealedQuery = False,
) -> Any:
    svc, result = service.check(
        session, actor, code, data.checks, purpose=data.purpose, settings=settings
    )
    answer = VerificationBatchAnswer(
        service=svc.code,
        dataset_id=svc.dataset_id,
        version=result.version.number,
        checked_at=utcnow(),
        results=_answers(result),
    )
    return _respond(
        answer, sealed=sealed, settings=settings, svc=svc, dataset=svc.dataset, result=result
    )


@router.post(
    "/datasets/{dataset_id}/check",
    response_model=VerificationAnswer | SealedAnswer,
    summary="One check against an entry named directly (needs a read grant on it)",
    description="Compares only fields the reader's grant covers; never says whether a record "
    "exists.",
)
def check_dataset(
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
    dataset_id: int,
    data: DatasetCheckRequest,
    sealed: SealedQuery = False,
) -> Any:
    result = service.check_dataset(
        session,
        actor,
        dataset_id,
        [data],
        purpose=data.purpose,
        key_field=data.key_field,
        settings=settings,
    )
    answer = VerificationAnswer(
        service=None,
        dataset_id=dataset_id,
        version=result.version.number,
        checked_at=utcnow(),
        result=_answers(result)[0],
    )
    return _respond(
        answer, sealed=sealed, settings=settings, svc=None, dataset=result.dataset, result=result
    )
