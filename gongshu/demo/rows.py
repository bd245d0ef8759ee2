"""Rows for the demo city's published entries, loaded through the real ingestion pipeline.

Each entry below gets one to three uploads, as its agency would send them: a first full
file, then an upsert (records that changed, records that are new) or an append (the next
day's readings, the next month's figures). Files come in the forms agencies actually
produce: UTF-8 CSV, GBK CSV saved by Excel on a Chinese Windows desktop, XLSX, one JSON
export. Some files carry the errors real files carry (a credit code with a wrong check
character, 2月30日, a value outside the allowed choices, an empty required cell, a reading
out of range): those entries use the quarantine policy, so the demo shows rejected rows
and their download. One batch of 行政处罚信息 is refused whole under the reject policy and
the first version keeps serving.

Everything is deterministic: each entry draws from its own ``random.Random`` seeded with
the CRC-32 of its title, and dates count back from :data:`DATA_UNTIL`, never from today.
``demo_rows()`` is pure (no database); ``load_rows`` writes the files into a temporary
directory and calls ``gongshu.ingest.service.ingest_file`` as each entry's officer.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
import tempfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from openpyxl import Workbook
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.catalog.models import Dataset
from gongshu.identifiers import (
    citizen_id_check_char,
    make_credit_code,
    organization_code_check_char,
)
from gongshu.ingest import service as ingest_service
from gongshu.ingest.models import IngestMode, IngestStatus, InvalidPolicy
from gongshu.orgs.regions import DISTRICTS
from gongshu.settings import Settings

__all__ = [
    "DATA_UNTIL",
    "DemoRows",
    "DemoUpload",
    "RowsSummary",
    "demo_rows",
    "load_rows",
    "write_upload",
]

Row = dict[str, str]
T = TypeVar("T")

# The last day the demo's data covers: the day before the catalog was published.
DATA_UNTIL = dt.date(2026, 8, 31)
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


@dataclass(frozen=True)
class DemoUpload:
    """One file an officer ingests: rows keyed by field name, written under the labels.

    ``bad`` rows fail the checks; ``expect_rows`` is the current version's row count after
    this upload (``None`` when the batch is refused and nothing is published).
    """

    file_name: str
    rows: tuple[Row, ...]
    mode: IngestMode = IngestMode.REPLACE
    encoding: str = "utf-8"
    on_invalid: InvalidPolicy | None = None
    bad: int = 0
    expect_rows: int | None = None

    @property
    def refused(self) -> bool:
        return self.expect_rows is None


@dataclass(frozen=True)
class DemoRows:
    """The uploads of one demo entry; ``quarantine`` sets the entry's policy first."""

    title: str
    uploads: tuple[DemoUpload, ...]
    quarantine: bool = False

    @property
    def final_rows(self) -> int:
        """Rows of the version serving at the end."""
        counts = [u.expect_rows for u in self.uploads if u.expect_rows is not None]
        return counts[-1]


@dataclass
class RowsSummary:
    """What ``load_rows`` did: ingestions by status, versions published, rows rejected."""

    ingestions: int = 0
    published: int = 0
    refused: int = 0
    rows: int = 0
    rejected_rows: int = 0
    by_title: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------
# Making values


SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
    "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史"
    "顾侯邵孟龙万段颜庄"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰志红建国文斌海波鹏辉宁飞"
    "鑫晓云亮欣雪梅琳浩宇博子轩梓涵一诺思源佳怡欣然俊峰振东立新凤芝庆春淑珍永利"
)
BRANDS = (
    "鑫源",
    "华盛",
    "恒泰",
    "瑞丰",
    "兴隆",
    "德润",
    "金泽",
    "宏达",
    "顺通",
    "佳和",
    "利民",
    "新元",
    "丰泽",
    "沂蒙",
    "琅琊",
    "蒙山",
    "临港",
    "鲁南",
    "银雀",
    "金雀",
    "汇通",
    "荣昌",
    "广源",
    "弘业",
    "正信",
    "启阳",
    "天顺",
    "美达",
    "祥和",
    "立信",
)
TRADES = (
    ("商贸", "批发和零售业"),
    ("物流", "交通运输、仓储和邮政业"),
    ("建材", "批发和零售业"),
    ("食品", "制造业"),
    ("机械制造", "制造业"),
    ("木业", "制造业"),
    ("医药", "批发和零售业"),
    ("农业科技", "农、林、牧、渔业"),
    ("电子科技", "信息传输、软件和信息技术服务业"),
    ("建筑工程", "建筑业"),
    ("餐饮管理", "住宿和餐饮业"),
    ("塑料制品", "制造业"),
    ("五金机电", "批发和零售业"),
    ("陶瓷", "制造业"),
    ("纺织", "制造业"),
    ("网络科技", "信息传输、软件和信息技术服务业"),
    ("物业管理", "房地产业"),
    ("化工", "制造业"),
)
ROADS = (
    "沂蒙路",
    "通达路",
    "北京路",
    "上海路",
    "解放路",
    "金雀山路",
    "银雀山路",
    "涑河北街",
    "水田路",
    "临西五路",
    "工业大道",
    "沂河路",
    "滨河东路",
    "启阳路",
    "蒙山大道",
    "兰陵路",
    "应天街",
    "孝友路",
    "平安路",
    "成都路",
    "武汉路",
    "广州路",
    "考棚街",
    "西安路",
    "南京路",
    "卧龙山路",
    "罗庄路",
    "双月湖路",
    "人民大街",
    "育才路",
)
CITY_NAME = "临沂市"
CITY_CENTRE = (118.356, 35.104)
DISTRICT_NAMES = {d.code: d.name for d in DISTRICTS}
# Rough centres of the districts and counties, so points fall where their district is.
DISTRICT_CENTRES = {
    "371302": (118.347, 35.071),
    "371311": (118.285, 34.996),
    "371312": (118.402, 35.089),
    "371321": (118.465, 35.550),
    "371322": (118.367, 34.613),
    "371323": (118.628, 35.790),
    "371324": (118.070, 34.857),
    "371325": (117.977, 35.266),
    "371326": (117.640, 35.146),
    "371327": (118.833, 35.175),
    "371328": (117.946, 35.710),
    "371329": (118.650, 34.920),
}
SUBDISTRICTS = (
    "兰山街道",
    "银雀山街道",
    "金雀山街道",
    "柳青街道",
    "兰山区枣园镇",
    "罗庄街道",
    "盛庄街道",
    "傅庄街道",
    "九曲街道",
    "芝麻墩街道",
    "太平街道",
)


