"""Input and output shapes for users, tokens and API keys (named by direction)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gongshu.auth.models import Role


class UserCreate(BaseModel):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=256)
    email: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=30)
    agency_id: int | None = None
    region_id: int | None = None
    roles: list[Role] = Field(default_factory=list)


class UserUpdate(BaseModel):
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    email: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=30)
    agency_id: int | None = None
    region_id: int | None = None
    is_active: bool | None = None


class RolesUpdate(BaseModel):
    roles: list[Role]


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    email: str
    phone: str
    agency_id: int | None
    region_id: int | None
    roles: list[Role]
    is_active: bool
    totp_enabled: bool
    locked_until: dt.datetime | None
    last_login_at: dt.datetime | None
    created_at: dt.datetime


class UserPage(BaseModel):
    items: list[UserRead]
    total: int
    page: int
    per_page: int


class TokenRequest(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=256)
    totp: str | None = Field(default=None, max_length=10, description="second factor, if enabled")


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 — the OAuth 2 token type, not a secret
    expires_in: int


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    owner_agency_id: int | None = Field(
        default=None, description="set to issue the key to an agency's information system"
    )
    scopes: list[str] = Field(default_factory=list)
    daily_quota: int | None = Field(default=None, ge=1)
    rate_limit_per_minute: int | None = Field(default=None, ge=1)
    expires_at: dt.datetime | None = None


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    owner_user_id: int | None
    owner_agency_id: int | None
    scopes: list[str]
    daily_quota: int | None
    rate_limit_per_minute: int | None
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="the key itself; shown only once")


class PasswordReset(BaseModel):
    new_password: str = Field(min_length=1, max_length=256)


class TotpCode(BaseModel):
    code: str = Field(min_length=6, max_length=10, description="the 6-digit code from the app")


class TotpEnrollmentRead(BaseModel):
    secret: str = Field(description="base32 secret, to type into the app by hand")
    uri: str = Field(description="otpauth:// URI, to show as a QR code")


class HistoryEntryRead(BaseModel):
    """One entry of the audit chain about an account (its history is a view of the chain)."""

    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: dt.datetime
    actor_id: int | None
    actor_name: str
    action: str
    object_label: str
    changes: dict[str, Any]
    ip: str
