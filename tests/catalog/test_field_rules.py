"""Validation rules on catalog fields (信息项校验规则): identifier check, allowed values,
range and pattern — checked by the service, saved, audited, shown, imported, and handed to
ingestion as ``FieldSpec``."""

from __future__ import annotations

import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu import migrate
from gongshu.catalog import changes, importer, service
from gongshu.catalog.models import (
    ChangeStatus,
    Dataset,
    DatasetState,
    Field,
    FieldType,
    Sensitivity,
)
from gongshu.catalog.schemas import DatasetUpdate, FieldIn
from gongshu.catalog.workflow_schemas import ChangeRequestCreate, ChangeReview
from gongshu.db import make_engine
from gongshu.demo.data import ENTRIES
from gongshu.errors import ValidationFailed
from gongshu.i18n import current_language
from gongshu.ingest.spec import FieldSpec, IdentifierKind, spec_of, specs_of
from gongshu.settings import Settings
from tests.catalog.conftest import api_payload, audit_entries, csrf_of
from tests.catalog.test_workflow import MONDAY, World, world_fixture  # noqa: F401 — fixture
from tests.factories import Person, api_headers, dataset_input, login, seed_officer
from tests.lists.conftest import entry_row, field_rows, fill

KEY = FieldIn(name="credit_code", label="统一社会信用代码", is_key=True, required=True, length=18)


def _with(*fields: FieldIn) -> Any:
    return dataset_input(fields=[KEY, *fields])


def _errors(db: Session, officer: Person, *fields: FieldIn) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as caught:
        service.create_dataset(db, officer.actor, _with(*fields))
    return caught.value.errors


def _field(name: str = "x", **kw: Any) -> FieldIn:
    return FieldIn(name=name, label="测试项", **kw)


# ---------------------------------------------------------------------------------------
# Saving and handing over to ingestion


def test_rules_are_saved_and_become_field_specs(db: Session, officer: Person) -> None:
    dataset = service.create_dataset(
        db,
        officer.actor,
        dataset_input(
            fields=[
                FieldIn(
                    name="credit_code",
                    label="统一社会信用代码",
                    is_key=True,
                    required=True,
                    length=18,
                    sensitivity="credit_code",
                    identifier="credit_code",
                ),
                FieldIn(name="status", label="登记状态", length=10, choices=["存续", "注销"]),
                FieldIn(
                    name="aqi",
                    label="空气质量指数",
                    data_type="integer",
                    min_value="000",
                    max_value="500",
                ),
                FieldIn(name="month", label="统计月份", pattern=r"\d{4}-(0[1-9]|1[0-2])"),
                FieldIn(
                    name="seen_at", label="监测时间", data_type="datetime", min_value="2020-01-01"
                ),
            ]
        ),
    )
    db.expire_all()
    stored = {f.name: f for f in db.scalars(select(Field).where(Field.dataset_id == dataset.id))}
    assert stored["credit_code"].identifier == "credit_code"
    assert stored["status"].choices == ["存续", "注销"] and stored["status"].identifier == ""
    assert (stored["aqi"].min_value, stored["aqi"].max_value) == ("0", "500")  # canonical
    assert stored["seen_at"].min_value == "2020-01-01T00:00:00"
    assert stored["month"].pattern == r"\d{4}-(0[1-9]|1[0-2])" and stored["month"].choices == []

    specs = specs_of(db.get(Dataset, dataset.id))  # type: ignore[arg-type]
    assert [s.name for s in specs] == ["credit_code", "status", "aqi", "month", "seen_at"]
    assert specs[0] == FieldSpec(
        name="credit_code",
        label="统一社会信用代码",
        data_type=FieldType.STRING,
        length=18,
        required=True,
        is_key=True,
        sensitivity=Sensitivity.CREDIT_CODE,
        identifier=IdentifierKind.CREDIT_CODE,
    )
    assert specs[1].identifier is None and specs[1].choices == ("存续", "注销")
    assert (specs[2].minimum, specs[2].maximum, specs[2].pattern) == ("0", "500", None)
    assert specs[3].pattern == r"\d{4}-(0[1-9]|1[0-2])" and specs[3].minimum is None
    assert spec_of(stored["status"]) == specs[1]


