"""The masking rules page: a table of levels × sensitivity kinds; the security admin edits
it in one form."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gongshu.catalog.models import Level, Sensitivity
from gongshu.errors import ValidationFailed
from gongshu.gate import rules
from gongshu.i18n import N_
from gongshu.masking import Technique
from gongshu.web.deps import ActorDep, CsrfDep, SessionDep
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)

BASE = "/admin/masking"
MSG_BAD_TECHNIQUE = N_("无效的脱敏方式")


def _field(level: Level, sensitivity: Sensitivity) -> str:
    return f"rule-{level.value}-{sensitivity.value}"


@router.get(BASE, response_class=HTMLResponse)
def rules_page(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    table = rules.list_rules(session, actor)
    return render(
        request,
        "masking/rules.html",
        {
            "levels": list(Level),
            "sensitivities": list(Sensitivity),
            "rules": {(r.level, r.sensitivity): r for r in table},
            "techniques": list(Technique),
            "technique_labels": rules.TECHNIQUE_LABELS,
            "sensitivity_labels": rules.SENSITIVITY_LABELS,
            "field_name": _field,
            "can_edit": rules.may_edit(actor),
            "saved": request.query_params.get("saved"),
        },
    )


@router.post(BASE, response_class=HTMLResponse, dependencies=[CsrfDep])
async def rules_save(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    form = await request.form()
    changes: dict[tuple[Level, Sensitivity], Technique] = {}
    for level in Level:
        for sensitivity in Sensitivity:
            value = form.get(_field(level, sensitivity))
            if value is None:
                continue
            try:
                changes[level, sensitivity] = Technique(str(value))
            except ValueError as exc:
                raise ValidationFailed(MSG_BAD_TECHNIQUE) from exc
    changed = rules.set_rules(session, actor, changes)
    return RedirectResponse(f"{BASE}?saved={changed}", status_code=303)
