"""The platform's electronic seal (电子印章): signatures over exported files, verification
answers and audit checkpoints.

Hash and signature algorithms sit behind one small interface (:class:`Suite`) so that the
national algorithms (SM2 signatures over SM3 digests, 国密) can be added as another suite
beside the default Ed25519 over SHA-256. ``platform_seal(settings)`` is the seal every
caller uses; ``statements`` holds the sealed formats (a file's ``.sig.json``, a sealed JSON
answer) and ``StreamSigner`` for exports that are streamed.
"""

from gongshu.seal.core import (
    PublicKey,
    Seal,
    Signature,
    Suite,
    canonical_json,
    platform_seal,
    register_suite,
    rotate_key,
    suite_named,
)
from gongshu.seal.statements import (
    Check,
    StreamSigner,
    Verdict,
    seal_answer,
    seal_stream,
    sign_file,
    verify_answer,
    verify_file,
)

__all__ = [
    "Check",
    "PublicKey",
    "Seal",
    "Signature",
    "StreamSigner",
    "Suite",
    "Verdict",
    "canonical_json",
    "platform_seal",
    "register_suite",
    "rotate_key",
    "seal_answer",
    "seal_stream",
    "sign_file",
    "suite_named",
    "verify_answer",
    "verify_file",
]
