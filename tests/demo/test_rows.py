"""The demo city's rows: generated deterministically, loaded through the real pipeline.

The database tests use the two cities of tests/demo/conftest.py (loaded once for the
package); the plan tests need no database.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.auth.models import User
from gongshu.auth.service import actor_for_user
from gongshu.catalog.models import Dataset, DatasetState
from gongshu.demo.data import ENTRIES
from gongshu.demo.rows import DemoUpload, demo_rows, write_upload
from gongshu.gate import service as gate
from gongshu.identifiers import check_citizen_id, check_credit_code, check_mobile
from gongshu.ingest.models import Ingestion, IngestMode, IngestProfile, IngestStatus, InvalidPolicy
from gongshu.store.models import DatasetVersion
from gongshu.store.storage import get_storage
from gongshu.store.versions import current_version
from tests.demo.conftest import Loaded

PLAN = demo_rows()


def _dataset(session: Session, title: str) -> Dataset:
    return session.scalars(select(Dataset).where(Dataset.title == title)).one()


# --- the plan ---------------------------------------------------------------------------


def test_the_plan_is_deterministic_and_covers_published_entries() -> None:
    again = demo_rows()
    assert again == PLAN
    titles = [entry.title for entry in PLAN]
    assert len(titles) == len(set(titles)) >= 20
    catalog = {e.title: e for e in ENTRIES}
    assert set(titles) <= set(catalog)
    sizes = [sum(len(u.rows) for u in entry.uploads) for entry in PLAN]
    assert min(sizes) >= 90 and max(sizes) >= 1000
    # Every kind of file an agency sends is there.
    suffixes = {Path(u.file_name).suffix for entry in PLAN for u in entry.uploads}
    assert suffixes == {".csv", ".xlsx", ".json"}
    assert any(u.encoding == "gbk" for entry in PLAN for u in entry.uploads)
    assert sum(1 for entry in PLAN if len(entry.uploads) > 1) >= 6
    assert sum(1 for entry in PLAN for u in entry.uploads if u.refused) == 1


def test_identifiers_are_valid_except_in_the_rows_meant_to_be_bad() -> None:
    checks = {"credit_code": check_credit_code, "citizen_id": check_citizen_id}
    catalog = {e.title: e for e in ENTRIES}
    for entry in PLAN:
        fields = catalog[entry.title].fields
        for upload in entry.uploads:
            failing = 0
            for row in upload.rows:
                bad = False
                for spec in fields:
                    value = row.get(spec.name, "")
                    if spec.identifier in checks and value:
                        bad |= not checks[spec.identifier](value).ok
                    if spec.identifier == "mobile" and value:
                        bad |= not check_mobile(value).ok
                    if spec.identifier == "region_code" and value:
                        bad |= not value.startswith("3713")
                failing += bad
            assert failing <= upload.bad, (entry.title, upload.file_name)


def test_files_are_written_as_named(tmp_path: Path) -> None:
    rows = ({"a": "临沂市", "b": '说"明,1'}, {"a": "兰山区", "b": ""})
    names, labels = ["a", "b"], ["地区", "说明"]
    gbk = write_upload(tmp_path / "x.csv", DemoUpload("x.csv", rows, encoding="gbk"), names, labels)
    parsed = list(csv.reader(io.StringIO(gbk.read_bytes().decode("gbk"))))
    assert parsed == [["地区", "说明"], ["临沂市", '说"明,1'], ["兰山区", ""]]
    data = json.loads(
        write_upload(tmp_path / "x.json", DemoUpload("x.json", rows), names, labels).read_text(
            "utf-8"
        )
    )
    assert data[0] == {"地区": "临沂市", "说明": '说"明,1'}
    book = load_workbook(
        write_upload(tmp_path / "x.xlsx", DemoUpload("x.xlsx", rows), names, labels)
    )
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == ["地区", "说明"] and sheet["A3"].value == "兰山区"


# --- the loaded city --------------------------------------------------------------------


def test_every_planned_entry_has_its_versions_and_rows(city: Session) -> None:
    for entry in PLAN:
        dataset = _dataset(city, entry.title)
        assert dataset.state is DatasetState.PUBLISHED
        version = current_version(city, dataset.id)
        assert version is not None, entry.title
        published = [u for u in entry.uploads if not u.refused]
        assert version.number == len(published), entry.title
        assert version.row_count == entry.final_rows, entry.title
        profile = city.get(IngestProfile, dataset.id)
        expected = InvalidPolicy.QUARANTINE if entry.quarantine else InvalidPolicy.REJECT
        assert (profile.on_invalid if profile else InvalidPolicy.REJECT) is expected


def test_each_upload_is_a_real_ingestion_by_the_officer(city: Session) -> None:
    for entry in PLAN:
        dataset = _dataset(city, entry.title)
        ingestions = city.scalars(
            select(Ingestion).where(Ingestion.dataset_id == dataset.id).order_by(Ingestion.id)
        ).all()
        assert [i.file_name for i in ingestions] == [u.file_name for u in entry.uploads]
        for ingestion, upload in zip(ingestions, entry.uploads, strict=True):
            assert ingestion.mode is IngestMode(upload.mode)
            assert ingestion.rows_read == len(upload.rows)
            assert ingestion.rows_rejected == upload.bad, upload.file_name
            want = IngestStatus.REJECTED if upload.refused else IngestStatus.PUBLISHED
            assert ingestion.status is want, upload.file_name
            creator = city.get(User, ingestion.created_by_id)
            assert creator is not None and creator.agency_id == dataset.agency_id
    uploads = sum(len(entry.uploads) for entry in PLAN)
    creates = city.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "ingestion.create")
    )
    assert creates == uploads


def test_quarantined_rows_can_be_downloaded_with_chinese_reasons(
    two_cities: tuple[Loaded, Loaded],
) -> None:
    loaded = two_cities[0]
    with loaded.session() as session:
        dataset = _dataset(session, "市场主体登记信息")
        ingestion = session.scalars(
            select(Ingestion).where(Ingestion.dataset_id == dataset.id, Ingestion.rows_rejected > 0)
        ).one()
        assert ingestion.rejected_key
        officer = session.scalars(select(User).where(User.username == "scj_officer")).one()
        handle = gate.open_file(
            session,
            actor_for_user(officer),
            dataset,
            ingestion.rejected_key,
            purpose="rejected_rows",
            rows=ingestion.rows_rejected,
            storage=get_storage(loaded.settings),
        )
        with handle:
            text = handle.read().decode("utf-8-sig")
        lines = list(csv.reader(io.StringIO(text)))
        assert len(lines) == 1 + 6
        header = lines[0]
        assert "行号" in header and "错误说明" in header and "统一社会信用代码" in header
        reasons = "".join(line[header.index("错误说明")] for line in lines[1:])
        assert "校验位" in reasons and "2026-02-30" in text
        version = current_version(session, dataset.id)
        assert version is not None and version.quality


def test_the_refused_batch_left_the_first_version_serving(city: Session) -> None:
    dataset = _dataset(city, "行政处罚信息")
    refused = city.scalars(
        select(Ingestion).where(
            Ingestion.dataset_id == dataset.id, Ingestion.status == IngestStatus.REJECTED
        )
    ).one()
    assert refused.version_id is None
    assert (refused.rows_read, refused.rows_valid, refused.rows_rejected) == (40, 0, 3)
    version = current_version(city, dataset.id)
    assert version is not None and version.number == 1 and version.row_count == 240


def test_both_cities_hold_the_same_rows(two_cities: tuple[Loaded, Loaded]) -> None:
    def versions(loaded: Loaded) -> list[tuple[str, int, int, str]]:
        with loaded.session() as session:
            return [
                (title, number, rows, checksum)
                for title, number, rows, checksum in session.execute(
                    select(
                        Dataset.title,
                        DatasetVersion.number,
                        DatasetVersion.row_count,
                        DatasetVersion.checksum,
                    )
                    .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
                    .order_by(Dataset.id, DatasetVersion.number)
                )
            ]

    a, b = (versions(loaded) for loaded in two_cities)
    assert len(a) == sum(len([u for u in e.uploads if not u.refused]) for e in PLAN)
    # Row counts match exactly; the Parquet bytes carry no timestamps either.
    assert [r[:3] for r in a] == [r[:3] for r in b]
    assert [r[3] for r in a] == [r[3] for r in b]
