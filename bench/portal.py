"""The open-data portal: public search at 100,000 entries, the dataset page, a 5,000,000-row
CSV download — against pyarrow writing the same rows to CSV in the same run.

1. **Search.** A scratch SQLite database (the embedded default) holds 100,000 public entries
   made from the demo city's vocabulary (``bench/catalog_search.py``'s generator with every
   entry published and open), indexed with the real tokeniser. The portal's search
   (``search_datasets(..., public=True)`` as the anonymous reader, with every facet count, as
   the ``/dataset`` page asks) is timed over Chinese, pinyin, initials, faceted and tagged
   queries: each one first with the per-process count cache empty (``search_cold_*``: the
   first visitor to make that search), then repeated (``search_p50_ms``/``search_p95_ms``:
   the visitors after, served from the cache until the index changes).
2. **Dataset page and download.** A second scratch platform (production settings, SQLite
   metadata) holds one public entry (unconditional, general_1) with N rows of market
   entities (``bench/_dataapi_rows.py``), written as a real version (Parquet + serving
   index). ``bench/_serve.py`` serves it; over loopback an anonymous client renders
   ``/dataset/{slug}`` (description, fields, the preview read through the gate, the chart)
   repeatedly, then downloads ``/dataset/{slug}/download.csv`` whole, counting bytes and
   rows, while a sampler reads the server's resident memory every 20 ms.
3. **Baseline.** pyarrow reads the same version's Parquet file and writes CSV
   (``pyarrow.csv.CSVWriter``, batch by batch) to /dev/null, in this process.

Targets (issue 6): search p50 ≤ 30 ms and p95 ≤ 100 ms; the download at least half of
pyarrow's rate (``download_ratio_vs_pyarrow`` ≥ 0.5) with flat memory.

Run by hand: ``.venv/bin/python bench/portal.py [--entries N] [--rows N]``. The last line is
one JSON object (``search_p50_ms``, ``search_p95_ms``, ``page_p50_ms``,
``download_ratio_vs_pyarrow``, ``download_peak_rss_mb`` and more).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import catalog_search  # noqa: E402
from bench.data_api import build, free_port, process, scratch_env, wait_ready  # noqa: E402

TARGET_SEARCH_P50_MS = 30.0
TARGET_SEARCH_P95_MS = 100.0
TARGET_DOWNLOAD_RATIO = 0.5
SEARCH_REPEAT = 10
PAGE_REPEAT = 30


def log(message: str) -> None:
    print(message, flush=True)


# --- 1. search --------------------------------------------------------------------------------


def search_queries() -> list[tuple[str, dict[str, Any]]]:
    return [
        ("no words, all facets", {}),
        ("信息", {"q": "信息"}),
        ("xinxi", {"q": "xinxi"}),
        ("数据", {"q": "数据"}),
        ("公交", {"q": "公交"}),
        ("空气质量", {"q": "空气质量"}),
        ("企业 登记", {"q": "企业 登记"}),
        ("kongqi", {"q": "kongqi"}),
        ("gong jiao", {"q": "gong jiao"}),
        ("hunyin dengji", {"q": "hunyin dengji"}),
        ("kqzl", {"q": "kqzl"}),
        ("监测 + open_type", {"q": "监测", "open_type": "unconditional"}),
        ("许可 + update_cycle", {"q": "许可", "update_cycle": "monthly"}),
        ("信息, newest first", {"q": "信息", "sort": "updated"}),
        ("by title, page 3", {"sort": "title", "page": 3}),
        ("tag", {"tag": "统计"}),
        ("xinxi + tag + format", {"q": "xinxi", "tag": "民生", "format": "database"}),
    ]


def bench_search(entries: int) -> dict[str, Any]:
    from sqlalchemy.orm import Session

    from gongshu import migrate
    from gongshu.db import make_engine
    from gongshu.portal.openness import public_actor
    from gongshu.search import SearchQuery, search_datasets
    from gongshu.search import cache as search_cache
    from gongshu.settings import Settings

    catalog_search.N = entries
    with tempfile.TemporaryDirectory(prefix="gongshu-bench-portal-") as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'search.db'}")
        migrate.upgrade(settings)
        engine = make_engine(settings)
        try:
            log(f"== search: loading {entries:,} public entries (SQLite)")
            log(f"   {catalog_search.load(engine, postgres=False, public=True)}")
            reader = public_actor()
            samples: list[float] = []
            cold: list[float] = []
            per_query: dict[str, Any] = {}
            with Session(engine) as session:
                for name, params in search_queries():
                    query = SearchQuery(**params)
                    # Cold: the first time this search is made (the count cache empty).
                    search_cache.clear()
                    started = time.perf_counter()
                    result = search_datasets(session, reader, query, public=True)
                    first = (time.perf_counter() - started) * 1000
                    session.rollback()
                    cold.append(first)
                    times = []
                    for _ in range(SEARCH_REPEAT):
                        started = time.perf_counter()
                        search_datasets(session, reader, query, public=True)
                        times.append((time.perf_counter() - started) * 1000)
                        session.rollback()
                    samples.extend(times)
                    p50 = statistics.median(times)
                    per_query[name] = {
                        "matches": result.total,
                        "cold_ms": round(first, 1),
                        "p50_ms": round(p50, 1),
                    }
                    log(
                        f"   {name:28} {result.total:7,d} matches  "
                        f"cold {first:6.1f} ms  repeated p50 {p50:6.1f} ms"
                    )
        finally:
            engine.dispose()
    samples.sort()
    cold.sort()
    return {
        "search_p50_ms": round(statistics.median(samples), 1),
        "search_p95_ms": round(samples[int(len(samples) * 0.95) - 1], 1),
        "search_cold_p50_ms": round(statistics.median(cold), 1),
        "search_cold_p95_ms": round(cold[int(len(cold) * 0.95) - 1], 1),
        "search_queries": per_query,
    }


# --- 2. the dataset page and the download -----------------------------------------------------


class MemorySampler(threading.Thread):
    """The server's resident memory (process and children), every 20 ms, until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        import psutil

        self.root = psutil.Process(pid)
        self.peak = 0
        self.halt = threading.Event()
        #: Set by the client once a tenth of the rows is in: from then on memory should stay
        #: flat (what grows before is the first download's one-time cost: imports, pools).
        self.settled = threading.Event()
        self.at_settled = 0
        self.peak_after = 0

    def rss(self) -> int:
        import psutil

        total = 0
        for proc in [self.root, *self.root.children(recursive=True)]:
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return total

    def run(self) -> None:
        while not self.halt.is_set():
            rss = self.rss()
            self.peak = max(self.peak, rss)
            if self.settled.is_set():
                self.at_settled = self.at_settled or rss
                self.peak_after = max(self.peak_after, rss)
            self.halt.wait(0.02)


