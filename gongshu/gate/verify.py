"""Verification reads (核验): "does this ID number and name match?", "is this licence
valid?" — answered yes or no, with the fields that disagree, and never the record.

A verification names one entry and the field the caller names a record by (``key_field``).
For each check the caller gives the key and the values it claims; the gate

1. decides who may ask: a reader the policy lets read the entry (provider, bureau, a grant —
   then only fields the grant covers may be compared, and only rows its row filter keeps
   are looked at), or, when the rule is open to every
   public body (``open_to_all``, a verification service's setting), any user of a public
   body; anyone else is refused, and the refusal is audited;
2. looks the keys up in the live version's serving index (one probe per ≤ 1,000 keys);
3. compares each claimed value with the record's, normalised (Unicode NFKC — full-width
   letters, digits and spaces become half-width — surrounding and repeated spaces ignored,
   letters compared without case; numbers, dates and booleans by value);
4. applies the validity rule, if any (``valid_until_field`` on or after today in
   Asia/Shanghai — empty means no end date — and/or ``status_field`` in ``status_values``);
5. records one ``data.verify`` entry — service, purpose, version, basis, the fields
   compared and each check's outcome — in which the keys and claimed values appear only as
   keyed hashes (HMAC-SHA-256 under the masking key), and commits it;
6. answers ``match``, ``mismatched``, ``valid`` and, only where the rule allows it
   (``reveal_existence``), ``found``.

When existence may not be revealed, a key with no record answers as if every claimed field
disagreed (``match`` false, ``mismatched`` all claimed fields, ``valid`` false), so a caller
cannot tell "no such record" from "nothing you claimed is right".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.catalog.models import Dataset, FieldType
from gongshu.errors import NotFound, PermissionDenied, ValidationFailed
from gongshu.gate import filters as filters_mod
from gongshu.gate import journal, policy
from gongshu.gate.policy import MSG_DENIED, MSG_FIELD_DENIED, ReadScope
from gongshu.i18n import N_
from gongshu.identifiers import IDENTIFIER_CHECKS
from gongshu.settings import Settings, get_settings
from gongshu.store import rows
from gongshu.store.models import DatasetVersion
from gongshu.store.storage import Storage, get_storage
from gongshu.store.versions import current_version

__all__ = [
    "MAX_CHECKS",
    "Claim",
    "Outcome",
    "VerifyRule",
    "keyed_hash",
    "may_verify",
    "verify",
]

MAX_CHECKS = 1000
MAX_PURPOSE = 200
TZ = ZoneInfo("Asia/Shanghai")
OPEN_BASIS = "verification_open"
VERIFY = "data.verify"
DENIED = journal.DENIED

MSG_PURPOSE = N_("请说明核验的用途")
MSG_NO_DATA = N_("该数据集还没有数据")
MSG_TOO_MANY = N_("一次最多核验 {limit} 条")
MSG_NO_CHECKS = N_("请至少提交一条核验")
MSG_NO_KEY = N_("请填写要核验的标识")
MSG_NO_CLAIMS = N_("请至少提供一个要比对的字段")
MSG_FIELD_NOT_OFFERED = N_("字段“{field}”不在该核验服务可比对的字段中")
MSG_UNKNOWN_FIELD = N_("数据中没有字段“{field}”")
MSG_KEY_NOT_TEXT = N_("核验标识字段“{field}”应为文本字段")


@dataclass(frozen=True)
class VerifyRule:
    """What a verification may look at in one entry.

    ``fields`` None: any field the reader's scope allows (a verification that names an entry
    directly); otherwise only these. ``service`` is the configured service's code, if any.
    """

    dataset: Dataset
    key_field: str
    fields: frozenset[str] | None = None
    valid_until_field: str | None = None
    status_field: str | None = None
    status_values: frozenset[str] = frozenset()
    reveal_existence: bool = False
    open_to_all: bool = False
    service: str | None = None

    @property
    def has_validity(self) -> bool:
        return bool(self.valid_until_field or self.status_field)


@dataclass(frozen=True)
class Claim:
    """One check: the record's key and the values the caller claims for it."""

    key: str
    values: Mapping[str, Any] = field(default_factory=dict)
    ref: str | None = None  # the caller's own reference, echoed in the outcome


