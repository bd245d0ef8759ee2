"""JSON API of the e-seal: the platform's public keys and verification of sealed content.

Both are open to anyone without signing in: whoever received a sealed file or answer must be
able to check it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.datastructures import UploadFile

from gongshu.errors import NotFound, ValidationFailed
from gongshu.i18n import N_
from gongshu.seal import service
from gongshu.seal.core import platform_seal
from gongshu.seal.schemas import SealKeyRead, SealVerifyRead
from gongshu.web.deps import SettingsDep

router = APIRouter(prefix="/seal", tags=["seal"])

MAX_JSON_BYTES = 20 * 1024 * 1024
MSG_TOO_BIG = N_("请求过大：带签章的 JSON 答复最多 {mb} MB")
MSG_NO_KEY = N_("没有这个签章密钥")

VERIFY_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": 'a sealed answer as returned with ?sealed=1: {"answer": …, '
                    '"seal": {…}}',
                    "required": ["answer", "seal"],
                    "properties": {"answer": {}, "seal": {"type": "object"}},
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "signature"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "signature": {
                            "type": "string",
                            "format": "binary",
                            "description": "the file's detached signature (<name>.sig.json)",
                        },
                    },
                }
            },
        },
    }
}


async def _bounded_body(request: Request) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_JSON_BYTES:
            raise ValidationFailed(MSG_TOO_BIG, mb=MAX_JSON_BYTES // (1024 * 1024))
    return bytes(body)


def _key_read(key: dict[str, object]) -> SealKeyRead:
    return SealKeyRead.model_validate(key)


@router.get(
    "/keys",
    response_model=list[SealKeyRead],
    summary="The platform's public keys (current and retired)",
    description="The current key signs; retired keys are kept so that what they signed still "
    "verifies. Open to anyone.",
)
def keys(settings: SettingsDep) -> list[SealKeyRead]:
    return [_key_read(k.as_dict()) for k in platform_seal(settings).public_keys()]


@router.get(
    "/keys/{key_id}",
    response_class=Response,
    summary="One public key as a PEM file",
    responses={200: {"content": {"application/x-pem-file": {}}}},
)
def key_pem(settings: SettingsDep, key_id: str) -> Response:
    key = platform_seal(settings).key(key_id)
    if key is None:
        raise NotFound(MSG_NO_KEY)
    return Response(
        key.pem,
        media_type="application/x-pem-file",
        headers={"Content-Disposition": f'attachment; filename="gongshu-seal-{key.key_id}.pem"'},
    )


@router.post(
    "/verify",
    response_model=SealVerifyRead,
    summary="Check a sealed file or a sealed JSON answer",
    description="Send either a sealed answer as the JSON body, or a multipart form with the "
    "`file` and its detached `signature` (.sig.json). The answer says whether the seal is "
    "valid and, if not, which check failed (digest_mismatch, unknown_suite, unknown_key, "
    "bad_signature, malformed). Open to anyone.",
    openapi_extra=VERIFY_BODY,
)
async def verify(request: Request, settings: SettingsDep) -> SealVerifyRead:
    seal = platform_seal(settings)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        try:
            upload, signature = form.get("file"), form.get("signature")
            if not isinstance(upload, UploadFile):
                raise ValidationFailed.single("file", service.MSG_NOTHING)
            if signature is None or signature == "":
                raise ValidationFailed.single("signature", service.MSG_NO_SIGNATURE)
            sig = (
                await signature.read(MAX_JSON_BYTES)
                if isinstance(signature, UploadFile)
                else signature.encode("utf-8")
            )
            verdict = service.verify_upload(seal, upload.file, sig)
        finally:
            await form.close()
    else:
        verdict = service.verify_sealed_json(seal, await _bounded_body(request))
    return SealVerifyRead.model_validate(verdict.as_dict())
