"""The masking rules (脱敏规则): reading them, and the security admin's edits.

One rule per (level, sensitivity) says how a grant reader receives a field of that kind in
an entry of that level — ``clear``, ``mask``, ``hash`` or ``drop`` (``gongshu.masking``).
Providers, the bureau and the platform always read in the clear; a grant's
``clear_fields`` override the rule for the fields it names.

Who: the security admin (安全保密管理员) edits the rules (and the CLI, acting as the
platform); the security admin, the auditors, the audit admin and the bureau admins may read
them. Each changed rule is one ``masking.rule_set`` audit entry, in the edit's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.service import record
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role, User
from gongshu.catalog.models import Level, Sensitivity
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import NotAuthenticated, PermissionDenied
from gongshu.gate.models import MaskRule
from gongshu.gate.policy import is_platform
from gongshu.i18n import N_
from gongshu.masking import Technique, default_rules

MSG_MAY_NOT_EDIT = N_("只有安全保密管理员可以修改脱敏规则")
MSG_MAY_NOT_READ = N_("无权查看脱敏规则")

TECHNIQUE_LABELS: dict[Technique, str] = {
    Technique.CLEAR: N_("明文"),
    Technique.MASK: N_("遮盖"),
    Technique.HASH: N_("假名化"),
    Technique.DROP: N_("不提供"),
}
SENSITIVITY_LABELS: dict[Sensitivity, str] = {
    Sensitivity.NONE: N_("非敏感"),
    Sensitivity.ID_NUMBER: N_("身份证号"),
    Sensitivity.MOBILE: N_("手机号"),
    Sensitivity.NAME: N_("姓名"),
    Sensitivity.ADDRESS: N_("地址"),
    Sensitivity.BANK_CARD: N_("银行卡号"),
    Sensitivity.EMAIL: N_("电子邮箱"),
    Sensitivity.PLATE: N_("车牌号"),
    Sensitivity.CREDIT_CODE: N_("统一社会信用代码"),
    Sensitivity.FREE_TEXT: N_("自由文本"),
}
READERS = frozenset({Role.SECURITY_ADMIN, Role.AUDITOR, Role.AUDIT_ADMIN, Role.BUREAU_ADMIN})


@dataclass(frozen=True)
class RuleRow:
    """One rule as shown: the technique, and who last changed it when (None: the default)."""

    level: Level
    sensitivity: Sensitivity
    technique: Technique
    updated_at: dt.datetime | None
    updated_by: str | None


def may_edit(actor: Actor | None) -> bool:
    return actor is not None and (is_platform(actor) or actor.has(Role.SECURITY_ADMIN))


def may_view(actor: Actor | None) -> bool:
    return actor is not None and (is_platform(actor) or actor.has(*READERS))


def _require_view(actor: Actor | None) -> Actor:
    if actor is None:
        raise NotAuthenticated(N_("请先登录"))
    if not may_view(actor):
        raise PermissionDenied(MSG_MAY_NOT_READ)
    return actor


def list_rules(session: Session, actor: Actor | None) -> list[RuleRow]:
    """Every (level, sensitivity) pair with its technique, levels then kinds in order."""
    _require_view(actor)
    stored = {
        (rule.level, rule.sensitivity): (rule, name)
        for rule, name in session.execute(
            select(MaskRule, User.display_name).outerjoin(User, User.id == MaskRule.updated_by_id)
        )
    }
    defaults = default_rules()
    out: list[RuleRow] = []
    for level in Level:
        for sensitivity in Sensitivity:
            found = stored.get((level, sensitivity))
            if found is None:
                out.append(RuleRow(level, sensitivity, defaults[level, sensitivity], None, None))
            else:
                rule, name = found
                out.append(RuleRow(level, sensitivity, rule.technique, rule.updated_at, name))
    return out


def set_rules(
    session: Session, actor: Actor | None, changes: Mapping[tuple[Level, Sensitivity], Technique]
) -> int:
    """Change several rules in one transaction (one audit entry per changed rule); returns
    how many changed. Only the security admin (or the platform) may."""
    if actor is None:
        raise NotAuthenticated(N_("请先登录"))
    if not may_edit(actor):
        raise PermissionDenied(MSG_MAY_NOT_EDIT)
    changed = 0
    with unit_of_work(session):
        current = {(r.level, r.sensitivity): r for r in session.scalars(select(MaskRule))}
        defaults = default_rules()
        for (level, sensitivity), technique in changes.items():
            rule = current.get((level, sensitivity))
            before = rule.technique if rule is not None else defaults[level, sensitivity]
            if before is technique and rule is not None:
                continue
            if rule is None:
                rule = MaskRule(level=level, sensitivity=sensitivity)
                session.add(rule)
            rule.technique = technique
            rule.updated_at = utcnow()
            rule.updated_by_id = actor.user_id
            session.flush()
            if before is technique:
                continue
            record(
                session,
                actor,
                "masking.rule_set",
                "mask_rule",
                rule.id,
                label=f"{level.value}/{sensitivity.value}",
                changes={
                    "level": level.value,
                    "sensitivity": sensitivity.value,
                    "technique": [before.value, technique.value],
                },
            )
            changed += 1
    return changed


def set_rule(
    session: Session,
    actor: Actor | None,
    level: Level,
    sensitivity: Sensitivity,
    technique: Technique,
) -> RuleRow:
    """Change one rule (audited when it changes) and return it."""
    set_rules(session, actor, {(level, sensitivity): technique})
    return next(
        r for r in list_rules(session, actor) if r.level is level and r.sensitivity is sensitivity
    )
