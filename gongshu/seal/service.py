"""The seal's services: rotating the platform key (audited) and checking what a user brings
(a file with its detached signature, or a sealed JSON answer).

Checking a signature reads no dataset rows and changes nothing, so anyone may do it — an
outside party is exactly who needs to — and it is not audited.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from gongshu.audit.service import record
from gongshu.auth.actor import Actor
from gongshu.db import unit_of_work
from gongshu.errors import PermissionDenied, ValidationFailed
from gongshu.i18n import N_
from gongshu.seal.core import Seal, rotate_key
from gongshu.seal.statements import Check, Verdict, load_json, verify_answer, verify_stream
from gongshu.settings import Settings

MSG_ROTATE_DENIED = N_("只有平台本身（命令行）可以更换签章密钥")
MSG_NO_SIGNATURE = N_("请同时提供签名文件（.sig.json）")
MSG_NOT_SEALED = N_('这不是带签章的 JSON 答复：应为 {"answer": …, "seal": {…}}')
MSG_NOTHING = N_("请上传文件和签名文件，或粘贴带签章的 JSON 答复")


def rotate(session: Session, actor: Actor, settings: Settings) -> tuple[Seal, Seal]:
    """Replace the platform key; the old public key is retired, not deleted. Platform only."""
    # A system actor without an API key is the platform itself (the CLI, jobs).
    if not (actor.is_system and actor.api_key_id is None):
        raise PermissionDenied(MSG_ROTATE_DENIED)
    old, new = rotate_key(settings)
    with unit_of_work(session):
        record(
            session,
            actor,
            "seal.rotate",
            "seal_key",
            new.key_id,
            label=new.key_id,
            changes={"retired": old.key_id, "current": new.key_id, "suite": new.suite.name},
        )
    return old, new


def is_envelope(doc: Any) -> bool:
    return isinstance(doc, dict) and "answer" in doc and "seal" in doc


def verify_upload(seal: Seal, stream: BinaryIO, signature: bytes) -> Verdict:
    """Check a file (read from ``stream``) against the bytes of its ``.sig.json``."""
    doc = load_json(signature)
    if doc is None:
        return Verdict(Check.MALFORMED)
    return verify_stream(seal, stream, doc)


def verify_sealed_json(seal: Seal, data: bytes) -> Verdict:
    """Check a sealed JSON answer given as bytes; ``ValidationFailed`` when it is not one."""
    doc = load_json(data)
    if not is_envelope(doc):
        raise ValidationFailed.single("sealed", MSG_NOT_SEALED)
    return verify_answer(seal, doc)
