"""Who is acting: the identity every service function receives and audits."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from gongshu.auth.models import Role


@dataclass(frozen=True)
class Actor:
    """A signed-in user, an API key's owner, or the system itself (CLI, jobs, demo loader).

    ``region_id`` is the user's own region (bureau admins of a district see that district);
    ``city_scope`` is true for users whose region is the city itself.
    ``needs_totp_enrollment`` is set for an administrator who must enrol a second factor
    (``settings.admin_totp_required``) before doing anything else.
    """

    user_id: int | None
    name: str
    roles: frozenset[Role] = frozenset()
    agency_id: int | None = None
    region_id: int | None = None
    city_scope: bool = False
    request_id: str = ""
    ip: str = ""
    api_key_id: int | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    needs_totp_enrollment: bool = False

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """The platform acting on its own behalf (CLI, demo loader, scheduled jobs)."""
        return cls(user_id=None, name=name, roles=frozenset({Role.SYSTEM_ADMIN}), city_scope=True)

    @property
    def is_system(self) -> bool:
        return self.user_id is None

    def has(self, *roles: Role) -> bool:
        return any(r in self.roles for r in roles)

    def with_request(self, request_id: str, ip: str) -> Actor:
        return replace(self, request_id=request_id, ip=ip)
