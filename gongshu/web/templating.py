"""The Jinja2 environment shared by every page: translation, labels, formatting, CSRF."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gongshu.auth.actor import Actor
from gongshu.auth.permissions import Perm, can
from gongshu.i18n import current_language, translate
from gongshu.labels import label

TEMPLATE_DIR = Path(__file__).parent / "templates"
LOCAL_TZ = ZoneInfo("Asia/Shanghai")

env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(default=True),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=env)
env.globals["_"] = translate
env.globals["gettext"] = translate


def _local(value: dt.datetime | dt.date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Datetimes are stored in UTC and shown in the city's time (Asia/Shanghai)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(LOCAL_TZ).strftime(fmt)
    return value.strftime("%Y-%m-%d")


def _label(value: enum.Enum | str | None) -> str:
    return label(value)


def _can(actor: Actor | None, perm: str) -> bool:
    """Whether to show a link; the services check again when it is followed."""
    return can(actor, Perm(perm))


def _compact(value: object) -> str:
    """An audited value as a reader wants it: "∅" for nothing, objects as "key: value; …"."""
    if value is None or value == "":
        return "∅"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_compact(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_compact(v) for v in value)
    return str(value)


# Hooks add what every page shows (the header's unread-notice count …) to the context.
RenderHook = Callable[[Request, dict[str, Any]], None]
RENDER_HOOKS: list[RenderHook] = []


def render_hook(fn: RenderHook) -> RenderHook:
    """Register ``fn(request, context)`` to run before every page is rendered."""
    if fn not in RENDER_HOOKS:
        RENDER_HOOKS.append(fn)
    return fn


env.globals["can"] = _can
env.filters["compact"] = _compact
env.filters["local"] = _local
env.filters["label"] = _label


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a page with the request's user, language and CSRF token available."""
    state = request.state
    ctx: dict[str, Any] = {
        "request": request,
        "actor": getattr(state, "actor", None),
        "lang": current_language.get(),
        "csrf_token": getattr(state, "csrf_token", ""),
        "settings": request.app.state.settings,
    }
    for hook in RENDER_HOOKS:
        hook(request, ctx)
    ctx.update(context or {})
    response: HTMLResponse = templates.TemplateResponse(
        request, template, ctx, status_code=status_code
    )
    return response
