"""Accounts, roles, sign-in and machine access: every write of the auth area.

Who may do what (checked here, so pages, API and CLI apply the same rules):

- ``user.manage`` (system admin, bureau admin) creates and edits accounts. A bureau admin
  whose region is a district manages only the accounts of that district, and only accounts
  whose roles it could grant itself (``permissions.BUREAU_GRANTABLE``). Accounts of the
  triad and of auditors are edited only by a system admin or the system.
- Roles outside ``BUREAU_GRANTABLE`` (the triad, auditors, bureau admins) are granted and
  taken away only by an actor holding ``role.assign`` (the security admin) or by the system
  itself (CLI, demo loader). Nobody changes their own roles.
- Separation of duties (三员分立): an account holds at most one of the system, security and
  audit admin roles, and a triad role never together with any other role. Agency roles
  (data officer, consumer) need an agency.
- ``account.security`` (the security admin) unlocks accounts and resets second factors
  anywhere; user managers may do the same within their scope.

Sign-in: ``authenticate`` checks the password (Argon2id), the optional TOTP code and the
lock-out state kept in the user row (so it holds across processes and restarts). Failures
are counted and committed even though the call raises. Browser sessions keep a random
token in a cookie and only its SHA-256 in the database; bearer tokens are HS256 JWTs; API
keys are stored only as HMAC-SHA256 under the secret key.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import jwt
import pyotp
from sqlalchemy import ColumnElement, delete, func, or_, select, true, update
from sqlalchemy.orm import Session, joinedload

from gongshu.audit.service import diff, record, snapshot
from gongshu.auth import passwords
from gongshu.auth.actor import Actor
from gongshu.auth.models import ApiKey, LoginSession, PasswordHistory, Role, User, UserRole
from gongshu.auth.permissions import (
    ADMIN_TRIAD,
    BUREAU_GRANTABLE,
    Perm,
    can,
    in_region_scope,
    require_login,
)
from gongshu.auth.schemas import (
    ApiKeyCreate,
    PasswordChange,
    TokenRequest,
    TokenResponse,
    UserCreate,
    UserUpdate,
)
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from gongshu.i18n import N_
from gongshu.orgs.models import Agency, Region
from gongshu.settings import Settings, get_settings

__all__ = [
    "ADMIN_ROLES",
    "AGENCY_ROLES",
    "API_KEY_PREFIX",
    "PROTECTED_ROLES",
    "TotpEnrollment",
    "actor_for_access_token",
    "actor_for_api_key",
    "actor_for_session_token",
    "actor_for_user",
    "authenticate",
    "begin_totp_enrollment",
    "can_manage_user",
    "can_view_user",
    "change_password",
    "check_role_set",
    "confirm_totp",
    "create_api_key",
    "create_user",
    "disable_totp",
    "end_session",
    "get_user",
    "issue_access_token",
    "list_api_keys",
    "reset_password",
    "reset_totp",
    "revoke_api_key",
    "set_roles",
    "start_session",
    "unlock_user",
    "update_user",
]

API_KEY_PREFIX = "gsk_"
JWT_ALGORITHM = "HS256"
TOUCH_INTERVAL = dt.timedelta(minutes=1)

# Roles that make an account an administrator: they must use a second factor when
# ``settings.admin_totp_required`` is on.
ADMIN_ROLES: frozenset[Role] = frozenset(
    {Role.BUREAU_ADMIN, Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN, Role.AUDITOR}
)
# Roles only the security admin (role.assign) or the system may grant or take away.
PROTECTED_ROLES: frozenset[Role] = frozenset(Role) - BUREAU_GRANTABLE
# Roles that act for an agency and so need one.
AGENCY_ROLES: frozenset[Role] = frozenset({Role.AGENCY_OFFICER, Role.AGENCY_CONSUMER})

USER_FIELDS = (
    "username",
    "display_name",
    "email",
    "phone",
    "agency_id",
    "region_id",
    "is_active",
)

MSG_LOGIN_FAILED = N_("用户名或密码错误")
MSG_LOCKED = N_("登录失败次数过多，账户已锁定，请 {minutes} 分钟后再试或联系管理员解锁")
MSG_INACTIVE = N_("账户已停用，请联系管理员")
MSG_TOTP_MISSING = N_("请输入动态验证码")
MSG_TOTP_WRONG = N_("动态验证码错误")
MSG_USER_NOT_FOUND = N_("用户不存在")
MSG_NO_PERMISSION = N_("没有执行此操作的权限")


# --- small helpers -----------------------------------------------------------------------


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _hmac(secret_key: str, value: str) -> str:
    return hmac.new(secret_key.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).hexdigest()


def _label(user: User) -> str:
    return f"{user.display_name} ({user.username})"


def _anonymous(username: str, ip: str) -> Actor:
    """The actor of a sign-in attempt: nobody is authenticated yet."""
    return Actor(user_id=None, name=username[:100] or "-", ip=ip)


def _denied() -> PermissionDenied:
    return PermissionDenied(MSG_NO_PERMISSION)


def get_user(session: Session, user_id: int) -> User:
    """The account with this id, or ``NotFound``."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(MSG_USER_NOT_FOUND)
    return user


