"""A synthetic enterprise registry (企业登记信息) as a UTF-8 CSV, for benchmarks, tests and demos.

Every value is made with numpy and pyarrow a block of 100,000 rows at a time, so a million
rows take seconds and five million never sit in memory together. Block ``b`` draws from its
own generator seeded with ``(seed, b)``: the same seed and invalid rate give the same file,
byte for byte, and a shorter file is the start of a longer one.

The columns carry the labels of the catalog fields (:data:`COLUMNS`) as the CSV header. The
values are valid: credit codes with their GB 32100 and GB 11714 check characters, unique by
construction; citizen IDs with their GB 11643 check character and a real birth date;
mainland mobile numbers; GB/T 2260 county codes of 临沂市. A share of rows (``invalid_rate``,
0.1% by default) gets exactly one realistic error of one of :data:`INVALID_KINDS`, so that a
validator has work to do and its rejected-row count can be checked.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

if TYPE_CHECKING:
    from gongshu.ingest.spec import FieldSpec

__all__ = [
    "BLOCK_ROWS",
    "COLUMNS",
    "CREDIT_CODE_PATTERN",
    "ENTERPRISE_TYPES",
    "INVALID_KINDS",
    "SEED",
    "STATUSES",
    "Block",
    "Column",
    "RegistryFile",
    "field_specs",
    "generate_block",
    "iter_blocks",
    "org_code_bodies",
    "write_registry",
]

SEED = 20260101
BLOCK_ROWS = 100_000
CREDIT_CODE_PATTERN = r"^[0-9A-HJ-NP-RTUW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{10}$"


@dataclass(frozen=True)
class Column:
    """One registry column as a catalog field (names and values as ``FieldSpec`` takes them)."""

    name: str
    label: str
    data_type: str = "string"
    length: int | None = None
    required: bool = False
    is_key: bool = False
    filterable: bool = False
    sensitivity: str = "none"
    identifier: str | None = None
    choices: tuple[str, ...] = ()
    minimum: str | None = None
    maximum: str | None = None
    pattern: str | None = None


ENTERPRISE_TYPES = (
    "有限责任公司",
    "股份有限公司",
    "个人独资企业",
    "合伙企业",
    "个体工商户",
    "农民专业合作社",
    "外商投资企业",
)
_TYPE_WEIGHTS = (0.45, 0.03, 0.06, 0.04, 0.35, 0.05, 0.02)
# GB 32100 entity-type character under the market regulator ("9"): 1 enterprise,
# 2 individual business, 3 farmers' cooperative.
_TYPE_CODE = ("1", "1", "1", "1", "2", "3", "1")
_TYPE_SUFFIX = (
    "有限公司",
    "股份有限公司",
    "经营部",
    "企业（有限合伙）",
    "店",
    "专业合作社",
    "有限公司",
)

STATUSES = ("存续", "在业", "吊销", "注销", "迁出")
_STATUS_WEIGHTS = (0.6, 0.25, 0.05, 0.08, 0.02)

COLUMNS: tuple[Column, ...] = (
    Column(
        "credit_code",
        "统一社会信用代码",
        length=18,
        required=True,
        is_key=True,
        sensitivity="credit_code",
        identifier="credit_code",
        pattern=CREDIT_CODE_PATTERN,
    ),
    Column("name", "企业名称", length=200, required=True),
    Column(
        "enterprise_type",
        "企业类型",
        length=20,
        required=True,
        filterable=True,
        choices=ENTERPRISE_TYPES,
    ),
    Column("legal_rep", "法定代表人", length=50, sensitivity="name"),
    Column(
        "legal_rep_id",
        "法定代表人身份证号",
        length=18,
        sensitivity="id_number",
        identifier="citizen_id",
    ),
    Column("phone", "联系电话", length=20, sensitivity="mobile", identifier="mobile"),
    Column("registered_capital", "注册资本（万元）", data_type="decimal", minimum="0"),
    Column(
        "established_on",
        "成立日期",
        data_type="date",
        filterable=True,
        minimum="1949-10-01",
    ),
    Column("status", "登记状态", length=10, required=True, filterable=True, choices=STATUSES),
    Column("region_code", "行政区划代码", length=6, filterable=True, identifier="region_code"),
    Column("address", "住所", length=200, sensitivity="address"),
    Column("updated_at", "更新时间", data_type="datetime"),
)

#: The kinds of injected error, one per invalid row, in the order they are drawn from.
INVALID_KINDS = ("credit_code_check", "citizen_id_check", "impossible_date", "phone_12_digits")
_IMPOSSIBLE_DATES = ("2021-02-30", "2019-02-29", "2023-04-31", "2020-13-01", "2018-06-31")

# --- vocabulary ----------------------------------------------------------------------------

_DISTRICTS = (
    ("371302", "兰山区"),
    ("371311", "罗庄区"),
    ("371312", "河东区"),
    ("371321", "沂南县"),
    ("371322", "郯城县"),
    ("371323", "沂水县"),
    ("371324", "兰陵县"),
    ("371325", "费县"),
    ("371326", "平邑县"),
    ("371327", "莒南县"),
    ("371328", "蒙阴县"),
    ("371329", "临沭县"),
)
_DISTRICT_WEIGHTS = (0.22, 0.1, 0.1, 0.07, 0.06, 0.08, 0.07, 0.06, 0.06, 0.07, 0.04, 0.07)
# Legal representatives mostly registered locally, some from elsewhere (ID area codes).
_ID_AREAS = (
    *(code for code, _ in _DISTRICTS),
    *["370102", "370202", "370302", "370705", "320106", "410102", "110105", "130102"],
)
_TRADE_CHARS = (
    "恒泰华润鑫源宏达永盛昌隆金丰瑞祥嘉和兴旺福康安泰信诚德顺聚鼎运通天宇众合凯利新锐博远"
    "沂蒙鲁南琅琊银雀山河海东方阳光绿源春晖明远光大中正广厚益民佳美同心创新"
)
_INDUSTRIES = tuple(
    [
        "商贸",
        "物流",
        "建材",
        "食品",
        "机械",
        "科技",
        "木业",
        "农业",
        "电子",
        "服装",
        "餐饮",
        "医药",
        "印务",
        "五金",
        "家居",
        "文化传媒",
        "建筑工程",
        "汽车服务",
        "电子商务",
        "供应链管理",
    ]
)
_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁"
)
_GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华建国红玉凤玲志强海燕文斌宁波辉鹏飞雪梅"
)
_ROADS = tuple(
    [
        "沂蒙路",
        "通达路",
        "解放路",
        "金雀山路",
        "银雀山路",
        "北京路",
        "上海路",
        "临西五路",
        "水田路",
        "南京东路",
        "沂河路",
        "涑河街",
        "滨河大道",
        "蒙山大道",
        "人民大街",
        "工业大道",
        "商城路",
        "新华路",
        "红旗路",
        "府前街",
    ]
)
_MOBILE_PREFIXES = (
    *range(130, 140),
    *range(150, 154),
    *range(155, 160),
    166,
    170,
    *range(176, 179),
    *range(180, 190),
    191,
    193,
    *range(195, 200),
)

# --- identifier tables ---------------------------------------------------------------------

_CC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CC_BYTES = np.frombuffer(_CC_ALPHABET.encode(), dtype=np.uint8)
_CC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
# Value of each credit-code character in GB 11714 (digits 0–9, letters A=10 … Z=35).
_ORG_VALUE = np.array([int(c, 36) for c in _CC_ALPHABET], dtype=np.int64)
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
_ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
# Index scrambling for the organisation-code body: 31**6 codes, a multiplier prime to 31 and
# one offset per seed (never per block: blocks would then collide), so every row index gets
# its own body and neighbouring rows do not look alike.
_BODY_SPACE = 31**6
_BODY_MULTIPLIER = 387_420_489
_EPOCH = np.datetime64("1970-01-01")


@dataclass(frozen=True)
class Block:
    """One generated block: the rows as a string table and what was injected where."""

    table: pa.Table
    invalid_kind: np.ndarray  # per row: -1 when valid, else an index into INVALID_KINDS

    @property
    def invalid_rows(self) -> int:
        return int((self.invalid_kind >= 0).sum())


@dataclass(frozen=True)
class RegistryFile:
    """What :func:`write_registry` wrote."""

    path: Path
    rows: int
    invalid_rows: int
    bytes: int
    seconds: float


def _pick(rng: np.random.Generator, n: int, values: tuple[str, ...] | str, p: Any = None) -> Any:
    """``n`` values drawn from ``values`` (optionally weighted), as a pyarrow string array."""
    vocab = pa.array(list(values), pa.string())
    return vocab.take(pa.array(rng.choice(len(vocab), size=n, p=p)))


def _join(*parts: Any) -> Any:
    return pc.binary_join_element_wise(*parts, "")


def _chars(matrix: np.ndarray) -> Any:
    """An (n, k) matrix of ASCII codes as a pyarrow array of k-character strings."""
    width = matrix.shape[1]
    raw = np.ascontiguousarray(matrix, dtype=np.uint8).view(f"S{width}").ravel()
    return pa.array(raw).cast(pa.string())


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers as an (n, width) matrix of their decimal digits."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers) % 10


def org_code_bodies(index: np.ndarray, seed: int = SEED) -> np.ndarray:
    """The scrambled numbers behind row ``index``'s organisation-code body (one per index)."""
    offset = seed * 7_919 % _BODY_SPACE
    return (index * _BODY_MULTIPLIER + offset) % _BODY_SPACE


