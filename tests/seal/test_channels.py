"""The seal through its channels: the API (keys, verify), the page and the command line."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongshu.audit.models import AuditEntry
from gongshu.cli import app as cli_app
from gongshu.db import make_engine, make_session_factory
from gongshu.seal.core import platform_seal
from gongshu.seal.statements import seal_answer, sign_file
from gongshu.settings import Settings
from tests.factories import Person, csrf_from, login

runner = CliRunner()


def _file(tmp_path: Path, name: str = "export.csv") -> Path:
    path = tmp_path / name
    path.write_bytes("名称,数量\n甲,1\n乙,2\n".encode())
    return path


def test_keys_are_public(client: TestClient, settings: Settings) -> None:
    response = client.get("/api/v1/seal/keys")
    assert response.status_code == 200
    keys = response.json()
    seal = platform_seal(settings)
    assert keys[0]["key_id"] == seal.key_id and keys[0]["status"] == "current"
    assert keys[0]["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    pem = client.get(f"/api/v1/seal/keys/{seal.key_id}")
    assert pem.status_code == 200 and pem.content == seal.public_key_pem
    assert client.get("/api/v1/seal/keys/0000000000000000").status_code == 404


def test_api_verifies_files_and_answers(
    client: TestClient, settings: Settings, tmp_path: Path
) -> None:
    seal = platform_seal(settings)
    path = _file(tmp_path)
    sig = json.dumps(sign_file(seal, path)).encode()
    ok = client.post(
        "/api/v1/seal/verify",
        files={
            "file": ("export.csv", path.read_bytes()),
            "signature": ("export.csv.sig.json", sig),
        },
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["valid"] is True and ok.json()["signed"]["name"] == "export.csv"
    bad = client.post(
        "/api/v1/seal/verify",
        files={"file": ("export.csv", path.read_bytes() + b"x"), "signature": ("s.json", sig)},
        headers={"Accept-Language": "en"},
    )
    assert bad.json()["valid"] is False and bad.json()["check"] == "digest_mismatch"
    assert "Digest mismatch" in bad.json()["message"]
    missing = client.post("/api/v1/seal/verify", files={"file": ("a.csv", b"1")})
    assert missing.status_code == 422

    envelope = seal_answer(seal, {"match": True}, context={"service": "s"})
    assert client.post("/api/v1/seal/verify", json=envelope).json()["check"] == "ok"
    envelope["answer"]["match"] = False
    assert client.post("/api/v1/seal/verify", json=envelope).json()["check"] == "digest_mismatch"
    assert client.post("/api/v1/seal/verify", json={"match": True}).status_code == 422


def test_page_verifies_a_file_and_an_answer(
    client: TestClient, settings: Settings, tmp_path: Path, officer: Person
) -> None:
    seal = platform_seal(settings)
    path = _file(tmp_path)
    sig = json.dumps(sign_file(seal, path)).encode()
    # Anyone may check a seal, signed in or not.
    page = client.get("/seal/verify")
    assert page.status_code == 200 and seal.key_id in page.text
    result = client.post(
        "/seal/verify",
        files={"file": ("export.csv", path.read_bytes()), "signature": ("s.json", sig)},
    )
    assert result.status_code == 200 and 'id="seal-status">有效<' in result.text
    tampered = client.post(
        "/seal/verify",
        files={"file": ("export.csv", b"other"), "signature": ("s.json", sig)},
    )
    assert 'id="seal-status">无效<' in tampered.text and "digest_mismatch" in tampered.text
    no_sig = client.post("/seal/verify", files={"file": ("export.csv", b"other")})
    assert no_sig.status_code == 422 and "签名文件" in no_sig.text

    login(client, officer)
    token = csrf_from(client.get("/seal/verify").text)
    envelope = json.dumps(seal_answer(seal, {"match": False, "mismatched": ["name"]}))
    sealed = client.post("/seal/verify", data={"csrf_token": token, "sealed": envelope})
    assert sealed.status_code == 200 and 'id="seal-status">有效<' in sealed.text
    refused = client.post("/seal/verify", data={"sealed": envelope})
    assert refused.status_code == 403  # a signed-in form needs its CSRF token


def test_cli_sign_verify_exit_codes(cli_settings: Settings, tmp_path: Path) -> None:
    path = _file(tmp_path)
    signed = runner.invoke(cli_app, ["seal", "sign", str(path), "--dataset", "7", "--version", "2"])
    assert signed.exit_code == 0, signed.output
    sig_path = tmp_path / "export.csv.sig.json"
    doc = json.loads(sig_path.read_text())
    assert doc["signed"]["dataset"] == {"id": 7} and doc["signed"]["version"] == 2

    good = runner.invoke(cli_app, ["seal", "verify", str(path)])
    assert good.exit_code == 0 and "签名有效" in good.output and "Valid" in good.output

    path.write_bytes(path.read_bytes() + b"\n")
    bad = runner.invoke(cli_app, ["seal", "verify", str(path), "--signature", str(sig_path)])
    assert bad.exit_code == 1
    assert "摘要不一致" in bad.output and "Digest mismatch" in bad.output

    doc["key_id"] = "ffffffffffffffff"
    forged = tmp_path / "forged.sig.json"
    forged.write_text(json.dumps(doc))
    unknown = runner.invoke(cli_app, ["seal", "verify", str(path), "--signature", str(forged)])
    assert unknown.exit_code == 1 and "Unknown key" in unknown.output

    lonely = _file(tmp_path, "lonely.csv")
    nothing = runner.invoke(cli_app, ["seal", "verify", str(lonely)])
    assert nothing.exit_code == 1 and "lonely.csv.sig.json" in nothing.output

    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps(seal_answer(platform_seal(cli_settings), {"match": True})))
    assert runner.invoke(cli_app, ["seal", "verify", str(answer)]).exit_code == 0


def test_cli_key_rotation_is_audited(cli_settings: Settings, tmp_path: Path) -> None:
    path = _file(tmp_path)
    assert runner.invoke(cli_app, ["seal", "sign", str(path)]).exit_code == 0
    old = platform_seal(cli_settings).key_id
    shown = runner.invoke(cli_app, ["seal", "key"])
    assert shown.exit_code == 0 and old in shown.output and "BEGIN PUBLIC KEY" in shown.output

    rotated = runner.invoke(cli_app, ["seal", "key", "--rotate"])
    assert rotated.exit_code == 0, rotated.output
    new = platform_seal(cli_settings).key_id
    assert new != old and old in rotated.output and new in rotated.output
    # The file sealed with the old key still verifies.
    assert runner.invoke(cli_app, ["seal", "verify", str(path)]).exit_code == 0

    engine = make_engine(cli_settings)
    try:
        with make_session_factory(engine)() as session:
            entry = _rotation(session)
            assert entry.changes == {"retired": old, "current": new, "suite": "ed25519-sha256"}
            assert entry.actor_name == "cli"
    finally:
        engine.dispose()


def _rotation(session: Session) -> AuditEntry:
    return session.scalars(select(AuditEntry).where(AuditEntry.action == "seal.rotate")).one()