def _user_snapshot(user: User) -> dict[str, Any]:
    data = snapshot(user, USER_FIELDS)
    data["roles"] = sorted(r.value for r in user.roles)
    return data


# --- who may manage whom -----------------------------------------------------------------


def can_view_user(actor: Actor, user: User) -> bool:
    """Whether the actor may see this account's details.

    Security and audit staff see every account; user managers see the accounts of their
    region; data officers see the accounts of their own agency; everyone sees themselves.
    """
    if actor.is_system or actor.user_id == user.id:
        return True
    if any(can(actor, p) for p in (Perm.ROLE_ASSIGN, Perm.ACCOUNT_SECURITY, Perm.AUDIT_READ)):
        return True
    if can(actor, Perm.USER_MANAGE) and in_region_scope(actor, user.region_id):
        return True
    return (
        actor.has(Role.AGENCY_OFFICER)
        and actor.agency_id is not None
        and actor.agency_id == user.agency_id
    )


def can_manage_user(actor: Actor, user: User) -> bool:
    """Whether the actor may edit this account (profile, status, password reset)."""
    if actor.is_system:
        return True
    if not can(actor, Perm.USER_MANAGE) or not in_region_scope(actor, user.region_id):
        return False
    roles = user.roles
    if roles & (ADMIN_TRIAD | {Role.AUDITOR}) and not actor.has(Role.SYSTEM_ADMIN):
        return False
    # A district bureau admin manages only accounts whose roles it could grant itself.
    return actor.city_scope or roles <= BUREAU_GRANTABLE


def _require_manage(actor: Actor, user: User) -> None:
    require_login(actor)
    if not can_manage_user(actor, user):
        raise _denied()


def _require_security(actor: Actor, user: User) -> None:
    """Unlocking and second-factor resets: the security admin, or the account's manager."""
    require_login(actor)
    if can(actor, Perm.ACCOUNT_SECURITY) or can_manage_user(actor, user):
        return
    raise _denied()


def check_role_set(roles: frozenset[Role], agency_id: int | None) -> None:
    """Separation of duties (三员分立) and role prerequisites, for any channel."""
    triad = roles & ADMIN_TRIAD
    if len(triad) > 1:
        raise ValidationFailed.single(
            "roles", N_("系统管理员、安全保密管理员和安全审计员必须由不同账户担任（三员分立）")
        )
    if triad and len(roles) > 1:
        raise ValidationFailed.single(
            "roles", N_("三员（系统管理员、安全保密管理员、安全审计员）账户不能兼任其他角色")
        )
    if roles & AGENCY_ROLES and agency_id is None:
        raise ValidationFailed.single("roles", N_("数据专管员和数据使用部门角色需要所属机构"))


def _check_grant(actor: Actor, changed: frozenset[Role]) -> None:
    """Whether the actor may grant or take away each of the changed roles."""
    if actor.is_system or can(actor, Perm.ROLE_ASSIGN):
        return
    if changed & PROTECTED_ROLES:
        raise PermissionDenied(
            N_("只有安全保密管理员可以授予或撤销管理类角色（主管部门管理员、三员、安全监管员）")
        )
    if not can(actor, Perm.USER_MANAGE):
        raise _denied()


