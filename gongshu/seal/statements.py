"""Sealed statements: detached signatures of files (``<name>.sig.json``) and enveloped JSON
answers (``{"answer": …, "seal": {…}}``).

Both are one *statement*::

    {"format": "gongshu-seal/1", "suite": …, "key_id": …, "digest": <hex digest of the
     content>, "signed_at": …, "signed": {what was signed: kind, file name, size, dataset,
     version, fingerprint …}, "signature": <base64>}

The signature is made over the suite's digest of the canonical JSON of every member but
``signature`` (sorted keys, no spaces, UTF-8), so the content's digest, the time and the
description of what was signed are all covered: editing any of them breaks the signature.
A verifier recomputes the content's digest (a file is read in chunks, so its size does not
matter), and reports the first check that fails, in this order: the statement's shape, the
suite, the key (current or retired), the content's digest, the signature.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import json
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from pydantic_core import to_jsonable_python

from gongshu.i18n import N_, Language, translate
from gongshu.seal.core import Digester, PublicKey, Seal, canonical_json, suite_named

FORMAT = "gongshu-seal/1"
SIG_SUFFIX = ".sig.json"
CHUNK = 1024 * 1024

__all__ = [
    "CHUNK",
    "FORMAT",
    "SIG_SUFFIX",
    "Check",
    "StreamSigner",
    "Verdict",
    "answer_digest",
    "check_statement",
    "file_digest",
    "seal_answer",
    "seal_stream",
    "sign_file",
    "signature_path",
    "statement",
    "verify_answer",
    "verify_file",
    "verify_stream",
]


class Check(enum.StrEnum):
    """The outcome of a verification: ``ok`` or the first check that failed."""

    OK = "ok"
    MALFORMED = "malformed"
    UNKNOWN_SUITE = "unknown_suite"
    UNKNOWN_KEY = "unknown_key"
    DIGEST_MISMATCH = "digest_mismatch"
    BAD_SIGNATURE = "bad_signature"


MESSAGES: dict[Check, str] = {
    Check.OK: N_("签名有效：内容自签名后未被改动，由本平台签发"),
    Check.MALFORMED: N_("签名格式不正确，无法核验"),
    Check.UNKNOWN_SUITE: N_("未知的签名算法“{suite}”"),
    Check.UNKNOWN_KEY: N_("未知的签名密钥“{key_id}”：不是本平台的密钥"),
    Check.DIGEST_MISMATCH: N_("摘要不一致：内容在签名后被改动，或不是所签的内容"),
    Check.BAD_SIGNATURE: N_("签名无效：签名与所签内容不符"),
}


@dataclass(frozen=True)
class Verdict:
    """What a verification found, with the statement's description when it could be read."""

    check: Check
    suite: str = ""
    key_id: str = ""
    signed_at: str = ""
    signed: Mapping[str, Any] | None = None
    key: PublicKey | None = None

    @property
    def valid(self) -> bool:
        return self.check is Check.OK

    def message(self, lang: Language | None = None) -> str:
        return translate(MESSAGES[self.check], lang, suite=self.suite, key_id=self.key_id)

    def bilingual(self) -> str:
        """The message in both interface languages, for the command line."""
        zh, en = self.message("zh"), self.message("en")
        return zh if zh == en else f"{zh} / {en}"

    def as_dict(self, lang: Language | None = None) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "check": self.check.value,
            "message": self.message(lang),
            "suite": self.suite,
            "key_id": self.key_id,
            "key_status": (
                None if self.key is None else ("current" if self.key.current else "retired")
            ),
            "signed_at": self.signed_at,
            "signed": dict(self.signed) if self.signed is not None else None,
        }


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def statement(seal: Seal, digest: bytes, signed: Mapping[str, Any]) -> dict[str, Any]:
    """Seal a content digest and its description: the statement, signature included."""
    body: dict[str, Any] = {
        "format": FORMAT,
        "suite": seal.suite.name,
        "key_id": seal.key_id,
        "digest": digest.hex(),
        "signed_at": _now(),
        "signed": to_jsonable_python(dict(signed)),
    }
    raw = seal.sign_raw(seal.suite.digest(canonical_json(body)))
    body["signature"] = base64.b64encode(raw).decode("ascii")
    return body


