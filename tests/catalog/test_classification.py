"""Resource codes, the taxonomy and the grading table."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from gongshu.catalog import classification, grading, service
from gongshu.catalog.classification import CODE_PATTERN, get_taxonomy, make_code
from gongshu.catalog.models import CategoryClass, Dataset, Level, OpenType, ShareType
from gongshu.errors import Conflict
from gongshu.settings import get_settings
from tests.factories import Person, dataset_input


def test_codes_follow_the_pattern_and_count_per_prefix(
    db: Session, make_dataset: Callable[..., Dataset]
) -> None:
    a = make_dataset()
    b = make_dataset(title="企业年报信息")
    c = make_dataset(category_class="theme", item_code="13", subitem_code="002", detail_code="A1")
    d = make_dataset(category_class="department", item_code="05")
    assert [a.code, b.code, c.code, d.code] == [
        "102001/0001",
        "102001/0002",
        "213002A1/0001",
        "305001/0001",
    ]
    assert all(CODE_PATTERN.fullmatch(x.code) for x in (a, b, c, d))
    assert (b.sequence, c.sequence) == (2, 1)


def test_sequence_width_is_a_setting() -> None:
    assert make_code("102001", 7, width=6) == "102001/000007"
    assert make_code("102001", 12345, width=4) == "102001/12345"
    assert make_code("102001", 3) == f"102001/{3:0{get_settings().catalog_sequence_width}d}"


def test_a_code_taken_meanwhile_is_retried(
    db: Session,
    make_dataset: Callable[..., Dataset],
    officer: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_dataset()
    real = service._next_sequence
    calls: list[int] = []

    def stale_first(session: Session, dataset: Dataset) -> int:
        calls.append(1)
        # The first read misses the entry another writer just committed.
        return 1 if len(calls) == 1 else real(session, dataset)

    monkeypatch.setattr(service, "_next_sequence", stale_first)
    ds = service.create_dataset(db, officer.actor, dataset_input(title="另一个条目"))
    assert ds.code == "102001/0002"
    assert len(calls) == 2


def test_a_code_that_stays_taken_is_a_conflict(
    db: Session,
    make_dataset: Callable[..., Dataset],
    officer: Person,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_dataset()
    monkeypatch.setattr(service, "_next_sequence", lambda session, dataset: 1)
    with pytest.raises(Conflict) as info:
        service.create_dataset(db, officer.actor, dataset_input(title="另一个条目"))
    assert info.value.status_code == 409


def test_default_taxonomy() -> None:
    taxonomy = get_taxonomy()
    base = [name for _code, name in taxonomy.items[CategoryClass.BASE]]
    assert base == ["人口", "法人单位", "自然资源和空间地理", "社会信用", "电子证照", "宏观经济"]
    themes = dict(taxonomy.items[CategoryClass.THEME])
    assert len(themes) == 20 and themes["01"] == "公共服务" and themes["20"] == "气象"
    assert len(taxonomy.items[CategoryClass.DEPARTMENT]) >= 10
    assert taxonomy.item_name(CategoryClass.BASE, "02") == "法人单位"
    assert taxonomy.item_name(CategoryClass.BASE, "99") is None


def test_taxonomy_file_replaces_a_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "classification.json").write_text(
        json.dumps({"base": [["01", "人口"], ["07", "地名地址"]]}, ensure_ascii=False),
        encoding="utf-8",
    )
    monkeypatch.setattr(get_settings(), "data_dir", tmp_path)
    taxonomy = classification.get_taxonomy()
    assert taxonomy.item_name(CategoryClass.BASE, "07") == "地名地址"
    assert taxonomy.item_name(CategoryClass.BASE, "02") is None
    assert taxonomy.item_name(CategoryClass.THEME, "01") == "公共服务"


def test_default_grading_table() -> None:
    table = grading.DEFAULT_TABLE
    for level in (Level.CORE, Level.IMPORTANT):
        assert table[level].open == {OpenType.NONE}
        assert ShareType.UNCONDITIONAL not in table[level].share
    assert table[Level.GENERAL_4].share == {ShareType.CONDITIONAL, ShareType.NONE}
    assert table[Level.GENERAL_4].open == {OpenType.NONE}
    for level in (Level.GENERAL_3, Level.GENERAL_2):
        assert table[level].open == {OpenType.CONDITIONAL, OpenType.NONE}
    assert table[Level.GENERAL_1].share == set(ShareType)
    assert table[Level.GENERAL_1].open == set(OpenType)


def test_grading_violations_are_chinese_messages() -> None:
    out = grading.violations(Level.CORE, ShareType.UNCONDITIONAL, OpenType.UNCONDITIONAL)
    assert out["share_type"] == [
        "数据分级为“核心数据”时，不能列为“无条件”共享；允许的共享属性：有条件、不予"
    ]
    assert out["open_type"] == [
        "数据分级为“核心数据”时，不能列为“无条件”开放；允许的开放属性：不予"
    ]
    assert grading.violations(Level.GENERAL_1, ShareType.NONE, OpenType.NONE) == {}


def test_grading_table_file_overrides_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db: Session, officer: Person
) -> None:
    path = tmp_path / "grading.json"
    path.write_text(
        json.dumps({"general_2": {"share": ["unconditional", "conditional"]}}), encoding="utf-8"
    )
    monkeypatch.setattr(get_settings(), "grading_table_file", path)
    table = grading.get_table()
    assert table[Level.GENERAL_2].share == {ShareType.UNCONDITIONAL, ShareType.CONDITIONAL}
    assert table[Level.GENERAL_2].open == grading.DEFAULT_TABLE[Level.GENERAL_2].open
    assert table[Level.CORE] == grading.DEFAULT_TABLE[Level.CORE]
    ds = service.create_dataset(
        db,
        officer.actor,
        dataset_input(level="general_2", open_type="conditional", open_conditions="实名申请"),
    )
    assert ds.level is Level.GENERAL_2


def test_a_wrong_grading_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "grading.json"
    path.write_text(json.dumps({"general_9": {}}), encoding="utf-8")
    with pytest.raises(ValueError):
        grading.load_table(path)
    path.write_text(json.dumps({"general_1": {"share": []}}), encoding="utf-8")
    with pytest.raises(ValueError):
        grading.load_table(path)
