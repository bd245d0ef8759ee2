"""How an audit entry is hashed: the canonical forms both writers and ``verify`` use.

Two hash versions exist side by side; each entry names its own in ``hash_version``.

* **Version 1** (entries written before migration 0015): SHA-256 over the canonical JSON
  object of the entry's columns (keys sorted, UTF-8, no spaces). The columns 0015 added
  (``dataset_id``, ``result``, ``rows``) are not in it; for these entries they are a pure
  function of the hashed columns (:func:`derive`), and ``verify`` checks that they still are.
* **Version 2** (every entry since): SHA-256 over the UTF-8 bytes of 17 text fields joined
  by NUL (``\\x00``), in this order: ``"2"``, seq, at, actor_id, actor_name, agency_id,
  action, object_type, object_id, object_label, changes, request_id, ip, prev_hash,
  dataset_id, result, rows. Integers are decimal, NULL is the empty string, ``at`` is
  ISO 8601 in UTC with microseconds (``2026-01-02T03:04:05.000006+00:00``) and ``changes``
  is canonical JSON (:func:`canonical_json`). Writers replace NUL inside text with U+FFFD,
  so splitting the joined text on NUL gives back exactly the 17 fields: two different
  entries never share a hash input. The form is cheap to rebuild from the database
  (the columns cast to text), which is what lets ``verify`` check a million entries in
  seconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

HASH_VERSION = 2
FIELD_SEPARATOR = "\x00"
REPLACEMENT = "\ufffd"
DATA_PREFIX = "data."
DENIED_ACTION = "data.denied"
CHECKPOINT_ACTION = "audit.checkpoint"
RESULTS = ("allowed", "denied")
_MAX_DATASET_ID = 2**31 - 1

_canonical_encoder = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
)


def canonical_json(value: Any) -> str:
    """Canonical JSON text: keys sorted, no spaces, non-ASCII kept, no NaN."""
    return _canonical_encoder.encode(value)


def clean_text(value: str) -> str:
    """Text as an entry stores it: NUL (which would blur field borders) becomes U+FFFD."""
    return value.replace(FIELD_SEPARATOR, REPLACEMENT) if FIELD_SEPARATOR in value else value


def iso_at(at: dt.datetime) -> str:
    """The entry time as hashed: UTC, ISO 8601, always with microseconds."""
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def derive(
    action: str, object_type: str, object_id: str, changes: Mapping[str, Any]
) -> tuple[int | None, str, int | None]:
    """The searchable columns of an entry, from its hashed content.

    ``dataset_id``: the catalog entry the action is about (the object itself, or
    ``changes["dataset_id"]``); ``result``: ``allowed``/``denied`` for gate decisions
    (``data.denied`` is a refusal, any other ``data.*`` action was allowed, unless
    ``changes["result"]`` says which), empty for service writes; ``rows``: rows returned
    (``changes["rows"]``).
    """
    dataset_id: int | None = None
    if object_type == "dataset" and object_id.isascii() and object_id.isdigit():
        dataset_id = int(object_id)
    if dataset_id is None or not 0 < dataset_id <= _MAX_DATASET_ID:
        dataset_id = _int_or_none(changes.get("dataset_id"))
    if dataset_id is not None and not 0 < dataset_id <= _MAX_DATASET_ID:
        dataset_id = None
    result = ""
    if action.startswith(DATA_PREFIX):
        result = "denied" if action == DENIED_ACTION else "allowed"
    stated = changes.get("result")
    if isinstance(stated, str) and stated in RESULTS:
        result = stated
    return dataset_id, result, _int_or_none(changes.get("rows"))


def _text(value: int | None) -> str:
    return "" if value is None else str(value)


def v1_hash(
    *,
    seq: int,
    at_iso: str,
    actor_id: int | None,
    actor_name: str,
    agency_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    object_label: str,
    changes: Any,
    request_id: str,
    ip: str,
    prev_hash: str,
) -> str:
    """The version-1 entry hash (hex)."""
    body = {
        "seq": seq,
        "at": at_iso,
        "actor_id": actor_id,
        "actor_name": actor_name,
        "agency_id": agency_id,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "object_label": object_label,
        "changes": changes,
        "request_id": request_id,
        "ip": ip,
        "prev_hash": prev_hash,
    }
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def v2_fields(
    *,
    seq: int,
    at_iso: str,
    actor_id: int | None,
    actor_name: str,
    agency_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    object_label: str,
    changes_json: str,
    request_id: str,
    ip: str,
    prev_hash: str,
    dataset_id: int | None,
    result: str,
    rows: int | None,
) -> tuple[str, ...]:
    """The 17 text fields of a version-2 hash input, in order."""
    return (
        "2",
        str(seq),
        at_iso,
        _text(actor_id),
        actor_name,
        _text(agency_id),
        action,
        object_type,
        object_id,
        object_label,
        changes_json,
        request_id,
        ip,
        prev_hash,
        _text(dataset_id),
        result,
        _text(rows),
    )


def v2_digest(fields: tuple[str, ...]) -> bytes:
    """SHA-256 over the NUL-joined version-2 fields."""
    return hashlib.sha256(FIELD_SEPARATOR.join(fields).encode("utf-8")).digest()
