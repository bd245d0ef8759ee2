"""Which catalog entries are public (公开), and who the anonymous reader is.

One rule for every public channel (portal pages, the CKAN API, DCAT, Data Packages):

1. the entry is **published** (a draft, an entry under review or a withdrawn one is not);
2. its **open type** (开放属性) allows opening: ``unconditional`` (无条件开放) shows the
   metadata and the rows; ``conditional`` (有条件开放) shows the metadata, and rows only to
   approved applicants through the gate; ``none`` (不予开放) keeps it invisible;
3. its **level** allows it: core, important and general_4 data are never opened, whatever
   the open type says (domain README §2), and the other levels only with the open types
   the grading table in force (``gongshu.catalog.grading``) allows for them — an entry
   whose open type contradicts its level (say, after the table changed) stays hidden.

``public_actor`` is the anonymous reader every public channel hands to the gate. It is a
``PUBLIC`` user with id 0, never the system actor (``user_id=None``), which reads all.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, and_, false, or_, select

from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.catalog.grading import get_table
from gongshu.catalog.models import Dataset, DatasetState, Level, OpenType

#: Never opened, whatever the entry or the grading table says.
NEVER_OPENED: frozenset[Level] = frozenset({Level.CORE, Level.IMPORTANT, Level.GENERAL_4})
#: The open types that make an entry visible to the public.
OPEN_TYPES: frozenset[OpenType] = frozenset({OpenType.UNCONDITIONAL, OpenType.CONDITIONAL})
#: The user id of the anonymous public reader (0: no account; ``None`` is the system).
PUBLIC_USER_ID = 0
PUBLIC_NAME = "public"


def open_types_for(level: Level) -> frozenset[OpenType]:
    """The open types under which an entry of ``level`` is public (empty: never)."""
    if level in NEVER_OPENED:
        return frozenset()
    return get_table()[level].open & OPEN_TYPES


def public_clause() -> ColumnElement[bool]:
    """A WHERE condition on ``dataset`` selecting the public entries."""
    per_level = [
        and_(Dataset.level == level, Dataset.open_type.in_(sorted(allowed)))
        for level in Level
        if (allowed := open_types_for(level))
    ]
    return and_(Dataset.state == DatasetState.PUBLISHED, or_(false(), *per_level))


def public_entries_query() -> Select[Dataset]:
    """The public entries (unordered): add filters, order and loader options as needed."""
    return select(Dataset).where(public_clause())


def is_public(dataset: Dataset) -> bool:
    """Whether the public may see this entry's metadata (the same rule as the query)."""
    return dataset.state == DatasetState.PUBLISHED and dataset.open_type in open_types_for(
        dataset.level
    )


def rows_are_open(dataset: Dataset) -> bool:
    """Whether the entry's rows are open to everyone (unconditional); a conditional entry's
    rows go only to approved applicants, whom the gate recognises by their grants."""
    return is_public(dataset) and dataset.open_type == OpenType.UNCONDITIONAL


def public_actor(request_id: str = "", ip: str = "") -> Actor:
    """The anonymous reader of the public channels (a ``PUBLIC`` user with id 0)."""
    return Actor(
        user_id=PUBLIC_USER_ID,
        name=PUBLIC_NAME,
        roles=frozenset({Role.PUBLIC}),
        request_id=request_id,
        ip=ip,
    )


def is_anonymous(actor: Actor) -> bool:
    return actor.user_id == PUBLIC_USER_ID


__all__ = [
    "NEVER_OPENED",
    "OPEN_TYPES",
    "is_anonymous",
    "is_public",
    "open_types_for",
    "public_actor",
    "public_clause",
    "public_entries_query",
    "rows_are_open",
]
