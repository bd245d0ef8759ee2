"""Who may do what in the sharing workflow, who is told, and how statuses are named.

- **Requesting** (``may_request``): a user of a public body (``data.use``: a data officer
  or a consumer) whose agency is not the provider, on a published entry that is shared
  (unconditional or conditional). Not-shared entries cannot be requested.
- **Deciding** a conditional request (``decides``): the provider agency's data officers.
- **Objecting** to a refusal: users of the requesting body (``data.use``).
- **Arbitrating** an objection and **revoking** as the bureau (``arbitrates``): a bureau
  admin who reviews the entry's catalog — the city bureau for a city entry, the district
  bureau (or the city bureau) for a district entry, as in catalog review.
- **Emergencies** and the **return flow** (``city_bureau``): a city-level bureau admin.
- The platform itself (CLI, jobs) may do all of it; its actions are audited as such.

Permissions are checked in the services; pages call these predicates only to show buttons.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.permissions import Perm, can
from gongshu.catalog import workflow
from gongshu.catalog.models import Dataset, DatasetState, ShareType
from gongshu.catalog.queries import is_platform
from gongshu.i18n import N_, translate
from gongshu.notices.service import users_with_role
from gongshu.orgs.models import Region
from gongshu.share.models import (
    AssessmentOutcome,
    EmergencyStatus,
    GrantKind,
    GrantStatus,
    RequestKind,
    RequestStatus,
)

__all__ = [
    "arbitrates",
    "arbitrator_ids",
    "body_ids",
    "city_bureau",
    "city_bureau_ids",
    "decides",
    "is_platform",
    "may_request",
    "officer_ids",
    "request_refusal",
]

M_NOT_SHARED = N_("该目录条目为不予共享，不能申请共享（依据：{basis}）")
M_NOT_PUBLISHED = N_("只有已发布的目录条目可以申请共享")
M_OWN_AGENCY = N_("本单位的目录条目无需申请共享")
M_NO_AGENCY = N_("您的账号未关联公共管理和服务机构，不能申请共享")
M_NO_ROLE = N_("只有数据专管员或数据使用人员可以申请共享")

REQUEST_STATUS_LABELS: dict[RequestStatus, str] = {
    RequestStatus.REQUESTED: N_("待审核"),
    RequestStatus.GRANTED: N_("已同意，待生效"),
    RequestStatus.DENIED: N_("未同意"),
    RequestStatus.OBJECTED: N_("异议待仲裁"),
    RequestStatus.ACTIVE: N_("授权生效中"),
    RequestStatus.EXPIRED: N_("已到期"),
    RequestStatus.REVOKED: N_("已撤销"),
}
# Colour classes of the shared stylesheet (status by colour and text).
REQUEST_STATUS_KINDS: dict[RequestStatus, str] = {
    RequestStatus.REQUESTED: "warn",
    RequestStatus.GRANTED: "ok",
    RequestStatus.DENIED: "bad",
    RequestStatus.OBJECTED: "warn",
    RequestStatus.ACTIVE: "ok",
    RequestStatus.EXPIRED: "draft",
    RequestStatus.REVOKED: "bad",
}
REQUEST_KIND_LABELS: dict[RequestKind, str] = {
    RequestKind.UNCONDITIONAL: N_("无条件共享"),
    RequestKind.CONDITIONAL: N_("有条件共享"),
}
GRANT_KIND_LABELS: dict[GrantKind, str] = {
    GrantKind.UNCONDITIONAL: N_("无条件共享"),
    GrantKind.REQUEST: N_("有条件共享"),
    GrantKind.EMERGENCY: N_("应急共享"),
    GrantKind.RETURN_FLOW: N_("数据回流"),
}
GRANT_STATUS_LABELS: dict[GrantStatus, str] = {
    GrantStatus.ACTIVE: N_("生效"),
    GrantStatus.EXPIRED: N_("已到期"),
    GrantStatus.REVOKED: N_("已撤销"),
}
GRANT_STATUS_KINDS: dict[GrantStatus, str] = {
    GrantStatus.ACTIVE: "ok",
    GrantStatus.EXPIRED: "draft",
    GrantStatus.REVOKED: "bad",
}
EMERGENCY_STATUS_LABELS: dict[EmergencyStatus, str] = {
    EmergencyStatus.ACTIVE: N_("应急状态中"),
    EmergencyStatus.ENDED: N_("已结束"),
}
OUTCOME_LABELS: dict[AssessmentOutcome, str] = {
    AssessmentOutcome.KEEP: N_("维持有条件共享"),
    AssessmentOutcome.CONVERT: N_("转为无条件共享"),
}
ARBITRATION_LABELS: dict[str, str] = {
    "granted": N_("仲裁同意共享"),
    "upheld": N_("仲裁维持不予同意"),
}


def request_status_label(status: RequestStatus | str) -> str:
    return translate(REQUEST_STATUS_LABELS.get(RequestStatus(status), str(status)))


def grant_kind_label(kind: GrantKind | str) -> str:
    return translate(GRANT_KIND_LABELS.get(GrantKind(kind), str(kind)))


def grant_status_label(status: GrantStatus | str) -> str:
    return translate(GRANT_STATUS_LABELS.get(GrantStatus(status), str(status)))


# --- predicates ---------------------------------------------------------------------------


def request_refusal(actor: Actor | None, dataset: Dataset) -> str | None:
    """Why the actor's body may not request this entry (a message id), or None."""
    if actor is None or not can(actor, Perm.DATA_USE):
        return M_NO_ROLE
    if actor.agency_id is None:
        return M_NO_AGENCY
    if actor.agency_id == dataset.agency_id:
        return M_OWN_AGENCY
    if dataset.state is not DatasetState.PUBLISHED:
        return M_NOT_PUBLISHED
    if dataset.share_type is ShareType.NONE:
        return M_NOT_SHARED
    return None


