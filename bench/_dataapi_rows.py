"""The data API benchmark's rows: a registry of market entities, made reproducibly.

``batches(rows)`` yields typed Arrow batches (the same rows for the same ``rows``, whatever
the batch size): a key, a district (one of twelve), an industry (one of twenty), a
registration date (2000–2025), an amount (2 decimals), a name and a head count. The same
batches feed Gongshu's ``VersionWriter`` and the SQLite file datasette serves, so both hold
the same rows, and ``INDEXES`` lists the single-column indexes both get (those the serving
index builds: the key, and each filterable field).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.catalog.models import FieldType
from gongshu.ingest.spec import FieldSpec

BATCH_ROWS = 131_072
DISTRICTS = (
    "兰山区",
    "罗庄区",
    "河东区",
    "沂南县",
    "郯城县",
    "沂水县",
    "兰陵县",
    "费县",
    "平邑县",
    "莒南县",
    "蒙阴县",
    "临沭县",
)
INDUSTRIES = (
    "农林牧渔业",
    "采矿业",
    "制造业",
    "电力热力燃气",
    "建筑业",
    "批发和零售业",
    "交通运输仓储",
    "住宿和餐饮业",
    "信息技术服务",
    "金融业",
    "房地产业",
    "租赁和商务服务",
    "科学研究",
    "水利环境",
    "居民服务",
    "教育",
    "卫生和社会工作",
    "文化体育娱乐",
    "公共管理",
    "国际组织",
)
NAME_WORDS = ("华", "鑫", "宏", "盛", "泰", "隆", "恒", "兴", "达", "源", "祥", "瑞")
FIRST_DAY = dt.date(2000, 1, 1)
DAYS = (dt.date(2025, 12, 31) - FIRST_DAY).days + 1
TABLE = "registrations"

SPECS: list[FieldSpec] = [
    FieldSpec("record_id", "登记编号", FieldType.STRING, length=12, is_key=True, required=True),
    FieldSpec("district", "区县", FieldType.STRING, length=20, filterable=True),
    FieldSpec("industry", "行业", FieldType.STRING, length=40, filterable=True),
    FieldSpec("reg_date", "登记日期", FieldType.DATE, filterable=True),
    FieldSpec("amount", "注册资本（万元）", FieldType.DECIMAL),
    FieldSpec("name", "名称", FieldType.STRING, length=100),
    FieldSpec("staff", "从业人数", FieldType.INTEGER),
]
# The serving index's B-trees (gongshu.store.serving.index_plan): the key, each filterable.
INDEXES = [["record_id"], ["district"], ["industry"], ["reg_date"]]
DECIMAL = pa.decimal128(38, 6)


def _batch(start: int, count: int) -> pa.RecordBatch:
    # One generator per block of BATCH_ROWS, so a row's values never depend on batch size.
    ids = np.arange(start, start + count, dtype=np.int64)
    rng = np.random.default_rng(20261207 + start)
    district = rng.integers(0, len(DISTRICTS), count)
    industry = rng.integers(0, len(INDUSTRIES), count)
    day = rng.integers(0, DAYS, count)
    cents = rng.integers(1_000, 100_000_000, count)
    staff = rng.integers(1, 5_000, count)
    w1 = rng.integers(0, len(NAME_WORDS), count)
    w2 = rng.integers(0, len(NAME_WORDS), count)
    record_id = pc.binary_join_element_wise(
        "R", pc.utf8_lpad(pa.array(ids.astype(str)), 9, "0"), ""
    )
    words = pa.array(NAME_WORDS)
    name = pc.binary_join_element_wise(
        pc.take(pa.array(DISTRICTS), pa.array(district)).cast(pa.string()),
        pc.take(words, pa.array(w1)),
        pc.take(words, pa.array(w2)),
        pc.take(pa.array(INDUSTRIES), pa.array(industry)),
        pa.array((ids % 997).astype(str)),
        "有限公司",
        "",
    )
    epoch_offset = (FIRST_DAY - dt.date(1970, 1, 1)).days
    # decimal128 is the unscaled 128-bit integer: cents × 10⁴ at scale 6, sign-extended.
    unscaled = np.empty(2 * count, dtype=np.int64)
    unscaled[0::2] = cents * 10_000
    unscaled[1::2] = (cents * 10_000) >> 63
    amount = pa.Array.from_buffers(DECIMAL, count, [None, pa.py_buffer(unscaled)])
    return pa.record_batch(
        [
            record_id,
            pc.take(pa.array(DISTRICTS), pa.array(district)),
            pc.take(pa.array(INDUSTRIES), pa.array(industry)),
            pa.array((day + epoch_offset).astype(np.int32)).cast(pa.date32()),
            amount,
            name,
            pa.array(staff, type=pa.int64()),
            pa.array(ids + 2, type=pa.int64()),
        ],
        names=[*(s.name for s in SPECS), "_row"],
    )


def batches(rows: int) -> Iterator[pa.RecordBatch]:
    """``rows`` rows in blocks of ``BATCH_ROWS`` (fields in ``SPECS`` order, then ``_row``)."""
    for start in range(0, rows, BATCH_ROWS):
        yield _batch(start, min(BATCH_ROWS, rows - start))


class DatasetteFile:
    """The SQLite file datasette serves: table ``registrations`` with the same rows (dates as
    ISO text, amounts as REAL, as one would load them for datasette) and the same indexes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "page_size=8192"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.conn.execute(
            f"CREATE TABLE {TABLE} (record_id TEXT, district TEXT, industry TEXT, "
            "reg_date TEXT, amount REAL, name TEXT, staff INTEGER)"
        )
        self.conn.execute("BEGIN")

    def add(self, batch: pa.RecordBatch) -> None:
        columns = [
            batch.column("record_id").to_pylist(),
            batch.column("district").to_pylist(),
            batch.column("industry").to_pylist(),
            batch.column("reg_date").cast(pa.string()).to_pylist(),
            batch.column("amount").cast(pa.float64()).to_pylist(),
            batch.column("name").to_pylist(),
            batch.column("staff").to_pylist(),
        ]
        self.conn.executemany(
            f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?)", zip(*columns, strict=True)
        )

    def finish(self) -> None:
        self.conn.execute("COMMIT")
        for i, cols in enumerate(INDEXES):
            self.conn.execute(f"CREATE INDEX ix_{i} ON {TABLE} ({', '.join(cols)})")
        # The same statistics as the serving index (gongshu.store.serving): exact.
        self.conn.execute("PRAGMA analysis_limit=0")
        self.conn.execute("ANALYZE")
        self.conn.execute("PRAGMA journal_mode=DELETE")
        self.conn.close()
