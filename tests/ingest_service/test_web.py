"""Uploads, ingestions and versions through the JSON API, the pages and the CLI."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gongshu.catalog import service as catalog_service
from gongshu.catalog.models import DatasetState
from gongshu.cli import app as cli_app
from gongshu.db import make_engine, make_session_factory
from gongshu.jobs.service import run_one
from tests.factories import api_headers, csrf_of, dataset_input, login, seed_officer
from tests.ingest_service.conftest import HEADER, code, good_rows, registry_fields


def _csv(rows: list[str]) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode("utf-8")


def _run_jobs(db: Session) -> None:
    while run_one(db, "test-worker") is not None:
        pass


def test_api_upload_queues_then_publishes(client, db, officer, registry) -> None:
    headers = api_headers(client, officer)
    bad = f"{code(9)},,2020-01-01,1,有限责任公司"
    response = client.post(
        f"/api/v1/datasets/{registry.id}/ingestions",
        headers=headers,
        files={"file": ("企业.csv", _csv([*good_rows(1, 3), bad]), "text/csv")},
        data={"on_invalid": "quarantine"},
    )
    assert response.status_code == 202, response.text
    ingestion = response.json()
    assert ingestion["status"] == "queued"
    _run_jobs(db)

    done = client.get(f"/api/v1/ingestions/{ingestion['id']}", headers=headers).json()
    assert done["status"] == "published"
    assert (done["rows_read"], done["rows_valid"], done["rows_rejected"]) == (4, 3, 1)
    assert done["version_number"] == 1
    assert done["issues"][0]["message"].startswith("企业名称")
    rejected = client.get(done["rejected_url"], headers=headers)
    assert rejected.status_code == 200
    table = list(csv.reader(io.StringIO(rejected.content.decode("utf-8-sig"))))
    assert table[1][0] == "5" and table[1][1] == code(9)

    versions = client.get(f"/api/v1/datasets/{registry.id}/versions", headers=headers).json()
    assert [v["number"] for v in versions] == [1]
    assert versions[0]["current"] is True
    assert versions[0]["quality"]["fields"]["name"]["completeness"] == 0.75

    page = client.get(
        f"/api/v1/datasets/{registry.id}/rows",
        headers=headers,
        params={"limit": 2, "filter": "founded:>=:2020-01-01"},
    ).json()
    assert len(page["rows"]) == 2 and page["next"]
    rest = client.get(
        f"/api/v1/datasets/{registry.id}/rows",
        headers=headers,
        params={"limit": 2, "after": page["next"], "filter": "founded:>=:2020-01-01"},
    ).json()
    assert len(rest["rows"]) == 1 and rest["next"] is None

    trace = client.get(
        f"/api/v1/datasets/{registry.id}/trace", headers=headers, params={"key": code(2)}
    ).json()
    assert trace["file_name"] == "企业.csv" and trace["source_row"] == 3


def test_api_refuses_other_agencies_and_bad_mappings(
    client, other_officer, officer, registry
) -> None:
    other = api_headers(client, other_officer)
    response = client.post(
        f"/api/v1/datasets/{registry.id}/ingestions",
        headers=other,
        files={"file": ("a.csv", _csv(good_rows(1, 1)), "text/csv")},
    )
    assert response.status_code == 403
    assert client.get(f"/api/v1/datasets/{registry.id}/versions", headers=other).status_code == 403
    mine = api_headers(client, officer)
    response = client.post(
        f"/api/v1/datasets/{registry.id}/ingestions",
        headers=mine,
        files={"file": ("a.csv", _csv(good_rows(1, 1)), "text/csv")},
        data={"mapping": "[1, 2]"},
    )
    assert response.status_code == 422
    assert "列映射" in response.json()["error"]["message"]


def test_api_profile_rollback_and_diff(client, db, officer, registry) -> None:
    headers = api_headers(client, officer)
    put = client.put(
        f"/api/v1/datasets/{registry.id}/ingest-profile",
        headers=headers,
        json={"on_invalid": "quarantine"},
    )
    assert put.status_code == 200 and put.json()["on_invalid"] == "quarantine"
    for rows in (good_rows(1, 2), good_rows(2, 2)):
        client.post(
            f"/api/v1/datasets/{registry.id}/ingestions",
            headers=headers,
            files={"file": ("a.csv", _csv(rows), "text/csv")},
        )
        _run_jobs(db)
    diff = client.get(
        f"/api/v1/datasets/{registry.id}/diff", headers=headers, params={"from": 1, "to": 2}
    ).json()
    assert (diff["added"], diff["removed"], diff["changed"]) == (1, 1, 0)
    back = client.post(f"/api/v1/datasets/{registry.id}/versions/1/rollback", headers=headers)
    assert back.status_code == 201 and back.json()["number"] == 3
    assert back.json()["source"]["from_version"] == 1


def test_pages_upload_follow_and_show_the_quality_report(client, db, officer, registry) -> None:
    login(client, officer)
    form = client.get(f"/catalog/{registry.id}/data/upload")
    assert form.status_code == 200 and "上传并校验" in form.text
    token = csrf_of(client, f"/catalog/{registry.id}/data/upload")
    bad = f"{code(9)},坏的企业,2020-01-01,1,合伙企业"
    posted = client.post(
        f"/catalog/{registry.id}/data/upload",
        data={"csrf_token": token, "mode": "replace", "on_invalid": ""},
        files={"file": ("gbk.csv", _csv([*good_rows(1, 2), bad]).decode().encode("gbk"))},
        follow_redirects=False,
    )
    assert posted.status_code == 303, posted.text
    target = posted.headers["location"]
    running = client.get(target)
    assert 'http-equiv="refresh"' in running.text
    _run_jobs(db)
    refused = client.get(target)
    assert "整批拒绝" in refused.text and "rejected.csv" in refused.text
    download = client.get(target + "/rejected.csv")
    assert download.status_code == 200 and "企业类型" in download.content.decode("utf-8-sig")

    token = csrf_of(client, f"/catalog/{registry.id}/data/upload")
    client.post(
        f"/catalog/{registry.id}/data/upload",
        data={"csrf_token": token, "mode": "replace", "on_invalid": "quarantine"},
        files={"file": ("gbk.csv", _csv([*good_rows(1, 2), bad]).decode().encode("gbk"))},
    )
    _run_jobs(db)
    overview = client.get(f"/catalog/{registry.id}/data")
    assert code(1) in overview.text and "第 1 版" in overview.text
    version = client.get(f"/catalog/{registry.id}/versions/1")
    assert "质量报告" in version.text and "66.7%" in version.text  # 2 of 3 kinds valid
    versions = client.get(f"/catalog/{registry.id}/versions")
    assert "当前" in versions.text
    trace = client.get(f"/catalog/{registry.id}/trace", params={"key": code(2)})
    assert "gbk.csv" in trace.text


def test_upload_page_explains_a_missing_file(client, officer, registry) -> None:
    login(client, officer)
    token = csrf_of(client, f"/catalog/{registry.id}/data/upload")
    response = client.post(
        f"/catalog/{registry.id}/data/upload", data={"csrf_token": token, "mode": "replace"}
    )
    assert response.status_code == 422
    assert "请选择要上传的数据文件" in response.text


def test_data_page_tells_others_they_cannot_read(client, other_officer, registry) -> None:
    login(client, other_officer)
    page = client.get(f"/catalog/{registry.id}/data")
    assert page.status_code == 200
    assert "只有数据提供部门和大数据主管部门" in page.text


def test_cli_ingest_list_diff_and_rollback(cli_settings, tmp_path) -> None:
    engine = make_engine(cli_settings)
    factory = make_session_factory(engine)
    with factory() as session:
        officer = seed_officer(session)
        dataset = catalog_service.create_dataset(
            session, officer.actor, dataset_input(fields=registry_fields())
        )
        dataset.state = DatasetState.PUBLISHED
        session.commit()
        code_ = dataset.code
    engine.dispose()
    runner = CliRunner()
    first = tmp_path / "first.csv"
    first.write_bytes(_csv(good_rows(1, 3)))
    result = runner.invoke(cli_app, ["ingest", code_, str(first), "--as", "officer1"])
    assert result.exit_code == 0, result.output
    assert "已发布为第 1 版" in result.output

    second = tmp_path / "second.csv"
    second.write_bytes(_csv([*good_rows(2, 3), "坏,,,,"]))
    result = runner.invoke(cli_app, ["ingest", code_, str(second), "--as", "officer1"])
    assert result.exit_code == 1
    assert "拒绝 1 行" in result.output

    result = runner.invoke(
        cli_app,
        ["ingest", code_, str(second), "--as", "officer1", "--on-invalid", "quarantine"],
    )
    assert result.exit_code == 0, result.output
    listed = runner.invoke(cli_app, ["versions", "list", code_])
    assert listed.exit_code == 0 and listed.output.startswith("* 2")
    diff = runner.invoke(cli_app, ["versions", "diff", code_, "1", "2"])
    assert "新增 1 行，删除 1 行，修改 0 行" in diff.output
    back = runner.invoke(cli_app, ["versions", "rollback", code_, "1", "--as", "officer1"])
    assert back.exit_code == 0 and "已发布为第 3 版" in back.output
    mapping = json.dumps({"credit_code": "统一社会信用代码"})
    assert (
        runner.invoke(cli_app, ["ingest", code_, str(first), "--mapping", mapping]).exit_code == 0
    )


def test_api_push_appends_and_upserts_rows(client, db, officer, registry) -> None:
    headers = api_headers(client, officer)
    url = f"/api/v1/datasets/{registry.id}/rows"
    first = client.post(
        url,
        headers=headers,
        json={
            "rows": [
                {"credit_code": code(1), "name": "甲公司", "founded": "2020-01-02", "capital": 10},
                {"credit_code": code(2), "name": "乙公司", "kind": "个体工商户"},
            ]
        },
    )
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "published" and first.json()["source_kind"] == "push"
    upsert = client.post(
        url,
        headers=headers,
        json={"mode": "upsert", "rows": [{"credit_code": code(1), "name": "甲公司（更名）"}]},
    )
    assert upsert.json()["status"] == "published"
    versions = client.get(f"/api/v1/datasets/{registry.id}/versions", headers=headers).json()
    assert versions[0]["changed"] == 1 and versions[0]["row_count"] == 2
    assert versions[0]["source"]["kind"] == "push"
    bad = client.post(url, headers=headers, json={"rows": [{"credit_code": "123", "name": "x"}]})
    assert bad.json()["status"] == "refused"
    assert bad.json()["issues"][0]["column"] == "credit_code"
    empty = client.post(url, headers=headers, json={"rows": []})
    assert empty.status_code == 422


def test_one_company_is_found_across_datasets_through_the_index(
    client, db, officer, registry, make_dataset
) -> None:
    from gongshu.catalog.models import DatasetState as State
    from tests.ingest_service.conftest import registry_fields as fields

    licences = make_dataset(title="许可信息", fields=fields())
    licences.state = State.PUBLISHED
    db.flush()
    headers = api_headers(client, officer)
    for target in (registry, licences):
        client.post(
            f"/api/v1/datasets/{target.id}/rows",
            headers=headers,
            json={
                "rows": [
                    {"credit_code": code(1), "name": "甲"},
                    {"credit_code": code(2), "name": "乙"},
                ]
            },
        )
    found = client.get(f"/api/v1/identifiers/credit_code/{code(1).lower()}", headers=headers)
    assert found.status_code == 200, found.text
    hits = found.json()
    assert sorted(h["dataset_id"] for h in hits) == sorted([registry.id, licences.id])
    assert all(len(h["rows"]) == 1 and h["rows"][0]["name"] == "甲" for h in hits)
    bad = client.get("/api/v1/identifiers/credit_code/123", headers=headers)
    assert bad.status_code == 422


def test_entity_lookup_shows_nothing_the_reader_may_not_read(
    client, db, officer, other_officer, registry
) -> None:
    client.post(
        f"/api/v1/datasets/{registry.id}/rows",
        headers=api_headers(client, officer),
        json={"rows": [{"credit_code": code(1), "name": "甲"}]},
    )
    other = api_headers(client, other_officer)
    assert client.get(f"/api/v1/identifiers/credit_code/{code(1)}", headers=other).json() == []


def test_mapping_is_edited_on_the_page_and_used_by_the_next_upload(
    client, db, officer, registry
) -> None:
    login(client, officer)
    token = csrf_of(client, f"/catalog/{registry.id}/data/upload")
    saved = client.post(
        f"/catalog/{registry.id}/data/settings",
        data={
            "csrf_token": token,
            "on_invalid": "quarantine",
            "map_credit_code": "代码",
            "map_name": "名称",
            "map_founded": "",
        },
        follow_redirects=True,
    )
    assert "设置已保存" in saved.text and 'value="代码"' in saved.text
    header = "代码,名称,成立日期,注册资本,企业类型\n"
    body = (header + "".join(r + "\n" for r in good_rows(1, 2))).encode()
    response = client.post(
        f"/api/v1/datasets/{registry.id}/ingestions",
        headers=api_headers(client, officer),
        files={"file": ("a.csv", body, "text/csv")},
    )
    _run_jobs(db)
    done = client.get(
        f"/api/v1/ingestions/{response.json()['id']}", headers=api_headers(client, officer)
    ).json()
    assert done["status"] == "published" and done["on_invalid"] == "quarantine"
    assert done["mapping"]["credit_code"] == "代码"
    version = client.get(
        f"/api/v1/datasets/{registry.id}/versions/1", headers=api_headers(client, officer)
    ).json()
    # The profile job (queued by the publish) adds distinct counts and extremes.
    assert version["quality"]["profiled"] is True
    assert version["quality"]["fields"]["credit_code"]["distinct"] == 2
    assert version["quality"]["fields"]["founded"]["min"] == "2020-01-02"
