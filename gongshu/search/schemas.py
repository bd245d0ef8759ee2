"""Input and output shapes of catalog search and pinyin overrides (named by direction)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gongshu.catalog.models import (
    CategoryClass,
    DatasetState,
    Level,
    OpenType,
    ResourceFormat,
    ShareType,
    UpdateCycle,
)
from gongshu.catalog.schemas import DatasetPage
from gongshu.search.models import TAG_CHARS
from gongshu.search.tokens import MAX_QUERY_CHARS

SortKey = Literal["relevance", "updated", "title", "code"]
SORT_KEYS: tuple[SortKey, ...] = ("relevance", "updated", "title", "code")
FACET_NAMES: tuple[str, ...] = (
    "agency_id",
    "region_id",
    "domain",
    "category_class",
    "share_type",
    "open_type",
    "level",
    "update_cycle",
    "state",
    "format",
)
#: The tag facet: the most common tags among the matches (not a ``search_facet`` column).
TAG_FACET = "tag"
TAG_FACET_SIZE = 20
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 20
#: Pages reach at most this many results deep (bounded pagination: no deep OFFSET scans).
MAX_WINDOW = 10_000


class SearchFilter(BaseModel):
    """What to search for: words (Chinese, pinyin or initials) and facet filters."""

    model_config = ConfigDict(str_strip_whitespace=True)

    q: str = Field(
        default="",
        max_length=MAX_QUERY_CHARS,
        description="Words in Chinese, pinyin (kongqi, kong qi) or initials (kqzl); "
        "every word must match the title, description, field labels or agency",
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
    format: ResourceFormat | None = Field(default=None, description="resource format")
    tag: str | None = Field(
        default=None, max_length=TAG_CHARS, description="entries carrying this tag"
    )

    @model_validator(mode="before")
    @classmethod
    def drop_blank(cls, data: Any) -> Any:
        """Query strings and forms send empty strings for "any"."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v not in ("", None)}
        return data

    def active(self) -> dict[str, Any]:
        """The filters that are set, as query-string values."""
        return {
            k: getattr(v, "value", v)
            for k, v in self.model_dump().items()
            if v is not None and v != ""
        }


class SearchQuery(SearchFilter):
    """One search request: filters, sort order and page.

    ``sort`` defaults to relevance when there are words to rank by, else to resource code.
    """

    sort: SortKey | None = None
    page: int = Field(default=1, ge=1, le=MAX_WINDOW)
    per_page: int = Field(default=DEFAULT_PER_PAGE, ge=1, le=MAX_PER_PAGE)
    with_facets: bool = True


class FacetCountRead(BaseModel):
    value: str
    label: str
    count: int


class DatasetSearchPage(DatasetPage):
    """A page of entries, as ``GET /api/v1/datasets`` always returned, plus facets."""

    sort: SortKey
    pages: int
    facets: dict[str, list[FacetCountRead]]


class PinyinOverrideIn(BaseModel):
    """An override as an admin enters it: 费县 → "bi xian" (one syllable per character)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    phrase: str = Field(min_length=1, max_length=20)
    pinyin: str = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=200)


class PinyinOverrideRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    phrase: str
    pinyin: str
    note: str
    updated_at: dt.datetime


class OverrideChange(BaseModel):
    """What changing an override did to the index."""

    override: PinyinOverrideRead | None
    reindexed: int = Field(description="entries re-indexed at once")
    queued_job_id: int | None = Field(
        default=None, description="a job re-indexes the rest when many entries are affected"
    )


class IndexStatus(BaseModel):
    entries: int
    indexed: int
    stale: bool
