"""A dataset's versions: history, diff, rollback and traceability (溯源).

Every row a version holds carries ``_row``, the row number in the source it came from, and
appends, upserts and rollbacks keep it. A row is traced by walking back through the
versions while they hold the same row: the oldest one introduced it, and that version's
ingestion names the file (or query), the person and the time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.auth.actor import Actor
from gongshu.auth.models import User
from gongshu.catalog.models import Dataset, FieldType, Sensitivity
from gongshu.errors import NotFound, ValidationFailed
from gongshu.gate import service as gate
from gongshu.i18n import N_
from gongshu.ingest.models import Ingestion
from gongshu.ingest.schemas import ChangeRead, DiffRead, TraceRead
from gongshu.ingest.spec import FieldSpec, IdentifierKind
from gongshu.store.models import DatasetVersion, VersionStatus
from gongshu.store.storage import get_storage
from gongshu.store.versions import VersionWriter, current_version, list_versions, publish

MSG_NO_VERSION = N_("版本不存在")
MSG_PRUNED = N_("第 {number} 版的数据已按保留策略清理，无法回退")
MSG_ALREADY_CURRENT = N_("第 {number} 版已是当前版本")
MSG_NO_DATA = N_("该目录条目还没有数据")
MSG_NO_KEY = N_("目录条目没有主键信息项，无法按主键溯源")
MSG_NOT_FOUND_KEY = N_("当前版本中没有主键为 {value} 的数据")
MSG_CHOOSE_VERSIONS = N_("请选择要比较的两个版本")


def version_by_number(session: Session, dataset_id: int, number: int) -> DatasetVersion:
    version = session.scalar(
        select(DatasetVersion).where(
            DatasetVersion.dataset_id == dataset_id, DatasetVersion.number == number
        )
    )
    if version is None:
        raise NotFound(MSG_NO_VERSION)
    return version


def version_by_id(session: Session, version_id: int) -> DatasetVersion:
    version = session.get(DatasetVersion, version_id)
    if version is None:
        raise NotFound(MSG_NO_VERSION)
    return version


def ingestion_of(session: Session, version: DatasetVersion) -> Ingestion | None:
    """The ingestion that published ``version`` (None for rollbacks)."""
    return session.scalar(select(Ingestion).where(Ingestion.version_id == version.id))


def specs_of_version(version: DatasetVersion) -> list[FieldSpec]:
    """The fields a version was written with (from its stored schema)."""
    specs = []
    for column in version.schema:
        identifier = column.get("identifier") or None
        specs.append(
            FieldSpec(
                name=column["name"],
                label=column.get("label", column["name"]),
                data_type=FieldType(column["type"]),
                is_key=bool(column.get("key")),
                filterable=bool(column.get("filterable")),
                identifier=IdentifierKind(identifier) if identifier else None,
                sensitivity=Sensitivity(column.get("sensitivity") or "none"),
            )
        )
    return specs


def rollback(session: Session, actor: Actor, dataset: Dataset, number: int) -> DatasetVersion:
    """Publish an older version's rows again, as a new version (history is never rewritten)."""
    from gongshu.ingest.service import check_may_ingest

    check_may_ingest(actor, dataset)
    target = version_by_number(session, dataset.id, number)
    current = current_version(session, dataset.id)
    if current is not None and current.id == target.id:
        raise ValidationFailed(MSG_ALREADY_CURRENT, number=number)
    if target.status is VersionStatus.PRUNED:
        raise ValidationFailed(MSG_PRUNED, number=number)
    storage = get_storage()
    with VersionWriter(storage, dataset.id, specs_of_version(target)) as writer:
        for batch in gate.scan(session, actor, dataset, purpose="rollback", version=target):
            writer.write(batch)
        staged = writer.finish()
    return publish(
        session,
        actor,
        dataset,
        staged,
        mode="rollback",
        source={"kind": "rollback", "from_version": target.number, **_origin(target)},
        based_on=current,
        quality=dict(target.quality),
        rejected_count=0,
    )


def _origin(version: DatasetVersion) -> dict[str, Any]:
    return {k: version.source[k] for k in ("file_name", "ingestion") if k in version.source}


