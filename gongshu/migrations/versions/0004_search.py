"""Search index: tokens per catalog entry, a search document per entry, pinyin overrides
(seeded with place names that pypinyin reads wrongly).

The index starts empty: run ``gongshu search reindex`` after upgrading a database that
already has catalog entries (entries written afterwards index themselves).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gongshu.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (not imported) so that the migration stays what it was.
SEED_OVERRIDES = (
    ("费县", "bi xian", "山东省临沂市费县"),
    ("单县", "shan xian", "山东省菏泽市单县"),
    ("长清", "chang qing", "山东省济南市长清区"),
    ("长治", "chang zhi", "山西省长治市"),
    ("涡阳", "guo yang", "安徽省亳州市涡阳县"),
)


def upgrade() -> None:
    override = op.create_table(
        "search_pinyin_override",
        sa.Column("phrase", sa.String(length=20), nullable=False),
        sa.Column("pinyin", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("updated_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("phrase", name=op.f("pk_search_pinyin_override")),
    )
    op.create_table(
        "search_facet",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("domain", sa.String(length=50), nullable=False),
        sa.Column("category_class", sa.String(length=32), nullable=False),
        sa.Column("share_type", sa.String(length=32), nullable=False),
        sa.Column("open_type", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("update_cycle", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_facet")),
        sa.UniqueConstraint(
            "agency_id",
            "region_id",
            "domain",
            "category_class",
            "share_type",
            "open_type",
            "level",
            "update_cycle",
            "state",
            name="uq_search_facet_values",
        ),
    )
    op.create_table(
        "search_doc",
        sa.Column("dataset_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column(
            "title_sort",
            sa.String(length=400).with_variant(sa.String(length=400, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("facet_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", gongshu.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_search_doc_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["facet_id"],
            ["search_facet.id"],
            name=op.f("fk_search_doc_facet_id_search_facet"),
        ),
        sa.PrimaryKeyConstraint("dataset_id", name=op.f("pk_search_doc")),
    )
    op.create_index("ix_search_doc_code", "search_doc", ["code"])
    op.create_index("ix_search_doc_facet_id", "search_doc", ["facet_id"])
    op.create_index("ix_search_doc_title_sort", "search_doc", ["title_sort", "code"])
    op.create_index("ix_search_doc_updated_at", "search_doc", ["updated_at", "code"])
    op.create_table(
        "search_token",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("weight", sa.SmallInteger(), nullable=False),
        sa.Column("facet_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_search_token_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "token",
            "dataset_id",
            name="pk_search_token",
            postgresql_include=["weight", "facet_id"],
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_search_token_dataset_id", "search_token", ["dataset_id"])
    now = gongshu.db.utcnow()
    op.bulk_insert(
        override,
        [{"phrase": p, "pinyin": s, "note": n, "updated_at": now} for p, s, n in SEED_OVERRIDES],
    )


def downgrade() -> None:
    op.drop_index("ix_search_token_dataset_id", table_name="search_token")
    op.drop_table("search_token")
    op.drop_index("ix_search_doc_updated_at", table_name="search_doc")
    op.drop_index("ix_search_doc_title_sort", table_name="search_doc")
    op.drop_index("ix_search_doc_facet_id", table_name="search_doc")
    op.drop_index("ix_search_doc_code", table_name="search_doc")
    op.drop_table("search_doc")
    op.drop_table("search_facet")
    op.drop_table("search_pinyin_override")
