"""The platform's electronic seal (电子印章): signatures over exported files, verification
answers and audit checkpoints.

Hash and signature algorithms sit behind one small interface (:class:`Suite`) so that the
national algorithms (SM2 signatures over SM3 digests, 国密) can be added as another suite
beside the default Ed25519 over SHA-256. ``platform_seal(settings)`` is the seal every
caller uses.
"""

from gongshu.seal.core import Seal, Signature, Suite, platform_seal, suite_named

__all__ = ["Seal", "Signature", "Suite", "platform_seal", "suite_named"]
