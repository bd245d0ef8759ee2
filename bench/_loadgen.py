"""A small HTTP/1.1 load generator: N keep-alive connections, each paging through a query.

Run as its own process (``python bench/_loadgen.py --url … --clients 16 --seconds 20``) so
that its work never shares an interpreter with the server measured. Each client sends the
first page's URL, then follows the ``next_url`` of each JSON answer (Gongshu's and
datasette's answers both carry one) for up to ``--pages`` pages, then starts over. Requests
that start during the warm-up are not counted; every status other than 200 is counted as
an error. Prints one JSON object: requests, errors, requests/s, p50/p90/p99/max in ms.

asyncio streams instead of an HTTP library: parsing a response here costs a few
microseconds, so the client is not what limits the figures on a small machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import time
from typing import Any
from urllib.parse import urlsplit


class Stats:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.sent = 0  # every answered request, the warm-up's too
        self.errors = 0
        self.statuses: dict[int, int] = {}
        self.first_error = ""


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    else:
        body = await reader.read()
    return status, headers, body


def _next_path(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    url = data.get("next_url") if isinstance(data, dict) else None
    if not url:
        return None
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


async def _client(
    host: str,
    port: int,
    first: str,
    headers: str,
    pages: int,
    warm_until: float,
    stop_at: float,
    stats: Stats,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    path, page = first, 0
    while True:
        started = time.perf_counter()
        if started >= stop_at:
            break
        request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{headers}\r\n"
        writer.write(request.encode("utf-8"))
        status, response_headers, body = await _read_response(reader)
        elapsed = time.perf_counter() - started
        stats.sent += 1
        if started >= warm_until:
            stats.statuses[status] = stats.statuses.get(status, 0) + 1
            if status == 200:
                stats.latencies.append(elapsed)
            else:
                stats.errors += 1
                if not stats.first_error:
                    stats.first_error = body[:300].decode("utf-8", "replace")
        page += 1
        following = _next_path(body) if status == 200 else None
        path, page = (following, page) if following and page < pages else (first, 0)
        if response_headers.get("connection", "").lower() == "close":
            writer.close()
            reader, writer = await asyncio.open_connection(host, port)
    writer.close()


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


async def run(
    url: str, clients: int, seconds: float, warmup: float, pages: int, header: list[str]
) -> dict[str, Any]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    first = parts.path + ("?" + parts.query if parts.query else "")
    headers = "".join(f"{h}\r\n" for h in header)
    stats = Stats()
    now = time.perf_counter()
    warm_until, stop_at = now + warmup, now + warmup + seconds
    await asyncio.gather(
        *(
            _client(host, port, first, headers, pages, warm_until, stop_at, stats)
            for _ in range(clients)
        )
    )
    latencies = sorted(stats.latencies)
    done = len(latencies)
    return {
        "requests": done,
        "all_requests": stats.sent,
        "errors": stats.errors,
        "statuses": stats.statuses,
        "first_error": stats.first_error,
        "seconds": seconds,
        "rps": done / seconds,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p90_ms": _percentile(latencies, 0.90) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] * 1000) if latencies else float("nan"),
        "mean_ms": (statistics.fmean(latencies) * 1000) if latencies else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--url", required=True, help="the first page's URL")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--pages", type=int, default=20, help="pages followed per round")
    parser.add_argument("--header", action="append", default=[], help="'Name: value'")
    args = parser.parse_args()
    result = asyncio.run(
        run(args.url, args.clients, args.seconds, args.warmup, args.pages, args.header)
    )
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
