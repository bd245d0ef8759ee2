"""Input and output shapes for regions and agencies (named by direction)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from gongshu.orgs.models import AgencyKind, RegionLevel


class RegionCreate(BaseModel):
    code: str = Field(pattern=r"^\d{6}$", description="GB/T 2260 code")
    name: str = Field(min_length=1, max_length=50)
    level: RegionLevel
    parent_id: int | None = None


class RegionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    level: RegionLevel
    parent_id: int | None


class AgencyCreate(BaseModel):
    name: str = Field(min_length=2, max_length=100)
    short_name: str = Field(default="", max_length=50)
    credit_code: str = Field(min_length=18, max_length=18, description="统一社会信用代码 (GB 32100)")
    region_id: int
    kind: AgencyKind
    domain: str = Field(default="", max_length=50)
    description: str = Field(default="", max_length=2000)
    address: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=30)
    chief_data_officer_id: int | None = None


class AgencyUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=2, max_length=100)
    short_name: str | None = Field(default=None, max_length=50)
    credit_code: str | None = Field(default=None, min_length=18, max_length=18)
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