def _resolve_place(
    session: Session, actor: Actor, agency_id: int | None, region_id: int | None
) -> tuple[int | None, int | None]:
    """Check the agency and region of an account and default the region to the agency's."""
    agency: Agency | None = None
    if agency_id is not None:
        agency = session.get(Agency, agency_id)
        if agency is None:
            raise ValidationFailed.single("agency_id", N_("机构不存在"))
    if region_id is not None and session.get(Region, region_id) is None:
        raise ValidationFailed.single("region_id", N_("行政区划不存在"))
    if agency is not None:
        if region_id is None:
            region_id = agency.region_id
        elif region_id != agency.region_id:
            raise ValidationFailed.single("region_id", N_("所属区域与所属机构的区域不一致"))
    if region_id is None and not actor.is_system and not actor.city_scope:
        region_id = actor.region_id
    if not actor.is_system and not actor.city_scope and region_id != actor.region_id:
        raise PermissionDenied(N_("只能管理本行政区划内的账户"))
    return agency_id, region_id


def _set_password(
    session: Session,
    user: User,
    password: str,
    settings: Settings,
    *,
    field: str = "new_password",
    check: bool = True,
) -> None:
    """Check the policy against the user's history, store the new hash, trim the history."""
    if check:
        history = list(
            session.scalars(
                select(PasswordHistory.password_hash)
                .where(PasswordHistory.user_id == user.id)
                .order_by(PasswordHistory.created_at.desc(), PasswordHistory.id.desc())
                .limit(max(settings.password_history, 1))
            )
        )
        passwords.check_policy(
            password,
            username=user.username,
            previous_hashes=history,
            settings=settings,
            field=field,
        )
    user.password_hash = passwords.hash_password(password, settings)
    user.password_changed_at = utcnow()
    session.flush()
    session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash))
    session.flush()
    keep = max(settings.password_history, 1)
    old_ids = list(
        session.scalars(
            select(PasswordHistory.id)
            .where(PasswordHistory.user_id == user.id)
            .order_by(PasswordHistory.created_at.desc(), PasswordHistory.id.desc())
            .offset(keep)
        )
    )
    if old_ids:
        session.execute(delete(PasswordHistory).where(PasswordHistory.id.in_(old_ids)))


def _revoke_sessions(session: Session, user_id: int) -> None:
    session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


# --- accounts ------------------------------------------------------------------------------


def create_user(session: Session, actor: Actor, data: UserCreate) -> User:
    """Open an account. Needs ``user.manage``; protected roles need ``role.assign``."""
    require_login(actor)
    if not (actor.is_system or can(actor, Perm.USER_MANAGE)):
        raise _denied()
    settings = get_settings()
    roles = frozenset(data.roles)
    _check_grant(actor, roles)
    agency_id, region_id = _resolve_place(session, actor, data.agency_id, data.region_id)
    check_role_set(roles, agency_id)
    username = data.username.strip()
    taken = session.scalar(
        select(func.count()).where(func.lower(User.username) == username.lower())
    )
    if taken:
        raise ValidationFailed.single("username", N_("用户名已被使用"))
    passwords.check_policy(data.password, username=username, settings=settings)
    with unit_of_work(session):
        user = User(
            username=username,
            display_name=data.display_name.strip(),
            email=data.email.strip(),
            phone=data.phone.strip(),
            agency_id=agency_id,
            region_id=region_id,
            password_hash="",
            role_rows=[UserRole(role=r) for r in sorted(roles)],
        )
        session.add(user)
        session.flush()
        _set_password(session, user, data.password, settings, check=False)
        record(
            session,
            actor,
            "user.create",
            "user",
            user.id,
            label=_label(user),
            changes=diff({}, _user_snapshot(user)),
        )
    return user


def update_user(session: Session, actor: Actor, user_id: int, data: UserUpdate) -> User:
    """Edit an account's profile, agency, region or status (deactivating ends its sessions)."""
    user = get_user(session, user_id)
    _require_manage(actor, user)
    fields = data.model_fields_set
    before = _user_snapshot(user)
    agency_id = data.agency_id if "agency_id" in fields else user.agency_id
    region_id = data.region_id if "region_id" in fields else user.region_id
    if "agency_id" in fields and "region_id" not in fields and agency_id != user.agency_id:
        region_id = None  # follow the new agency
    if agency_id != user.agency_id or region_id != user.region_id:
        agency_id, region_id = _resolve_place(session, actor, agency_id, region_id)
        check_role_set(user.roles, agency_id)
    if data.is_active is False and actor.user_id == user.id:
        raise ValidationFailed.single("is_active", N_("不能停用自己的账户"))
    with unit_of_work(session):
        for name in ("display_name", "email", "phone"):
            value = getattr(data, name)
            if name in fields and value is not None:
                setattr(user, name, value.strip())
        user.agency_id = agency_id
        user.region_id = region_id
        if data.is_active is not None:
            user.is_active = data.is_active
            if not data.is_active:
                _revoke_sessions(session, user.id)
        session.flush()
        changes = diff(before, _user_snapshot(user))
        if changes:
            record(
                session, actor, "user.update", "user", user.id, label=_label(user), changes=changes
            )
    return user


