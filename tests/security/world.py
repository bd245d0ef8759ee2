"""One seeded city for the security tests, made through the real services and the API.

Four bodies: the provider (临沂市公安局, city level) whose people entry (general_3,
conditional) holds distinctive sensitive values; another body with no grant; a grantee body
whose active grant reads that entry with every field masked; a district body. Everyone of
``ROLES`` signs in (a browser session with its CSRF token, and a bearer token), and every
kind of object the routes take an id of exists in a state its owner may act on.

``build`` works on a session bound to the test's outer transaction; the callers roll it back.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit import checkpoint
from gongshu.audit.models import AuditEntry
from gongshu.auth import service as auth_service
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role, User
from gongshu.auth.schemas import UserCreate
from gongshu.catalog import service as catalog_service
from gongshu.catalog import workflow
from gongshu.catalog.models import Dataset
from gongshu.catalog.schemas import DatasetCreate, FieldIn
from gongshu.governance.models import DataCollection
from gongshu.identifiers import citizen_id_check_char, make_credit_code
from gongshu.ingest import service as ingest_service
from gongshu.ingest.models import InvalidPolicy
from gongshu.notices.models import Notice
from gongshu.orgs import service as orgs_service
from gongshu.orgs.models import Agency, AgencyKind, Region, RegionLevel
from gongshu.orgs.schemas import AgencyCreate, RegionCreate
from gongshu.share.models import Grant
from gongshu.workdays.calendar import local_today

SYSTEM = Actor.system("pytest-security")
PASSWORD = "Gongshu-Security-2026"

# Who calls, in the order of the matrix. "other_*" belong to a body without a grant,
# "grantee" to a body whose active grant reads the provider's people entry masked.
ROLES: tuple[str, ...] = (
    "anonymous",
    "public",
    "officer",
    "consumer",
    "other_officer",
    "other_consumer",
    "grantee",
    "bureau",
    "district_bureau",
    "operator",
    "auditor",
    "system_admin",
    "security_admin",
    "audit_admin",
)


def citizen_id(first17: str) -> str:
    return first17 + citizen_id_check_char(first17)


# The sensitive values of the people entry's first row; the leak test hunts for them (and
# for the parts of them a mask must hide) in everything a non-entitled caller gets.
SECRET = {
    "person_id": citizen_id("37130219880715073"),
    "name": "甄鑫淼",
    "mobile": "13957246813",
    "address": "临沂市兰山区甄家巷鑫淼胡同88号",
    "bank_card": "6222021987654321987",
    "email": "zhenxinmiao.secret@example.cn",
}
SECOND = {
    "person_id": citizen_id("37130219760302141"),
    "name": "欧阳霁雯",
    "mobile": "13861357924",
    "address": "临沂市罗庄区霁雯大街66号",
    "bank_card": "6217001357924680135",
    "email": "ouyangjiwen.secret@example.cn",
}
# Pieces a correct mask removes (the name without its surname, the birth date and sequence
# of an ID number, the middle of a card or phone number, an address below the district, an
# e-mail's local part): none may appear either.
SECRET_FRAGMENTS = [
    "鑫淼",
    "198807150",
    "13957246",
    "甄家巷",
    "1987654321",
    "zhenxinmiao",
    "霁雯",
    "197603021",
    "13861357",
    "霁雯大街",
    "1357924680",
    "ouyangjiwen",
]

PEOPLE_FIELDS = [
    FieldIn(
        name="person_id",
        label="公民身份号码",
        is_key=True,
        required=True,
        length=18,
        sensitivity="id_number",
        identifier="citizen_id",
    ),
    FieldIn(name="name", label="姓名", required=True, length=50, sensitivity="name"),
    FieldIn(name="mobile", label="手机号码", length=11, sensitivity="mobile", identifier="mobile"),
    FieldIn(name="address", label="户籍地址", length=200, sensitivity="address"),
    FieldIn(name="bank_card", label="社保卡银行账号", length=19, sensitivity="bank_card"),
    FieldIn(name="email", label="电子邮箱", length=100, sensitivity="email"),
    FieldIn(name="district", label="所属区县", length=20, filterable=True),
    FieldIn(name="registered_on", label="登记日期", data_type="date", filterable=True),
]
PEOPLE_LABELS = [f.label for f in PEOPLE_FIELDS]
BASIS = "《中华人民共和国户口登记条例》第四条"


def people_rows() -> list[dict[str, str]]:
    """The two secret rows and eighteen ordinary ones."""
    rows = [
        {**SECRET, "district": "兰山区", "registered_on": "2015-03-02"},
        {**SECOND, "district": "罗庄区", "registered_on": "2016-07-11"},
    ]
    surnames = "张王李赵刘陈杨黄周吴"
    for i in range(18):
        rows.append(
            {
                "person_id": citizen_id(f"3713021970{(i % 12) + 1:02d}01{i * 2 + 101:03d}"),
                "name": surnames[i % 10] + "某" + "甲乙丙丁"[i % 4],
                "mobile": f"1370000{i:04d}",
                "address": f"临沂市河东区某某路{i + 1}号",
                "bank_card": f"62220200000000{i:05d}",
                "email": f"user{i}@example.cn",
                "district": "河东区",
                "registered_on": f"2018-01-{i + 1:02d}",
            }
        )
    return rows


def people_csv(rows: list[dict[str, str]], *, invalid: bool = False) -> bytes:
    lines = [",".join(PEOPLE_LABELS)]
    for row in rows:
        lines.append(",".join(row[f.name] for f in PEOPLE_FIELDS))
    if invalid:  # a bad check character: quarantined, so the ingestion has rejected rows
        lines.append("371302199001011230,错号某,13700009999,临沂市,6222,x@example.cn,河东区,")
    return ("\n".join(lines) + "\n").encode("utf-8")


OPEN_FIELDS = [
    FieldIn(
        name="credit_code",
        label="统一社会信用代码",
        is_key=True,
        required=True,
        length=18,
        sensitivity="credit_code",
        identifier="credit_code",
    ),
    FieldIn(name="title", label="许可事项", required=True, length=100),
    FieldIn(name="district", label="所属区县", length=20, filterable=True),
]


@dataclass
class Caller:
    """One role's credentials: a browser session (cookie and CSRF token) and a bearer token."""

    role: str
    user_id: int = 0
    agency_id: int | None = None
    username: str = ""
    cookie: str = ""
    csrf: str = ""
    bearer: str = ""


