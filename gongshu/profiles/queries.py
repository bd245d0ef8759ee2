"""Entity profiles (一人一档 / 一企一档): everything about one citizen ID number or one unified
social credit code across the entries the reader may read.

The identifier is checked first (check digits, GB 11643 / GB 32100); a bad one is refused
with the check's own message and nothing is read. The rows come from the gate's
``find_entity``: one index probe per entry that has an identifier field of that kind, only
entries the reader may read (an entry the reader may not read is not shown, not even as
"exists"), rows as the gate hands them out (a grant's fields and row filter, masked as the
gate decides), and every lookup recorded in the audit chain with its purpose.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.auth.permissions import require_login
from gongshu.errors import ValidationFailed
from gongshu.gate import service as gate
from gongshu.i18n import N_, translate
from gongshu.identifiers import IDENTIFIER_CHECKS
from gongshu.store.serving import ROW_COLUMN

KINDS: dict[str, str] = {
    "citizen_id": N_("公民身份号码"),
    "credit_code": N_("统一社会信用代码"),
}
MSG_KIND = N_("只能按公民身份号码或统一社会信用代码查询")
MSG_VALUE = N_("请输入要查询的号码")
MSG_INVALID = N_("号码未通过校验：{reason}")


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    masked: bool = False


@dataclass(frozen=True)
class Card:
    """One entry's rows about the entity."""

    dataset_id: int
    code: str
    title: str
    agency: str
    version: int
    version_date: dt.datetime
    field: str
    columns: list[Column]
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class Profile:
    """The entity's profile as this reader may see it."""

    kind: str
    value: str
    cards: list[Card] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(len(c.rows) for c in self.cards)


def kind_label(kind: str) -> str:
    return translate(KINDS.get(kind, kind))


def check_identifier(kind: str, value: str) -> tuple[str, list[str]]:
    """The normalised identifier and its warnings, or ``ValidationFailed`` with the check's
    message (e.g. a wrong check digit)."""
    if kind not in KINDS:
        raise ValidationFailed.single("kind", MSG_KIND)
    if not (value or "").strip():
        raise ValidationFailed.single("value", MSG_VALUE)
    checked = IDENTIFIER_CHECKS[kind](value)
    if not checked.ok:
        reasons = checked.messages()
        raise ValidationFailed(MSG_INVALID, {"value": reasons}, reason="; ".join(reasons))
    return checked.value, checked.warning_messages()


def lookup(session: Session, actor: Actor, kind: str, value: str, *, purpose: str) -> Profile:
    """The profile of one identifier (see the module docstring). Any signed-in user may ask;
    what they see is what the gate lets them read."""
    require_login(actor)
    normalised, warnings = check_identifier(kind, value)
    hits = gate.find_entity(session, actor, kind, normalised, purpose=purpose)
    cards: list[Card] = []
    for hit in hits:
        masks = hit.masks
        shown = {k for r in hit.rows for k in r if k != ROW_COLUMN}
        columns = [
            Column(
                name=str(f["name"]),
                label=str(f.get("label") or f["name"]),
                masked=str(f["name"]) in masks,
            )
            for f in hit.version.schema
            if str(f["name"]) in shown
        ]
        cards.append(
            Card(
                dataset_id=hit.dataset.id,
                code=hit.dataset.code,
                title=hit.dataset.title,
                agency=hit.dataset.agency.name,
                version=hit.version.number,
                version_date=hit.version.published_at,
                field=hit.field,
                columns=columns,
                rows=[{k: v for k, v in r.items() if k != ROW_COLUMN} for r in hit.rows],
            )
        )
    return Profile(kind=kind, value=normalised, cards=cards, warnings=warnings)
