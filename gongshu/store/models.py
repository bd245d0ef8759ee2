"""Dataset versions (数据版本): the immutable row sets of a catalog entry, and its head.

Each ingestion (upload, pull, push) or rollback produces one ``DatasetVersion``: a Parquet
file and a serving index under a storage prefix, never changed afterwards. ``DatasetHead``
names the version readers see; publishing a version moves the head in the same transaction
that inserts the version row, so a reader sees the old or the new version, never a mix.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gongshu.db import Base, utcnow
from gongshu.orgs.models import str_enum

PARQUET_NAME = "data.parquet"
INDEX_NAME = "index.sqlite"


class VersionStatus(enum.StrEnum):
    LIVE = "live"  # 当前版本: what readers see
    SUPERSEDED = "superseded"  # 历史版本: files kept, readable by version id
    PRUNED = "pruned"  # 已清理: files removed by the retention rule, the row kept for history


class DatasetVersion(Base):
    """One immutable version of a catalog entry's rows.

    ``number`` counts 1, 2, … per entry. ``schema`` is the list of fields the files were
    written with (``name, label, type, key, filterable, identifier, sensitivity``), so an old
    version stays readable after the catalog's fields change. ``source`` says what produced
    it (upload, pull, push, rollback, with file name, checksum, query …); ``added``,
    ``removed`` and ``changed`` count rows against ``based_on`` when known.
    """

    __tablename__ = "dataset_version"
    __table_args__ = (UniqueConstraint("dataset_id", "number", name="uq_dataset_version_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id"), index=True)
    number: Mapped[int]
    status: Mapped[VersionStatus] = mapped_column(str_enum(VersionStatus, "version_status"))
    prefix: Mapped[str] = mapped_column(String(200), unique=True)
    row_count: Mapped[int] = mapped_column(BigInteger, default=0)
    byte_size: Mapped[int] = mapped_column(BigInteger, default=0)
    checksum: Mapped[str] = mapped_column(String(64))
    schema: Mapped[list[Any]] = mapped_column(default=list)
    mode: Mapped[str] = mapped_column(String(16))
    source: Mapped[dict[str, Any]] = mapped_column(default=dict)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"))
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_version.id"))
    added: Mapped[int | None]
    removed: Mapped[int | None]
    changed: Mapped[int | None]
    rejected_count: Mapped[int] = mapped_column(default=0)
    rejected_key: Mapped[str] = mapped_column(String(300), default="")
    quality: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    @property
    def parquet_key(self) -> str:
        return self.prefix + PARQUET_NAME

    @property
    def index_key(self) -> str:
        return self.prefix + INDEX_NAME

    @property
    def field_names(self) -> list[str]:
        return [str(f["name"]) for f in self.schema]


class DatasetHead(Base):
    """The version of a catalog entry that readers see (one row per entry with data).

    ``version_id`` is empty only inside the first publish's transaction: the row is created
    first so that concurrent publishes of one entry have a row to lock and queue on.
    """

    __tablename__ = "dataset_head"

    dataset_id: Mapped[int] = mapped_column(ForeignKey("dataset.id"), primary_key=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_version.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
