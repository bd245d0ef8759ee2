"""The page that checks a sealed file or answer (/seal/verify), open to anyone."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from gongshu.errors import ValidationFailed
from gongshu.i18n import translate
from gongshu.seal import service
from gongshu.seal.api import MAX_JSON_BYTES
from gongshu.seal.core import platform_seal
from gongshu.seal.statements import Verdict
from gongshu.web.deps import CsrfDep, OptionalActorDep, SettingsDep
from gongshu.web.templating import render

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    settings: Any,
    *,
    verdict: Verdict | None = None,
    errors: dict[str, list[str]] | None = None,
    sealed: str = "",
    status_code: int = 200,
) -> Response:
    keys = platform_seal(settings).public_keys()
    return render(
        request,
        "seal/verify.html",
        {
            "keys": keys,
            "verdict": verdict,
            "result": verdict.as_dict() if verdict is not None else None,
            "errors": errors or {},
            "sealed": sealed,
        },
        status_code=status_code,
    )


@router.get("/seal/verify", response_class=HTMLResponse)
def verify_form(request: Request, settings: SettingsDep, actor: OptionalActorDep) -> Response:
    return _page(request, settings)


@router.post("/seal/verify", response_class=HTMLResponse, dependencies=[CsrfDep])
async def verify_submit(
    request: Request,
    settings: SettingsDep,
    actor: OptionalActorDep,
    file: Annotated[UploadFile | None, File()] = None,
    signature: Annotated[UploadFile | None, File()] = None,
    sealed: Annotated[str, Form()] = "",
) -> Response:
    seal = platform_seal(settings)
    has_file = file is not None and bool(file.filename)
    has_signature = signature is not None and bool(signature.filename)
    try:
        if sealed.strip():
            verdict = service.verify_sealed_json(seal, sealed.strip().encode("utf-8"))
        elif has_file and file is not None and has_signature and signature is not None:
            sig = await signature.read(MAX_JSON_BYTES)
            verdict = service.verify_upload(seal, file.file, sig)
        elif has_file and file is not None:
            # A file alone may be a sealed answer saved to disk.
            verdict = service.verify_sealed_json(seal, await file.read(MAX_JSON_BYTES))
        else:
            raise ValidationFailed.single("file", service.MSG_NOTHING)
    except ValidationFailed as exc:
        errors = exc.localized_errors() or {"file": [exc.localized()]}
        if has_file and not has_signature and not sealed.strip():
            errors = {"signature": [translate(service.MSG_NO_SIGNATURE)]}
        return _page(request, settings, errors=errors, sealed=sealed, status_code=422)
    return _page(request, settings, verdict=verdict, sealed=sealed)