@dataclass(frozen=True)
class Outcome:
    """The answer to one check. ``found`` is None when existence may not be revealed;
    ``valid`` is None when the rule has no validity part."""

    match: bool
    mismatched: list[str]
    found: bool | None
    valid: bool | None
    ref: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "match": self.match,
            "mismatched": self.mismatched,
            "found": self.found,
            "valid": self.valid,
        }
        if self.ref is not None:
            out["ref"] = self.ref
        return out


@dataclass(frozen=True)
class VerifyResult:
    """The outcomes, in the order of the checks, and the version they were answered from."""

    outcomes: list[Outcome]
    dataset: Dataset
    version: DatasetVersion
    basis: str


# --- who may ask ---------------------------------------------------------------------------


def _public_body(actor: Actor) -> bool:
    return actor.agency_id is not None and actor.has(Role.AGENCY_OFFICER, Role.AGENCY_CONSUMER)


def _needed(rule: VerifyRule, compared: Iterable[str]) -> list[str]:
    return list(dict.fromkeys([rule.key_field, *compared]))


def _basis(
    session: Session, actor: Actor, rule: VerifyRule, needed: Sequence[str]
) -> tuple[str, ReadScope | None, str | None]:
    """The basis the actor asks on, the read scope (None for an open service) and, when
    refused only because its grants do not cover a field, that field."""
    scopes = policy.candidate_scopes(session, actor, rule.dataset)
    chosen = policy.choose(scopes, needed)
    if chosen is not None:
        return chosen.basis, chosen, None
    if rule.open_to_all and _public_body(actor):
        return OPEN_BASIS, None, None
    if scopes:
        widest = scopes[0]
        missing = next(
            (n for n in needed if widest.fields is not None and n not in widest.fields), None
        )
        return "", None, missing
    return "", None, None


def may_verify(session: Session, actor: Actor, rule: VerifyRule) -> bool:
    """Whether the actor may call this verification (for lists and links)."""
    needed = _needed(rule, sorted(rule.fields or ()))
    return bool(_basis(session, actor, rule, needed)[0])


# --- normalising and comparing -------------------------------------------------------------


def _text(value: Any) -> str:
    text = unicodedata.normalize("NFKC", str(value))
    return " ".join(text.split())


def _norm_text(value: Any) -> str:
    return _text(value).casefold()


def _number(value: Any) -> Decimal | None:
    try:
        number = Decimal(_text(value).replace(",", ""))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


_DATE = re.compile(r"^(\d{4})\D?(\d{1,2})\D?(\d{1,2})\D?$")


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    match = _DATE.match(_text(value))
    if match is None:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


_TRUE = {"true", "1", "yes", "y", "是", "t"}
_FALSE = {"false", "0", "no", "n", "否", "f"}


def _equal(stored: Any, claimed: Any, field_type: str) -> bool:
    if stored is None or (isinstance(stored, str) and not _text(stored)):
        return claimed is None or not _text(claimed)
    if claimed is None:
        return False
    if field_type == FieldType.BOOLEAN:
        word = _norm_text(claimed)
        return (word in _TRUE) if stored else (word in _FALSE)
    if field_type in (FieldType.INTEGER, FieldType.DECIMAL):
        number = _number(claimed)
        return number is not None and number == Decimal(str(stored))
    if field_type == FieldType.DATE:
        return _date(claimed) == _date(stored)
    if field_type == FieldType.DATETIME and isinstance(stored, dt.datetime):
        text = _text(claimed).replace("T", " ")
        try:
            return dt.datetime.fromisoformat(text) == stored
        except ValueError:
            return False
    return _norm_text(stored) == _norm_text(claimed)


def keyed_hash(value: Any, settings: Settings | None = None) -> str:
    """A keyed hash of a claimed value as the audit chain keeps it (normalised first, so the
    same value hashes alike however it was typed). Whoever holds the platform secret can
    test whether a given value was checked; nobody can read the value back. The key is the
    masking key, which never changes once data is shared, so old entries stay testable."""
    secret = (settings or get_settings()).masking_secret
    message = b"gongshu.verify\x00" + _norm_text(value if value is not None else "").encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def _claims_hash(values: Mapping[str, Any], settings: Settings) -> str:
    joined = "\x1f".join(
        f"{k}\x1e{_norm_text(v if v is not None else '')}" for k, v in sorted(values.items())
    )
    return keyed_hash(joined, settings)


