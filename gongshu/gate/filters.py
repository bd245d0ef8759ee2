"""Structured row filters: ``Filter(field, op, value)``, checked against a version's schema.

A filter never becomes SQL text: ``gongshu.store.rows`` compiles checked filters to
parameterised SQL for the serving index (SQLite) and for DuckDB, with every value a bound
parameter, ``LIKE`` patterns escaped and field names taken from the version's schema.

Operators:

==========  ===============================  =====================================
op          value                            matches rows whose field …
==========  ===============================  =====================================
eq          one value                        equals it
ne          one value                        differs from it, or is empty (null)
in          a list (1 … 1000 values)         equals one of them
lt le       one value                        is < / ≤ it (empty never matches)
gt ge       one value                        is > / ≥ it (empty never matches)
range       two values ``[low, high]``       lies between them, both included
prefix      text (text fields)               starts with it (case-sensitive)
contains    text (text fields)               contains it (case-sensitive)
null        —                                is empty
notnull     —                                is not empty
==========  ===============================  =====================================

Values may be given as Python values or as text (query strings carry text); ``check``
turns them into the field's type — ``int``, ``Decimal``, ``date``, ``datetime``, ``bool``
or ``str`` — or raises ``ValidationFailed`` with a message that names the field.

The data API's query syntax (datasette style) is ``?<field>__<op>=<value>``: the name is
split on its **last** ``__``; without one the op is ``eq``. ``in`` takes a comma list or a
JSON array, ``range`` takes ``low,high`` or a JSON array of two, ``null``/``notnull`` take
nothing (or ``1``/``true``; ``0``/``false`` turns ``null`` into ``notnull`` and back).
Parameters starting with ``_`` (``_sort``, ``_fields``, ``_limit``, ``_after``,
``_purpose`` …) are the caller's and are skipped by ``filters_from_query``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gongshu.catalog.models import FieldType
from gongshu.errors import ValidationFailed
from gongshu.i18n import N_
from gongshu.masking import pseudonym

__all__ = [
    "OPS",
    "Filter",
    "check",
    "filters_from_query",
    "from_plain",
    "matches",
    "plain",
]

OPS = (
    "eq",
    "ne",
    "in",
    "lt",
    "le",
    "gt",
    "ge",
    "range",
    "prefix",
    "contains",
    "null",
    "notnull",
)
TEXT_OPS = frozenset({"prefix", "contains"})
NO_VALUE_OPS = frozenset({"null", "notnull"})
COMPARE_OPS = frozenset({"lt", "le", "gt", "ge"})
HASHED_OPS = frozenset({"eq", "in"})
MAX_VALUES = 1000
MAX_VALUE_CHARS = 1000
MAX_FILTERS = 50
RESERVED_PREFIX = "_"
ROW_FIELD = "_row"
TEXT_TYPES = frozenset({FieldType.STRING, FieldType.TEXT})
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_QUANTUM = decimal.Decimal(1).scaleb(-6)
_TRUE = frozenset({"true", "1", "t", "yes"})
_FALSE = frozenset({"false", "0", "f", "no"})

MSG_UNKNOWN_FIELD = N_("数据中没有字段“{field}”")
MSG_BAD_OP = N_("不支持的筛选条件“{op}”")
MSG_BAD_VALUE = N_("“{value}”不是字段“{field}”的有效值")
MSG_TEXT_ONLY = N_("只有文本字段可以按开头或包含筛选：{field}")
MSG_TOO_MANY = N_("一次最多查询 {limit} 个值")
MSG_NO_VALUES = N_("字段“{field}”的 in 条件至少需要一个值")
MSG_RANGE = N_("字段“{field}”的 range 条件需要两个值：下限,上限")
MSG_EMPTY_VALUE = N_("字段“{field}”的筛选值不能为空，查空值请用 null")
MSG_LONG_VALUE = N_("筛选值最长 {limit} 个字符")
MSG_CONTROL = N_("筛选值不能包含控制字符")
MSG_TOO_MANY_FILTERS = N_("一次最多 {limit} 个筛选条件")
MSG_BAD_FLAG = N_("字段“{field}”的 {op} 条件只接受 true 或 false")
MSG_BAD_FIELD_NAME = N_("筛选参数“{name}”没有字段名")


@dataclass(frozen=True)
class Filter:
    """One condition on one field. ``value``: a scalar, a tuple (``in``; ``range``: two)
    or None (``null``/``notnull``). Lists given for ``value`` become tuples.

    ``hashed`` is set by the gate, never by a reader: the field is one the reader sees as a
    keyed pseudonym, so the values given are pseudonyms and are compared with the
    pseudonyms of the stored values (``eq``/``in`` only).
    """

    field: str
    op: str
    value: Any = None
    hashed: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.value, list):
            object.__setattr__(self, "value", tuple(self.value))

    def plain(self) -> list[Any]:
        """``[field, op, value]`` with JSON-safe values (audit entries, grants)."""
        return [self.field, self.op, _plain(self.value)]

    def with_value(self, value: Any) -> Filter:
        return Filter(self.field, self.op, value, self.hashed)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def plain(filters: Iterable[Filter]) -> list[list[Any]]:
    """Filters as ``[[field, op, value], …]``."""
    return [f.plain() for f in filters]


def from_plain(items: Iterable[Sequence[Any]]) -> tuple[Filter, ...]:
    """Filters from ``[[field, op, value], …]`` (a grant's ``row_filter``); shape only,
    ``check`` types the values."""
    out: list[Filter] = []
    for item in items:
        if not isinstance(item, list | tuple) or len(item) not in (2, 3):
            raise ValidationFailed(MSG_BAD_OP, op=str(item)[:100])
        name, op = str(item[0]), str(item[1])
        out.append(Filter(name, op, item[2] if len(item) == 3 else None))
    return tuple(out)


# --- query strings -------------------------------------------------------------------------


def _flag(name: str, op: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered == "" or lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValidationFailed(MSG_BAD_FLAG, field=name, op=op)


def _list_value(text: str) -> list[Any]:
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(
            v is None or isinstance(v, str | int | float | bool) for v in parsed
        ):
            return parsed
    return text.split(",")


def filters_from_query(pairs: Iterable[tuple[str, str]]) -> list[Filter]:
    """Filters from query-string pairs ``(<field>__<op>, value)``; ``_``-params skipped.

    Only the shape is read here; ``check`` validates names and values against a version.
    """
    out: list[Filter] = []
    for key, text in pairs:
        if key.startswith(RESERVED_PREFIX):
            continue
        name, sep, op = key.rpartition("__")
        if not sep:
            name, op = key, "eq"
        if not name:
            raise ValidationFailed(MSG_BAD_FIELD_NAME, name=key[:100])
        if op not in OPS:
            raise ValidationFailed(MSG_BAD_OP, op=op[:100])
        value: Any
        if op in NO_VALUE_OPS:
            if not _flag(name, op, text):
                op = "notnull" if op == "null" else "null"
            value = None
        elif op == "in":
            value = _list_value(text)
        elif op == "range":
            value = _list_value(text)
            if len(value) != 2:
                raise ValidationFailed(MSG_RANGE, field=name)
        else:
            value = text
        out.append(Filter(name, op, value))
        if len(out) > MAX_FILTERS:
            raise ValidationFailed(MSG_TOO_MANY_FILTERS, limit=MAX_FILTERS)
    return out


# --- typing values --------------------------------------------------------------------------


def _bad(name: str, value: Any) -> ValidationFailed:
    return ValidationFailed(MSG_BAD_VALUE, value=str(value)[:100], field=name)


def _text(name: str, value: Any) -> str:
    if isinstance(value, bool | dict | list | tuple) or value is None:
        raise _bad(name, value)
    text = str(value)
    if len(text) > MAX_VALUE_CHARS:
        raise ValidationFailed(MSG_LONG_VALUE, limit=MAX_VALUE_CHARS)
    if "\x00" in text:
        raise ValidationFailed(MSG_CONTROL)
    return text


def typed_value(field_type: str, name: str, value: Any) -> Any:
    """``value`` (Python or text) as a value of the field's type, or ``ValidationFailed``."""
    if value is None:
        raise ValidationFailed(MSG_EMPTY_VALUE, field=name)
    if field_type in TEXT_TYPES:
        return _text(name, value)
    if isinstance(value, dict | list | tuple):
        raise _bad(name, value)
    try:
        if field_type == FieldType.INTEGER:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            number = int(value.strip()) if isinstance(value, str) else int(value)
            if not _INT64_MIN <= number <= _INT64_MAX:
                raise ValueError(value)
            return number
        if field_type == FieldType.DECIMAL:
            if isinstance(value, bool):
                raise ValueError(value)
            exact = decimal.Decimal(str(value).strip())
            if not exact.is_finite() or exact.adjusted() > 30:
                raise ValueError(value)
            # The stored values have six decimals: compare with the value rounded likewise.
            return exact.quantize(_QUANTUM, decimal.ROUND_HALF_EVEN, decimal.Context(prec=60))
        if field_type == FieldType.DATE:
            if isinstance(value, dt.datetime):
                raise ValueError(value)
            if isinstance(value, dt.date):
                return value
            return dt.date.fromisoformat(str(value).strip())
        if field_type == FieldType.DATETIME:
            if isinstance(value, dt.datetime):
                moment = value
            elif isinstance(value, dt.date):
                raise ValueError(value)
            else:
                moment = dt.datetime.fromisoformat(str(value).strip())
            # Field datetimes carry no zone (as written): compare wall-clock times.
            return moment.replace(tzinfo=None, microsecond=0)
        if field_type == FieldType.BOOLEAN:
            if isinstance(value, bool):
                return value
            lowered = str(value).strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise ValueError(value)
    except (ValueError, TypeError, OverflowError, decimal.InvalidOperation) as exc:
        raise _bad(name, value) from exc
    raise _bad(name, value)


def field_types(schema: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Field name → type for a version's schema, plus ``_row`` (the source row number)."""
    types = {str(f["name"]): str(f["type"]) for f in schema}
    types[ROW_FIELD] = str(FieldType.INTEGER)
    return types


def check(filters: Iterable[Filter], schema: Sequence[Mapping[str, Any]]) -> tuple[Filter, ...]:
    """The filters with names checked against the schema and values typed.

    Each returned ``Filter`` names the schema's own field string and holds typed values
    (``in``: a tuple without duplicates; ``range``: ``(low, high)``; ``null``: None).
    """
    types = field_types(schema)
    names = {n: n for n in types}
    out: list[Filter] = []
    for item in filters:
        if not isinstance(item, Filter):
            raise ValidationFailed(MSG_BAD_OP, op=str(item)[:100])
        if len(out) >= MAX_FILTERS:
            raise ValidationFailed(MSG_TOO_MANY_FILTERS, limit=MAX_FILTERS)
        if not isinstance(item.field, str) or item.field not in names:
            raise ValidationFailed(MSG_UNKNOWN_FIELD, field=str(item.field)[:100])
        name = names[item.field]
        kind = types[name]
        op = item.op
        if op not in OPS:
            raise ValidationFailed(MSG_BAD_OP, op=str(op)[:100])
        value: Any
        if item.hashed and op not in HASHED_OPS:
            raise ValidationFailed(MSG_BAD_OP, op=op)
        if item.hashed:
            kind = str(FieldType.STRING)  # pseudonyms are text whatever the field holds
        if op in NO_VALUE_OPS:
            value = None
        elif op == "in":
            raw = item.value
            values = list(raw) if isinstance(raw, tuple | list) else [raw]
            if not values:
                raise ValidationFailed(MSG_NO_VALUES, field=name)
            if len(values) > MAX_VALUES:
                raise ValidationFailed(MSG_TOO_MANY, limit=MAX_VALUES)
            value = tuple(dict.fromkeys(typed_value(kind, name, v) for v in values))
        elif op == "range":
            raw = item.value
            if not isinstance(raw, tuple | list) or len(raw) != 2:
                raise ValidationFailed(MSG_RANGE, field=name)
            value = (typed_value(kind, name, raw[0]), typed_value(kind, name, raw[1]))
        else:
            if op in TEXT_OPS and kind not in TEXT_TYPES:
                raise ValidationFailed(MSG_TEXT_ONLY, field=name)
            value = typed_value(kind, name, item.value)
        out.append(Filter(name, op, value, item.hashed))
    return tuple(out)


# --- the reference meaning ---------------------------------------------------------------


def _holds(f: Filter, cell: Any, key: bytes | None) -> bool:
    op, value = f.op, f.value
    if f.hashed and cell is not None:
        if key is None:
            raise ValueError("a hashed filter needs the masking key")
        cell = pseudonym(str(cell), key)
    if op == "null":
        return cell is None
    if op == "notnull":
        return cell is not None
    if op == "ne":
        return cell is None or cell != value
    if cell is None:
        return False
    if op == "eq":
        return bool(cell == value)
    if op == "in":
        return cell in value
    if op == "lt":
        return bool(cell < value)
    if op == "le":
        return bool(cell <= value)
    if op == "gt":
        return bool(cell > value)
    if op == "ge":
        return bool(cell >= value)
    if op == "range":
        return bool(value[0] <= cell <= value[1])
    if op == "prefix":
        return str(cell).startswith(value)
    if op == "contains":
        return value in str(cell)
    raise ValidationFailed(MSG_BAD_OP, op=op)


def matches(filters: Iterable[Filter], row: Mapping[str, Any], *, key: bytes | None = None) -> bool:
    """Whether a row (typed Python values) meets every checked filter: the meaning the SQL
    compilations must have (the property tests compare them with this). ``key``: the
    masking key, for hashed filters."""
    return all(_holds(f, row.get(f.field), key) for f in filters)
