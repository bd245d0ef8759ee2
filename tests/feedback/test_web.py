"""Feedback pages and JSON API: anonymous visitors read, signed-in users file (with the
CSRF token on forms), the bureau moderates, the provider replies."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import select

from gongshu.feedback import demands, tickets
from gongshu.feedback.schemas import (
    AppealIn,
    CommentIn,
    DemandIn,
    FeedbackIn,
    ReasonIn,
    ReuseIn,
    RouteIn,
)
from gongshu.portal.naming import dataset_slug
from gongshu.workdays.models import Deadline
from tests.factories import api_headers, csrf_from, login
from tests.feedback.conftest import Town


def test_anonymous_reads_and_signed_in_user_files_with_csrf(db, town: Town, client: TestClient):
    slug = dataset_slug(town.air.code)
    page = client.get(f"/dataset/{slug}/feedback")
    assert page.status_code == 200 and "<h1>" in page.text
    assert 'action="/dataset/' not in page.text  # no form for anonymous visitors
    assert client.get("/demands").status_code == 200
    assert client.get("/reuses").status_code == 200
    # Anonymous posts go to the login page; the hidden entry is not there.
    assert client.get(f"/dataset/{dataset_slug(town.hidden.code)}/feedback").status_code == 404
    login(client, town.alice)
    page = client.get(f"/dataset/{slug}/feedback")
    token = csrf_from(page.text)
    bad = client.post(
        f"/dataset/{slug}/feedback",
        data={"kind": "error", "text": "监测站名称有误", "csrf_token": "wrong"},
        follow_redirects=False,
    )
    assert bad.status_code == 403
    invalid = client.post(
        f"/dataset/{slug}/feedback",
        data={"kind": "error", "text": "短", "csrf_token": token},
    )
    assert invalid.status_code == 422 and "field-error" in invalid.text
    filed = client.post(
        f"/dataset/{slug}/feedback",
        data={
            "kind": "error",
            "text": "监测站名称有误",
            "field_name": "station",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert filed.status_code == 303
    ticket = client.get(filed.headers["location"])
    assert ticket.status_code == 200 and "监测站名称有误" in ticket.text
    comment = client.post(
        f"/dataset/{slug}/feedback/comments",
        data={"text": "希望增加臭氧浓度", "csrf_token": token},
        follow_redirects=False,
    )
    assert comment.status_code == 303
    demand = client.post(
        "/demands",
        data={
            "title": "停车场实时空位",
            "description": "希望开放停车场实时空位数据",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert demand.status_code == 303
    assert "停车场实时空位" in client.get(demand.headers["location"]).text
    reuse = client.post(
        "/reuses",
        data={
            "title": "空气质量地图",
            "kind": "app",
            "url": "https://example.org/map",
            "description": "在地图上展示空气质量",
            "submitter": "张三",
            "datasets": town.air.code,
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert reuse.status_code == 303, reuse.text


def test_moderation_and_replies_through_pages(db, town: Town, client: TestClient):
    objection = tickets.file_feedback(
        db,
        town.alice.actor,
        town.air.id,
        FeedbackIn(kind="objection", text="该数据应按小时更新"),
    )
    comment = tickets.post_comment(
        db, town.alice.actor, town.air.id, CommentIn(text="很有用的数据")
    )
    assert client.get("/moderation", follow_redirects=False).status_code == 303  # sign in first
    login(client, town.alice)
    assert client.get("/moderation").status_code == 403  # the public does not moderate
    client.cookies.clear()
    login(client, town.bureau)
    page = client.get("/moderation")
    assert page.status_code == 200 and "该数据应按小时更新" in page.text
    token = csrf_from(page.text)
    assert (
        client.post(
            f"/moderation/objections/{objection.id}",
            data={"decision": "route", "agency_id": str(town.provider.id), "csrf_token": token},
            follow_redirects=False,
        ).status_code
        == 303
    )
    assert (
        client.post(
            f"/moderation/comments/{comment.id}",
            data={"decision": "approve", "csrf_token": token},
            follow_redirects=False,
        ).status_code
        == 303
    )
    deadline = db.scalars(
        select(Deadline).where(
            Deadline.kind == "feedback.objection", Deadline.object_id == objection.id
        )
    ).one()
    deadline.due_on = dt.date(2026, 1, 5)  # long past: the reply is overdue
    db.commit()
    times = client.get("/moderation/response-times")
    assert times.status_code == 200 and town.provider.name in times.text
    assert 'href="/moderation/replies"' in times.text  # the overdue reply, linked
    client.cookies.clear()
    login(client, town.officer)
    replies = client.get("/moderation/replies")
    assert "该数据应按小时更新" in replies.text
    token = csrf_from(replies.text)
    assert (
        client.post(
            f"/moderation/objections/{objection.id}/reply",
            data={"decision": "answer", "reply": "该数据已为实时更新", "csrf_token": token},
            follow_redirects=False,
        ).status_code
        == 303
    )
    client.cookies.clear()
    slug = dataset_slug(town.air.code)
    public = client.get(f"/dataset/{slug}/feedback")
    assert "该数据已为实时更新" in public.text and "很有用的数据" in public.text


def test_json_api(db, town: Town, client: TestClient):
    headers = api_headers(client, town.alice)
    created = client.post(
        f"/api/v1/feedback/datasets/{town.air.id}",
        json={"kind": "error", "text": "细颗粒物浓度单位有误", "field_name": "pm25"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["public_status"] == "received" and not body["routed"]
    assert client.get(f"/api/v1/feedback/datasets/{town.air.id}").json() == []  # not routed
    assert (
        client.post(
            f"/api/v1/feedback/datasets/{town.air.id}",
            json={"kind": "error", "text": "匿名提交的内容"},
        ).status_code
        == 401
    )
    bureau = api_headers(client, town.bureau)
    routed = client.post(f"/api/v1/feedback/{body['id']}/route", json={}, headers=bureau)
    assert routed.status_code == 200 and routed.json()["deadline"]["working_days"] == 10
    [listed] = client.get(f"/api/v1/feedback/datasets/{town.air.id}").json()
    assert listed["id"] == body["id"] and listed["agency_id"] == town.provider.id
    officer = api_headers(client, town.officer)
    replied = client.post(
        f"/api/v1/feedback/{body['id']}/reply",
        json={"decision": "accept", "reply": "将在下一版更正"},
        headers=officer,
    )
    assert replied.json()["public_status"] == "replied"
    assert client.get("/api/v1/feedback/queues", headers=bureau).json()["objections"] == 0
    [row] = client.get("/api/v1/feedback/response-times", headers=bureau).json()
    assert row["agency_id"] == town.provider.id and row["replied"] == 1
    assert client.get("/api/v1/feedback/response-times", headers=headers).status_code == 403

    demand = demands.file_demand(
        db, town.alice.actor, DemandIn(title="公交实时位置", description="希望开放公交实时位置")
    )
    demands.route_demand(db, town.bureau.actor, demand.id, RouteIn(agency_id=town.other.id))
    voted = client.post(f"/api/v1/demands/{demand.id}/vote", headers=api_headers(client, town.bob))
    assert voted.status_code == 200 and voted.json()["votes"] == 1 and voted.json()["voted"]
    again = client.post(f"/api/v1/demands/{demand.id}/vote", headers=api_headers(client, town.bob))
    assert again.status_code == 409
    listed = client.get("/api/v1/demands").json()
    assert listed["total"] == 1 and listed["page"] == 1
    [public] = listed["items"]
    assert public["id"] == demand.id and public["voted"] is False

    reuse = demands.submit_reuse(
        db,
        town.alice.actor,
        ReuseIn(
            title="空气地图",
            kind="app",
            url="https://example.org",
            description="空气质量地图应用",
            submitter="张三",
            dataset_ids=[town.air.id],
        ),
    )
    assert client.get("/api/v1/reuses").json()["items"] == []
    demands.moderate_reuse(db, town.bureau.actor, reuse.id, ReasonIn(decision="approve"))
    [shown] = client.get(f"/api/v1/reuses?dataset_id={town.air.id}").json()["items"]
    assert shown["datasets"][0]["slug"] == dataset_slug(town.air.code)
    spec = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/demands", "/api/v1/reuses", "/api/v1/feedback/response-times"} <= set(spec)


def test_entry_page_shows_approved_reuses_and_public_feedback(db, town: Town, client: TestClient):
    reuse = demands.submit_reuse(
        db,
        town.alice.actor,
        ReuseIn(
            title="空气质量早知道",
            kind="service",
            url="https://example.org/aq",
            description="逐小时空气质量推送服务",
            submitter="张三",
            dataset_ids=[town.air.id],
        ),
    )
    slug = dataset_slug(town.air.code)
    page = client.get(f"/dataset/{slug}")
    assert page.status_code == 200, page.text
    assert f'href="/dataset/{slug}/feedback"' in page.text
    assert "空气质量早知道" not in page.text  # not approved yet
    demands.moderate_reuse(db, town.bureau.actor, reuse.id, ReasonIn(decision="approve"))
    objection = tickets.file_feedback(
        db, town.bob.actor, town.air.id, FeedbackIn(kind="error", text="监测时间时区有误")
    )
    tickets.route_feedback(db, town.bureau.actor, objection.id, RouteIn())
    page = client.get(f"/dataset/{slug}")
    assert "空气质量早知道" in page.text and "监测时间时区有误" in page.text
    assert page.text.count("<h1") == 1


def test_my_feedback_lists_what_i_sent_in_every_status(db, town: Town, client: TestClient):
    alice = town.alice.actor
    ticket = tickets.file_feedback(
        db, alice, town.air.id, FeedbackIn(kind="error", text="监测点名称有错别字")
    )
    demand = demands.file_demand(
        db, alice, DemandIn(title="共享单车停放点", description="希望开放共享单车停放点数据")
    )
    comment = tickets.post_comment(db, alice, town.air.id, CommentIn(text="广告内容请点击"))
    tickets.moderate_comment(
        db, town.bureau.actor, comment.id, ReasonIn(decision="reject", reason="含广告")
    )
    appeal = tickets.file_appeal(
        db,
        alice,
        town.air.id,
        AppealIn(text="数据中含有我的手机号码，请删除", contact="13800000000"),
    )
    reuse = demands.submit_reuse(
        db,
        alice,
        ReuseIn(
            title="空气日报小程序",
            kind="app",
            url="https://example.org/air",
            description="每天推送空气质量",
            submitter="爱丽丝",
            dataset_ids=[town.air.id],
        ),
    )
    tickets.file_feedback(
        db, town.bob.actor, town.air.id, FeedbackIn(kind="objection", text="别人提交的异议内容")
    )

    assert client.get("/api/v1/feedback/mine").status_code == 401
    body = client.get("/api/v1/feedback/mine", headers=api_headers(client, town.alice)).json()
    assert [t["id"] for t in body["tickets"]] == [ticket.id]  # not Bob's
    assert body["tickets"][0]["public_status"] == "received"  # not yet routed, still listed
    assert [d["id"] for d in body["demands"]] == [demand.id]
    [mine] = body["comments"]
    assert mine["status"] == "rejected" and mine["moderation_reason"] == "含广告"
    assert [a["id"] for a in body["appeals"]] == [appeal.id]
    assert body["appeals"][0]["deadline"]["working_days"] > 0
    assert [r["id"] for r in body["reuses"]] == [reuse.id]
    bob = client.get("/api/v1/feedback/mine", headers=api_headers(client, town.bob)).json()
    assert len(bob["tickets"]) == 1 and bob["demands"] == bob["appeals"] == bob["reuses"] == []

    anonymous = client.get("/account/feedback", follow_redirects=False)
    assert anonymous.status_code in (302, 303, 401)
    login(client, town.alice)
    assert 'href="/account/feedback"' in client.get("/account").text
    page = client.get("/account/feedback").text
    for text in ("我的反馈", "监测点", "共享单车停放点", "含广告", "空气日报小程序"):
        assert text in page
    assert f'/dataset/{dataset_slug(town.air.code)}/feedback/{ticket.id}"' in page
    assert f'href="/appeals/{appeal.id}"' in page and "别人提交" not in page