class Maker:
    """Realistic values for one entry, drawn from the entry's own generator."""

    def __init__(self, seed: str) -> None:
        # Reproducible demo data, not secrets: a seeded generator is the point.
        self.rng = random.Random(zlib.crc32(seed.encode("utf-8")))  # noqa: S311

    def pick(self, items: Sequence[T]) -> T:
        return items[self.rng.randrange(len(items))]

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def person(self) -> str:
        given = self.pick(GIVEN) + (self.pick(GIVEN) if self.chance(0.7) else "")
        return self.pick(SURNAMES) + given

    def district(self) -> str:
        # Most records belong to the city's core districts, as in a real registry.
        if self.chance(0.55):
            return self.pick(("371302", "371311", "371312"))
        return self.pick(tuple(DISTRICT_NAMES))

    def address(self, district: str) -> str:
        return (
            f"{CITY_NAME}{DISTRICT_NAMES[district]}{self.pick(ROADS)}{self.rng.randint(1, 399)}号"
        )

    def company(self, district: str, suffix: str = "有限公司") -> tuple[str, str]:
        """A company name and its industry."""
        trade, industry = self.pick(TRADES)
        place = CITY_NAME if self.chance(0.6) else CITY_NAME + DISTRICT_NAMES[district]
        return f"{place}{self.pick(BRANDS)}{trade}{suffix}", industry

    def mobile(self) -> str:
        return f"1{self.pick('3578')}{self.rng.randrange(10**9):09d}"

    def phone(self) -> str:
        return f"0539-{self.rng.randint(2000000, 8999999)}"

    def day(self, start: dt.date, end: dt.date = DATA_UNTIL) -> dt.date:
        return start + dt.timedelta(days=self.rng.randrange((end - start).days + 1))

    def citizen_id(self, district: str, born_from: int = 1950, born_to: int = 2003) -> str:
        born = self.day(dt.date(born_from, 1, 1), dt.date(born_to, 12, 31))
        body = f"{district}{born:%Y%m%d}{self.rng.randrange(1000):03d}"
        return body + citizen_id_check_char(body)

    def lnglat(self, district: str | None = None, spread: float = 0.06) -> tuple[str, str]:
        lng, lat = DISTRICT_CENTRES[district] if district else CITY_CENTRE
        return (
            f"{lng + self.rng.uniform(-spread, spread):.6f}",
            f"{lat + self.rng.uniform(-spread, spread):.6f}",
        )


def credit_code(kind: str, district: str, serial: int) -> str:
    """A valid unified social credit code: ``kind`` is the authority and type (91 an
    enterprise, 92 an individual business, 93 a cooperative, 52 a social service body, 12
    a public institution); the organisation code body is unique for each ``serial``."""
    digits = ""
    n = serial + 20160 * 31
    for _ in range(6):
        n, r = divmod(n, len(CREDIT_ALPHABET))
        digits = CREDIT_ALPHABET[r] + digits
    body = "MA" + digits
    return make_credit_code(kind + district + body + organization_code_check_char(body))


def break_check_char(code: str) -> str:
    """The same code with a wrong last character (the commonest typing error)."""
    last = code[-1]
    return code[:-1] + ("1" if last != "1" else "2")


# ---------------------------------------------------------------------------------------
# The enterprise registry: the companies other entries refer to


@dataclass(frozen=True)
class Company:
    name: str
    credit_code: str
    district: str
    industry: str
    established: dt.date
    address: str
    representative: str


def companies(count: int = 1500) -> list[Company]:
    """The demo city's companies (the same list every time)."""
    make = Maker("市场主体")
    out: list[Company] = []
    names: set[str] = set()
    for i in range(count):
        district = make.district()
        name, industry = make.company(district)
        while name in names:
            name, industry = make.company(district)
        names.add(name)
        out.append(
            Company(
                name=name,
                credit_code=credit_code("91", district, i),
                district=district,
                industry=industry,
                established=make.day(dt.date(2000, 1, 1), dt.date(2026, 6, 30)),
                address=make.address(district),
                representative=make.person(),
            )
        )
    return out


ENTITY_TYPES = (
    ("有限责任公司", 60),
    ("股份有限公司", 6),
    ("个人独资企业", 8),
    ("合伙企业", 4),
    ("外商投资企业", 2),
    ("分支机构", 10),
    ("非公司企业法人", 2),
)
STATUSES = (("存续", 70), ("在业", 14), ("迁入", 3), ("迁出", 2), ("吊销", 4), ("注销", 7))


def _weighted(make: Maker, table: Sequence[tuple[str, int]]) -> str:
    return make.rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def _registry_row(make: Maker, c: Company) -> Row:
    return {
        "credit_code": c.credit_code,
        "entity_name": c.name,
        "entity_type": _weighted(make, ENTITY_TYPES),
        "legal_representative": c.representative,
        "registered_capital": f"{make.pick((50, 100, 200, 300, 500, 1000, 2000, 5000))}.00",
        "established_on": c.established.isoformat(),
        "registration_authority": f"{CITY_NAME}{DISTRICT_NAMES[c.district]}行政审批服务局",
        "domicile": c.address,
        "status": _weighted(make, STATUSES),
        "district_code": c.district,
    }


def _market_entities() -> DemoRows:
    make = Maker("市场主体登记信息")
    pool = companies()
    first = [_registry_row(make, c) for c in pool[:1400]]
    # Month-end changes: some companies move on, 60 new ones registered, and six records
    # typed in by hand with the errors such records carry.
    changed = []
    for row in make.rng.sample(first, 80):
        moved = dict(row)
        moved["status"] = make.pick(("注销", "吊销", "迁出", "在业"))
        changed.append(moved)
    new = [_registry_row(make, c) for c in pool[1400:1460]]
    bad = [_registry_row(make, c) for c in pool[1460:1466]]
    bad[0]["credit_code"] = break_check_char(bad[0]["credit_code"])
    bad[1]["established_on"] = "2026-02-30"
    bad[2]["entity_type"] = "有限公司"
    bad[3]["entity_name"] = ""
    bad[4]["status"] = "正常"
    bad[5]["credit_code"] = bad[5]["credit_code"][:17]
    later = [_registry_row(make, c) for c in pool[1466:]]
    return DemoRows(
        "市场主体登记信息",
        quarantine=True,
        uploads=(
            DemoUpload("市场主体登记信息_202607.csv", tuple(first), expect_rows=1400),
            DemoUpload(
                "市场主体登记信息_202608变更.csv",
                tuple(changed + new + bad),
                mode=IngestMode.UPSERT,
                encoding="gbk",
                bad=6,
                expect_rows=1460,
            ),
            DemoUpload(
                "市场主体登记信息_20260831新设.csv",
                tuple(later),
                mode=IngestMode.APPEND,
                expect_rows=1460 + len(later),
            ),
        ),
    )


def _decision_no(prefix: str, year: int, n: int) -> str:
    return f"{prefix}〔{year}〕{n}号"


LICENCE_KINDS = (
    ("食品经营许可", "食品销售经营者；预包装食品（含冷藏冷冻食品）销售", 5),
    ("食品生产许可", "糕点、速冻食品生产", 5),
    ("药品经营许可", "药品零售：中成药、化学药制剂、抗生素制剂", 5),
    ("医疗器械经营许可", "第三类医疗器械经营", 5),
    ("特种设备生产许可", "承压类特种设备安装、修理、改造", 4),
    ("工业产品生产许可", "建筑用钢筋、水泥生产", 5),
)


def _licences() -> DemoRows:
    make = Maker("行政许可信息")
    pool = companies()
    rows: list[Row] = []
    for i in range(680):
        c = make.pick(pool)
        kind, content, years = make.pick(LICENCE_KINDS)
        decided = make.day(dt.date(2023, 1, 1))
        rows.append(
            {
                "decision_no": _decision_no("临市监许", decided.year, 1000 + i),
                "counterpart_name": c.name,
                "counterpart_credit_code": c.credit_code,
                "licence_category": "普通",
                "licence_content": f"{kind}：{content}",
                "decided_on": decided.isoformat(),
                "valid_until": decided.replace(year=decided.year + years).isoformat()
                if not (decided.month == 2 and decided.day == 29)
                else dt.date(decided.year + years, 2, 28).isoformat(),
                "authority": "临沂市市场监督管理局",
            }
        )
    rows.sort(key=lambda r: (r["decided_on"], r["decision_no"]))
    return DemoRows(
        "行政许可信息",
        uploads=(
            DemoUpload(
                "行政许可_双公示_2026-07.csv", tuple(rows[:600]), encoding="gbk", expect_rows=600
            ),
            DemoUpload(
                "行政许可_双公示_2026-08增量.csv",
                tuple(rows[600:]),
                mode=IngestMode.APPEND,
                encoding="gbk",
                expect_rows=680,
            ),
        ),
    )


