"""Catalog pages: the list, the entry form (new and edit) and an entry's page with its
fields and history. They parse, call one service or query, and render; every rule lives in
``gongshu.catalog.service``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from gongshu.audit import service as audit
from gongshu.auth.actor import Actor
from gongshu.auth.permissions import Perm, can, require
from gongshu.catalog import changes, grading, queries, service, workflow
from gongshu.catalog.classification import CLASS_DIGITS, get_taxonomy
from gongshu.catalog.models import (
    CategoryClass,
    Dataset,
    DatasetState,
    FieldType,
    Level,
    OpenType,
    ResourceFormat,
    Sensitivity,
    ShareType,
    UpdateCycle,
)
from gongshu.catalog.schemas import DatasetCreate, DatasetUpdate
from gongshu.errors import Conflict, PermissionDenied, ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.labels import label
from gongshu.validation import parse
from gongshu.web.deps import ActorDep, CsrfDep, SessionDep
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)

BLANK_ROWS = 3
MIN_ROWS = 5
_ROW_KEY = re.compile(r"^fields-(\d{1,3})-([a-z_]+)$")
_ROW_TEXT = ("name", "label", "length", "description", "min_value", "max_value", "pattern")
_ROW_BOOLS = ("is_key", "required", "filterable")

ATTR_LABELS: dict[str, str] = {
    "code": N_("信息资源代码"),
    "title": N_("信息资源名称"),
    "description": N_("信息资源摘要"),
    "agency_id": N_("信息资源提供方"),
    "region_id": N_("所属区域"),
    "category_class": N_("信息资源分类"),
    "item_code": N_("分类项"),
    "subitem_code": N_("分类目"),
    "detail_code": N_("分类细目"),
    "sequence": N_("顺序号"),
    "state": N_("状态"),
    "domain": N_("所属领域"),
    "format": N_("信息资源格式"),
    "share_type": N_("共享属性"),
    "share_conditions": N_("共享条件"),
    "share_method": N_("共享方式"),
    "open_type": N_("开放属性"),
    "open_conditions": N_("开放条件"),
    "level": N_("数据分级"),
    "update_cycle": N_("更新周期"),
    "legal_basis": N_("法律法规依据"),
    "source_system": N_("来源系统"),
    "published_on": N_("发布日期"),
    "related_codes": N_("关联资源代码"),
    "tags": N_("标签"),
    "review_comment": N_("审核意见"),
    "due_on": N_("审核期限"),
    "rule": N_("期限规则"),
    "change_request": N_("变更申请"),
}
FIELD_ATTR_LABELS: dict[str, str] = {
    "position": N_("序号"),
    "label": N_("中文名称"),
    "data_type": N_("数据类型"),
    "length": N_("长度"),
    "is_key": N_("关键项"),
    "required": N_("必填"),
    "filterable": N_("可筛选"),
    "sensitivity": N_("敏感类型"),
    "description": N_("说明"),
    "identifier": N_("标识校验"),
    "choices": N_("枚举值"),
    "min_value": N_("最小值"),
    "max_value": N_("最大值"),
    "pattern": N_("正则表达式"),
}
ACTION_LABELS: dict[str, str] = {
    "dataset.create": N_("创建条目"),
    "dataset.update": N_("修改条目"),
    "dataset.submit": N_("提交审核"),
    "dataset.recall": N_("撤回"),
    "dataset.approve": N_("审核通过"),
    "dataset.return": N_("退回"),
    "dataset.publish": N_("发布"),
    "dataset.modify": N_("按变更申请修改"),
    "dataset.withdraw": N_("按变更申请删减"),
}
FIELD_PREFIX = N_("信息项 {name}")
NO_IDENTIFIER = N_("不校验")
EMPTY = N_("（空）")
YES = N_("是")
NO = N_("否")
LIST_SEP = N_("、")
PART_SEP = N_("；")
NAMED_VALUE = N_("{name}：{value}")
_CODED = frozenset(
    {
        "format",
        "share_type",
        "open_type",
        "level",
        "update_cycle",
        "state",
        "category_class",
        "data_type",
        "sensitivity",
    }
)


def _identifier_labels() -> dict[str, str]:
    return {k.value: translate(v) for k, v in service.IDENTIFIER_LABELS.items()}


def _options(values: Any, blank: str | None = None) -> list[tuple[str, str]]:
    options = [(v.value, label(v)) for v in values]
    return [("", blank), *options] if blank is not None else options


def _vocabulary() -> dict[str, Any]:
    """Everything the form and the filters offer, in the current language."""
    taxonomy = get_taxonomy()
    return {
        "classification_groups": [
            (f"{digit} {label(cls)}", [(f"{cls.value}:{c}", t) for c, t in taxonomy.choices(cls)])
            for cls, digit in CLASS_DIGITS.items()
        ],
        "class_options": _options(CategoryClass),
        "format_options": _options(ResourceFormat),
        "share_options": _options(ShareType),
        "open_options": _options(OpenType),
        "level_options": _options(reversed(list(Level))),
        "cycle_options": _options(UpdateCycle),
        "state_options": _options(DatasetState),
        "type_options": _options(FieldType),
        "sensitivity_options": _options(Sensitivity),
        "identifier_options": [
            ("", translate(NO_IDENTIFIER)),
            *((k.value, translate(v)) for k, v in service.IDENTIFIER_LABELS.items()),
        ],
        "identifier_labels": _identifier_labels(),
        "identifier_suggestions": {
            sens.value: kind.value for sens, kind in service.SUGGESTED_IDENTIFIERS.items()
        },
        "grading_rows": [
            (label(Level(level)), [label(s) for s in row["share"]], [label(o) for o in row["open"]])
            for level, row in grading.as_json().items()
        ],
    }


# ---------------------------------------------------------------------------------------
# The form


def _may_create(actor: Actor) -> bool:
    return actor.agency_id is not None and can(actor, Perm.CATALOG_EDIT_OWN)


def _require_creator(actor: Actor) -> Actor:
    require(actor, Perm.CATALOG_EDIT_OWN)
    if actor.agency_id is None:
        raise PermissionDenied(service.NO_AGENCY)
    return actor


def _blank_row() -> dict[str, Any]:
    return {
        "name": "",
        "label": "",
        "data_type": "string",
        "length": "",
        "is_key": False,
        "required": False,
        "filterable": False,
        "sensitivity": "none",
        "description": "",
        "identifier": "",
        "choices": "",
        "min_value": "",
        "max_value": "",
        "pattern": "",
    }


def _padded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    count = max(MIN_ROWS, len(rows) + BLANK_ROWS)
    return rows + [_blank_row() for _ in range(count - len(rows))]


def _rows_from_form(form: FormData) -> list[dict[str, Any]]:
    """The filled-in rows of the fields table, in order; blank rows are left out."""
    by_index: dict[int, dict[str, Any]] = {}
    for key, value in form.multi_items():
        match = _ROW_KEY.match(key)
        if match is None or not isinstance(value, str):
            continue
        row = by_index.setdefault(int(match.group(1)), _blank_row())
        attr = match.group(2)
        if attr in _ROW_BOOLS:
            row[attr] = True
        elif attr in row:
            row[attr] = value.strip() if attr in _ROW_TEXT else value
    rows = [by_index[i] for i in sorted(by_index)]
    said = ("name", "label", "description", "length", *service.RULE_ATTRS)
    return [r for r in rows if any(r[attr] for attr in said)]


def split_choices(text: str) -> list[str]:
    """Allowed values as typed in the editor: one per line."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _form_values(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str) and not k.startswith("fields-")}


