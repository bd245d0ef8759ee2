"""Audit chain API: searching entries, sharing statistics, verification, and the signed
checkpoints (with inclusion proofs) an outside party keeps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from gongshu.audit import checkpoint, group, queries, service, stats
from gongshu.audit.schemas import (
    AuditEntryPage,
    AuditEntryRead,
    CheckpointRead,
    CountsRead,
    ProofRead,
    StatsDayRead,
    StatsRead,
    StatsRowRead,
    VerifyRead,
)
from gongshu.auth.permissions import Perm, require
from gongshu.errors import NotFound
from gongshu.i18n import N_
from gongshu.web.deps import ActorDep, SessionDep, SettingsDep
from gongshu.workdays.calendar import TZ

router = APIRouter(prefix="/audit", tags=["audit"])
# Drain the grouped audit writers when the application shuts down (FastAPI adds a router's
# shutdown handlers to the application's).
router.on_shutdown.append(group.shutdown_all)

MSG_NO_ENTRY = N_("没有这条审计记录")


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """A time without a zone is the city's (Asia/Shanghai)."""
    if value is None:
        return None
    return value.replace(tzinfo=TZ) if value.tzinfo is None else value


def _query(
    agency_id: int | None,
    provider_id: int | None,
    dataset_id: int | None,
    actor_id: int | None,
    actor_name: str,
    action: str,
    object_type: str,
    object_id: str,
    result: str,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> queries.EntryQuery:
    return queries.EntryQuery(
        agency_id=agency_id,
        provider_id=provider_id,
        dataset_id=dataset_id,
        actor_id=actor_id,
        actor_name=actor_name,
        action=action,
        object_type=object_type,
        object_id=object_id,
        result=result,
        since=_aware(since),
        until=_aware(until),
    )


FILTER_DOC = (
    "Who may look: auditors, the audit admin and the city's bureau admins see every entry; "
    "a district's bureau admin its district's bodies and catalog entries; an agency's data "
    "officers their own body's entries and the reads of their body's catalog entries. "
    "`since`/`until` are ISO 8601 times (without a zone: Asia/Shanghai), `until` exclusive."
)


@router.get(
    "/entries",
    response_model=AuditEntryPage,
    summary="Search audit entries, newest first (keyset pages)",
    description=FILTER_DOC,
)
def entries(
    session: SessionDep,
    actor: ActorDep,
    agency_id: int | None = Query(None, description="the body that acted"),
    provider_id: int | None = Query(None, description="the body whose catalog entries"),
    dataset_id: int | None = Query(None, description="the catalog entry concerned"),
    actor_id: int | None = Query(None, description="the user who acted"),
    actor_name: str = Query("", max_length=100, description="part of the actor's name"),
    action: str = Query("", max_length=64, description="action prefix, e.g. `data.`"),
    object_type: str = Query("", max_length=32),
    object_id: str = Query("", max_length=64),
    result: str = Query("", pattern="^(|allowed|denied)$", description="`allowed` or `denied`"),
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    before: int | None = Query(None, ge=1, description="`next_before` of the previous page"),
    per_page: int = Query(queries.DEFAULT_PER_PAGE, ge=1, le=queries.MAX_PER_PAGE),
) -> AuditEntryPage:
    query = _query(
        agency_id, provider_id, dataset_id, actor_id, actor_name, action, object_type,
        object_id, result, since, until,
    )  # fmt: skip
    page = queries.search(session, actor, query, before=before, per_page=per_page)
    return AuditEntryPage(
        items=[AuditEntryRead.model_validate(e) for e in page.items],
        next_before=page.next_before,
        per_page=page.per_page,
    )


@router.get(
    "/entries.csv",
    response_class=StreamingResponse,
    summary="Export matching audit entries as CSV",
    description=FILTER_DOC + f" At most {queries.CSV_LIMIT:,} entries, newest first.",
    responses={200: {"content": {"text/csv": {}}}},
)
def entries_csv(
    session: SessionDep,
    actor: ActorDep,
    agency_id: int | None = None,
    provider_id: int | None = None,
    dataset_id: int | None = None,
    actor_id: int | None = None,
    actor_name: str = Query("", max_length=100),
    action: str = Query("", max_length=64),
    object_type: str = Query("", max_length=32),
    object_id: str = Query("", max_length=64),
    result: str = Query("", pattern="^(|allowed|denied)$"),
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> StreamingResponse:
    query = _query(
        agency_id, provider_id, dataset_id, actor_id, actor_name, action, object_type,
        object_id, result, since, until,
    ).checked()  # fmt: skip
    chunks = queries.csv_chunks(session, actor, query)
    first = next(chunks)  # permission and filter errors surface before the response starts
    return StreamingResponse(
        _prepend(first, chunks),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-entries.csv"'},
    )


def _prepend(first: str, rest: Iterator[str]) -> Iterator[str]:
    yield first
    yield from rest


@router.get(
    "/entries/{seq}", response_model=AuditEntryRead, summary="One audit entry by its sequence"
)
def entry(session: SessionDep, actor: ActorDep, seq: int) -> AuditEntryRead:
    found = queries.get_entry(session, actor, seq) if 0 < seq < 2**63 else None
    if found is None:
        raise NotFound(MSG_NO_ENTRY)
    return AuditEntryRead.model_validate(found)


@router.get(
    "/stats",
    response_model=StatsRead,
    summary="Sharing statistics: calls, records exchanged and verifications",
    description="Per body, per catalog entry and per day over a period (dates in "
    "Asia/Shanghai, both inclusive; default the last 30 days), counted from the audit "
    "chain's gate entries the reader may see.",
)
def sharing_stats(
    session: SessionDep,
    actor: ActorDep,
    since: dt.date | None = None,
    until: dt.date | None = None,
    agency_id: int | None = None,
    dataset_id: int | None = None,
) -> StatsRead:
    found = stats.sharing_stats(
        session, actor, since, until, agency_id=agency_id, dataset_id=dataset_id
    )

    def counts(c: stats.Counts) -> dict[str, int]:
        return {
            "calls": c.calls,
            "denied": c.denied,
            "records": c.records,
            "verifications": c.verifications,
        }

    return StatsRead(
        since=found.since,
        until=found.until,
        totals=CountsRead(**counts(found.totals)),
        by_agency=[
            StatsRowRead(id=r.key, name=r.name, **counts(r.counts)) for r in found.by_agency
        ],
        by_dataset=[
            StatsRowRead(id=r.key, name=r.name, **counts(r.counts)) for r in found.by_dataset
        ],
        by_day=[StatsDayRead(day=d.day, **counts(d.counts)) for d in found.by_day],
    )


@router.post("/verify", response_model=VerifyRead, summary="Recompute the whole audit chain")
def verify(session: SessionDep, actor: ActorDep, settings: SettingsDep) -> VerifyRead:
    """Needs `audit.verify`. Checks every entry and every signed checkpoint; names the
    first broken entry, if any."""
    require(actor, Perm.AUDIT_VERIFY)
    result = service.verify(session, settings=settings)
    return VerifyRead(
        ok=result.ok,
        checked=result.checked,
        broken_seq=result.broken_seq,
        broken_id=result.broken_id,
        reason=result.localized_reason() if result.reason else "",
        checkpoints=result.checkpoints,
        checkpoint_id=result.checkpoint_id,
        seconds=round(result.seconds, 3),
    )


@router.get(
    "/checkpoints",
    summary="Every signed checkpoint, as JSON lines",
    description="One `CheckpointRead` object per line, oldest first: keep them outside the "
    "platform and check the database against them with `gongshu audit verify --checkpoints "
    "FILE`. Signatures verify with the platform seal's public key named by `key_id` "
    "(`GET /api/v1/seal/keys`). For auditors, the audit admin and the city's bureau admins.",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {
                "application/x-ndjson": {"schema": {"$ref": "#/components/schemas/CheckpointRead"}}
            }
        }
    },
)
def checkpoints(
    session: SessionDep,
    actor: ActorDep,
    after_size: int = Query(0, ge=0, description="only checkpoints of larger trees"),
) -> StreamingResponse:
    checkpoint.require_reader(actor)
    return StreamingResponse(
        checkpoint.export_lines(session, after_size=after_size),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="audit-checkpoints.jsonl"'},
    )


@router.get(
    "/proof/{seq}",
    response_model=ProofRead,
    summary="An RFC 6962 inclusion proof of one entry in a checkpoint",
    description="The audit path of entry `seq` in the tree of the checkpoint of "
    "`tree_size` (default: the latest). Hashes the whole tree: about a second per million "
    "entries.",
)
def proof(
    session: SessionDep,
    actor: ActorDep,
    seq: int,
    tree_size: int | None = Query(None, ge=1),
) -> ProofRead:
    found = checkpoint.inclusion(session, actor, seq, tree_size)
    return ProofRead(
        seq=found.seq,
        leaf_index=found.seq - 1,
        tree_size=found.checkpoint.tree_size,
        checkpoint_id=found.checkpoint.id,
        entry_hash=found.entry_hash,
        leaf_hash=found.leaf.hex(),
        root=found.checkpoint.root_hash,
        proof=[p.hex() for p in found.path],
        checkpoint=CheckpointRead.model_validate(
            checkpoint.ExportedCheckpoint.of(found.checkpoint).to_json()
        ),
    )