VIOLATIONS = (
    ("销售不符合食品安全标准的食品", "《中华人民共和国食品安全法》第一百二十四条第一款", 0.5, 5),
    ("经营超过保质期的食品", "《中华人民共和国食品安全法》第一百二十四条第一款", 0.5, 3),
    ("未按规定公示营业执照", "《中华人民共和国市场主体登记管理条例》第四十八条", 0.1, 1),
    ("虚假宣传", "《中华人民共和国反不正当竞争法》第二十条", 2, 20),
    ("价格欺诈", "《价格违法行为行政处罚规定》第七条", 0.5, 10),
    ("销售不合格产品", "《中华人民共和国产品质量法》第四十九条", 1, 15),
    ("未经许可从事食品经营活动", "《中华人民共和国食品安全法》第一百二十二条", 1, 10),
    ("使用未经检验的特种设备", "《中华人民共和国特种设备安全法》第八十四条", 3, 30),
)


def _penalty_rows(make: Maker, pool: Sequence[Company], start: int, count: int) -> list[Row]:
    rows = []
    for i in range(start, start + count):
        c = make.pick(pool)
        violation, ground, low, high = make.pick(VIOLATIONS)
        decided = make.day(dt.date(2023, 1, 1))
        rows.append(
            {
                "decision_no": _decision_no("临市监处罚", decided.year, 100 + i),
                "counterpart_name": c.name,
                "counterpart_credit_code": c.credit_code,
                "violation_type": violation,
                "facts": f"当事人{violation}，经查证属实，违法所得{make.rng.randint(2, 80)}00元。",
                "legal_ground": ground,
                "fine_amount": f"{make.rng.uniform(low, high):.2f}",
                "decided_on": decided.isoformat(),
            }
        )
    return rows


def _penalties() -> DemoRows:
    make = Maker("行政处罚信息")
    pool = companies()
    first = _penalty_rows(make, pool, 0, 240)
    # A batch typed by a county office: three counterparts' codes mistyped. Under the
    # reject policy the whole batch is refused and version 1 keeps serving.
    second = _penalty_rows(make, pool, 240, 40)
    for row in second[5:8]:
        row["counterpart_credit_code"] = break_check_char(row["counterpart_credit_code"])
    return DemoRows(
        "行政处罚信息",
        uploads=(
            DemoUpload("行政处罚_双公示.xlsx", tuple(first), expect_rows=240),
            DemoUpload(
                "行政处罚_县区报送_202608.xlsx",
                tuple(second),
                mode=IngestMode.APPEND,
                on_invalid=InvalidPolicy.REJECT,
                bad=3,
            ),
        ),
    )


FOOD_FORMATS = (
    ("食品销售经营者", "预包装食品（含冷藏冷冻食品）销售；散装食品（不含冷藏冷冻食品）销售"),
    ("餐饮服务经营者", "热食类食品制售；冷食类食品制售"),
    ("单位食堂", "热食类食品制售"),
    ("食品销售经营者", "保健食品销售；特殊医学用途配方食品销售"),
    ("餐饮服务经营者", "热食类食品制售；糕点类食品（含裱花蛋糕）制售；自制饮品制售"),
)


def _food_licences() -> DemoRows:
    make = Maker("食品经营许可证信息")
    pool = companies()
    rows: list[Row] = []
    for i, c in enumerate(make.rng.sample(pool, 500)):
        business_format, scope = make.pick(FOOD_FORMATS)
        issued = make.day(dt.date(2021, 9, 1))
        rows.append(
            {
                "licence_no": f"JY{'2' if '餐饮' in business_format else '1'}{c.district}"
                f"{i + 1:07d}",
                "operator_name": c.name,
                "credit_code": c.credit_code,
                "premises": c.address,
                "business_format": business_format,
                "business_scope": scope,
                "issued_on": issued.isoformat(),
                "valid_until": (issued + dt.timedelta(days=5 * 365)).isoformat(),
            }
        )
    rows[17]["credit_code"] = break_check_char(rows[17]["credit_code"])
    rows[101]["issued_on"] = "2025-13-02"
    rows[233]["operator_name"] = ""
    rows[404]["valid_until"] = "2029-02-29"
    return DemoRows(
        "食品经营许可证信息",
        quarantine=True,
        uploads=(
            DemoUpload(
                "食品经营许可证_2026年8月.csv", tuple(rows), encoding="gbk", bad=4, expect_rows=496
            ),
        ),
    )


LISTING_REASONS = (
    "未依照《企业信息公示暂行条例》第八条规定的期限公示年度报告",
    "通过登记的住所或者经营场所无法联系",
    "未在责令的期限内公示有关企业信息",
    "公示企业信息隐瞒真实情况、弄虚作假",
)


def _abnormal() -> DemoRows:
    make = Maker("经营异常名录信息")
    rows: list[Row] = []
    for c in make.rng.sample(companies(), 300):
        listed = make.day(dt.date(2022, 7, 1))
        removed = ""
        if make.chance(0.3):
            removed = make.day(listed, min(DATA_UNTIL, listed + dt.timedelta(days=400))).isoformat()
        rows.append(
            {
                "credit_code": c.credit_code,
                "entity_name": c.name,
                "listing_reason": make.pick(LISTING_REASONS),
                "listed_on": listed.isoformat(),
                "authority": f"{CITY_NAME}{DISTRICT_NAMES[c.district]}市场监督管理局",
                "removed_on": removed,
            }
        )
    return DemoRows(
        "经营异常名录信息", uploads=(DemoUpload("经营异常名录.csv", tuple(rows), expect_rows=300),)
    )


FOODS = (
    ("大米", "粮食加工品"),
    ("挂面", "粮食加工品"),
    ("花生油", "食用油、油脂及其制品"),
    ("酱油", "调味品"),
    ("食醋", "调味品"),
    ("火腿肠", "肉制品"),
    ("纯牛奶", "乳制品"),
    ("饮用纯净水", "饮料"),
    ("月饼", "糕点"),
    ("煎饼", "粮食加工品"),
    ("韭菜", "食用农产品"),
    ("鸡蛋", "食用农产品"),
    ("豆芽", "食用农产品"),
    ("白酒", "酒类"),
    ("速冻水饺", "速冻食品"),
)
FAILED_ITEMS = {
    "食用农产品": ("腐霉利", "毒死蜱", "4-氯苯氧乙酸钠", "氯氟氰菊酯和高效氯氟氰菊酯"),
    "调味品": ("菌落总数", "苯甲酸及其钠盐（以苯甲酸计）"),
    "糕点": ("霉菌", "过氧化值（以脂肪计）"),
    "饮料": ("铜绿假单胞菌",),
    "酒类": ("甜蜜素（以环己基氨基磺酸计）",),
}