@dataclass
class World:
    """Ids of what ``build`` made; see the module docstring."""

    city: int = 0
    district: int = 0
    provider: int = 0  # 临沂市公安局
    other: int = 0  # 临沂市生态环境局 (no grant)
    grantee: int = 0  # 临沂市医疗保障局 (active grant, masked)
    district_agency: int = 0  # 兰山区市场监督管理局
    callers: dict[str, Caller] = field(default_factory=dict)
    people: Dataset | None = None  # general_3, conditional, two versions, secret rows
    open_entry: Dataset | None = None  # general_1, unconditional, open, rows
    draft: int = 0
    submitted: int = 0
    approved: int = 0
    free: int = 0  # conditional, published, nobody asked for it yet
    other_entry: int = 0  # the other body's own published entry
    request_active: int = 0
    request_pending: int = 0
    request_denied: int = 0
    request_objected: int = 0
    grant: int = 0
    fingerprint: str = ""
    ingestion: int = 0
    change_request: int = 0
    emergency: int = 0
    flow_dataset: int = 0
    verification_code: str = "people-check"
    system: int = 0
    collection: int = 0
    item: int = 0
    copy: int = 0
    correction: int = 0
    pull_source: int = 0
    notice: int = 0  # one of the provider officer's notices
    outbox: int = 0
    api_key: int = 0  # the provider officer's
    calendar_day: str = ""
    pinyin_phrase: str = "沂水"
    audit_seq: int = 0
    seal_key: str = ""
    target_user: int = 0  # the provider's consumer, as the object of account routes
    district_user: int = 0  # a consumer of the district body (the district bureau's own)
    import_template: bytes = b""  # the catalog import workbook, empty
    secret_rows: list[dict[str, str]] = field(default_factory=list)
    grantee_export: bytes = b""  # a CSV the grantee exported: what a leaked copy looks like
    # Public feedback on the open entry (gongshu.feedback), filed by the public user.
    fb_ticket: int = 0  # an error report routed to the provider (public)
    fb_unrouted: int = 0  # an objection awaiting the bureau's routing
    fb_comment: int = 0  # a comment awaiting moderation
    fb_demand: int = 0  # a data demand routed to the provider (public)
    fb_pending_demand: int = 0  # a data demand awaiting screening
    fb_reuse: int = 0  # a reuse awaiting moderation
    fb_appeal: int = 0  # an open rights appeal

    def caller(self, role: str) -> Caller:
        return self.callers[role]


