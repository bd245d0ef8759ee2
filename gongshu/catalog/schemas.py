"""Input and output shapes for catalog entries and their fields (named by direction)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

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