def history(session: Session, dataset_id: int) -> list[DatasetVersion]:
    return list_versions(session, dataset_id)


@dataclass(frozen=True)
class Trace:
    """Where one row of the current version came from."""

    version: DatasetVersion
    row: dict[str, Any]
    source_row: int | None
    ingestion: Ingestion | None
    uploaded_by: str
    introduced_in: DatasetVersion  # the oldest version in an unbroken run holding this row


def trace(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    key_values: Sequence[Any],
    *,
    version: DatasetVersion | None = None,
) -> Trace:
    """Trace the row with this key in ``version`` (default: the current one) to its source."""
    version = version or current_version(session, dataset.id)
    if version is None:
        raise NotFound(MSG_NO_DATA)
    key = [c["name"] for c in version.schema if c.get("key")]
    if not key:
        raise ValidationFailed(MSG_NO_KEY)
    value = key_values[0]
    rows = gate.lookup(session, actor, dataset, key[0], [value], purpose="trace", version=version)
    if not rows:
        raise NotFound(MSG_NOT_FOUND_KEY, value=value)
    row = rows[0]
    introduced, first_row = version, row
    for older in list_versions(session, dataset.id):
        if older.number >= introduced.number:
            continue
        if older.number != introduced.number - 1 or older.status is VersionStatus.PRUNED:
            break
        earlier = gate.lookup(
            session, actor, dataset, key[0], [value], purpose="trace", version=older
        )
        if not earlier or _visible(earlier[0]) != _visible(row):
            break
        introduced, first_row = older, earlier[0]
    ingestion = _ingestion_for(session, introduced)
    uploaded_by = ""
    if ingestion is not None and ingestion.created_by_id is not None:
        user = session.get(User, ingestion.created_by_id)
        uploaded_by = user.display_name if user is not None else ""
    return Trace(
        version=version,
        row=row,
        source_row=first_row.get("_row"),
        ingestion=ingestion,
        uploaded_by=uploaded_by,
        introduced_in=introduced,
    )


def _ingestion_for(session: Session, version: DatasetVersion) -> Ingestion | None:
    """The ingestion whose source holds the version's new rows (a rollback's original)."""
    ingestion_id = version.source.get("ingestion")
    if isinstance(ingestion_id, int):
        return session.get(Ingestion, ingestion_id)
    return ingestion_of(session, version)


def _visible(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if not k.startswith("_")}


def diff_read(
    session: Session, actor: Actor, dataset: Dataset, old_number: int, new_number: int
) -> DiffRead:
    """The rows added, removed and changed from one version to another, by key."""
    old = version_by_number(session, dataset.id, old_number)
    new = version_by_number(session, dataset.id, new_number)
    for v in (old, new):
        if v.status is VersionStatus.PRUNED:
            raise ValidationFailed(MSG_PRUNED, number=v.number)
    if not any(c.get("key") for c in new.schema):
        raise ValidationFailed(MSG_NO_KEY)
    result = gate.diff(session, actor, dataset, old, new, purpose="diff")
    return DiffRead(
        old=old.number,
        new=new.number,
        added=result.added,
        removed=result.removed,
        changed=result.changed,
        added_rows=list(result.added_rows),
        removed_rows=list(result.removed_rows),
        changes=[
            ChangeRead(key=list(c.key.values()), field=c.field, old=c.old, new=c.new)
            for c in result.changed_cells
        ],
    )


def trace_read(found: Trace) -> TraceRead:
    ingestion = found.ingestion
    return TraceRead(
        version=found.version.number,
        row=_visible(found.row),
        source_row=found.source_row,
        ingestion_id=ingestion.id if ingestion else None,
        file_name=ingestion.file_name if ingestion else "",
        file_sha256=ingestion.file_sha256 if ingestion else "",
        source_kind=str(ingestion.source_kind) if ingestion else None,
        uploaded_by=found.uploaded_by,
        uploaded_at=ingestion.created_at if ingestion else None,
        introduced_in=found.introduced_in.number if found.introduced_in else None,
    )
