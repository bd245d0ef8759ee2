"""The catalog's classification (信息资源分类) and resource codes (信息资源代码).

A resource code is::

    class (1 digit) + item (2) + sub-item (3) + detail (0–16 of [0-9A-Z]) + "/" + sequence

The class digit is 1 基础 (base), 2 主题 (theme) or 3 部门 (department); the sequence is
zero-padded to ``settings.catalog_sequence_width`` and is the next free number for the
code's prefix. Every code matches ``CODE_PATTERN``.

The items of each class are configurable: the defaults below (domain README §1) are
replaced, class by class, by a JSON file ``<data_dir>/classification.json`` of the form
``{"base": [["01", "人口"], …], "theme": […], "department": […]}`` when it exists.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from gongshu.catalog.models import CategoryClass
from gongshu.i18n import N_, translate
from gongshu.settings import get_settings

CODE_PATTERN = re.compile(r"^[1-3]\d{5}[0-9A-Z]*/\d+$")

CLASS_DIGITS: dict[CategoryClass, str] = {
    CategoryClass.BASE: "1",
    CategoryClass.THEME: "2",
    CategoryClass.DEPARTMENT: "3",
}

_BASE = (
    N_("人口"),
    N_("法人单位"),
    N_("自然资源和空间地理"),
    N_("社会信用"),
    N_("电子证照"),
    N_("宏观经济"),
)
_THEMES = (
    N_("公共服务"),
    N_("健康保障"),
    N_("社会保障"),
    N_("食品药品安全"),
    N_("安全生产"),
    N_("价格监管"),
    N_("能源安全"),
    N_("信用体系"),
    N_("城乡建设"),
    N_("社区治理"),
    N_("生态环保"),
    N_("应急维稳"),
    N_("市场监管"),
    N_("卫生健康"),
    N_("自然资源"),
    N_("生态环境"),
    N_("就业"),
    N_("教育"),
    N_("交通"),
    N_("气象"),
)
_DEPARTMENTS = (
    N_("综合政务"),
    N_("发展改革"),
    N_("教育科技"),
    N_("公安司法"),
    N_("民政"),
    N_("财政税务"),
    N_("人力资源和社会保障"),
    N_("自然资源和规划"),
    N_("生态环境"),
    N_("住房城乡建设"),
    N_("交通运输"),
    N_("水利"),
    N_("农业农村"),
    N_("商务"),
    N_("文化旅游"),
    N_("卫生健康"),
    N_("应急管理"),
    N_("市场监管"),
    N_("统计"),
    N_("医疗保障"),
    N_("城市管理"),
    N_("公共事业"),
    N_("其他"),
)


def _numbered(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((f"{i:02d}", name) for i, name in enumerate(names, start=1))


DEFAULT_ITEMS: dict[CategoryClass, tuple[tuple[str, str], ...]] = {
    CategoryClass.BASE: _numbered(_BASE),
    CategoryClass.THEME: _numbered(_THEMES),
    CategoryClass.DEPARTMENT: _numbered(_DEPARTMENTS),
}


@dataclass(frozen=True)
class Taxonomy:
    """The items (项) of each class: ``{class: ((code, Chinese name), …)}``."""

    items: dict[CategoryClass, tuple[tuple[str, str], ...]]

    def item_name(self, category_class: CategoryClass, item_code: str) -> str | None:
        """The Chinese name of an item, or None when the class has no such item."""
        for code, name in self.items.get(category_class, ()):
            if code == item_code:
                return name
        return None

    def choices(self, category_class: CategoryClass) -> list[tuple[str, str]]:
        """``(code, "code name")`` pairs of a class's items, names in the current language."""
        return [
            (code, f"{code} {translate(name)}") for code, name in self.items.get(category_class, ())
        ]


def _load_items(path: Path) -> dict[CategoryClass, tuple[tuple[str, str], ...]]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    items = dict(DEFAULT_ITEMS)
    for key, rows in raw.items():
        cls = CategoryClass(key)
        parsed = tuple((str(code), str(name)) for code, name in rows)
        for code, _name in parsed:
            if not re.fullmatch(r"\d{2}", code):
                raise ValueError(f"{path}: item code {code!r} of {key} is not two digits")
        items[cls] = parsed
    return items


@lru_cache(maxsize=8)
def _taxonomy_for(path: Path | None, mtime: float) -> Taxonomy:
    if path is None:
        return Taxonomy(dict(DEFAULT_ITEMS))
    return Taxonomy(_load_items(path))


def get_taxonomy() -> Taxonomy:
    """The configured taxonomy (the defaults, or ``<data_dir>/classification.json``)."""
    path = get_settings().data_dir / "classification.json"
    if path.is_file():
        return _taxonomy_for(path, path.stat().st_mtime)
    return _taxonomy_for(None, 0.0)


def code_prefix(
    category_class: CategoryClass, item_code: str, subitem_code: str, detail_code: str
) -> str:
    """The classification part of a resource code (everything before the "/")."""
    return f"{CLASS_DIGITS[category_class]}{item_code}{subitem_code}{detail_code}"


def make_code(prefix: str, sequence: int, width: int | None = None) -> str:
    """A full resource code: ``prefix + "/" + zero-padded sequence``."""
    width = width if width is not None else get_settings().catalog_sequence_width
    return f"{prefix}/{sequence:0{width}d}"


def is_valid_code(code: str) -> bool:
    """Whether a string has the shape of a resource code."""
    return bool(CODE_PATTERN.fullmatch(code))
