"""JSON API of entity profiles: ``GET /api/v1/profiles/{kind}/{value}``."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from gongshu.profiles import queries
from gongshu.profiles.schemas import ProfileRead
from gongshu.web.deps import ActorDep, SessionDep

router = APIRouter(prefix="/profiles", tags=["profiles"])


@router.get(
    "/{kind}/{value}",
    response_model=ProfileRead,
    summary="Entity profile of one citizen ID number or credit code",
    description="One card per entry the reader may read that has rows with this identifier: "
    "entry, provider, version, the rows as the gate hands them out (grant fields, row "
    "filter, masking). Entries the reader may not read are left out unseen. The identifier "
    "is checked first (check digit); every lookup is audited with its purpose.",
)
def profile(
    session: SessionDep,
    actor: ActorDep,
    kind: Literal["citizen_id", "credit_code"],
    value: str,
    purpose: Annotated[
        str, Query(min_length=2, max_length=200, description="why (kept in the audit)")
    ],
) -> ProfileRead:
    found = queries.lookup(session, actor, kind, value, purpose=purpose)
    return ProfileRead.model_validate(
        {"kind": found.kind, "value": found.value, "warnings": found.warnings}
        | {"cards": [asdict(c) for c in found.cards]}
    )