def may_request(actor: Actor | None, dataset: Dataset) -> bool:
    """Whether to show "申请共享" on the entry's page (the service checks again)."""
    return request_refusal(actor, dataset) is None


def decides(actor: Actor | None, provider_agency_id: int) -> bool:
    """The provider agency's data officers (or the platform) decide its requests."""
    if actor is None:
        return False
    if is_platform(actor):
        return True
    return actor.agency_id == provider_agency_id and actor.has(Role.AGENCY_OFFICER)


def arbitrates(actor: Actor | None, dataset: Dataset) -> bool:
    """The bureau admins who review the entry's catalog (or the platform)."""
    if actor is None:
        return False
    return is_platform(actor) or workflow.reviews(actor, dataset)


def city_bureau(actor: Actor | None) -> bool:
    """A city-level bureau admin (or the platform): emergencies and the return flow."""
    if actor is None:
        return False
    return is_platform(actor) or (can(actor, Perm.CATALOG_REVIEW) and actor.city_scope)


def is_body_user(actor: Actor | None, agency_id: int) -> bool:
    """A user of the body (officer or consumer) who uses shared data for it."""
    return actor is not None and actor.agency_id == agency_id and can(actor, Perm.DATA_USE)


# --- audiences ----------------------------------------------------------------------------


def officer_ids(session: Session, agency_id: int) -> list[int]:
    return users_with_role(session, Role.AGENCY_OFFICER, agency_id=agency_id)


def body_ids(session: Session, agency_id: int) -> list[int]:
    """Everyone who uses data for the body: its officers and consumers."""
    return sorted(
        set(officer_ids(session, agency_id))
        | set(users_with_role(session, Role.AGENCY_CONSUMER, agency_id=agency_id))
    )


def arbitrator_ids(session: Session, dataset: Dataset) -> list[int]:
    return workflow.reviewer_ids(session, dataset)


def city_region_id(session: Session) -> int | None:
    """The city's region (the root of the region tree)."""
    return session.scalar(select(Region.id).where(Region.parent_id.is_(None)).order_by(Region.id))


def city_bureau_ids(session: Session) -> list[int]:
    city = city_region_id(session)
    if city is None:
        return []
    return users_with_role(session, Role.BUREAU_ADMIN, region_id=city)