def test_specs_follow_positions_not_insertion(db: Session, officer: Person) -> None:
    dataset = service.create_dataset(db, officer.actor, _with(_field("b"), _field("a")))
    service.update_dataset(
        db, officer.actor, dataset.id, DatasetUpdate(fields=[KEY, _field("a"), _field("b")])
    )
    assert [s.name for s in specs_of(dataset)] == ["credit_code", "a", "b"]


def test_changing_rules_is_audited_per_attribute(db: Session, officer: Person) -> None:
    dataset = service.create_dataset(db, officer.actor, _with(_field("status", choices=["存续"])))
    service.update_dataset(
        db,
        officer.actor,
        dataset.id,
        DatasetUpdate(fields=[KEY, _field("status", choices=["存续", "注销"], pattern=".+")]),
    )
    entry = audit_entries(db, dataset.id, "dataset.update")[-1]
    assert entry.changes["fields.status.choices"] == [["存续"], ["存续", "注销"]]
    assert entry.changes["fields.status.pattern"] == [None, ".+"]
    assert "fields.status.identifier" not in entry.changes


# ---------------------------------------------------------------------------------------
# The service's checks


def test_identifier_suits_the_type_and_length(db: Session, officer: Person) -> None:
    errors = _errors(
        db,
        officer,
        _field("a", data_type="integer", identifier="mobile"),
        _field("b", length=11, identifier="citizen_id"),
        _field("c", length=6, identifier="region_code"),  # exactly long enough
        _field("d", data_type="text", identifier="credit_code"),
    )
    assert errors["fields.1.identifier"] == ["标识校验只适用于字符串或长文本类型的信息项"]
    assert errors["fields.2.identifier"] == ["长度 11 容不下公民身份号码（18 位）"]
    assert set(errors) == {"fields.1.identifier", "fields.2.identifier"}


def test_choices_are_for_strings_unique_and_fit(db: Session, officer: Person) -> None:
    errors = _errors(
        db,
        officer,
        _field("a", data_type="integer", choices=["1", "2"]),
        _field("b", length=2, choices=["男", "女", "男", "未说明"]),
        _field("c", choices=["甲\n乙"]),
        _field("d", choices=["A1", "b2"], pattern="[A-Z][0-9]"),
        _field("e", choices=[str(i) for i in range(service.MAX_CHOICES + 1)]),
    )
    assert errors["fields.1.choices"] == ["枚举值只适用于字符串类型的信息项"]
    assert errors["fields.2.choices"] == ["枚举值“男”重复", "枚举值“未说明”超过信息项长度 2"]
    assert errors["fields.3.choices"] == ["枚举值不能包含换行符"]
    assert errors["fields.4.choices"] == ["枚举值“b2”不符合正则表达式"]
    assert errors["fields.5.choices"] == ["枚举值不能超过 500 个"]


def test_blank_choices_are_dropped() -> None:
    assert _field(choices=[" 存续 ", "", "  "]).choices == ["存续"]


