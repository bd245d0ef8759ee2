"""The shapes of the demo city's content: plain, frozen data the loader turns into service calls.

Nothing here touches the database. ``gongshu.demo.data`` fills these shapes with 临沂市.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from gongshu.auth.models import Role
from gongshu.catalog.models import (
    CategoryClass,
    FieldType,
    Level,
    OpenType,
    ResourceFormat,
    Sensitivity,
    ShareType,
    UpdateCycle,
)
from gongshu.identifiers import make_credit_code, organization_code_check_char
from gongshu.orgs.models import AgencyKind

# GB 32100: registration authority + entity type, by kind of public body.
# 1 机构编制 / 1 机关, 1 机构编制 / 2 事业单位, 9 市场监管（工商）/ 1 企业.
CREDIT_PREFIX: dict[AgencyKind, str] = {
    AgencyKind.GOVERNMENT: "11",
    AgencyKind.INSTITUTION: "12",
    AgencyKind.ENTERPRISE: "91",
}


def org_code_body(kind: AgencyKind, name: str) -> str:
    """A plausible, deterministic 8-character organisation code body for a public body.

    Bodies registered after 2015 with the establishment office carry ``MB`` + digits;
    institutions commonly ``4…``; enterprises older all-digit codes. The digits come from a
    CRC-32 of the name, so they are stable from run to run and machine to machine.
    """
    digits = f"{zlib.crc32(name.encode('utf-8')):010d}"
    if kind is AgencyKind.GOVERNMENT:
        return "MB28" + digits[-4:]
    if kind is AgencyKind.INSTITUTION:
        return "49" + digits[-6:]
    return "7" + digits[-7:]


@dataclass(frozen=True)
class AgencySpec:
    """A public body of the demo city; ``key`` names its officer (``{key}_officer``)."""

    key: str
    name: str
    short_name: str
    region_code: str
    kind: AgencyKind
    domain: str
    description: str
    address: str
    phone: str
    officer_name: str

    @property
    def credit_base(self) -> str:
        """The first 17 characters of the unified social credit code (no GB 32100 check)."""
        body = org_code_body(self.kind, self.name)
        return (
            CREDIT_PREFIX[self.kind] + self.region_code + body + organization_code_check_char(body)
        )

    @property
    def credit_code(self) -> str:
        """The full 18-character unified social credit code (GB 32100 check added)."""
        return make_credit_code(self.credit_base)

    @property
    def officer_username(self) -> str:
        return f"{self.key}_officer"


@dataclass(frozen=True)
class UserSpec:
    """A demo account holding exactly one role."""

    username: str
    display_name: str
    role: Role
    agency: str | None  # an AgencySpec key
    region_code: str
    description: str


class DemoAccount(NamedTuple):
    """One row of the demo accounts table: (username, role, agency name, description)."""

    username: str
    role: Role
    agency: str | None
    description: str


@dataclass(frozen=True)
class FieldSpec:
    """An information item (信息项) of a catalog entry, with the rules ingestion checks its
    values against: ``identifier`` ("" or a ``gongshu.ingest.spec.IdentifierKind`` value),
    allowed ``choices``, a range written in the field's type, a ``pattern``."""

    label: str
    name: str
    data_type: FieldType = FieldType.STRING
    length: int | None = None
    is_key: bool = False
    required: bool = False
    filterable: bool = False
    sensitivity: Sensitivity = Sensitivity.NONE
    description: str = ""
    identifier: str = ""
    choices: tuple[str, ...] = ()
    min_value: str | None = None
    max_value: str | None = None
    pattern: str | None = None

    def rules(self) -> dict[str, Any]:
        """The validation rules as ``FieldIn`` keyword arguments."""
        return {
            "identifier": self.identifier,
            "choices": list(self.choices),
            "min_value": self.min_value,
            "max_value": self.max_value,
            "pattern": self.pattern,
        }


# Share and open types follow the grading table (domain README §2) unless an entry says
# otherwise: general_1 is shared and opened without conditions; general_2/3 conditionally
# both ways; general_4 and important data are shared conditionally and never opened; core
# data is neither shared nor opened.
DEFAULT_SHARE: dict[Level, ShareType] = {
    Level.GENERAL_1: ShareType.UNCONDITIONAL,
    Level.GENERAL_2: ShareType.CONDITIONAL,
    Level.GENERAL_3: ShareType.CONDITIONAL,
    Level.GENERAL_4: ShareType.CONDITIONAL,
    Level.IMPORTANT: ShareType.CONDITIONAL,
    Level.CORE: ShareType.NONE,
}
DEFAULT_OPEN: dict[Level, OpenType] = {
    Level.GENERAL_1: OpenType.UNCONDITIONAL,
    Level.GENERAL_2: OpenType.CONDITIONAL,
    Level.GENERAL_3: OpenType.CONDITIONAL,
    Level.GENERAL_4: OpenType.NONE,
    Level.IMPORTANT: OpenType.NONE,
    Level.CORE: OpenType.NONE,
}


@dataclass(frozen=True)
class EntrySpec:
    """A catalog entry (目录条目) of the demo city, compiled by the officer of ``agency``.

    ``item`` names the classification item (项) within ``category_class``; the loader
    turns it into the two-digit item code. ``related`` names earlier entries by title.
    """

    agency: str
    title: str
    description: str
    category_class: CategoryClass
    item: str
    domain: str
    format: ResourceFormat
    level: Level
    update_cycle: UpdateCycle
    fields: tuple[FieldSpec, ...]
    source_system: str
    tags: tuple[str, ...]
    legal_basis: str = ""
    share_type: ShareType | None = None
    share_conditions: str = ""
    share_method: str = ""
    open_type: OpenType | None = None
    open_conditions: str = ""
    subitem_code: str = "001"
    related: tuple[str, ...] = field(default_factory=tuple)

    @property
    def share(self) -> ShareType:
        return self.share_type or DEFAULT_SHARE[self.level]

    @property
    def open(self) -> OpenType:
        return self.open_type or DEFAULT_OPEN[self.level]