def _food_sampling() -> DemoRows:
    make = Maker("食品安全监督抽检结果信息")
    pool = companies()
    rows: list[Row] = []
    for i in range(400):
        food, category = make.pick(FOODS)
        sampled = make.day(dt.date(2025, 1, 1))
        failed = category in FAILED_ITEMS and make.chance(0.12)
        producer = "" if category == "食用农产品" else make.pick(pool).name
        rows.append(
            {
                "sample_no": f"DC{sampled:%y}37130{i % 9 + 1}{i + 1:06d}",
                "food_name": food,
                "food_category": category,
                "sampled_entity": make.pick(pool).name,
                "producer_name": producer,
                "conclusion": "不合格" if failed else "合格",
                "failed_items": make.pick(FAILED_ITEMS[category]) if failed else "",
                "sampled_on": sampled.isoformat(),
            }
        )
    return DemoRows(
        "食品安全监督抽检结果信息",
        uploads=(DemoUpload("食品安全抽检结果_2025-2026.xlsx", tuple(rows), expect_rows=400),),
    )


CLINICS = (
    ("诊所", "内科；外科；中医科", "营利性", 120),
    ("社区卫生服务站", "预防保健科；全科医疗科；中医科", "非营利性", 60),
    ("村卫生室", "全科医疗科", "非营利性", 90),
    ("口腔诊所", "口腔科", "营利性", 40),
    ("卫生院", "内科；外科；妇产科；儿科；中医科；医学检验科；医学影像科", "非营利性", 20),
    ("民营医院", "内科；外科；妇产科；眼科；医学检验科；医学影像科", "营利性", 20),
)


def _clinics() -> DemoRows:
    make = Maker("医疗机构执业许可信息")
    rows: list[Row] = []
    n = 0
    for kind, departments, ownership, count in CLINICS:
        for _ in range(count):
            n += 1
            district = make.district()
            place = DISTRICT_NAMES[district]
            name = {
                "诊所": f"{place}{make.person()}诊所",
                "口腔诊所": f"{CITY_NAME}{make.pick(BRANDS)}口腔诊所",
                "社区卫生服务站": f"{place}{make.pick(SUBDISTRICTS)[:2]}社区卫生服务站",
                "村卫生室": f"{place}{make.pick(SURNAMES)}家庄村卫生室",
                "卫生院": f"{place}{make.pick(BRANDS)}镇卫生院",
                "民营医院": f"{CITY_NAME}{make.pick(BRANDS)}医院",
            }[kind]
            rows.append(
                {
                    "registration_no": f"PDY{make.rng.randrange(10**5):05d}{district}{n:04d}",
                    "institution_name": name,
                    "institution_type": kind,
                    "ownership": ownership,
                    "clinical_departments": departments,
                    "location": make.address(district),
                    "valid_until": make.day(dt.date(2026, 10, 1), dt.date(2031, 9, 30)).isoformat(),
                    "district_code": district,
                }
            )
    return DemoRows(
        "医疗机构执业许可信息",
        uploads=(DemoUpload("医疗机构执业登记.csv", tuple(rows), expect_rows=350),),
    )


