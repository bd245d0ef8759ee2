"""Ingestion end to end through the service: files in, versions out, through the gate."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.catalog.models import Dataset, DatasetState
from gongshu.errors import PermissionDenied, ValidationFailed
from gongshu.gate import service as gate
from gongshu.ingest import history, service
from gongshu.ingest.models import IngestMode, IngestStatus, InvalidPolicy
from gongshu.store.storage import get_storage
from gongshu.store.versions import current_version
from tests.factories import Person
from tests.ingest_service.conftest import HEADER, code, good_rows


def ingest(
    db: Session, who: Person, dataset: Dataset, path: Path, **kw: object
) -> service.IngestResult:
    return service.ingest_file(db, who.actor, dataset, path, **kw)  # type: ignore[arg-type]


def all_rows(db: Session, who: Person, dataset: Dataset) -> list[dict[str, object]]:
    page = gate.read_page(db, who.actor, dataset, purpose="test", limit=500)
    return page.rows


def rejected_csv(
    db: Session, who: Person, dataset: Dataset, result: service.IngestResult
) -> list[list[str]]:
    body = get_storage().local_path(result.ingestion.rejected_key).read_text("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def test_a_clean_file_becomes_version_one(db, officer, registry, write_csv) -> None:
    result = ingest(db, officer, registry, write_csv(good_rows(1, 5)))
    assert result.ingestion.status is IngestStatus.PUBLISHED
    assert result.version is not None and result.version.number == 1
    assert (result.rows_read, result.rows_valid, result.rows_rejected) == (5, 5, 0)
    rows = all_rows(db, officer, registry)
    assert [r["credit_code"] for r in rows] == [code(i) for i in range(1, 6)]
    assert rows[0]["capital"] == Decimal("101.5")
    found = gate.lookup(db, officer.actor, registry, "credit_code", [code(1)], purpose="test")
    assert found[0]["_row"] == 2  # the header is line 1
    quality = result.version.quality
    assert quality["fields"]["credit_code"]["completeness"] == 1.0
    assert result.ingestion.mapping == {
        "credit_code": "统一社会信用代码",
        "name": "企业名称",
        "founded": "成立日期",
        "capital": "注册资本",
        "kind": "企业类型",
    }


def test_gbk_file_with_bad_rows_is_refused_whole_and_the_old_version_keeps_serving(
    db, officer, registry, write_csv
) -> None:
    first = ingest(db, officer, registry, write_csv(good_rows(1, 3)))
    assert first.version is not None
    bad = [
        *good_rows(10, 4),
        f"{code(20)[:-1]}0,坏校验位企业,2020-01-01,1,有限责任公司",
        f"{code(21)},日期不对企业,2020-13-45,1,有限责任公司",
        f"{code(22)},负资本企业,2020-01-01,-5,合伙企业",
    ]
    result = ingest(db, officer, registry, write_csv(bad, name="坏数据.csv", encoding="gbk"))
    assert result.ingestion.status is IngestStatus.REJECTED
    assert result.version is None
    assert result.rows_rejected == 3
    assert result.ingestion.detected["encoding"] in {"gb18030", "gbk"}
    current = current_version(db, registry.id)
    assert current is not None and current.id == first.version.id
    table = rejected_csv(db, officer, registry, result)
    assert table[0][0] == "行号" and table[0][-1] == "错误说明"
    assert [r[0] for r in table[1:]] == ["6", "7", "8"]
    last = table[-1][-1]
    assert "注册资本" in last and "企业类型" in last  # two bad cells, two reasons
    assert "企业名称" not in last


def test_quarantine_publishes_the_valid_rows(db, officer, registry, write_csv) -> None:
    rows = [*good_rows(1, 3), f"{code(9)},,2020-01-01,1,有限责任公司"]
    result = ingest(db, officer, registry, write_csv(rows), on_invalid=InvalidPolicy.QUARANTINE)
    assert result.version is not None
    assert result.version.row_count == 3
    assert result.version.rejected_count == 1
    assert result.ingestion.rows_rejected == 1
    assert result.version.quality["fields"]["name"]["completeness"] == 0.75
    assert len(all_rows(db, officer, registry)) == 3


def test_every_row_of_a_duplicated_key_is_quarantined(db, officer, registry, write_csv) -> None:
    rows = [*good_rows(1, 3), good_rows(2, 1)[0]]
    result = ingest(db, officer, registry, write_csv(rows), on_invalid=InvalidPolicy.QUARANTINE)
    assert result.version is not None
    assert sorted(r["credit_code"] for r in all_rows(db, officer, registry)) == [code(1), code(3)]
    assert result.rows_rejected == 2
    refused = ingest(db, officer, registry, write_csv(rows))
    assert refused.version is None
    assert any(i["message"] == service.MSG_DUPLICATE_KEY for i in refused.ingestion.issues)


def test_append_upsert_and_snapshot(db, officer, registry, write_csv) -> None:
    ingest(db, officer, registry, write_csv(good_rows(1, 3)))
    appended = ingest(db, officer, registry, write_csv(good_rows(4, 2)), mode=IngestMode.APPEND)
    assert appended.version is not None and appended.version.row_count == 5
    assert (appended.version.added, appended.version.removed, appended.version.changed) == (2, 0, 0)
    clash = ingest(db, officer, registry, write_csv(good_rows(5, 2)), mode=IngestMode.APPEND)
    assert clash.version is None
    assert any(i["message"] == service.MSG_KEY_EXISTS for i in clash.ingestion.issues)

    changed = good_rows(1, 1)[0].replace("临沂测试企业1有限公司", "更名后的企业")
    upserted = ingest(
        db, officer, registry, write_csv([changed, *good_rows(7, 1)]), mode=IngestMode.UPSERT
    )
    assert upserted.version is not None and upserted.version.row_count == 6
    assert (upserted.version.added, upserted.version.removed, upserted.version.changed) == (1, 0, 1)
    names = {r["credit_code"]: r["name"] for r in all_rows(db, officer, registry)}
    assert names[code(1)] == "更名后的企业"

    snapshot = ingest(
        db, officer, registry, write_csv(good_rows(1, 2)), mode=IngestMode.UPSERT, snapshot=True
    )
    assert snapshot.version is not None and snapshot.version.row_count == 2
    assert snapshot.version.removed == 4


def test_a_file_without_a_required_column_is_refused_with_its_name(
    db, officer, registry, write_csv
) -> None:
    path = write_csv(["x,2020-01-01"], header="企业名称,成立日期\n")
    result = ingest(db, officer, registry, path)
    assert result.ingestion.status is IngestStatus.REJECTED
    issue = result.ingestion.issues[0]
    assert issue["message"] == service.MSG_MISSING_COLUMNS
    assert "统一社会信用代码" in issue["params"]["columns"]


def test_headers_match_by_label_after_normalising(db, officer, registry, write_csv) -> None:
    header = " 统一社会信用代码 ,企业名称,成立日期,注册资本,企业类型\n"
    result = ingest(db, officer, registry, write_csv(good_rows(1, 1), header=header))
    assert result.version is not None


def test_only_the_providers_officers_may_ingest(
    db, other_officer, registry, write_csv, bureau_admin
) -> None:
    with pytest.raises(PermissionDenied):
        ingest(db, other_officer, registry, write_csv(good_rows(1, 1)))
    with pytest.raises(PermissionDenied):
        ingest(db, bureau_admin, registry, write_csv(good_rows(1, 1)))


def test_a_draft_entry_takes_no_data(db, officer, registry, write_csv) -> None:
    registry.state = DatasetState.DRAFT
    db.flush()
    with pytest.raises(ValidationFailed):
        ingest(db, officer, registry, write_csv(good_rows(1, 1)))


def test_rollback_diff_and_trace(db, officer, registry, write_csv) -> None:
    v1 = ingest(db, officer, registry, write_csv(good_rows(1, 3), name="第一批.csv")).version
    changed = good_rows(2, 1)[0].replace("临沂测试企业2有限公司", "改过的名字")
    v2 = ingest(
        db, officer, registry, write_csv([good_rows(1, 1)[0], changed, *good_rows(8, 1)])
    ).version
    assert v1 is not None and v2 is not None

    diff = history.diff_read(db, officer.actor, registry, 1, 2)
    assert (diff.added, diff.removed, diff.changed) == (1, 1, 1)
    assert diff.changes[0].field == "name"
    assert diff.changes[0].new == "改过的名字"

    found = history.trace(db, officer.actor, registry, [code(1)])
    assert found.version.number == 2
    assert found.introduced_in.number == 1  # unchanged since the first batch
    assert found.ingestion is not None and found.ingestion.file_name == "第一批.csv"
    assert found.source_row == 2
    assert found.uploaded_by == officer.user.display_name

    v3 = history.rollback(db, officer.actor, registry, 1)
    assert v3.number == 3 and v3.mode == "rollback"
    assert sorted(r["credit_code"] for r in all_rows(db, officer, registry)) == [
        code(1),
        code(2),
        code(3),
    ]
    with pytest.raises(ValidationFailed):
        history.rollback(db, officer.actor, registry, 3)


def test_each_ingestion_is_audited_and_its_file_kept(db, officer, registry, write_csv) -> None:
    result = ingest(db, officer, registry, write_csv(good_rows(1, 2), name="../../evil.csv"))
    assert result.ingestion.file_name == "evil.csv"
    stored = get_storage().local_path(result.ingestion.file_key)
    assert stored.read_bytes().decode() == HEADER + "".join(r + "\n" for r in good_rows(1, 2))
    actions = set(db.scalars(select(AuditEntry.action)))
    assert {"ingestion.create", "dataset_version.publish"} <= actions


def test_remembered_mapping_is_used_for_the_next_upload(db, officer, registry, write_csv) -> None:
    header = "代码,名称,成立日期,注册资本,企业类型\n"
    mapping = {"credit_code": "代码", "name": "名称"}
    first = ingest(
        db, officer, registry, write_csv(good_rows(1, 1), header=header), mapping=mapping
    )
    assert first.version is not None
    second = ingest(db, officer, registry, write_csv(good_rows(2, 1), header=header))
    assert second.version is not None
    assert second.ingestion.mapping["credit_code"] == "代码"


def test_set_profile_records_the_policy(db, officer, registry) -> None:
    profile = service.set_profile(db, officer.actor, registry, on_invalid=InvalidPolicy.QUARANTINE)
    assert profile.on_invalid is InvalidPolicy.QUARANTINE
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "ingest_profile.update")).one()
    assert entry.object_id == str(registry.id)


def test_safe_file_name_drops_paths() -> None:
    assert service.safe_file_name("C:\\Users\\a\\数据.csv") == "数据.csv"
    assert service.safe_file_name("../../etc/passwd") == "passwd"
    with pytest.raises(ValidationFailed):
        service.safe_file_name("../")
