"""Input and output shapes for catalog entries and their fields (named by direction)."""

from __future__ import annotations

import datetime as dt
import decimal
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gongshu.catalog.models import (
    CategoryClass,
    DatasetState,
    FieldType,
    Level,
    OpenType,
    ResourceFormat,
    Sensitivity,
    ShareType,
    UpdateCycle,
)
from gongshu.ingest.spec import IdentifierKind

RANGE_TYPES = frozenset({FieldType.INTEGER, FieldType.DECIMAL, FieldType.DATE, FieldType.DATETIME})
_INTEGER = re.compile(r"^[+-]?\d{1,30}$")
_DECIMAL = re.compile(r"^[+-]?(?:\d{1,40}(?:\.\d{0,20})?|\.\d{1,20})$")
Bound = int | decimal.Decimal | dt.date | dt.datetime


def parse_bound(data_type: FieldType, text: str) -> Bound | None:
    """A range bound typed for comparison, or None when ``text`` is not of ``data_type``
    (or the type has no range). Decimals are plain notation, dates and datetimes ISO 8601.
    """
    text = text.strip()
    try:
        if data_type is FieldType.INTEGER and _INTEGER.match(text):
            return int(text)
        if data_type is FieldType.DECIMAL and _DECIMAL.match(text):
            return decimal.Decimal(text)
        if data_type is FieldType.DATE:
            return dt.date.fromisoformat(text) if len(text) == 10 else None
        if data_type is FieldType.DATETIME:
            # A bare date is that day's midnight (a spreadsheet's date cell, say).
            return dt.datetime.fromisoformat(text) if len(text) >= 10 else None
    except ValueError:
        return None
    return None


def bound_text(value: Bound) -> str:
    """The canonical text of a range bound."""
    if isinstance(value, dt.date):  # datetime is a date too
        return value.isoformat()
    return str(value)


class FieldIn(BaseModel):
    """One information item as an officer enters it."""

    model_config = ConfigDict(str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1, max_length=100)
    data_type: FieldType = FieldType.STRING
    length: int | None = Field(default=None, ge=1, le=100000)
    is_key: bool = False
    required: bool = False
    filterable: bool = False
    sensitivity: Sensitivity = Sensitivity.NONE
    description: str = Field(default="", max_length=1000)
    identifier: IdentifierKind | Literal[""] = Field(
        default="",
        description="identifier check the values must pass (citizen_id, credit_code, mobile, "
        'region_code); "" for none. String fields only.',
    )
    choices: list[str] = Field(
        default_factory=list,
        description="allowed values (an enumeration); string fields only",
    )
    min_value: str | None = Field(
        default=None,
        max_length=64,
        description='least allowed value, written in the field\'s type ("0", "99.5", '
        '"2020-01-01", "2020-01-01T00:00:00"); integer, decimal, date and datetime fields',
    )
    max_value: str | None = Field(
        default=None, max_length=64, description="greatest allowed value, as min_value"
    )
    pattern: str | None = Field(
        default=None,
        max_length=200,
        description="a regular expression (RE2 syntax: no backreferences or lookaround) the "
        "whole value must match; string and text fields",
    )

    @field_validator("min_value", "max_value", "pattern", mode="before")
    @classmethod
    def blank_is_none(cls, value: Any) -> Any:
        """Forms send empty strings for "no rule"."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("choices", mode="after")
    @classmethod
    def drop_blank_choices(cls, value: list[str]) -> list[str]:
        return [v for v in value if v]

    @model_validator(mode="after")
    def canonical_bounds(self) -> FieldIn:
        """Write a range's bounds the one way ingestion reads them ("007" → "7",
        "2020-01-01 8:00" stays as typed when it does not parse: the service reports it)."""
        for attr in ("min_value", "max_value"):
            text = getattr(self, attr)
            if text is not None:
                value = parse_bound(self.data_type, text)
                if value is not None:
                    setattr(self, attr, bound_text(value))
        return self


class FieldRead(FieldIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
    position: int


class DatasetCreate(BaseModel):
    """A new catalog entry; it starts as a draft of the officer's own agency."""

    model_config = ConfigDict(str_strip_whitespace=True)

    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=5000)
    agency_id: int | None = Field(default=None, description="defaults to the officer's agency")
    category_class: CategoryClass
    item_code: str = Field(pattern=r"^\d{2}$")
    subitem_code: str = Field(default="001", pattern=r"^\d{3}$")
    detail_code: str = Field(default="", pattern=r"^[0-9A-Z]{0,16}$")
    domain: str = Field(default="", max_length=50)
    format: ResourceFormat = ResourceFormat.DATABASE
    share_type: ShareType
    share_conditions: str = Field(default="", max_length=2000)
    share_method: str = Field(default="", max_length=100)
    open_type: OpenType
    open_conditions: str = Field(default="", max_length=2000)
    level: Level
    update_cycle: UpdateCycle
    legal_basis: str = Field(default="", max_length=2000)
    source_system: str = Field(default="", max_length=200)
    published_on: dt.date | None = None
    related_codes: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    fields: list[FieldIn] = Field(default_factory=list)


