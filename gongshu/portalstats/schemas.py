"""What the portal statistics' and open list's JSON API returns."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from gongshu.catalog.models import OpenType


class UsageRead(BaseModel):
    views: int = Field(description="public pages of entries shown")
    downloads: int = Field(description="files of rows sent (portal downloads and API exports)")
    api_calls: int = Field(description="rows, counts and aggregates read through an API")


class TotalsRead(UsageRead):
    entries: int = Field(description="entries in scope (public ones unless scope=all)")
    agencies: int = Field(description="agencies providing them")
    records: int = Field(description="rows in their live versions")


class DayUsageRead(UsageRead):
    day: dt.date = Field(description="the day, or the first day of the month")


class EntryUsageRead(UsageRead):
    dataset_id: int
    code: str
    title: str
    agency_id: int
    agency_name: str


class AgencyUsageRead(UsageRead):
    agency_id: int
    name: str
    credit_code: str
    entries: int


class PortalStatsRead(BaseModel):
    """The statistics page's figures (of one agency when ``agency`` is set)."""

    scope: Literal["public", "all"]
    agency: AgencyUsageRead | None = None
    totals: TotalsRead
    daily: list[DayUsageRead] = Field(description="the last `days` days, oldest first")
    monthly: list[DayUsageRead] = Field(description="the last 12 months, oldest first")
    top_entries: list[EntryUsageRead] = Field(description="most used entries, all kinds summed")
    agencies: list[AgencyUsageRead] = Field(description="every agency with entries in scope")
    generated_at: dt.datetime


class OpenListItem(BaseModel):
    """One line of the open list (开放清单)."""

    dataset_id: int
    code: str
    title: str
    url: str
    agency_id: int
    agency_name: str
    domain: str
    open_type: OpenType
    open_conditions: str = Field(description="the conditions of a conditional entry, else ''")
    update_cycle: str
    formats: list[str]
    fields: list[str] = Field(description="the information items' Chinese labels")
    records: int | None = Field(description="rows in the live version (None: no data yet)")
    last_update: dt.date | None


class OpenListRead(BaseModel):
    total: int
    items: list[OpenListItem]
