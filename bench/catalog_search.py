"""Catalog search at 100,000 entries, on SQLite and on PostgreSQL, through ``search_datasets``.

Builds a scratch SQLite file and a scratch PostgreSQL database (``gongshu_bench`` on
127.0.0.1:5432, created and dropped here; override with GONGSHU_BENCH_PG), fills both with
the same 100,000 entries made from the demo city's vocabulary (its titles, descriptions and
field labels, put in the city and its twelve districts, some with a year), indexes them with
the real tokeniser (in bulk: one transaction of executemany inserts on SQLite, COPY on
PostgreSQL, token rows gathered per token so they arrive in key order, the secondary indexes
built after the load; tag rows too, a few tags per entry), then times 22 queries — Chinese,
pinyin, initials, faceted, tagged; five match at least 10% of the entries — each with all
facet counts (the 20 most common tags too), as the API asks for them.

Run by hand: ``make bench`` or ``.venv/bin/python bench/catalog_search.py [N]``. The last line
is one JSON object (``sqlite_p50_ms`` … ``postgres_p95_ms`` and more).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from gongshu import migrate
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.catalog.models import Dataset, DatasetState, Field
from gongshu.db import make_engine
from gongshu.demo.data import AGENCIES, CITY, DISTRICTS, ENTRIES
from gongshu.orgs.models import Agency, Region
from gongshu.search import SearchQuery, search_datasets
from gongshu.search.indexer import load_overrides, tag_values
from gongshu.search.models import FACET_COLUMNS, SearchDoc, SearchFacet
from gongshu.search.tokens import Overrides, document_tokens, title_sort_key
from gongshu.settings import Settings

N = int(sys.argv[1]) if __name__ == "__main__" and len(sys.argv) > 1 else 100_000
REPEAT = 10
PG_URL = os.environ.get(
    "GONGSHU_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/gongshu_bench"
)
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
STATES = [DatasetState.PUBLISHED] * 8 + [DatasetState.DRAFT, DatasetState.SUBMITTED]
#: Tags drawn for the entries (0–3 each, the first ones far more often), so the tag facet
#: and the tag filter have work: a few tags are on a large share of the entries.
TAGS = (
    "民生",
    "政务公开",
    "实时数据",
    "统计",
    "营商环境",
    "交通出行",
    "生态环境",
    "医疗健康",
    "教育",
    "文化旅游",
    "农业农村",
    "应急管理",
    "城市建设",
    "社会保障",
    "市场监管",
    "公共安全",
    "科技创新",
    "就业",
    "养老",
    "气象",
    "水务",
    "能源",
    "住房",
    "人口",
)


def log(message: str) -> None:
    print(message, flush=True)


# --- the data -----------------------------------------------------------------------------


def regions() -> list[dict[str, Any]]:
    rows = [{"id": 1, "code": CITY.code, "name": CITY.name, "level": "city", "parent_id": None}]
    for i, d in enumerate(DISTRICTS, start=2):
        rows.append({"id": i, "code": d.code, "name": d.name, "level": "district", "parent_id": 1})
    for r in rows:
        r["created_at"] = NOW
    return rows


def agencies() -> tuple[list[dict[str, Any]], dict[str, list[tuple[int, int]]]]:
    """The demo city's agencies, plus a district copy of each city bureau in every district."""
    region_id = {r["code"]: r["id"] for r in regions()}
    rows: list[dict[str, Any]] = []
    by_key: dict[str, list[tuple[int, int]]] = {}

    def add(key: str, name: str, code: str, kind: str) -> None:
        aid = len(rows) + 1
        rows.append(
            {
                "id": aid,
                "name": name,
                "short_name": "",
                "credit_code": f"11{aid:016d}",
                "region_id": region_id[code],
                "kind": kind,
                "domain": "",
                "description": "",
                "address": "",
                "phone": "",
                "is_active": True,
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
        by_key.setdefault(key, []).append((aid, region_id[code]))

    for spec in AGENCIES:
        add(spec.key, spec.name, spec.region_code, spec.kind.value)
    for spec in AGENCIES:
        if spec.region_code == CITY.code and spec.name.startswith(CITY.name):
            for d in DISTRICTS:
                name = d.name + spec.name[len(CITY.name) :]
                if name not in {r["name"] for r in rows}:
                    add(spec.key, name, d.code, spec.kind.value)
    return rows, by_key


def entries(
    by_key: dict[str, list[tuple[int, int]]],
    names: dict[int, str],
    overrides: Overrides,
    public: bool = False,
) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]], dict[str, int]]]:
    """(dataset row, field rows, token → weight) for N entries, the same on every run.

    ``public``: every entry published and open (general_1 unconditional or conditional,
    general_2 conditional), as the open-data portal's search sees them."""
    rng = random.Random(20260101)
    # Tags from a generator of their own: the other values stay what earlier runs had.
    tag_rng = random.Random(20260102)
    tag_weights = [1 / (k + 1) for k in range(len(TAGS))]
    district_names = {i: d.name for i, d in enumerate(DISTRICTS, start=2)}
    field_id = 0
    for i in range(1, N + 1):
        spec = ENTRIES[rng.randrange(len(ENTRIES))]
        agency_id, region_id = rng.choice(by_key[spec.agency])
        title = spec.title
        if region_id in district_names and rng.random() < 0.7:
            title = district_names[region_id] + title
        if rng.random() < 0.3:
            title += f"（{rng.randint(2019, 2025)}年）"
        code = f"{1 + i % 3}{i % 100:02d}001/{i:06d}"
        state = DatasetState.PUBLISHED if public else STATES[i % len(STATES)]
        updated = NOW - dt.timedelta(minutes=i * 7 % 500_000)
        row = {
            "id": i,
            "code": code,
            "title": title,
            "description": spec.description,
            "agency_id": agency_id,
            "region_id": region_id,
            "category_class": spec.category_class.value,
            "item_code": "01",
            "subitem_code": "001",
            "detail_code": "",
            "sequence": i,
            "domain": spec.domain,
            "format": spec.format.value,
            "share_type": spec.share.value,
            "share_conditions": "",
            "share_method": "",
            "open_type": spec.open.value
            if not public
            else ("unconditional" if i % 2 else "conditional"),
            "open_conditions": "",
            "level": spec.level.value
            if not public
            else ("general_2" if i % 4 == 0 else "general_1"),
            "update_cycle": spec.update_cycle.value,
            "legal_basis": spec.legal_basis,
            "source_system": "",
            "published_on": None,
            "related_codes": [],
            "tags": list(
                dict.fromkeys(tag_rng.choices(TAGS, tag_weights, k=tag_rng.randint(0, 3)))
            ),
            "state": state.value,
            "created_by_id": None,
            "created_at": updated,
            "updated_at": updated,
            "lock_version": 1,
        }
        fields = []
        for pos, f in enumerate(spec.fields):
            field_id += 1
            fields.append(
                {
                    "id": field_id,
                    "dataset_id": i,
                    "position": pos,
                    "name": f.name,
                    "label": f.label,
                    "data_type": f.data_type.value,
                    "length": f.length,
                    "is_key": f.is_key,
                    "required": f.required,
                    "filterable": f.filterable,
                    "sensitivity": f.sensitivity.value,
                    "description": f.description,
                }
            )
        weights = document_tokens(
            title=title,
            description=spec.description,
            labels=[f.label for f in spec.fields],
            agency_name=names[agency_id],
            code=code,
            overrides=overrides,
        )
        doc = {
            "dataset_id": i,
            "code": code,
            "title_sort": title_sort_key(title, overrides),
            "updated_at": updated,
        }
        row["_doc"] = doc
        yield row, fields, weights