def _credit_codes(
    index: np.ndarray, type_idx: np.ndarray, region: np.ndarray, seed: int
) -> np.ndarray:
    """(n, 18) credit-code characters as alphabet indices: 9, type, region, org code, check."""
    n = len(index)
    codes = np.zeros((n, 18), dtype=np.int64)
    codes[:, 0] = 9
    codes[:, 1] = np.array([int(c) for c in _TYPE_CODE])[type_idx]
    codes[:, 2:8] = _digits(region, 6)
    # Organisation code body "MA" + six scrambled base-31 characters, then its GB 11714 check.
    codes[:, 8] = _CC_ALPHABET.index("M")
    codes[:, 9] = _CC_ALPHABET.index("A")
    body = org_code_bodies(index, seed)
    for pos in range(15, 9, -1):
        codes[:, pos] = body % 31
        body //= 31
    org_sum = (_ORG_VALUE[codes[:, 8:16]] * _ORG_WEIGHTS).sum(axis=1)
    org_check = 11 - org_sum % 11  # 10 → X, 11 → 0
    codes[:, 16] = np.where(
        org_check == 10, _CC_ALPHABET.index("X"), np.where(org_check == 11, 0, org_check)
    )
    total = (codes[:, :17] * _CC_WEIGHTS).sum(axis=1)
    codes[:, 17] = (31 - total % 31) % 31
    return codes


