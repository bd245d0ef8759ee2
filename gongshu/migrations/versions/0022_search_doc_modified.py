"""``search_doc.updated_at`` becomes the last change to an entry's metadata *or* data.

The index now stamps each entry with the later of its own update time and its live
version's publication, and re-indexes it when a version goes live, so that "newest first"
and CKAN's ``metadata_modified`` agree. Rows indexed before take their live version's time
here.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = """
    SELECT v.published_at FROM dataset_head h JOIN dataset_version v ON v.id = h.version_id
    WHERE h.dataset_id = search_doc.dataset_id
"""


def upgrade() -> None:
    op.execute(
        f"UPDATE search_doc SET updated_at = ({_LIVE}) "  # noqa: S608 - no user input
        f"WHERE ({_LIVE}) > search_doc.updated_at"
    )
    _new_token()


def downgrade() -> None:
    op.execute(
        "UPDATE search_doc SET updated_at = (SELECT d.updated_at FROM dataset d "
        "WHERE d.id = search_doc.dataset_id)"
    )
    _new_token()


def _new_token() -> None:
    """The index changed: counts cached under the old token must not be served."""
    change = sa.text("UPDATE search_state SET token = :token")
    op.execute(change.bindparams(token=secrets.token_hex(8)))