def _ok(response: Any, what: str) -> Any:
    assert response.status_code < 300, f"{what}: {response.status_code} {response.text[:500]}"
    return response.json() if response.content else None


def _entry(session: Session, actor: Actor, title: str, subitem: str, **overrides: Any) -> Dataset:
    data: dict[str, Any] = {
        "title": title,
        "description": f"{title}（安全测试）",
        "category_class": "department",
        "item_code": "04",  # 公安司法
        "subitem_code": f"0{subitem}",
        "domain": "公共安全",
        "format": "database",
        "share_type": "conditional",
        "share_conditions": "仅用于法定职责",
        "legal_basis": BASIS,
        "open_type": "none",
        "level": "general_3",
        "update_cycle": "monthly",
        "fields": PEOPLE_FIELDS,
    }
    data.update(overrides)
    return catalog_service.create_dataset(session, actor, DatasetCreate.model_validate(data))


def _publish(session: Session, officer: Actor, bureau: Actor, dataset: Dataset) -> None:
    workflow.submit(session, officer, dataset.id)
    workflow.approve(session, bureau, dataset.id)
    workflow.publish(session, bureau, dataset.id)


def build(session: Session, client: TestClient) -> World:
    """Seed the city; ``client`` serves the app on the same transaction."""
    w = World(secret_rows=people_rows())
    city = orgs_service.create_region(
        session, SYSTEM, RegionCreate(code="371300", name="临沂市", level=RegionLevel.CITY)
    )
    district = orgs_service.create_region(
        session,
        SYSTEM,
        RegionCreate(code="371302", name="兰山区", level=RegionLevel.DISTRICT, parent_id=city.id),
    )
    w.city, w.district = city.id, district.id

    def agency(name: str, n: int, region: Region) -> Agency:
        return orgs_service.create_agency(
            session,
            SYSTEM,
            AgencyCreate(
                name=name,
                credit_code=make_credit_code(f"11371300MB{n:07d}"),
                region_id=region.id,
                kind=AgencyKind.GOVERNMENT,
            ),
        )

    provider = agency("临沂市公安局", 9101, city)
    other = agency("临沂市生态环境局", 9102, city)
    grantee = agency("临沂市医疗保障局", 9103, city)
    local = agency("兰山区市场监督管理局", 9104, district)
    w.provider, w.other, w.grantee, w.district_agency = (
        provider.id,
        other.id,
        grantee.id,
        local.id,
    )

    people_of: dict[str, tuple[list[Role], Agency | None, Region]] = {
        "public": ([Role.PUBLIC], None, city),
        "officer": ([Role.AGENCY_OFFICER], provider, city),
        "consumer": ([Role.AGENCY_CONSUMER], provider, city),
        "other_officer": ([Role.AGENCY_OFFICER], other, city),
        "other_consumer": ([Role.AGENCY_CONSUMER], other, city),
        "grantee": ([Role.AGENCY_OFFICER], grantee, city),
        "bureau": ([Role.BUREAU_ADMIN], None, city),
        "district_bureau": ([Role.BUREAU_ADMIN], None, district),
        "operator": ([Role.OPERATOR], None, city),
        "district_consumer": ([Role.AGENCY_CONSUMER], local, district),
        "auditor": ([Role.AUDITOR], None, city),
        "system_admin": ([Role.SYSTEM_ADMIN], None, city),
        "security_admin": ([Role.SECURITY_ADMIN], None, city),
        "audit_admin": ([Role.AUDIT_ADMIN], None, city),
    }
    users: dict[str, User] = {}
    actors: dict[str, Actor] = {}
    for role, (roles, body, region) in people_of.items():
        user = auth_service.create_user(
            session,
            SYSTEM,
            UserCreate(
                username=f"sec_{role}",
                display_name=f"安全测试{role}",
                password=PASSWORD,
                email=f"sec_{role}@example.gov.cn",
                agency_id=body.id if body else None,
                region_id=region.id,
                roles=roles,
            ),
        )
        users[role] = user
        actors[role] = auth_service.actor_for_user(user)
    w.target_user = users["consumer"].id
    w.district_user = users.pop("district_consumer").id
    w.callers["anonymous"] = Caller("anonymous")
    for role, user in users.items():
        token, login = auth_service.start_session(session, user, "127.0.0.1", "pytest")
        bearer = _ok(
            client.post(
                "/api/v1/auth/token", json={"username": user.username, "password": PASSWORD}
            ),
            "token",
        )["access_token"]
        w.callers[role] = Caller(
            role, user.id, user.agency_id, user.username, token, login.csrf_token, bearer
        )

    officer, bureau = actors["officer"], actors["bureau"]

    # --- the provider's entries --------------------------------------------------------
    people = _entry(session, officer, "常住人口基本信息", "01")
    _publish(session, officer, bureau, people)
    w.people = people
    with tempfile.TemporaryDirectory() as tmp:
        first = Path(tmp) / "people-v1.csv"
        first.write_bytes(people_csv(w.secret_rows[2:]))
        ingest_service.ingest_file(session, officer, people, first)
        second = Path(tmp) / "people-v2.csv"
        second.write_bytes(people_csv(w.secret_rows, invalid=True))
        result = ingest_service.ingest_file(
            session, officer, people, second, on_invalid=InvalidPolicy.QUARANTINE
        )
    assert result.version is not None, result.ingestion.issues
    w.ingestion = result.ingestion.id

    open_entry = _entry(
        session,
        officer,
        "户外广告设置许可信息",
        "02",
        share_type="unconditional",
        share_conditions="",
        legal_basis="",
        open_type="unconditional",
        level="general_1",
        fields=OPEN_FIELDS,
    )
    _publish(session, officer, bureau, open_entry)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "open.csv"
        lines = ["统一社会信用代码,许可事项,所属区县"]
        for i in range(5):
            code = make_credit_code(f"91371300MA{i + 1:07d}")
            lines.append(f"{code},户外广告设置{i},兰山区")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        ingest_service.ingest_file(session, officer, open_entry, path)
    w.open_entry = open_entry

    draft = _entry(session, officer, "暂住人员登记信息", "03")
    submitted = _entry(session, officer, "流动人口登记信息", "04")
    workflow.submit(session, officer, submitted.id)
    approved = _entry(session, officer, "出入境证件信息", "05")
    workflow.submit(session, officer, approved.id)
    workflow.approve(session, bureau, approved.id)
    w.draft, w.submitted, w.approved = draft.id, submitted.id, approved.id

    published: dict[str, Dataset] = {}
    for key, title, code in (
        ("free", "机动车驾驶人信息", "06"),
        ("pending", "犯罪记录查询信息", "07"),
        ("denied", "户籍迁移信息", "08"),
        ("objected", "居住证办理信息", "09"),
    ):
        entry = _entry(session, officer, title, code)
        _publish(session, officer, bureau, entry)
        published[key] = entry
    w.free = published["free"].id

    other_entry = _entry(
        session,
        actors["other_officer"],
        "排污许可证信息",
        "10",
        share_type="unconditional",
        share_conditions="",
        legal_basis="",
        open_type="unconditional",
        level="general_1",
        fields=OPEN_FIELDS,
    )
    _publish(session, actors["other_officer"], bureau, other_entry)
    w.other_entry = other_entry.id

    flow = _entry(
        session,
        officer,
        "治安管理处罚信息",
        "11",
        fields=[
            *OPEN_FIELDS[:2],
            FieldIn(name="district_code", label="所属区县代码", length=6, identifier="region_code"),
        ],
    )
    _publish(session, officer, bureau, flow)
    w.flow_dataset = flow.id

    # --- sharing -----------------------------------------------------------------------
    api = _Api(client, w)
    ends = (local_today() + dt.timedelta(days=120)).isoformat()

    def ask(dataset_id: int) -> int:
        body = {
            "dataset_id": dataset_id,
            "purpose": "医保待遇资格核验",
            "scenario": "核对参保人员户籍与身份信息",
            "fields": [f.name for f in PEOPLE_FIELDS],
            "legal_basis": "《医疗保障基金使用监督管理条例》第十四条",
            "ends_on": ends,
        }
        return int(api.post("grantee", "/api/v1/share/requests", body)["id"])

    w.request_active = ask(people.id)
    decided = api.post(
        "officer",
        f"/api/v1/share/requests/{w.request_active}/grant",
        {"clear_fields": [], "reason": "同意，按规则脱敏"},
    )
    w.grant = int(decided["grant_id"])
    grant = session.get(Grant, w.grant)
    assert grant is not None and grant.fingerprint
    w.fingerprint = grant.fingerprint
    exported = client.get(
        f"/api/v1/data/{people.id}/export.csv?_purpose=医保待遇资格核验",
        headers={"Authorization": f"Bearer {w.callers['grantee'].bearer}"},
    )
    assert exported.status_code == 200, exported.text
    w.grantee_export = exported.content
    w.request_pending = ask(published["pending"].id)
    w.request_denied = ask(published["denied"].id)
    refusal = {"reason": "超出法定职责范围"}
    api.post("officer", f"/api/v1/share/requests/{w.request_denied}/deny", refusal)
    w.request_objected = ask(published["objected"].id)
    api.post("officer", f"/api/v1/share/requests/{w.request_objected}/deny", refusal)
    api.post(
        "grantee",
        f"/api/v1/share/requests/{w.request_objected}/object",
        {"reason": "我局依法承担医保基金监管职责"},
    )

    # --- catalog changes, emergencies, return flow -------------------------------------
    w.change_request = int(
        api.post(
            "officer",
            f"/api/v1/datasets/{people.id}/change-requests",
            {
                "kind": "modify",
                "reason": "职责调整",
                "basis_changed_on": local_today().isoformat(),
                "changes": {"description": "常住人口基本信息（调整后）"},
            },
        )["id"]
    )
    ends_at = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    w.emergency = int(
        api.post(
            "bureau",
            "/api/v1/share/emergencies",
            {
                "name": "防汛应急响应",
                "reason": "沂河汛情",
                "dataset_ids": [w.free],
                "agency_ids": [w.district_agency],
                "ends_at": ends_at,
            },
        )["id"]
    )
    api.put(
        "bureau",
        f"/api/v1/share/return-flows/{w.flow_dataset}",
        {"field_name": "district_code", "value_map": {"371302": "371302"}},
    )

    # --- verification, systems, governance, pull ---------------------------------------
    api.post(
        "bureau",
        "/api/v1/verification/services",
        {
            "code": w.verification_code,
            "name": "人口身份核验",
            "dataset_id": people.id,
            "key_field": "person_id",
            "fields": ["name", "mobile"],
        },
    )
    w.system = int(api.post("officer", "/api/v1/systems", {"name": "人口信息管理系统"})["id"])
    api.post("officer", f"/api/v1/systems/{w.system}/links", {"dataset_id": people.id})
    population = session.scalars(
        select(DataCollection).where(DataCollection.code == "population")
    ).first()
    if population is None:
        population = session.scalars(select(DataCollection).order_by(DataCollection.id)).first()
    assert population is not None, "no data collection seeded by the migrations"
    w.collection = population.id
    w.item = int(
        api.post(
            "bureau",
            "/api/v1/governance/items",
            {"collection_id": population.id, "name": "姓名（安全测试）", "key_kind": "citizen_id"},
        )["id"]
    )
    api.put(
        "bureau",
        f"/api/v1/governance/items/{w.item}/source",
        {"dataset_id": people.id, "field_name": "name"},
    )
    w.copy = int(
        api.post(
            "bureau",
            f"/api/v1/governance/items/{w.item}/copies",
            {"dataset_id": w.free, "field_name": "name"},
        )["id"]
    )
    w.correction = int(
        api.post(
            "bureau",
            "/api/v1/governance/corrections",
            {
                "dataset_id": people.id,
                "key_value": SECOND["person_id"],
                "field_name": "district",
                "proposed_value": "兰山区",
                "reason": "已迁入兰山区",
            },
        )["id"]
    )
    with tempfile.TemporaryDirectory() as tmp:
        third = Path(tmp) / "people-v3.csv"
        third.write_bytes(people_csv([*w.secret_rows, *people_rows()[:0]]))
        fixed = ingest_service.ingest_file(session, officer, people, third)
    assert fixed.version is not None and fixed.version.number == 3, fixed.ingestion.issues
    w.pull_source = int(
        api.post(
            "officer",
            f"/api/v1/datasets/{people.id}/pull-sources",
            {
                "name": "hukou",
                "url": "postgresql+psycopg://agency@127.0.0.1:5432/hukou",
                "query": "SELECT * FROM people",
                "schedule": "daily 02:30",
            },
        )["id"]
    )

    # --- the rest: keys, calendar, pinyin, notices, audit, seal ------------------------
    w.api_key = int(api.post("officer", "/api/v1/api-keys", {"name": "人口系统接口"})["id"])
    day = local_today() + dt.timedelta(days=400)
    w.calendar_day = day.isoformat()
    api.post(
        "bureau",
        "/api/v1/calendar/overrides",
        {"day": w.calendar_day, "is_workday": False, "note": "安全测试"},
    )
    api.put(
        "bureau",
        "/api/v1/search/pinyin-overrides",
        {"phrase": w.pinyin_phrase, "pinyin": "yi shui"},
    )
    notice = session.scalars(
        select(Notice).where(Notice.user_id == users["officer"].id).order_by(Notice.id)
    ).first()
    assert notice is not None, "the provider's officer got no notice"
    w.notice = notice.id
    from gongshu.notices.models import OutboxMessage

    message = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()
    w.outbox = message.id if message is not None else 0
    _feedback(session, w, actors, open_entry.id)
    # An entry of the provider's own traffic: its officer, the bureau and auditors see it.
    w.audit_seq = int(
        session.scalars(
            select(AuditEntry.seq)
            .where(AuditEntry.agency_id == provider.id)
            .order_by(AuditEntry.seq)
        ).first()
        or 1
    )
    session.commit()
    assert checkpoint.write_checkpoint(session, actor=SYSTEM, force=True) is not None
    template = client.get(
        "/api/v1/catalog/import/template",
        headers={"Authorization": f"Bearer {w.callers['officer'].bearer}"},
    )
    assert template.status_code == 200
    w.import_template = template.content
    keys = api.get("officer", "/api/v1/seal/keys")
    w.seal_key = str(keys[0]["key_id"]) if keys else "none"
    return w


