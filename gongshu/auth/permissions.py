"""What each role may do, and the checks services call before they act.

Permissions are checked in the services (never only in templates). The three separated
administrators (三员分立) hold disjoint permission sets, and no account may hold two of
those roles; a test asserts both.

Scope rules that depend on the object (an officer edits only their own agency's entries, a
district bureau admin manages only its district) live in the functions below, so every
channel — pages, API, CLI — applies the same ones.
"""

from __future__ import annotations

import enum

from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.errors import NotAuthenticated, PermissionDenied


class Perm(enum.StrEnum):
    REGION_MANAGE = "region.manage"
    AGENCY_MANAGE = "agency.manage"
    USER_MANAGE = "user.manage"
    ROLE_ASSIGN = "role.assign"  # grant or take away roles
    ACCOUNT_SECURITY = "account.security"  # unlock accounts, reset second factors
    APIKEY_MANAGE_ANY = "apikey.manage_any"
    AUDIT_READ = "audit.read"
    AUDIT_VERIFY = "audit.verify"
    CATALOG_EDIT_OWN = "catalog.edit_own"
    CATALOG_READ_ALL = "catalog.read_all"
    CATALOG_REVIEW = "catalog.review"
    CATALOG_EXPORT = "catalog.export"
    DATA_USE = "data.use"
    CALENDAR_MANAGE = "calendar.manage"  # working-day overrides; bureau admins: city only


ADMIN_TRIAD: frozenset[Role] = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})

ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.SYSTEM_ADMIN: frozenset(
        {
            Perm.REGION_MANAGE,
            Perm.AGENCY_MANAGE,
            Perm.USER_MANAGE,
            Perm.CATALOG_EXPORT,
            Perm.CALENDAR_MANAGE,
        }
    ),
    Role.SECURITY_ADMIN: frozenset(
        {Perm.ROLE_ASSIGN, Perm.ACCOUNT_SECURITY, Perm.APIKEY_MANAGE_ANY}
    ),
    Role.AUDIT_ADMIN: frozenset({Perm.AUDIT_READ, Perm.AUDIT_VERIFY}),
    Role.AUDITOR: frozenset({Perm.AUDIT_READ, Perm.AUDIT_VERIFY}),
    Role.BUREAU_ADMIN: frozenset(
        {
            Perm.AGENCY_MANAGE,
            Perm.USER_MANAGE,
            Perm.CATALOG_READ_ALL,
            Perm.CATALOG_REVIEW,
            Perm.CATALOG_EXPORT,
            Perm.CALENDAR_MANAGE,
        }
    ),
    Role.AGENCY_OFFICER: frozenset({Perm.CATALOG_EDIT_OWN, Perm.CATALOG_EXPORT, Perm.DATA_USE}),
    Role.AGENCY_CONSUMER: frozenset({Perm.DATA_USE}),
    Role.OPERATOR: frozenset(),
    Role.PUBLIC: frozenset(),
}

# Roles a bureau admin may hand out to the users of its own region; the rest (the triad,
# auditors, other bureau admins) are given only by the security admin.
BUREAU_GRANTABLE: frozenset[Role] = frozenset(
    {Role.AGENCY_OFFICER, Role.AGENCY_CONSUMER, Role.OPERATOR, Role.PUBLIC}
)


def permissions_of(roles: frozenset[Role]) -> frozenset[Perm]:
    perms: set[Perm] = set()
    for role in roles:
        perms |= ROLE_PERMISSIONS[role]
    return frozenset(perms)


def can(actor: Actor | None, perm: Perm) -> bool:
    """Whether the actor holds a permission through any of its roles."""
    return actor is not None and perm in permissions_of(actor.roles)


def require(actor: Actor | None, perm: Perm) -> Actor:
    """The actor, if it holds ``perm``; otherwise 401 (anonymous) or 403."""
    if actor is None:
        raise NotAuthenticated("请先登录")
    if perm not in permissions_of(actor.roles):
        raise PermissionDenied("没有执行此操作的权限")
    return actor


def require_login(actor: Actor | None) -> Actor:
    if actor is None:
        raise NotAuthenticated("请先登录")
    return actor


def in_region_scope(actor: Actor, region_id: int | None) -> bool:
    """A city-scoped actor covers every region; a district admin only its own district."""
    return actor.city_scope or (actor.region_id is not None and actor.region_id == region_id)
