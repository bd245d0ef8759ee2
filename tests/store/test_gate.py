"""The gate: who may read, one audit entry per read, and only the gate imports store.rows."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.catalog.models import Dataset
from gongshu.errors import NotFound, PermissionDenied, ValidationFailed
from gongshu.gate import service as gate
from gongshu.gate.filters import Filter
from gongshu.gate.policy import may_read
from gongshu.orgs.models import Region
from gongshu.store.models import DatasetVersion
from gongshu.store.storage import LocalStorage
from gongshu.store.versions import prune
from tests.factories import Person
from tests.store.conftest import make_row

ROOT = Path(__file__).resolve().parents[2] / "gongshu"


def _reads(db: Session) -> int:
    return int(
        db.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "data.read")
        )
        or 0
    )


@pytest.fixture
def dataset(make_dataset: Callable[..., Dataset]) -> Dataset:
    return make_dataset()


@pytest.fixture
def version(
    officer: Person, dataset: Dataset, write_version: Callable[..., DatasetVersion]
) -> DatasetVersion:
    return write_version(officer.actor, dataset, [make_row(i) for i in range(60)])


def test_refuses_another_agency_and_a_citizen(
    db: Session,
    make_person: Callable[..., Person],
    other_officer: Person,
    dataset: Dataset,
    version: DatasetVersion,
    storage: LocalStorage,
) -> None:
    citizen = make_person(Role.PUBLIC)
    operator = make_person(Role.OPERATOR)
    system_admin = make_person(Role.SYSTEM_ADMIN)
    before = _reads(db)
    for person in (other_officer, citizen, operator, system_admin):
        assert not may_read(db, person.actor, dataset)
        with pytest.raises(PermissionDenied) as caught:
            gate.read_page(db, person.actor, dataset, purpose="核对", storage=storage)
        assert caught.value.message == "无权读取该数据集的数据"
        with pytest.raises(PermissionDenied):
            list(gate.scan(db, person.actor, dataset, purpose="导出", storage=storage))
    assert _reads(db) == before


def test_district_admin_reads_only_its_region(
    db: Session,
    make_person: Callable[..., Person],
    district: Region,
    city: Region,
    dataset: Dataset,
    version: DatasetVersion,
) -> None:
    assert dataset.region_id == city.id
    district_admin = make_person(Role.BUREAU_ADMIN, region=district)
    assert not may_read(db, district_admin.actor, dataset)
    dataset.region_id = district.id
    assert may_read(db, district_admin.actor, dataset)


def test_allows_the_provider_and_the_bureau_and_audits_each_call(
    db: Session,
    officer: Person,
    bureau_admin: Person,
    make_person: Callable[..., Person],
    agency: object,
    dataset: Dataset,
    version: DatasetVersion,
    storage: LocalStorage,
    write_version: Callable[..., DatasetVersion],
) -> None:
    consumer = make_person(Role.AGENCY_CONSUMER, agency=agency)
    for person in (officer, bureau_admin, consumer):
        before = _reads(db)
        page = gate.read_page(
            db,
            person.actor,
            dataset,
            purpose="数据核对",
            filters=[Filter("district", "eq", "兰山区")],
            order_by=["-staff"],
            limit=5,
            storage=storage,
        )
        assert len(page.rows) == 5 and page.next_cursor and page.version == version
        assert _reads(db) == before + 1
        entry = db.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert entry is not None and entry.action == "data.read"
        assert entry.actor_id == person.user.id and entry.object_id == str(dataset.id)
        assert entry.changes["purpose"] == "数据核对" and entry.changes["rows"] == 5
        assert entry.changes["filters"] == [["district", "eq", "兰山区"]]
        assert entry.changes["version"] == 1

    actor = officer.actor
    before = _reads(db)
    found = gate.lookup(
        db, actor, dataset, "credit_code", ["91371300MA00000003"], purpose="查询", storage=storage
    )
    assert found[0]["_row"] == 5
    batches = gate.scan(db, actor, dataset, purpose="导出", storage=storage)
    assert _reads(db) == before + 2  # audited before the first batch is taken
    assert sum(b.num_rows for b in batches) == 60
    stats = gate.profile(db, actor, dataset, None, purpose="质量检查", storage=storage)
    assert stats["credit_code"]["distinct"] == 60
    newer = write_version(actor, dataset, [make_row(i) for i in range(5, 70)])
    changes = gate.diff(db, actor, dataset, version, newer, purpose="版本比较", storage=storage)
    assert (changes.added, changes.removed, changes.changed) == (10, 5, 0)
    assert _reads(db) == before + 4
    # The old version stays readable by id; a pruned one is refused.
    old_page = gate.read_page(
        db, actor, dataset, version=version, purpose="追溯", limit=100, storage=storage
    )
    assert len(old_page.rows) == 60
    prune(db, storage, dataset.id, keep=1)
    with pytest.raises(NotFound):
        gate.read_page(db, actor, dataset, version=version, purpose="追溯")
    with pytest.raises(ValidationFailed):
        gate.read_page(db, actor, dataset, purpose="  ")


def test_the_platform_reads_and_no_data_is_not_found(
    db: Session, make_dataset: Callable[..., Dataset]
) -> None:
    empty = make_dataset()
    with pytest.raises(NotFound):
        gate.read_page(db, Actor.system("job"), empty, purpose="导出")


def test_only_the_gate_imports_store_rows() -> None:
    offenders: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] == "gate" or relative == Path("store/rows.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                names = [module] + [f"{module}.{a.name}" for a in node.names]
            else:
                continue
            if any(n == "gongshu.store.rows" or n.startswith("gongshu.store.rows.") for n in names):
                offenders.append(f"{relative}:{node.lineno}")
    assert not offenders, f"only gongshu/gate may read rows: {offenders}"
