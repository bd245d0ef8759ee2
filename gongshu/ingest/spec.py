"""What ingestion needs to know of a catalog field, as plain frozen data.

Readers, checks and the version store work on :class:`FieldSpec` rather than on the ORM
``Field`` so that they run in worker processes and benchmarks without a session.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from gongshu.catalog.models import Dataset, Field, FieldType, Sensitivity


class IdentifierKind(enum.StrEnum):
    """Identifier checks a field's values must pass (gongshu.identifiers)."""

    CITIZEN_ID = "citizen_id"
    CREDIT_CODE = "credit_code"
    MOBILE = "mobile"
    REGION_CODE = "region_code"


@dataclass(frozen=True)
class FieldSpec:
    """One catalog field with the rules its values are checked against.

    ``minimum``/``maximum`` are written in the field's own type (``"0"``, ``"2020-01-01"``)
    and compared after coercion; ``choices`` are the allowed values of an enumeration;
    ``pattern`` is a regular expression the whole text value must match.
    """

    name: str
    label: str
    data_type: FieldType
    length: int | None = None
    required: bool = False
    is_key: bool = False
    filterable: bool = False
    sensitivity: Sensitivity = Sensitivity.NONE
    identifier: IdentifierKind | None = None
    choices: tuple[str, ...] = ()
    minimum: str | None = None
    maximum: str | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class CellIssue:
    """One problem with one cell (or one whole row when ``column`` is empty).

    ``row`` is the row number a person sees in the source (a spreadsheet's row number, a
    CSV's line number counting the header); ``message`` is a Chinese msgid with ``params``.
    ``severity`` is ``"error"`` (the row is rejected) or ``"warning"`` (kept, reported).
    """

    row: int
    column: str
    message: str
    params: dict[str, Any] = field(default_factory=dict)
    value: str | None = None
    severity: str = "error"


def spec_of(field: Field) -> FieldSpec:
    """The catalog field as ingestion sees it (its rules included; "" becomes None)."""
    return FieldSpec(
        name=field.name,
        label=field.label,
        data_type=FieldType(field.data_type),
        length=field.length,
        required=field.required,
        is_key=field.is_key,
        filterable=field.filterable,
        sensitivity=Sensitivity(field.sensitivity),
        identifier=IdentifierKind(field.identifier) if field.identifier else None,
        choices=tuple(str(c) for c in field.choices or ()),
        minimum=field.min_value or None,
        maximum=field.max_value or None,
        pattern=field.pattern or None,
    )


def specs_of(dataset: Dataset) -> list[FieldSpec]:
    """The entry's fields as specs, in their position order."""
    return [spec_of(f) for f in sorted(dataset.fields, key=lambda f: f.position)]
