"""Output shapes of notices (rendered in the reader's language)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from gongshu.i18n import current_language
from gongshu.notices.models import Notice
from gongshu.notices.service import render_text


class NoticeRead(BaseModel):
    id: int
    kind: str
    title: str
    body: str
    link: str
    created_at: dt.datetime
    read_at: dt.datetime | None

    @classmethod
    def of(cls, notice: Notice) -> NoticeRead:
        lang = current_language.get()
        return cls(
            id=notice.id,
            kind=notice.kind,
            title=render_text(notice.title, lang, notice.params),
            body=render_text(notice.body, lang, notice.params),
            link=notice.link,
            created_at=notice.created_at,
            read_at=notice.read_at,
        )


class NoticePage(BaseModel):
    items: list[NoticeRead]
    total: int
    unread: int
    page: int
    per_page: int


class UnreadCount(BaseModel):
    unread: int


class MarkedCount(BaseModel):
    marked: int
