"""Masking (脱敏): the techniques, the display masks, the keyed pseudonym, the default rules.

A field's values are masked by one of four techniques, chosen per (level, sensitivity) by
the ``mask_rule`` table (defaults below, from the domain notes §2–§3; the security admin
edits them):

- ``clear``: the value as stored;
- ``mask``: a display mask chosen by the field's sensitivity kind — an ID number keeps its
  first 6 and last 4 characters, a mobile number its first 3 and last 4, a name its
  surname, an address the part up to the district, a bank card its first 6 and last 4, an
  e-mail the first character of the local part;
- ``hash``: a keyed pseudonym, HMAC-SHA256 under ``GONGSHU_MASKING_KEY`` truncated to
  ``PSEUDONYM_HEX`` hex digits: equal values give equal pseudonyms in every entry, so
  masked columns still join, and without the key nobody can compute the pseudonym of a
  guessed value;
- ``drop``: the field is not returned at all.

The gate applies these by level and reader; reports that show sample bad values (quality
reports, rejected-row summaries) apply the display masks too.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from gongshu.catalog.models import Level, Sensitivity

_DATA = json.loads((Path(__file__).parent / "masking.json").read_text(encoding="utf-8"))
_COMPOUND_SURNAMES = frozenset(_DATA["compound_surnames"])
_DISTRICT = re.compile(
    "^(.*?(?:{upper}))?(.*?(?:{district}))".format(
        upper="|".join(_DATA["upper_suffixes"]), district="|".join(_DATA["district_suffixes"])
    )
)


def _keep(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def mask_name(value: str) -> str:
    surname = 2 if value[:2] in _COMPOUND_SURNAMES and len(value) > 2 else 1
    return value[:surname] + "*" * max(len(value) - surname, 1)


def mask_address(value: str) -> str:
    match = _DISTRICT.match(value)
    if match is None or not match.group(0):
        return _keep(value, 0, 0)
    kept = match.group(0)
    return kept + "****" if len(value) > len(kept) else kept


def mask_email(value: str) -> str:
    local, at, domain = value.partition("@")
    if not at:
        return _keep(value, 1, 0)
    return local[:1] + "***@" + domain


def mask(value: str | None, sensitivity: Sensitivity) -> str | None:
    """``value`` as it may be shown to someone without rights to the clear value."""
    if value is None or value == "":
        return value
    match sensitivity:
        case Sensitivity.NONE | Sensitivity.CREDIT_CODE:
            return value
        case Sensitivity.ID_NUMBER | Sensitivity.BANK_CARD:
            return _keep(value, 6, 4)
        case Sensitivity.MOBILE:
            return _keep(value, 3, 4)
        case Sensitivity.NAME:
            return mask_name(value)
        case Sensitivity.ADDRESS:
            return mask_address(value)
        case Sensitivity.EMAIL:
            return mask_email(value)
        case Sensitivity.PLATE:
            return _keep(value, 2, 1)
        case Sensitivity.FREE_TEXT:
            return _keep(value, 0, 0) if len(value) <= 4 else value[:2] + "…"
    return value


class Technique(enum.StrEnum):
    """How a masked reader receives a field's values."""

    CLEAR = "clear"  # 明文
    MASK = "mask"  # 遮盖
    HASH = "hash"  # 假名化（密钥哈希）
    DROP = "drop"  # 不提供


PSEUDONYM_HEX = 16


def pseudonym(value: str, key: bytes) -> str:
    """The keyed pseudonym of a text value: the same value gives the same result everywhere."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]


def _per_distinct(values: pa.Array | pa.ChunkedArray, apply: Callable[[str], str]) -> pa.Array:
    """``apply`` over a text column, once per distinct value (columns repeat values a lot)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    encoded = pc.dictionary_encode(values)
    distinct = encoded.dictionary.to_pylist()
    table = pa.array([None if v is None else apply(v) for v in distinct], pa.string())
    return pc.take(table, encoded.indices)


def pseudonym_array(values: pa.Array | pa.ChunkedArray, key: bytes) -> pa.Array:
    """``pseudonym`` of every value of a text column (nulls stay null)."""
    return _per_distinct(values, lambda v: pseudonym(v, key))


def mask_array(values: pa.Array | pa.ChunkedArray, sensitivity: Sensitivity) -> pa.Array:
    """``mask`` of every value of a text column (nulls stay null)."""
    return _per_distinct(values, lambda v: mask(v, sensitivity) or "")


def default_rules() -> dict[tuple[Level, Sensitivity], Technique]:
    """The technique of every (level, sensitivity) pair before any edit (``masking.json``).

    ``none`` and ``credit_code`` (usually public) are clear at every level.
    """
    table: dict[str, dict[str, str]] = _DATA["default_rules"]
    rules: dict[tuple[Level, Sensitivity], Technique] = {}
    for level in Level:
        listed = table.get(level.value, {})
        for sensitivity in Sensitivity:
            rules[level, sensitivity] = Technique(listed.get(sensitivity.value, "clear"))
    return rules
