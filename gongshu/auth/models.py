"""Accounts, their roles, login sessions and API keys."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gongshu.db import Base, utcnow
from gongshu.orgs.models import str_enum

if TYPE_CHECKING:
    from gongshu.orgs.models import Agency, Region


class Role(enum.StrEnum):
    """The roles of DESIGN.md, plus the three separated administrators (三员分立)."""

    BUREAU_ADMIN = "bureau_admin"  # 大数据主管部门（市级或区县级）
    AGENCY_OFFICER = "agency_officer"  # 数据专管员
    AGENCY_CONSUMER = "agency_consumer"  # 使用部门
    PUBLIC = "public"  # 公民、法人和其他组织
    OPERATOR = "operator"  # 授权运营方
    AUDITOR = "auditor"  # 安全监管
    SYSTEM_ADMIN = "system_admin"  # 系统管理员
    SECURITY_ADMIN = "security_admin"  # 安全保密管理员
    AUDIT_ADMIN = "audit_admin"  # 安全审计员


class User(Base):
    """A person who signs in: a civil servant, an operator's staff, or a member of the public."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(default=False)
    password_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    agency: Mapped[Agency | None] = relationship(foreign_keys=[agency_id])
    region: Mapped[Region | None] = relationship()
    role_rows: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(r.role for r in self.role_rows)


class UserRole(Base):
    """One role held by one user."""

    __tablename__ = "user_role"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"))

    user: Mapped[User] = relationship(back_populates="role_rows")


class PasswordHistory(Base):
    """Earlier password hashes, so that a new password cannot repeat a recent one."""

    __tablename__ = "password_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LoginSession(Base):
    """A signed-in browser. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")

    user: Mapped[User] = relationship()


class ApiKey(Base):
    """A key for machine access, owned by a user or by an agency's information system.

    Only the HMAC-SHA256 of the key is stored; the key itself is shown once at creation.
    """

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    owner_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    owner_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    daily_quota: Mapped[int | None]
    rate_limit_per_minute: Mapped[int | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    owner_user: Mapped[User | None] = relationship(foreign_keys=[owner_user_id])
    owner_agency: Mapped[Agency | None] = relationship(foreign_keys=[owner_agency_id])