# --- the read ------------------------------------------------------------------------------


def _purpose(purpose: str) -> str:
    text = (purpose or "").strip()
    if not text:
        raise ValidationFailed.single("purpose", MSG_PURPOSE)
    return text[:MAX_PURPOSE]


def _types(version: DatasetVersion) -> dict[str, str]:
    return {str(f["name"]): str(f["type"]) for f in version.schema}


def _offered(rule: VerifyRule, claims: Sequence[Claim]) -> list[str]:
    """The fields the claims compare, each one the rule offers."""
    names = sorted({name for c in claims for name in c.values})
    for name in names:
        if rule.fields is not None and name not in rule.fields:
            raise ValidationFailed(MSG_FIELD_NOT_OFFERED, field=name)
    return names


def _keys(version: DatasetVersion, key_field: str, claims: Sequence[Claim]) -> list[str]:
    """The keys as stored: an identifier key (citizen ID, credit code) in its checked form —
    a 15-digit ID number converted, a lower-case x upper-cased — any other trimmed."""
    kind = next(
        (str(f.get("identifier") or "") for f in version.schema if f["name"] == key_field), ""
    )
    check = IDENTIFIER_CHECKS.get(kind)
    out: list[str] = []
    for claim in claims:
        text = _text(claim.key)
        if check is not None:
            checked = check(text)
            text = checked.value if checked.ok else text
        out.append(text)
    return out


def _lookup(
    storage: Storage,
    version: DatasetVersion,
    key_field: str,
    keys: Sequence[str],
    row_filter: Sequence[filters_mod.Filter],
) -> dict[str, list[dict[str, Any]]]:
    """Rows by normalised key. A key is probed as typed and upper-cased (identifiers are
    stored upper-case), then matched on its normalised form."""
    wanted = {_norm_text(k) for k in keys}
    probes = list(dict.fromkeys(p for k in keys for p in (_text(k), _text(k).upper())))
    found: dict[str, list[dict[str, Any]]] = {}
    step = rows.MAX_VALUES
    for start in range(0, len(probes), step):
        chunk = probes[start : start + step]
        found_rows = rows.lookup(
            storage, version, key_field, chunk, filters=row_filter, limit=len(chunk) * 20
        )
        for row in found_rows:
            norm = _norm_text(row.get(key_field) or "")
            if norm in wanted:
                found.setdefault(norm, []).append(row)
    return found


def _valid(rule: VerifyRule, row: Mapping[str, Any], today: dt.date) -> bool | None:
    if not rule.has_validity:
        return None
    if rule.valid_until_field:
        until = _date(row.get(rule.valid_until_field))
        if until is not None and until < today:
            return False
    if rule.status_field:
        allowed = {_norm_text(v) for v in rule.status_values}
        if _norm_text(row.get(rule.status_field) or "") not in allowed:
            return False
    return True


def _outcome(
    rule: VerifyRule,
    claim: Claim,
    found: list[dict[str, Any]],
    types: Mapping[str, str],
    today: dt.date,
) -> Outcome:
    claimed = sorted(claim.values)
    if not found:
        return Outcome(
            match=False,
            mismatched=[] if rule.reveal_existence else claimed,
            found=False if rule.reveal_existence else None,
            valid=False if rule.has_validity else None,
            ref=claim.ref,
        )
    best: tuple[int, int, list[str], bool | None] | None = None
    for row in found:
        wrong = [n for n in claimed if not _equal(row.get(n), claim.values[n], types[n])]
        valid = _valid(rule, row, today)
        rank = (len(wrong), 0 if valid is not False else 1, wrong, valid)
        if best is None or rank[:2] < best[:2]:
            best = rank
    assert best is not None
    return Outcome(
        match=not best[2],
        mismatched=best[2],
        found=True if rule.reveal_existence else None,
        valid=best[3],
        ref=claim.ref,
    )


