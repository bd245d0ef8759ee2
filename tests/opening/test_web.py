"""Pages, forms and the JSON API of public accounts and conditional opening, and the daily
quota of public API keys on the data API and the CKAN API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.auth.models import ApiKey
from gongshu.opening.models import ApplicationStatus, OpenApplication, PublicAccount
from gongshu.portal.naming import dataset_slug
from tests.factories import csrf_from
from tests.opening.conftest import TODAY, Opening, submitted
from tests.portal.city import PASSWORD


@pytest.fixture
def browsers(app: FastAPI) -> Iterator[dict[str, TestClient]]:
    made: dict[str, TestClient] = {}
    yield made
    for c in made.values():
        c.close()


def signed_in(app: FastAPI, made: dict[str, TestClient], username: str) -> TestClient:
    if username not in made:
        c = TestClient(app, base_url="http://testserver")
        c.__enter__()
        r = c.post(
            "/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
        )
        assert r.status_code == 303, r.text
        made[username] = c
    return made[username]


def test_register_and_account_pages(client: TestClient, db: Session, opening: Opening) -> None:
    page = client.get("/register")
    assert page.status_code == 200 and 'name="credit_code"' in page.text
    assert "公共数据开放网" in page.text and page.text.count("<h1") == 1
    form = {
        "kind": "organization",
        "username": "river_watch",
        "real_name": "孙联系",
        "org_name": "沂河守护志愿者协会",
        "credit_code": "51371300MJ00000012",
        "email": "river@example.cn",
        "password": PASSWORD,
        "confirm_password": PASSWORD,
        "agree": "1",
    }
    bad = client.post("/register", data=form)
    assert bad.status_code == 422 and "统一社会信用代码无效" in bad.text
    assert PASSWORD not in bad.text
    from gongshu.identifiers import make_credit_code

    form["credit_code"] = make_credit_code("51371300MJ0000001")
    done = client.post("/register", data=form, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/?msg=registered"
    account = db.scalars(select(PublicAccount).where(PublicAccount.org_name == form["org_name"]))
    assert account.one().credit_code == form["credit_code"]

    # Signed in at once; the account page is in the portal's frame, with the public's quota.
    mine = client.get("/account")
    assert mine.status_code == 200
    assert "公众账户" in mine.text and 'href="/dataset"' in mine.text
    assert 'href="/register"' not in mine.text
    assert "公共数据开放网" in client.get("/account/totp").text  # the portal's frame too
    made = client.post(
        "/account/api-keys", data={"name": "监测脚本", "csrf_token": csrf_from(mine.text)}
    )
    assert made.status_code == 200
    key = re.search(r'id="new-api-key">([^<]+)<', made.text)
    assert key is not None
    row = db.scalars(select(ApiKey).where(ApiKey.name == "监测脚本")).one()
    assert row.daily_quota == 10_000 and "0 / 10000" in made.text


def test_apply_accept_decide_and_read_on_the_pages(
    app: FastAPI, browsers: dict[str, TestClient], db: Session, opening: Opening
) -> None:
    o = opening
    slug = dataset_slug(o.contacts.code)
    lab = signed_in(app, browsers, "green_lab")
    form_page = lab.get(f"/dataset/{slug}/apply")
    assert form_page.status_code == 200
    assert 'value="contact_mobile"' in form_page.text and "公共数据开放网" in form_page.text
    csrf = csrf_from(form_page.text)
    data = {
        "csrf_token": csrf,
        "scenario": "流域污染源排放研究",
        "purpose": "分析排放规律",
        "fields": ["permit_no", "contact_name"],
        "security_measures": "加密存储",
        "requested_until": "2027-12-31",
    }
    missing = lab.post(f"/dataset/{slug}/apply", data=data)
    assert missing.status_code == 422 and "请承诺按期报送数据利用情况" in missing.text
    created = lab.post(
        f"/dataset/{slug}/apply", data={**data, "reporting_committed": "1"}, follow_redirects=False
    )
    assert created.status_code == 303
    url = created.headers["location"].split("?")[0]
    detail = lab.get(url)
    assert "开放协议" in detail.text and "沂" in detail.text
    sha = re.search(r'name="agreement_sha256" value="([0-9a-f]{64})"', detail.text)
    assert sha is not None
    no_tick = lab.post(f"{url}/accept", data={"csrf_token": csrf, "agreement_sha256": sha.group(1)})
    assert no_tick.status_code == 422
    accepted = lab.post(
        f"{url}/accept",
        data={"csrf_token": csrf, "agreement_sha256": sha.group(1), "agree": "1"},
        follow_redirects=False,
    )
    assert accepted.status_code == 303
    mine = lab.get("/applications")
    assert "待答复" in mine.text and "剩余" in mine.text

    # Nobody outside sees it; the provider decides.
    citizen = signed_in(app, browsers, "citizen_li")
    assert citizen.get(url).status_code == 404
    provider = signed_in(app, browsers, "open_eco_officer")
    inbox = provider.get("/applications")
    assert "排污单位联系人信息" in inbox.text and "剩余" in inbox.text
    page = provider.get(url)
    assert 'class="opening-decide-form"' in page.text
    pcsrf = csrf_from(page.text)
    refused = provider.post(f"{url}/decide", data={"csrf_token": pcsrf, "outcome": "refuse"})
    assert refused.status_code == 422 and "不予同意时请填写理由" in refused.text
    approved = provider.post(
        f"{url}/decide",
        data={"csrf_token": pcsrf, "outcome": "approve", "reason": "用途正当"},
        follow_redirects=False,
    )
    assert approved.status_code == 303

    rows = lab.get(f"/api/v1/data/{o.contacts.code}/rows", params={"_purpose": "研究"})
    assert rows.status_code == 200, rows.text
    body = rows.json()
    names = {f["name"]: f["masked"] for f in body["fields"]}
    assert names == {"permit_no": False, "contact_name": True}
    assert all("*" in r["contact_name"] for r in body["rows"])
    assert citizen.get(f"/api/v1/data/{o.contacts.code}/rows?_purpose=x").status_code == 403

    bureau = signed_in(app, browsers, "open_bureau")
    everything = bureau.get("/applications?status=active")
    assert "排污单位联系人信息" in everything.text
    revoke_page = bureau.get(url)
    revoked = bureau.post(
        f"{url}/revoke",
        data={"csrf_token": csrf_from(revoke_page.text), "reason": "违反协议第二条"},
        follow_redirects=False,
    )
    assert revoked.status_code == 303
    assert lab.get(f"/api/v1/data/{o.contacts.code}/rows?_purpose=x").status_code == 403


def test_json_api(app: FastAPI, client: TestClient, db: Session, opening: Opening) -> None:
    o = opening

    def token(username: str) -> dict[str, str]:
        r = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    lab, officer = token("green_lab"), token("open_eco_officer")
    body = {
        "dataset_id": o.contacts.id,
        "scenario": "研究",
        "purpose": "分析",
        "fields": ["permit_no", "emission"],
        "security_measures": "加密",
        "requested_until": "2027-06-30",
        "reporting_committed": True,
    }
    created = client.post("/api/v1/open-applications", json=body, headers=lab)
    assert created.status_code == 201, created.text
    app_id = created.json()["id"]
    assert created.json()["status"] == "draft"
    agreement = client.get(f"/api/v1/open-applications/{app_id}/agreement", headers=lab).json()
    accepted = client.post(
        f"/api/v1/open-applications/{app_id}/accept",
        json={"agreement_sha256": agreement["sha256"]},
        headers=lab,
    )
    assert accepted.status_code == 200 and accepted.json()["deadline"]["working_days"] == 10
    refused = client.post(
        f"/api/v1/open-applications/{app_id}/decision", json={"outcome": "refuse"}, headers=officer
    )
    assert refused.status_code == 422 and "reason" in refused.json()["error"]["errors"]
    done = client.post(
        f"/api/v1/open-applications/{app_id}/decision",
        json={"outcome": "approve", "fields": ["emission"]},
        headers=officer,
    )
    assert done.status_code == 200 and done.json()["approved_fields"] == ["emission"]
    listed = client.get("/api/v1/open-applications", headers=officer).json()
    assert [a["id"] for a in listed["items"]] == [app_id]
    report = client.post(
        f"/api/v1/open-applications/{app_id}/reports", json={"content": "已完成分析"}, headers=lab
    )
    assert report.status_code == 201 and report.json()["status"] == "submitted"
    assert db.get(OpenApplication, app_id).status is ApplicationStatus.ACTIVE  # type: ignore[union-attr]


def test_daily_quota_on_the_data_api_and_ckan(
    client: TestClient, db: Session, opening: Opening
) -> None:
    o = opening
    application = submitted(db, o)
    from gongshu.opening import service
    from gongshu.opening.schemas import DecisionIn

    service.decide(db, o.provider, application.id, DecisionIn(outcome="approve"), today=TODAY)
    from gongshu.auth import service as auth_service
    from gongshu.auth.schemas import ApiKeyCreate

    row, key = auth_service.create_api_key(
        db, o.applicant, ApiKeyCreate(name="脚本", daily_quota=3)
    )
    assert row.daily_quota == 3
    headers = {"X-API-Key": key, "Accept-Language": "en"}
    companies = o.city.companies
    assert companies is not None  # CKAN's datastore serves the open entries' rows
    url = f"/api/v1/data/{o.contacts.code}/rows?_purpose=research"
    assert client.get(url, headers=headers).status_code == 200
    ckan = client.get(
        "/api/3/action/datastore_search",
        params={"resource_id": f"{companies.id}-csv"},
        headers={"X-CKAN-API-Key": key},
    )
    assert ckan.status_code == 200, ckan.text
    assert ckan.json()["result"]["records"]
    assert client.get(url, headers=headers).status_code == 200
    refused = client.get(url, headers=headers)
    assert refused.status_code == 429
    assert refused.json()["error"]["message"] == (
        "This API key has used its 3 calls for today; try again tomorrow"
    )
    assert int(refused.headers["Retry-After"]) > 0
    again = client.get(
        "/api/3/action/datastore_search",
        params={"resource_id": f"{companies.id}-csv"},
        headers={"X-CKAN-API-Key": key},
    )
    assert again.status_code == 429 and again.json()["success"] is False


def test_ckan_datastore_serves_an_approved_applicant_only(
    client: TestClient, db: Session, opening: Opening
) -> None:
    o = opening
    from gongshu.auth import service as auth_service
    from gongshu.auth.schemas import ApiKeyCreate
    from gongshu.opening import service
    from gongshu.opening.schemas import DecisionIn

    resource = f"{o.contacts.id}-csv"

    def search(key: str | None) -> Any:
        headers = {"X-CKAN-API-Key": key} if key else {}
        return client.get(
            "/api/3/action/datastore_search", params={"resource_id": resource}, headers=headers
        )

    _row, key = auth_service.create_api_key(db, o.applicant, ApiKeyCreate(name="脚本"))
    _row, other_key = auth_service.create_api_key(db, o.other_public, ApiKeyCreate(name="脚本"))
    for refused in (search(None), search(key), search(other_key)):  # before the approval
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["__type"] == "Authorization Error"

    application = submitted(db, o)
    service.decide(
        db,
        o.provider,
        application.id,
        DecisionIn(outcome="approve", fields=["permit_no", "contact_name"]),
        today=TODAY,
    )
    found = search(key)
    assert found.status_code == 200, found.text
    result = found.json()["result"]
    assert result["total"] == len(o.rows)
    assert {f["id"] for f in result["fields"]} == {"_id", "permit_no", "contact_name"}
    names = {r["contact_name"] for r in result["records"]}
    assert names and not names & {r["contact_name"] for r in o.rows}  # masked
    assert search(other_key).status_code == 403  # one applicant's approval opens nothing else
    # CKAN lists no resource for the entry, as for every conditional one
    package = client.get("/api/3/action/package_show", params={"id": str(o.contacts.id)})
    assert package.json()["result"]["resources"] == []