def set_roles(session: Session, actor: Actor, user_id: int, roles: list[Role]) -> User:
    """Replace an account's roles (三员分立 enforced; protected roles need ``role.assign``)."""
    user = get_user(session, user_id)
    require_login(actor)
    if actor.user_id is not None and actor.user_id == user.id:
        raise PermissionDenied(N_("不能修改自己的角色"))
    new = frozenset(roles)
    old = user.roles
    _check_grant(actor, new ^ old)
    # A user manager (not the security admin): only accounts within its scope.
    if not (actor.is_system or can(actor, Perm.ROLE_ASSIGN) or can_manage_user(actor, user)):
        raise _denied()
    check_role_set(new, user.agency_id)
    if new == old:
        return user
    with unit_of_work(session):
        for row in list(user.role_rows):
            if row.role not in new:
                user.role_rows.remove(row)
        for role in sorted(new - old):
            user.role_rows.append(UserRole(role=role))
        session.flush()
        record(
            session,
            actor,
            "user.set_roles",
            "user",
            user.id,
            label=_label(user),
            changes={"roles": [sorted(r.value for r in old), sorted(r.value for r in new)]},
        )
    return user


def change_password(session: Session, actor: Actor, data: PasswordChange) -> None:
    """The signed-in user changes their own password (the current one is required)."""
    require_login(actor)
    if actor.user_id is None:
        raise _denied()
    user = get_user(session, actor.user_id)
    if not passwords.verify_password(user.password_hash, data.current_password):
        raise ValidationFailed.single("current_password", N_("当前密码不正确"))
    settings = get_settings()
    with unit_of_work(session):
        _set_password(session, user, data.new_password, settings)
        record(session, actor, "user.password_change", "user", user.id, label=_label(user))


def reset_password(session: Session, actor: Actor, user_id: int, new_password: str) -> None:
    """A manager sets a new password for an account; it also unlocks it and ends its sessions."""
    user = get_user(session, user_id)
    _require_security(actor, user)
    settings = get_settings()
    with unit_of_work(session):
        _set_password(session, user, new_password, settings)
        user.failed_logins = 0
        user.locked_until = None
        _revoke_sessions(session, user.id)
        record(session, actor, "user.password_reset", "user", user.id, label=_label(user))


def unlock_user(session: Session, actor: Actor, user_id: int) -> User:
    """Lift a lock-out and clear the failure counter."""
    user = get_user(session, user_id)
    _require_security(actor, user)
    with unit_of_work(session):
        changes = diff(
            {"failed_logins": user.failed_logins, "locked_until": user.locked_until},
            {"failed_logins": 0, "locked_until": None},
        )
        user.failed_logins = 0
        user.locked_until = None
        record(session, actor, "user.unlock", "user", user.id, label=_label(user), changes=changes)
    return user


def reset_totp(session: Session, actor: Actor, user_id: int) -> User:
    """Remove an account's second factor (a lost phone); the user enrols again."""
    user = get_user(session, user_id)
    _require_security(actor, user)
    with unit_of_work(session):
        was = user.totp_enabled
        user.totp_secret = None
        user.totp_enabled = False
        record(
            session,
            actor,
            "user.totp_reset",
            "user",
            user.id,
            label=_label(user),
            changes={"totp_enabled": [was, False]} if was else {},
        )
    return user


# --- second factor (TOTP) ----------------------------------------------------------------------


@dataclass(frozen=True)
class TotpEnrollment:
    """A pending second factor: the secret (base32) and the ``otpauth://`` URI for the QR code."""

    secret: str
    uri: str


def _totp_uri(user: User, secret: str, settings: Settings) -> str:
    issuer = f"{settings.city_name}{settings.platform_name}"
    return str(pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=issuer))


def pending_totp(user: User) -> TotpEnrollment | None:
    """The enrolment the user started but has not confirmed yet, if any."""
    if user.totp_enabled or not user.totp_secret:
        return None
    return TotpEnrollment(user.totp_secret, _totp_uri(user, user.totp_secret, get_settings()))


