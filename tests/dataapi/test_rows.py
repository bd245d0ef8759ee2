"""Rows, count and aggregates through the data API, checked against a Python reference."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.auth import service as auth_service
from gongshu.auth.models import Role
from gongshu.auth.schemas import ApiKeyCreate
from gongshu.catalog.models import Dataset
from gongshu.gate.filters import Filter, check, matches
from gongshu.store.models import DatasetVersion
from tests.dataapi.conftest import NAMES, all_rows, as_json_rows, comparable, write_rows
from tests.factories import Person, api_headers

PURPOSE = "_purpose=" + quote("数据核验")


def url(dataset: Dataset, tail: str, query: str = "") -> str:
    sep = "&" if query else ""
    return f"/api/v1/data/{dataset.code}/{tail}?{query}{sep}{PURPOSE}"


def reference(
    version: DatasetVersion,
    filters: Sequence[Filter] = (),
    order: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """The rows the API must return, in order: the filters' reference meaning, then the
    sort (NULL first ascending, last descending) with file order breaking ties in the
    direction of the last sort field."""
    checked = check(filters, version.schema)
    rows = [r for r in all_rows() if matches(checked, r)]
    tie_desc = order[-1].startswith("-") if order else False
    positions = {r["credit_code"]: i for i, r in enumerate(all_rows())}
    rows.sort(key=lambda r: positions[r["credit_code"]], reverse=tie_desc)
    for item in reversed(order):
        name, desc = item.lstrip("-"), item.startswith("-")
        rows.sort(
            key=lambda r, n=name: (r[n] is not None, r[n] if r[n] is not None else 0), reverse=desc
        )
    return rows


def pages(client: TestClient, headers: dict[str, str], first: str) -> list[list[dict[str, Any]]]:
    out = []
    target: str | None = first
    while target is not None:
        response = client.get(target, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        out.append(body["rows"])
        assert (body["next_cursor"] is None) == (body["next_url"] is None)
        target = body["next_url"]
        assert len(out) < 500
    return out


CASES: list[tuple[str, list[Filter], list[str]]] = [
    ("", [], []),
    ("district=兰山区", [Filter("district", "eq", "兰山区")], []),
    ("staff__ge=20&_sort=-staff", [Filter("staff", "ge", "20")], ["-staff"]),
    (
        "district__in=兰山区,河东区&_sort=staff,-founded",
        [Filter("district", "in", ["兰山区", "河东区"])],
        ["staff", "-founded"],
    ),
    ("_sort=-capital", [], ["-capital"]),
    ("_sort=founded,checked_at", [], ["founded", "checked_at"]),
    (
        "capital__range=100,900&_sort=capital",
        [Filter("capital", "range", ["100", "900"])],
        ["capital"],
    ),
    ("founded__null=1&_sort=-name", [Filter("founded", "null")], ["-name"]),
    ("active=true&_sort=-active,mobile", [Filter("active", "eq", "true")], ["-active", "mobile"]),
]


@pytest.mark.parametrize(("query", "filters", "order"), CASES)
@pytest.mark.parametrize("limit", [7, 100])
def test_keyset_pages_are_complete_stable_and_ordered(
    api: TestClient,
    officer: Person,
    entry: Dataset,
    version: DatasetVersion,
    query: str,
    filters: list[Filter],
    order: list[str],
    limit: int,
) -> None:
    headers = api_headers(api, officer)
    found = pages(
        api, headers, url(entry, "rows", f"{query}&_limit={limit}" if query else f"_limit={limit}")
    )
    flat = [r for page in found for r in page]
    assert all(len(page) == limit for page in found[:-1])
    codes = [r["credit_code"] for r in flat]
    assert len(codes) == len(set(codes)), "a row came twice"
    assert flat == as_json_rows(reference(version, filters, order))


def test_filters_on_every_operator_match_the_reference(
    api: TestClient, officer: Person, entry: Dataset, version: DatasetVersion
) -> None:
    headers = api_headers(api, officer)
    cases = [
        ("district__ne=兰山区", Filter("district", "ne", "兰山区")),
        ("staff__lt=10", Filter("staff", "lt", "10")),
        ("staff__le=10", Filter("staff", "le", "10")),
        ("staff__gt=40", Filter("staff", "gt", "40")),
        ("capital__ge=1000.5", Filter("capital", "ge", "1000.5")),
        (
            "founded__range=2000-03-01,2000-09-30",
            Filter("founded", "range", ["2000-03-01", "2000-09-30"]),
        ),
        ("name__prefix=临沂市测试企业1", Filter("name", "prefix", "临沂市测试企业1")),
        ("note__contains=%E5%BC%95%E5%8F%B7", Filter("note", "contains", "引号")),
        ("note__contains=%3D", Filter("note", "contains", "=")),
        ("capital__notnull=1", Filter("capital", "notnull")),
        ("staff__in=%5B1%2C2%2C3%5D", Filter("staff", "in", [1, 2, 3])),
        ("checked_at__gt=2024-05-05T00:00:00", Filter("checked_at", "gt", "2024-05-05T00:00:00")),
        ("mobile=13800000042", Filter("mobile", "eq", "13800000042")),
    ]
    for query, wanted in cases:
        flat = [
            r
            for page in pages(api, headers, url(entry, "rows", query + "&_limit=1000"))
            for r in page
        ]
        assert flat == as_json_rows(reference(version, [wanted])), query
        count = api.get(url(entry, "count", query), headers=headers)
        assert count.status_code == 200, count.text
        assert count.json()["count"] == len(flat), query


def test_fields_limit_and_the_answer_shape(
    api: TestClient, officer: Person, entry: Dataset, version: DatasetVersion
) -> None:
    headers = api_headers(api, officer)
    body = api.get(
        url(entry, "rows", "_fields=name,capital&_sort=-capital&_limit=3"), headers=headers
    ).json()
    assert [list(r) for r in body["rows"]] == [["name", "capital"]] * 3
    assert body["fields"] == [
        {"name": "name", "label": "企业名称", "type": "string", "masked": False},
        {"name": "capital", "label": "注册资本", "type": "decimal", "masked": False},
    ]
    best = reference(version, [], ["-capital"])[0]
    assert body["rows"][0] == {"name": best["name"], "capital": comparable(best["capital"])}
    assert body["dataset"] == {"id": entry.id, "code": entry.code, "title": entry.title}
    assert body["version"] == 1 and body["limit"] == 3
    assert body["next_url"].startswith("http://testserver/api/v1/data/")
    # Default page size, the cap, and by id as well as by code.
    default = api.get(f"/api/v1/data/{entry.id}/rows?{PURPOSE}", headers=headers).json()
    assert len(default["rows"]) == 100 and default["limit"] == 100
    everything = api.get(url(entry, "rows", "_limit=10000"), headers=headers).json()
    assert len(everything["rows"]) == 240 and everything["next_cursor"] is None
    too_many = api.get(url(entry, "rows", "_limit=10001"), headers=headers)
    assert too_many.status_code == 422
    assert too_many.json()["error"]["code"] == "validation_failed"


def test_purpose_is_required_and_recorded_from_the_header(
    db: Session, api: TestClient, officer: Person, entry: Dataset, version: DatasetVersion
) -> None:
    headers = api_headers(api, officer)
    missing = api.get(f"/api/v1/data/{entry.code}/rows", headers=headers)
    assert missing.status_code == 422
    assert (
        missing.json()["error"]["message"].startswith("请说明读取数据的用途")
        or missing.json()["error"]["errors"]
    )
    with_header = api.get(
        f"/api/v1/data/{entry.code}/rows?district=兰山区&_limit=5",
        headers={**headers, "X-Gongshu-Purpose": quote("核对企业名单")},
    )
    assert with_header.status_code == 200, with_header.text
    entry_row = db.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert entry_row is not None and entry_row.action == "data.read"
    assert entry_row.changes["purpose"] == "核对企业名单"
    assert entry_row.changes["rows"] == 5
    assert entry_row.changes["filters"] == [["district", "eq", "兰山区"]]
    assert entry_row.request_id == with_header.headers["X-Request-ID"]


def test_bad_input_gets_clear_errors(
    api: TestClient, officer: Person, entry: Dataset, version: DatasetVersion
) -> None:
    headers = api_headers(api, officer)
    for query, status in [
        ("nope=1", 422),
        ("staff__near=3", 422),
        ("staff=many", 422),
        ("_sort=nope", 422),
        ("_after=garbage", 422),
        ("_version=9", 404),
        ("staff__prefix=1", 422),
    ]:
        response = api.get(url(entry, "rows", query), headers=headers)
        assert response.status_code == status, (query, response.text)
        assert response.json()["error"]["message"], query
    english = api.get(url(entry, "rows", "nope=1"), headers={**headers, "Accept-Language": "en"})
    assert "nope" in english.json()["error"]["message"]
    assert not any("\u4e00" <= c <= "\u9fff" for c in english.json()["error"]["message"])
    assert api.get(f"/api/v1/data/999999/rows?{PURPOSE}", headers=headers).status_code == 404
    assert api.get(f"/api/v1/data/no-such-code/rows?{PURPOSE}", headers=headers).status_code == 404


def test_who_may_read(
    db: Session,
    api: TestClient,
    officer: Person,
    other_officer: Person,
    bureau_admin: Person,
    make_person: Callable[..., Person],
    entry: Dataset,
    version: DatasetVersion,
) -> None:
    target = url(entry, "rows", "_limit=3")
    assert api.get(target).status_code == 401
    citizen = make_person(Role.PUBLIC)
    for person in (other_officer, citizen):
        response = api.get(target, headers=api_headers(api, person))
        assert response.status_code in (403, 404), response.text
    assert api.get(target, headers=api_headers(api, bureau_admin)).status_code == 200
    denied = db.scalars(
        select(AuditEntry).where(AuditEntry.action == "data.denied").order_by(AuditEntry.seq.desc())
    ).first()
    assert denied is not None and denied.actor_id in (other_officer.user.id, citizen.user.id)


def test_an_agency_api_key_reads_as_its_agency(
    db: Session, api: TestClient, officer: Person, entry: Dataset, version: DatasetVersion
) -> None:
    _key, secret = auth_service.create_api_key(
        db, officer.actor, ApiKeyCreate(name="业务系统", owner_agency_id=officer.user.agency_id)
    )
    response = api.get(url(entry, "rows", "_limit=2"), headers={"X-API-Key": secret})
    assert response.status_code == 200, response.text
    assert len(response.json()["rows"]) == 2
    entry_row = db.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert entry_row is not None and entry_row.agency_id == officer.user.agency_id
    assert entry_row.changes["basis"] == "provider"


def test_a_past_version_stays_readable(
    db: Session, api: TestClient, officer: Person, entry: Dataset, version: DatasetVersion
) -> None:
    write_rows(db, officer, entry, all_rows(50))
    headers = api_headers(api, officer)
    assert api.get(url(entry, "count"), headers=headers).json() == {
        "dataset": {"id": entry.id, "code": entry.code, "title": entry.title},
        "version": 2,
        "count": 50,
    }
    old = api.get(url(entry, "count", "_version=1"), headers=headers).json()
    assert (old["version"], old["count"]) == (1, 240)


def _reference_groups(
    rows: list[dict[str, Any]], group: list[str], measures: list[tuple[str, str | None]]
) -> list[dict[str, Any]]:
    buckets: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in rows:
        buckets.setdefault(tuple(r[g] for g in group), []).append(r)
    out = []
    for key, members in buckets.items():
        item: dict[str, Any] = dict(zip(group, key, strict=True))
        for fn, name in measures:
            label = fn if name is None else f"{fn}:{name}"
            values = [m[name] for m in members if m[name] is not None] if name else members
            if fn == "count":
                item[label] = len(values)
            elif not values:
                item[label] = None
            elif fn == "sum":
                item[label] = sum(values)
            elif fn == "avg":
                item[label] = Decimal(sum(values)) / len(values)
            elif fn == "min":
                item[label] = min(values)
            else:
                item[label] = max(values)
        out.append(item)
    return out


def _close(a: Any, b: Any) -> bool:
    if isinstance(b, (Decimal, float)):
        return a is not None and abs(Decimal(str(a)) - Decimal(str(b))) < Decimal("0.0001")
    return bool(a == comparable(b))


def test_aggregates_match_the_reference(
    api: TestClient, officer: Person, entry: Dataset, version: DatasetVersion
) -> None:
    headers = api_headers(api, officer)
    measures: list[tuple[str, str | None]] = [
        ("count", None),
        ("sum", "capital"),
        ("avg", "capital"),
        ("sum", "staff"),
        ("avg", "staff"),
        ("min", "founded"),
        ("max", "checked_at"),
        ("min", "name"),
    ]
    spec = ",".join(fn if name is None else f"{fn}:{name}" for fn, name in measures)
    for group, query, filters in [
        ([], "", []),
        (["district"], "", []),
        (["district", "active"], "staff__ge=10", [Filter("staff", "ge", "10")]),
    ]:
        q = (
            f"_measure={spec}"
            + (f"&_group={','.join(group)}" if group else "")
            + (f"&{query}" if query else "")
        )
        response = api.get(url(entry, "aggregate", q), headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["group_by"] == group and body["truncated"] is False
        assert body["measures"][0] == "count" and body["measures"][1] == "sum:capital"
        expected = _reference_groups(reference(version, filters), group, measures)
        got = {tuple(g[k] for k in group): g for g in body["groups"]}
        assert len(got) == len(expected)
        for item in expected:
            key = tuple(comparable(item[k]) for k in group)
            answer = got[key]
            for label, value in item.items():
                if label in group:
                    continue
                assert (
                    _close(answer[label], value) if value is not None else answer[label] is None
                ), (
                    group,
                    label,
                    answer[label],
                    value,
                )
    bad = api.get(url(entry, "aggregate", "_measure=median:staff"), headers=headers)
    assert bad.status_code == 422
    limited = api.get(
        url(entry, "aggregate", "_group=credit_code&_limit=10"), headers=headers
    ).json()
    assert len(limited["groups"]) == 10 and limited["truncated"] is True


def test_every_row_type_comes_back_as_documented(
    api: TestClient, officer: Person, entry: Dataset, version: DatasetVersion
) -> None:
    headers = api_headers(api, officer)
    row = api.get(url(entry, "rows", "credit_code=91371300MA00000001"), headers=headers).json()[
        "rows"
    ][0]
    assert row == {
        "credit_code": "91371300MA00000001",
        "name": "临沂市测试企业1有限公司",
        "district": "罗庄区",
        "capital": "10.01",
        "staff": 37,
        "founded": (dt.date(2000, 1, 1) + dt.timedelta(days=13)).isoformat(),
        "checked_at": "2024-05-01T09:00:00",
        "active": True,
        "note": "第1行“引号”,逗号",
        "mobile": "13800000001",
    }
    assert list(row) == NAMES