# --- loading ------------------------------------------------------------------------------


TagRows = list[tuple[str, int, int]]  # (tag, dataset_id, facet_id)


class Tokens:
    """Token rows gathered per token, each list in dataset order: sorted without a sort."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[array[int], array[int], array[int]]] = {}
        self.count = 0

    def add(self, dataset_id: int, facet_id: int, weights: dict[str, int]) -> None:
        for token, weight in weights.items():
            lists = self.rows.get(token)
            if lists is None:
                lists = self.rows[token] = (array("i"), array("h"), array("i"))
            lists[0].append(dataset_id)
            lists[1].append(weight)
            lists[2].append(facet_id)
        self.count += len(weights)

    def sorted_rows(self) -> Iterator[tuple[str, int, int, int]]:
        """(token, dataset_id, weight, facet_id) in primary-key order (byte order of tokens)."""
        for token in sorted(self.rows, key=lambda t: t.encode()):
            ids, weights, facets = self.rows[token]
            for d, w, f in zip(ids, weights, facets, strict=True):
                yield token, d, w, f


def build(
    agency_rows: list[dict[str, Any]],
    by_key: dict[str, list[tuple[int, int]]],
    overrides: Overrides,
    public: bool = False,
) -> tuple[
    list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[Any], Tokens, TagRows
]:
    """Every row to load: datasets, fields, facet keys, search docs, tokens and tags."""
    names = {a["id"]: a["name"] for a in agency_rows}
    datasets: list[dict[str, Any]] = []
    fields: list[dict[str, Any]] = []
    docs: list[dict[str, Any]] = []
    facet_keys: dict[tuple[Any, ...], int] = {}
    tokens = Tokens()
    tags: TagRows = []
    for row, field_rows, weights in entries(by_key, names, overrides, public):
        values = tuple(row[c] for c in FACET_COLUMNS)
        facet_id = facet_keys.setdefault(values, len(facet_keys) + 1)
        doc = row.pop("_doc")
        doc["facet_id"] = facet_id
        docs.append(doc)
        datasets.append(row)
        fields.extend(field_rows)
        tokens.add(row["id"], facet_id, weights)
        tags.extend((t, row["id"], facet_id) for t in tag_values(row["tags"]))
    # In primary-key order (byte order of tags), as the tokens.
    tags.sort(key=lambda r: (r[0].encode(), r[1]))
    facets = [
        {"id": i, **dict(zip(FACET_COLUMNS, values, strict=True))}
        for values, i in facet_keys.items()
    ]
    return datasets, fields, facets, docs, tokens, tags


def load(engine: Engine, postgres: bool, public: bool = False) -> dict[str, float]:
    """Fill a migrated, empty database; returns seconds per phase and the token count."""
    started = time.perf_counter()
    agency_rows, by_key = agencies()
    with Session(engine) as session:
        overrides = load_overrides(session)
    datasets, fields, facets, docs, tokens, tags = build(agency_rows, by_key, overrides, public)
    generated = time.perf_counter()
    tables = [
        (Region.__table__, regions()),
        (Agency.__table__, agency_rows),
        (Dataset.__table__, datasets),
        (Field.__table__, fields),
        (SearchFacet.__table__, facets),
        (SearchDoc.__table__, docs),
    ]
    if postgres:
        _load_postgres(engine, tables, tokens, tags)
    else:
        _load_sqlite(engine, tables, tokens, tags)
    return {
        "generate_s": round(generated - started, 1),
        "load_s": round(time.perf_counter() - generated, 1),
        "token_rows": tokens.count,
        "tag_rows": len(tags),
    }


def _values(table: Table, row: dict[str, Any]) -> list[Any]:
    """The row in column order; columns it lacks get their default (or NULL)."""
    out = []
    for c in table.columns:
        default: Any = c.default
        if c.name in row:
            out.append(row[c.name])
        elif default is not None and default.is_scalar:
            out.append(default.arg)
        elif default is not None and default.is_callable:
            out.append(default.arg(None))  # SQLAlchemy wraps it to take the context
        else:
            out.append(None)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return json.dumps(value)
    return getattr(value, "value", value)


def _load_sqlite(
    engine: Engine,
    tables: list[tuple[Table, list[dict[str, Any]]]],
    tokens: Tokens,
    tags: TagRows,
) -> None:
    """One transaction of executemany inserts; the secondary token and tag indexes built
    afterwards."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA cache_size=-1000000")
        cur.execute("PRAGMA foreign_keys=OFF")
        cur.execute("PRAGMA synchronous=OFF")
        cur.execute("DROP INDEX ix_search_token_dataset_id")
        cur.execute("DROP INDEX ix_search_tag_dataset_id")
        cur.execute("BEGIN")
        for table, rows in tables:
            names = [c.name for c in table.columns]
            cur.executemany(
                f"INSERT INTO {table.name} ({', '.join(names)}) "
                f"VALUES ({', '.join('?' for _ in names)})",
                ([_sqlite_value(v) for v in _values(table, r)] for r in rows),
            )
        cur.executemany(
            "INSERT INTO search_token (token, dataset_id, weight, facet_id) VALUES (?, ?, ?, ?)",
            tokens.sorted_rows(),
        )
        cur.execute("CREATE INDEX ix_search_token_dataset_id ON search_token (dataset_id)")
        cur.executemany("INSERT INTO search_tag (tag, dataset_id, facet_id) VALUES (?, ?, ?)", tags)
        cur.execute("CREATE INDEX ix_search_tag_dataset_id ON search_tag (dataset_id)")
        cur.execute("COMMIT")
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def _sqlite_value(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, dt.datetime):  # as gongshu.db.UTCDateTime stores it
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _load_postgres(
    engine: Engine,
    tables: list[tuple[Table, list[dict[str, Any]]]],
    tokens: Tokens,
    tags: TagRows,
) -> None:
    """COPY everything in one transaction; token keys and indexes built after the load."""
    raw = engine.raw_connection()
    try:
        cur: Any = raw.cursor()
        cur.execute("SET maintenance_work_mem = '512MB'")
        cur.execute("ALTER TABLE search_token DROP CONSTRAINT pk_search_token")
        cur.execute("DROP INDEX ix_search_token_dataset_id")
        cur.execute("ALTER TABLE search_tag DROP CONSTRAINT pk_search_tag")
        cur.execute("DROP INDEX ix_search_tag_dataset_id")
        for table, rows in tables:
            names = [c.name for c in table.columns]
            with cur.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row([_plain(v) for v in _values(table, r)])
        for table, _ in tables:
            if "id" in table.c:
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT max(id) FROM {table.name}))"
                )
        with cur.copy("COPY search_token (token, dataset_id, weight, facet_id) FROM STDIN") as copy:
            buffer: list[str] = []
            for t, d, w, f in tokens.sorted_rows():
                buffer.append(f"{t}\t{d}\t{w}\t{f}\n")
                if len(buffer) >= 100_000:
                    copy.write("".join(buffer))
                    buffer = []
            copy.write("".join(buffer))
        cur.execute(
            "ALTER TABLE search_token ADD CONSTRAINT pk_search_token "
            "PRIMARY KEY (token, dataset_id) INCLUDE (weight, facet_id)"
        )
        cur.execute("CREATE INDEX ix_search_token_dataset_id ON search_token (dataset_id)")
        with cur.copy("COPY search_tag (tag, dataset_id, facet_id) FROM STDIN") as copy:
            for row in tags:
                copy.write_row(row)
        cur.execute(
            "ALTER TABLE search_tag ADD CONSTRAINT pk_search_tag "
            "PRIMARY KEY (tag, dataset_id) INCLUDE (facet_id)"
        )
        cur.execute("CREATE INDEX ix_search_tag_dataset_id ON search_tag (dataset_id)")
        raw.commit()
        raw.driver_connection.autocommit = True  # type: ignore[union-attr]
        cur.execute("VACUUM ANALYZE")
        # The load leaves a checkpoint of some gigabytes to write, spread over minutes: write
        # it now, so that the timings measure searches rather than the disk shared with it.
        cur.execute("CHECKPOINT")
    finally:
        raw.close()


