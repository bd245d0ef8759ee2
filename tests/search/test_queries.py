"""Fixed queries over a fixed catalog: the same ordered results on SQLite and PostgreSQL.

The suite runs on both databases (GONGSHU_DATABASE_URL); the expected lists below are
literal, so a run on either database that orders differently fails.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gongshu.catalog.models import Dataset
from gongshu.search import SearchResult

AIR = "北京市空气质量监测数据"
BUS_LINES = "公交线路及站点信息"
BUS_CARDS = "公交刷卡客流统计"
FEI = "费县基层医疗卫生机构名录"
SHAN = "单县文化旅游景点信息"
CHANGQING = "长清区气象预警信息"
COMPANIES = "企业登记基本信息"
AIRCON = "公共建筑空调能耗监测数据"
PERMITS = "排污许可信息"
WATER = "地表水水质监测数据"
SOURCES = "空气污染源清单"  # a draft of the other agency
PENALTIES = "行政处罚信息"  # a draft of ours

MINE = [BUS_LINES, BUS_CARDS, FEI, SHAN, COMPANIES, AIRCON, PENALTIES]

QUERIES: list[tuple[str, list[str]]] = [
    # two-character words
    ("公交", [BUS_CARDS, BUS_LINES]),
    ("空气", [AIR, SOURCES]),
    ("监测", [AIR, WATER, AIRCON]),
    ("气象", [CHANGQING]),
    ("污染", [SOURCES, PERMITS]),
    ("信息", [COMPANIES, BUS_LINES, SHAN, CHANGQING, PERMITS, PENALTIES]),
    # longer words
    ("空气质量", [AIR]),
    ("市场监督", [COMPANIES, BUS_LINES, BUS_CARDS, FEI, SHAN, AIRCON, PENALTIES]),
    # several terms (all must match)
    ("监测 数据", [AIR, WATER, AIRCON]),
    ("空气 数据", [AIR]),
    ("公交 统计", [BUS_CARDS]),
    ("企业 空气", [SOURCES]),
    # pinyin, with and without spaces
    ("kongqi", [AIR, SOURCES]),
    ("kong qi", [AIR, SOURCES]),
    ("gongjiao", [BUS_LINES, BUS_CARDS]),
    ("gong jiao", [BUS_LINES, BUS_CARDS]),
    ("jiance", [AIR, AIRCON, WATER]),
    ("kongqi shuju", [AIR]),
    ("KongQi", [AIR, SOURCES]),
    # initials
    ("kqzl", [AIR]),
    ("gjxl", [BUS_LINES]),
    ("kq", [AIR, SOURCES]),
    # polyphonic place names (overrides seeded by the migration)
    ("shanxian", [SHAN]),
    ("shan xian", [SHAN]),
    ("bixian", [FEI]),
    ("changqing", [CHANGQING]),
    ("feixian", []),
    ("danxian", []),
    ("zhangqing", []),
    ("费县", [FEI]),
    ("长清", [CHANGQING]),
    # mixed Chinese and pinyin, ASCII words
    ("空气 jiance", [AIR]),
    ("gongjiao 统计", [BUS_CARDS]),
    ("监测数据 kongtiao", [AIRCON]),
    ("pm2", [AIR]),
    ("ＰＭ２", [AIR]),
    # no hits
    ("xyz", []),
    ("数据 公交", []),
]


@pytest.mark.parametrize(("q", "expected"), QUERIES, ids=[q for q, _ in QUERIES])
def test_fixed_queries(
    corpus: dict[str, Dataset], search: Callable[..., SearchResult], q: str, expected: list[str]
) -> None:
    result = search(q, per_page=100)
    assert [d.title for d in result.items] == expected
    assert result.total == len(expected)
    assert result.sort == "relevance"


def test_there_are_at_least_thirty_queries() -> None:
    assert len(QUERIES) >= 30


def test_sort_orders_are_total_and_stable(
    corpus: dict[str, Dataset], search: Callable[..., SearchResult]
) -> None:
    by_title = [d.title for d in search(sort="title", per_page=100).items]
    # pinyin order, with the place names read right: 费县 bi…, 长清 chang…, 单县 shan…
    assert by_title == [
        AIR,
        FEI,
        CHANGQING,
        WATER,
        AIRCON,
        BUS_CARDS,
        BUS_LINES,
        SOURCES,
        PERMITS,
        COMPANIES,
        SHAN,
        PENALTIES,
    ]
    codes = [d.code for d in search(per_page=100).items]
    assert codes == sorted(codes)
    updated = search(sort="updated", per_page=100).items
    keys = [(d.updated_at, d.code) for d in updated]
    assert keys == sorted(keys, key=lambda k: (-k[0].timestamp(), k[1]))


def test_pages_are_bounded_and_disjoint(
    corpus: dict[str, Dataset], search: Callable[..., SearchResult]
) -> None:
    first = search("信息", per_page=4)
    second = search("信息", per_page=4, page=2)
    assert (first.total, first.pages) == (6, 2)
    assert [d.title for d in first.items + second.items] == QUERIES[5][1]
    far = search("信息", per_page=1, page=10_000)
    assert far.items == [] and far.pages == 6