def _shape(doc: Any) -> tuple[str, str, str, Mapping[str, Any]] | None:
    if not isinstance(doc, Mapping) or doc.get("format") != FORMAT:
        return None
    try:
        suite, key_id, digest = str(doc["suite"]), str(doc["key_id"]), str(doc["digest"])
        signed, signature, signed_at = doc["signed"], doc["signature"], doc["signed_at"]
    except KeyError:
        return None
    if not isinstance(signed, Mapping) or not isinstance(signature, str):
        return None
    if not isinstance(signed_at, str):
        return None
    try:
        bytes.fromhex(digest)
    except ValueError:
        return None
    return suite, key_id, digest, signed


def check_statement(
    seal: Seal, doc: Any, content_digest: Callable[[Digester], bytes] | bytes
) -> Verdict:
    """Check a statement against its content.

    ``content_digest`` is either the content's digest, or a function that feeds the content
    into a digester of the statement's suite and returns the digest (a file is digested only
    once the suite is known to be one this installation has).
    """
    shape = _shape(doc)
    if shape is None:
        return Verdict(Check.MALFORMED)
    suite_name, key_id, digest_hex, signed = shape
    signed_at = str(doc["signed_at"])

    def verdict(check: Check, key: PublicKey | None = None) -> Verdict:
        return Verdict(check, suite_name, key_id, signed_at, signed, key)

    suite = suite_named(suite_name)
    if suite is None:
        return verdict(Check.UNKNOWN_SUITE)
    key = seal.key(key_id)
    if key is None or key.suite != suite_name:
        return verdict(Check.UNKNOWN_KEY)
    actual = (
        content_digest if isinstance(content_digest, bytes) else content_digest(suite.digester())
    )
    if actual.hex() != digest_hex.lower():
        return verdict(Check.DIGEST_MISMATCH, key)
    try:
        raw = base64.b64decode(str(doc["signature"]), validate=True)
        body = {k: v for k, v in doc.items() if k != "signature"}
        message = suite.digest(canonical_json(body))
    except (ValueError, TypeError):
        return verdict(Check.BAD_SIGNATURE, key)
    if not suite.verify(key.pem, message, raw):
        return verdict(Check.BAD_SIGNATURE, key)
    return verdict(Check.OK, key)


# --- files -------------------------------------------------------------------------------


def signature_path(path: Path) -> Path:
    """Where a file's detached signature goes by default: ``<name>.sig.json`` beside it."""
    return path.with_name(path.name + SIG_SUFFIX)


def _feed(digester: Digester, stream: BinaryIO) -> int:
    size = 0
    while chunk := stream.read(CHUNK):
        digester.update(chunk)
        size += len(chunk)
    return size


def file_digest(digester: Digester, path: Path) -> tuple[bytes, int]:
    """The digest and size of a file, read in chunks."""
    with path.open("rb") as stream:
        size = _feed(digester, stream)
    return digester.digest(), size


def _file_subject(
    name: str,
    size: int,
    *,
    dataset: Mapping[str, Any] | None,
    version: int | None,
    fingerprint: str | None,
    extra: Mapping[str, Any] | None,
) -> dict[str, Any]:
    subject: dict[str, Any] = {"kind": "file", "name": name, "size": size}
    if dataset is not None:
        subject["dataset"] = dict(dataset)
    if version is not None:
        subject["version"] = version
    if fingerprint is not None:
        subject["fingerprint"] = fingerprint
    if extra:
        subject.update({k: v for k, v in extra.items() if k not in subject})
    return subject