@pytest.mark.parametrize(
    ("data_type", "low", "high", "key", "message"),
    [
        (
            "string",
            "0",
            None,
            "min_value",
            "取值范围只适用于整数、小数、日期和日期时间类型的信息项",
        ),
        (
            "boolean",
            None,
            "1",
            "max_value",
            "取值范围只适用于整数、小数、日期和日期时间类型的信息项",
        ),
        ("integer", "1.5", None, "min_value", "应为整数，如 0"),
        ("integer", "1_000", None, "min_value", "应为整数，如 0"),
        ("decimal", "NaN", None, "min_value", "应为数字，如 99.5"),
        ("decimal", None, "1e3", "max_value", "应为数字，如 99.5"),
        ("date", "2020-02-30", None, "min_value", "应为日期，如 2020-01-01"),
        ("date", "20200101", None, "min_value", "应为日期，如 2020-01-01"),
        ("datetime", None, "明天", "max_value", "应为日期时间，如 2020-01-01T00:00:00"),
        ("integer", "10", "9", "max_value", "最小值不能大于最大值"),
        ("decimal", "99.5", "-1", "max_value", "最小值不能大于最大值"),
        ("date", "2021-01-01", "2020-12-31", "max_value", "最小值不能大于最大值"),
        (
            "datetime",
            "2020-01-01T00:00:00+08:00",
            "2021-01-01T00:00:00",
            "max_value",
            "最小值和最大值须同时带时区或同时不带时区",
        ),
    ],
)
def test_ranges_are_typed_and_ordered(
    db: Session,
    officer: Person,
    data_type: str,
    low: str | None,
    high: str | None,
    key: str,
    message: str,
) -> None:
    errors = _errors(db, officer, _field(data_type=data_type, min_value=low, max_value=high))
    assert errors == {f"fields.1.{key}": [message]}


def test_good_ranges_pass(db: Session, officer: Person) -> None:
    dataset = service.create_dataset(
        db,
        officer.actor,
        _with(
            _field("a", data_type="integer", min_value="-5", max_value="-5"),
            _field("b", data_type="decimal", min_value="0", max_value="99.5"),
            _field("c", data_type="date", max_value="2030-12-31"),
            _field("d", data_type="datetime", min_value="2020-01-01 08:30", max_value=" "),
        ),
    )
    bounds = {f.name: (f.min_value, f.max_value) for f in dataset.fields}
    assert bounds["a"] == ("-5", "-5") and bounds["b"] == ("0", "99.5")
    assert bounds["c"] == (None, "2030-12-31")
    assert bounds["d"] == ("2020-01-01T08:30:00", None)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        (r"(\d)\1", "正则表达式不能使用反向引用，入库校验使用的 RE2 引擎不支持"),
        (r"(?P<y>\d)(?P=y)", "正则表达式不能使用反向引用，入库校验使用的 RE2 引擎不支持"),
        (
            r"(?=\d)\w+",
            "正则表达式不能使用前瞻或后顾断言（如 (?=…)），入库校验使用的 RE2 引擎不支持",
        ),
        (
            r"(?<!0)\d+",
            "正则表达式不能使用前瞻或后顾断言（如 (?=…)），入库校验使用的 RE2 引擎不支持",
        ),
        (r"\d{1001}", "正则表达式使用了 RE2 引擎不支持的写法：invalid repetition size: {1001}"),
        (r"\d++", "正则表达式使用了 RE2 引擎不支持的写法：bad repetition operator: ++"),
        (r"(?>ab)", "正则表达式使用了 RE2 引擎不支持的写法：invalid perl operator: (?>"),
        (r"[0-9", "正则表达式有误（第 1 个字符附近）：unterminated character set"),
        (r"ab)", "正则表达式有误（第 3 个字符附近）：unbalanced parenthesis"),
    ],
)
def test_patterns_must_work_in_python_and_re2(
    db: Session, officer: Person, pattern: str, message: str
) -> None:
    assert _errors(db, officer, _field(pattern=pattern)) == {"fields.1.pattern": [message]}


def test_patterns_that_work_and_where_they_may_go(db: Session, officer: Person) -> None:
    # A lookahead inside a character class is just characters; Chinese ranges work in RE2.
    for pattern in (r"[(?=]x", r"[一-龥]{2,10}", r"\d{6}|[A-Z]{2}\d{4}"):
        assert service.pattern_problem(pattern) is None, pattern
    # RE2 has no \u escapes; the message says to write the characters themselves.
    assert service.pattern_problem(r"[\u4e00-\u9fa5]+") == (
        "正则表达式中的 \\uXXXX 转义 RE2 引擎不支持，请直接写出字符，如 [一-龥]"
    )
    errors = _errors(db, officer, _field(data_type="integer", pattern=r"\d+"))
    assert errors == {"fields.1.pattern": ["正则表达式只适用于字符串或长文本类型的信息项"]}


