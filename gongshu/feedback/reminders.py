"""Reminders of replies to the public coming due.

Importing this module registers who answers for the feedback deadlines, so that the
notices' daily reminder job (``notices.deadline_reminders``, 08:00 Asia/Shanghai) tells
them on the day before and on the due day, and once when overdue:

- ``feedback.objection`` (a routed objection or error report): the answering agency's
  data officers;
- ``feedback.demand`` (a routed data demand): the agency's data officers;
- ``feedback.appeal`` (a rights appeal): the bureau admins and the provider's officers;
- ``feedback.objection_route`` and ``feedback.demand_route`` (a ticket or demand waiting to
  be routed or screened out): the bureau admins.

``gongshu feedback remind`` runs the same sweep by hand.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from gongshu.feedback import common
from gongshu.feedback.demands import DEMAND_DEADLINE, DEMAND_ROUTE_DEADLINE
from gongshu.feedback.models import Appeal, DataDemand
from gongshu.feedback.tickets import APPEAL_DEADLINE, FEEDBACK_DEADLINE, ROUTE_DEADLINE
from gongshu.governance.models import Objection
from gongshu.i18n import N_
from gongshu.notices.reminders import register_deadline_audience
from gongshu.workdays.models import Deadline

STEP_OBJECTION = N_("答复公众异议和纠错")
STEP_DEMAND = N_("答复数据需求")
STEP_APPEAL = N_("处理权益申诉")
STEP_ROUTE_OBJECTION = N_("转办公众异议和纠错")
STEP_ROUTE_DEMAND = N_("审核转办数据需求")


def _objection_audience(session: Session, deadline: Deadline) -> list[int]:
    objection = session.get(Objection, deadline.object_id)
    return common.officers(session, objection.agency_id) if objection is not None else []


def _demand_audience(session: Session, deadline: Deadline) -> list[int]:
    demand = session.get(DataDemand, deadline.object_id)
    return common.officers(session, demand.agency_id) if demand is not None else []


def _appeal_audience(session: Session, deadline: Deadline) -> list[int]:
    appeal = session.get(Appeal, deadline.object_id)
    if appeal is None:
        return []
    return [*common.bureau(session), *common.officers(session, appeal.agency_id)]


register_deadline_audience(
    FEEDBACK_DEADLINE,
    _objection_audience,
    label=STEP_OBJECTION,
    link=lambda d: "/moderation/replies",
)
register_deadline_audience(
    DEMAND_DEADLINE, _demand_audience, label=STEP_DEMAND, link=lambda d: f"/demands/{d.object_id}"
)
register_deadline_audience(
    APPEAL_DEADLINE, _appeal_audience, label=STEP_APPEAL, link=lambda d: f"/appeals/{d.object_id}"
)
for kind, label in (
    (ROUTE_DEADLINE, STEP_ROUTE_OBJECTION),
    (DEMAND_ROUTE_DEADLINE, STEP_ROUTE_DEMAND),
):
    register_deadline_audience(
        kind,
        lambda session, _deadline: common.bureau(session),
        label=label,
        link=lambda d: "/moderation",
    )