def sign_file(
    seal: Seal,
    path: Path,
    *,
    name: str | None = None,
    dataset: Mapping[str, Any] | None = None,
    version: int | None = None,
    fingerprint: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The detached signature of a file (its ``.sig.json`` content)."""
    digest, size = file_digest(seal.digester(), path)
    subject = _file_subject(
        name or path.name,
        size,
        dataset=dataset,
        version=version,
        fingerprint=fingerprint,
        extra=extra,
    )
    return statement(seal, digest, subject)


def verify_stream(seal: Seal, stream: BinaryIO, doc: Any) -> Verdict:
    """Check a file's detached signature against the file's bytes, read from ``stream``.

    A file whose size differs from the signed size fails as a digest mismatch: its content is
    not what was signed.
    """
    sizes: list[int] = []

    def digest(digester: Digester) -> bytes:
        sizes.append(_feed(digester, stream))
        return digester.digest()

    verdict = check_statement(seal, doc, digest)
    signed_size = verdict.signed.get("size") if verdict.signed is not None else None
    if (
        verdict.valid
        and sizes
        and isinstance(signed_size, int)
        and not isinstance(signed_size, bool)
        and signed_size != sizes[0]
    ):
        return Verdict(
            Check.DIGEST_MISMATCH,
            suite=verdict.suite,
            key_id=verdict.key_id,
            signed_at=verdict.signed_at,
            signed=verdict.signed,
            key=verdict.key,
        )
    return verdict


def verify_file(seal: Seal, path: Path, doc: Any) -> Verdict:
    """Check a file against its detached signature."""
    with path.open("rb") as stream:
        return verify_stream(seal, stream, doc)


class StreamSigner:
    """Signs content that is produced in chunks (an export being streamed to a client).

    Pass every chunk through ``update`` (or iterate ``wrap(chunks)`` / ``awrap(chunks)``);
    after the last one, ``finish()`` returns the detached signature (the ``.sig.json``
    content) of exactly the bytes that passed, without holding them in memory::

        signer = StreamSigner(platform_seal(settings), name="rows.csv", version=3,
                              dataset={"id": 7, "code": "101001/0001"}, fingerprint=fp)
        return StreamingResponse(signer.wrap(csv_chunks()), …)
        # when the stream ends: store signer.finish() for the client's second request
    """

    def __init__(
        self,
        seal: Seal,
        *,
        name: str,
        dataset: Mapping[str, Any] | None = None,
        version: int | None = None,
        fingerprint: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.seal = seal
        self.name = name
        self.dataset = dataset
        self.version = version
        self.fingerprint = fingerprint
        self.extra = extra
        self.size = 0
        self._digester = seal.digester()
        self._document: dict[str, Any] | None = None

    def update(self, chunk: bytes) -> None:
        if self._document is not None:
            raise RuntimeError("the stream was already signed")
        self._digester.update(chunk)
        self.size += len(chunk)

    def wrap(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Yield the chunks unchanged while digesting them."""
        for chunk in chunks:
            self.update(chunk)
            yield chunk

    async def awrap(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        """``wrap`` for an asynchronous stream."""
        async for chunk in chunks:
            self.update(chunk)
            yield chunk

    def finish(self) -> dict[str, Any]:
        """The detached signature of everything passed so far (made once, then the same)."""
        if self._document is None:
            subject = _file_subject(
                self.name,
                self.size,
                dataset=self.dataset,
                version=self.version,
                fingerprint=self.fingerprint,
                extra=self.extra,
            )
            self._document = statement(self.seal, self._digester.digest(), subject)
        return self._document


def seal_stream(
    seal: Seal,
    chunks: Iterable[bytes],
    *,
    name: str,
    on_sealed: Callable[[dict[str, Any]], None],
    dataset: Mapping[str, Any] | None = None,
    version: int | None = None,
    fingerprint: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Iterator[bytes]:
    """Yield ``chunks`` unchanged; after the last one, call ``on_sealed(signature)`` with the
    detached signature of all of them (e.g. to store it for a second request). A stream
    that stops early (the client went away) is not signed."""
    signer = StreamSigner(
        seal, name=name, dataset=dataset, version=version, fingerprint=fingerprint, extra=extra
    )
    yield from signer.wrap(chunks)
    on_sealed(signer.finish())


# --- JSON answers ------------------------------------------------------------------------


def answer_digest(suite_digest: Callable[[bytes], bytes], answer: Any) -> bytes:
    return suite_digest(canonical_json(answer))


def seal_answer(
    seal: Seal, answer: Any, *, context: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``{"answer": answer, "seal": statement}``: the answer (made JSON-safe first) and a
    statement over its canonical JSON. ``context`` (e.g. the verification service asked)
    goes into the statement's ``signed`` member."""
    plain = to_jsonable_python(answer)
    subject = {"kind": "answer", **dict(context or {})}
    return {
        "answer": plain,
        "seal": statement(seal, answer_digest(seal.suite.digest, plain), subject),
    }


def verify_answer(seal: Seal, envelope: Any) -> Verdict:
    """Check a sealed answer (the parsed envelope)."""
    if not isinstance(envelope, Mapping) or "answer" not in envelope or "seal" not in envelope:
        return Verdict(Check.MALFORMED)
    doc = envelope["seal"]
    suite = suite_named(str(doc.get("suite", ""))) if isinstance(doc, Mapping) else None
    try:
        digest = answer_digest(suite.digest, envelope["answer"]) if suite is not None else b""
    except ValueError:
        return Verdict(Check.MALFORMED)
    return check_statement(seal, doc, digest)


def load_json(data: bytes) -> Any:
    """Parse JSON bytes (UTF-8, BOM tolerated); ``None`` when they are not JSON."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return None
