"""The statistics page's figures, shared by the page and its JSON (one place decides scope).

``scope="public"`` counts public entries only (anyone); ``scope="all"`` counts every entry —
the bureau's view (``catalog.read_all``), or an agency officer's for their own agency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.auth.permissions import Perm, can
from gongshu.errors import NotAuthenticated, NotFound, PermissionDenied
from gongshu.i18n import N_
from gongshu.orgs.models import Agency
from gongshu.portalstats import queries
from gongshu.portalstats.feeds import find_agency

M_AGENCY_NOT_FOUND = N_("机构不存在")
M_SIGN_IN = N_("请先登录")
M_SCOPE_DENIED = N_("只有大数据主管部门（或本机构数据专管员）可以查看包括未开放条目在内的统计")

Scope = Literal["public", "all"]


@dataclass(frozen=True)
class StatsScope:
    scope: Scope = "public"
    agency: str | None = None  # an agency's slug (credit code) or id


@dataclass(frozen=True)
class StatsView:
    scope: Scope
    agency: Agency | None
    totals: queries.PortalTotals
    daily: list[queries.DayUsage]
    monthly: list[queries.DayUsage]
    top: list[queries.EntryUsage]
    agencies: list[queries.AgencyUsage] = field(default_factory=list)
    may_see_all: bool = False

    @property
    def agency_usage(self) -> queries.AgencyUsage | None:
        if self.agency is None:
            return None
        return queries.AgencyUsage(
            agency_id=self.agency.id,
            name=self.agency.name,
            credit_code=self.agency.credit_code,
            entries=self.totals.entries,
            views=self.totals.views,
            downloads=self.totals.downloads,
            api_calls=self.totals.api_calls,
        )


def find_agency_ref(session: Session, ref: str) -> Agency:
    """The agency named by its slug (credit code) or id, or NotFound."""
    agency = find_agency(session, ref)
    if agency is None:
        raise NotFound(M_AGENCY_NOT_FOUND)
    return agency


def may_see_all(actor: Actor | None, agency: Agency | None) -> bool:
    """Whether the reader may see figures of entries that are not public."""
    if can(actor, Perm.CATALOG_READ_ALL):
        return True
    return (
        actor is not None
        and agency is not None
        and actor.agency_id == agency.id
        and can(actor, Perm.CATALOG_EDIT_OWN)
    )


def stats_view(
    session: Session, actor: Actor | None, scope: StatsScope, *, days: int = 30, top: int = 10
) -> StatsView:
    agency = find_agency_ref(session, scope.agency) if scope.agency else None
    allowed = may_see_all(actor, agency)
    if scope.scope == "all" and not allowed:
        if actor is None:
            raise NotAuthenticated(M_SIGN_IN)
        raise PermissionDenied(M_SCOPE_DENIED)
    public_only = scope.scope == "public"
    agency_id = agency.id if agency is not None else None
    return StatsView(
        scope=scope.scope,
        agency=agency,
        totals=queries.totals(session, public_only=public_only, agency_id=agency_id),
        daily=queries.daily(session, days=days, agency_id=agency_id, public_only=public_only),
        monthly=queries.monthly(session, agency_id=agency_id, public_only=public_only),
        top=queries.by_entry(session, limit=top, agency_id=agency_id, public_only=public_only),
        agencies=[] if agency is not None else queries.by_agency(session, public_only=public_only),
        may_see_all=allowed,
    )