def _payload(values: Mapping[str, str], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The form as the input schema expects it."""
    # The plain text attributes; the lists, the date and the fields are parsed below.
    special = {"published_on", "related_codes", "tags"}
    payload: dict[str, Any] = {
        k: values.get(k, "") for k in service.ENTRY_ATTRS if k not in special
    }
    payload["published_on"] = values.get("published_on") or None
    payload["related_codes"] = queries.split_list(values.get("related_codes", ""))
    payload["tags"] = queries.split_list(values.get("tags", ""))
    payload["fields"] = [
        {**r, "length": r["length"] or None, "choices": split_choices(r["choices"])} for r in rows
    ]
    return payload


def _render_form(
    request: Request,
    *,
    dataset: Dataset | None,
    values: Mapping[str, Any],
    rows: list[dict[str, Any]],
    errors: Mapping[str, list[str]] | None = None,
    form_error: str = "",
    status_code: int = 200,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    return render(
        request,
        "catalog/form.html",
        {
            "dataset": dataset,
            "values": values,
            "rows": _padded(rows),
            "errors": dict(errors or {}),
            "form_error": form_error,
            "change_mode": False,
            **_vocabulary(),
            **(extra or {}),
        },
        status_code=status_code,
    )


_NEW_DEFAULTS: dict[str, str] = {
    "classification": "",
    "subitem_code": "001",
    "detail_code": "",
    "format": "database",
    "share_type": "unconditional",
    "open_type": "unconditional",
    "level": "general_1",
    "update_cycle": "irregular",
}


@router.get("/catalog/new", response_class=HTMLResponse)
def new_form(request: Request, actor: ActorDep) -> Response:
    _require_creator(actor)
    return _render_form(request, dataset=None, values=_NEW_DEFAULTS, rows=[])


@router.post("/catalog/new", response_class=HTMLResponse, dependencies=[CsrfDep])
async def create(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    _require_creator(actor)
    form = await request.form()
    values = _form_values(form)
    rows = _rows_from_form(form)
    payload = _payload(values, rows)
    cls, _sep, item = values.get("classification", "").partition(":")
    payload.update(
        category_class=cls,
        item_code=item,
        subitem_code=values.get("subitem_code", ""),
        detail_code=values.get("detail_code", "").upper(),
    )
    try:
        dataset = service.create_dataset(session, actor, parse(DatasetCreate, payload))
    except ValidationFailed as exc:
        errors = exc.localized_errors()
        for key in ("category_class", "item_code"):
            if key in errors:
                errors.setdefault("classification", []).extend(errors.pop(key))
        return _render_form(
            request,
            dataset=None,
            values=values,
            rows=rows,
            errors=errors,
            form_error=exc.localized(),
            status_code=422,
        )
    return RedirectResponse(f"/catalog/{dataset.id}", status_code=303)


def _values_of(dataset: Dataset) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(dataset, name) for name in service.ENTRY_ATTRS}
    for name in ("format", "share_type", "open_type", "level", "update_cycle"):
        values[name] = values[name].value
    values["published_on"] = dataset.published_on.isoformat() if dataset.published_on else ""
    values["related_codes"] = " ".join(str(c) for c in dataset.related_codes)
    values["tags"] = " ".join(str(t) for t in dataset.tags)
    values["lock_version"] = dataset.lock_version
    return values


def _rows_of(dataset: Dataset) -> list[dict[str, Any]]:
    return [
        {
            "name": f.name,
            "label": f.label,
            "data_type": f.data_type.value,
            "length": "" if f.length is None else str(f.length),
            "is_key": f.is_key,
            "required": f.required,
            "filterable": f.filterable,
            "sensitivity": f.sensitivity.value,
            "description": f.description,
            "identifier": f.identifier,
            "choices": "\n".join(str(c) for c in f.choices),
            "min_value": f.min_value or "",
            "max_value": f.max_value or "",
            "pattern": f.pattern or "",
        }
        for f in dataset.fields
    ]


def _require_editor(actor: Actor, dataset: Dataset) -> None:
    require(actor, Perm.CATALOG_EDIT_OWN)
    if dataset.agency_id != actor.agency_id:
        raise PermissionDenied(service.NOT_OWN)
    if dataset.state not in service.EDITABLE_STATES:
        raise Conflict(service.NOT_EDITABLE, state=label(dataset.state))


@router.get("/catalog/{dataset_id}/edit", response_class=HTMLResponse)
def edit_form(request: Request, session: SessionDep, actor: ActorDep, dataset_id: int) -> Response:
    dataset = service.get_dataset(session, actor, dataset_id)
    _require_editor(actor, dataset)
    return _render_form(
        request, dataset=dataset, values=_values_of(dataset), rows=_rows_of(dataset)
    )


@router.post("/catalog/{dataset_id}/edit", response_class=HTMLResponse, dependencies=[CsrfDep])
async def edit(request: Request, session: SessionDep, actor: ActorDep, dataset_id: int) -> Response:
    dataset = service.get_dataset(session, actor, dataset_id)
    form = await request.form()
    values = _form_values(form)
    rows = _rows_from_form(form)
    payload = _payload(values, rows)
    payload["lock_version"] = values.get("lock_version") or None
    try:
        service.update_dataset(session, actor, dataset.id, parse(DatasetUpdate, payload))
    except ValidationFailed as exc:
        return _render_form(
            request,
            dataset=dataset,
            values=values,
            rows=rows,
            errors=exc.localized_errors(),
            form_error=exc.localized(),
            status_code=422,
        )
    except Conflict as exc:
        return _render_form(
            request,
            dataset=dataset,
            values=values,
            rows=rows,
            form_error=exc.localized(),
            status_code=409,
        )
    return RedirectResponse(f"/catalog/{dataset.id}", status_code=303)


# ---------------------------------------------------------------------------------------
# An entry's page


def _show(attr: str, value: Any, names: Mapping[str, Mapping[Any, str]] | None = None) -> str:
    """A value from an audit diff, as a reader wants to see it."""
    if value is None or value == "" or value == []:
        return translate(EMPTY)
    if names and attr in names and value in names[attr]:
        return names[attr][value]
    if attr == "identifier" and isinstance(value, str):
        return _identifier_labels().get(value, value)
    if isinstance(value, bool):
        return translate(YES) if value else translate(NO)
    if attr == "position" and isinstance(value, int):
        return str(value + 1)  # stored from 0, shown from 1
    if isinstance(value, list):
        return translate(LIST_SEP).join(str(v) for v in value)
    if isinstance(value, dict):  # an added or removed field: its filled-in attributes
        parts = [
            translate(NAMED_VALUE).format(
                name=translate(FIELD_ATTR_LABELS.get(str(k), str(k))), value=_show(str(k), v)
            )
            for k, v in value.items()
            if k != "position" and v not in (None, "", False, "none", [])
        ]
        return translate(PART_SEP).join(parts)
    if attr in _CODED:
        return label(str(value))
    return str(value)


_ORDER = {name: i for i, name in enumerate(ATTR_LABELS)}


def _sort_key(key: str) -> tuple[int, str]:
    if key.startswith("fields."):
        return (len(_ORDER), key)
    return (_ORDER.get(key, len(_ORDER)), key)


def _change_rows(
    changes: Mapping[str, Any], names: Mapping[str, Mapping[Any, str]]
) -> list[tuple[str, str, str]]:
    """``(what, old, new)`` per changed attribute, in the form's order, fields last."""
    rows: list[tuple[str, str, str]] = []
    for key in sorted(changes, key=_sort_key):
        pair = changes[key]
        old, new = [*pair, None, None][:2] if isinstance(pair, list) else (None, pair)
        if key.startswith("fields."):
            _prefix, _dot, rest = key.partition(".")
            name, _dot, attr = rest.partition(".")
            what = translate(FIELD_PREFIX).format(name=name)
            if attr:
                what = f"{what} · {translate(FIELD_ATTR_LABELS.get(attr, attr))}"
        else:
            attr = key
            what = translate(ATTR_LABELS.get(key, key))
        rows.append((what, _show(attr, old, names), _show(attr, new, names)))
    return rows


def _history(session: SessionDep, dataset: Dataset) -> list[dict[str, Any]]:
    names: dict[str, dict[Any, str]] = {
        "agency_id": {dataset.agency_id: dataset.agency.name},
        "region_id": {dataset.region_id: dataset.region.name},
    }
    return [
        {
            "seq": e.seq,
            "at": e.at,
            "actor_name": e.actor_name,
            "action": translate(ACTION_LABELS.get(e.action, e.action)),
            "code": e.action,
            "changes": _change_rows(e.changes, names),
        }
        for e in audit.history(session, "dataset", dataset.id)
        if not e.action.startswith("data.")  # gate traffic: the audit search's, by scope
    ]


@router.get("/catalog/{dataset_id}", response_class=HTMLResponse)
def detail(request: Request, session: SessionDep, actor: ActorDep, dataset_id: int) -> Response:
    dataset = service.get_dataset(session, actor, dataset_id)
    tab = request.query_params.get("tab", "info")
    if tab not in ("info", "fields", "history"):
        tab = "info"
    item = get_taxonomy().item_name(dataset.category_class, dataset.item_code)
    open_change = changes.open_change_for(session, dataset)
    return render(
        request,
        "catalog/detail.html",
        {
            "dataset": dataset,
            "tab": tab,
            "item_name": translate(item) if item else "",
            "may_edit": service.can_edit(actor, dataset),
            "identifier_labels": _identifier_labels(),
            "history": _history(session, dataset) if tab == "history" else [],
            "actions": workflow.available_actions(actor, dataset),
            "action_labels": workflow.ACTION_LABELS,
            "review_deadline": workflow.review_deadline(session, dataset),
            "open_change": open_change,
            "related": {d.code: d for d in queries.related_entries(session, actor, dataset)},
            "may_propose": (
                dataset.state is DatasetState.PUBLISHED
                and workflow.owns(actor, dataset)
                and open_change is None
            ),
        },
    )