def page_times(url: str) -> dict[str, float]:
    times = []
    for _ in range(PAGE_REPEAT):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=60) as response:
            body = response.read()
        times.append((time.perf_counter() - started) * 1000)
    assert b"<table" in body, "the dataset page shows no preview table"
    times.sort()
    return {
        "page_p50_ms": round(statistics.median(times), 1),
        "page_p95_ms": round(times[int(len(times) * 0.95) - 1], 1),
    }


def download(url: str, expected: int, tenth: threading.Event) -> dict[str, Any]:
    """Fetch the CSV whole: bytes, rows (parsed, so the count is real) and seconds.

    The client parses with pyarrow's streaming CSV reader on one thread: Python's ``csv``
    module parses about 550,000 rows a second here, slower than the server writes them, so
    it measured the client rather than the download."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    started = time.perf_counter()
    rows = 0
    with urllib.request.urlopen(url, timeout=600) as response:
        size = int(response.headers.get("Content-Length") or 0)
        header = next(csv.reader([response.readline().decode("utf-8-sig")]))
        reader = pacsv.open_csv(
            response,
            read_options=pacsv.ReadOptions(column_names=header, use_threads=False),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string())),
        )
        for batch in reader:
            rows += batch.num_rows
            if rows * 10 >= expected:
                tenth.set()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": rows, "columns": len(header), "bytes": size}


def sampled_download(url: str, rows: int, pid: int) -> tuple[dict[str, Any], MemorySampler, int]:
    """``download`` while a sampler watches the server: (result, sampler, RSS before)."""
    sampler = MemorySampler(pid)
    before = sampler.rss()
    sampler.start()
    try:
        return download(url, rows, sampler.settled), sampler, before
    finally:
        sampler.halt.set()
        sampler.join()


def pyarrow_baseline(parquet_path: Path) -> dict[str, Any]:
    """pyarrow reading the version's Parquet file and writing CSV to /dev/null."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    started = time.perf_counter()
    source = pq.ParquetFile(parquet_path)
    rows = 0
    with pa.OSFile(os.devnull, "wb") as sink:
        writer = pacsv.CSVWriter(sink, source.schema_arrow)
        for batch in source.iter_batches(batch_size=65_536):
            writer.write_batch(batch)
            rows += batch.num_rows
        writer.close()
    return {"seconds": time.perf_counter() - started, "rows": rows}


