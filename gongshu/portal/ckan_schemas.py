"""The CKAN Action API's input: loosely typed parameters, ``fq`` and ``sort`` expressions.

CKAN actions take one dict: the JSON body of a POST, or the query string of a GET (where
every value is text, and lists and dicts come as JSON text: ``facet.field=["tags"]``,
``filters={"district":"兰山区"}``). ``Params`` reads both alike.

``fq`` is a subset of the Solr syntax CKAN passes through (docs/ckan-api.md):

- terms ``field:value`` separated by spaces, all of which must hold (CKAN's default
  operator is AND; the words ``AND`` and ``&&`` may stand between terms);
- a leading ``+`` (required, the default) or ``-`` / ``NOT`` (excluded);
- a value is a bare word, a ``"quoted phrase"``, ``*`` (the field has any value) or a
  group ``(a OR b OR "c d")`` of which one must match;
- ``*:*`` matches everything; top-level ``OR`` is refused as unsupported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gongshu.errors import ValidationFailed
from gongshu.i18n import N_

MSG_NOT_INT = N_("参数 {name} 必须是整数")
MSG_NEGATIVE = N_("参数 {name} 不能小于 0")
MSG_NOT_LIST = N_("参数 {name} 必须是 JSON 数组")
MSG_NOT_DICT = N_("参数 {name} 必须是 JSON 对象")
MSG_NOT_TEXT = N_("参数 {name} 必须是文本")
MSG_NOT_BOOL = N_("参数 {name} 只接受 true 或 false")
MSG_MISSING = N_("缺少参数 {name}")
MSG_TOO_LONG = N_("参数 {name} 太长")
MSG_FQ_SYNTAX = N_("筛选表达式有误：{detail}")
MSG_FQ_FIELD = N_("不支持按“{field}”筛选；可用：{fields}")
MSG_FQ_OR = N_("筛选表达式只支持在括号内使用 OR，例如 tags:(交通 OR 出行)")
MSG_SORT_FIELD = N_("不支持按“{field}”排序；可用：{fields}")
MSG_SORT_DIRECTION = N_("排序方向只能是 asc 或 desc：{item}")

MAX_TEXT = 2000
_TRUE = frozenset({"true", "1", "yes", "on", "t"})
_FALSE = frozenset({"false", "0", "no", "off", "f", ""})


class SearchQueryFailed(ValidationFailed):
    """A ``q``/``fq``/``sort`` expression CKAN's search would refuse (``Search Query Error``)."""


def invalid(name: str, message: str) -> ValidationFailed:
    """A refusal of one parameter (its per-field message takes the same ``name``)."""
    return ValidationFailed(message, {name: [message]}, name=name)


class Params:
    """One action's parameters, from a JSON body or a query string."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = dict(data)

    def has(self, name: str) -> bool:
        return self.data.get(name) not in (None, "")

    def text(self, name: str, default: str = "") -> str:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool | dict | list):
            raise invalid(name, MSG_NOT_TEXT)
        text = str(value)
        if len(text) > MAX_TEXT:
            raise invalid(name, MSG_TOO_LONG)
        return text

    def required(self, name: str, *aliases: str) -> str:
        for key in (name, *aliases):
            if self.has(key):
                return self.text(key).strip()
        raise invalid(name, MSG_MISSING)

    def integer(
        self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None
    ) -> int:
        """An integer, ``default`` when absent; above ``maximum`` it is capped (as CKAN
        caps ``rows`` and ``limit`` silently), below ``minimum`` refused."""
        value = self.data.get(name)
        if value in (None, ""):
            return default
        if isinstance(value, bool):
            raise invalid(name, MSG_NOT_INT)
        try:
            number = int(str(value).strip())
        except ValueError:
            raise invalid(name, MSG_NOT_INT) from None
        if number < minimum:
            raise invalid(name, MSG_NEGATIVE)
        return number if maximum is None else min(number, maximum)

    def boolean(self, name: str, default: bool) -> bool:
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise invalid(name, MSG_NOT_BOOL)

    def json_value(self, name: str) -> Any:
        """A list or dict given as itself (JSON body) or as JSON text (query string)."""
        value = self.data.get(name)
        if isinstance(value, str):
            stripped = value.strip()
            if stripped[:1] in ("[", "{"):
                try:
                    return json.loads(stripped)
                except ValueError:
                    return value
        return value

    def string_list(self, name: str) -> list[str]:
        """A list of strings: a JSON array, or comma-separated text."""
        value = self.json_value(name)
        if value in (None, ""):
            return []
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return [v.strip() for v in value if v.strip()]
        raise invalid(name, MSG_NOT_LIST)

    def mapping(self, name: str) -> dict[str, Any]:
        value = self.json_value(name)
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise invalid(name, MSG_NOT_DICT)
        return {str(k): v for k, v in value.items()}


# --- fq ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One ``field:value`` condition: any of ``values`` matches (``*``: any value at all);
    ``negated`` for ``-field:value``."""

    field: str
    values: tuple[str, ...]
    negated: bool = False


