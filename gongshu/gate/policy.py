"""Who may read a dataset's rows, and which of them: the gate's policy.

The checks, in order (the first that matches decides):

1. the platform itself (background jobs, the CLI: a system actor without an API key) reads
   every dataset;
2. a bureau admin (大数据主管部门) reads the datasets of its region: a city-scope admin every
   dataset, a district admin those of its district;
3. a data officer or consumer of the provider agency reads that agency's datasets;
4. anyone else — another agency's officer, a citizen, an operator, the separated
   administrators — is refused with ``PermissionDenied``.

A decision is a ``ReadScope``: the basis it was granted on and the fields the reader may see
(``None``: every field). Grants from the sharing workflow (fields, row filter, expiry) and
masking by level and reader are added here, as further rules that narrow the scope; the
gate's service applies whatever scope this module returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.permissions import in_region_scope
from gongshu.catalog.models import Dataset
from gongshu.errors import PermissionDenied
from gongshu.i18n import N_

MSG_DENIED = N_("无权读取该数据集的数据")
MSG_FIELD_DENIED = N_("无权读取字段“{field}”")


@dataclass(frozen=True)
class ReadScope:
    """What one reader may read of one dataset, and why."""

    basis: str  # "platform", "bureau" or "provider"
    fields: frozenset[str] | None = None

    def allows(self, field: str) -> bool:
        return self.fields is None or field in self.fields


def is_platform(actor: Actor) -> bool:
    return actor.is_system and actor.api_key_id is None


def scope_for(actor: Actor, dataset: Dataset) -> ReadScope | None:
    """The reader's scope on the dataset, or None when it may not read it at all."""
    if is_platform(actor):
        return ReadScope(basis="platform")
    if actor.has(Role.BUREAU_ADMIN) and in_region_scope(actor, dataset.region_id):
        return ReadScope(basis="bureau")
    if (
        actor.agency_id is not None
        and actor.agency_id == dataset.agency_id
        and actor.has(Role.AGENCY_OFFICER, Role.AGENCY_CONSUMER)
    ):
        return ReadScope(basis="provider")
    return None


def may_read(actor: Actor, dataset: Dataset) -> bool:
    """Whether the reader may read any of the dataset's rows (for links and buttons)."""
    return scope_for(actor, dataset) is not None


def require_read(actor: Actor, dataset: Dataset) -> ReadScope:
    """The reader's scope, or ``PermissionDenied``."""
    scope = scope_for(actor, dataset)
    if scope is None:
        raise PermissionDenied(MSG_DENIED)
    return scope
