"""The grading table (分级): which share and open types each data level allows.

The default follows domain README §2 (GB/T 43697-2024; 就高从严, the stricter level wins
when in doubt):

=====================  ===========================  ==========================
level                  share types allowed          open types allowed
=====================  ===========================  ==========================
core, important        none, conditional            none (never opened)
general_4              conditional, none            none
general_3, general_2   conditional, none            conditional, none
general_1              any                          any
=====================  ===========================  ==========================

A city replaces rows with a JSON file named by ``settings.grading_table_file``::

    {"general_2": {"share": ["unconditional", "conditional", "none"],
                   "open": ["conditional", "none"]}}

Levels left out of the file keep their default row. An unreadable or wrong file is a
configuration error raised when the table is first used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from gongshu.catalog.models import Level, OpenType, ShareType
from gongshu.i18n import N_, translate
from gongshu.labels import label
from gongshu.settings import get_settings


@dataclass(frozen=True)
class LevelRule:
    """What one level allows."""

    share: frozenset[ShareType]
    open: frozenset[OpenType]


_ALL_SHARE = frozenset(ShareType)
_ALL_OPEN = frozenset(OpenType)
_RESTRICTED_SHARE = frozenset({ShareType.CONDITIONAL, ShareType.NONE})
_CLOSED = frozenset({OpenType.NONE})

DEFAULT_TABLE: dict[Level, LevelRule] = {
    Level.CORE: LevelRule(_RESTRICTED_SHARE, _CLOSED),
    Level.IMPORTANT: LevelRule(_RESTRICTED_SHARE, _CLOSED),
    Level.GENERAL_4: LevelRule(_RESTRICTED_SHARE, _CLOSED),
    Level.GENERAL_3: LevelRule(_RESTRICTED_SHARE, frozenset({OpenType.CONDITIONAL, OpenType.NONE})),
    Level.GENERAL_2: LevelRule(_RESTRICTED_SHARE, frozenset({OpenType.CONDITIONAL, OpenType.NONE})),
    Level.GENERAL_1: LevelRule(_ALL_SHARE, _ALL_OPEN),
}

LIST_SEP = N_("、")
SHARE_NOT_ALLOWED = N_("数据分级为“{level}”时，不能列为“{value}”共享；允许的共享属性：{allowed}")
OPEN_NOT_ALLOWED = N_("数据分级为“{level}”时，不能列为“{value}”开放；允许的开放属性：{allowed}")


def load_table(path: Path) -> dict[Level, LevelRule]:
    """The default table with the rows of a JSON file put over it."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: the grading table must be a JSON object keyed by level")
    table = dict(DEFAULT_TABLE)
    for key, row in raw.items():
        level = Level(key)
        default = DEFAULT_TABLE[level]
        share = frozenset(ShareType(v) for v in row.get("share", [s.value for s in default.share]))
        opened = frozenset(OpenType(v) for v in row.get("open", [o.value for o in default.open]))
        if not share or not opened:
            raise ValueError(f"{path}: level {key} must allow at least one share and open type")
        table[level] = LevelRule(share, opened)
    return table


@lru_cache(maxsize=8)
def _table_for(path: Path | None, mtime: float) -> dict[Level, LevelRule]:
    return dict(DEFAULT_TABLE) if path is None else load_table(path)


def get_table() -> dict[Level, LevelRule]:
    """The grading table in force (the default, or ``settings.grading_table_file``)."""
    path = get_settings().grading_table_file
    if path is None:
        return _table_for(None, 0.0)
    return _table_for(path, path.stat().st_mtime)


def _ordered_labels(values: frozenset[ShareType] | frozenset[OpenType]) -> str:
    order = ["unconditional", "conditional", "none"]
    return translate(LIST_SEP).join(
        label(v) for v in sorted(values, key=lambda v: order.index(v.value))
    )


def violations(
    level: Level,
    share_type: ShareType,
    open_type: OpenType,
    table: dict[Level, LevelRule] | None = None,
) -> dict[str, list[str]]:
    """Per-field messages (current language) for share and open types the level forbids."""
    rule = (table or get_table())[level]
    out: dict[str, list[str]] = {}
    if share_type not in rule.share:
        out["share_type"] = [
            translate(SHARE_NOT_ALLOWED).format(
                level=label(level),
                value=label(share_type),
                allowed=_ordered_labels(rule.share),
            )
        ]
    if open_type not in rule.open:
        out["open_type"] = [
            translate(OPEN_NOT_ALLOWED).format(
                level=label(level),
                value=label(open_type),
                allowed=_ordered_labels(rule.open),
            )
        ]
    return out


def as_json(table: dict[Level, LevelRule] | None = None) -> dict[str, dict[str, list[str]]]:
    """The table as plain values, strictest level first (for the API and the docs)."""
    table = table or get_table()
    order_s = [s.value for s in ShareType]
    order_o = [o.value for o in OpenType]
    return {
        level.value: {
            "share": sorted((s.value for s in table[level].share), key=order_s.index),
            "open": sorted((o.value for o in table[level].open), key=order_o.index),
        }
        for level in reversed(list(Level))
    }
