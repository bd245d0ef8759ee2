"""Suites, the platform key, retired keys and raw signatures.

A :class:`Signature` names its suite and the key that made it (``key_id``: a short digest
of the public key), so a verifier knows how to check it and an old key can still verify
what it signed after the platform key is rotated. The key pair lives in
``<data dir>/seal/`` (the private key readable by its owner only), generated on first use;
``rotate_key`` moves the current public key into ``seal/retired/<key_id>.json`` before a new
pair replaces it, so every signature ever made stays verifiable.

A suite is the whole algorithm choice: how to digest, how to make, store and load a key
pair, how to sign a digest and check a signature. Adding the national algorithms (SM2
signatures over SM3 digests) is writing one more class with these methods and registering
it with ``register_suite`` (docs/seal.md).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gongshu.settings import Settings, get_settings

PRIVATE_NAME = "ed25519-private.pem"
PUBLIC_NAME = "ed25519-public.pem"
RETIRED_DIR = "retired"

__all__ = [
    "PRIVATE_NAME",
    "PUBLIC_NAME",
    "Ed25519Sha256",
    "PublicKey",
    "Seal",
    "Signature",
    "Suite",
    "canonical_json",
    "key_id_of",
    "platform_seal",
    "register_suite",
    "rotate_key",
    "seal_directory",
    "suite_named",
]


class Digester(Protocol):
    """An incremental digest (``hashlib`` style)."""

    def update(self, data: bytes, /) -> None: ...

    def digest(self) -> bytes: ...


class Suite(Protocol):
    """One pair of algorithms: a digest, and a signature over that digest."""

    name: str

    def digest(self, data: bytes) -> bytes: ...

    def digester(self) -> Digester:
        """An incremental digest object (``update``/``digest``) for streamed files."""
        ...

    def generate(self) -> Any:
        """A fresh private key."""
        ...

    def private_pem(self, private_key: Any) -> bytes: ...

    def load_private(self, pem: bytes) -> Any: ...

    def public_pem(self, private_key: Any) -> bytes: ...

    def sign(self, private_key: Any, digest: bytes) -> bytes: ...

    def verify(self, public_key_pem: bytes, digest: bytes, signature: bytes) -> bool: ...


class Ed25519Sha256:
    """Ed25519 (RFC 8032) signatures over SHA-256 digests."""

    name = "ed25519-sha256"

    def digest(self, data: bytes) -> bytes:
        return hashlib.sha256(data).digest()

    def digester(self) -> Digester:
        return hashlib.sha256()

    def generate(self) -> Any:
        return Ed25519PrivateKey.generate()

    def private_pem(self, private_key: Any) -> bytes:
        assert isinstance(private_key, Ed25519PrivateKey)
        return private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def load_private(self, pem: bytes) -> Any:
        loaded = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError("not an Ed25519 private key")
        return loaded

    def public_pem(self, private_key: Any) -> bytes:
        assert isinstance(private_key, Ed25519PrivateKey)
        return private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, private_key: Any, digest: bytes) -> bytes:
        assert isinstance(private_key, Ed25519PrivateKey)
        return private_key.sign(digest)

    def verify(self, public_key_pem: bytes, digest: bytes, signature: bytes) -> bool:
        try:
            key = serialization.load_pem_public_key(public_key_pem)
        except ValueError:
            return False
        if not isinstance(key, Ed25519PublicKey):
            return False
        try:
            key.verify(signature, digest)
        except InvalidSignature:
            return False
        return True


_SUITES: dict[str, Suite] = {Ed25519Sha256.name: Ed25519Sha256()}


def register_suite(suite: Suite) -> None:
    """Make another suite known, so signatures made with it can be checked."""
    _SUITES[suite.name] = suite


def suite_named(name: str) -> Suite | None:
    """The suite of that name, or None when this installation does not know it."""
    return _SUITES.get(name)


def canonical_json(value: Any) -> bytes:
    """The one byte form signed JSON is digested in: sorted keys, no spaces, UTF-8."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


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
class PublicKey:
    """A public key the platform signs or signed with: the current one or a retired one."""

    key_id: str
    suite: str
    pem: bytes
    retired_at: str | None = None  # ISO time; None for the current key

    @property
    def current(self) -> bool:
        return self.retired_at is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "suite": self.suite,
            "public_key": self.pem.decode("ascii"),
            "status": "current" if self.current else "retired",
            "retired_at": self.retired_at,
        }


