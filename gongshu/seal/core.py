"""Suites, the platform key and signatures.

A :class:`Signature` names its suite and the key that made it (``key_id``: a short digest
of the public key), so a verifier knows how to check it and an old key can still verify
what it signed after the platform key is rotated. The key pair lives in
``<data dir>/seal/`` (the private key readable by its owner only), generated on first use.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gongshu.settings import Settings, get_settings

PRIVATE_NAME = "ed25519-private.pem"
PUBLIC_NAME = "ed25519-public.pem"


class Suite(Protocol):
    """One pair of algorithms: a digest and a signature over that digest."""

    name: str

    def digest(self, data: bytes) -> bytes: ...

    def digester(self) -> Any:
        """An incremental digest object (``update``/``digest``) for streamed files."""
        ...

    def sign(self, private_key: Any, digest: bytes) -> bytes: ...

    def verify(self, public_key_pem: bytes, digest: bytes, signature: bytes) -> bool: ...


class Ed25519Sha256:
    """Ed25519 (RFC 8032) signatures over SHA-256 digests."""

    name = "ed25519-sha256"

    def digest(self, data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    def digester(self) -> Any:
        return hashlib.sha256()

    def sign(self, private_key: Any, digest: bytes) -> bytes:
        assert isinstance(private_key, Ed25519PrivateKey)
        return private_key.sign(digest)

    def verify(self, public_key_pem: bytes, digest: bytes, signature: bytes) -> bool:
        key = serialization.load_pem_public_key(public_key_pem)
        if not isinstance(key, Ed25519PublicKey):
            return False
        try:
            key.verify(signature, digest)
        except InvalidSignature:
            return False
        return True


_SUITES: dict[str, Suite] = {Ed25519Sha256.name: Ed25519Sha256()}


def suite_named(name: str) -> Suite | None:
    """The suite of that name, or None when this installation does not know it."""
    return _SUITES.get(name)


@dataclass(frozen=True)
class Signature:
    """A detached signature: suite, key, the digest signed (hex) and the signature (base64)."""

    suite: str
    key_id: str
    digest: str
    signature: str
    signed_at: str

    def as_dict(self) -> dict[str, str]:
        return {
            "suite": self.suite,
            "key_id": self.key_id,
            "digest": self.digest,
            "signature": self.signature,
            "signed_at": self.signed_at,
        }

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> Signature:
        return cls(**{k: str(body[k]) for k in cls.__dataclass_fields__})


def key_id_of(public_key_pem: bytes) -> str:
    return hashlib.sha256(public_key_pem).hexdigest()[:16]


@dataclass(frozen=True)
class Seal:
    """The platform's key pair with the suite it signs with."""

    suite: Suite
    private_key: Any
    public_key_pem: bytes

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key_pem)

    def sign_digest(self, digest: bytes) -> Signature:
        return Signature(
            suite=self.suite.name,
            key_id=self.key_id,
            digest=digest.hex(),
            signature=base64.b64encode(self.suite.sign(self.private_key, digest)).decode(),
            signed_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )

    def sign(self, data: bytes) -> Signature:
        return self.sign_digest(self.suite.digest(data))

    def verify(self, data: bytes | None, signature: Signature) -> bool:
        """Whether ``signature`` is this key's over ``data`` (or, data None, over its digest)."""
        suite = suite_named(signature.suite)
        if suite is None or signature.key_id != self.key_id:
            return False
        digest = bytes.fromhex(signature.digest)
        if data is not None and suite.digest(data) != digest:
            return False
        try:
            raw = base64.b64decode(signature.signature, validate=True)
        except ValueError:
            return False
        return suite.verify(self.public_key_pem, digest, raw)


def _load_or_create(directory: Path) -> tuple[Ed25519PrivateKey, bytes]:
    private_path = directory / PRIVATE_NAME
    if not private_path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        tmp = private_path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        try:
            # Two processes starting at once: the first key written wins, both use it.
            os.link(tmp, private_path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    loaded = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise ValueError(f"{private_path} does not hold an Ed25519 private key")
    public_pem = loaded.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_path = directory / PUBLIC_NAME
    if not public_path.exists() or public_path.read_bytes() != public_pem:
        public_path.write_bytes(public_pem)
    return loaded, public_pem


@cache
def _seal_in(directory: Path) -> Seal:
    private_key, public_pem = _load_or_create(directory)
    return Seal(
        suite=_SUITES[Ed25519Sha256.name], private_key=private_key, public_key_pem=public_pem
    )


def platform_seal(settings: Settings | None = None) -> Seal:
    """The installation's seal, its key pair created under ``<data dir>/seal/`` on first use."""
    settings = settings or get_settings()
    return _seal_in((settings.data_dir / "seal").resolve())
