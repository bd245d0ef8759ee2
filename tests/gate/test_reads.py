"""Every gate operation applies the grant's rows and masks: count, aggregate, scan, export,
lookup, diff, profile, entity search and files; masked columns join across entries."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pyarrow as pa
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.catalog.models import Dataset, FieldType, Sensitivity
from gongshu.errors import PermissionDenied, ValidationFailed
from gongshu.gate import service as gate
from gongshu.gate.filters import Filter
from gongshu.ingest.spec import FieldSpec, IdentifierKind
from gongshu.masking import mask, pseudonym
from gongshu.settings import get_settings
from gongshu.share.models import Grant
from gongshu.store.models import DatasetVersion
from gongshu.store.storage import LocalStorage
from tests.factories import Person
from tests.gate.conftest import PEOPLE, person, person_id

KEY = get_settings().masking_secret
MakeGrant = Callable[..., Grant]
SOUTH = [["district", "in", ["兰山区", "罗庄区"]]]


def _last(db: Session, action: str) -> AuditEntry:
    entry = db.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq.desc())
    ).first()
    assert entry is not None
    return entry


def _south(i: int) -> bool:
    return i % 3 in (0, 1)


def test_count_and_aggregate_stay_inside_the_grant(
    db: Session,
    grantee: Person,
    people: Dataset,
    people_version: DatasetVersion,
    make_grant: MakeGrant,
    storage: LocalStorage,
) -> None:
    make_grant(people, grantee.user.agency_id, row_filter=SOUTH)
    south = [person(i) for i in range(30) if _south(i)]
    counted = gate.count(
        db,
        grantee.actor,
        people,
        purpose="统计",
        filters=[Filter("born", "ge", "1970-01-01")],
        storage=storage,
    )
    assert counted.rows == sum(1 for p in south if p["born"].year >= 1970)
    assert counted.version == people_version
    assert _last(db, "data.read").changes["rows"] == 0

    result = gate.aggregate(
        db,
        grantee.actor,
        people,
        purpose="统计",
        group_by=["district"],
        measures=[("count", None), ("sum", "income"), ("max", "born")],
        storage=storage,
    )
    assert result.columns == ["district", "count(*)", "sum(income)", "max(born)"]
    by_district = {r["district"]: r for r in result.rows}
    assert set(by_district) == {"兰山区", "罗庄区"} and not result.truncated
    lanshan = [p for p in south if p["district"] == "兰山区"]
    assert by_district["兰山区"]["count(*)"] == len(lanshan)
    assert by_district["兰山区"]["sum(income)"] == sum(p["income"] for p in lanshan)
    assert by_district["兰山区"]["max(born)"] == max(p["born"] for p in lanshan)

    # Grouping by a hashed field gives its pseudonyms; by a masked one, or measuring one: no.
    hashed = gate.aggregate(
        db, grantee.actor, people, purpose="统计", group_by=["person_id"], storage=storage
    )
    assert {r["person_id"] for r in hashed.rows} == {pseudonym(p["person_id"], KEY) for p in south}
    assert hashed.masks == {"person_id": "hash"}
    for kwargs in (
        {"group_by": ["name"]},
        {"measures": [("max", "person_id")]},
        {"measures": [("count", "address")]},
    ):
        with pytest.raises(PermissionDenied):
            gate.aggregate(db, grantee.actor, people, purpose="统计", storage=storage, **kwargs)  # type: ignore[arg-type]
        assert _last(db, "data.denied").changes["operation"] == "aggregate"
    with pytest.raises(ValidationFailed):
        gate.aggregate(
            db,
            grantee.actor,
            people,
            purpose="统计",
            measures=[("sum", "district")],
            storage=storage,
        )
    with pytest.raises(ValidationFailed):
        gate.aggregate(
            db,
            grantee.actor,
            people,
            purpose="统计",
            measures=[("median", "income")],
            storage=storage,
        )


def test_scan_and_export_mask_whole_columns(
    db: Session,
    grantee: Person,
    people: Dataset,
    people_version: DatasetVersion,
    make_grant: MakeGrant,
    storage: LocalStorage,
) -> None:
    make_grant(
        people, grantee.user.agency_id, row_filter=SOUTH, fields=["person_id", "name", "income"]
    )
    table = pa.Table.from_batches(
        list(gate.scan(db, grantee.actor, people, purpose="分析", storage=storage))
    )
    south = [person(i) for i in range(30) if _south(i)]
    assert table.column_names == ["person_id", "name", "income", "_row"]
    assert table.column("person_id").to_pylist() == [pseudonym(p["person_id"], KEY) for p in south]
    assert all("某" not in n for n in table.column("name").to_pylist())
    assert table.column("income").to_pylist() == [p["income"] for p in south]
    assert _last(db, "data.read").changes["rows"] == len(south)

    export = gate.export(
        db, grantee.actor, people, purpose="导出", fmt="parquet", columns=["name"], storage=storage
    )
    assert export.schema.names == ["name"] and export.schema.field("name").type == pa.string()
    names = [v for b in export.batches for v in b.column("name").to_pylist()]
    assert names == [mask(p["name"], Sensitivity.NAME) for p in south]
    assert "欧阳*" in names  # a compound surname is kept whole
    # A reader who is not a grant reader gets a fresh fingerprint per export.
    one = gate.export(db, grantee.actor, people, purpose="导出", fmt="csv", storage=storage)
    with pytest.raises(ValidationFailed):
        gate.export(db, grantee.actor, people, purpose="导出", fmt="../x", storage=storage)
    assert one.fingerprint == export.fingerprint  # the same grant


def test_platform_exports_get_a_fresh_fingerprint(
    db: Session,
    people: Dataset,
    people_version: DatasetVersion,
    officer: Person,
    storage: LocalStorage,
) -> None:
    one = gate.export(db, officer.actor, people, purpose="导出", fmt="csv", storage=storage)
    two = gate.export(db, officer.actor, people, purpose="导出", fmt="csv", storage=storage)
    assert one.fingerprint != two.fingerprint and one.export_id != two.export_id
    assert sum(b.num_rows for b in one.batches) == 30


def test_lookup_diff_and_profile(
    db: Session,
    officer: Person,
    grantee: Person,
    people: Dataset,
    people_version: DatasetVersion,
    make_grant: MakeGrant,
    storage: LocalStorage,
    write_version: Callable[..., DatasetVersion],
) -> None:
    make_grant(people, grantee.user.agency_id, row_filter=SOUTH)
    # Lookups on a hashed field take pseudonyms, and stay inside the row filter.
    wanted = [pseudonym(person_id(i), KEY) for i in (0, 1, 2)]
    found = gate.lookup(
        db, grantee.actor, people, "person_id", wanted, purpose="查询", storage=storage
    )
    assert sorted(r["person_id"] for r in found) == sorted(wanted[:2])  # 2 is 河东区
    with pytest.raises(PermissionDenied):
        gate.lookup(db, grantee.actor, people, "name", ["张某"], purpose="查询", storage=storage)

    changed = [person(i) for i in range(30)]
    changed[0] = person(0, name="张新", income=Decimal("1.50"))
    changed[2] = person(2, name="欧阳新")  # 河东区: outside the grant
    newer = write_version(officer.actor, people, [*changed, person(31)], specs=PEOPLE)
    result = gate.diff(
        db, grantee.actor, people, people_version, newer, purpose="比较", storage=storage
    )
    assert (result.added, result.removed, result.changed) == (1, 0, 1)
    assert result.added_rows[0]["person_id"] == pseudonym(person_id(31), KEY)
    cells = {c.field: c for c in result.changed_cells}
    assert cells["name"].old == "张*" and cells["name"].new == "张*"
    assert cells["income"].new == Decimal("1.50")
    assert cells["name"].key == {"person_id": pseudonym(person_id(0), KEY)}
    assert "note" not in result.compared_fields  # dropped for this reader

    stats = gate.profile(db, grantee.actor, people, newer, purpose="质量", storage=storage)
    assert "note" not in stats
    assert stats["person_id"]["min"] is None and stats["name"]["max"] is None
    assert stats["person_id"]["non_null"] == 21  # 20 of the old rows and the new one
    assert stats["born"]["min"] is not None and stats["district"]["max"] == "罗庄区"


def test_hashed_columns_join_across_entries(
    db: Session,
    officer: Person,
    grantee: Person,
    people: Dataset,
    people_version: DatasetVersion,
    make_dataset: Callable[..., Dataset],
    make_grant: MakeGrant,
    storage: LocalStorage,
    write_version: Callable[..., DatasetVersion],
) -> None:
    specs = [
        FieldSpec(
            "holder_id",
            "持有人身份证号",
            FieldType.STRING,
            is_key=True,
            sensitivity=Sensitivity.ID_NUMBER,
            identifier=IdentifierKind.CITIZEN_ID,
        ),
        FieldSpec("licence", "证照编号", FieldType.STRING),
    ]
    licences = make_dataset(title="驾驶证信息")
    licences.level = people.level
    db.flush()
    write_version(
        officer.actor,
        licences,
        [{"holder_id": person_id(i), "licence": f"L{i}"} for i in range(0, 30, 5)],
        specs=specs,
    )
    make_grant(people, grantee.user.agency_id)
    make_grant(licences, grantee.user.agency_id)
    left = gate.read_page(db, grantee.actor, people, purpose="关联", limit=100, storage=storage)
    right = gate.read_page(db, grantee.actor, licences, purpose="关联", limit=100, storage=storage)
    by_hash = {r["holder_id"]: r["licence"] for r in right.rows}
    joined = {
        r["person_id"]: by_hash[r["person_id"]] for r in left.rows if r["person_id"] in by_hash
    }
    assert len(joined) == 6 and sorted(joined.values()) == sorted(f"L{i}" for i in range(0, 30, 5))
    assert all(len(h) == 16 and h != person_id(0) for h in joined)


def test_entity_search_skips_masked_identifiers_and_keeps_row_filters(
    db: Session,
    grantee: Person,
    people: Dataset,
    people_version: DatasetVersion,
    make_grant: MakeGrant,
    storage: LocalStorage,
) -> None:
    grant = make_grant(people, grantee.user.agency_id)
    # The ID number is hashed for this reader: a clear-value search there would hand out
    # the pseudonym of any number it chose, so the entry is not searched.
    hits = gate.find_entity(
        db, grantee.actor, "citizen_id", person_id(3), purpose="一人一档", storage=storage
    )
    assert hits == []
    grant.clear_fields = ["person_id"]
    grant.row_filter = [["district", "eq", "兰山区"]]
    db.flush()
    hits = gate.find_entity(
        db, grantee.actor, "citizen_id", person_id(3), purpose="一人一档", storage=storage
    )
    assert [h.dataset.id for h in hits] == [people.id]
    assert hits[0].rows[0]["person_id"] == person_id(3) and hits[0].rows[0]["name"] == "王**"
    assert "note" not in hits[0].rows[0]
    # Person 4 lives in 罗庄区, outside the grant's rows.
    assert (
        gate.find_entity(
            db, grantee.actor, "citizen_id", person_id(4), purpose="一人一档", storage=storage
        )
        == []
    )
    entry = _last(db, "data.read")
    assert entry.changes["operation"] == "entity_search" and entry.changes["rows"] == 0


def test_files_of_raw_rows_need_a_clear_reader(
    db: Session,
    officer: Person,
    grantee: Person,
    people: Dataset,
    people_version: DatasetVersion,
    make_grant: MakeGrant,
    storage: LocalStorage,
) -> None:
    with storage.writer("rejected/test.csv") as out:
        out.write(b"person_id,name\n1,a\n")
    make_grant(people, grantee.user.agency_id)
    with pytest.raises(PermissionDenied):
        gate.open_file(
            db, grantee.actor, people, "rejected/test.csv", purpose="下载", rows=1, storage=storage
        )
    assert _last(db, "data.denied").changes["operation"] == "file"
    with gate.open_file(
        db, officer.actor, people, "rejected/test.csv", purpose="下载", rows=1, storage=storage
    ) as handle:
        assert handle.read().startswith(b"person_id")