def _feedback(session: Session, w: World, actors: dict[str, Actor], entry_id: int) -> None:
    """One of each public feedback object, in the states the matrix calls them in."""
    from gongshu.feedback import demands, tickets
    from gongshu.feedback.schemas import (
        AppealIn,
        CommentIn,
        DemandIn,
        FeedbackIn,
        ReuseIn,
        RouteIn,
    )

    public, bureau = actors["public"], actors["bureau"]
    routed = tickets.file_feedback(
        session, public, entry_id, FeedbackIn(kind="error", text="安全测试：数据有误")
    )
    tickets.route_feedback(session, bureau, routed.id, RouteIn())
    w.fb_ticket = routed.id
    w.fb_unrouted = tickets.file_feedback(
        session, public, entry_id, FeedbackIn(kind="objection", text="安全测试：异议内容")
    ).id
    w.fb_comment = tickets.post_comment(
        session, public, entry_id, CommentIn(text="安全测试留言")
    ).id
    demand = demands.file_demand(
        session,
        public,
        DemandIn(
            title="安全测试需求", description="安全测试需求内容", suggested_agency_id=w.provider
        ),
    )
    demands.route_demand(session, bureau, demand.id, RouteIn())
    w.fb_demand = demand.id
    w.fb_pending_demand = demands.file_demand(
        session, public, DemandIn(title="安全测试待审需求", description="安全测试需求内容")
    ).id
    w.fb_reuse = demands.submit_reuse(
        session,
        public,
        ReuseIn(
            title="安全测试成果",
            kind="app",
            url="https://example.org/sec",
            description="安全测试成果简介",
            submitter="安全测试",
            dataset_ids=[entry_id],
        ),
    ).id
    w.fb_appeal = tickets.file_appeal(
        session, public, entry_id, AppealIn(text="安全测试：该数据侵犯我的隐私权")
    ).id


class _Api:
    """JSON calls as one of the world's callers, asserting success (seeding only)."""

    def __init__(self, client: TestClient, world: World):
        self.client = client
        self.world = world

    def _headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.world.callers[role].bearer}"}

    def get(self, role: str, path: str) -> Any:
        return _ok(self.client.get(path, headers=self._headers(role)), f"GET {path}")

    def post(self, role: str, path: str, body: dict[str, Any]) -> Any:
        response = self.client.post(path, headers=self._headers(role), json=body)
        return _ok(response, f"POST {path}")

    def put(self, role: str, path: str, body: dict[str, Any]) -> Any:
        response = self.client.put(path, headers=self._headers(role), json=body)
        return _ok(response, f"PUT {path}")
