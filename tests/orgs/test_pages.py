"""Region and agency pages through the test client: lists, forms, detail, history."""

from __future__ import annotations

import html
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.audit.service import history
from gongshu.identifiers import make_credit_code
from gongshu.orgs.models import Agency, Region
from tests.factories import Person, login
from tests.orgs.conftest import csrf_token

NEW_CODE = make_credit_code("11371300MB6666666")


def form(region: Region, token: str, **kw: str) -> dict[str, str]:
    data = {
        "csrf_token": token,
        "name": "临沂市文化和旅游局",
        "short_name": "",
        "credit_code": NEW_CODE,
        "region_id": str(region.id),
        "kind": "government",
        "domain": "文化旅游",
        "description": "",
        "address": "",
        "phone": "0539-8888888",
    }
    data.update(kw)
    return data


def agency_count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Agency)) or 0)


def test_anonymous_is_sent_to_login(client: TestClient, agency: Agency) -> None:
    for url in ("/agencies", f"/agencies/{agency.id}", "/agencies/new", "/regions"):
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 303, url
        assert response.headers["location"].startswith("/login")


def test_regions_page(
    client: TestClient, district: Region, agency: Agency, officer: Person
) -> None:
    login(client, officer)
    page = client.get("/regions")
    assert page.status_code == 200
    assert "371302" in page.text and "兰山区" in page.text
    assert 'action="/regions"' not in page.text  # no add form without region.manage
    english = client.get("/regions?lang=en")
    assert "Lanshan District" in english.text


