"""What the seal's API returns: the platform's public keys and verification verdicts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class SealKeyRead(BaseModel):
    """A public key of the platform: the current one signs, retired ones still verify."""

    key_id: str = Field(description="first 16 hex digits of the SHA-256 of the PEM")
    suite: str = Field(description="algorithm suite, e.g. ed25519-sha256")
    public_key: str = Field(description="the public key, PEM (SubjectPublicKeyInfo)")
    status: Literal["current", "retired"]
    retired_at: str | None = None


class SealVerifyRead(BaseModel):
    """The outcome of checking a signature: valid, or which check failed."""

    valid: bool
    check: Literal[
        "ok", "malformed", "unknown_suite", "unknown_key", "digest_mismatch", "bad_signature"
    ] = Field(description="ok, or the first check that failed")
    message: str = Field(description="the outcome in the reader's language")
    suite: str = ""
    key_id: str = ""
    key_status: Literal["current", "retired"] | None = None
    signed_at: str = ""
    signed: dict[str, Any] | None = Field(
        default=None, description="what the statement says was signed (file, size, dataset…)"
    )
