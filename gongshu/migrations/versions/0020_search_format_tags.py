"""Search facets for resource format and tags: ``search_facet.format`` and ``search_tag``.

Facet keys now include the entry's format, so the keys built before are wrong: the index is
emptied (``gongshu search status`` then reports it stale) and a ``search.reindex`` job is
queued to rebuild it with formats and tags; ``gongshu search reindex`` does the same at once.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gongshu.db

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_FACETS = (
    "agency_id",
    "region_id",
    "domain",
    "category_class",
    "share_type",
    "open_type",
    "level",
    "update_cycle",
    "state",
)
_JOB = sa.table(
    "job",
    sa.column("kind", sa.String),
    sa.column("payload", sa.JSON),
    sa.column("status", sa.String),
    sa.column("run_after", gongshu.db.UTCDateTime),
    sa.column("attempts", sa.Integer),
    sa.column("max_attempts", sa.Integer),
    sa.column("locked_by", sa.String),
    sa.column("result", sa.JSON),
    sa.column("error", sa.Text),
    sa.column("created_at", gongshu.db.UTCDateTime),
)


def _empty_index() -> None:
    """Drop the index rows (keys without a format must not survive), and queue a rebuild
    when there are entries to index."""
    op.execute("DELETE FROM search_token")
    op.execute("DELETE FROM search_doc")
    op.execute("DELETE FROM search_facet")
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT 1 FROM dataset LIMIT 1")).first() is None:
        return
    queued = sa.text("SELECT 1 FROM job WHERE kind = 'search.reindex' AND status = 'queued'")
    if bind.execute(queued).first() is not None:
        return
    now = gongshu.db.utcnow()
    op.bulk_insert(
        _JOB,
        [
            {
                "kind": "search.reindex",
                "payload": {},
                "status": "queued",
                "run_after": now,
                "attempts": 0,
                "max_attempts": 3,
                "locked_by": "",
                "result": {},
                "error": "",
                "created_at": now,
            }
        ],
    )


def upgrade() -> None:
    _empty_index()
    with op.batch_alter_table("search_facet", schema=None) as batch_op:
        batch_op.drop_constraint("uq_search_facet_values", type_="unique")
        batch_op.add_column(
            sa.Column("format", sa.String(length=32), server_default="", nullable=False)
        )
        batch_op.create_unique_constraint("uq_search_facet_values", [*_OLD_FACETS, "format"])
    op.create_table(
        "search_tag",
        sa.Column(
            "tag",
            sa.String(length=100).with_variant(sa.String(length=100, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("facet_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["dataset.id"],
            name=op.f("fk_search_tag_dataset_id_dataset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tag", "dataset_id", name="pk_search_tag", postgresql_include=["facet_id"]
        ),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_search_tag_dataset_id", "search_tag", ["dataset_id"])


def downgrade() -> None:
    op.drop_index("ix_search_tag_dataset_id", table_name="search_tag")
    op.drop_table("search_tag")
    _empty_index()
    with op.batch_alter_table("search_facet", schema=None) as batch_op:
        batch_op.drop_constraint("uq_search_facet_values", type_="unique")
        batch_op.drop_column("format")
        batch_op.create_unique_constraint("uq_search_facet_values", list(_OLD_FACETS))
