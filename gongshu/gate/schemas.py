"""Schemas of the masking rules' JSON API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from gongshu.catalog.models import Level, Sensitivity
from gongshu.masking import Technique


class MaskRuleRead(BaseModel):
    """How a grant reader receives fields of one sensitivity kind in entries of one level."""

    level: Level
    sensitivity: Sensitivity
    technique: Technique = Field(
        description="clear: as stored; mask: display mask; hash: keyed pseudonym; drop: left out"
    )
    updated_at: dt.datetime | None = Field(None, description="None: the default, never edited")
    updated_by: str | None = None


class MaskRuleSet(BaseModel):
    """The new technique of one rule."""

    technique: Technique
