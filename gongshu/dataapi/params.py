"""The data API's query parameters, parsed into what the gate takes.

Reserved parameters start with ``_`` (datasette's convention): ``_sort``, ``_fields``,
``_after``, ``_limit``, ``_purpose``, ``_version``, ``_group``, ``_measure``, ``_shape``,
``_header``. Every other parameter is a filter ``<field>__<op>=<value>``, parsed by
``gongshu.gate.filters.filters_from_query``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from urllib.parse import unquote

from gongshu.errors import ValidationFailed
from gongshu.gate.filters import Filter, filters_from_query
from gongshu.i18n import N_

PURPOSE_HEADER = "x-gongshu-purpose"
MEASURES = ("count", "sum", "avg", "min", "max")
MAX_NAMES = 100

MSG_BAD_NAME = N_("“{name}”不是有效的字段名")
MSG_TOO_MANY_NAMES = N_("{param} 最多列出 {limit} 个字段")
MSG_BAD_MEASURE = N_("统计项“{measure}”无效，应为 count 或 sum:字段、avg:字段、min:字段、max:字段")
MSG_NO_MEASURE = N_("请用 _measure 给出至少一项统计")

_NAME = re.compile(r"^[^\s,:\x00-\x1f]{1,100}$")


def _names(param: str, text: str | None, *, signed: bool = False) -> list[str]:
    if text is None:
        return []
    out: list[str] = []
    for raw in text.split(","):
        name = raw.strip()
        if not name:
            continue
        bare = name[1:] if signed and name.startswith("-") else name
        if not _NAME.match(bare):
            raise ValidationFailed.single(param, MSG_BAD_NAME.format(name=name[:100]))
        out.append(name)
    if len(out) > MAX_NAMES:
        raise ValidationFailed.single(
            param, MSG_TOO_MANY_NAMES.format(param=param, limit=MAX_NAMES)
        )
    return out


def sort_fields(text: str | None) -> list[str]:
    """``_sort``: fields in order, ``-name`` descending (``a,-b``)."""
    return _names("_sort", text, signed=True)


def field_list(text: str | None) -> list[str] | None:
    """``_fields``: the fields to return (None: every field the reader may see)."""
    names = _names("_fields", text)
    return list(dict.fromkeys(names)) or None


def group_fields(text: str | None) -> list[str]:
    """``_group``: the fields to group by (none: one group of every row)."""
    return list(dict.fromkeys(_names("_group", text)))


def measures(text: str | None) -> list[tuple[str, str | None]]:
    """``_measure``: ``count`` or ``fn:field`` (sum, avg, min, max), comma-separated."""
    out: list[tuple[str, str | None]] = []
    for raw in (text or "").split(","):
        item = raw.strip()
        if not item:
            continue
        fn, sep, name = item.partition(":")
        fn = fn.strip().lower()
        name = name.strip()
        if (
            fn not in MEASURES
            or (fn == "count" and sep and not name)
            or (fn != "count" and not name)
        ):
            raise ValidationFailed.single("_measure", MSG_BAD_MEASURE.format(measure=item[:100]))
        if name and not _NAME.match(name):
            raise ValidationFailed.single("_measure", MSG_BAD_NAME.format(name=name[:100]))
        out.append((fn, name or None))
    if not out:
        raise ValidationFailed.single("_measure", MSG_NO_MEASURE)
    if len(out) > MAX_NAMES:
        raise ValidationFailed.single(
            "_measure", MSG_TOO_MANY_NAMES.format(param="_measure", limit=MAX_NAMES)
        )
    return list(dict.fromkeys(out))


def measure_label(fn: str, name: str | None) -> str:
    """The key of a measure in the answer: ``count``, ``sum:amount`` … (as it was asked)."""
    return fn if name is None else f"{fn}:{name}"


def filters(pairs: Iterable[tuple[str, str]]) -> list[Filter]:
    """The filters among the query's parameters (``_``-parameters are skipped)."""
    return filters_from_query(pairs)


def purpose(query_value: str | None, header_value: str | None) -> str:
    """``_purpose``, else the ``X-Gongshu-Purpose`` header.

    Headers travel as bytes: a header holding UTF-8 (as curl sends it) is decoded as such,
    and percent-encoding (``%E6%A0%B8…``) is undone, so Chinese purposes arrive intact.
    """
    if query_value and query_value.strip():
        return query_value.strip()
    if not header_value:
        return ""
    text = header_value
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        text = text.encode("latin-1").decode("utf-8")
    return unquote(text).strip()
