"""The search index: tokens per catalog entry, one document row per entry, pinyin overrides.

``search_token`` is an ordinary table with a B-tree on ``(token, dataset_id)``; no database
extension is needed, so SQLite and PostgreSQL answer the same queries the same way.
``search_doc`` holds what sorting needs and, like every token row, the id of the entry's
*facet key*: a ``search_facet`` row naming its agency, region, domain, classification, share
and open types, level, update cycle, state and resource format. ``search_tag`` holds each
entry's tags (with its facet key too), for the tag filter and the tag facet. Facet counts,
filters and visibility are decided on those few thousand keys, so a search never joins its
matches to anything to count them, and never touches the (wide) ``dataset`` rows until it
loads the page it shows.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.db import Base, utcnow

# Byte order on PostgreSQL whatever the database's locale, as on SQLite.
#: Longer tags are cut to this many characters in the index.
TAG_CHARS = 100

SortKey = String(400).with_variant(String(400, collation="C"), "postgresql")


FACET_COLUMNS: tuple[str, ...] = (
    "agency_id",
    "region_id",
    "domain",
    "category_class",
    "share_type",
    "open_type",
    "level",
    "update_cycle",
    "state",
    "format",
)


class SearchFacet(Base):
    """One combination of the ten facet values that some catalog entry has (or had).

    Rows are only ever added, never changed: an id always means the same combination, so a
    process may cache them. An entry whose facets change gets another key.
    """

    __tablename__ = "search_facet"
    __table_args__ = (UniqueConstraint(*FACET_COLUMNS, name="uq_search_facet_values"),)

    id: Mapped[int] = mapped_column(primary_key=True)
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
    format: Mapped[str] = mapped_column(String(32))


class SearchToken(Base):
    """One token (Han unigram/bigram, pinyin, initials, ASCII word) of one catalog entry.

    ``weight`` adds up where the token occurs: title 8, field labels 4, agency 2,
    description 1. ``facet_id`` is the entry's facet key (the same on all its tokens), so
    counting the matches of a token per facet key reads the token's rows and nothing else:
    on SQLite the rows sit in the primary key (``WITHOUT ROWID``), on PostgreSQL the primary
    key index carries them (``INCLUDE``) for index-only scans.
    """

    __tablename__ = "search_token"
    __table_args__ = (
        PrimaryKeyConstraint(
            "token",
            "dataset_id",
            name="pk_search_token",
            postgresql_include=["weight", "facet_id"],
        ),
        Index("ix_search_token_dataset_id", "dataset_id"),
        {"sqlite_with_rowid": False},
    )

    token: Mapped[str] = mapped_column(String(64))
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"))
    weight: Mapped[int] = mapped_column(SmallInteger)
    facet_id: Mapped[int] = mapped_column(Integer)


class SearchDoc(Base):
    """What a search needs to know about one catalog entry besides its tokens.

    Its facet key, its code and update time, and its title as a pinyin sort key (each
    order has an index ending in the code, so a page can be read in order and stop early);
    written in the same transaction as the entry.
    """

    __tablename__ = "search_doc"
    __table_args__ = (
        Index("ix_search_doc_code", "code"),
        Index("ix_search_doc_title_sort", "title_sort", "code"),
        Index("ix_search_doc_updated_at", "updated_at", "code"),
        Index("ix_search_doc_facet_id", "facet_id"),
    )

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("dataset.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    code: Mapped[str] = mapped_column(String(64))
    title_sort: Mapped[str] = mapped_column(SortKey)
    facet_id: Mapped[int] = mapped_column(ForeignKey("search_facet.id"))
    updated_at: Mapped[dt.datetime]


class SearchTag(Base):
    """One tag of one catalog entry, as the entry's ``tags`` list holds it (trimmed).

    Written with the entry's other index rows. ``facet_id`` is the entry's facet key, so
    the tag facet is counted on these rows and ``search_facet`` alone (visibility and filters
    are facet-key conditions), like the token counts; the tag filter reads the tag's range.
    """

    __tablename__ = "search_tag"
    __table_args__ = (
        PrimaryKeyConstraint(
            "tag", "dataset_id", name="pk_search_tag", postgresql_include=["facet_id"]
        ),
        Index("ix_search_tag_dataset_id", "dataset_id"),
        {"sqlite_with_rowid": False},
    )

    # Byte order on PostgreSQL too: the facet breaks ties by tag, as on SQLite.
    tag: Mapped[str] = mapped_column(
        String(TAG_CHARS).with_variant(String(TAG_CHARS, collation="C"), "postgresql")
    )
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id", ondelete="CASCADE"))
    facet_id: Mapped[int] = mapped_column(Integer)


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


class SearchState(Base):
    """One row: a token that changes whenever a transaction that changed the index commits.

    Processes cache public search counts under it (``gongshu.search.cache``): a count read
    under an old token is never served once the new one is visible. It is random, not a
    counter, so that two databases copied from one never agree on it after a change.
    """

    __tablename__ = "search_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(32))
