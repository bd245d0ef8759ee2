"""How a version's quality is scored: five dimensions from 0 to 100 and their weighted total.

From the quality report ingestion stores with each version (``DatasetVersion.quality``):

* **completeness** (完整性): the share of cells that were filled, over every field and every
  row read (``Σ filled / (rows_read × fields)``);
* **validity** (有效性): the share of filled cells that passed their field's rules (type,
  length, allowed values, range, pattern, identifier check). Duplicate keys are not counted
  here: they are uniqueness's;
* **uniqueness** (唯一性): the share of the rows that passed the rules whose key was not
  duplicated in the upload (or, for append, not already present). 100 for an entry without
  a key;
* **timeliness** (及时性): see ``gongshu.quality.timeliness``;
* **consistency** (一致性): the mean of what the registered consistency sources answer for
  the entry (the authoritative-source check of 一数一源 appends one); 100 when none answers.

The total weighs them 25 / 25 / 20 / 15 / 15 (``WEIGHTS``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy.orm import Session

WEIGHTS: dict[str, int] = {
    "completeness": 25,
    "validity": 25,
    "uniqueness": 20,
    "timeliness": 15,
    "consistency": 15,
}
DIMENSIONS: tuple[str, ...] = tuple(WEIGHTS)

ConsistencySource = Callable[[Session, int], float | None]
# Each source gets (session, dataset_id) and answers a score from 0 to 100, or None when it
# has nothing to say about the entry. Other areas append to this list at import time.
CONSISTENCY_SOURCES: list[ConsistencySource] = []


@dataclass(frozen=True)
class Dimensions:
    """A score's five dimensions, each from 0 to 100."""

    completeness: float
    validity: float
    uniqueness: float
    timeliness: float
    consistency: float

    @property
    def total(self) -> float:
        return weighted_total(self.as_dict())

    def as_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}

    def replace(self, **values: float) -> Dimensions:
        return Dimensions(**{**self.as_dict(), **values})


def weighted_total(values: Mapping[str, float]) -> float:
    weight = sum(WEIGHTS.values())
    return round(sum(WEIGHTS[d] * float(values[d]) for d in DIMENSIONS) / weight, 1)


def mean_dimensions(items: Sequence[Dimensions]) -> Dimensions | None:
    """The mean of each dimension (an agency's score is its entries' mean)."""
    if not items:
        return None
    n = len(items)
    return Dimensions(**{d: round(sum(getattr(i, d) for i in items) / n, 1) for d in DIMENSIONS})


def _pct(part: float, whole: float) -> float:
    if whole <= 0:
        return 100.0
    return round(max(0.0, min(1.0, part / whole)) * 100, 1)


def _fields(quality: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = quality.get("fields") or {}
    return [f for f in found.values() if isinstance(f, Mapping)]


def completeness(quality: Mapping[str, Any]) -> float:
    rows = int(quality.get("rows_read") or 0)
    items = _fields(quality)
    if not rows or not items:
        return 100.0
    filled = sum(int(f.get("filled") or 0) for f in items)
    return _pct(filled, rows * len(items))


def validity(quality: Mapping[str, Any], duplicates: int) -> float:
    items = _fields(quality)
    filled = sum(int(f.get("filled") or 0) for f in items)
    # Each duplicated or clashing key was noted as one invalid key cell; it is uniqueness's.
    invalid = max(0, sum(int(f.get("invalid") or 0) for f in items) - duplicates)
    return _pct(filled - invalid, filled)


def uniqueness(quality: Mapping[str, Any], duplicates: int, *, has_key: bool) -> float:
    if not has_key:
        return 100.0
    rows = int(quality.get("rows_read") or 0)
    rejected = int(quality.get("rows_rejected") or 0)
    # Keys are compared only among rows that passed the rules; those are the denominator.
    checked = rows - max(0, rejected - duplicates)
    return _pct(checked - duplicates, checked)


def consistency(session: Session, dataset_id: int) -> float:
    answers = []
    for source in CONSISTENCY_SOURCES:
        value = source(session, dataset_id)
        if value is not None:
            answers.append(max(0.0, min(100.0, float(value))))
    if not answers:
        return 100.0
    return round(sum(answers) / len(answers), 1)


def dimensions(
    quality: Mapping[str, Any],
    *,
    duplicates: int,
    has_key: bool,
    timeliness: float,
    consistency_score: float,
) -> Dimensions:
    """The five dimensions of a version from its quality report and the other measures."""
    return Dimensions(
        completeness=completeness(quality),
        validity=validity(quality, duplicates),
        uniqueness=uniqueness(quality, duplicates, has_key=has_key),
        timeliness=round(timeliness, 1),
        consistency=round(consistency_score, 1),
    )