def test_system_admin_adds_a_region(client: TestClient, city: Region, system_admin: Person) -> None:
    login(client, system_admin)
    token = csrf_token(client, "/regions")
    bad = client.post(
        "/regions",
        data={
            "csrf_token": token,
            "code": "37131",
            "name": "<b>某区</b>",
            "level": "district",
            "parent_id": str(city.id),
        },
    )
    assert bad.status_code == 422
    assert "行政区划代码应为 6 位数字" in bad.text
    assert "&lt;b&gt;某区&lt;/b&gt;" in bad.text  # input kept, escaped
    ok = client.post(
        "/regions",
        data={
            "csrf_token": token,
            "code": "371312",
            "name": "河东区",
            "level": "district",
            "parent_id": str(city.id),
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert "371312" in client.get("/regions").text


def test_agency_list_with_filters_and_badges(
    client: TestClient,
    make_agency: Callable[..., Agency],
    district: Region,
    officer: Person,
    db: Session,
) -> None:
    from gongshu.orgs import service
    from tests.factories import SYSTEM

    closed = make_agency("兰山区已撤并局", region=district, kind="enterprise")
    service.deactivate_agency(db, SYSTEM, closed.id)
    login(client, officer)
    page = client.get("/agencies")
    assert page.status_code == 200
    assert "临沂市市场监督管理局" in page.text and "兰山区已撤并局" in page.text
    assert "已停用" in page.text and "badge-kind-enterprise" in page.text
    assert f'href="/catalog?agency_id={closed.id}"' in page.text
    assert "/agencies/new" not in page.text  # an officer cannot register agencies
    only_active = client.get("/agencies?active=1")
    assert "兰山区已撤并局" not in only_active.text
    by_region = client.get(f"/agencies?region_id={district.id}&kind=&q=")
    assert "临沂市市场监督管理局" not in by_region.text
    assert client.get("/agencies?region_id=abc&page=-3&order=drop").status_code == 200


def test_agency_list_pager_keeps_filters(
    client: TestClient, make_agency: Callable[..., Agency], officer: Person
) -> None:
    for n in range(3):
        make_agency(f"临沂市分页测试局{n}")
    login(client, officer)
    page = client.get("/agencies?per_page=2&q=分页")
    assert "per_page=2" in page.text and "page=2" in page.text
    second = client.get("/agencies?per_page=2&q=分页&page=2")
    assert "临沂市分页测试局2" in second.text


def test_register_an_agency_through_the_form(
    client: TestClient, db: Session, city: Region, bureau_admin: Person
) -> None:
    login(client, bureau_admin)
    token = csrf_token(client, "/agencies/new")
    response = client.post("/agencies/new", data=form(city, token), follow_redirects=False)
    assert response.status_code == 303, response.text
    agency = db.scalar(select(Agency).where(Agency.name == "临沂市文化和旅游局"))
    assert agency is not None
    assert response.headers["location"] == f"/agencies/{agency.id}"
    assert [e.action for e in history(db, "agency", agency.id)] == ["agency.create"]


def test_form_without_csrf_is_refused(
    client: TestClient, db: Session, city: Region, bureau_admin: Person
) -> None:
    login(client, bureau_admin)
    response = client.post("/agencies/new", data=form(city, "wrong"))
    assert response.status_code == 403
    assert agency_count(db) == 0


def test_form_errors_keep_input_and_escape_html(
    client: TestClient, db: Session, city: Region, bureau_admin: Person
) -> None:
    login(client, bureau_admin)
    token = csrf_token(client, "/agencies/new")
    evil = '<script>alert("x")</script>局'
    response = client.post(
        "/agencies/new",
        data=form(
            city,
            token,
            name=evil,
            credit_code="91110000600037341A",
            address='"><img src=x onerror=alert(1)>',
        ),
    )
    assert response.status_code == 422
    text = response.text
    assert "统一社会信用代码校验位错误" in text and "“L”" in text
    assert "<script>alert" not in text and "<img src=x" not in text
    assert html.escape(evil, quote=True) in text or "&lt;script&gt;" in text
    assert 'value="91110000600037341A"' in text  # input kept
    assert agency_count(db) == 0


def test_ten_thousand_character_name_is_refused(
    client: TestClient, db: Session, city: Region, bureau_admin: Person
) -> None:
    login(client, bureau_admin)
    token = csrf_token(client, "/agencies/new")
    response = client.post("/agencies/new", data=form(city, token, name="局" * 10000))
    assert response.status_code == 422
    assert "长度不能超过 100 个字符" in response.text
    assert agency_count(db) == 0


def test_missing_region_and_kind_are_field_errors(
    client: TestClient, city: Region, bureau_admin: Person
) -> None:
    login(client, bureau_admin)
    token = csrf_token(client, "/agencies/new")
    response = client.post("/agencies/new", data=form(city, token, region_id="", kind=""))
    assert response.status_code == 422
    assert response.text.count("此项为必填项") == 2


def test_detail_shows_metadata_officers_and_catalog_link(
    client: TestClient, db: Session, agency: Agency, officer: Person
) -> None:
    from gongshu.orgs import service
    from gongshu.orgs.schemas import AgencyUpdate
    from tests.factories import SYSTEM

    service.update_agency(
        db, SYSTEM, agency.id, AgencyUpdate(chief_data_officer_id=officer.user.id)
    )
    login(client, officer)
    page = client.get(f"/agencies/{agency.id}")
    assert page.status_code == 200
    assert agency.credit_code in page.text
    assert officer.user.display_name in page.text
    assert f'href="/catalog?agency_id={agency.id}"' in page.text
    assert f"/agencies/{agency.id}/edit" not in page.text  # officers do not edit agencies
    assert client.get("/agencies/999999").status_code == 404


def test_edit_and_history_tab(
    client: TestClient, db: Session, agency: Agency, officer: Person, bureau_admin: Person
) -> None:
    login(client, bureau_admin)
    edit_page = client.get(f"/agencies/{agency.id}/edit")
    assert edit_page.status_code == 200
    assert officer.user.display_name in edit_page.text  # offered as chief data officer
    token = csrf_token(client, f"/agencies/{agency.id}/edit")
    data = form(
        agency.region,
        token,
        name=agency.name,
        credit_code=agency.credit_code,
        domain="<i>市场监管</i>",
        chief_data_officer_id=str(officer.user.id),
    )
    response = client.post(f"/agencies/{agency.id}/edit", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    tab = client.get(f"/agencies/{agency.id}?tab=history")
    assert tab.status_code == 200
    text = tab.text
    assert "修改机构信息" in text and "登记机构" in text
    assert "业务领域" in text and "&lt;i&gt;市场监管&lt;/i&gt;" in text
    assert "<i>市场监管</i>" not in text
    assert officer.user.display_name in text  # the officer id shown by name
    assert text.index("修改机构信息") < text.index("登记机构")  # newest first


def test_edit_errors_rerender_with_422(
    client: TestClient, db: Session, agency: Agency, other_officer: Person, bureau_admin: Person
) -> None:
    login(client, bureau_admin)
    token = csrf_token(client, f"/agencies/{agency.id}/edit")
    data = form(
        agency.region,
        token,
        name=agency.name,
        credit_code=agency.credit_code,
        chief_data_officer_id=str(other_officer.user.id),
    )
    response = client.post(f"/agencies/{agency.id}/edit", data=data)
    assert response.status_code == 422
    assert "首席数据官必须是本机构的在职用户" in response.text
    db.refresh(agency)
    assert agency.chief_data_officer_id is None


def test_district_admin_pages_are_scoped(
    client: TestClient,
    make_agency: Callable[..., Agency],
    district: Region,
    other_district: Region,
    district_admin: Person,
) -> None:
    theirs = make_agency("罗庄区民政局", region=other_district)
    login(client, district_admin)
    assert client.get(f"/agencies/{theirs.id}/edit").status_code == 403
    detail = client.get(f"/agencies/{theirs.id}")
    assert detail.status_code == 200 and f"/agencies/{theirs.id}/edit" not in detail.text
    new_page = client.get("/agencies/new")
    assert "兰山区" in new_page.text and "罗庄区" not in new_page.text


def test_deactivate_and_reactivate_buttons(
    client: TestClient, db: Session, agency: Agency, bureau_admin: Person
) -> None:
    login(client, bureau_admin)
    token = csrf_token(client, f"/agencies/{agency.id}")
    response = client.post(
        f"/agencies/{agency.id}/active",
        data={"csrf_token": token, "active": "0"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    db.refresh(agency)
    assert not agency.is_active
    assert "恢复启用" in client.get(f"/agencies/{agency.id}").text
    client.post(f"/agencies/{agency.id}/active", data={"csrf_token": token, "active": "1"})
    db.refresh(agency)
    assert agency.is_active


def test_pages_in_english(client: TestClient, agency: Agency, officer: Person) -> None:
    login(client, officer)
    page = client.get(f"/agencies/{agency.id}?lang=en")
    assert "Chief data officer" in page.text and "History" in page.text
    listing = client.get("/agencies")
    assert "No agencies match" not in listing.text and "Kind" in listing.text