def test_rule_messages_speak_english(db: Session, officer: Person) -> None:
    token = current_language.set("en")
    try:
        with pytest.raises(ValidationFailed) as caught:
            service.create_dataset(
                db, officer.actor, _with(_field(length=11, identifier="citizen_id"))
            )
    finally:
        current_language.reset(token)
    assert caught.value.errors["fields.1.identifier"] == [
        "A length of 11 cannot hold a Citizen ID number (18 characters)"
    ]


# ---------------------------------------------------------------------------------------
# API, pages, change requests, import


def test_api_takes_returns_and_refuses_rules(client: TestClient, officer: Person) -> None:
    headers = api_headers(client, officer)
    fields = [
        {"name": "licence_no", "label": "许可证编号", "is_key": True, "required": True},
        {"name": "holder_code", "label": "统一社会信用代码", "identifier": "credit_code"},
        {"name": "kind", "label": "许可类别", "choices": ["新办", "延续", "变更"]},
        {
            "name": "score",
            "label": "评分",
            "data_type": "decimal",
            "min_value": "0",
            "max_value": "100",
        },
    ]
    response = client.post("/api/v1/datasets", json=api_payload(fields=fields), headers=headers)
    assert response.status_code == 201, response.text
    read = {f["name"]: f for f in response.json()["fields"]}
    assert read["holder_code"]["identifier"] == "credit_code"
    assert read["licence_no"]["identifier"] == "" and read["licence_no"]["pattern"] is None
    assert read["kind"]["choices"] == ["新办", "延续", "变更"]
    assert (read["score"]["min_value"], read["score"]["max_value"]) == ("0", "100")

    bad = [*fields[:1], {"name": "n", "label": "数量", "data_type": "integer", "pattern": "(a)\\1"}]
    response = client.post("/api/v1/datasets", json=api_payload(fields=bad), headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["errors"]["fields.1.pattern"] == [
        "正则表达式只适用于字符串或长文本类型的信息项"
    ]
    unknown = [*fields[:1], {"name": "n", "label": "号码", "identifier": "passport"}]
    response = client.post("/api/v1/datasets", json=api_payload(fields=unknown), headers=headers)
    assert response.status_code == 422
    assert "fields.1.identifier" in str(response.json()["error"]["errors"])
    too_long = [*fields[:1], {"name": "n", "label": "号码", "pattern": "a" * 201}]
    response = client.post("/api/v1/datasets", json=api_payload(fields=too_long), headers=headers)
    assert response.json()["error"]["errors"]["fields.1.pattern"] == ["长度不能超过 200 个字符"]


def _form(csrf: str, **rows: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "title": "空气质量监测数据",
        "classification": "theme:04",
        "subitem_code": "001",
        "format": "database",
        "update_cycle": "daily",
        "level": "general_1",
        "share_type": "unconditional",
        "open_type": "unconditional",
        "fields-0-name": "station",
        "fields-0-label": "站点编码",
        "fields-0-data_type": "string",
        "fields-0-is_key": "1",
        "fields-0-required": "1",
        "fields-0-sensitivity": "none",
        "fields-1-name": "aqi",
        "fields-1-label": "空气质量指数",
        "fields-1-data_type": "integer",
        "fields-1-sensitivity": "none",
        "fields-2-name": "pollutant",
        "fields-2-label": "首要污染物",
        "fields-2-data_type": "string",
        "fields-2-sensitivity": "none",
        **rows,
    }


def test_form_edits_rules_and_shows_errors_beside_the_field(
    client: TestClient, officer: Person, db: Session
) -> None:
    login(client, officer)
    page = client.get("/catalog/new")
    assert 'name="fields-0-identifier"' in page.text and "<details" in page.text
    assert "data-suggest='" in page.text and '"id_number": "citizen_id"' in page.text
    csrf = csrf_of(page.text)

    bad = _form(csrf, **{"fields-1-min_value": "500", "fields-1-max_value": "0"})
    response = client.post("/catalog/new", data=bad)
    assert response.status_code == 422
    assert "最小值不能大于最大值" in response.text
    # The failing row's rules are open, with what was typed; the other rows stay closed.
    assert response.text.count('<details class="field-rules" open>') == 1
    assert 'name="fields-1-min_value" value="500"' in response.text

    good = _form(
        csrf,
        **{
            "fields-1-min_value": "0",
            "fields-1-max_value": "500",
            "fields-2-choices": "PM2.5\r\nPM10\r\n\r\nO3 ",
            "fields-0-pattern": r"\d{8}",
        },
    )
    response = client.post("/catalog/new", data=good, follow_redirects=False)
    assert response.status_code == 303, response.text
    dataset_id = int(response.headers["location"].rsplit("/", 1)[1])
    dataset = db.get(Dataset, dataset_id)
    assert dataset is not None
    rules = {f.name: (f.choices, f.min_value, f.max_value, f.pattern) for f in dataset.fields}
    assert rules["aqi"] == ([], "0", "500", None)
    assert rules["pollutant"] == (["PM2.5", "PM10", "O3"], None, None, None)
    assert rules["station"] == ([], None, None, r"\d{8}")

    tab = client.get(f"/catalog/{dataset_id}?tab=fields").text
    assert "枚举值：PM2.5、PM10、O3" in tab and "取值范围：0 ~ 500" in tab
    edit = client.get(f"/catalog/{dataset_id}/edit").text
    assert "PM2.5\nPM10\nO3</textarea>" in edit
    assert "已设 1 项" in edit
    english = client.get(f"/catalog/{dataset_id}?tab=fields&lang=en").text
    assert "Allowed values：PM2.5、PM10、O3" in english or "Allowed values: PM2.5" in english


def test_rules_change_through_a_change_request(world: World) -> None:
    dataset = world.drive(world.make("city"), DatasetState.PUBLISHED, "city")
    officer = world.city_officer.actor
    current = [FieldIn.model_validate(f, from_attributes=True) for f in dataset.fields]
    credit = FieldIn.model_validate({**current[0].model_dump(), "identifier": "credit_code"})
    proposal = ChangeRequestCreate.model_validate(
        {
            "kind": "modify",
            "reason": "汇聚时校验统一社会信用代码",
            "basis_changed_on": MONDAY.isoformat(),
            "changes": {
                "fields": [
                    credit.model_dump(mode="json"),
                    *(f.model_dump(mode="json") for f in current[1:]),
                ]
            },
        }
    )
    change = changes.propose_change(world.db, officer, dataset.id, proposal, today=MONDAY)
    assert dataset.fields[0].identifier == ""  # untouched until consent
    assert changes.preview(world.db, officer, change) == {
        "fields.credit_code.identifier": ["", "credit_code"]
    }
    changes.review_change(
        world.db, world.people["city_bureau"].actor, change.id, ChangeReview(approve=True)
    )
    assert change.status is ChangeStatus.APPROVED
    assert dataset.fields[0].identifier == "credit_code"
    assert specs_of(dataset)[0].identifier is IdentifierKind.CREDIT_CODE


def test_a_bad_rule_in_a_change_request_is_refused(world: World) -> None:
    dataset = world.drive(world.make("city"), DatasetState.PUBLISHED, "city")
    fields = [FieldIn.model_validate(f, from_attributes=True) for f in dataset.fields]
    bad = FieldIn.model_validate({**fields[0].model_dump(), "pattern": "(?<=1)2"})
    proposal = ChangeRequestCreate.model_validate(
        {
            "kind": "modify",
            "reason": "增加格式校验",
            "basis_changed_on": MONDAY.isoformat(),
            "changes": {
                "fields": [
                    bad.model_dump(mode="json"),
                    *(f.model_dump(mode="json") for f in fields[1:]),
                ]
            },
        }
    )
    with pytest.raises(ValidationFailed) as caught:
        changes.propose_change(
            world.db, world.city_officer.actor, dataset.id, proposal, today=MONDAY
        )
    assert "fields.0.pattern" in caught.value.errors


def _field_column(key: str) -> int:
    return next(i for i, c in enumerate(importer.FIELD_COLUMNS, start=1) if c.key == key)


def test_import_template_carries_rule_columns(db: Session, officer: Person) -> None:
    wb = load_workbook(io.BytesIO(importer.build_template()))
    headers = [c.value for c in wb[importer.FIELDS_SHEET][1]]
    assert {"标识校验", "枚举值", "最小值", "最大值", "正则表达式"} <= set(headers)
    values = [c.value for c in next(iter(wb[importer.VALUES_SHEET].iter_cols())) if c.value]
    listed = {
        col[0].value: [c.value for c in col[1:] if c.value]
        for col in wb[importer.VALUES_SHEET].iter_cols()
    }
    assert listed["标识校验"] == ["公民身份号码", "统一社会信用代码", "手机号码", "行政区划代码"]
    assert values  # the allowed-values sheet is filled

    fields = field_rows("1")
    fields[0]["identifier"] = "统一社会信用代码"
    fields[1].update(min_value=2000, max_value="2099")
    fields.append(
        {"ref": "1", "name": "status", "label": "登记状态", "choices": "存续、注销\n吊销"}
    )
    fields.append({"ref": "1", "name": "remark", "label": "备注", "pattern": "(a)\\1"})
    report = importer.import_catalog(db, officer.actor, fill([entry_row("1")], fields))
    assert [(e.sheet, e.row, e.header) for e in report.errors] == [
        (importer.FIELDS_SHEET, 5, "正则表达式")
    ]
    fields.pop()
    report = importer.import_catalog(db, officer.actor, fill([entry_row("1")], fields))
    assert report.saved and not report.errors
    dataset = db.scalars(select(Dataset).where(Dataset.code == report.created[0])).one()
    specs = {s.name: s for s in specs_of(dataset)}
    assert specs["credit_code"].identifier is IdentifierKind.CREDIT_CODE
    assert (specs["report_year"].minimum, specs["report_year"].maximum) == ("2000", "2099")
    assert specs["status"].choices == ("存续", "注销", "吊销")


# ---------------------------------------------------------------------------------------
# Demo city and migration


def test_demo_entries_use_rules_that_pass_the_checks() -> None:
    used: dict[str, int] = {}
    for entry in ENTRIES:
        fields = [
            FieldIn(
                name=f.name,
                label=f.label,
                data_type=f.data_type,
                length=f.length,
                is_key=f.is_key,
                required=f.required,
                sensitivity=f.sensitivity,
                **f.rules(),
            )
            for f in entry.fields
        ]
        errors: dict[str, list[str]] = {}
        service._check_fields(errors, fields)
        assert not errors, (entry.title, errors)
        for f in fields:
            for attr in service.RULE_ATTRS:
                if getattr(f, attr):
                    used[attr] = used.get(attr, 0) + 1
            # 持证主体代码 is an ID number or a credit code: no single check fits it.
            if f.sensitivity in service.SUGGESTED_IDENTIFIERS and f.name != "holder_code":
                assert f.identifier == service.SUGGESTED_IDENTIFIERS[f.sensitivity], f.name
    assert set(used) == set(service.RULE_ATTRS)
    air = next(e for e in ENTRIES if e.title == "空气质量监测数据")
    aqi = next(f for f in air.fields if f.name == "aqi")
    assert (aqi.min_value, aqi.max_value) == ("0", "500")


def test_migration_gives_existing_fields_no_rules(scratch_settings: Settings) -> None:
    engine = make_engine(scratch_settings)
    try:
        with Session(engine) as session:
            person = seed_officer(session)
            dataset = service.create_dataset(session, person.actor, dataset_input())
            dataset_id = dataset.id
        migrate.downgrade(scratch_settings, "0007-1")
        migrate.upgrade(scratch_settings)
        with Session(engine) as session:
            fields = session.scalars(select(Field).where(Field.dataset_id == dataset_id)).all()
            assert len(fields) == 3
            assert all(f.identifier == "" and f.choices == [] for f in fields)
            assert all(f.min_value is None and f.pattern is None for f in fields)
    finally:
        engine.dispose()
