"""Writing catalog entries (目录条目) and their fields (信息项).

Each write checks who acts, validates the whole entry against the catalog rules, changes
the rows, records one audit entry with a per-field diff, and commits — all in one
transaction. The rules:

- only an agency officer (``catalog.edit_own``) of the owning agency creates or edits an
  entry; the entry belongs to the officer's agency and region;
- a conditional or not-shared entry cites a legal basis — without one it must be
  unconditional; conditional opening states its conditions, and an entry kept closed
  states a basis or reason unless its level allows nothing but closed;
- the level limits the share and open types (``gongshu.catalog.grading``);
- at least one field, unique field names, at least one key field, key fields required;
- a field's validation rules suit its data type: an identifier check or a pattern on
  string/text fields (the pattern compiles in Python and in RE2, which ingestion uses, so
  no backreferences or lookaround), allowed values on string fields (unique, within the
  field's length), a range on integer/decimal/date/datetime fields (bounds of that type,
  minimum not above maximum);
- related codes name existing entries;
- new entries start as drafts; only drafts and returned entries are edited directly (a
  published entry changes through the review workflow);
- ``lock_version`` turns a concurrent edit into a 409 instead of a silent overwrite.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from gongshu.audit import service as audit
from gongshu.auth.actor import Actor
from gongshu.auth.permissions import Perm, can, require, require_login
from gongshu.catalog import grading
from gongshu.catalog.classification import code_prefix, get_taxonomy, is_valid_code, make_code
from gongshu.catalog.models import (
    Dataset,
    DatasetState,
    Field,
    FieldType,
    OpenType,
    Sensitivity,
    ShareType,
)
from gongshu.catalog.queries import find_visible, visible_clause
from gongshu.catalog.schemas import (
    RANGE_TYPES,
    DatasetCreate,
    DatasetUpdate,
    FieldIn,
    parse_bound,
)
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.ingest.spec import IdentifierKind
from gongshu.labels import label
from gongshu.orgs.models import Agency

EDITABLE_STATES = frozenset({DatasetState.DRAFT, DatasetState.RETURNED})
MAX_CODE_ATTEMPTS = 5
TITLE_MAX = 200

# Entry attributes an officer edits (the code and its parts are fixed at creation).
ENTRY_ATTRS: tuple[str, ...] = (
    "title",
    "description",
    "domain",
    "format",
    "share_type",
    "share_conditions",
    "share_method",
    "open_type",
    "open_conditions",
    "level",
    "update_cycle",
    "legal_basis",
    "source_system",
    "published_on",
    "related_codes",
    "tags",
)
CREATE_ONLY_ATTRS: tuple[str, ...] = (
    "code",
    "agency_id",
    "region_id",
    "category_class",
    "item_code",
    "subitem_code",
    "detail_code",
    "sequence",
    "state",
)
RULE_ATTRS: tuple[str, ...] = ("identifier", "choices", "min_value", "max_value", "pattern")
FIELD_INPUT_ATTRS: tuple[str, ...] = (
    "label",
    "data_type",
    "length",
    "is_key",
    "required",
    "filterable",
    "sensitivity",
    "description",
    *RULE_ATTRS,
)
FIELD_ATTRS: tuple[str, ...] = ("position", *FIELD_INPUT_ATTRS)
_NULLABLE = frozenset({"published_on"})
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

NOT_FOUND = N_("目录条目不存在")
INVALID = N_("目录条目未通过校验，请按提示修改")
NO_AGENCY = N_("您的账号未关联机构，不能编制目录条目")
OTHER_AGENCY = N_("只能为本单位编制目录条目")
NOT_OWN = N_("只能修改本单位的目录条目")
AGENCY_INACTIVE = N_("机构不存在或已停用")
NOT_EDITABLE = N_("目录条目处于“{state}”状态，不能直接修改")
STALE = N_("目录条目已被他人修改，请刷新页面，在最新内容上重新修改")
CODE_BUSY = N_("生成信息资源代码时发生冲突，请重试")
TITLE_BLANK = N_("请填写信息资源名称")
TITLE_TOO_LONG = N_("信息资源名称不能超过 {max} 个字符")
LEGAL_BASIS_REQUIRED = N_(
    "共享属性为有条件共享或不予共享时，必须填写法律法规依据；没有依据的，应当列为无条件共享"
)
OPEN_CONDITIONS_REQUIRED = N_("开放属性为有条件开放时，必须填写开放条件（申请条件、使用范围等）")
OPEN_NONE_BASIS_REQUIRED = N_(
    "开放属性为不予开放时，必须填写法律法规依据，或在开放条件中写明不予开放的理由；"
    "没有依据的，应当列为无条件开放或有条件开放"
)
ITEM_UNKNOWN = N_("分类项“{item}”不在“{cls}”的分类表中")
NO_FIELDS = N_("至少需要一个信息项")
NO_KEY_FIELD = N_("至少需要一个关键信息项（主键）")
KEY_NOT_REQUIRED = N_("关键信息项必须为必填项")
FIELD_NAME_BAD = N_("信息项名称只能由小写字母、数字和下划线组成，并以字母开头")
FIELD_NAME_DUPLICATE = N_("信息项名称“{name}”重复")
FIELD_LABEL_BLANK = N_("请填写信息项的中文名称")
RELATED_BAD = N_("关联资源代码“{code}”格式不正确")
RELATED_SELF = N_("不能关联本条目自身")
RELATED_MISSING = N_("关联资源代码“{code}”不存在")

# Field rules (信息项校验规则)
TEXT_TYPES = frozenset({FieldType.STRING, FieldType.TEXT})
MAX_CHOICES = 500
CHOICE_MAX = 200
IDENTIFIER_LABELS: dict[IdentifierKind, str] = {
    IdentifierKind.CITIZEN_ID: N_("公民身份号码"),
    IdentifierKind.CREDIT_CODE: N_("统一社会信用代码"),
    IdentifierKind.MOBILE: N_("手机号码"),
    IdentifierKind.REGION_CODE: N_("行政区划代码"),
}
IDENTIFIER_LENGTHS: dict[IdentifierKind, int] = {
    IdentifierKind.CITIZEN_ID: 18,
    IdentifierKind.CREDIT_CODE: 18,
    IdentifierKind.MOBILE: 11,
    IdentifierKind.REGION_CODE: 6,
}
# The editor proposes these; what the officer then chooses is what is stored.
SUGGESTED_IDENTIFIERS: dict[Sensitivity, IdentifierKind] = {
    Sensitivity.ID_NUMBER: IdentifierKind.CITIZEN_ID,
    Sensitivity.CREDIT_CODE: IdentifierKind.CREDIT_CODE,
    Sensitivity.MOBILE: IdentifierKind.MOBILE,
}
IDENTIFIER_TYPE = N_("标识校验只适用于字符串或长文本类型的信息项")
IDENTIFIER_TOO_SHORT = N_("长度 {length} 容不下{kind}（{digits} 位）")
CHOICES_TYPE = N_("枚举值只适用于字符串类型的信息项")
CHOICES_TOO_MANY = N_("枚举值不能超过 {max} 个")
CHOICE_TOO_LONG = N_("枚举值“{value}”超过 {max} 个字符")
CHOICE_OVER_LENGTH = N_("枚举值“{value}”超过信息项长度 {length}")
CHOICE_DUPLICATE = N_("枚举值“{value}”重复")
CHOICE_NEWLINE = N_("枚举值不能包含换行符")
CHOICE_NOT_MATCHING = N_("枚举值“{value}”不符合正则表达式")
RANGE_TYPE = N_("取值范围只适用于整数、小数、日期和日期时间类型的信息项")
RANGE_BAD: dict[FieldType, str] = {
    FieldType.INTEGER: N_("应为整数，如 0"),
    FieldType.DECIMAL: N_("应为数字，如 99.5"),
    FieldType.DATE: N_("应为日期，如 2020-01-01"),
    FieldType.DATETIME: N_("应为日期时间，如 2020-01-01T00:00:00"),
}
RANGE_ORDER = N_("最小值不能大于最大值")
RANGE_ZONES = N_("最小值和最大值须同时带时区或同时不带时区")
PATTERN_TYPE = N_("正则表达式只适用于字符串或长文本类型的信息项")
PATTERN_INVALID = N_("正则表达式有误（第 {pos} 个字符附近）：{error}")
PATTERN_BACKREF = N_("正则表达式不能使用反向引用，入库校验使用的 RE2 引擎不支持")
PATTERN_LOOKAROUND = N_(
    "正则表达式不能使用前瞻或后顾断言（如 (?=…)），入库校验使用的 RE2 引擎不支持"
)
PATTERN_RE2 = N_("正则表达式使用了 RE2 引擎不支持的写法：{error}")
PATTERN_ESCAPE = N_("正则表达式中的 {escape} 转义 RE2 引擎不支持，请直接写出字符，如 [一-龥]")


# ---------------------------------------------------------------------------------------
# Reading one entry


def get_dataset(session: Session, actor: Actor | None, dataset_id: int) -> Dataset:
    """The entry, if it exists and the actor may read it; otherwise 404 (目录条目不存在)."""
    actor = require_login(actor)
    dataset = find_visible(session, actor, dataset_id)
    if dataset is None:
        raise NotFound(NOT_FOUND)
    return dataset


def can_edit(actor: Actor | None, dataset: Dataset) -> bool:
    """Whether the actor may edit this entry now (for showing the edit button)."""
    return (
        actor is not None
        and can(actor, Perm.CATALOG_EDIT_OWN)
        and actor.agency_id == dataset.agency_id
        and dataset.state in EDITABLE_STATES
    )


# ---------------------------------------------------------------------------------------
# Rules


def _add(errors: dict[str, list[str]], key: str, message: str, **params: object) -> None:
    errors.setdefault(key, []).append(translate(message).format(**params))


def _check_rules(
    session: Session,
    actor: Actor,
    values: dict[str, Any],
    fields: Sequence[FieldIn],
    own_code: str | None,
) -> dict[str, list[str]]:
    """Every rule of the module docstring; messages per field, in the current language."""
    errors: dict[str, list[str]] = {}
    title = (values.get("title") or "").strip()
    if not title:
        _add(errors, "title", TITLE_BLANK)
    elif len(title) > TITLE_MAX:
        _add(errors, "title", TITLE_TOO_LONG, max=TITLE_MAX)

    share_type = ShareType(values["share_type"])
    open_type = OpenType(values["open_type"])
    legal_basis = (values.get("legal_basis") or "").strip()
    open_conditions = (values.get("open_conditions") or "").strip()
    if share_type in (ShareType.CONDITIONAL, ShareType.NONE) and not legal_basis:
        _add(errors, "legal_basis", LEGAL_BASIS_REQUIRED)
    if open_type is OpenType.CONDITIONAL and not open_conditions:
        _add(errors, "open_conditions", OPEN_CONDITIONS_REQUIRED)
    rule = grading.get_table()[values["level"]]
    closed_by_level = rule.open == frozenset({OpenType.NONE})
    if open_type is OpenType.NONE and not closed_by_level and not (legal_basis or open_conditions):
        _add(errors, "open_conditions", OPEN_NONE_BASIS_REQUIRED)
    for key, messages in grading.violations(values["level"], share_type, open_type).items():
        errors.setdefault(key, []).extend(messages)

    _check_fields(errors, fields)
    _check_related(session, actor, errors, values.get("related_codes") or [], own_code)
    return errors


def _check_fields(errors: dict[str, list[str]], fields: Sequence[FieldIn]) -> None:
    if not fields:
        _add(errors, "fields", NO_FIELDS)
        return
    seen: set[str] = set()
    for i, f in enumerate(fields):
        if not _FIELD_NAME.fullmatch(f.name):
            _add(errors, f"fields.{i}.name", FIELD_NAME_BAD)
        elif f.name in seen:
            _add(errors, f"fields.{i}.name", FIELD_NAME_DUPLICATE, name=f.name)
        seen.add(f.name)
        if not f.label.strip():
            _add(errors, f"fields.{i}.label", FIELD_LABEL_BLANK)
        if f.is_key and not f.required:
            _add(errors, f"fields.{i}.required", KEY_NOT_REQUIRED)
        _check_field_rules(errors, f"fields.{i}.", f)
    if not any(f.is_key for f in fields):
        _add(errors, "fields", NO_KEY_FIELD)


def _check_field_rules(errors: dict[str, list[str]], prefix: str, f: FieldIn) -> None:
    """The rules of one field suit its data type (see the module docstring)."""
    if f.identifier:
        kind = IdentifierKind(f.identifier)
        digits = IDENTIFIER_LENGTHS[kind]
        if f.data_type not in TEXT_TYPES:
            _add(errors, prefix + "identifier", IDENTIFIER_TYPE)
        elif f.length is not None and f.length < digits:
            _add(
                errors,
                prefix + "identifier",
                IDENTIFIER_TOO_SHORT,
                length=f.length,
                kind=translate(IDENTIFIER_LABELS[kind]),
                digits=digits,
            )
    pattern_ok = False
    if f.pattern is not None:
        if f.data_type not in TEXT_TYPES:
            _add(errors, prefix + "pattern", PATTERN_TYPE)
        else:
            problem = pattern_problem(f.pattern)
            if problem is not None:
                errors.setdefault(prefix + "pattern", []).append(problem)
            pattern_ok = problem is None
    if f.choices:
        _check_choices(errors, prefix + "choices", f, pattern_ok)
    if f.min_value is not None or f.max_value is not None:
        _check_range(errors, prefix, f)


def _check_choices(errors: dict[str, list[str]], key: str, f: FieldIn, pattern_ok: bool) -> None:
    if f.data_type is not FieldType.STRING:
        _add(errors, key, CHOICES_TYPE)
        return
    if len(f.choices) > MAX_CHOICES:
        _add(errors, key, CHOICES_TOO_MANY, max=MAX_CHOICES)
        return
    compiled = re.compile(f.pattern) if pattern_ok and f.pattern is not None else None
    seen: set[str] = set()
    for value in f.choices:
        shown = value if len(value) <= 20 else value[:20] + "…"
        if "\n" in value or "\r" in value:
            _add(errors, key, CHOICE_NEWLINE)
        elif len(value) > CHOICE_MAX:
            _add(errors, key, CHOICE_TOO_LONG, value=shown, max=CHOICE_MAX)
        elif f.length is not None and len(value) > f.length:
            _add(errors, key, CHOICE_OVER_LENGTH, value=shown, length=f.length)
        elif value in seen:
            _add(errors, key, CHOICE_DUPLICATE, value=shown)
        elif compiled is not None and compiled.fullmatch(value) is None:
            _add(errors, key, CHOICE_NOT_MATCHING, value=shown)
        seen.add(value)


def _check_range(errors: dict[str, list[str]], prefix: str, f: FieldIn) -> None:
    if f.data_type not in RANGE_TYPES:
        key = "min_value" if f.min_value is not None else "max_value"
        _add(errors, prefix + key, RANGE_TYPE)
        return
    bounds: list[Any] = []
    for key in ("min_value", "max_value"):
        text = getattr(f, key)
        if text is None:
            continue
        value = parse_bound(f.data_type, text)
        if value is None:
            _add(errors, prefix + key, RANGE_BAD[f.data_type])
        else:
            bounds.append(value)
    if len(bounds) == 2:
        low, high = bounds
        try:
            if low > high:
                _add(errors, prefix + "max_value", RANGE_ORDER)
        except TypeError:  # a zone-aware and a naive datetime do not compare
            _add(errors, prefix + "max_value", RANGE_ZONES)


# Python's own regular-expression parser (private, hence imported by name) tells the
# constructs RE2 refuses apart exactly, where a scan of the text would trip on escapes.
_sre: Any = importlib.import_module("re._parser")
_BACKREF_OPS = frozenset({"GROUPREF", "GROUPREF_EXISTS", "GROUPREF_IGNORE", "GROUPREF_LOC_IGNORE"})
_LOOKAROUND_OPS = frozenset({"ASSERT", "ASSERT_NOT"})


def _regex_ops(parsed: Any) -> set[str]:
    """The names of every operation in a parsed pattern, nested groups included."""
    found: set[str] = set()
    stack: list[Any] = [parsed]
    while stack:
        item = stack.pop()
        if isinstance(item, _sre.SubPattern):
            for op, av in item.data:
                found.add(str(op))
                stack.append(av)
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return found


def pattern_problem(pattern: str) -> str | None:
    """Why a field's pattern cannot be used (in the current language), or None.

    It must compile in Python and in RE2, the engine of pyarrow's string functions that
    ingestion matches whole values with (``^(?:pattern)$``).
    """
    try:
        ops = _regex_ops(_sre.parse(pattern))
        re.compile(pattern)
    except re.error as exc:
        pos = (exc.pos or 0) + 1
        return translate(PATTERN_INVALID).format(pos=pos, error=exc.msg)
    except (RecursionError, OverflowError) as exc:
        return translate(PATTERN_INVALID).format(pos=1, error=str(exc))
    if ops & _BACKREF_OPS:
        return translate(PATTERN_BACKREF)
    if ops & _LOOKAROUND_OPS:
        return translate(PATTERN_LOOKAROUND)
    import pyarrow as pa  # only when a pattern is checked: pages need not load it
    import pyarrow.compute as pc

    try:
        pc.match_substring_regex(pa.array([""], pa.string()), pattern=f"^(?:{pattern})$")
    except pa.ArrowInvalid as exc:
        error = str(exc).removeprefix("Invalid regular expression: ")
        # Python's \u4e00, \U0001F600 and \N{name} are common in patterns copied from the web.
        escape = error.removeprefix("invalid escape sequence: ")
        if escape in ("\\u", "\\U", "\\N"):
            return translate(PATTERN_ESCAPE).format(escape=escape + "XXXX")
        return translate(PATTERN_RE2).format(error=error)
    return None


def _check_related(
    session: Session,
    actor: Actor,
    errors: dict[str, list[str]],
    codes: Sequence[str],
    own_code: str | None,
) -> None:
    wanted: list[str] = []
    for code in codes:
        if not is_valid_code(code):
            _add(errors, "related_codes", RELATED_BAD, code=code)
        elif own_code is not None and code == own_code:
            _add(errors, "related_codes", RELATED_SELF)
        else:
            wanted.append(code)
    if not wanted:
        return
    found = set(
        session.scalars(select(Dataset.code).where(Dataset.code.in_(wanted), visible_clause(actor)))
    )
    for code in wanted:
        if code not in found:
            _add(errors, "related_codes", RELATED_MISSING, code=code)


def _dedupe(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))


# ---------------------------------------------------------------------------------------
# Audit snapshots


def _field_snapshot(f: Field) -> dict[str, Any]:
    return audit.snapshot(f, FIELD_ATTRS)


def _changes(
    before: dict[str, Any],
    before_fields: dict[str, dict[str, Any]],
    after: dict[str, Any],
    after_fields: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """Entry attributes as ``{attr: [old, new]}``, fields as ``fields.<name>.<attr>``;
    an added or removed field as ``fields.<name>: [null, {…}]`` / ``[{…}, null]``.
    """
    old, new = dict(before), dict(after)
    for name, snap in before_fields.items():
        if name in after_fields:
            old.update({f"fields.{name}.{k}": v for k, v in snap.items()})
        else:
            old[f"fields.{name}"] = snap
    for name, snap in after_fields.items():
        if name in before_fields:
            new.update({f"fields.{name}.{k}": v for k, v in snap.items()})
        else:
            new[f"fields.{name}"] = snap
    return audit.diff(old, new)


def _filled(values: dict[str, Any]) -> dict[str, Any]:
    """The values that say something (a new entry's empty texts and lists are left out)."""
    return {k: v for k, v in values.items() if v not in (None, "", [])}


def _fields_of(dataset: Dataset) -> dict[str, dict[str, Any]]:
    return {f.name: _field_snapshot(f) for f in dataset.fields}


# ---------------------------------------------------------------------------------------
# Writes


def _next_sequence(session: Session, dataset: Dataset) -> int:
    """The next free sequence number for the entry's classification prefix."""
    current = session.scalar(
        select(func.max(Dataset.sequence)).where(
            Dataset.category_class == dataset.category_class,
            Dataset.item_code == dataset.item_code,
            Dataset.subitem_code == dataset.subitem_code,
            Dataset.detail_code == dataset.detail_code,
        )
    )
    return int(current or 0) + 1


def _insert_with_code(session: Session, dataset: Dataset) -> None:
    """Give the entry the next free code and insert it; retry when a concurrent writer
    took the same code between our read and our insert (the unique index tells us).
    """
    prefix = code_prefix(
        dataset.category_class, dataset.item_code, dataset.subitem_code, dataset.detail_code
    )
    for _attempt in range(MAX_CODE_ATTEMPTS):
        dataset.sequence = _next_sequence(session, dataset)
        dataset.code = make_code(prefix, dataset.sequence)
        try:
            with session.begin_nested():
                session.add(dataset)
                session.flush()
        except IntegrityError:
            continue
        return
    raise Conflict(CODE_BUSY)


def _field_value(fin: FieldIn, attr: str) -> Any:
    value = getattr(fin, attr)
    if attr == "identifier":
        return str(value)  # stored as the plain code ("" for none)
    if attr == "choices":
        return list(value)
    return value


def _set_field(f: Field, fin: FieldIn) -> None:
    for attr in FIELD_INPUT_ATTRS:
        setattr(f, attr, _field_value(fin, attr))


def _new_field(fin: FieldIn, position: int) -> Field:
    f = Field(name=fin.name, position=position)
    _set_field(f, fin)
    return f


def create_dataset(session: Session, actor: Actor | None, data: DatasetCreate) -> Dataset:
    """Create a draft catalog entry for the officer's own agency and give it its code.

    Only agency officers (``catalog.edit_own``) may call this, for their own agency.
    """
    actor = require(actor, Perm.CATALOG_EDIT_OWN)
    if actor.agency_id is None:
        raise PermissionDenied(NO_AGENCY)
    agency_id = data.agency_id if data.agency_id is not None else actor.agency_id
    if agency_id != actor.agency_id:
        raise PermissionDenied(OTHER_AGENCY)
    agency = session.get(Agency, agency_id)
    if agency is None or not agency.is_active:
        raise ValidationFailed(INVALID, {"agency_id": [translate(AGENCY_INACTIVE)]})

    values: dict[str, Any] = {name: getattr(data, name) for name in ENTRY_ATTRS}
    values["related_codes"] = _dedupe(data.related_codes)
    values["tags"] = _dedupe(data.tags)
    values["title"] = data.title.strip()
    errors = _check_rules(session, actor, values, data.fields, own_code=None)
    if get_taxonomy().item_name(data.category_class, data.item_code) is None:
        _add(errors, "item_code", ITEM_UNKNOWN, item=data.item_code, cls=label(data.category_class))
    if errors:
        raise ValidationFailed(INVALID, errors)

    with unit_of_work(session):
        dataset = Dataset(
            **values,
            agency_id=agency.id,
            region_id=agency.region_id,
            category_class=data.category_class,
            item_code=data.item_code,
            subitem_code=data.subitem_code,
            detail_code=data.detail_code,
            state=DatasetState.DRAFT,
            created_by_id=actor.user_id,
            fields=[_new_field(f, i) for i, f in enumerate(data.fields)],
        )
        _insert_with_code(session, dataset)
        after = audit.snapshot(dataset, (*CREATE_ONLY_ATTRS, *ENTRY_ATTRS))
        audit.record(
            session,
            actor,
            "dataset.create",
            "dataset",
            dataset.id,
            label=f"{dataset.code} {dataset.title}",
            changes=_changes({}, {}, _filled(after), _fields_of(dataset)),
        )
    return dataset


def update_dataset(
    session: Session, actor: Actor | None, dataset_id: int, data: DatasetUpdate
) -> Dataset:
    """Edit a draft or returned entry of the officer's own agency.

    Attributes not given stay as they are; ``fields``, when given, replaces the list
    (fields are matched by name). A stale ``lock_version`` is a 409.
    """
    actor = require(actor, Perm.CATALOG_EDIT_OWN)
    dataset = get_dataset(session, actor, dataset_id)
    if dataset.agency_id != actor.agency_id:
        raise PermissionDenied(NOT_OWN)
    # Compare lock_version with the row as it is now, and hold it until we commit.
    session.refresh(dataset, with_for_update=True)
    if data.lock_version is not None and data.lock_version != dataset.lock_version:
        raise Conflict(STALE)
    if dataset.state not in EDITABLE_STATES:
        raise Conflict(NOT_EDITABLE, state=label(dataset.state))
    prepared = prepare_update(session, actor, dataset, data)
    try:
        with unit_of_work(session):
            changes = apply_update(session, dataset, prepared)
            if not changes:
                return dataset
            audit.record(
                session,
                actor,
                "dataset.update",
                "dataset",
                dataset.id,
                label=f"{dataset.code} {dataset.title}",
                changes=changes,
            )
    except StaleDataError as exc:
        raise Conflict(STALE) from exc
    return dataset


class PreparedUpdate:
    """An edit that passed every catalog rule, ready for ``apply_update``."""

    def __init__(self, values: dict[str, Any], fields: list[FieldIn], replace_fields: bool) -> None:
        self.values = values
        self.fields = fields
        self.replace_fields = replace_fields


def prepare_update(
    session: Session, actor: Actor, dataset: Dataset, data: DatasetUpdate
) -> PreparedUpdate:
    """Merge an edit into the entry's current values and check every rule of the module
    docstring against the result; ``ValidationFailed`` (422) when one is broken.

    It checks no permission and no state: ``update_dataset`` does that for direct edits,
    the change-request workflow (``gongshu.catalog.workflow``) for published entries.
    """
    values: dict[str, Any] = {name: getattr(dataset, name) for name in ENTRY_ATTRS}
    for name in data.model_fields_set & set(ENTRY_ATTRS):
        value = getattr(data, name)
        if value is not None or name in _NULLABLE:
            values[name] = value
    values["related_codes"] = _dedupe(values["related_codes"] or [])
    values["tags"] = _dedupe(values["tags"] or [])
    values["title"] = str(values["title"]).strip()
    fields_in: list[FieldIn] = (
        list(data.fields)
        if data.fields is not None
        else [FieldIn.model_validate(f, from_attributes=True) for f in dataset.fields]
    )
    errors = _check_rules(session, actor, values, fields_in, own_code=dataset.code)
    if errors:
        raise ValidationFailed(INVALID, errors)
    return PreparedUpdate(values, fields_in, replace_fields=data.fields is not None)


def apply_update(session: Session, dataset: Dataset, prepared: PreparedUpdate) -> dict[str, Any]:
    """Write a prepared edit onto the entry (inside the caller's transaction) and return
    the audit diff; an empty diff means nothing changed and nothing was written.
    """
    before = audit.snapshot(dataset, ENTRY_ATTRS)
    before_fields = _fields_of(dataset)
    for name, value in prepared.values.items():
        setattr(dataset, name, value)
    if prepared.replace_fields:
        existing = {f.name: f for f in dataset.fields}
        new_list: list[Field] = []
        for position, fin in enumerate(prepared.fields):
            f = existing.get(fin.name)
            if f is None:
                f = _new_field(fin, position)
            else:
                _set_field(f, fin)
                f.position = position
            new_list.append(f)
        dataset.fields = new_list
    changes = _changes(
        before, before_fields, audit.snapshot(dataset, ENTRY_ATTRS), _fields_of(dataset)
    )
    if changes:
        # Touch the entry row so that its lock_version moves even when only fields changed.
        dataset.updated_at = utcnow()
        session.flush()
    return changes


def preview_update(dataset: Dataset, prepared: PreparedUpdate) -> dict[str, Any]:
    """What ``apply_update`` would change, as the same diff, without touching the entry
    (a change request shows it to its reviewers while the published entry stays as is).
    """
    before = audit.snapshot(dataset, ENTRY_ATTRS)
    after = {name: audit.plain(value) for name, value in prepared.values.items()}
    before_fields = _fields_of(dataset)
    after_fields = before_fields
    if prepared.replace_fields:
        after_fields = {
            fin.name: {
                "position": position,
                **{attr: audit.plain(getattr(fin, attr)) for attr in FIELD_INPUT_ATTRS},
            }
            for position, fin in enumerate(prepared.fields)
        }
    return _changes(before, before_fields, after, after_fields)
