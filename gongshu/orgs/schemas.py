"""Input and output shapes for regions and agencies (named by direction)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gongshu.orgs.models import AgencyKind, RegionLevel


class RegionCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=12, description="GB/T 2260 code (6 digits)")
    name: str = Field(min_length=1, max_length=50)
    level: RegionLevel
    parent_id: int | None = None


class RegionUpdate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    code: str | None = Field(default=None, min_length=1, max_length=12, description="6 digits")
    name: str | None = Field(default=None, min_length=1, max_length=50)


class RegionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    level: RegionLevel
    parent_id: int | None


class AgencyCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    name: str = Field(min_length=2, max_length=100)
    short_name: str = Field(default="", max_length=50)
    credit_code: str = Field(
        min_length=1,
        max_length=40,
        description="unified social credit code (GB 32100), checked by the service",
    )
    region_id: int
    kind: AgencyKind
    domain: str = Field(default="", max_length=50)
    description: str = Field(default="", max_length=2000)
    address: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=30)
    chief_data_officer_id: int | None = None


class AgencyUpdate(BaseModel):
    """Only the fields sent are changed; ``chief_data_officer_id: null`` clears the officer."""

    model_config = ConfigDict(str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=2, max_length=100)
    short_name: str | None = Field(default=None, max_length=50)
    credit_code: str | None = Field(default=None, min_length=1, max_length=40)
    region_id: int | None = None
    kind: AgencyKind | None = None
    domain: str | None = Field(default=None, max_length=50)
    description: str | None = Field(default=None, max_length=2000)
    address: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=30)
    chief_data_officer_id: int | None = None
    is_active: bool | None = None


class AgencyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    short_name: str
    credit_code: str
    region_id: int
    kind: AgencyKind
    domain: str
    description: str
    address: str
    phone: str
    chief_data_officer_id: int | None
    is_active: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class AgencyPage(BaseModel):
    items: list[AgencyRead]
    total: int
    page: int
    per_page: int


class UserBrief(BaseModel):
    """A user as shown beside an agency (chief data officer, data officers)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    is_active: bool


class AgencyDetail(AgencyRead):
    """One agency with its region, its officers and the size of its catalog."""

    region: RegionRead
    chief_data_officer: UserBrief | None
    data_officers: list[UserBrief]
    dataset_count: int = Field(description="catalog entries the agency provides")
    published_count: int = Field(description="of which published")


class FieldChange(BaseModel):
    field: str
    old: Any = None
    new: Any = None


class HistoryEntryRead(BaseModel):
    """One audit-chain entry about an object, with its field-level changes."""

    seq: int
    at: dt.datetime
    action: str
    actor_name: str
    changes: list[FieldChange]
