"""The search index: tokens per catalog entry, one document row per entry, pinyin overrides.

``search_token`` is an ordinary table with a B-tree on ``(token, dataset_id)``; no database
extension is needed, so SQLite and PostgreSQL answer the same queries the same way.
``search_doc`` repeats the columns that facets, filters, visibility and sorting need, so a
search never touches the (wide) ``dataset`` rows until it loads the page it shows.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, PrimaryKeyConstraint, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.db import Base, utcnow

# Byte order on PostgreSQL whatever the database's locale, as on SQLite.
SortKey = String(400).with_variant(String(400, collation="C"), "postgresql")


class SearchToken(Base):
    """One token (Han unigram/bigram, pinyin, initials, ASCII word) of one catalog entry.

    ``weight`` adds up where the token occurs: title 8, field labels 4, agency 2,
    description 1.
    """

    __tablename__ = "search_token"
    __table_args__ = (
        PrimaryKeyConstraint("token", "dataset_id", name="pk_search_token"),
        Index("ix_search_token_dataset_id", "dataset_id"),
        {"sqlite_with_rowid": False},
    )

    token: Mapped[str] = mapped_column(String(64))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"))
    weight: Mapped[int] = mapped_column(SmallInteger)


class SearchDoc(Base):
    """What a search needs to know about one catalog entry besides its tokens.

    A copy of the entry's filter and facet columns, its code and update time, and its title
    as a pinyin sort key; written in the same transaction as the entry.
    """

    __tablename__ = "search_doc"
    __table_args__ = (
        Index("ix_search_doc_title_sort", "title_sort", "code"),
        Index("ix_search_doc_updated_at", "updated_at"),
        Index("ix_search_doc_agency_state", "agency_id", "state"),
    )

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    code: Mapped[str] = mapped_column(String(64))
    title_sort: Mapped[str] = mapped_column(SortKey)
    agency_id: Mapped[int]
    region_id: Mapped[int]
    domain: Mapped[str] = mapped_column(String(50))
    # Plain strings: the dataset table's CHECKs govern the values; a copy need not.
    category_class: Mapped[str] = mapped_column(String(32))
    share_type: Mapped[str] = mapped_column(String(32))
    open_type: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(32))
    update_cycle: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[dt.datetime]


class PinyinOverride(Base):
    """How a phrase is read in pinyin (费县 → "bi xian"), where pypinyin gets it wrong.

    Admins edit these; changing one re-indexes the entries whose titles or agency names
    contain the phrase.
    """

    __tablename__ = "search_pinyin_override"

    phrase: Mapped[str] = mapped_column(String(20), primary_key=True)
    pinyin: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