def _record(
    session: Session,
    actor: Actor,
    rule: VerifyRule,
    *,
    action: str,
    purpose: str,
    basis: str,
    result: str,
    **details: Any,
) -> None:
    # Through the gate's journal, like every gate decision: committed before the answer
    # leaves. A verification returns no rows, so it counts nothing against a grant's quota.
    journal.write_entry(
        session,
        actor,
        action,
        "dataset",
        rule.dataset.id,
        label=rule.dataset.title,
        changes={
            "operation": "verify",
            "service": rule.service,
            "purpose": purpose,
            "basis": basis,
            "key_field": rule.key_field,
            "result": result,
            **details,
        },
    )


def verify(
    session: Session,
    actor: Actor,
    rule: VerifyRule,
    claims: Sequence[Claim],
    *,
    purpose: str,
    today: dt.date | None = None,
    storage: Storage | None = None,
    settings: Settings | None = None,
) -> VerifyResult:
    """Answer each claim (see the module docstring); audited and committed before it returns.

    ``PermissionDenied`` when the actor may not ask (audited as refused),
    ``ValidationFailed`` for bad input, ``NotFound`` when the entry has no data yet.
    """
    settings = settings or get_settings()
    purpose = _purpose(purpose)
    if not claims:
        raise ValidationFailed.single("checks", MSG_NO_CHECKS)
    if len(claims) > MAX_CHECKS:
        raise ValidationFailed(MSG_TOO_MANY, limit=MAX_CHECKS)
    for claim in claims:
        if not _text(claim.key):
            raise ValidationFailed.single("key", MSG_NO_KEY)
        if not claim.values and not rule.has_validity and not rule.reveal_existence:
            raise ValidationFailed.single("claims", MSG_NO_CLAIMS)
    compared = _offered(rule, claims)
    basis, scope, missing = _basis(session, actor, rule, _needed(rule, compared))
    if not basis:
        _record(
            session,
            actor,
            rule,
            action=DENIED,
            purpose=purpose,
            basis="",
            result="denied",
            fields=compared,
            checks=len(claims),
        )
        if missing is not None:
            raise PermissionDenied(MSG_FIELD_DENIED, field=missing)
        raise PermissionDenied(MSG_DENIED)
    version = current_version(session, rule.dataset.id)
    if version is None:
        raise NotFound(MSG_NO_DATA)
    types = _types(version)
    if types.get(rule.key_field) not in (FieldType.STRING, FieldType.TEXT):
        raise ValidationFailed(MSG_KEY_NOT_TEXT, field=rule.key_field)
    for name in compared:
        if name not in types:
            raise ValidationFailed(MSG_UNKNOWN_FIELD, field=name)
    row_filter: list[filters_mod.Filter] = []
    if scope is not None and scope.row_filter:
        try:
            row_filter = list(filters_mod.check(scope.row_filter, version.schema))
        except ValidationFailed:
            # A grant whose filter no longer fits the data reads nothing.
            _record(
                session,
                actor,
                rule,
                action=DENIED,
                purpose=purpose,
                basis=basis,
                result="denied",
                fields=compared,
                checks=len(claims),
            )
            raise PermissionDenied(MSG_DENIED) from None
    storage = storage or get_storage(settings)
    keys = _keys(version, rule.key_field, claims)
    found = _lookup(storage, version, rule.key_field, keys, row_filter)
    today = today or dt.datetime.now(TZ).date()
    outcomes = [
        _outcome(rule, c, found.get(_norm_text(k), []), types, today)
        for c, k in zip(claims, keys, strict=True)
    ]
    _record(
        session,
        actor,
        rule,
        action=VERIFY,
        purpose=purpose,
        basis=basis,
        result="allowed",
        grant=scope.grant_id if scope is not None else None,
        version=version.number,
        version_id=version.id,
        fields=compared,
        checks=len(claims),
        matched=sum(1 for o in outcomes if o.match),
        outcomes=[
            {
                "key": keyed_hash(k, settings),
                "claims": _claims_hash(c.values, settings),
                "match": o.match,
                "mismatched": o.mismatched,
                "found": bool(found.get(_norm_text(k))),
                "valid": o.valid,
            }
            for c, k, o in zip(claims, keys, outcomes, strict=True)
        ],
    )
    return VerifyResult(outcomes=outcomes, dataset=rule.dataset, version=version, basis=basis)
