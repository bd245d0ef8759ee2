"""Rate limits of the data API: one token bucket per API key, or per user without a key.

A bucket holds at most ``burst`` tokens and refills at ``rate`` tokens a minute; each
request takes one. An empty bucket refuses the request with 429 and says, in
``Retry-After``, how many seconds until a token is back. The rate is the API key's own
``rate_limit_per_minute`` when the key sets one, else ``GONGSHU_DATA_API_RATE_PER_MINUTE``
(0 turns limits off); the burst is ``GONGSHU_DATA_API_BURST``, never more than the rate.

Buckets live in the process: with several server processes each keeps its own, so the
limit a client sees is per process (documented in docs/data-api.md). Idle buckets (full
again) are dropped when the table grows, so memory stays bounded by the active clients.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from gongshu.errors import GongshuError
from gongshu.i18n import N_

__all__ = ["Decision", "RateLimited", "RateLimiter"]

MSG_RATE_LIMITED = N_("请求过于频繁，请在 {seconds} 秒后重试")
# Drop idle buckets once the table holds this many.
PRUNE_AT = 10_000
# How long a key's own limit (read from the database) is trusted before it is read again.
KEY_LIMIT_TTL_SECONDS = 60.0


class RateLimited(GongshuError):
    """The caller's bucket is empty; ``retry_after`` seconds until the next token."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, retry_after: int, limit: int) -> None:
        super().__init__(MSG_RATE_LIMITED, seconds=retry_after)
        self.retry_after = retry_after
        self.limit = limit


@dataclass(frozen=True)
class Decision:
    """One request's outcome: allowed or not, the limit, tokens left, seconds to wait."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int


@dataclass
class _Bucket:
    tokens: float
    updated: float
    rate: float  # tokens per second
    capacity: float


class RateLimiter:
    """Token buckets keyed by caller (``key:<id>`` or ``user:<id>``), safe across threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._key_limits: dict[int, tuple[int | None, float]] = {}

    def take(self, caller: str, per_minute: int, burst: int) -> Decision:
        """Take one token from the caller's bucket (``per_minute`` 0: no limit)."""
        if per_minute <= 0:
            return Decision(True, 0, 0, 0)
        capacity = float(max(1, min(burst, per_minute)))
        rate = per_minute / 60.0
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(caller)
            if bucket is None or bucket.rate != rate or bucket.capacity != capacity:
                tokens = capacity if bucket is None else min(bucket.tokens, capacity)
                bucket = _Bucket(tokens, now, rate, capacity)
                if len(self._buckets) >= PRUNE_AT:
                    self._prune(now)
                self._buckets[caller] = bucket
            else:
                bucket.tokens = min(capacity, bucket.tokens + (now - bucket.updated) * rate)
                bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return Decision(True, per_minute, int(bucket.tokens), 0)
            wait = math.ceil((1.0 - bucket.tokens) / rate)
            return Decision(False, per_minute, 0, max(1, wait))

    def _prune(self, now: float) -> None:
        full = [
            k
            for k, b in self._buckets.items()
            if b.tokens + (now - b.updated) * b.rate >= b.capacity
        ]
        for k in full:
            del self._buckets[k]

    def key_limit(self, key_id: int, load: Callable[[int], int | None]) -> int | None:
        """An API key's own per-minute limit (None: the default), cached for a minute."""
        now = self._clock()
        with self._lock:
            cached = self._key_limits.get(key_id)
            if cached is not None and now - cached[1] < KEY_LIMIT_TTL_SECONDS:
                return cached[0]
        limit = load(key_id)
        with self._lock:
            if len(self._key_limits) >= PRUNE_AT:
                self._key_limits.clear()
            self._key_limits[key_id] = (limit, now)
        return limit

    def reset(self) -> None:
        """Forget every bucket and cached key limit (tests)."""
        with self._lock:
            self._buckets.clear()
            self._key_limits.clear()