def _verify_totp(secret: str | None, code: str | None) -> bool:
    if not secret or not code:
        return False
    code = code.strip().replace(" ", "")
    if not code.isdigit():
        return False
    return bool(pyotp.TOTP(secret).verify(code, valid_window=1))


def begin_totp_enrollment(session: Session, actor: Actor) -> TotpEnrollment:
    """Start enrolling an authenticator app: a new secret, enabled once a code confirms it."""
    require_login(actor)
    if actor.user_id is None:
        raise _denied()
    user = get_user(session, actor.user_id)
    if user.totp_enabled:
        raise Conflict(N_("已启用动态验证码"))
    secret = pyotp.random_base32()
    with unit_of_work(session):
        user.totp_secret = secret
        record(session, actor, "user.totp_begin", "user", user.id, label=_label(user))
    return TotpEnrollment(secret, _totp_uri(user, secret, get_settings()))


def confirm_totp(session: Session, actor: Actor, code: str) -> None:
    """Enable the pending second factor once the user proves the app shows the right code."""
    require_login(actor)
    if actor.user_id is None:
        raise _denied()
    user = get_user(session, actor.user_id)
    if user.totp_enabled:
        raise Conflict(N_("已启用动态验证码"))
    if not user.totp_secret:
        raise ValidationFailed.single("code", N_("请先生成密钥"))
    if not _verify_totp(user.totp_secret, code):
        raise ValidationFailed.single("code", N_("动态验证码错误，请核对手机时间后重试"))
    with unit_of_work(session):
        user.totp_enabled = True
        record(
            session,
            actor,
            "user.totp_enable",
            "user",
            user.id,
            label=_label(user),
            changes={"totp_enabled": [False, True]},
        )


def disable_totp(session: Session, actor: Actor, code: str) -> None:
    """Turn off one's own second factor (needs a current code; refused for required admins)."""
    require_login(actor)
    if actor.user_id is None:
        raise _denied()
    user = get_user(session, actor.user_id)
    if not user.totp_enabled:
        raise Conflict(N_("尚未启用动态验证码"))
    if get_settings().admin_totp_required and user.roles & ADMIN_ROLES:
        raise PermissionDenied(N_("管理员账户必须使用动态验证码，不能停用"))
    if not _verify_totp(user.totp_secret, code):
        raise ValidationFailed.single("code", MSG_TOTP_WRONG)
    with unit_of_work(session):
        user.totp_enabled = False
        user.totp_secret = None
        record(
            session,
            actor,
            "user.totp_disable",
            "user",
            user.id,
            label=_label(user),
            changes={"totp_enabled": [True, False]},
        )


# --- signing in ------------------------------------------------------------------------------


