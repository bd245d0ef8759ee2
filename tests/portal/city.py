"""A small open-data city made through the real services: two agencies, public entries with
rows (every optional field filled), a conditional one, hidden ones, minimal ones.

``build`` works on the rolled-back test session and on a committed scratch database alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from gongshu.auth import service as auth_service
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.schemas import ApiKeyCreate, UserCreate
from gongshu.catalog import service as catalog_service
from gongshu.catalog import workflow
from gongshu.catalog.models import Dataset
from gongshu.catalog.schemas import DatasetCreate, FieldIn
from gongshu.identifiers import make_credit_code
from gongshu.ingest.spec import specs_of
from gongshu.orgs import service as orgs_service
from gongshu.orgs.models import AgencyKind, RegionLevel
from gongshu.orgs.schemas import AgencyCreate, RegionCreate
from gongshu.store.models import DatasetVersion
from gongshu.store.serving import ARROW_TYPES
from gongshu.store.storage import Storage
from gongshu.store.versions import VersionWriter, publish

SYSTEM = Actor.system("pytest")
PASSWORD = "Gongshu-Test-2026"
DISTRICTS = ["兰山区", "罗庄区", "河东区"]
EXTRA_ROUTES = 12  # minimal public entries, so that paging has many pages


@dataclass
class OpenCity:
    """Ids and keys of what ``build`` made."""

    market: int = 0  # agency 临沂市市场监督管理局
    ecology: int = 0  # agency 临沂市生态环境局
    companies: Dataset | None = None  # unconditional, rows, every optional field
    air: Dataset | None = None  # unconditional, rows
    permits: Dataset | None = None  # conditional (metadata public, rows not)
    people: Dataset | None = None  # general_4, not opened
    draft: Dataset | None = None  # unconditional but not published
    minimal: Dataset | None = None  # published, no description, tags, domain or rows
    routes: list[Dataset] = field(default_factory=list)  # minimal published entries
    company_rows: list[dict[str, Any]] = field(default_factory=list)
    air_rows: list[dict[str, Any]] = field(default_factory=list)
    provider_key: str = ""  # an API key of the market bureau's officer
    bureau_key: str = ""  # an API key of the city bureau admin
    other_key: str = ""  # an API key of the ecology bureau's officer

    @property
    def public(self) -> list[Dataset]:
        found = [self.companies, self.air, self.permits, self.minimal, *self.routes]
        return [d for d in found if d is not None]


def company_row(i: int) -> dict[str, Any]:
    blank = i % 9 == 4
    return {
        "credit_code": make_credit_code(f"91371300MA{i:07d}"),
        "name": f"临沂市开放测试企业{i}有限公司",
        "district": DISTRICTS[i % 3],
        "capital": None if blank else Decimal(i * 1000 + 50) / Decimal(100),
        "staff": None if blank else (i * 37) % 500,
        "founded": dt.date(2000, 1, 1) + dt.timedelta(days=i * 97),
        "checked_at": dt.datetime(2026, 5, 1, 8, 30, 0) + dt.timedelta(hours=i),
        "active": i % 4 != 0,
        "postcode": f"27600{i % 10}",
    }


def air_row(i: int) -> dict[str, Any]:
    return {
        "station": f"监测站{i % 4}",
        "hour": dt.datetime(2026, 6, 1, 0, 0, 0) + dt.timedelta(hours=i),
        "aqi": 40 + (i * 7) % 120,
        "pm25": Decimal(i * 3 + 11) / Decimal(10),
    }


COMPANY_FIELDS = [
    FieldIn(
        name="credit_code",
        label="统一社会信用代码",
        is_key=True,
        required=True,
        length=18,
        sensitivity="credit_code",
        description="市场主体的统一社会信用代码",
    ),
    FieldIn(name="name", label="企业名称", required=True, length=200, description="登记名称"),
    FieldIn(
        name="district",
        label="所在区县",
        choices=DISTRICTS,
        filterable=True,
        description="登记住所所在区县",
    ),
    FieldIn(
        name="capital",
        label="注册资本（万元）",
        data_type="decimal",
        min_value="0",
        max_value="1000000000",
    ),
    FieldIn(name="staff", label="从业人数", data_type="integer", min_value="0", max_value="100000"),
    FieldIn(name="founded", label="成立日期", data_type="date", min_value="1949-10-01"),
    FieldIn(name="checked_at", label="核查时间", data_type="datetime"),
    FieldIn(name="active", label="是否存续", data_type="boolean"),
    FieldIn(name="postcode", label="邮政编码", length=6, pattern=r"\d{6}"),
]
AIR_FIELDS = [
    FieldIn(name="station", label="监测站点", is_key=True, required=True, filterable=True),
    FieldIn(name="hour", label="监测时间", data_type="datetime", is_key=True, required=True),
    FieldIn(name="aqi", label="空气质量指数", data_type="integer", min_value="0", max_value="500"),
    FieldIn(name="pm25", label="细颗粒物浓度", data_type="decimal", min_value="0"),
]


def entry(**overrides: Any) -> DatasetCreate:
    data: dict[str, Any] = {
        "title": "企业登记基本信息",
        "description": "全市市场主体登记的基本信息",
        "category_class": "base",
        "item_code": "02",
        "subitem_code": "001",
        "domain": "市场监管",
        "format": "database",
        "share_type": "unconditional",
        "open_type": "unconditional",
        "level": "general_1",
        "update_cycle": "daily",
        "fields": [FieldIn(name="name", label="名称", is_key=True, required=True)],
    }
    data.update(overrides)
    return DatasetCreate.model_validate(data)


def write_rows(
    session: Session,
    actor: Actor,
    storage: Storage,
    dataset: Dataset,
    rows: list[dict[str, Any]],
) -> DatasetVersion:
    """Publish ``rows`` as the entry's next version (the real store, typed columns)."""
    specs = specs_of(dataset)
    arrays = [pa.array([r.get(s.name) for r in rows], type=ARROW_TYPES[s.data_type]) for s in specs]
    arrays.append(pa.array(range(2, len(rows) + 2), type=pa.int64()))
    batch = pa.record_batch(arrays, names=[*(s.name for s in specs), "_row"])
    with VersionWriter(storage, dataset.id, specs) as writer:
        writer.write(batch)
        staged = writer.finish()
    return publish(
        session,
        actor,
        dataset,
        staged,
        mode="replace",
        source={"kind": "upload", "file_name": "rows.csv"},
        storage=storage,
    )