_TOKEN = re.compile(r'\s*([+-]?)(?:([A-Za-z_][\w.]*):)?("(?:[^"\\]|\\.)*"|\([^)]*\)|[^\s()]+)')
_GROUP_ITEM = re.compile(r'"((?:[^"\\]|\\.)*)"|([^\s"]+)')


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return re.sub(r"\\(.)", r"\1", text)


def _group_values(text: str) -> tuple[str, ...]:
    inner = text[1:-1]
    values: list[str] = []
    expect_value = True
    for match in _GROUP_ITEM.finditer(inner):
        quoted, bare = match.group(1), match.group(2)
        if bare in ("OR", "||") and quoted is None:
            expect_value = True
            continue
        if not expect_value:
            raise SearchQueryFailed(MSG_FQ_OR)
        values.append(re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare)
        expect_value = False
    if not values:
        raise SearchQueryFailed(MSG_FQ_SYNTAX, detail=text[:100])
    return tuple(values)


def split_query(text: str, fields: frozenset[str]) -> tuple[list[Term], list[str]]:
    """The ``field:value`` terms of an expression (fields in ``fields``) and its free words.

    Used for ``fq`` (free words are refused there) and for ``q`` (free words are searched).
    """
    terms: list[Term] = []
    words: list[str] = []
    negate_next = False
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise SearchQueryFailed(MSG_FQ_SYNTAX, detail=text[pos : pos + 50])
        pos = match.end()
        sign, field, raw = match.group(1), match.group(2), match.group(3)
        if field is None and not sign and raw in ("AND", "&&"):
            continue
        if field is None and not sign and raw in ("OR", "||"):
            raise SearchQueryFailed(MSG_FQ_OR)
        if field is None and not sign and raw == "NOT":
            negate_next = True
            continue
        negated = sign == "-" or negate_next
        negate_next = False
        if field is None:
            if raw == "*:*":
                continue
            words.append(_unquote(raw))
            continue
        if field not in fields:
            raise SearchQueryFailed(
                MSG_FQ_FIELD, field=field[:50], fields=", ".join(sorted(fields))
            )
        values = _group_values(raw) if raw.startswith("(") else (_unquote(raw),)
        terms.append(Term(field, values, negated))
    return terms, words


def parse_fq(text: str, fields: frozenset[str]) -> list[Term]:
    """The terms of an ``fq`` expression; free words (no ``field:``) are refused."""
    terms, words = split_query(text.replace("*:*", " "), fields)
    if words:
        raise SearchQueryFailed(MSG_FQ_SYNTAX, detail=" ".join(words)[:100])
    return terms


def parse_sort(text: str, fields: frozenset[str]) -> list[tuple[str, bool]]:
    """``"score desc, metadata_modified desc"`` → [(field, descending), …]."""
    out: list[tuple[str, bool]] = []
    for item in text.split(","):
        parts = item.split()
        if not parts:
            continue
        if len(parts) > 2:
            raise SearchQueryFailed(MSG_SORT_DIRECTION, item=item.strip()[:50])
        name = parts[0]
        direction = parts[1].lower() if len(parts) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise SearchQueryFailed(MSG_SORT_DIRECTION, item=item.strip()[:50])
        if name not in fields:
            raise SearchQueryFailed(
                MSG_SORT_FIELD, field=name[:50], fields=", ".join(sorted(fields))
            )
        out.append((name, direction == "desc"))
    return out


__all__ = [
    "Params",
    "SearchQueryFailed",
    "Term",
    "invalid",
    "parse_fq",
    "parse_sort",
    "split_query",
]