def _remaining_minutes(until: dt.datetime) -> int:
    seconds = (until - utcnow()).total_seconds()
    return max(1, int(seconds // 60) + (1 if seconds % 60 else 0))


def _record_refusal(session: Session, actor: Actor, user: User, reason: str) -> None:
    """Commit the audit entry of a refused sign-in (the caller raises afterwards)."""
    with unit_of_work(session):
        record(
            session,
            actor,
            "auth.login_failed",
            "user",
            user.id,
            label=_label(user),
            changes={"reason": reason},
        )


def authenticate(
    session: Session,
    settings: Settings,
    username: str,
    password: str,
    totp: str | None,
    ip: str = "",
) -> User:
    """The account these credentials open, or ``AuthenticationFailed`` with the reason.

    A wrong password or second factor counts as a failure; ``login_max_failures`` failures
    lock the account for ``login_lockout_minutes``. The counter and the audit entries are
    committed before the error is raised, so they hold across requests and processes.
    """
    username = username.strip()
    user = (
        session.scalar(select(User).where(func.lower(User.username) == username.lower()))
        if username
        else None
    )
    if user is None:
        passwords.dummy_verify(password, settings)
        with unit_of_work(session):
            record(
                session,
                _anonymous(username, ip),
                "auth.login_failed",
                "user",
                "-",
                label=username[:64],
                changes={"reason": "unknown_user"},
            )
        raise AuthenticationFailed(MSG_LOGIN_FAILED)
    actor = _anonymous(user.username, ip)
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        passwords.dummy_verify(password, settings)
        _record_refusal(session, actor, user, "locked")
        raise AuthenticationFailed(MSG_LOCKED, minutes=_remaining_minutes(user.locked_until))

    reason = ""
    if not passwords.verify_password(user.password_hash, password):
        reason = "password"
    elif user.totp_enabled:
        if not (totp or "").strip():
            # Not a failure: the password was right and the form now asks for the code.
            raise AuthenticationFailed(MSG_TOTP_MISSING)
        if not _verify_totp(user.totp_secret, totp):
            reason = "totp"
    if reason:
        _count_failure(session, settings, user, actor, reason)
        if user.locked_until is not None and user.locked_until > utcnow():
            raise AuthenticationFailed(MSG_LOCKED, minutes=_remaining_minutes(user.locked_until))
        raise AuthenticationFailed(MSG_TOTP_WRONG if reason == "totp" else MSG_LOGIN_FAILED)
    if not user.is_active:
        _record_refusal(session, actor, user, "inactive")
        raise AuthenticationFailed(MSG_INACTIVE)

    with unit_of_work(session):
        if passwords.needs_rehash(user.password_hash, settings):
            user.password_hash = passwords.hash_password(password, settings)
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = utcnow()
        record(
            session,
            Actor(user_id=user.id, name=user.display_name, agency_id=user.agency_id, ip=ip),
            "auth.login",
            "user",
            user.id,
            label=_label(user),
        )
    return user


def _count_failure(
    session: Session, settings: Settings, user: User, actor: Actor, reason: str
) -> None:
    """Add one failure atomically (concurrent attempts all count); lock at the threshold."""
    with unit_of_work(session):
        session.execute(
            update(User)
            .where(User.id == user.id)
            .values(failed_logins=User.failed_logins + 1)
            .execution_options(synchronize_session=False)
        )
        session.refresh(user)
        record(
            session,
            actor,
            "auth.login_failed",
            "user",
            user.id,
            label=_label(user),
            changes={"reason": reason, "failed_logins": user.failed_logins},
        )
        if user.failed_logins >= settings.login_max_failures:
            user.locked_until = utcnow() + dt.timedelta(minutes=settings.login_lockout_minutes)
            user.failed_logins = 0
            record(
                session,
                actor,
                "auth.locked",
                "user",
                user.id,
                label=_label(user),
                changes={"locked_until": [None, user.locked_until]},
            )


def actor_for_user(user: User, settings: Settings | None = None) -> Actor:
    """The actor a signed-in user acts as: roles, agency, region and scope from the row."""
    settings = settings or get_settings()
    region = user.region
    roles = user.roles
    needs_totp = bool(
        settings.admin_totp_required and roles & ADMIN_ROLES and not user.totp_enabled
    )
    return Actor(
        user_id=user.id,
        name=user.display_name,
        roles=roles,
        agency_id=user.agency_id,
        region_id=user.region_id,
        city_scope=user.region_id is None or (region is not None and region.is_city),
        needs_totp_enrollment=needs_totp,
    )


def start_session(
    session: Session, user: User, ip: str, user_agent: str
) -> tuple[str, LoginSession]:
    """Open a browser session: returns the cookie token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    settings = get_settings()
    idle_since = utcnow() - dt.timedelta(minutes=settings.session_timeout_minutes)
    with unit_of_work(session):
        # Tidy the user's finished sessions while we are here.
        session.execute(
            delete(LoginSession).where(
                LoginSession.user_id == user.id,
                or_(LoginSession.revoked_at.is_not(None), LoginSession.last_seen_at < idle_since),
            )
        )
        login = LoginSession(
            token_hash=_sha256(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            ip=ip[:64],
            user_agent=user_agent[:300],
        )
        session.add(login)
    return token, login


def end_session(session: Session, token: str) -> None:
    """Sign a browser out: the session is revoked (an unknown token is ignored)."""
    login = session.scalar(
        select(LoginSession)
        .options(joinedload(LoginSession.user))
        .where(LoginSession.token_hash == _sha256(token), LoginSession.revoked_at.is_(None))
    )
    if login is None:
        return
    with unit_of_work(session):
        login.revoked_at = utcnow()
        user = login.user
        actor = Actor(
            user_id=user.id, name=user.display_name, agency_id=user.agency_id, ip=login.ip
        )
        record(session, actor, "auth.logout", "user", user.id, label=_label(user))


def actor_for_session_token(session: Session, token: str) -> tuple[Actor, str] | None:
    """The actor and CSRF token of a live browser session, or None.

    A session idle for ``session_timeout_minutes`` ends; ``last_seen_at`` is written at most
    once a minute so that page views do not each cost a write.
    """
    if not token:
        return None
    settings = get_settings()
    login = session.scalar(
        select(LoginSession)
        .options(joinedload(LoginSession.user).joinedload(User.region))
        .where(LoginSession.token_hash == _sha256(token), LoginSession.revoked_at.is_(None))
    )
    if login is None or not login.user.is_active:
        return None
    now = utcnow()
    if now - login.last_seen_at > dt.timedelta(minutes=settings.session_timeout_minutes):
        return None
    if now - login.last_seen_at > TOUCH_INTERVAL:
        with unit_of_work(session):
            login.last_seen_at = now
    return actor_for_user(login.user, settings), login.csrf_token


# --- bearer tokens -----------------------------------------------------------------------------


def issue_access_token(
    session: Session, settings: Settings, data: TokenRequest, *, ip: str = ""
) -> TokenResponse:
    """Exchange credentials for a short-lived bearer token (HS256 JWT)."""
    user = authenticate(session, settings, data.username, data.password, data.totp, ip)
    now = utcnow()
    lifetime = settings.access_token_minutes * 60
    claims = {
        "sub": str(user.id),
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + lifetime,
        "typ": "access",
        "jti": secrets.token_hex(8),
    }
    token = jwt.encode(claims, settings.secret_key, algorithm=JWT_ALGORITHM)
    return TokenResponse(access_token=token, expires_in=lifetime)


def actor_for_access_token(session: Session, token: str) -> Actor | None:
    """The actor of a valid bearer token, or None (bad signature, expired, inactive user).

    Tokens issued before the account's last password change are refused.
    """
    settings = get_settings()
    try:
        claims = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[JWT_ALGORITHM],
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != "access":
        return None
    try:
        user_id = int(claims["sub"])
    except (TypeError, ValueError):
        return None
    user = session.scalar(select(User).options(joinedload(User.region)).where(User.id == user_id))
    if user is None or not user.is_active:
        return None
    if int(user.password_changed_at.timestamp()) > int(claims["iat"]):
        return None
    return actor_for_user(user, settings)


# --- API keys ----------------------------------------------------------------------------------


def _agency_key_allowed(session: Session, actor: Actor, agency: Agency) -> bool:
    if can(actor, Perm.APIKEY_MANAGE_ANY):
        return True
    if actor.has(Role.AGENCY_OFFICER) and actor.agency_id == agency.id:
        return True
    return can(actor, Perm.USER_MANAGE) and in_region_scope(actor, agency.region_id)


def create_api_key(session: Session, actor: Actor, data: ApiKeyCreate) -> tuple[ApiKey, str]:
    """Issue an API key to the actor, or to an agency's information system.

    Returns the stored row and the key itself, which is shown once and never stored: only
    its HMAC-SHA256 under the secret key is kept.
    """
    require_login(actor)
    if actor.user_id is None:
        raise PermissionDenied(N_("API 密钥须由具体用户创建"))
    if data.expires_at is not None:
        expires = data.expires_at
        if expires.tzinfo is None:
            raise ValidationFailed.single("expires_at", N_("到期时间须包含时区"))
        if expires <= utcnow():
            raise ValidationFailed.single("expires_at", N_("到期时间必须晚于当前时间"))
    owner_user_id: int | None = actor.user_id
    if data.owner_agency_id is not None:
        agency = session.get(Agency, data.owner_agency_id)
        if agency is None:
            raise ValidationFailed.single("owner_agency_id", N_("机构不存在"))
        if not _agency_key_allowed(session, actor, agency):
            raise PermissionDenied(N_("只能为本单位或本人管理范围内的机构签发 API 密钥"))
        owner_user_id = None
    settings = get_settings()
    if actor.has(Role.PUBLIC) and actor.agency_id is None:
        # Every public user's key carries the same quota and rate (non-discrimination):
        # a key may ask for less, never for more.
        data = data.model_copy(
            update={
                "daily_quota": min(
                    data.daily_quota or settings.public_api_daily_quota,
                    settings.public_api_daily_quota,
                ),
                "rate_limit_per_minute": min(
                    data.rate_limit_per_minute or settings.public_api_rate_per_minute,
                    settings.public_api_rate_per_minute,
                ),
            }
        )
    prefix = API_KEY_PREFIX + secrets.token_hex(4)
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    with unit_of_work(session):
        api_key = ApiKey(
            name=data.name.strip(),
            prefix=prefix,
            key_hash=_hmac(settings.secret_key, key),
            owner_user_id=owner_user_id,
            owner_agency_id=data.owner_agency_id,
            scopes=sorted(set(data.scopes)),
            daily_quota=data.daily_quota,
            rate_limit_per_minute=data.rate_limit_per_minute,
            created_by_id=actor.user_id,
            expires_at=data.expires_at,
        )
        session.add(api_key)
        session.flush()
        record(
            session,
            actor,
            "apikey.create",
            "api_key",
            api_key.id,
            label=f"{api_key.name} ({prefix})",
            changes=diff(
                {},
                snapshot(
                    api_key,
                    (
                        "name",
                        "prefix",
                        "owner_user_id",
                        "owner_agency_id",
                        "scopes",
                        "daily_quota",
                        "rate_limit_per_minute",
                        "expires_at",
                    ),
                ),
            ),
        )
    return api_key, key


def _visible_keys(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause for the keys an actor may see and revoke."""
    if actor.is_system or can(actor, Perm.APIKEY_MANAGE_ANY):
        return true()
    conditions: list[ColumnElement[bool]] = [ApiKey.owner_user_id == actor.user_id]
    if actor.has(Role.AGENCY_OFFICER) and actor.agency_id is not None:
        conditions.append(ApiKey.owner_agency_id == actor.agency_id)
    return or_(*conditions)


def list_api_keys(session: Session, actor: Actor, *, include_revoked: bool = True) -> list[ApiKey]:
    """The actor's own keys and its agency's keys (all keys for the security admin)."""
    require_login(actor)
    stmt = select(ApiKey).where(_visible_keys(actor)).order_by(ApiKey.created_at.desc())
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(stmt))


def revoke_api_key(session: Session, actor: Actor, key_id: int) -> ApiKey:
    """Revoke a key at once; it stays listed as revoked."""
    require_login(actor)
    api_key = session.scalar(select(ApiKey).where(ApiKey.id == key_id, _visible_keys(actor)))
    if api_key is None:
        raise NotFound(N_("API 密钥不存在"))
    if api_key.revoked_at is not None:
        return api_key
    with unit_of_work(session):
        api_key.revoked_at = utcnow()
        record(
            session,
            actor,
            "apikey.revoke",
            "api_key",
            api_key.id,
            label=f"{api_key.name} ({api_key.prefix})",
        )
    return api_key


def actor_for_api_key(session: Session, key: str) -> Actor | None:
    """The actor an API key acts as, or None (unknown, revoked, expired, owner inactive).

    A user's key acts as that user; an agency's key acts as a data-using system of the
    agency, recorded under the user who issued it.
    """
    if not key.startswith(API_KEY_PREFIX) or len(key) > 200:
        return None
    settings = get_settings()
    api_key = session.scalar(
        select(ApiKey)
        .options(joinedload(ApiKey.owner_user).joinedload(User.region))
        .where(ApiKey.key_hash == _hmac(settings.secret_key, key))
    )
    now = utcnow()
    if api_key is None or api_key.revoked_at is not None:
        return None
    if api_key.expires_at is not None and api_key.expires_at <= now:
        return None
    scopes = frozenset(str(s) for s in api_key.scopes or [])
    actor: Actor
    if api_key.owner_user is not None:
        if not api_key.owner_user.is_active:
            return None
        actor = actor_for_user(api_key.owner_user, settings)
    else:
        agency = api_key.owner_agency
        if agency is None or not agency.is_active or api_key.created_by_id is None:
            return None
        region = agency.region
        actor = Actor(
            user_id=api_key.created_by_id,
            name=f"{agency.name} · {api_key.name}",
            roles=frozenset({Role.AGENCY_CONSUMER}),
            agency_id=agency.id,
            region_id=agency.region_id,
            city_scope=region.is_city,
        )
    if api_key.last_used_at is None or now - api_key.last_used_at > TOUCH_INTERVAL:
        with unit_of_work(session):
            api_key.last_used_at = now
    if api_key.daily_quota is not None:
        # Every request a key authenticates counts against its quota (429 past it).
        from gongshu.opening.quota import charge

        charge(session, api_key.id, api_key.daily_quota, now=now)
    return Actor(
        user_id=actor.user_id,
        name=actor.name,
        roles=actor.roles,
        agency_id=actor.agency_id,
        region_id=actor.region_id,
        city_scope=actor.city_scope,
        api_key_id=api_key.id,
        scopes=scopes,
        needs_totp_enrollment=actor.needs_totp_enrollment,
    )
