"""Registration of public accounts (公民、法人和其他组织): the same rules for every
applicant.

Anyone may register, as a person (real name) or as an organisation (name, unified social
credit code checked by its GB 32100 check character, and the contact person who acts for
it). The account gets the role ``public`` and nothing else: no agency, no region. The
password follows the platform's password policy (``gongshu.auth.passwords``) and is hashed
with Argon2id like every other account's. The account and its profile are written with
their audit entry (``public.register``) in one transaction.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongshu.audit.service import record
from gongshu.auth import passwords
from gongshu.auth.actor import Actor
from gongshu.auth.models import PasswordHistory, Role, User, UserRole
from gongshu.db import unit_of_work
from gongshu.errors import ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.identifiers import check_credit_code
from gongshu.opening.models import AccountKind, PublicAccount
from gongshu.opening.schemas import RegistrationIn
from gongshu.settings import get_settings

__all__ = ["account_of", "register"]

M_INVALID = N_("注册信息未通过校验，请按提示修改")
M_USERNAME_TAKEN = N_("用户名已被使用")
M_REAL_NAME = N_("请填写真实姓名")
M_CONTACT = N_("请填写联系人姓名")
M_ORG_NAME = N_("请填写单位名称")
M_CREDIT_CODE = N_("统一社会信用代码无效：{reason}")
M_CREDIT_TAKEN = N_("该统一社会信用代码已注册账户")
M_CONTACT_REQUIRED = N_("请至少填写电子邮箱或手机号码中的一项")
M_EMAIL = N_("电子邮箱格式不正确")
M_PHONE = N_("手机号码应为 11 位数字")


def _clean(session: Session, data: RegistrationIn) -> RegistrationIn:
    errors: dict[str, list[str]] = {}
    username = data.username.strip()
    taken = session.scalar(
        select(func.count()).select_from(User).where(func.lower(User.username) == username.lower())
    )
    if taken:
        errors["username"] = [translate(M_USERNAME_TAKEN)]
    real_name = data.real_name.strip()
    if not real_name:
        missing = M_REAL_NAME if data.kind is AccountKind.INDIVIDUAL else M_CONTACT
        errors["real_name"] = [translate(missing)]
    org_name = data.org_name.strip()
    code = data.credit_code.strip().upper()
    if data.kind is AccountKind.ORGANIZATION:
        if not org_name:
            errors["org_name"] = [translate(M_ORG_NAME)]
        result = check_credit_code(code)
        if not result.ok:
            reason = "; ".join(i.localized() for i in result.errors)
            errors["credit_code"] = [translate(M_CREDIT_CODE, None, reason=reason)]
        elif session.scalar(
            select(func.count()).select_from(PublicAccount).where(PublicAccount.credit_code == code)
        ):
            errors["credit_code"] = [translate(M_CREDIT_TAKEN)]
    else:
        org_name, code = "", ""
    email, phone = data.email.strip(), data.phone.strip()
    if not email and not phone:
        errors["email"] = [translate(M_CONTACT_REQUIRED)]
    if email and ("@" not in email or email.startswith("@") or "." not in email.split("@")[-1]):
        errors["email"] = [translate(M_EMAIL)]
    if phone and not (phone.isdigit() and len(phone) == 11):
        errors["phone"] = [translate(M_PHONE)]
    if errors:
        raise ValidationFailed(M_INVALID, errors)
    passwords.check_policy(data.password, username=username, settings=get_settings())
    return data.model_copy(
        update={
            "username": username,
            "real_name": real_name,
            "org_name": org_name,
            "credit_code": code,
            "email": email,
            "phone": phone,
        }
    )


def register(session: Session, data: RegistrationIn, *, ip: str = "") -> User:
    """Open a public account (role ``public``) with its profile; audited as
    ``public.register`` by the new account itself."""
    clean = _clean(session, data)
    settings = get_settings()
    display = clean.org_name if clean.kind is AccountKind.ORGANIZATION else clean.real_name
    with unit_of_work(session):
        user = User(
            username=clean.username,
            display_name=display[:100],
            email=clean.email,
            phone=clean.phone,
            password_hash=passwords.hash_password(clean.password, settings),
            role_rows=[UserRole(role=Role.PUBLIC)],
        )
        session.add(user)
        session.flush()
        session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash))
        account = PublicAccount(
            user_id=user.id,
            kind=clean.kind,
            real_name=clean.real_name,
            org_name=clean.org_name,
            credit_code=clean.credit_code,
        )
        session.add(account)
        session.flush()
        record(
            session,
            Actor(user_id=user.id, name=user.display_name, roles=frozenset({Role.PUBLIC}), ip=ip),
            "public.register",
            "user",
            user.id,
            label=f"{user.display_name} ({user.username})",
            changes={
                "kind": [None, clean.kind.value],
                "username": [None, clean.username],
                "org_name": [None, clean.org_name] if clean.org_name else None,
                "credit_code": [None, clean.credit_code] if clean.credit_code else None,
            },
        )
    return user


def account_of(session: Session, user_id: int) -> PublicAccount | None:
    """The public profile of an account, if it registered as a member of the public."""
    return session.scalar(select(PublicAccount).where(PublicAccount.user_id == user_id))
