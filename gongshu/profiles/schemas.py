"""What the profile API returns."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field


class ColumnRead(BaseModel):
    name: str
    label: str
    masked: bool = Field(description="the gate masked this field for the reader")


class CardRead(BaseModel):
    """One entry's rows about the entity (as the gate hands them to the reader)."""

    dataset_id: int
    code: str
    title: str
    agency: str = Field(description="the provider agency")
    version: int
    version_date: dt.datetime = Field(description="when the version read was published")
    field: str = Field(description="the identifier field that matched")
    columns: list[ColumnRead]
    rows: list[dict[str, Any]]


class ProfileRead(BaseModel):
    """Everything about one identifier across the entries the reader may read."""

    kind: str
    value: str = Field(description="the identifier, normalised")
    warnings: list[str] = Field(description="identifier warnings (e.g. an unknown area code)")
    cards: list[CardRead]
