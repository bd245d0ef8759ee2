"""Quality pages (with the SVG chart), the JSON API and the CLI."""

from __future__ import annotations

import datetime as dt
import re

from typer.testing import CliRunner

from gongshu.catalog import service as catalog_service
from gongshu.catalog.models import DatasetState, UpdateCycle
from gongshu.cli import app as cli_app
from gongshu.db import make_engine, make_session_factory
from gongshu.ingest import service as ingest
from gongshu.quality import service
from gongshu.workdays.calendar import local_today
from tests.factories import api_headers, dataset_input, login, seed_officer
from tests.ingest_service.conftest import HEADER, good_rows, registry_fields


def _two_versions(db, officer, registry, write_csv) -> None:
    registry.update_cycle = UpdateCycle.MONTHLY
    registry.published_on = local_today()
    for rows in (good_rows(1, 3), [*good_rows(2, 3), "坏,,,,"]):
        result = ingest.ingest_file(
            db, officer.actor, registry, write_csv(rows), on_invalid="quarantine"
        )
        assert result.version is not None
        # What ingestion calls right after publishing.
        service.score_after_publish(db, registry, result.version)


def test_dataset_page_draws_the_chart_with_its_numbers(
    client, db, officer, registry, write_csv
) -> None:
    _two_versions(db, officer, registry, write_csv)
    login(client, officer)
    page = client.get(f"/catalog/{registry.id}/quality")
    assert page.status_code == 200, page.text
    html = page.text
    assert '<svg class="q-chart"' in html and 'role="img"' in html
    assert re.search(r"<title id=\"qc-t-\w+\">“市场主体登记信息”各版本的质量得分</title>", html)
    assert "得分</text>" in html and "版本</text>" in html  # both axes are labelled
    assert html.count("<polyline") == 6  # the total and five dimensions
    assert "第 2 版" in html and "100.0" in html
    assert "剩余" in html  # the next due date, a month away
    english = client.get(f"/catalog/{registry.id}/quality?lang=en").text
    assert "Quality scores of “市场主体登记信息” by version" in english


def test_dataset_api_and_who_may_see_it(
    client, db, officer, other_officer, registry, write_csv
) -> None:
    _two_versions(db, officer, registry, write_csv)
    body = client.get(
        f"/api/v1/quality/datasets/{registry.id}", headers=api_headers(client, officer)
    ).json()
    assert [h["version_number"] for h in body["history"]] == [1, 2]
    assert body["history"][0]["scores"]["total"] == 100.0
    assert body["history"][1]["scores"]["completeness"] < 100.0
    assert body["current"]["total"] == body["history"][1]["scores"]["total"]
    assert body["due"]["update_cycle"] == "monthly" and body["due"]["overdue"] is False
    assert body["weights"]["completeness"] == 25
    # The entry is published, so other public bodies see it and its scores.
    other = api_headers(client, other_officer)
    assert client.get(f"/api/v1/quality/datasets/{registry.id}", headers=other).status_code == 200
    registry.state = DatasetState.APPROVED
    db.flush()
    assert client.get(f"/api/v1/quality/datasets/{registry.id}", headers=other).status_code == 404


def test_ranking_agency_and_overdue_pages(
    client, db, officer, other_officer, bureau_admin, registry, write_csv, make_dataset
) -> None:
    _two_versions(db, officer, registry, write_csv)
    late = make_dataset(title="逾期条目", item_code="05")
    late.state = DatasetState.PUBLISHED
    late.update_cycle = UpdateCycle.DAILY
    late.published_on = local_today() - dt.timedelta(days=4)
    db.flush()

    login(client, bureau_admin)
    ranking = client.get("/quality")
    assert ranking.status_code == 200, ranking.text
    assert officer.user.agency.name in ranking.text
    assert "1 个逾期" in ranking.text
    assert f'href="/catalog?agency_id={registry.agency_id}"' in ranking.text
    overdue = client.get("/quality/overdue")
    assert "逾期 3 天" in overdue.text and late.code in overdue.text
    agency = client.get(f"/quality/agencies/{registry.agency_id}")
    assert agency.status_code == 200
    assert '<svg class="q-chart"' in agency.text and "各月平均得分" in agency.text
    headers = api_headers(client, bureau_admin)
    lines = client.get("/api/v1/quality/agencies", headers=headers).json()
    assert lines[0]["agency_id"] == registry.agency_id
    assert (lines[0]["rank"], lines[0]["datasets"], lines[0]["scored"], lines[0]["overdue"]) == (
        1,
        2,
        1,
        1,
    )
    listed = client.get("/api/v1/quality/overdue", headers=headers).json()
    assert [(e["code"], e["days_overdue"]) for e in listed] == [(late.code, 3)]
    detail = client.get(f"/api/v1/quality/agencies/{registry.agency_id}", headers=headers).json()
    assert {d["code"] for d in detail["datasets"]} == {registry.code, late.code}
    assert detail["history"][-1]["entries"] == 1

    client.cookies.clear()
    login(client, officer)
    assert client.get("/quality").status_code == 403
    assert client.get(f"/quality/agencies/{registry.agency_id}").status_code == 200
    client.cookies.clear()
    login(client, other_officer)
    assert client.get(f"/quality/agencies/{registry.agency_id}").status_code == 403
    other = api_headers(client, other_officer)
    assert client.get("/api/v1/quality/overdue", headers=other).status_code == 403
    assert client.get("/api/v1/quality/agencies/999999", headers=other).status_code == 404


def test_cli_score_agencies_and_overdue(cli_settings, tmp_path) -> None:
    engine = make_engine(cli_settings)
    factory = make_session_factory(engine)
    with factory() as session:
        officer = seed_officer(session)
        dataset = catalog_service.create_dataset(
            session, officer.actor, dataset_input(fields=registry_fields(), update_cycle="daily")
        )
        dataset.state = DatasetState.PUBLISHED
        dataset.published_on = local_today() - dt.timedelta(days=10)
        session.commit()
        code_ = dataset.code
    engine.dispose()
    runner = CliRunner()
    upload = tmp_path / "a.csv"
    upload.write_bytes((HEADER + "".join(r + "\n" for r in good_rows(1, 3))).encode())

    overdue = runner.invoke(cli_app, ["quality", "overdue", "--notify"])
    assert overdue.exit_code == 0, overdue.output
    assert code_ in overdue.output and "逾期 9 天" in overdue.output
    assert "已通知 1 个部门的 1 名数据专管员，涉及 1 个条目" in overdue.output

    assert runner.invoke(cli_app, ["ingest", code_, str(upload), "--as", "officer1"]).exit_code == 0
    scored = runner.invoke(cli_app, ["quality", "score", code_, "--recompute"])
    assert scored.exit_code == 0, scored.output
    lines = scored.output.splitlines()
    assert lines[1].startswith("1\t")
    assert "\t0.0\t" in lines[1]  # first data nine days after it was due: timeliness 0
    assert "剩余 1 天" in scored.output
    ranked = runner.invoke(cli_app, ["quality", "agencies"])
    assert ranked.exit_code == 0 and "临沂市市场监督管理局" in ranked.output
    assert runner.invoke(cli_app, ["quality", "rescore"]).output.strip().endswith("0 个版本的得分")
    missing = runner.invoke(cli_app, ["quality", "agencies", "--region", "999999"])
    assert missing.exit_code == 1 and "区域不存在" in missing.output
