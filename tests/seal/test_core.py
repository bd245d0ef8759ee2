"""The seal: files and answers sealed and checked, every failed check named, rotation."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from gongshu.seal.core import Seal, Signature, key_id_of, platform_seal, rotate_key
from gongshu.seal.statements import (
    Check,
    StreamSigner,
    seal_answer,
    seal_stream,
    sign_file,
    verify_answer,
    verify_file,
)
from gongshu.settings import Settings


@pytest.fixture
def seal_settings(settings: Settings, tmp_path: Path) -> Settings:
    """Settings whose data directory — and so whose key pair — belongs to this test."""
    return settings.model_copy(update={"data_dir": tmp_path / "data"})


@pytest.fixture
def seal(seal_settings: Settings) -> Seal:
    return platform_seal(seal_settings)


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "rows.csv"
    path.write_bytes("统一社会信用代码,企业名称\n91371300MA00000001,临沂测试企业\n".encode())
    return path


def test_file_round_trip_describes_what_was_signed(seal: Seal, export: Path) -> None:
    doc = sign_file(
        seal, export, dataset={"id": 7, "code": "202001/0001"}, version=3, fingerprint="ab" * 16
    )
    assert doc["suite"] == "ed25519-sha256" and doc["key_id"] == seal.key_id
    assert doc["signed"] == {
        "kind": "file",
        "name": "rows.csv",
        "size": export.stat().st_size,
        "dataset": {"id": 7, "code": "202001/0001"},
        "version": 3,
        "fingerprint": "ab" * 16,
    }
    # The .sig.json survives being written and read back.
    verdict = verify_file(seal, export, json.loads(json.dumps(doc)))
    assert verdict.valid and verdict.check is Check.OK
    assert verdict.key is not None and verdict.key.current
    assert "未被改动" in verdict.message("zh") and "unchanged" in verdict.message("en")


def test_a_changed_file_is_a_digest_mismatch(seal: Seal, export: Path) -> None:
    doc = sign_file(seal, export)
    export.write_bytes(export.read_bytes().replace("临沂".encode(), "济南".encode()))
    assert verify_file(seal, export, doc).check is Check.DIGEST_MISMATCH
    export.write_bytes(b"")
    assert verify_file(seal, export, doc).check is Check.DIGEST_MISMATCH


def test_each_failed_check_is_named(seal: Seal, seal_settings: Settings, export: Path) -> None:
    doc = sign_file(seal, export)
    # What was signed, edited: the statement's signature no longer holds.
    renamed = {**doc, "signed": {**doc["signed"], "name": "other.csv"}}
    assert verify_file(seal, export, renamed).check is Check.BAD_SIGNATURE
    flipped = bytearray(base64.b64decode(doc["signature"]))
    flipped[0] ^= 1
    forged = {**doc, "signature": base64.b64encode(bytes(flipped)).decode()}
    assert verify_file(seal, export, forged).check is Check.BAD_SIGNATURE
    # A key this platform never had.
    stranger = platform_seal(
        seal_settings.model_copy(update={"data_dir": seal_settings.data_dir / "x"})
    )
    assert stranger.key_id != seal.key_id
    foreign = sign_file(stranger, export)
    verdict = verify_file(seal, export, foreign)
    assert verdict.check is Check.UNKNOWN_KEY and foreign["key_id"] in verdict.message("en")
    # A suite this installation does not know (e.g. SM2 before it is added).
    sm2 = {**doc, "suite": "sm2-sm3"}
    verdict = verify_file(seal, export, sm2)
    assert verdict.check is Check.UNKNOWN_SUITE and "sm2-sm3" in verdict.message("zh")
    for broken in ({}, {"format": "x"}, {**doc, "digest": "zz"}, [1, 2], None):
        assert verify_file(seal, export, broken).check is Check.MALFORMED
    assert not any(verify_file(seal, export, d).valid for d in (renamed, forged, foreign, sm2))


def test_streamed_signature_equals_the_file_signature(seal: Seal, export: Path) -> None:
    data = export.read_bytes()
    chunks = [data[i : i + 7] for i in range(0, len(data), 7)]
    signer = StreamSigner(seal, name="rows.csv", version=2)
    assert b"".join(signer.wrap(chunks)) == data
    doc = signer.finish()
    assert signer.finish() is doc  # made once
    assert doc["digest"] == sign_file(seal, export)["digest"]
    assert doc["signed"]["size"] == len(data)
    assert verify_file(seal, export, doc).valid
    with pytest.raises(RuntimeError):
        signer.update(b"more")

    sealed: list[dict[str, object]] = []
    out = b"".join(seal_stream(seal, iter(chunks), name="rows.csv", on_sealed=sealed.append))
    assert out == data and len(sealed) == 1
    assert verify_file(seal, export, sealed[0]).valid
    # A stream abandoned half-way is never sealed.
    stopped: list[dict[str, object]] = []
    gen = seal_stream(seal, iter(chunks), name="rows.csv", on_sealed=stopped.append)
    next(gen)
    gen.close()
    assert stopped == []


def test_sealed_answer_round_trip_and_tampering(seal: Seal) -> None:
    answer = {"match": True, "mismatched": [], "found": None, "score": 2.5, "名称": "核验"}
    envelope = seal_answer(seal, answer, context={"service": "citizen-name"})
    assert envelope["answer"] == answer
    assert envelope["seal"]["signed"] == {"kind": "answer", "service": "citizen-name"}
    # As a client sees it: parsed from JSON with other spacing and key order.
    wire = json.loads(json.dumps(envelope, indent=3, sort_keys=False))
    assert verify_answer(seal, wire).valid
    wire["answer"]["match"] = False
    assert verify_answer(seal, wire).check is Check.DIGEST_MISMATCH
    assert verify_answer(seal, {"answer": 1}).check is Check.MALFORMED


def test_rotation_keeps_old_signatures_verifiable(seal_settings: Settings, export: Path) -> None:
    first = platform_seal(seal_settings)
    old_doc = sign_file(first, export)
    raw: Signature = first.sign(b"checkpoint 42")
    before, after = rotate_key(seal_settings)
    assert before.key_id == first.key_id and after.key_id != first.key_id
    current = platform_seal(seal_settings)
    assert current.key_id == after.key_id
    assert [k.key_id for k in current.public_keys()] == [after.key_id, first.key_id]
    retired = current.key(first.key_id)
    assert retired is not None and not retired.current and retired.retired_at
    # What the old key signed still verifies, reported as signed by a retired key.
    verdict = verify_file(current, export, old_doc)
    assert verdict.valid and verdict.key is not None and not verdict.key.current
    assert current.verify(b"checkpoint 42", raw)
    assert not current.verify(b"checkpoint 43", raw)
    # New signatures use the new key; the old private key is gone.
    assert sign_file(current, export)["key_id"] == after.key_id
    private = (seal_settings.data_dir / "seal" / "ed25519-private.pem").read_bytes()
    assert key_id_of(current.public_key_pem) == after.key_id
    assert private != first.suite.private_pem(first.private_key)
    retired_file = seal_settings.data_dir / "seal" / "retired" / f"{first.key_id}.json"
    assert json.loads(retired_file.read_text())["public_key"] == first.public_key_pem.decode()
    assert (
        oct((seal_settings.data_dir / "seal" / "ed25519-private.pem").stat().st_mode & 0o777)
        == "0o600"
    )