AIR_STATIONS = (
    ("3713001", "临沂市监测站"),
    ("3713002", "沂河公园"),
    ("3713003", "临沂大学"),
    ("3713004", "鲁南制药厂"),
    ("3713005", "河东保税中心"),
    ("3713006", "罗庄区政府"),
    ("3713007", "高新区管委会"),
    ("3713008", "经开区管委会"),
)
# IAQI breakpoints (HJ 633-2012), 1-hour values where they exist.
_IAQI = (0, 50, 100, 150, 200, 300, 400, 500)
_BREAKS = {
    "PM2.5": (0, 35, 75, 115, 150, 250, 350, 500),
    "PM10": (0, 50, 150, 250, 350, 420, 500, 600),
    "SO2": (0, 150, 500, 650, 800, 1600, 2100, 2620),
    "NO2": (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    "O3": (0, 160, 200, 300, 400, 800, 1000, 1200),
}


def _iaqi(pollutant: str, value: float) -> float:
    breaks = _BREAKS[pollutant]
    for k in range(1, len(breaks)):
        if value <= breaks[k]:
            lo, hi = breaks[k - 1], breaks[k]
            return _IAQI[k - 1] + (value - lo) * (_IAQI[k] - _IAQI[k - 1]) / (hi - lo)
    return 500.0


def _air_rows(make: Maker, days: Sequence[dt.date]) -> list[Row]:
    rows: list[Row] = []
    for day in days:
        haze = make.rng.uniform(0.6, 1.5)  # the day's weather decides for every station
        for code, name in AIR_STATIONS:
            local = make.rng.uniform(0.85, 1.2)
            for hour in range(24):
                sun = max(0.0, math.sin((hour - 7) / 12 * math.pi))
                values = {
                    "PM2.5": 22 * haze * local * (1.2 - 0.4 * sun) + make.rng.uniform(-4, 4),
                    "PM10": 48 * haze * local * (1.1 - 0.3 * sun) + make.rng.uniform(-8, 8),
                    "SO2": 7 * local + make.rng.uniform(-2, 2),
                    "NO2": 28 * local * (1.3 - 0.6 * sun) + make.rng.uniform(-5, 5),
                    "O3": 35 + 150 * sun * local * (2 - haze) + make.rng.uniform(-10, 10),
                }
                values = {k: max(1.0, v) for k, v in values.items()}
                iaqi = {k: _iaqi(k, v) for k, v in values.items()}
                aqi = math.ceil(max(iaqi.values()))
                primary = max(iaqi, key=lambda k: iaqi[k]) if aqi > 50 else ""
                rows.append(
                    {
                        "station_code": code,
                        "station_name": name,
                        "observed_at": f"{day.isoformat()} {hour:02d}:00:00",
                        "pm25": f"{values['PM2.5']:.0f}",
                        "pm10": f"{values['PM10']:.0f}",
                        "so2": f"{values['SO2']:.0f}",
                        "no2": f"{values['NO2']:.0f}",
                        "o3": f"{values['O3']:.0f}",
                        "aqi": str(aqi),
                        "primary_pollutant": primary,
                    }
                )
    return rows


def _air_quality() -> DemoRows:
    make = Maker("空气质量监测数据")
    week = [DATA_UNTIL - dt.timedelta(days=d) for d in range(7, 0, -1)]
    first = _air_rows(make, week)
    last_day = _air_rows(make, [DATA_UNTIL])
    # An analyser fault and a typing slip: three readings the checks refuse.
    last_day[30]["aqi"] = "612"
    last_day[95]["pm25"] = "-5"
    last_day[140]["primary_pollutant"] = "PM1"
    return DemoRows(
        "空气质量监测数据",
        quarantine=True,
        uploads=(
            DemoUpload("空气质量小时数据_0824-0830.csv", tuple(first), expect_rows=len(first)),
            DemoUpload(
                "空气质量小时数据_0831.csv",
                tuple(last_day),
                mode=IngestMode.APPEND,
                bad=3,
                expect_rows=len(first) + len(last_day) - 3,
            ),
        ),
    )


POLLUTER_INDUSTRIES = (
    ("火力发电", "重点管理"),
    ("水泥制造", "重点管理"),
    ("平板玻璃制造", "重点管理"),
    ("人造板制造", "简化管理"),
    ("家具制造", "简化管理"),
    ("食品及饲料添加剂制造", "简化管理"),
    ("化学药品原料药制造", "重点管理"),
    ("污水处理及其再生利用", "重点管理"),
    ("陶瓷制品制造", "简化管理"),
    ("金属表面处理及热处理加工", "重点管理"),
)


def _pollution_permits() -> DemoRows:
    make = Maker("排污许可证信息")
    rows: list[Row] = []
    for c in make.rng.sample(companies(), 260):
        industry, category = make.pick(POLLUTER_INDUSTRIES)
        start = make.day(dt.date(2021, 1, 1))
        rows.append(
            {
                "permit_no": f"{c.credit_code}001{'P' if category == '重点管理' else 'Q'}",
                "entity_name": c.name,
                "credit_code": c.credit_code,
                "industry": industry,
                "management_category": category,
                "valid_from": start.isoformat(),
                "valid_until": (start + dt.timedelta(days=5 * 365 - 1)).isoformat(),
                "district_code": c.district,
            }
        )
    return DemoRows(
        "排污许可证信息", uploads=(DemoUpload("排污许可证.xlsx", tuple(rows), expect_rows=260),)
    )


def _hard_to_employ() -> DemoRows:
    make = Maker("就业困难人员认定信息")
    rows: list[Row] = []
    for _ in range(250):
        district = make.pick(("371302", "371311", "371312"))
        rows.append(
            {
                "id_number": make.citizen_id(district, 1966, 2000),
                "person_name": make.person(),
                "category": make.pick(
                    (
                        "大龄失业人员",
                        "零就业家庭成员",
                        "残疾人",
                        "城镇低保家庭成员",
                        "连续失业一年以上人员",
                    )
                ),
                "recognized_on": make.day(dt.date(2024, 1, 1)).isoformat(),
                "subdistrict": make.pick(SUBDISTRICTS),
                "mobile": make.mobile(),
                "placed": make.pick(("是", "否", "否")),
            }
        )
    rows[77]["id_number"] = break_check_char(rows[77]["id_number"])
    return DemoRows(
        "就业困难人员认定信息",
        quarantine=True,
        uploads=(
            DemoUpload(
                "就业困难人员认定台账.csv", tuple(rows), encoding="gbk", bad=1, expect_rows=249
            ),
        ),
    )


def _schools() -> DemoRows:
    make = Maker("义务教育学校名录")
    rows: list[Row] = []
    names: set[str] = set()
    while len(rows) < 420:
        district = make.district()
        kind = make.pick(("小学", "小学", "小学", "初级中学", "九年一贯制学校"))
        private = make.chance(0.08)
        place = DISTRICT_NAMES[district]
        base = make.pick(ROADS)[:-1] if make.chance(0.5) else make.pick(BRANDS)
        name = f"{CITY_NAME}{place}{base}{'实验' if make.chance(0.2) else ''}{kind}"
        if name in names:
            continue
        names.add(name)
        rows.append(
            {
                "school_code": f"21{make.rng.randrange(10**8):08d}",
                "school_name": name,
                "school_type": kind,
                "ownership": "民办" if private else "公办",
                "location": make.address(district),
                "phone": make.phone(),
                "district_code": district,
            }
        )
    changed = []
    for row in make.rng.sample(rows, 30):
        moved = dict(row)
        moved["phone"] = make.phone()
        changed.append(moved)
    return DemoRows(
        "义务教育学校名录",
        uploads=(
            DemoUpload("义务教育学校名录_2026.csv", tuple(rows), encoding="gbk", expect_rows=420),
            DemoUpload(
                "学校联系电话更新.csv", tuple(changed), mode=IngestMode.UPSERT, expect_rows=420
            ),
        ),
    )


def _bus_lines() -> DemoRows:
    make = Maker("公交线路及站点信息")
    stops: list[tuple[str, str, str, str]] = []
    seen: set[str] = set()
    while len(stops) < 260:
        a, b = make.pick(ROADS), make.pick(ROADS)
        name = f"{a[:-1]}{b[:-1]}路口" if a != b else f"{a}中段"
        if name in seen:
            continue
        seen.add(name)
        lng, lat = make.lnglat(spread=0.09)
        stops.append((f"LY{len(stops) + 1:05d}", name, lng, lat))
    rows: list[Row] = []
    routes: list[list[Row]] = []
    for n in range(1, 41):
        route_id = f"{n:03d}" if n <= 36 else f"K{n - 36}"
        name = f"{n}路" if n <= 36 else f"快速公交K{n - 36}路"
        first = make.pick(("05:30", "06:00", "06:00", "06:30"))
        last = make.pick(("19:30", "20:00", "21:00", "21:30", "22:00"))
        route: list[Row] = []
        for seq, (stop_id, stop_name, lng, lat) in enumerate(
            make.rng.sample(stops, make.rng.randint(14, 28)), start=1
        ):
            route.append(
                {
                    "route_id": route_id,
                    "route_name": name,
                    "stop_id": stop_id,
                    "stop_name": stop_name,
                    "stop_sequence": str(seq),
                    "longitude": lng,
                    "latitude": lat,
                    "first_departure": first,
                    "last_departure": last,
                }
            )
        routes.append(route)
        rows.extend(route)
    # The summer timetable: three routes run an hour later.
    summer: list[Row] = []
    for route in (routes[0], routes[4], routes[11]):
        summer.extend({**stop, "last_departure": "22:30"} for stop in route)
    return DemoRows(
        "公交线路及站点信息",
        uploads=(
            DemoUpload("公交线路站点.json", tuple(rows), expect_rows=len(rows)),
            DemoUpload(
                "夏季运营时间调整.csv", tuple(summer), mode=IngestMode.UPSERT, expect_rows=len(rows)
            ),
        ),
    )


def _road_transport() -> DemoRows:
    make = Maker("道路运输经营许可信息")
    rows: list[Row] = []
    for i, c in enumerate(make.rng.sample(companies(), 300)):
        issued = make.day(dt.date(2020, 1, 1))
        rows.append(
            {
                "licence_no": f"鲁交运管许可临字{371300000000 + i * 37 + 1:012d}号",
                "operator_name": c.name,
                "credit_code": c.credit_code,
                "scope": make.pick(
                    (
                        "道路普通货物运输",
                        "道路普通货物运输；货物专用运输（集装箱）",
                        "道路危险货物运输（第3类）",
                        "县内班车客运；包车客运",
                        "机动车维修：二类汽车维修",
                    )
                ),
                "issued_on": issued.isoformat(),
                "valid_until": (issued + dt.timedelta(days=4 * 365)).isoformat(),
            }
        )
    return DemoRows(
        "道路运输经营许可信息",
        uploads=(DemoUpload("道路运输经营许可.csv", tuple(rows), expect_rows=300),),
    )


ALERTS = (
    (
        "暴雨",
        "过去3小时降雨量已达50毫米以上，且降雨可能持续",
        "切断低洼危险地带户外电源，暂停户外作业；转移危险地带人员",
    ),
    (
        "高温",
        "未来24小时最高气温将升至35℃以上",
        "午后尽量减少户外活动；对老、弱、病、幼人群提供防暑降温指导",
    ),
    (
        "雷电",
        "未来6小时内可能发生雷电活动，可能会造成雷电灾害事故",
        "人员应当留在室内，并关好门窗；户外人员应当躲入有防雷设施的建筑物内",
    ),
    (
        "大雾",
        "未来12小时内可能出现能见度小于500米的雾",
        "驾驶人员注意雾的变化，小心驾驶；机场、高速公路等单位加强调度指挥",
    ),
    (
        "寒潮",
        "48小时内最低气温将下降10℃以上，最低气温小于等于4℃",
        "做好防寒保暖和防冻工作；农业、水产业、畜牧业等要积极采取防霜冻措施",
    ),
    (
        "大风",
        "24小时内可能受大风影响，平均风力可达6级以上",
        "房屋抗风能力较弱的中小学校和单位应当停课、停业；切断危险的室外电源",
    ),
    (
        "道路结冰",
        "地表温度低于0℃，出现降水，12小时内可能出现对交通有影响的道路结冰",
        "驾驶人员应当注意路况，安全行驶；行人出门注意防滑",
    ),
)
SEVERITY_WEIGHTS = (("蓝色", 45), ("黄色", 35), ("橙色", 15), ("红色", 5))


def _weather_alerts() -> DemoRows:
    make = Maker("气象预警信息")
    rows: list[Row] = []
    for i in range(180):
        kind, content, guidance = make.pick(ALERTS)
        issued = make.day(dt.date(2024, 1, 1))
        severity = _weighted(make, SEVERITY_WEIGHTS)
        areas = make.rng.sample(list(DISTRICT_NAMES.values()), make.rng.randint(1, 6))
        rows.append(
            {
                "alert_id": f"37130041600000_{issued:%Y%m%d}{make.rng.randint(6, 21):02d}"
                f"{make.rng.randrange(60):02d}{i % 100:02d}",
                "alert_type": kind,
                "severity": severity,
                "issued_at": f"{issued.isoformat()} {make.rng.randint(6, 21):02d}:"
                f"{make.rng.randrange(60):02d}:00",
                "area": "、".join(areas),
                "content": f"临沂市气象台发布{kind}{severity}预警信号：{content}。",
                "guidance": guidance,
            }
        )
    return DemoRows(
        "气象预警信息", uploads=(DemoUpload("预警信号发布记录.csv", tuple(rows), expect_rows=180),)
    )


WEATHER_STATIONS = (
    ("54938", "临沂"),
    ("54932", "费县"),
    ("54931", "平邑"),
    ("54833", "蒙阴"),
    ("54836", "沂水"),
    ("54834", "沂南"),
    ("54939", "莒南"),
    ("54937", "临沭"),
    ("58030", "郯城"),
    ("58025", "兰陵"),
)


def _weather_hourly() -> DemoRows:
    make = Maker("地面气象观测逐小时数据")
    rows: list[Row] = []
    for back in range(5, 0, -1):
        day = DATA_UNTIL - dt.timedelta(days=back - 1)
        rain_hours = set(make.rng.sample(range(24), make.rng.randint(0, 5)))
        for code, name in WEATHER_STATIONS:
            base = make.rng.uniform(23, 27)
            for hour in range(24):
                warm = math.sin((hour - 9) / 24 * 2 * math.pi)
                rain = make.rng.uniform(0.1, 12) if hour in rain_hours and make.chance(0.7) else 0
                rows.append(
                    {
                        "station_id": code,
                        "station_name": name,
                        "observed_at": f"{day.isoformat()} {hour:02d}:00:00",
                        "temperature": f"{base + 5 * warm - (2 if rain else 0):.1f}",
                        "precipitation": f"{rain:.1f}",
                        "wind_direction": str(make.rng.randrange(0, 360, 10)),
                        "wind_speed": f"{make.rng.uniform(0.3, 6.5):.1f}",
                        "humidity": str(min(100, int(70 - 15 * warm + (20 if rain else 0)))),
                    }
                )
    return DemoRows(
        "地面气象观测逐小时数据",
        uploads=(DemoUpload("逐小时观测_0827-0831.csv", tuple(rows), expect_rows=len(rows)),),
    )


def _subsistence() -> DemoRows:
    make = Maker("最低生活保障对象信息")
    rows: list[Row] = []
    for i in range(300):
        district = make.district()
        rural = district not in ("371302", "371311", "371312") or make.chance(0.3)
        members = make.rng.choices((1, 2, 3, 4, 5), weights=(35, 30, 18, 12, 5))[0]
        standard = 752 if rural else 960  # 元 per person and month
        rows.append(
            {
                "certificate_no": f"{district}{'N' if rural else 'C'}{i + 1:06d}",
                "head_name": make.person(),
                "head_id_number": make.citizen_id(district, 1940, 1995),
                "members": str(members),
                "monthly_amount": f"{members * standard * make.rng.uniform(0.6, 1):.2f}",
                "category": "农村低保" if rural else "城市低保",
                "home_address": make.address(district),
                "district_code": district,
            }
        )
    return DemoRows(
        "最低生活保障对象信息",
        uploads=(
            DemoUpload("低保对象名册_202608.csv", tuple(rows), encoding="gbk", expect_rows=300),
        ),
    )


def _elder_care() -> DemoRows:
    make = Maker("养老机构名录")
    rows: list[Row] = []
    for i in range(160):
        district = make.district()
        kind = make.pick(("养老院", "颐养中心", "老年公寓", "敬老院", "康养中心"))
        beds = make.rng.randrange(40, 600, 10)
        place = CITY_NAME + DISTRICT_NAMES[district]
        low, high = make.rng.randrange(1200, 4800, 100), make.rng.randrange(4800, 9000, 100)
        rows.append(
            {
                "credit_code": credit_code("52", district, 5000 + i),
                "institution_name": f"{place}{make.pick(BRANDS)}{kind}",
                "beds": str(beds),
                "residents": make.pick(
                    ("自理、半失能、失能老年人", "特困供养人员", "失能、半失能老年人")
                ),
                "fees": f"{low}–{high}元/月",
                "location": make.address(district),
                "phone": make.phone(),
                "district_code": district,
            }
        )
    return DemoRows(
        "养老机构名录", uploads=(DemoUpload("养老机构名录.xlsx", tuple(rows), expect_rows=160),)
    )


PLACE_KINDS = (
    ("村", "行政区域", "以姓氏和方位得名"),
    ("社区", "行政区域", "以所在道路得名"),
    ("路", "道路", "以历史地名命名"),
    ("街", "道路", "以所在区域方位命名"),
    ("桥", "交通设施", "以所跨河流命名"),
    ("广场", "公共空间", "以纪念意义命名"),
    ("山", "自然地理实体", "因山形得名"),
    ("河", "自然地理实体", "沿用历史名称"),
)


def _place_names() -> DemoRows:
    make = Maker("标准地名信息")
    rows: list[Row] = []
    seen: set[tuple[str, str]] = set()
    while len(rows) < 500:
        district = make.district()
        suffix, category, meaning = make.pick(PLACE_KINDS)
        stem = make.pick(SURNAMES) + make.pick(("家", "庄", "集", "官", "王", "河", "岭", "湖"))
        if suffix in ("路", "街"):
            stem = make.pick(BRANDS)
        name = stem + suffix
        if (district, name) in seen:
            continue
        seen.add((district, name))
        lng, lat = make.lnglat(district, 0.12)
        rows.append(
            {
                "place_code": f"{district}{len(rows) + 1:06d}",
                "standard_name": name,
                "category": category,
                "meaning": meaning,
                "longitude": lng,
                "latitude": lat,
                "district_code": district,
            }
        )
    return DemoRows(
        "标准地名信息", uploads=(DemoUpload("标准地名.csv", tuple(rows), expect_rows=500),)
    )


PHARMACIES = ("漱玉平民", "立健", "同济堂", "众康", "仁和")


def _medical_insurance_points() -> DemoRows:
    make = Maker("医保定点医药机构名录")
    rows: list[Row] = []
    for i in range(700):
        district = make.district()
        pharmacy = make.chance(0.6)
        if pharmacy:
            name = f"{make.pick(PHARMACIES)}大药房{make.pick(ROADS)}店"
            category, grade, prefix = "定点零售药店", "", "P"
        else:
            category = make.pick(("定点医疗机构", "定点医疗机构", "门诊特殊疾病定点"))
            grade = make.pick(("三级甲等", "二级甲等", "二级乙等", "一级", "未定级", "未定级"))
            name = f"{CITY_NAME}{DISTRICT_NAMES[district]}{make.pick(BRANDS)}医院"
            prefix = "H"
        rows.append(
            {
                "institution_code": f"{prefix}{district}{i + 1:05d}",
                "institution_name": name,
                "category": category,
                "grade": grade,
                "location": make.address(district),
                "district_code": district,
            }
        )
    return DemoRows(
        "医保定点医药机构名录",
        uploads=(DemoUpload("定点医药机构名单.csv", tuple(rows), expect_rows=700),),
    )


def _a_taxpayers() -> DemoRows:
    make = Maker("纳税信用A级纳税人名单")
    rows: list[Row] = []
    for c in make.rng.sample(companies(), 800):
        rows.append(
            {
                "taxpayer_id": c.credit_code,
                "taxpayer_name": c.name,
                "year": "2025",
                "tax_office": f"国家税务总局{CITY_NAME}{DISTRICT_NAMES[c.district]}税务局",
            }
        )
    return DemoRows(
        "纳税信用A级纳税人名单",
        uploads=(
            DemoUpload("2025年度A级纳税人名单.csv", tuple(rows), encoding="gbk", expect_rows=800),
        ),
    )


FARM_INDUSTRIES = (
    "粮食种植",
    "蔬菜种植",
    "金银花种植",
    "蜜桃种植",
    "生猪养殖",
    "肉鸡养殖",
    "板栗种植",
    "茶叶种植",
)


def _farms() -> DemoRows:
    make = Maker("家庭农场和农民合作社名录")
    rows: list[Row] = []
    for i in range(500):
        district = make.pick(tuple(c for c in DISTRICT_NAMES if c not in ("371302", "371312")))
        coop = make.chance(0.45)
        industry = make.pick(FARM_INDUSTRIES)
        owner = make.person()
        name = (
            f"{DISTRICT_NAMES[district]}{make.pick(BRANDS)}{industry[:2]}专业合作社"
            if coop
            else f"{DISTRICT_NAMES[district]}{owner}家庭农场"
        )
        rows.append(
            {
                "credit_code": credit_code("93" if coop else "92", district, 8000 + i),
                "entity_name": name,
                "entity_type": "农民专业合作社" if coop else "家庭农场",
                "main_industry": industry,
                "scale_mu": f"{make.rng.uniform(50, 2000 if coop else 300):.1f}",
                "demonstration_level": make.pick(("", "", "", "市级", "省级", "县级")),
                "district_code": district,
            }
        )
    return DemoRows(
        "家庭农场和农民合作社名录",
        uploads=(DemoUpload("新型农业经营主体名录.xlsx", tuple(rows), expect_rows=500),),
    )


SCENIC = (
    ("蒙山旅游区", "5A", "371325"),
    ("沂蒙山银座天蒙旅游区", "5A", "371325"),
    ("竹泉村旅游度假区", "4A", "371321"),
    ("萤火虫水洞·地下大峡谷旅游区", "4A", "371323"),
    ("临沂市王羲之故居", "4A", "371302"),
    ("华东革命烈士陵园", "4A", "371302"),
    ("沂蒙红色影视基地", "4A", "371321"),
    ("郯城县银杏古梅园", "3A", "371322"),
)


def _scenic_rows(make: Maker, count: int) -> list[Row]:
    rows: list[Row] = []
    for i in range(count):
        if i < len(SCENIC):
            name, grade, district = SCENIC[i]
        else:
            district = make.district()
            kind = make.pick(("生态园", "农业观光园", "古村落", "湿地公园", "风景区"))
            name = f"{DISTRICT_NAMES[district]}{make.pick(BRANDS)}{kind}"
            grade = make.rng.choices(("A", "2A", "3A", "4A"), weights=(5, 30, 50, 15))[0]
        rows.append(
            {
                "scenic_id": f"LY{district[-2:]}{i + 1:04d}",
                "scenic_name": name,
                "grade": grade,
                "location": make.address(district),
                "opening_hours": make.pick(
                    ("08:00-17:30", "08:30-17:00", "全天开放", "07:30-18:00")
                ),
                "phone": make.phone(),
                "district_code": district,
            }
        )
    return rows


def _scenic_spots() -> DemoRows:
    make = Maker("A级旅游景区名录")
    rows = _scenic_rows(make, 92)
    first = rows[:90]
    second = [dict(r) for r in rows]
    second[88]["grade"] = "AAAA"  # written the old way; the catalog allows 4A
    second[91]["grade"] = "6A"
    return DemoRows(
        "A级旅游景区名录",
        quarantine=True,
        uploads=(
            DemoUpload("A级景区名录_2025.csv", tuple(first), expect_rows=90),
            DemoUpload("A级景区名录_2026.xlsx", tuple(second), bad=2, expect_rows=90),
        ),
    )


def _shelters() -> DemoRows:
    make = Maker("应急避难场所信息")
    rows: list[Row] = []
    for i in range(220):
        district = make.district()
        kind = make.pick(("公园", "广场", "学校操场", "体育场馆"))
        label = {"公园": "公园", "广场": "广场", "学校操场": "学校", "体育场馆": "体育馆"}[kind]
        lng, lat = make.lnglat(district)
        rows.append(
            {
                "shelter_id": f"BN{district}{i + 1:04d}",
                "shelter_name": f"{DISTRICT_NAMES[district]}{make.pick(BRANDS)}{label}应急避难场所",
                "shelter_type": make.pick(("Ⅰ类", "Ⅱ类", "Ⅲ类")) + kind,
                "capacity": str(make.rng.randrange(500, 30000, 100)),
                "longitude": lng,
                "latitude": lat,
                "district_code": district,
            }
        )
    return DemoRows(
        "应急避难场所信息", uploads=(DemoUpload("应急避难场所.csv", tuple(rows), expect_rows=220),)
    )


INDICATORS = (
    ("地区生产总值（当月估算）", "亿元", 480.0),
    ("规模以上工业增加值", "亿元", 150.0),
    ("固定资产投资", "亿元", 260.0),
    ("社会消费品零售总额", "亿元", 290.0),
    ("一般公共预算收入", "亿元", 38.0),
    ("进出口总额", "亿元", 120.0),
    ("城镇新增就业人数", "人", 9000.0),
    ("居民消费价格指数", "上年同月=100", 100.3),
    ("全社会用电量", "亿千瓦时", 38.0),
    ("金融机构本外币存款余额", "亿元", 13500.0),
    ("金融机构本外币贷款余额", "亿元", 11200.0),
    ("商品房销售面积", "万平方米", 95.0),
)


def _indicator_rows(make: Maker, months: Sequence[tuple[int, int]]) -> list[Row]:
    rows: list[Row] = []
    for year, month in months:
        for name, unit, base in INDICATORS:
            growth = 1 + 0.045 * (year - 2023) + 0.05 * math.sin(month / 12 * 2 * math.pi)
            value = base if unit == "上年同月=100" else base * growth
            rows.append(
                {
                    "month": f"{year}-{month:02d}",
                    "indicator": name,
                    "value": f"{value * make.rng.uniform(0.97, 1.03):.2f}",
                    "yoy": "" if unit == "上年同月=100" else f"{make.rng.uniform(-3, 9):.1f}",
                    "unit": unit,
                }
            )
    return rows


def _indicators() -> DemoRows:
    make = Maker("国民经济主要指标月度数据")
    months = [(2023 + (m - 1) // 12, (m - 1) % 12 + 1) for m in range(8, 44)]  # 2023-08..2026-07
    first = _indicator_rows(make, months)
    august = _indicator_rows(make, [(2026, 8)])
    return DemoRows(
        "国民经济主要指标月度数据",
        uploads=(
            DemoUpload("主要经济指标_2023-2026.xlsx", tuple(first), expect_rows=len(first)),
            DemoUpload(
                "主要经济指标_2026年8月.csv",
                tuple(august),
                mode=IngestMode.APPEND,
                expect_rows=len(first) + len(august),
            ),
        ),
    )


def _toilets() -> DemoRows:
    make = Maker("城市公厕分布信息")
    rows: list[Row] = []
    for i in range(600):
        district = make.pick(("371302", "371311", "371312", make.district()))
        kind = make.pick(
            ("独立式公厕", "独立式公厕", "附建式公厕", "活动式公厕", "社会单位开放厕所")
        )
        lng, lat = make.lnglat(district)
        rows.append(
            {
                "toilet_id": f"GC{district}{i + 1:05d}",
                "toilet_name": f"{make.pick(ROADS)}{make.pick(('东', '西', '南', '北', ''))}公厕",
                "toilet_type": kind,
                "opening_hours": "24小时" if kind != "社会单位开放厕所" else "08:00-20:00",
                "accessible": make.pick(("是", "是", "否")),
                "longitude": lng,
                "latitude": lat,
            }
        )
    return DemoRows(
        "城市公厕分布信息", uploads=(DemoUpload("公厕点位.csv", tuple(rows), expect_rows=600),)
    )


def _parking_rows(make: Maker, lots: Sequence[tuple[str, str, int, str]], at: str) -> list[Row]:
    return [
        {
            "lot_id": lot_id,
            "lot_name": name,
            "total": str(total),
            "free": str(make.rng.randint(0, total)),
            "tariff": tariff,
            "updated_at": at,
        }
        for lot_id, name, total, tariff in lots
    ]


def _parking() -> DemoRows:
    make = Maker("道路停车泊位实时信息")
    lots = [
        (
            f"P{i + 1:05d}",
            f"{make.pick(ROADS)}{make.pick(('东段', '西段', '南段', '北段', '中段'))}路内泊位",
            make.rng.randrange(10, 120),
            make.pick(("首小时2元，之后每小时1元", "首小时免费，之后每小时2元", "每次5元")),
        )
        for i in range(300)
    ]
    day = DATA_UNTIL.isoformat()
    return DemoRows(
        "道路停车泊位实时信息",
        uploads=(
            DemoUpload(
                "泊位_0800.csv",
                tuple(_parking_rows(make, lots, f"{day} 08:00:00")),
                expect_rows=300,
            ),
            DemoUpload(
                "泊位_0805.csv",
                tuple(_parking_rows(make, lots, f"{day} 08:05:00")),
                mode=IngestMode.UPSERT,
                expect_rows=300,
            ),
            DemoUpload(
                "泊位_0810.csv",
                tuple(_parking_rows(make, lots, f"{day} 08:10:00")),
                mode=IngestMode.UPSERT,
                expect_rows=300,
            ),
        ),
    )


GENERATORS: tuple[Callable[[], DemoRows], ...] = (
    _market_entities,
    _licences,
    _penalties,
    _food_licences,
    _abnormal,
    _food_sampling,
    _clinics,
    _air_quality,
    _pollution_permits,
    _hard_to_employ,
    _schools,
    _bus_lines,
    _road_transport,
    _weather_alerts,
    _weather_hourly,
    _subsistence,
    _elder_care,
    _place_names,
    _medical_insurance_points,
    _a_taxpayers,
    _farms,
    _scenic_spots,
    _shelters,
    _indicators,
    _toilets,
    _parking,
)


def demo_rows() -> tuple[DemoRows, ...]:
    """Every entry's uploads, in catalog order (the same tuple every time)."""
    return tuple(generate() for generate in GENERATORS)


# ---------------------------------------------------------------------------------------
# Files and loading


def write_upload(
    path: Path, upload: DemoUpload, names: Sequence[str], labels: Sequence[str]
) -> Path:
    """Write the upload as its file name says (.csv, .xlsx or .json) under the labels."""
    rows = [[row.get(name, "") for name in names] for row in upload.rows]
    suffix = path.suffix.lower()
    if suffix == ".json":
        objects = [dict(zip(labels, values, strict=True)) for values in rows]
        path.write_text(json.dumps(objects, ensure_ascii=False, indent=1), encoding="utf-8")
    elif suffix == ".xlsx":
        book = Workbook(write_only=True)
        # Fixed document times keep the file the same from load to load.
        stamp = dt.datetime(2026, 8, 31, 18, 0, tzinfo=dt.UTC).replace(tzinfo=None)
        book.properties.created = book.properties.modified = stamp
        sheet = book.create_sheet(title="Sheet1")
        sheet.append(list(labels))
        for values in rows:
            sheet.append(values)
        book.save(path)
    else:
        text = "\r\n".join(_csv_line(line) for line in [list(labels), *rows]) + "\r\n"
        path.write_bytes(text.encode(upload.encoding))
    return path


def _csv_line(values: Sequence[str]) -> str:
    return ",".join(
        '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\r\n') else v for v in values
    )


def _file_labels(dataset: Dataset, encoding: str) -> tuple[list[str], list[str]]:
    names = [f.name for f in dataset.fields]
    labels = []
    for f in dataset.fields:
        try:
            f.label.encode(encoding)
            labels.append(f.label)
        except UnicodeEncodeError:  # "m³" has no GBK code: such a file keeps the name
            labels.append(f.name)
    return names, labels


def load_rows(
    session: Session,
    entries: Mapping[str, tuple[Dataset, Actor]],
    *,
    settings: Settings | None = None,
) -> RowsSummary:
    """Ingest the demo rows: each entry's files, in order, as the officer of its agency.

    ``entries`` maps a title to the published entry and its agency's officer; entries of
    the plan that it does not hold are skipped.
    """
    summary = RowsSummary()
    with tempfile.TemporaryDirectory(prefix="gongshu-demo-rows-") as tmp:
        folder = Path(tmp)
        for entry in demo_rows():
            if entry.title not in entries:
                continue
            dataset, officer = entries[entry.title]
            if entry.quarantine:
                ingest_service.set_profile(
                    session, officer, dataset, on_invalid=InvalidPolicy.QUARANTINE
                )
            for upload in entry.uploads:
                names, labels = _file_labels(dataset, upload.encoding)
                path = write_upload(folder / upload.file_name, upload, names, labels)
                result = ingest_service.ingest_file(
                    session,
                    officer,
                    dataset,
                    path,
                    mode=upload.mode,
                    on_invalid=upload.on_invalid,
                    settings=settings,
                )
                path.unlink()
                summary.ingestions += 1
                summary.rejected_rows += result.rows_rejected
                if result.version is not None:
                    summary.published += 1
                    summary.by_title[entry.title] = result.version.row_count
                elif result.ingestion.status is IngestStatus.REJECTED:
                    summary.refused += 1
        summary.rows = sum(summary.by_title.values())
    return summary
