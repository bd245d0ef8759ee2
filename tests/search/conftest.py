"""A fixed little catalog for the search tests, made through the real services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.catalog.models import Dataset, DatasetState
from gongshu.catalog.schemas import FieldIn
from gongshu.orgs.models import Agency
from gongshu.search import SearchQuery, SearchResult, search_datasets
from tests.factories import Person

SYSTEM = Actor.system("pytest")


def fields(*labels: str) -> list[FieldIn]:
    return [
        FieldIn(name=f"f{i}", label=text, is_key=i == 0, required=i == 0)
        for i, text in enumerate(labels)
    ]


# (title, description, field labels, owner: "mine" | "theirs", published)
CORPUS: tuple[tuple[str, str, tuple[str, ...], str, bool], ...] = (
    (
        "北京市空气质量监测数据",
        "全市空气质量自动监测站点的小时数据",
        ("监测站点", "PM2.5浓度"),
        "theirs",
        True,
    ),
    ("公交线路及站点信息", "城市公共交通线路和站点", ("线路名称", "站点名称"), "mine", True),
    ("公交刷卡客流统计", "公交卡刷卡次数按日汇总", ("刷卡次数", "统计日期"), "mine", True),
    ("费县基层医疗卫生机构名录", "费县乡镇卫生院和村卫生室", ("机构名称", "地址"), "mine", True),
    ("单县文化旅游景点信息", "A级旅游景区名录", ("景点名称", "等级"), "mine", True),
    (
        "长清区气象预警信息",
        "暴雨、大风等气象预警发布记录",
        ("预警等级", "发布时间"),
        "theirs",
        True,
    ),
    (
        "企业登记基本信息",
        "全市市场主体登记的基本信息",
        ("统一社会信用代码", "企业名称"),
        "mine",
        True,
    ),
    ("公共建筑空调能耗监测数据", "大型公共建筑的用电能耗", ("建筑名称", "空调能耗"), "mine", True),
    ("排污许可信息", "排放大气污染物的企业及其许可证", ("许可证编号", "企业名称"), "theirs", True),
    ("地表水水质监测数据", "地表水水质自动监测站点数据", ("断面名称", "水质类别"), "theirs", True),
    ("空气污染源清单", "工业企业大气污染源排放清单（草稿）", ("污染源名称",), "theirs", False),
    ("行政处罚信息", "100%_完整的行政处罚决定", ("决定书文号", "当事人名称"), "mine", False),
)


@pytest.fixture
def corpus(
    db: Session,
    make_dataset: Callable[..., Dataset],
    officer: Person,
    other_officer: Person,
) -> dict[str, Dataset]:
    """Twelve entries of two agencies (市场监管局 = mine, 生态环境局 = theirs); two drafts."""
    made: dict[str, Dataset] = {}
    for title, description, labels, owner, published in CORPUS:
        by = officer if owner == "mine" else other_officer
        ds = make_dataset(by=by, title=title, description=description, fields=fields(*labels))
        if published:
            ds.state = DatasetState.PUBLISHED
        made[title] = ds
    db.commit()
    return made


@pytest.fixture
def search(db: Session) -> Callable[..., SearchResult]:
    def run(q: str = "", actor: Actor | None = SYSTEM, **kw: Any) -> SearchResult:
        return search_datasets(db, actor, SearchQuery(q=q, **kw))

    return run


@pytest.fixture
def consumer(make_person: Callable[..., Person], other_agency: Agency) -> Person:
    return make_person(Role.AGENCY_CONSUMER, agency=other_agency)