@dataclass(frozen=True)
class Seal:
    """The platform's key pair with the suite it signs with, and the keys it signed with before
    (``retired``), which still verify what they signed."""

    suite: Suite
    private_key: Any
    public_key_pem: bytes
    retired: tuple[PublicKey, ...] = field(default=())

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key_pem)

    @property
    def public_key(self) -> PublicKey:
        return PublicKey(key_id=self.key_id, suite=self.suite.name, pem=self.public_key_pem)

    def public_keys(self) -> list[PublicKey]:
        """The current key first, then the retired ones, newest retirement first."""
        older = sorted(
            (k for k in self.retired if k.key_id != self.key_id),
            key=lambda k: k.retired_at or "",
            reverse=True,
        )
        return [self.public_key, *older]

    def key(self, key_id: str) -> PublicKey | None:
        """The public key with that id (current or retired), or None."""
        return next((k for k in self.public_keys() if k.key_id == key_id), None)

    def digester(self) -> Digester:
        """An incremental digest of this seal's suite, for data that arrives in chunks."""
        return self.suite.digester()

    def sign_raw(self, digest: bytes) -> bytes:
        """The suite's signature over a digest (what statements and signatures carry)."""
        return self.suite.sign(self.private_key, digest)

    def sign_digest(self, digest: bytes) -> Signature:
        return Signature(
            suite=self.suite.name,
            key_id=self.key_id,
            digest=digest.hex(),
            signature=base64.b64encode(self.sign_raw(digest)).decode(),
            signed_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )

    def sign(self, data: bytes) -> Signature:
        return self.sign_digest(self.suite.digest(data))

    def verify(self, data: bytes | None, signature: Signature) -> bool:
        """Whether ``signature`` was made by this platform — with the current key or a retired
        one — over ``data`` (or, data None, over its digest)."""
        suite = suite_named(signature.suite)
        key = self.key(signature.key_id)
        if suite is None or key is None or key.suite != signature.suite:
            return False
        try:
            digest = bytes.fromhex(signature.digest)
            raw = base64.b64decode(signature.signature, validate=True)
        except ValueError:
            return False
        if data is not None and suite.digest(data) != digest:
            return False
        return suite.verify(key.pem, digest, raw)


def _write_private(path: Path, pem: bytes) -> Path:
    """Write a private key to a fresh temporary file beside ``path`` (mode 0600)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
        out.flush()
        os.fsync(out.fileno())
    return tmp


def _load_or_create(directory: Path, suite: Suite) -> tuple[Any, bytes]:
    private_path = directory / PRIVATE_NAME
    if not private_path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        tmp = _write_private(private_path, suite.private_pem(suite.generate()))
        try:
            # Two processes starting at once: the first key written wins, both use it.
            os.link(tmp, private_path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    try:
        loaded = suite.load_private(private_path.read_bytes())
    except ValueError as exc:
        raise ValueError(f"{private_path} does not hold an {suite.name} private key") from exc
    public_pem = suite.public_pem(loaded)
    public_path = directory / PUBLIC_NAME
    if not public_path.exists() or public_path.read_bytes() != public_pem:
        public_path.write_bytes(public_pem)
    return loaded, public_pem


def _retired_keys(directory: Path) -> tuple[PublicKey, ...]:
    folder = directory / RETIRED_DIR
    if not folder.is_dir():
        return ()
    keys: list[PublicKey] = []
    for path in sorted(folder.glob("*.json")):
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            pem = str(body["public_key"]).encode("ascii")
            keys.append(
                PublicKey(
                    key_id=key_id_of(pem),
                    suite=str(body["suite"]),
                    pem=pem,
                    retired_at=str(body.get("retired_at") or ""),
                )
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a half-written or foreign file is no key of ours
    return tuple(keys)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=16)
def _seal_cached(directory: Path, private: object, retired: object) -> Seal:
    # ``private`` and ``retired`` are file stamps: a rotation (by this process or another)
    # changes them, so the next call loads the new key instead of a stale cached one.
    suite = _SUITES[Ed25519Sha256.name]
    private_key, public_pem = _load_or_create(directory, suite)
    return Seal(
        suite=suite,
        private_key=private_key,
        public_key_pem=public_pem,
        retired=_retired_keys(directory),
    )


def _seal_in(directory: Path) -> Seal:
    if not (directory / PRIVATE_NAME).exists():
        _load_or_create(directory, _SUITES[Ed25519Sha256.name])
    return _seal_cached(
        directory, _stamp(directory / PRIVATE_NAME), _stamp(directory / RETIRED_DIR)
    )


def seal_directory(settings: Settings | None = None) -> Path:
    """Where the key pair lives: ``<data dir>/seal``."""
    settings = settings or get_settings()
    return (settings.data_dir / "seal").resolve()


def platform_seal(settings: Settings | None = None) -> Seal:
    """The installation's seal, its key pair created under ``<data dir>/seal/`` on first use."""
    return _seal_in(seal_directory(settings))


def rotate_key(settings: Settings | None = None) -> tuple[Seal, Seal]:
    """Replace the platform key pair with a fresh one; the old public key is kept in
    ``retired/`` first, so a crash at any step leaves every signature verifiable.

    Returns the seal before and after. The old private key is overwritten: it signs no more.
    """
    directory = seal_directory(settings)
    old = _seal_in(directory)
    folder = directory / RETIRED_DIR
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "key_id": old.key_id,
        "suite": old.suite.name,
        "public_key": old.public_key_pem.decode("ascii"),
        "retired_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    target = folder / f"{old.key_id}.json"
    tmp = folder / f".{old.key_id}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, target)
    suite = old.suite
    fresh = _write_private(directory / PRIVATE_NAME, suite.private_pem(suite.generate()))
    os.replace(fresh, directory / PRIVATE_NAME)
    new = _seal_in(directory)
    return old, new
