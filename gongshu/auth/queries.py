"""Reading accounts, shared by pages, the API and the CLI, scoped to what the reader may see.

Security and audit staff (and the system) see every account; user managers see the accounts
of their region (the whole city for city-level admins); data officers see the accounts of
their own agency. Anyone else may list nothing, but always sees their own account.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, selectinload

from gongshu.audit.models import AuditEntry
from gongshu.audit.service import history
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role, User, UserRole
from gongshu.auth.permissions import Perm, can, require_login
from gongshu.auth.schemas import UserRead
from gongshu.auth.service import can_view_user, get_user
from gongshu.errors import PermissionDenied
from gongshu.i18n import N_
from gongshu.pagination import Page

MAX_PER_PAGE = 100


UserList = Page[User]


def _visibility(actor: Actor) -> ColumnElement[bool] | None:
    """The WHERE clause limiting accounts to the actor's view (None: everything)."""
    if actor.is_system or any(
        can(actor, p) for p in (Perm.ROLE_ASSIGN, Perm.ACCOUNT_SECURITY, Perm.AUDIT_READ)
    ):
        return None
    conditions: list[ColumnElement[bool]] = []
    if can(actor, Perm.USER_MANAGE):
        if actor.city_scope:
            return None
        conditions.append(User.region_id == actor.region_id)
    if actor.has(Role.AGENCY_OFFICER) and actor.agency_id is not None:
        conditions.append(User.agency_id == actor.agency_id)
    if not conditions:
        raise PermissionDenied(N_("没有查看用户列表的权限"))
    return or_(*conditions)


def list_users(
    session: Session,
    actor: Actor,
    *,
    q: str = "",
    role: Role | None = None,
    agency_id: int | None = None,
    region_id: int | None = None,
    active: bool | None = None,
    page: int = 1,
    per_page: int = 20,
) -> UserList:
    """Accounts the actor may see, filtered and paginated (newest first)."""
    require_login(actor)
    page = max(page, 1)
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    conditions: list[ColumnElement[bool]] = []
    scope = _visibility(actor)
    if scope is not None:
        conditions.append(scope)
    if q := q.strip():
        conditions.append(
            or_(
                User.username.icontains(q, autoescape=True),
                User.display_name.icontains(q, autoescape=True),
                User.email.icontains(q, autoescape=True),
            )
        )
    if role is not None:
        conditions.append(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    if agency_id is not None:
        conditions.append(User.agency_id == agency_id)
    if region_id is not None:
        conditions.append(User.region_id == region_id)
    if active is not None:
        conditions.append(User.is_active.is_(active))
    total = int(session.scalar(select(func.count()).select_from(User).where(*conditions)) or 0)
    stmt = (
        select(User)
        .where(*conditions)
        .options(selectinload(User.agency), selectinload(User.region))
        .order_by(User.created_at.desc(), User.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return UserList(list(session.scalars(stmt)), total, page, per_page)


def user_for(session: Session, actor: Actor, user_id: int) -> User:
    """One account, if the actor may see it (``NotFound`` / ``PermissionDenied`` otherwise)."""
    require_login(actor)
    user = get_user(session, user_id)
    if not can_view_user(actor, user):
        raise PermissionDenied(N_("没有查看该用户的权限"))
    return user


def user_history(session: Session, actor: Actor, user_id: int) -> list[AuditEntry]:
    """The audit entries about an account, oldest first (a view of the audit chain)."""
    user_for(session, actor, user_id)
    return history(session, "user", user_id)


def user_read(user: User) -> UserRead:
    """The API shape of an account (roles in a stable order)."""
    return UserRead(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        phone=user.phone,
        agency_id=user.agency_id,
        region_id=user.region_id,
        roles=sorted(user.roles),
        is_active=user.is_active,
        totp_enabled=user.totp_enabled,
        locked_until=user.locked_until,
        last_login_at=user.last_login_at,
        created_at=user.created_at,
    )