def build(session: Session, storage: Storage) -> OpenCity:
    """Make the city (regions, agencies, people, entries, rows and API keys)."""
    city = orgs_service.create_region(
        session, SYSTEM, RegionCreate(code="371300", name="临沂市", level=RegionLevel.CITY)
    )
    agencies = []
    for n, name in enumerate(("临沂市市场监督管理局", "临沂市生态环境局"), start=1):
        agencies.append(
            orgs_service.create_agency(
                session,
                SYSTEM,
                AgencyCreate(
                    name=name,
                    credit_code=make_credit_code(f"11371300MB{90 + n:07d}"),
                    region_id=city.id,
                    kind=AgencyKind.GOVERNMENT,
                    address=f"临沂市兰山区北京路{n}号",
                    phone=f"0539-800{n}000",
                ),
            )
        )
    market, ecology = agencies

    def person(username: str, role: Role, agency_id: int | None) -> Actor:
        user = auth_service.create_user(
            session,
            SYSTEM,
            UserCreate(
                username=username,
                display_name=username,
                password=PASSWORD,
                agency_id=agency_id,
                region_id=city.id,
                roles=[role],
            ),
        )
        return auth_service.actor_for_user(user)

    officer = person("open_officer", Role.AGENCY_OFFICER, market.id)
    eco_officer = person("open_eco_officer", Role.AGENCY_OFFICER, ecology.id)
    bureau = person("open_bureau", Role.BUREAU_ADMIN, None)

    def published(by: Actor, data: DatasetCreate) -> Dataset:
        dataset = catalog_service.create_dataset(session, by, data)
        workflow.submit(session, by, dataset.id)
        workflow.approve(session, bureau, dataset.id)
        return workflow.publish(session, bureau, dataset.id)

    out = OpenCity(market=market.id, ecology=ecology.id)
    out.companies = published(
        officer,
        entry(
            tags=["企业登记", "营商环境"],
            fields=COMPANY_FIELDS,
            source_system="市场主体登记系统",
            published_on=dt.date(2026, 9, 1),
        ),
    )
    out.air = published(
        eco_officer,
        entry(
            title="空气质量监测数据",
            description="全市国控、省控空气质量自动监测站逐小时监测数据",
            category_class="theme",
            item_code="16",
            domain="生态环境",
            update_cycle="realtime",
            tags=["空气质量", "实时数据"],
            fields=AIR_FIELDS,
        ),
    )
    out.permits = published(
        eco_officer,
        entry(
            title="排污许可证信息",
            description="排污单位的排污许可证发放、变更和注销信息",
            category_class="theme",
            item_code="11",
            domain="生态环境",
            share_type="conditional",
            open_type="conditional",
            level="general_2",
            legal_basis="《排污许可管理条例》",
            open_conditions="用于环境研究，签署数据使用协议",
            tags=["排污许可"],
            fields=[FieldIn(name="permit_no", label="许可证编号", is_key=True, required=True)],
        ),
    )
    out.people = published(
        officer,
        entry(
            title="常住人口基本信息",
            category_class="base",
            item_code="01",
            domain="人口",
            share_type="conditional",
            open_type="none",
            level="general_4",
            legal_basis="《中华人民共和国居民身份证法》",
            tags=["人口"],
        ),
    )
    out.draft = catalog_service.create_dataset(
        session, officer, entry(title="企业年度报告信息", tags=["企业登记"])
    )
    out.minimal = published(
        eco_officer,
        entry(
            title="辐射环境监测点位",
            description="",
            domain="",
            update_cycle="irregular",
            category_class="department",
            item_code="09",
        ),
    )
    for i in range(EXTRA_ROUTES):
        out.routes.append(
            published(
                officer,
                entry(
                    title=f"公交线路信息第{i + 1}批",
                    description="公交线路走向和站点",
                    domain="交通",
                    category_class="theme",
                    item_code="19",
                    update_cycle="monthly",
                    tags=["公交"],
                ),
            )
        )
    out.company_rows = [company_row(i) for i in range(25)]
    out.air_rows = [air_row(i) for i in range(30)]
    write_rows(session, officer, storage, out.companies, out.company_rows)
    write_rows(session, eco_officer, storage, out.air, out.air_rows)
    write_rows(session, eco_officer, storage, out.permits, [{"permit_no": "91371300PW0001"}])
    _key, out.provider_key = auth_service.create_api_key(
        session, officer, ApiKeyCreate(name="开放数据测试")
    )
    _key, out.bureau_key = auth_service.create_api_key(
        session, bureau, ApiKeyCreate(name="开放数据测试")
    )
    _key, out.other_key = auth_service.create_api_key(
        session, eco_officer, ApiKeyCreate(name="开放数据测试")
    )
    return out
