"""The demo city's sharing: a few share requests made through the real services, so every
state of the workflow has an example on the pages.

- 临沂市医疗保障局 holds an unconditional grant on 市场主体登记信息;
- 临沂市医疗保障局 was granted 特种设备使用登记信息 (conditional) with four fields, the
  user's credit code in the clear and the rest masked;
- 兰山区市场监督管理局 was refused 消费投诉举报处理信息 and objected: the objection waits for
  the city bureau's arbitration (a live deadline from today).

Called by ``gongshu.demo.loader`` after the rows are loaded; each call is its own unit of
work. The Chinese text is demo content.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongshu.auth import service as auth_service
from gongshu.auth.actor import Actor
from gongshu.auth.models import User
from gongshu.catalog.models import Dataset, DatasetState
from gongshu.share import requests
from gongshu.share.schemas import GrantDecision, ObjectionCreate, Refusal, ShareRequestCreate
from gongshu.workdays.calendar import local_today


def _actor(session: Session, username: str) -> Actor | None:
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    return auth_service.actor_for_user(user) if user is not None else None


def _entry(session: Session, title: str) -> Dataset | None:
    return session.scalars(
        select(Dataset).where(Dataset.title == title, Dataset.state == DatasetState.PUBLISHED)
    ).first()


def load_sharing(session: Session) -> None:
    """Make the demo requests; entries or accounts the city lacks are skipped."""
    ybj = _actor(session, "ybj_consumer")
    lanshan = _actor(session, "lanshan_consumer")
    scj = _actor(session, "scj_officer")
    registry = _entry(session, "市场主体登记信息")
    devices = _entry(session, "特种设备使用登记信息")
    complaints = _entry(session, "消费投诉举报处理信息")
    today = local_today()
    if ybj is not None and registry is not None:
        requests.create_request(
            session,
            ybj,
            ShareRequestCreate(
                dataset_id=registry.id, purpose="核验参保单位的登记状态，办理单位参保登记"
            ),
        )
    if ybj is not None and scj is not None and devices is not None:
        asked = requests.create_request(
            session,
            ybj,
            ShareRequestCreate(
                dataset_id=devices.id,
                purpose="医疗机构特种设备安全核查",
                scenario="核查定点医疗机构在用电梯、压力容器的使用登记和检验情况",
                legal_basis="《特种设备安全法》第五十七条；《医疗保障基金使用监督管理条例》",
                fields=["device_code", "device_kind", "user_entity", "user_credit_code"],
                ends_on=today + dt.timedelta(days=365),
            ),
        )
        requests.grant_request(
            session,
            scj,
            asked.id,
            GrantDecision(
                clear_fields=["user_credit_code"],
                reason="同意共享；设备使用地点等其余信息不在申请范围内。",
            ),
        )
    if lanshan is not None and scj is not None and complaints is not None:
        asked = requests.create_request(
            session,
            lanshan,
            ShareRequestCreate(
                dataset_id=complaints.id,
                purpose="辖区消费投诉处置情况统计",
                scenario="统计兰山区消费投诉的问题类别和办结情况",
                legal_basis="《消费者权益保护法》第三十二条",
                fields=["case_no", "complainant_name", "problem_category", "result"],
                ends_on=today + dt.timedelta(days=180),
            ),
        )
        requests.deny_request(
            session,
            scj,
            asked.id,
            Refusal(
                reason="投诉人姓名属于个人信息，统计用途无需个人信息，请改为申请不含姓名的信息项。"
            ),
        )
        requests.object_request(
            session,
            lanshan,
            asked.id,
            ObjectionCreate(reason="核对重复投诉需要投诉人姓名，申请单位承诺仅在系统内使用。"),
        )