def _citizen_ids(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, 17) digits of valid citizen-ID bodies (born 1950–2003) and their check index."""
    local = len(_DISTRICTS)
    weights = np.array(
        [0.85 / local] * local + [0.15 / (len(_ID_AREAS) - local)] * (len(_ID_AREAS) - local)
    )
    areas = np.array([int(a) for a in _ID_AREAS], dtype=np.int64)
    area = areas[rng.choice(len(areas), size=n, p=weights / weights.sum())]
    born = _EPOCH + rng.integers(_days("1950-01-01"), _days("2003-12-31"), size=n)
    years = born.astype("datetime64[Y]")
    months = born.astype("datetime64[M]")
    ymd = (
        (years.astype(np.int64) + 1970) * 10_000
        + ((months - years).astype(np.int64) + 1) * 100
        + (born - months).astype(np.int64)
        + 1
    )
    digits = np.empty((n, 17), dtype=np.int64)
    digits[:, :6] = _digits(area, 6)
    digits[:, 6:14] = _digits(ymd, 8)
    digits[:, 14:17] = _digits(rng.integers(0, 1000, size=n), 3)
    return digits, (digits * _ID_WEIGHTS).sum(axis=1) % 11


def _days(iso: str) -> int:
    return int((np.datetime64(iso) - _EPOCH).astype(np.int64))


def _decimal(cents: np.ndarray) -> Any:
    """Integer hundredths as decimal text with two places ("1234.50")."""
    whole = pa.array(cents // 100).cast(pa.string())
    fraction = pc.utf8_lpad(pa.array(cents % 100).cast(pa.string()), 2, "0")
    return pc.binary_join_element_wise(whole, fraction, ".")


def generate_block(
    block: int, rows: int = BLOCK_ROWS, *, seed: int = SEED, invalid_rate: float = 0.001
) -> Block:
    """The first ``rows`` (at most ``BLOCK_ROWS``) of the rows ``block * BLOCK_ROWS`` onwards.

    The whole block is always drawn, so that a file's rows do not depend on its length.
    """
    if not 0 < rows <= BLOCK_ROWS:
        raise ValueError(f"a block has 1 to {BLOCK_ROWS} rows")
    n = BLOCK_ROWS
    rng = np.random.default_rng([seed, block])
    index = block * BLOCK_ROWS + np.arange(n, dtype=np.int64)

    type_idx = rng.choice(len(ENTERPRISE_TYPES), size=n, p=_TYPE_WEIGHTS)
    district_idx = rng.choice(len(_DISTRICTS), size=n, p=_DISTRICT_WEIGHTS)
    region = np.array([int(code) for code, _ in _DISTRICTS], dtype=np.int64)[district_idx]
    credit = _credit_codes(index, type_idx, region, seed)
    id_digits, id_check = _citizen_ids(rng, n)
    phone = np.array(_MOBILE_PREFIXES, dtype=np.int64)[
        rng.integers(0, len(_MOBILE_PREFIXES), size=n)
    ] * 100_000_000 + rng.integers(0, 100_000_000, size=n)
    cents = np.clip(np.round(rng.lognormal(4.0, 1.6, size=n) * 100), 100, 10**11).astype(np.int64)
    established = rng.integers(_days("1990-01-01"), _days("2025-06-30"), size=n)
    updated = rng.integers(_days("2025-07-01") * 86_400, _days("2026-01-01") * 86_400, size=n)

    # One error in each invalid row; every draw is made whatever the mask says, so the
    # valid rows do not change with the rate.
    invalid = rng.random(n) < invalid_rate
    kind = np.where(invalid, rng.integers(0, len(INVALID_KINDS), size=n), -1)
    shift = rng.integers(1, 11, size=n)  # 1–10 keeps a replaced check character wrong
    bad_dates = _pick(rng, n, _IMPOSSIBLE_DATES)
    extra_digit = rng.integers(0, 10, size=n)
    credit[:, 17] = np.where(kind == 0, (credit[:, 17] + shift) % 31, credit[:, 17])
    id_check = np.where(kind == 1, (id_check + shift) % 11, id_check)
    phone = np.where(kind == 3, phone * 10 + extra_digit, phone)

    id_chars = np.empty((n, 18), dtype=np.uint8)
    id_chars[:, :17] = id_digits + 48
    id_chars[:, 17] = _ID_CHECK[id_check]
    district_names = pa.array([name for _, name in _DISTRICTS]).take(pa.array(district_idx))
    given = _pick(rng, n, _GIVEN)
    second = pc.if_else(pa.array(rng.random(n) < 0.7), _pick(rng, n, _GIVEN), "")
    company = pa.array(np.isin(type_idx, (0, 1, 6)))
    established_text = pa.array(established.astype("datetime64[D]")).cast(pa.string())
    columns = {
        "credit_code": _chars(_CC_BYTES[credit]),
        "name": _join(
            pc.if_else(company, "临沂", district_names),
            _pick(rng, n, _TRADE_CHARS),
            _pick(rng, n, _TRADE_CHARS),
            _pick(rng, n, _INDUSTRIES),
            pa.array(_TYPE_SUFFIX).take(pa.array(type_idx)),
        ),
        "enterprise_type": pa.array(ENTERPRISE_TYPES).take(pa.array(type_idx)),
        "legal_rep": _join(_pick(rng, n, _SURNAMES), given, second),
        "legal_rep_id": _chars(id_chars),
        "phone": pa.array(phone).cast(pa.string()),
        "registered_capital": _decimal(cents),
        "established_on": pc.if_else(pa.array(kind == 2), bad_dates, established_text),
        "status": _pick(rng, n, STATUSES, _STATUS_WEIGHTS),
        "region_code": pa.array(region).cast(pa.string()),
        "address": _join(
            pa.array(["山东省临沂市"] * n),
            district_names,
            _pick(rng, n, _ROADS),
            pa.array(rng.integers(1, 999, size=n)).cast(pa.string()),
            pa.array(["号"] * n),
        ),
        "updated_at": pa.array(updated.astype("datetime64[s]")).cast(pa.string()),
    }
    table = pa.table([columns[c.name] for c in COLUMNS], names=[c.label for c in COLUMNS])
    return Block(table.slice(0, rows), kind[:rows])


def iter_blocks(rows: int, *, seed: int = SEED, invalid_rate: float = 0.001) -> Iterator[Block]:
    """The registry's ``rows`` rows, block after block."""
    for block, start in enumerate(range(0, rows, BLOCK_ROWS)):
        yield generate_block(
            block, min(BLOCK_ROWS, rows - start), seed=seed, invalid_rate=invalid_rate
        )


