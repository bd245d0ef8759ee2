"""Public feedback through the services: filing, routing, deadlines, replies, public
status, votes, moderation and response-time figures."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from gongshu.audit.models import AuditEntry
from gongshu.catalog.models import OpenType
from gongshu.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from gongshu.feedback import demands, queries, tickets
from gongshu.feedback.models import AppealStatus, DemandStatus
from gongshu.feedback.schemas import (
    AppealDecisionIn,
    AppealIn,
    CommentIn,
    DemandIn,
    DemandReplyIn,
    FeedbackCorrectedIn,
    FeedbackIn,
    FeedbackReplyIn,
    ReasonIn,
    ReuseIn,
    RouteIn,
)
from gongshu.governance.models import ObjectionStatus
from gongshu.notices.models import Notice
from gongshu.portal.openness import is_public, public_actor
from gongshu.workdays.calendar import WorkdayCalendar
from gongshu.workdays.models import Deadline
from tests.feedback.conftest import Town

MONDAY = dt.date(2026, 3, 2)


def _actions(db) -> list[str]:
    return list(db.scalars(select(AuditEntry.action).where(AuditEntry.action.like("feedback.%"))))


def _file(db, town: Town, kind: str = "error", **kw):
    data = FeedbackIn(
        kind=kind, text="监测站0 的细颗粒物浓度单位有误", **{"field_name": "pm25", **kw}
    )
    return tickets.file_feedback(db, town.alice.actor, town.air.id, data)


def test_objection_is_routed_to_the_provider_with_a_deadline_and_replied_publicly(db, town):
    objection = _file(db, town)
    assert objection.agency_id == town.provider.id and objection.seen_version_id is not None
    # Not public before routing: the panel shows it to the filer only.
    assert queries.public_feedback_for_dataset(db, town.air.id) == []
    mine = queries.public_feedback_for_dataset(db, town.air.id, town.alice.actor)
    assert [t.public_status for t in mine] == ["received"]
    with pytest.raises(PermissionDenied):  # only the bureau routes
        tickets.route_feedback(db, town.officer.actor, objection.id, RouteIn())
    with pytest.raises(Conflict):  # the provider replies only once routed
        tickets.reply_feedback(
            db, town.officer.actor, objection.id, FeedbackReplyIn(decision="answer", reply="好的")
        )
    tickets.route_feedback(db, town.bureau.actor, objection.id, RouteIn(), today=MONDAY)
    deadline = db.scalars(
        select(Deadline).where(
            Deadline.kind == "feedback.objection", Deadline.object_id == objection.id
        )
    ).one()
    assert deadline.working_days == 10
    assert deadline.due_on == WorkdayCalendar(db).add(MONDAY, 10).due_on
    officer_notices = db.scalars(select(Notice).where(Notice.user_id == town.officer.user.id)).all()
    assert any(n.kind == "feedback.objection" for n in officer_notices)
    # Public now, received; the provider sees it in its queue; another agency may not reply.
    listed = queries.public_feedback_for_dataset(db, town.air.id, public_actor())
    assert [(t.objection.id, t.public_status) for t in listed] == [(objection.id, "received")]
    assert [t.objection.id for t in queries.agency_queue(db, town.officer.actor).objections] == [
        objection.id
    ]
    with pytest.raises(PermissionDenied):
        tickets.reply_feedback(
            db,
            town.other_officer.actor,
            objection.id,
            FeedbackReplyIn(decision="accept", reply="x" * 3),
        )
    tickets.reply_feedback(
        db,
        town.officer.actor,
        objection.id,
        FeedbackReplyIn(decision="accept", reply="经核实单位应为微克每立方米，将于下一版更正"),
    )
    db.refresh(deadline)
    assert deadline.closed_at is not None
    [ticket] = queries.public_feedback_for_dataset(db, town.air.id)
    assert ticket.public_status == "replied" and "微克" in ticket.objection.answer
    tickets.mark_corrected(db, town.officer.actor, objection.id, FeedbackCorrectedIn(version=1))
    [ticket] = queries.public_feedback_for_dataset(db, town.air.id)
    assert ticket.public_status == "corrected" and ticket.objection.status is ObjectionStatus.FIXED
    assert {
        "feedback.objection_file",
        "feedback.objection_route",
        "feedback.objection_reply",
        "feedback.objection_correct",
    } <= set(_actions(db))


def test_filing_rules_and_screening(db, town):
    with pytest.raises(NotAuthenticated):  # the anonymous reader only reads
        tickets.file_feedback(
            db, public_actor(), town.air.id, FeedbackIn(kind="objection", text="不应开放此数据")
        )
    with pytest.raises(NotFound):  # hidden entries are not there for the public
        tickets.file_feedback(
            db,
            town.alice.actor,
            town.hidden.id,
            FeedbackIn(kind="objection", text="不应开放此数据"),
        )
    with pytest.raises(ValidationFailed):
        _file(db, town, field_name="nope")
    # A conditional entry without rows takes feedback too (no version seen).
    objection = tickets.file_feedback(
        db,
        town.bob.actor,
        town.permits.id,
        FeedbackIn(kind="objection", text="开放条件过严，建议无条件开放"),
    )
    assert objection.seen_version_id is None
    with pytest.raises(ValidationFailed):  # screening out needs a reason
        tickets.screen_out_feedback(db, town.bureau.actor, objection.id, " ")
    tickets.screen_out_feedback(db, town.bureau.actor, objection.id, "与数据无关")
    assert objection.status is ObjectionStatus.REJECTED
    assert queries.public_feedback_for_dataset(db, town.permits.id) == []  # never shown
    rejected = tickets.file_feedback(
        db,
        town.bob.actor,
        town.permits.id,
        FeedbackIn(kind="objection", text="开放条件过严，建议放宽"),
    )
    tickets.route_feedback(db, town.bureau.actor, rejected.id, RouteIn(agency_id=town.other.id))
    assert rejected.agency_id == town.other.id
    tickets.reply_feedback(
        db,
        town.other_officer.actor,
        rejected.id,
        FeedbackReplyIn(decision="reject", reply="依法规定须有条件开放"),
    )
    [ticket] = queries.public_feedback_for_dataset(db, town.permits.id)
    assert ticket.public_status == "rejected"


def test_comments_show_only_after_approval(db, town):
    comment = tickets.post_comment(
        db, town.alice.actor, town.air.id, CommentIn(text="数据很有用，希望按小时更新")
    )
    assert queries.approved_comments(db, town.air.id) == []
    assert [c.id for c in queries.moderation_queues(db, town.bureau.actor).comments] == [comment.id]
    with pytest.raises(PermissionDenied):
        tickets.moderate_comment(db, town.officer.actor, comment.id, ReasonIn(decision="approve"))
    tickets.moderate_comment(db, town.bureau.actor, comment.id, ReasonIn(decision="approve"))
    assert [c.id for c in queries.approved_comments(db, town.air.id)] == [comment.id]
    spam = tickets.post_comment(db, town.bob.actor, town.air.id, CommentIn(text="广告广告广告"))
    tickets.moderate_comment(
        db, town.bureau.actor, spam.id, ReasonIn(decision="reject", reason="广告")
    )
    assert [c.id for c in queries.approved_comments(db, town.air.id)] == [comment.id]
    assert {"feedback.comment_approve", "feedback.comment_reject"} <= set(_actions(db))


def test_demand_routing_reply_and_one_vote_per_user(db, town):
    demand = demands.file_demand(
        db,
        town.alice.actor,
        DemandIn(
            title="公交车辆实时位置",
            description="希望开放公交车辆实时位置数据",
            wanted_fields="线路、车牌、经纬度、时间",
            purpose="开发出行应用",
            suggested_agency_id=town.other.id,
        ),
    )
    assert demand.status is DemandStatus.PENDING
    assert queries.list_demands(db, public_actor()).items == []  # unapproved demands are hidden
    with pytest.raises(NotFound):
        demands.get_demand(db, town.bob.actor, demand.id)
    with pytest.raises(Conflict):  # nobody votes for a demand not yet public
        demands.vote(db, town.alice.actor, demand.id)
    demands.route_demand(db, town.bureau.actor, demand.id, RouteIn(), today=MONDAY)
    assert demand.agency_id == town.other.id and demand.status is DemandStatus.ROUTED
    demands.vote(db, town.bob.actor, demand.id)
    demands.vote(db, town.alice.actor, demand.id)
    with pytest.raises(Conflict):
        demands.vote(db, town.bob.actor, demand.id)
    with pytest.raises(NotAuthenticated):
        demands.vote(db, public_actor(), demand.id)
    [view] = queries.list_demands(db, town.bob.actor).items
    assert view.demand.votes == 2 and view.voted and view.deadline is not None
    assert view.deadline.working_days == 15
    with pytest.raises(PermissionDenied):  # the provider of another agency
        demands.reply_demand(
            db, town.officer.actor, demand.id, DemandReplyIn(decision="accept", reply="同意")
        )
    demands.reply_demand(
        db,
        town.other_officer.actor,
        demand.id,
        DemandReplyIn(decision="accept", reply="拟于下季度开放"),
    )
    demands.link_demand_entry(db, town.other_officer.actor, demand.id, town.air.id)
    assert demand.status is DemandStatus.ACCEPTED and demand.dataset_id == town.air.id
    notices = db.scalars(select(Notice).where(Notice.user_id == town.bob.user.id)).all()
    assert any(n.kind == "feedback.demand" for n in notices)  # voters hear the reply
    rejected = demands.file_demand(
        db, town.bob.actor, DemandIn(title="测试", description="重复的需求内容")
    )
    demands.reject_demand(db, town.bureau.actor, rejected.id, "与第 1 号需求重复")
    assert [v.demand.id for v in queries.list_demands(db, None).items] == [demand.id]
    assert {"feedback.demand_route", "feedback.demand_vote", "feedback.demand_reply"} <= set(
        _actions(db)
    )


def test_reuse_shows_on_its_entries_after_approval(db, town):
    reuse = demands.submit_reuse(
        db,
        town.alice.actor,
        ReuseIn(
            title="临沂空气早知道",
            kind="app",
            url="https://example.org/air",
            description="按小时展示各监测站空气质量",
            submitter="临沂某科技有限公司",
            dataset_ids=[town.air.id, town.permits.id],
        ),
    )
    assert queries.reuses_for_dataset(db, town.air.id) == []
    assert queries.list_reuses(db).total == 0
    with pytest.raises(NotFound):  # not an open entry
        demands.submit_reuse(
            db,
            town.alice.actor,
            ReuseIn(
                title="x应用",
                kind="app",
                url="https://example.org",
                description="说明说明说明",
                submitter="某人",
                dataset_ids=[town.hidden.id],
            ),
        )
    demands.moderate_reuse(db, town.bureau.actor, reuse.id, ReasonIn(decision="approve"))
    assert [r.id for r in queries.reuses_for_dataset(db, town.air.id)] == [reuse.id]
    assert [r.id for r in queries.reuses_for_dataset(db, town.permits.id)] == [reuse.id]
    assert [r.id for r in queries.list_reuses(db).items] == [reuse.id]


def test_appeal_goes_to_bureau_and_provider_and_may_withdraw_the_entry(db, town):
    appeal = tickets.file_appeal(
        db,
        town.alice.actor,
        town.air.id,
        AppealIn(text="该数据中的监测站地址为我家住址，侵犯隐私", contact="13900000000"),
        today=MONDAY,
    )
    for person in (town.bureau, town.officer):
        notices = db.scalars(select(Notice).where(Notice.user_id == person.user.id)).all()
        assert any(n.kind == "feedback.appeal" for n in notices)
    with pytest.raises(NotFound):  # appeals are private
        tickets.get_appeal(db, town.bob.actor, appeal.id)
    with pytest.raises(PermissionDenied):  # the provider states, the bureau decides
        tickets.decide_appeal(
            db, town.officer.actor, appeal.id, AppealDecisionIn(decision="upheld", reason="属实")
        )
    tickets.decide_appeal(
        db,
        town.bureau.actor,
        appeal.id,
        AppealDecisionIn(decision="upheld", reason="经核实属实，撤下该目录", withdraw=True),
    )
    assert appeal.status is AppealStatus.UPHELD and appeal.withdrawn
    db.refresh(town.air)
    assert town.air.open_type is OpenType.NONE and not is_public(town.air)
    assert {"feedback.appeal_file", "feedback.appeal_decide", "feedback.entry_withdraw"} <= set(
        _actions(db)
    )


def test_response_times_per_agency(db, town):
    calendar = WorkdayCalendar(db)
    start = MONDAY
    on_time = _file(db, town)
    tickets.route_feedback(db, town.bureau.actor, on_time.id, RouteIn(), today=start)
    tickets.reply_feedback(
        db, town.officer.actor, on_time.id, FeedbackReplyIn(decision="answer", reply="已说明")
    )
    late = _file(db, town)
    tickets.route_feedback(db, town.bureau.actor, late.id, RouteIn(), today=start)
    open_late = _file(db, town)
    tickets.route_feedback(db, town.bureau.actor, open_late.id, RouteIn(), today=start)
    deadlines = {
        d.object_id: d
        for d in db.scalars(select(Deadline).where(Deadline.kind == "feedback.objection"))
    }
    # Replies made on known days: the first on the third working day, the second late.
    third = calendar.add(start, 3).due_on
    deadlines[on_time.id].closed_at = dt.datetime.combine(third, dt.time(4), dt.UTC)
    due = deadlines[late.id].due_on
    tickets.reply_feedback(
        db, town.officer.actor, late.id, FeedbackReplyIn(decision="answer", reply="迟复")
    )
    deadlines[late.id].closed_at = dt.datetime.combine(
        due + dt.timedelta(days=3), dt.time(4), dt.UTC
    )
    db.flush()
    today = due + dt.timedelta(days=5)
    [row] = queries.response_times(db, today=today)
    assert row.agency_id == town.provider.id
    assert (row.total, row.replied, row.on_time, row.late, row.open_overdue) == (3, 2, 1, 1, 0 + 1)
    late_days = calendar.count_between(start, due + dt.timedelta(days=3))
    assert row.median_working_days == (3 + late_days) / 2
    overdue = queries.overdue_replies(db, today=today)
    assert [o.deadline.object_id for o in overdue] == [open_late.id]


def test_the_provider_is_reminded_of_a_reply_coming_due(db, town):
    from gongshu.feedback import reminders  # registers the reply deadlines' audiences
    from gongshu.notices.reminders import send_deadline_reminders

    assert reminders.STEP_OBJECTION
    objection = _file(db, town)
    tickets.route_feedback(db, town.bureau.actor, objection.id, RouteIn(), today=MONDAY)
    deadline = db.scalars(
        select(Deadline).where(
            Deadline.kind == "feedback.objection", Deadline.object_id == objection.id
        )
    ).one()
    counts = send_deadline_reminders(db, today=deadline.due_on)
    assert counts["due_soon"] >= 1
    notices = db.scalars(
        select(Notice).where(Notice.user_id == town.officer.user.id, Notice.kind.like("deadline.%"))
    ).all()
    assert [n.link for n in notices] == ["/moderation/replies"]


def test_the_bureau_has_working_days_to_route_what_the_public_files(db, town):
    from gongshu.feedback import reminders  # registers the routing deadlines' audiences
    from gongshu.notices.reminders import send_deadline_reminders

    assert reminders.STEP_ROUTE_OBJECTION
    ticket, screened = _file(db, town), _file(db, town, kind="objection")
    demand = demands.file_demand(
        db, town.alice.actor, DemandIn(title="公交实时位置", description="希望开放公交实时位置")
    )

    def routing(kind: str, object_id: int) -> Deadline:
        return db.scalars(
            select(Deadline).where(Deadline.kind == kind, Deadline.object_id == object_id)
        ).one()

    due = routing("feedback.objection_route", ticket.id)
    assert due.working_days == 2 and due.closed_at is None
    assert routing("feedback.demand_route", demand.id).closed_at is None
    queues = queries.moderation_queues(db, town.bureau.actor)
    assert queues.objection_due[ticket.id][0].id == due.id
    assert queues.objection_due[ticket.id][1] is not None  # working days left
    assert queues.demand_due[demand.id][0].due_on == due.due_on

    counts = send_deadline_reminders(db, today=due.due_on)
    assert counts["due_soon"] >= 3
    told = db.scalars(
        select(Notice.link).where(
            Notice.user_id == town.bureau.user.id, Notice.kind.like("deadline.%")
        )
    ).all()
    assert told and set(told) == {"/moderation"}

    tickets.route_feedback(db, town.bureau.actor, ticket.id, RouteIn())
    tickets.screen_out_feedback(db, town.bureau.actor, screened.id, "与数据无关")
    demands.reject_demand(db, town.bureau.actor, demand.id, "重复的需求")
    assert routing("feedback.objection_route", ticket.id).closed_at is not None
    assert routing("feedback.objection_route", screened.id).closed_at is not None
    assert routing("feedback.demand_route", demand.id).closed_at is not None
    assert queries.moderation_queues(db, town.bureau.actor).objection_due == {}


def test_cli(cli_settings) -> None:
    from typer.testing import CliRunner

    from gongshu.cli import app as cli_app

    runner = CliRunner()
    for args in (["queues"], ["overdue", "--today", "2026-03-02"], ["response-times"], ["remind"]):
        result = runner.invoke(cli_app, ["feedback", *args])
        assert result.exit_code == 0, result.output
    queues = runner.invoke(cli_app, ["feedback", "queues"])
    assert "objections\t0" in queues.output and "appeals\t0" in queues.output


def test_a_report_follows_the_correction_ticket_it_is_linked_to(db, town):
    from gongshu.governance import corrections
    from gongshu.governance.schemas import CorrectionCreate

    report = _file(db, town)
    tickets.route_feedback(db, town.bureau.actor, report.id, RouteIn())
    correction = corrections.create_correction(
        db,
        town.officer.actor,
        CorrectionCreate(
            dataset_id=town.air.id,
            key_value="监测站1",
            field_name="aqi",
            proposed_value="48",
            reason="公众反映该值有误，经核实应为 48",
        ),
    )
    # The provider's correction queue keeps to correction tickets.
    listed = corrections.list_corrections(db, town.officer.actor)
    assert [i.objection.id for i in listed] == [correction.id]
    with pytest.raises(NotFound):
        corrections.get_correction(db, town.officer.actor, report.id)
    tickets.mark_corrected(
        db, town.officer.actor, report.id, FeedbackCorrectedIn(correction_id=correction.id)
    )
    [ticket] = queries.public_feedback_for_dataset(db, town.air.id)
    assert ticket.public_status == "replied" and ticket.objection.correction_id == correction.id
    correction.status = ObjectionStatus.FIXED  # as the next publish that changes the value does
    db.flush()
    [ticket] = queries.public_feedback_for_dataset(db, town.air.id)
    assert ticket.public_status == "corrected"


def test_a_district_bureau_moderates_only_its_district(db, town, make_person, district):
    from gongshu.auth.models import Role

    district_bureau = make_person(Role.BUREAU_ADMIN, region=district)
    objection = _file(db, town)
    demand = demands.file_demand(
        db, town.alice.actor, DemandIn(title="路灯数据", description="希望开放路灯位置数据")
    )
    queues = queries.moderation_queues(db, district_bureau.actor)
    assert queues.counts() == dict.fromkeys(queues.counts(), 0)  # a city entry, city demands
    with pytest.raises(PermissionDenied):
        tickets.route_feedback(db, district_bureau.actor, objection.id, RouteIn())
    with pytest.raises(PermissionDenied):
        demands.route_demand(db, district_bureau.actor, demand.id, RouteIn(agency_id=town.other.id))
    counts = queries.moderation_queues(db, town.bureau.actor).counts()
    assert counts["objections"] == 1 and counts["demands"] == 1
