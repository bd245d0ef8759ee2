"""Input and output shapes of the information-system registry (named by direction)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gongshu.catalog.models import DatasetState
from gongshu.systems.models import SystemStatus

_PHONE = r"^[0-9+\-() ]*$"


class SystemCreate(BaseModel):
    """A system to register; it belongs to the officer's agency unless an admin names one."""

    model_config = ConfigDict(str_strip_whitespace=True)

    name: str = Field(min_length=2, max_length=200)
    agency_id: int | None = Field(default=None, description="defaults to your agency")
    status: SystemStatus = SystemStatus.RUNNING
    project_name: str = Field(default="", max_length=200)
    project_number: str = Field(default="", max_length=64)
    description: str = Field(default="", max_length=5000)
    contact: str = Field(default="", max_length=100)
    contact_phone: str = Field(default="", max_length=30, pattern=_PHONE)


class SystemUpdate(BaseModel):
    """A partial edit; attributes not given stay as they are."""

    model_config = ConfigDict(str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=2, max_length=200)
    status: SystemStatus | None = None
    project_name: str | None = Field(default=None, max_length=200)
    project_number: str | None = Field(default=None, max_length=64)
    description: str | None = Field(default=None, max_length=5000)
    contact: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=30, pattern=_PHONE)


class SystemLink(BaseModel):
    """The catalog entry to link: by id or by resource code."""

    dataset_id: int | None = None
    code: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _one_of(self) -> SystemLink:
        if self.dataset_id is None and not self.code:
            raise ValueError("dataset_id or code is required")
        return self


class LinkedDataset(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    title: str
    state: DatasetState


class SystemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    agency_id: int
    agency_name: str
    status: SystemStatus
    project_name: str
    project_number: str
    description: str
    contact: str
    contact_phone: str
    dataset_count: int
    uncataloged: bool = Field(description="running without any catalog entry (not catalogued)")
    created_at: dt.datetime
    updated_at: dt.datetime


class SystemDetail(SystemRead):
    datasets: list[LinkedDataset]


class SystemPage(BaseModel):
    items: list[SystemRead]
    total: int
    uncataloged_total: int
    page: int
    per_page: int


def _drop_blank(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if v not in ("", None)}
    return data


class SystemFilter(BaseModel):
    """Filters of the registry list; every one is optional."""

    model_config = ConfigDict(str_strip_whitespace=True)

    q: str | None = Field(default=None, max_length=100, description="name, project or number")
    agency_id: int | None = None
    region_id: int | None = None
    status: SystemStatus | None = None
    uncataloged: bool | None = Field(default=None, description="only running, uncatalogued")

    @model_validator(mode="before")
    @classmethod
    def drop_blank(cls, data: Any) -> Any:
        return _drop_blank(data)

    def active(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, v in self.model_dump().items():
            if v is None or v is False:
                continue
            out[k] = "1" if v is True else getattr(v, "value", v)
        return out