class DatasetUpdate(BaseModel):
    """A partial edit. ``fields``, when given, replaces the list (matched by name)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    lock_version: int | None = Field(
        default=None, description="the version you edited; a stale one gets 409"
    )
    title: str | None = Field(default=None, min_length=2, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    domain: str | None = Field(default=None, max_length=50)
    format: ResourceFormat | None = None
    share_type: ShareType | None = None
    share_conditions: str | None = Field(default=None, max_length=2000)
    share_method: str | None = Field(default=None, max_length=100)
    open_type: OpenType | None = None
    open_conditions: str | None = Field(default=None, max_length=2000)
    level: Level | None = None
    update_cycle: UpdateCycle | None = None
    legal_basis: str | None = Field(default=None, max_length=2000)
    source_system: str | None = Field(default=None, max_length=200)
    published_on: dt.date | None = None
    related_codes: list[str] | None = None
    tags: list[str] | None = None
    fields: list[FieldIn] | None = None


class DatasetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    title: str
    description: str
    agency_id: int
    region_id: int
    category_class: CategoryClass
    item_code: str
    subitem_code: str
    detail_code: str
    sequence: int
    domain: str
    format: ResourceFormat
    share_type: ShareType
    share_conditions: str
    share_method: str
    open_type: OpenType
    open_conditions: str
    level: Level
    update_cycle: UpdateCycle
    legal_basis: str
    source_system: str
    published_on: dt.date | None
    related_codes: list[str]
    tags: list[str]
    state: DatasetState
    lock_version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    fields: list[FieldRead]


class DatasetPage(BaseModel):
    items: list[DatasetRead]
    total: int
    page: int
    per_page: int


def _drop_blank(data: Any) -> Any:
    """Query strings and forms send empty strings for "any": treat them as not given."""
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if v not in ("", None)}
    return data


class DatasetFilter(BaseModel):
    """Filters of the catalog list and export; every one is optional."""

    model_config = ConfigDict(str_strip_whitespace=True)

    q: str | None = Field(
        default=None, max_length=100, description="substring of title/code/description"
    )
    agency_id: int | None = None
    region_id: int | None = None
    category_class: CategoryClass | None = None
    domain: str | None = Field(default=None, max_length=50)
    share_type: ShareType | None = None
    open_type: OpenType | None = None
    level: Level | None = None
    update_cycle: UpdateCycle | None = None
    state: DatasetState | None = None
    # Not "format": the export's query string names its file format so.
    resource_format: ResourceFormat | None = None
    tag: str | None = Field(default=None, max_length=100, description="entries carrying this tag")

    @model_validator(mode="before")
    @classmethod
    def drop_blank(cls, data: Any) -> Any:
        return _drop_blank(data)

    def active(self) -> dict[str, Any]:
        """The filters that are set, as query-string values."""
        return {k: getattr(v, "value", v) for k, v in self.model_dump().items() if v is not None}


class HistoryEntry(BaseModel):
    """One audit entry about a catalog entry: who changed what, and when."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: dt.datetime
    actor_id: int | None
    actor_name: str
    action: str
    changes: dict[str, Any]


class ClassificationItem(BaseModel):
    code: str
    name: str


class ClassificationClass(BaseModel):
    category_class: CategoryClass
    digit: str
    name: str
    items: list[ClassificationItem]


class Classification(BaseModel):
    """The taxonomy and the shape of resource codes."""

    code_pattern: str
    sequence_width: int
    classes: list[ClassificationClass]


class GradingRow(BaseModel):
    level: Level
    name: str
    share: list[ShareType]
    open: list[OpenType]
