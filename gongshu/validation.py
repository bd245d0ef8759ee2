"""Turning Pydantic's errors into the platform's own, in the reader's language.

Pages parse forms and the API parses JSON with the same schemas; both report problems the
same way: ``ValidationFailed`` with a message per field, Chinese first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from gongshu.errors import ValidationFailed
from gongshu.i18n import N_, translate

M = TypeVar("M", bound=BaseModel)

_MESSAGES: dict[str, str] = {
    "missing": N_("此项为必填项"),
    "string_too_short": N_("长度不能少于 {min_length} 个字符"),
    "string_too_long": N_("长度不能超过 {max_length} 个字符"),
    "string_pattern_mismatch": N_("格式不正确"),
    "enum": N_("取值不在允许的范围内"),
    "literal_error": N_("取值不在允许的范围内"),
    "int_parsing": N_("请输入整数"),
    "int_type": N_("请输入整数"),
    "greater_than_equal": N_("不能小于 {ge}"),
    "less_than_equal": N_("不能大于 {le}"),
    "date_from_datetime_parsing": N_("请输入有效日期（YYYY-MM-DD）"),
    "date_parsing": N_("请输入有效日期（YYYY-MM-DD）"),
    "datetime_parsing": N_("请输入有效的日期时间"),
    "bool_parsing": N_("请输入是或否"),
    "json_invalid": N_("请求内容不是有效的 JSON"),
    "model_attributes_type": N_("请求内容格式不正确"),
    "list_type": N_("应为列表"),
    "string_type": N_("应为文本"),
}
GENERIC = N_("输入无效")
SUMMARY = N_("提交的内容有误，请按提示修改")


def _field_name(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    return ".".join(parts) or "__all__"


def errors_from_pydantic(errors: Sequence[Mapping[str, Any]]) -> ValidationFailed:
    """One ``ValidationFailed`` carrying a translated message for each bad field."""
    out: dict[str, list[str]] = {}
    for err in errors:
        template = _MESSAGES.get(str(err.get("type")), GENERIC)
        ctx = {k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, int | str)}
        try:
            message = translate(template).format(**ctx)
        except (KeyError, IndexError):
            message = translate(GENERIC)
        out.setdefault(_field_name(err.get("loc", ())), []).append(message)
    failure = ValidationFailed(SUMMARY)
    # Already translated above; keep them as they are when the web layer localises again.
    failure.errors = out
    return failure


def parse(model: type[M], data: Mapping[str, Any]) -> M:
    """Validate ``data`` into ``model`` or raise ``ValidationFailed``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise errors_from_pydantic(exc.errors()) from exc
