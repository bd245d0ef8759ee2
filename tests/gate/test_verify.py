"""Verification reads through the gate: yes/no and the fields that disagree, never the
record; who may ask; validity; existence kept hidden; audit entries without clear values."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.audit.models import AuditEntry
from gongshu.auth.models import Role
from gongshu.catalog.models import Dataset
from gongshu.errors import PermissionDenied, ValidationFailed
from gongshu.gate import verify as gate
from gongshu.gate.verify import Claim, VerifyRule, keyed_hash
from gongshu.verification.models import VerificationService
from gongshu.verification.service import rule_for
from tests.factories import Person
from tests.verification import data
from tests.verification.data import NAMES, TODAY, grant, person_id

# The entries and services of the verification tests, as fixtures of this module.
residents = data.residents
licences = data.licences
citizen_service = data.citizen_service
licence_service = data.licence_service


def _entries(db: Session, action: str) -> list[AuditEntry]:
    return list(
        db.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq))
    )


def _one(db: Session, who: Person, rule: VerifyRule, key: str, **claims: object) -> gate.Outcome:
    result = gate.verify(db, who.actor, rule, [Claim(key, claims)], purpose="开户核验", today=TODAY)
    return result.outcomes[0]


def test_match_and_mismatched_fields(
    db: Session, officer: Person, citizen_service: VerificationService
) -> None:
    rule = rule_for(citizen_service)
    assert _one(db, officer, rule, person_id(0), name="张三") == gate.Outcome(
        match=True, mismatched=[], found=None, valid=None
    )
    wrong = _one(db, officer, rule, person_id(0), name="张四")
    assert wrong.match is False and wrong.mismatched == ["name"]


def test_values_are_normalised_before_comparing(
    db: Session, officer: Person, citizen_service: VerificationService
) -> None:
    rule = rule_for(citizen_service)
    # Full-width letters and spaces, other case, stray spaces; lower-case x in the key.
    assert _one(db, officer, rule, person_id(4).lower(), name=" ｚｈａｏ　 liu ").match
    assert _one(db, officer, rule, f" {person_id(4)} ", name="ZHAO LIU").match
    assert not _one(db, officer, rule, person_id(4), name="Zhao Li").match
    # A 15-digit legacy number is the same person as its 18-digit form.
    legacy = person_id(0)[:6] + person_id(0)[8:17]
    assert len(legacy) == 15 and _one(db, officer, rule, legacy, name="张三").match


def test_missing_record_says_nothing_unless_allowed(
    db: Session,
    officer: Person,
    citizen_service: VerificationService,
    licence_service: VerificationService,
) -> None:
    hidden = _one(db, officer, rule_for(citizen_service), person_id(9), name="张三")
    # Indistinguishable from a record where every claimed field is wrong.
    assert hidden == gate.Outcome(match=False, mismatched=["name"], found=None, valid=None)
    assert hidden == _one(db, officer, rule_for(citizen_service), person_id(0), name="李四")
    revealed = _one(db, officer, rule_for(licence_service), "JY999", holder="某公司")
    assert revealed == gate.Outcome(match=False, mismatched=[], found=False, valid=False)


def test_validity_by_date_and_status(
    db: Session, officer: Person, licence_service: VerificationService
) -> None:
    rule = rule_for(licence_service)
    holder = "临沂测试企业1有限公司"
    ok = _one(db, officer, rule, "JY001", holder=holder)
    assert ok == gate.Outcome(match=True, mismatched=[], found=True, valid=True)
    expired = _one(db, officer, rule, "jy002", holder="临沂测试企业2有限公司")
    assert expired.match and expired.valid is False
    revoked = _one(db, officer, rule, "JY003")
    assert revoked.match and revoked.valid is False
    no_end = _one(db, officer, rule, "JY004", holder=holder)
    assert no_end.valid is True
    # Compared fields other than those the service offers are refused.
    with pytest.raises(ValidationFailed):
        _one(db, officer, rule, "JY001", status="有效")


def test_batch_in_order_with_refs(
    db: Session, officer: Person, citizen_service: VerificationService
) -> None:
    claims = [Claim(person_id(i), {"name": n}, ref=f"r{i}") for i, n in enumerate(NAMES)]
    claims.append(Claim(person_id(1), {"name": "张三"}, ref="wrong"))
    result = gate.verify(db, officer.actor, rule_for(citizen_service), claims, purpose="批量核验")
    assert [o.match for o in result.outcomes] == [True] * len(NAMES) + [False]
    assert [o.ref for o in result.outcomes][-1] == "wrong"
    with pytest.raises(ValidationFailed):
        gate.verify(
            db,
            officer.actor,
            rule_for(citizen_service),
            [Claim(person_id(0), {"name": "张三"})] * (gate.MAX_CHECKS + 1),
            purpose="批量核验",
        )
    with pytest.raises(ValidationFailed):
        gate.verify(db, officer.actor, rule_for(citizen_service), claims, purpose=" ")


def test_audit_keeps_keyed_hashes_not_values(
    db: Session, officer: Person, citizen_service: VerificationService
) -> None:
    key = person_id(2)
    _one(db, officer, rule_for(citizen_service), key, name="欧阳娜娜")
    _one(db, officer, rule_for(citizen_service), person_id(8), name="不存在的人")
    entries = _entries(db, "data.verify")
    assert len(entries) == 2
    text = json.dumps([e.changes for e in entries], ensure_ascii=False) + "".join(
        e.object_label for e in entries
    )
    for clear in (key, "欧阳娜娜", person_id(8), "不存在的人", key[-6:]):
        assert clear not in text
    first, second = (e.changes for e in entries)
    assert first["operation"] == "verify" and first["service"] == "citizen-name"
    assert first["fields"] == ["name"] and first["purpose"] == "开户核验"
    assert first["basis"] == "provider" and first["result"] == "allowed"
    assert first["outcomes"][0]["key"] == keyed_hash(key)
    assert first["outcomes"][0]["match"] is True
    # The auditor's record says what the caller was not told.
    assert second["outcomes"][0]["found"] is False


def test_refused_without_a_grant_and_the_refusal_is_audited(
    db: Session,
    make_person: Callable[..., Person],
    other_officer: Person,
    citizen_service: VerificationService,
    residents: Dataset,
) -> None:
    rule = rule_for(citizen_service)
    for who in (other_officer, make_person(Role.PUBLIC), make_person(Role.SYSTEM_ADMIN)):
        with pytest.raises(PermissionDenied):
            _one(db, who, rule, person_id(0), name="张三")
    denied = _entries(db, "data.denied")
    assert len(denied) == 3 and {e.changes["operation"] for e in denied} == {"verify"}
    assert "张三" not in json.dumps([e.changes for e in denied], ensure_ascii=False)
    assert _entries(db, "data.verify") == []

    # A grant on the entry lets the other body ask — only about fields the grant covers,
    # only within its row filter.
    grant(
        db,
        residents,
        other_officer.user.agency_id,
        fields=["id_number", "name", "district"],
        row_filter=[["district", "eq", "兰山区"]],
    )
    assert _one(db, other_officer, rule, person_id(0), name="张三").match  # 兰山区
    outside = _one(db, other_officer, rule, person_id(1), name="李四")  # 罗庄区
    assert outside == gate.Outcome(match=False, mismatched=["name"], found=None, valid=None)
    narrow = VerifyRule(dataset=residents, key_field="id_number")
    grant(db, residents, other_officer.user.agency_id, fields=["id_number"])
    assert _one(db, other_officer, narrow, person_id(0), name="张三").match
    entry = _entries(db, "data.verify")[-1]
    assert entry.changes["basis"] == "grant" and entry.changes["grant"] is not None


def test_open_service_serves_every_public_body_only(
    db: Session,
    make_person: Callable[..., Person],
    other_officer: Person,
    licence_service: VerificationService,
) -> None:
    rule = rule_for(licence_service)
    outcome = _one(db, other_officer, rule, "JY001", holder="临沂测试企业1有限公司")
    assert outcome.match and outcome.valid
    assert _entries(db, "data.verify")[-1].changes["basis"] == "verification_open"
    for who in (make_person(Role.PUBLIC), make_person(Role.OPERATOR)):
        with pytest.raises(PermissionDenied):
            _one(db, who, rule, "JY001", holder="临沂测试企业1有限公司")
    assert not gate.may_verify(db, make_person(Role.PUBLIC).actor, rule)
    assert gate.may_verify(db, other_officer.actor, rule)
