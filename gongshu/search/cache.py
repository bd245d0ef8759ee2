"""Public search counts kept per process, under the index's token (``search_state``).

A public search (the portal, CKAN's ``package_search``) is the same for every reader, so
what it costs most — the matches counted per score and facet value, the tag facet — is
kept for the next identical search. The key holds the index token: a transaction that
changes the index commits a new one, so a count is never served once its change is
visible. The page of results itself is always read afresh.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from cachetools import TTLCache

from gongshu.settings import Settings

_lock = threading.Lock()
_store: TTLCache[Hashable, Any] | None = None


def _cache(settings: Settings) -> TTLCache[Hashable, Any] | None:
    global _store
    size, ttl = settings.search_cache_entries, settings.search_cache_seconds
    if size == 0:
        return None
    if _store is None or _store.maxsize != size or _store.ttl != ttl:
        _store = TTLCache(maxsize=size, ttl=ttl)
    return _store


def get(settings: Settings, key: Hashable) -> Any:
    """The value kept under ``key``, or None."""
    with _lock:
        store = _cache(settings)
        return None if store is None else store.get(key)


def put(settings: Settings, key: Hashable, value: Any) -> None:
    with _lock:
        store = _cache(settings)
        if store is not None:
            store[key] = value


def clear() -> None:
    with _lock:
        if _store is not None:
            _store.clear()
