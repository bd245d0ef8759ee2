"""Verification services: configured by the bureau, called by public bodies.

Writes (``create_service``, ``update_service``) need a bureau admin whose region covers the
entry, and record ``verification_service.create`` / ``.update``. Checks (``check``,
``check_dataset``) are counted against the calling body's rate (one row per body and
minute, ``GONGSHU_VERIFY_RATE_PER_MINUTE`` checks; a refused call is not counted) and then
answered by the gate (``gongshu.gate.verify``), which decides who may ask and audits every
call as ``data.verify``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from gongshu.audit.service import diff, record, snapshot
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.auth.permissions import in_region_scope, require_login
from gongshu.catalog.models import Dataset, FieldType
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import GongshuError, NotFound, PermissionDenied, ValidationFailed
from gongshu.gate import verify as gate_verify
from gongshu.gate.verify import Claim, VerifyResult, VerifyRule
from gongshu.i18n import N_, translate
from gongshu.settings import Settings, get_settings
from gongshu.verification.models import VerificationService, VerificationUsage
from gongshu.verification.schemas import CheckIn, ServiceCreate, ServiceUpdate

INVALID = N_("提交的内容有误，请按提示修改")
MSG_MANAGE = N_("只有大数据主管部门可以配置核验服务")
MSG_NOT_FOUND = N_("核验服务不存在")
MSG_INACTIVE = N_("该核验服务已停用")
MSG_DATASET = N_("目录条目不存在")
MSG_DATASET_REQUIRED = N_("请选择目录条目")
MSG_CODE_TAKEN = N_("服务代码“{code}”已被使用")
MSG_NO_FIELD = N_("目录条目中没有字段“{field}”")
MSG_KEY_TYPE = N_("核验标识字段应为文本字段")
MSG_KEY_INDEX = N_("核验标识字段应为主键、可筛选字段或身份标识字段（有索引才能按值查找）")
MSG_DATE_TYPE = N_("有效期字段应为日期或日期时间字段")
MSG_STATUS_VALUES = N_("请填写算作有效的状态值")
MSG_NOTHING_TO_CHECK = N_("请至少选择一个可比对的字段，或设置有效性规则")
MSG_NO_KEY_FIELD = N_("该数据集没有主键，请指定核验标识字段")
MSG_RATE = N_("核验调用过于频繁：每分钟最多 {limit} 条，请稍后再试")

FIELD_NAMES = (
    "name",
    "description",
    "key_field",
    "fields",
    "valid_until_field",
    "status_field",
    "status_values",
    "reveal_existence",
    "open_to_all",
    "active",
)


class RateLimited(GongshuError):
    """Too many checks from one body in the current minute."""

    status_code = 429
    code = "rate_limited"


# --- who may do what -----------------------------------------------------------------------


def may_manage(actor: Actor | None, dataset: Dataset | None = None) -> bool:
    """The platform itself, or a bureau admin (for a given entry, one whose region covers
    it)."""
    if actor is not None and actor.is_system and actor.api_key_id is None:
        return True
    if actor is None or not actor.has(Role.BUREAU_ADMIN):
        return False
    return dataset is None or in_region_scope(actor, dataset.region_id)


def _require_manage(actor: Actor, dataset: Dataset | None = None) -> None:
    if not may_manage(actor, dataset):
        raise PermissionDenied(MSG_MANAGE)


def rule_for(service: VerificationService) -> VerifyRule:
    """What the gate needs to answer a check of this service."""
    return VerifyRule(
        dataset=service.dataset,
        key_field=service.key_field,
        fields=frozenset(str(f) for f in service.fields),
        valid_until_field=service.valid_until_field,
        status_field=service.status_field,
        status_values=frozenset(str(v) for v in service.status_values),
        reveal_existence=service.reveal_existence,
        open_to_all=service.open_to_all,
        service=service.code,
    )


# --- reading the configuration -------------------------------------------------------------


def _by_code(session: Session, code: str) -> VerificationService | None:
    stmt = (
        select(VerificationService)
        .where(VerificationService.code == code)
        .options(selectinload(VerificationService.dataset).selectinload(Dataset.agency))
    )
    return session.scalars(stmt).one_or_none()


def may_use(session: Session, actor: Actor, service: VerificationService) -> bool:
    return service.active and gate_verify.may_verify(session, actor, rule_for(service))


def list_services(session: Session, actor: Actor) -> list[VerificationService]:
    """Every service a bureau admin manages; for anyone else, the active services they may
    call (a service they may not call is not shown at all)."""
    require_login(actor)
    stmt = (
        select(VerificationService)
        .options(selectinload(VerificationService.dataset).selectinload(Dataset.agency))
        .order_by(VerificationService.code)
    )
    found = list(session.scalars(stmt))
    if may_manage(actor):
        return [s for s in found if may_manage(actor, s.dataset)]
    return [s for s in found if may_use(session, actor, s)]


def get_service(session: Session, actor: Actor, code: str) -> VerificationService:
    """The service, if the actor manages or may call it; otherwise 404 (never 403: a service
    one may not call is not disclosed)."""
    require_login(actor)
    service = _by_code(session, code)
    if service is None or not (
        may_manage(actor, service.dataset) or may_use(session, actor, service)
    ):
        raise NotFound(MSG_NOT_FOUND)
    return service


# --- configuring ---------------------------------------------------------------------------


def _dataset(session: Session, data: ServiceCreate) -> Dataset:
    if data.dataset_id is not None:
        found = session.get(Dataset, data.dataset_id)
    elif data.dataset_code:
        found = session.scalars(select(Dataset).where(Dataset.code == data.dataset_code)).first()
    else:
        raise ValidationFailed.single("dataset_id", MSG_DATASET_REQUIRED)
    if found is None:
        raise ValidationFailed.single("dataset_id", MSG_DATASET)
    return found


def _indexed(dataset: Dataset) -> set[str]:
    keys = [f.name for f in dataset.fields if f.is_key]
    names = {f.name for f in dataset.fields if f.filterable or f.identifier}
    return names | set(keys[:1])


def _validate(dataset: Dataset, data: ServiceUpdate) -> None:
    by_name = {f.name: f for f in dataset.fields}
    errors: dict[str, list[str]] = {}

    def field_error(name: str, message: str, **params: Any) -> None:
        errors.setdefault(name, []).append(translate(message, **params))

    key = by_name.get(data.key_field)
    if key is None:
        field_error("key_field", MSG_NO_FIELD, field=data.key_field)
    elif key.data_type not in (FieldType.STRING, FieldType.TEXT):
        field_error("key_field", MSG_KEY_TYPE)
    elif key.name not in _indexed(dataset):
        field_error("key_field", MSG_KEY_INDEX)
    for name in data.fields:
        if name not in by_name:
            field_error("fields", MSG_NO_FIELD, field=name)
    if data.valid_until_field:
        until = by_name.get(data.valid_until_field)
        if until is None:
            field_error("valid_until_field", MSG_NO_FIELD, field=data.valid_until_field)
        elif until.data_type not in (FieldType.DATE, FieldType.DATETIME):
            field_error("valid_until_field", MSG_DATE_TYPE)
    if data.status_field:
        if data.status_field not in by_name:
            field_error("status_field", MSG_NO_FIELD, field=data.status_field)
        if not [v for v in data.status_values if v.strip()]:
            field_error("status_values", MSG_STATUS_VALUES)
    if not data.fields and not data.valid_until_field and not data.status_field:
        field_error("fields", MSG_NOTHING_TO_CHECK)
    if errors:
        raise ValidationFailed(INVALID, errors)


def _apply(service: VerificationService, data: ServiceUpdate) -> None:
    service.name = data.name
    service.description = data.description
    service.key_field = data.key_field
    service.fields = list(dict.fromkeys(data.fields))
    service.valid_until_field = data.valid_until_field
    service.status_field = data.status_field
    service.status_values = (
        [v.strip() for v in data.status_values if v.strip()] if data.status_field else []
    )
    service.reveal_existence = data.reveal_existence
    service.open_to_all = data.open_to_all
    service.active = data.active


def create_service(session: Session, actor: Actor, data: ServiceCreate) -> VerificationService:
    """Offer a verification over an entry. Bureau admins whose region covers the entry."""
    _require_manage(actor)
    dataset = _dataset(session, data)
    _require_manage(actor, dataset)
    if _by_code(session, data.code) is not None:
        message = translate(MSG_CODE_TAKEN, code=data.code)
        raise ValidationFailed(INVALID, {"code": [message]})
    _validate(dataset, data)
    with unit_of_work(session):
        service = VerificationService(
            code=data.code, dataset_id=dataset.id, created_by_id=actor.user_id
        )
        _apply(service, data)
        session.add(service)
        session.flush()
        record(
            session,
            actor,
            "verification_service.create",
            "verification_service",
            service.id,
            label=service.name,
            changes={"code": service.code, "dataset_id": dataset.id}
            | snapshot(service, FIELD_NAMES),
        )
    session.refresh(service)
    return service


def update_service(
    session: Session, actor: Actor, code: str, data: ServiceUpdate
) -> VerificationService:
    """Change what a service offers, or switch it off (``active``)."""
    _require_manage(actor)
    service = _by_code(session, code)
    if service is None or not may_manage(actor, service.dataset):
        raise NotFound(MSG_NOT_FOUND)
    _validate(service.dataset, data)
    before = snapshot(service, FIELD_NAMES)
    with unit_of_work(session):
        _apply(service, data)
        changes = diff(before, snapshot(service, FIELD_NAMES))
        record(
            session,
            actor,
            "verification_service.update",
            "verification_service",
            service.id,
            label=service.name,
            changes=changes,
        )
    return service


# --- checks --------------------------------------------------------------------------------


def _body(actor: Actor) -> str | None:
    if actor.is_system and actor.api_key_id is None:
        return None  # the platform itself is not rate-limited
    if actor.agency_id is not None:
        return f"agency:{actor.agency_id}"
    return f"user:{actor.user_id}"


def charge(session: Session, actor: Actor, checks: int, settings: Settings) -> None:
    """Count ``checks`` against the actor's body for this minute, or refuse (429) without
    counting when that would pass the limit."""
    limit = settings.verify_rate_per_minute
    body = _body(actor)
    if limit == 0 or body is None:
        return
    if checks > limit:
        raise RateLimited(MSG_RATE, limit=limit)
    minute = utcnow().replace(second=0, microsecond=0)
    usage = VerificationUsage
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(usage)
        .values(body=body, minute=minute, checks=checks)
        .on_conflict_do_update(
            index_elements=["body", "minute"],
            set_={"checks": usage.checks + checks},
            where=usage.checks + checks <= limit,
        )
        .returning(usage.checks)
    )
    with unit_of_work(session):
        counted = session.execute(stmt).scalar_one_or_none()
        if counted == checks:
            # The first call of a new minute: forget the minutes before the last hour.
            session.execute(
                delete(VerificationUsage).where(
                    VerificationUsage.body == body,
                    VerificationUsage.minute < minute - dt.timedelta(hours=1),
                )
            )
    if counted is None:
        raise RateLimited(MSG_RATE, limit=limit)


def _claims(checks: Sequence[CheckIn]) -> list[Claim]:
    return [Claim(key=c.key, values=dict(c.claims), ref=c.ref) for c in checks]


def check(
    session: Session,
    actor: Actor,
    code: str,
    checks: Sequence[CheckIn],
    *,
    purpose: str,
    settings: Settings | None = None,
) -> tuple[VerificationService, VerifyResult]:
    """Answer checks against a configured service (see the module docstring)."""
    settings = settings or get_settings()
    require_login(actor)
    service = _by_code(session, code)
    if service is None:
        raise NotFound(MSG_NOT_FOUND)
    if not service.active:
        raise NotFound(MSG_INACTIVE)
    charge(session, actor, len(checks), settings)
    result = gate_verify.verify(
        session, actor, rule_for(service), _claims(checks), purpose=purpose, settings=settings
    )
    return service, result


def check_dataset(
    session: Session,
    actor: Actor,
    dataset_id: int,
    checks: Sequence[CheckIn],
    *,
    purpose: str,
    key_field: str | None = None,
    settings: Settings | None = None,
) -> VerifyResult:
    """Answer checks against an entry named directly: only readers the gate lets read the
    entry, comparing only fields in their scope; existence is never revealed."""
    settings = settings or get_settings()
    require_login(actor)
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(MSG_DATASET)
    if key_field is None:
        keys = [f.name for f in dataset.fields if f.is_key]
        if not keys:
            raise ValidationFailed.single("key_field", MSG_NO_KEY_FIELD)
        key_field = keys[0]
    charge(session, actor, len(checks), settings)
    rule = VerifyRule(dataset=dataset, key_field=key_field)
    return gate_verify.verify(
        session, actor, rule, _claims(checks), purpose=purpose, settings=settings
    )


def answer_context(
    service: VerificationService | None, dataset: Dataset, result: VerifyResult
) -> Mapping[str, Any]:
    """What a sealed answer says it answers: service, entry and version."""
    return {
        "service": service.code if service is not None else None,
        "dataset": {"id": dataset.id, "code": dataset.code},
        "version": result.version.number,
    }