# --- the queries --------------------------------------------------------------------------


def queries(by_key: dict[str, list[tuple[int, int]]]) -> list[tuple[str, Actor, SearchQuery]]:
    admin = Actor(
        user_id=1, name="bench-admin", roles=frozenset({Role.BUREAU_ADMIN}), city_scope=True
    )
    agency_id, region_id = by_key["jtj"][0]
    officer = Actor(
        user_id=2,
        name="bench-officer",
        roles=frozenset({Role.AGENCY_OFFICER}),
        agency_id=agency_id,
        region_id=region_id,
    )
    scj = by_key["scj"][0][0]
    q = SearchQuery
    return [
        # broad: each matches at least 10% of the entries
        ("信息 (broad)", admin, q(q="信息")),
        ("xinxi (broad)", admin, q(q="xinxi")),
        ("数据 (broad)", admin, q(q="数据")),
        ("xx initials (broad)", admin, q(q="xx")),
        ("no words, all facets (broad)", admin, q()),
        # Chinese
        ("公交", admin, q(q="公交")),
        ("空气质量", admin, q(q="空气质量")),
        ("企业 登记", admin, q(q="企业 登记")),
        ("费县 医疗", officer, q(q="费县 医疗")),
        # pinyin
        ("kongqi", admin, q(q="kongqi")),
        ("gong jiao", officer, q(q="gong jiao")),
        ("bixian", admin, q(q="bixian")),
        ("hunyin dengji", admin, q(q="hunyin dengji")),
        # initials
        ("kqzl", admin, q(q="kqzl")),
        ("gjxl", admin, q(q="gjxl")),
        # faceted
        ("监测 + level", admin, q(q="监测", level="general_1")),
        ("许可 + share_type", admin, q(q="许可", share_type="conditional")),
        ("xinxi + agency", admin, q(q="xinxi", agency_id=scj)),
        ("region + state, by title", admin, q(region_id=7, state="published", sort="title")),
        ("信息 sorted by update", officer, q(q="信息", sort="updated")),
        ("tag + format", admin, q(tag="统计", format="database")),
        ("xinxi + tag", admin, q(q="xinxi", tag="民生")),
    ]


