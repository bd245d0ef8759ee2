"""JSON API of the masking rules. Reading: the security admin, auditors, the audit admin
and bureau admins; changing: the security admin (checked by ``gate.rules``)."""

from __future__ import annotations

from fastapi import APIRouter

from gongshu.catalog.models import Level, Sensitivity
from gongshu.gate import rules
from gongshu.gate.schemas import MaskRuleRead, MaskRuleSet
from gongshu.web.deps import ActorDep, SessionDep

router = APIRouter(tags=["masking"])


def _read(row: rules.RuleRow) -> MaskRuleRead:
    return MaskRuleRead(
        level=row.level,
        sensitivity=row.sensitivity,
        technique=row.technique,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


@router.get(
    "/masking/rules", response_model=list[MaskRuleRead], summary="The masking rules, by level"
)
def list_rules(session: SessionDep, actor: ActorDep) -> list[MaskRuleRead]:
    """Every (level, sensitivity) pair and the technique a grant reader gets. Providers, the
    bureau and the platform always read in the clear; a grant's clear fields are clear."""
    return [_read(r) for r in rules.list_rules(session, actor)]


@router.put(
    "/masking/rules/{level}/{sensitivity}",
    response_model=MaskRuleRead,
    summary="Change one masking rule",
)
def set_rule(
    session: SessionDep,
    actor: ActorDep,
    level: Level,
    sensitivity: Sensitivity,
    data: MaskRuleSet,
) -> MaskRuleRead:
    """Security admin only; audited as `masking.rule_set`. Takes effect on the next read."""
    return _read(rules.set_rule(session, actor, level, sensitivity, data.technique))
