"""Holding administrators at the second-factor enrolment page until they enrol.

When ``settings.admin_totp_required`` is on (the production default), an account holding an
administrator role without a second factor gets an actor with ``needs_totp_enrollment``.
Such an actor may open only the enrolment page (and sign out): every other page redirects
there, and every API call except ``GET /api/v1/me`` is refused with 403.
"""

from __future__ import annotations

from fastapi import HTTPException

from gongshu.auth.actor import Actor
from gongshu.errors import PermissionDenied
from gongshu.i18n import N_

TOTP_ENROLL_PATH = "/account/totp"
_ALLOWED_PAGES = (TOTP_ENROLL_PATH, "/logout", "/login", "/static")
_ALLOWED_API = ("/api/v1/me",)

MSG_ENROL_FIRST = N_(
    "管理员账户须先启用动态验证码（双因素认证）：请在网页“账户与安全”中完成设置后再使用接口"
)


def enforce_totp_enrollment(path: str, actor: Actor | None) -> None:
    """Raise unless the actor may use ``path`` (a redirect for pages, 403 for the API)."""
    if actor is None or not actor.needs_totp_enrollment:
        return
    if path.startswith("/api/"):
        if path in _ALLOWED_API:
            return
        raise PermissionDenied(MSG_ENROL_FIRST)
    if any(path == p or path.startswith(p + "/") for p in _ALLOWED_PAGES):
        return
    raise HTTPException(status_code=303, headers={"Location": TOTP_ENROLL_PATH})