def bench_download(rows: int) -> dict[str, Any]:
    from gongshu.portal.naming import dataset_slug

    with tempfile.TemporaryDirectory(prefix="gongshu-bench-portal-") as tmp:
        workdir = Path(tmp)
        env = scratch_env(workdir, sqlite=True)
        log(f"== download: writing {rows:,} rows as a public entry's version")
        built = build(env, workdir, rows, open_type="unconditional")
        dataset, version, storage = built["dataset"], built["version"], built["storage"]
        parquet_path = storage.local_path(version.parquet_key)
        slug = dataset_slug(dataset.code)
        built["session"].close()
        built["engine"].dispose()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        serve = [sys.executable, str(ROOT / "bench" / "_serve.py"), "--port", str(port)]
        with process(serve, env, workdir / "gongshu.log") as server:
            wait_ready(f"{base}/dataset", {})
            pages = page_times(f"{base}/dataset/{slug}")
            log(f"   dataset page: p50 {pages['page_p50_ms']} ms, p95 {pages['page_p95_ms']} ms")
            url = f"{base}/dataset/{slug}/download.csv"
            got, sampler, before = sampled_download(url, rows, server.pid)
            # The same download again: what a warm server holds while it serves one more
            # (the first one's climb includes the allocators' one-time growth).
            again, warm, warm_before = sampled_download(url, rows, server.pid)
        base_run = pyarrow_baseline(parquet_path)
    ours_rate = got["rows"] / got["seconds"]
    arrow_rate = base_run["rows"] / base_run["seconds"]
    ratio = ours_rate / arrow_rate
    log(
        f"   download: {got['rows']:,} rows in {got['seconds']:.1f} s ({ours_rate:,.0f} rows/s); "
        f"pyarrow {base_run['rows']:,} rows in {base_run['seconds']:.1f} s "
        f"({arrow_rate:,.0f} rows/s); ratio {ratio:.2f}"
    )
    log(
        f"   server memory: {before / 2**20:,.0f} MB before, peak {sampler.peak / 2**20:,.0f} MB; "
        f"{sampler.at_settled / 2**20:,.0f} MB a tenth of the way, "
        f"{sampler.peak_after / 2**20:,.0f} MB at most after; the second download "
        f"{warm_before / 2**20:,.0f} MB before, peak {warm.peak / 2**20:,.0f} MB"
    )
    return {
        **pages,
        "download_rows": got["rows"],
        "download_seconds": round(got["seconds"], 2),
        "download_rows_per_s": round(ours_rate),
        "pyarrow_rows_per_s": round(arrow_rate),
        "download_ratio_vs_pyarrow": round(ratio, 3),
        "download_rss_before_mb": round(before / 2**20, 1),
        "download_peak_rss_mb": round(sampler.peak / 2**20, 1),
        "download_rss_growth_mb": round((sampler.peak - before) / 2**20, 1),
        # Flat memory: what the server holds grows no further once a tenth of the rows is out.
        "download_rss_at_tenth_mb": round(sampler.at_settled / 2**20, 1),
        "download_rss_growth_after_tenth_mb": round(
            (sampler.peak_after - sampler.at_settled) / 2**20, 1
        ),
        "download_warm_rss_before_mb": round(warm_before / 2**20, 1),
        "download_warm_peak_rss_mb": round(warm.peak / 2**20, 1),
        "download_warm_growth_mb": round((warm.peak - warm_before) / 2**20, 1),
        "rows_complete": got["rows"] == rows and again["rows"] == rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=5_000_000)
    args = parser.parse_args()
    started = time.perf_counter()
    out: dict[str, Any] = {"entries": args.entries, "rows": args.rows}
    out.update(bench_search(args.entries))
    out.update(bench_download(args.rows))
    out["search_met"] = (
        out["search_p50_ms"] <= TARGET_SEARCH_P50_MS
        and out["search_p95_ms"] <= TARGET_SEARCH_P95_MS
    )
    out["search_cold_met"] = (
        out["search_cold_p50_ms"] <= TARGET_SEARCH_P50_MS
        and out["search_cold_p95_ms"] <= TARGET_SEARCH_P95_MS
    )
    out["download_met"] = out["download_ratio_vs_pyarrow"] >= TARGET_DOWNLOAD_RATIO
    out["seconds"] = round(time.perf_counter() - started, 1)
    log(
        f"== search p50 {out['search_p50_ms']} ms / p95 {out['search_p95_ms']} ms repeated, "
        f"{out['search_cold_p50_ms']} / {out['search_cold_p95_ms']} ms the first time (targets "
        f"{TARGET_SEARCH_P50_MS:.0f}/{TARGET_SEARCH_P95_MS:.0f}); download "
        f"{out['download_ratio_vs_pyarrow']}× pyarrow (target ≥ {TARGET_DOWNLOAD_RATIO}), "
        f"peak {out['download_peak_rss_mb']} MB"
    )
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
