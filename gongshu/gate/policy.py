"""Who may read a dataset's rows, which of them, and how masked: the gate's policy.

The checks, in order (the first that matches decides):

1. **platform** — the platform itself (background jobs, the CLI: a system actor without an
   API key) reads every dataset, in the clear;
2. **bureau** — a bureau admin (大数据主管部门) reads the datasets of its region in the
   clear: a city-scope admin every dataset, a district admin those of its district;
3. **provider** — a data officer or consumer of the provider agency (a user, or an API key
   owned by the agency) reads that agency's datasets in the clear;
4. **grant** — an officer or consumer of another agency (a user, or an API key owned by
   that agency) reads through an active grant (授权) of its agency on the dataset: only the
   grant's fields, only the rows its row filter keeps, each field masked by the
   ``mask_rule`` of the dataset's level and the field's sensitivity unless the grant names
   it in ``clear_fields``. A grant past its expiry or revoked stops counting at once.
5. **open** — anyone, signed in or not (the anonymous public reader of
   ``gongshu.portal.openness.public_actor`` included), reads an entry whose rows are open to
   everyone (``rows_are_open``: published, unconditional opening, a level that may be
   opened): every row, each field masked by the ``mask_rule`` of the entry's level — the
   same templates as a grant reader, never any clear fields. A member of an agency with a
   grant on the entry reads under the grant first; the open scope is its last candidate;
5a. **applicant** — a signed-in public user (role ``public``, never the anonymous reader)
   reads a public conditional entry (有条件开放) through an active, unexpired open
   application it holds (``gongshu.opening.access``): only the approved fields, every row,
   each field masked by the entry's level like an open-data reader, never in the clear.
   An application past its expiry, revoked or refused stops counting at once;
6. anyone else — a citizen, an operator, the separated administrators — is refused.

**Several active grants.** They are never merged: each is a candidate scope, ordered
widest first (every field, then most fields; ties: the oldest grant). A read uses the first
candidate whose fields cover every field the request names (columns, filters, sort,
grouping); a request that names no field uses the widest. So one request is always read
under exactly one grant, with that grant's row filter, masking, quota and fingerprint — a
union of two grants with different row filters could show fields of one grant on rows of
the other.

Cost: the grant step is one indexed query (``share.grants.active_grants``) and one query for
the level's masking rules; the other steps query nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.permissions import in_region_scope
from gongshu.catalog.models import Dataset, FieldType, Level, OpenType, Sensitivity
from gongshu.db import utcnow
from gongshu.errors import PermissionDenied
from gongshu.gate.filters import Filter, from_plain
from gongshu.gate.models import MaskRule
from gongshu.i18n import N_
from gongshu.masking import Technique, default_rules
from gongshu.opening.access import active_applications
from gongshu.opening.models import OpenApplication
from gongshu.portal.openness import PUBLIC_USER_ID, is_public, rows_are_open
from gongshu.share.grants import active_grants
from gongshu.share.models import Grant, GrantStatus

MSG_DENIED = N_("无权读取该数据集的数据")
MSG_FIELD_DENIED = N_("无权读取字段“{field}”")

TEXT_TYPES = frozenset({FieldType.STRING, FieldType.TEXT})
MASKED_BASES = frozenset({"grant", "open", "applicant"})


@dataclass(frozen=True)
class ReadScope:
    """What one reader may read of one dataset, and why.

    ``basis``: "platform", "bureau", "provider", "grant", "open" or "applicant" (an open
    application's holder; ``application_id`` names it). ``fields``: the fields
    the reader may see (None: every field). ``masks``: field → technique for the fields the
    reader sees masked (filled for a version's schema by ``for_schema``; empty for clear readers).
    ``row_filter``: conditions every row read must meet (a grant's). ``grant``: the grant
    read under, if any. ``techniques``/``clear_fields``: the masking rules of the dataset's
    level for this reader and the grant's clear fields, from which ``masks`` is computed.
    """

    basis: str
    fields: frozenset[str] | None = None
    masks: Mapping[str, Technique] = field(default_factory=dict)
    row_filter: tuple[Filter, ...] = ()
    grant: Grant | None = None
    techniques: Mapping[Sensitivity, Technique] = field(default_factory=dict)
    clear_fields: frozenset[str] = frozenset()
    application_id: int | None = None

    @property
    def masked(self) -> bool:
        """Whether this reader sees anything masked (a grant or open-data reader)."""
        return self.basis in MASKED_BASES

    @property
    def clear(self) -> bool:
        """Whether the reader sees every field of every row as stored."""
        return self.fields is None and not self.masks and not self.row_filter

    def allows(self, name: str) -> bool:
        """Whether the reader may see the field at all (dropped fields are not seen)."""
        if self.fields is not None and name not in self.fields:
            return False
        return self.masks.get(name) is not Technique.DROP

    def technique(self, name: str) -> Technique:
        return self.masks.get(name, Technique.CLEAR)

    def for_schema(self, schema: Sequence[Mapping[str, Any]]) -> ReadScope:
        """This scope with ``masks`` computed for a version's schema."""
        if not self.masked:
            return self
        return replace(self, masks=masks_for(self, schema))

    @property
    def grant_id(self) -> int | None:
        return self.grant.id if self.grant is not None else None


def masks_for(scope: ReadScope, schema: Sequence[Mapping[str, Any]]) -> dict[str, Technique]:
    """Field → technique for a masked reader of a version (clear fields left out).

    ``mask`` and ``hash`` are defined on text; a non-text field whose rule is either is
    dropped instead (its typed values have no display mask, and a hash of a number would not
    join with anything).
    """
    out: dict[str, Technique] = {}
    for f in schema:
        name = str(f["name"])
        if name in scope.clear_fields:
            continue
        try:
            sensitivity = Sensitivity(str(f.get("sensitivity") or "none"))
        except ValueError:
            sensitivity = Sensitivity.FREE_TEXT  # unknown kind: take the stricter reading
        technique = scope.techniques.get(sensitivity, Technique.CLEAR)
        if technique is Technique.CLEAR:
            continue
        if technique is not Technique.DROP and str(f["type"]) not in TEXT_TYPES:
            technique = Technique.DROP
        out[name] = technique
    return out


def is_platform(actor: Actor) -> bool:
    return actor.is_system and actor.api_key_id is None


def _member_reader(actor: Actor) -> bool:
    return actor.agency_id is not None and actor.has(Role.AGENCY_OFFICER, Role.AGENCY_CONSUMER)


def clear_scope(actor: Actor, dataset: Dataset) -> ReadScope | None:
    """Steps 1–3: the platform, the bureau or the provider, who read in the clear."""
    if is_platform(actor):
        return ReadScope(basis="platform")
    if actor.has(Role.BUREAU_ADMIN) and in_region_scope(actor, dataset.region_id):
        return ReadScope(basis="bureau")
    if _member_reader(actor) and actor.agency_id == dataset.agency_id:
        return ReadScope(basis="provider")
    return None


def level_techniques(session: Session, level: Level) -> dict[Sensitivity, Technique]:
    """The masking rules of one level (one query; defaults for pairs without a row)."""
    defaults = default_rules()
    techniques = {s: defaults[level, s] for s in Sensitivity}
    for sensitivity, technique in session.execute(
        select(MaskRule.sensitivity, MaskRule.technique).where(MaskRule.level == level)
    ):
        techniques[sensitivity] = technique
    return techniques


def grant_scope(grant: Grant, techniques: Mapping[Sensitivity, Technique]) -> ReadScope:
    """The scope one grant gives (masks still to be computed for a version's schema)."""
    return ReadScope(
        basis="grant",
        fields=None if grant.fields is None else frozenset(str(f) for f in grant.fields),
        row_filter=from_plain(grant.row_filter or []),
        grant=grant,
        techniques=dict(techniques),
        clear_fields=frozenset(str(f) for f in grant.clear_fields or []),
    )


def _widest_first(grant: Grant) -> tuple[int, int, int]:
    width = -1 if grant.fields is None else len(grant.fields)
    return (0 if grant.fields is None else 1, -width, grant.id)


def applicant_scope(
    application: OpenApplication, techniques: Mapping[Sensitivity, Technique]
) -> ReadScope:
    """The scope an active open application gives: its approved fields, masked."""
    fields = application.approved_fields or []
    return ReadScope(
        basis="applicant",
        fields=frozenset(str(f) for f in fields),
        techniques=dict(techniques),
        application_id=application.id,
    )


def _applications(session: Session, actor: Actor, dataset: Dataset) -> list[OpenApplication]:
    """The reader's active open applications on a public conditional entry, widest first."""
    if not actor.has(Role.PUBLIC) or actor.user_id in (None, PUBLIC_USER_ID):
        return []
    if dataset.open_type != OpenType.CONDITIONAL or not is_public(dataset):
        return []
    assert actor.user_id is not None
    found = active_applications(session, actor.user_id, dataset.id)
    return sorted(found, key=lambda a: (-len(a.approved_fields or []), a.id))


def candidate_scopes(session: Session, actor: Actor, dataset: Dataset) -> list[ReadScope]:
    """Every scope the reader may read the dataset under, best first (empty: refused)."""
    clear = clear_scope(actor, dataset)
    if clear is not None:
        return [clear]
    grants: list[Grant] = []
    if _member_reader(actor) and actor.agency_id is not None:
        grants = sorted(active_grants(session, actor.agency_id, dataset.id), key=_widest_first)
    applications = _applications(session, actor, dataset)
    is_open = rows_are_open(dataset)
    if not grants and not applications and not is_open:
        return []
    techniques = level_techniques(session, dataset.level)
    scopes = [grant_scope(g, techniques) for g in grants]
    scopes.extend(applicant_scope(a, techniques) for a in applications)
    if is_open:
        scopes.append(ReadScope(basis="open", techniques=dict(techniques)))
    return scopes


def choose(scopes: Sequence[ReadScope], needed: Collection[str] = ()) -> ReadScope | None:
    """The first scope whose fields cover ``needed`` (field names the request uses)."""
    for scope in scopes:
        if scope.fields is None or all(n in scope.fields for n in needed):
            return scope
    return None


def scope_for(session: Session, actor: Actor, dataset: Dataset) -> ReadScope | None:
    """The reader's widest scope on the dataset, or None when it may not read it at all."""
    scopes = candidate_scopes(session, actor, dataset)
    return scopes[0] if scopes else None


def may_read(session: Session, actor: Actor, dataset: Dataset) -> bool:
    """Whether the reader may read any of the dataset's rows (for links and buttons)."""
    return scope_for(session, actor, dataset) is not None


def require_read(session: Session, actor: Actor, dataset: Dataset) -> ReadScope:
    """The reader's widest scope, or ``PermissionDenied``."""
    scope = scope_for(session, actor, dataset)
    if scope is None:
        raise PermissionDenied(MSG_DENIED)
    return scope


def grants_by_dataset(
    session: Session, actor: Actor, dataset_ids: Collection[int]
) -> dict[int, list[Grant]]:
    """Active grants of the reader's agency on many datasets at once (entity searches)."""
    if not _member_reader(actor) or actor.agency_id is None or not dataset_ids:
        return {}
    now = utcnow()
    out: dict[int, list[Grant]] = {}
    for grant in session.scalars(
        select(Grant)
        .where(
            Grant.agency_id == actor.agency_id,
            Grant.dataset_id.in_(list(dataset_ids)),
            Grant.status == GrantStatus.ACTIVE,
            Grant.starts_at <= now,
            or_(Grant.expires_at.is_(None), Grant.expires_at > now),
        )
        .order_by(Grant.id)
    ):
        out.setdefault(grant.dataset_id, []).append(grant)
    for grants in out.values():
        grants.sort(key=_widest_first)
    return out
