"""Display masks (脱敏) for one value, chosen by the field's sensitivity kind.

The defaults of the domain notes (§3): an ID number keeps its first 6 and last 4
characters, a mobile number its first 3 and last 4, a name its surname, an address the part
up to the district, a bank card its first 6 and last 4, an e-mail the first character of
the local part. The gate applies these by level and reader; reports that show sample bad
values (quality reports, rejected-row summaries) apply them too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from gongshu.catalog.models import Sensitivity

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
