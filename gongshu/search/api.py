"""The search area's JSON API: pinyin overrides and the state of the index.

Searching itself is ``GET /api/v1/datasets`` (the catalog's list endpoint).
"""

from __future__ import annotations

from fastapi import APIRouter

from gongshu.search import service
from gongshu.search.schemas import (
    IndexStatus,
    OverrideChange,
    PinyinOverrideIn,
    PinyinOverrideRead,
)
from gongshu.web.deps import ActorDep, SessionDep

router = APIRouter(tags=["search"])


@router.get(
    "/search/pinyin-overrides",
    response_model=list[PinyinOverrideRead],
    summary="List pinyin overrides",
)
def list_overrides(session: SessionDep, actor: ActorDep) -> list[PinyinOverrideRead]:
    """City bureau admins and system admins."""
    return [PinyinOverrideRead.model_validate(o) for o in service.list_overrides(session, actor)]


@router.put(
    "/search/pinyin-overrides",
    response_model=OverrideChange,
    summary="Add or change a pinyin override",
)
def set_override(session: SessionDep, actor: ActorDep, data: PinyinOverrideIn) -> OverrideChange:
    """One syllable per character (``{"phrase": "费县", "pinyin": "bi xian"}``); the entries
    whose titles or agency names contain the phrase are re-indexed."""
    override, reindexed, job_id = service.set_override(session, actor, data)
    return OverrideChange(
        override=PinyinOverrideRead.model_validate(override),
        reindexed=reindexed,
        queued_job_id=job_id,
    )


@router.delete(
    "/search/pinyin-overrides/{phrase}",
    response_model=OverrideChange,
    summary="Remove a pinyin override",
)
def delete_override(session: SessionDep, actor: ActorDep, phrase: str) -> OverrideChange:
    reindexed, job_id = service.delete_override(session, actor, phrase)
    return OverrideChange(override=None, reindexed=reindexed, queued_job_id=job_id)


@router.get("/search/status", response_model=IndexStatus, summary="State of the search index")
def status(session: SessionDep, actor: ActorDep) -> IndexStatus:
    """Catalog entries and indexed entries; ``stale`` means ``gongshu search reindex`` is due."""
    service.list_overrides(session, actor)  # the same admins
    entries, indexed = service.index_status(session)
    return IndexStatus(entries=entries, indexed=indexed, stale=entries != indexed)