def measure(engine: Engine, by_key: dict[str, list[tuple[int, int]]]) -> dict[str, Any]:
    samples: list[float] = []
    per_query: dict[str, Any] = {}
    with Session(engine) as session:
        for name, actor, query in queries(by_key):
            result = search_datasets(session, actor, query)  # warm up
            times = []
            for _ in range(REPEAT):
                t0 = time.perf_counter()
                search_datasets(session, actor, query)
                times.append((time.perf_counter() - t0) * 1000)
                session.rollback()
            samples.extend(times)
            per_query[name] = {
                "matches": result.total,
                "share": round(result.total / N, 3),
                "p50_ms": round(statistics.median(times), 1),
            }
            log(f"  {name:32} {result.total:7d} matches  p50 {statistics.median(times):7.1f} ms")
    samples.sort()
    return {
        "p50": round(statistics.median(samples), 1),
        "p95": round(samples[int(len(samples) * 0.95) - 1], 1),
        "queries": per_query,
    }


def run(settings: Settings, label: str, postgres: bool) -> dict[str, Any]:
    log(f"== {label}: migrating")
    migrate.upgrade(settings)
    engine = make_engine(settings)
    try:
        log(f"== {label}: loading {N} entries")
        timings = load(engine, postgres)
        log(f"   {timings}")
        _, by_key = agencies()
        result = measure(engine, by_key)
        broad = sum(1 for v in result["queries"].values() if v["share"] >= 0.1)
        log(f"== {label}: p50 {result['p50']} ms, p95 {result['p95']} ms, {broad} broad queries")
        return {**result, "load": timings, "broad_queries": broad}
    finally:
        engine.dispose()


def main() -> None:
    started = time.perf_counter()
    out: dict[str, Any] = {"entries": N, "repeat": REPEAT}
    with tempfile.TemporaryDirectory(prefix="gongshu-bench-") as tmp:
        sqlite = Settings(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}")
        res = run(sqlite, "SQLite", postgres=False)
        out.update(sqlite_p50_ms=res["p50"], sqlite_p95_ms=res["p95"], sqlite=res)
    url = make_url(PG_URL)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    try:
        res = run(Settings(database_url=PG_URL), "PostgreSQL", postgres=True)
        out.update(postgres_p50_ms=res["p50"], postgres_p95_ms=res["p95"], postgres=res)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        admin.dispose()
    out["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