def write_registry(
    path: Path, rows: int, *, seed: int = SEED, invalid_rate: float = 0.001
) -> RegistryFile:
    """Write ``rows`` registry rows to ``path`` as UTF-8 CSV with a header of field labels.

    Header and values are written unquoted, as spreadsheet and database exports usually
    are (none contains a comma, quote or line break).
    """
    started = time.perf_counter()
    schema = pa.schema([(c.label, pa.string()) for c in COLUMNS])
    invalid = 0
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    with path.open("wb") as out:
        out.write((",".join(c.label for c in COLUMNS) + "\n").encode())
        with pacsv.CSVWriter(out, schema, write_options=options) as writer:
            for block in iter_blocks(rows, seed=seed, invalid_rate=invalid_rate):
                writer.write_table(block.table)
                invalid += block.invalid_rows
    return RegistryFile(path, rows, invalid, path.stat().st_size, time.perf_counter() - started)


def field_specs() -> list[FieldSpec]:
    """The columns as the ingestion's field specs (imports Gongshu only when called)."""
    from gongshu.catalog.models import FieldType, Sensitivity
    from gongshu.ingest.spec import FieldSpec, IdentifierKind

    return [
        FieldSpec(
            name=c.name,
            label=c.label,
            data_type=FieldType(c.data_type),
            length=c.length,
            required=c.required,
            is_key=c.is_key,
            filterable=c.filterable,
            sensitivity=Sensitivity(c.sensitivity),
            identifier=IdentifierKind(c.identifier) if c.identifier else None,
            choices=c.choices,
            minimum=c.minimum,
            maximum=c.maximum,
            pattern=c.pattern,
        )
        for c in COLUMNS
    ]
