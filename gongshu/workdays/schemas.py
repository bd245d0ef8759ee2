"""Input and output shapes for calendar overrides and deadline previews."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from gongshu.workdays.calendar import MAX_WORKING_DAYS, Source


class OverrideSet(BaseModel):
    """Declare one day a working day (``is_workday: true``) or a day off."""

    model_config = ConfigDict(str_strip_whitespace=True)

    day: dt.date = Field(description="the day, YYYY-MM-DD")
    is_workday: bool = Field(
        description="true: a working day (e.g. a swapped weekend); false: a day off"
    )
    note: str = Field(default="", max_length=200, description="why, e.g. the State Council notice")


class OverrideRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    day: dt.date
    is_workday: bool
    note: str
    created_by_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime


class DeadlineQuery(BaseModel):
    """The calculator's input: D and N."""

    start: dt.date
    days: int = Field(ge=1, le=MAX_WORKING_DAYS)


class DeadlinePreview(BaseModel):
    """ "``days`` working days after ``start``" and how it was counted."""

    start: dt.date
    days: int = Field(ge=1, le=MAX_WORKING_DAYS)
    due_on: dt.date
    due_at: dt.datetime = Field(description="the end of the due day, Asia/Shanghai")
    provisional: bool = Field(
        description="true when a day counted fell outside the official calendar (Mon–Fri)"
    )
    rule: str = Field(
        description='the rule text stored with a deadline, e.g. "15 working days" in Chinese'
    )


class DayRead(BaseModel):
    """One day and where its status comes from."""

    day: dt.date
    is_workday: bool
    source: Source
