"""Scheduled pull (定时拉取): an agency's database query becomes the dataset's next version.

A pull source names the agency's front-end database (前置库) by a SQLAlchemy URL without a
password, one SELECT query and a schedule. A run:

1. connects with the password from ``GONGSHU_PULL_PASSWORD_<NAME>`` (no encryption library
   is installed, so the platform never stores it), opens a read-only transaction where the
   dialect has one (PostgreSQL, Oracle, MySQL: ``SET TRANSACTION READ ONLY``) and bounds the
   statement's time on PostgreSQL;
2. streams the result through a server-side cursor (``stream_results``, fixed partitions) into
   an NDJSON file — dates and datetimes as ISO text in Asia/Shanghai, decimals as plain
   text — so memory stays bounded whatever the table's size;
3. hands the file to the ingestion pipeline exactly like an upload (``submit_upload`` then
   ``run``), marked ``source_kind=pull``: validation, rejected rows, quality report, versions
   and traceability are the upload's. The published version's ``source`` names the pull
   source and its query (never the password).

Failures (no connection, a bad query, rows refused by the rules) end the run as failed or
refused with a Chinese reason, tell the entry's officers once (until a run publishes
again), and leave the previous version serving.

Scheduling survives restarts because it lives in the database. Each enabled source has one
queued job ``ingest.pull`` due at its ``next_run_at``; the job's payload carries that due
time, so a job made stale by a later change of schedule finds a different due time on the
source and does nothing. After each run the job queues the next one. The job table's lease
hands a job whose worker died to the next worker. A tick job ``ingest.pull_tick`` (every
five minutes, one queued at a time) repairs any chain that broke — a job that failed for
good, a source whose job vanished — by queueing the missing job; it is idempotent.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from gongshu.audit.service import record
from gongshu.auth.actor import Actor
from gongshu.auth.models import Role
from gongshu.catalog.models import Dataset
from gongshu.catalog.workflow import INVALID, owns, reviews
from gongshu.db import unit_of_work, utcnow
from gongshu.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.ingest import service as ingest
from gongshu.ingest.mapping import ColumnMapping, resolve
from gongshu.ingest.merge import tmp_dir
from gongshu.ingest.models import Ingestion, IngestMode, IngestStatus, InvalidPolicy, SourceKind
from gongshu.ingest.pull_models import PullRun, PullSource, PullStatus
from gongshu.ingest.readers import ReadOptions
from gongshu.ingest.spec import specs_of
from gongshu.jobs.models import Job, JobStatus
from gongshu.jobs.service import enqueue, handler
from gongshu.notices.service import notify, users_with_role
from gongshu.settings import Settings, get_settings
from gongshu.store.storage import Storage, get_storage
from gongshu.workdays.calendar import TZ

__all__ = [
    "PULL_JOB",
    "TICK_JOB",
    "PullPreview",
    "Schedule",
    "check_query",
    "check_url",
    "create_source",
    "delete_source",
    "enqueue_due",
    "ensure_tick_job",
    "get_source",
    "is_busy",
    "may_manage",
    "password_env",
    "request_run",
    "run_pull",
    "runs_of",
    "source_by_name",
    "sources_of",
    "test_connection",
    "update_source",
]

log = logging.getLogger(__name__)

PULL_JOB = "ingest.pull"
TICK_JOB = "ingest.pull_tick"
TICK = dt.timedelta(minutes=5)
_TICK_LOCK = 0x6773706C  # "gspl": serialises enqueueing the one tick job on PostgreSQL
CHUNK_ROWS = 10_000
PREVIEW_ROWS = 5
CONNECT_TIMEOUT_S = 10
RUN_TIMEOUT_MS = 2 * 60 * 60 * 1000
PREVIEW_TIMEOUT_MS = 30 * 1000
# A run still marked running after this long died with its process (the statement timeout
# ends any live one before).
STALE_RUN = dt.timedelta(milliseconds=RUN_TIMEOUT_MS) + dt.timedelta(minutes=10)
MAX_QUERY_CHARS = 20_000
MIN_INTERVAL = 5
MAX_INTERVAL = 7 * 24 * 60
PULL_ACTOR = Actor.system("pull")
PASSWORD_ENV_PREFIX = "GONGSHU_PULL_PASSWORD_"  # noqa: S105 — a variable name, not a secret
# Dialects with a known driver family; anything else (and SQLite: a file on *this* server)
# is refused.
DIALECTS = frozenset({"postgresql", "mysql", "mariadb", "oracle", "mssql"})
_READ_ONLY = {
    "postgresql": "SET TRANSACTION READ ONLY",
    "oracle": "SET TRANSACTION READ ONLY",
    "mysql": "SET TRANSACTION READ ONLY",
    "mariadb": "SET TRANSACTION READ ONLY",
}
NAME_RE = re.compile(r"[a-z][a-z0-9_]{1,39}")
TRIGGERS = {"schedule": N_("按计划"), "manual": N_("手动"), "cli": N_("命令行")}

MSG_ONLY_OFFICERS = N_("只有本部门的数据专管员可以管理定时拉取")
MSG_NO_VIEW = N_("只有数据提供部门和大数据主管部门可以查看定时拉取")
MSG_NO_SOURCE = N_("拉取源不存在")
MSG_BAD_NAME = N_("名称只能使用小写字母、数字和下划线，以字母开头，2 到 40 个字符")
MSG_NAME_TAKEN = N_("已有同名的拉取源")
MSG_BAD_URL = N_(
    "连接地址格式不正确，应为 SQLAlchemy URL，例如 postgresql+psycopg://用户@主机:5432/库名"
)
MSG_URL_PASSWORD = N_("连接地址中不能写密码：请把密码放在运行后台任务的服务器的环境变量中")
MSG_URL_DIALECT = N_("不支持这种数据库：只能使用 PostgreSQL、MySQL、MariaDB、Oracle 或 SQL Server")
MSG_URL_NO_HOST = N_("连接地址缺少主机名")
MSG_URL_SELF = N_("不能从本平台自己的数据库拉取数据")
MSG_QUERY_EMPTY = N_("请填写查询语句")
MSG_QUERY_LONG = N_("查询语句过长")
MSG_QUERY_NOT_SELECT = N_("只能使用一条 SELECT 查询语句（可以以 WITH 开头）")
MSG_QUERY_MANY = N_("只能有一条查询语句，不能用分号分隔多条语句")
MSG_QUERY_WORD = N_(
    "查询语句中不能包含修改数据或结构的关键字（如 INSERT、UPDATE、DELETE、INTO、LOCK）"
)
MSG_QUERY_UNCLOSED = N_("查询语句中的引号或注释没有结束")
MSG_BAD_SCHEDULE = N_(
    "调度格式不正确：写作 every 30m（每 30 分钟）、every 2h（每 2 小时）"
    "或 daily 02:30（每天北京时间 2:30）"
)
MSG_SCHEDULE_RANGE = N_("拉取间隔应在 5 分钟到 7 天之间")
MSG_BAD_MAPPING = N_("列映射中有不存在的信息项")
MSG_DISABLED = N_("拉取源已停用，请先启用")
MSG_ALREADY_QUEUED = N_("该拉取源已在排队或正在运行")
MSG_CONNECT_FAILED = N_("无法连接数据库：{error}")
MSG_NO_DRIVER = N_("服务器上没有这种数据库的驱动：{error}")
MSG_QUERY_FAILED = N_("查询语句执行失败：{error}")
MSG_DUPLICATE_COLUMNS = N_("查询结果有重名的列：{columns}")
MSG_NO_ROWS = N_("查询没有返回数据行，未发布新版本")
MSG_INGEST_REFUSED = N_("拉取的数据未通过校验，未发布新版本（读取 {read} 行，拒绝 {rejected} 行）")
MSG_INGEST_ERROR = N_("汇聚出错：{error}")
MSG_INTERRUPTED = N_("拉取中断（运行它的进程已退出），未发布新版本")
MSG_NOTICE_TITLE = N_("定时拉取失败：{name}")
MSG_NOTICE_BODY = N_(
    "“{dataset}”的拉取源 {name} 拉取失败：{reason}。当前版本继续提供服务；问题解决前不再重复通知。"
)
MSG_EVERY_MINUTES = N_("每 {n} 分钟")
MSG_EVERY_HOURS = N_("每 {n} 小时")
MSG_DAILY = N_("每天 {time}（北京时间）")
LIST_SEP = N_("、")


class PullError(Exception):
    """A run that cannot go on, with its reason as a message id and parameters."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


# ---------------------------------------------------------------------------------------
# Schedules


_EVERY = re.compile(r"every\s+(\d{1,5})\s*(m|min|h)?", re.I)
_DAILY = re.compile(r"daily\s+(\d{1,2}):(\d{2})", re.I)


@dataclass(frozen=True)
class Schedule:
    """``every N m`` / ``every N h`` (minutes counted from the end of the last run) or
    ``daily HH:MM`` (Asia/Shanghai)."""

    minutes: int = 0  # the interval, or 0 for a daily schedule
    at: dt.time | None = None

    @classmethod
    def parse(cls, value: str) -> Schedule:
        text_ = " ".join(value.split())
        if match := _EVERY.fullmatch(text_):
            n = int(match.group(1)) * (60 if (match.group(2) or "m").lower() == "h" else 1)
            if not MIN_INTERVAL <= n <= MAX_INTERVAL:
                raise ValidationFailed.single("schedule", MSG_SCHEDULE_RANGE)
            return cls(minutes=n)
        if match := _DAILY.fullmatch(text_):
            hour, minute = int(match.group(1)), int(match.group(2))
            if hour < 24 and minute < 60:
                return cls(at=dt.time(hour, minute))
        raise ValidationFailed.single("schedule", MSG_BAD_SCHEDULE)

    def __str__(self) -> str:
        if self.at is not None:
            return f"daily {self.at:%H:%M}"
        if self.minutes % 60 == 0:
            return f"every {self.minutes // 60}h"
        return f"every {self.minutes}m"

    def describe(self) -> str:
        """The schedule in the reader's language."""
        if self.at is not None:
            return translate(MSG_DAILY, time=f"{self.at:%H:%M}")
        if self.minutes % 60 == 0:
            return translate(MSG_EVERY_HOURS, n=self.minutes // 60)
        return translate(MSG_EVERY_MINUTES, n=self.minutes)

    def next_after(self, now: dt.datetime) -> dt.datetime:
        """The first run strictly after ``now`` (UTC, whole seconds)."""
        now = now.astimezone(dt.UTC).replace(microsecond=0)
        if self.at is None:
            return now + dt.timedelta(minutes=self.minutes)
        local = now.astimezone(TZ)
        run = local.replace(hour=self.at.hour, minute=self.at.minute, second=0)
        if run <= local:
            run += dt.timedelta(days=1)
        return run.astimezone(dt.UTC)

    def upcoming(self, now: dt.datetime, count: int = 3) -> list[dt.datetime]:
        """The next ``count`` runs after ``now`` if each run took no time."""
        out: list[dt.datetime] = []
        for _ in range(count):
            now = self.next_after(now)
            out.append(now)
        return out


# ---------------------------------------------------------------------------------------
# Checking what officers type


_WORDS = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_DOLLAR = re.compile(r"\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$")
# Words that only a statement changing data, structure or the session has (SELECT … INTO
# makes a table, FOR UPDATE locks rows); a column so named has to be quoted.
FORBIDDEN_WORDS = frozenset(
    {
        "insert",
        "update",
        "delete",
        "merge",
        "upsert",
        "drop",
        "alter",
        "create",
        "truncate",
        "grant",
        "revoke",
        "into",
        "lock",
        "call",
        "exec",
        "execute",
        "vacuum",
        "begin",
        "commit",
        "rollback",
        "savepoint",
    }
)


def _mask(sql: str) -> str:
    """The query with the same length, string literals and quoted identifiers replaced by
    ``#`` and comments by spaces, so that what is left is the statement's own words."""
    out = list(sql)
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        end, fill = -1, "#"
        if ch in "'\"`":
            j = i + 1
            while True:
                j = sql.find(ch, j)
                if j < 0:
                    raise ValidationFailed.single("query", MSG_QUERY_UNCLOSED)
                if sql[j + 1 : j + 2] != ch:
                    break
                j += 2  # a doubled quote stays inside
            end = j + 1
        elif ch == "[":
            j = sql.find("]", i + 1)
            if j < 0:
                raise ValidationFailed.single("query", MSG_QUERY_UNCLOSED)
            end = j + 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            end, fill = (n if j < 0 else j), " "
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            if j < 0:
                raise ValidationFailed.single("query", MSG_QUERY_UNCLOSED)
            end, fill = j + 2, " "
        elif ch == "$" and (tag := _DOLLAR.match(sql, i)):
            j = sql.find(tag.group(0), tag.end())
            if j < 0:
                raise ValidationFailed.single("query", MSG_QUERY_UNCLOSED)
            end = j + len(tag.group(0))
        if end < 0:
            i += 1
            continue
        out[i:end] = fill * (end - i)
        i = end
    return "".join(out)


def check_query(sql: str) -> str:
    """The query as it will run: exactly one SELECT (or WITH … SELECT) statement, without a
    trailing semicolon or comment. Refuses anything else with a message saying why.

    This is a first line only; the read-only transaction (where the database has one) and an
    account with nothing but SELECT rights on the 前置库 are what really keep writes out.
    """
    if not sql.strip():
        raise ValidationFailed.single("query", MSG_QUERY_EMPTY)
    if len(sql) > MAX_QUERY_CHARS:
        raise ValidationFailed.single("query", MSG_QUERY_LONG)
    masked = _mask(sql).rstrip()
    if masked.endswith(";"):
        masked = masked[:-1].rstrip()
    if ";" in masked:
        raise ValidationFailed.single("query", MSG_QUERY_MANY)
    words = [w.lower() for w in _WORDS.findall(masked)]
    if not words or words[0] not in ("select", "with"):
        raise ValidationFailed.single("query", MSG_QUERY_NOT_SELECT)
    if FORBIDDEN_WORDS.intersection(words):
        raise ValidationFailed.single("query", MSG_QUERY_WORD)
    # Cut after the last word of the statement: a trailing "-- comment" would swallow the
    # closing parenthesis when the query is wrapped for the preview.
    return sql[: len(masked)].strip()


def password_env(name: str) -> str:
    """The environment variable holding the source's database password."""
    return PASSWORD_ENV_PREFIX + name.upper()


def _same_database(url: URL, own: URL) -> bool:
    if own.get_backend_name() != url.get_backend_name():
        return False
    local = {"localhost", "127.0.0.1", "::1", ""}
    hosts_match = (url.host or "") == (own.host or "") or {url.host or "", own.host or ""} <= local
    return hosts_match and (url.port or 5432) == (own.port or 5432) and url.database == own.database


def check_url(value: str, settings: Settings | None = None) -> str:
    """The URL as it is stored: parsed, without a password, of a supported network database
    and not the platform's own."""
    settings = settings or get_settings()
    try:
        url = make_url(value.strip())
    except (ArgumentError, ValueError) as exc:
        raise ValidationFailed.single("url", MSG_BAD_URL) from exc
    if url.password:
        raise ValidationFailed.single("url", MSG_URL_PASSWORD)
    if url.get_backend_name() not in DIALECTS:
        raise ValidationFailed.single("url", MSG_URL_DIALECT)
    if not url.host:
        raise ValidationFailed.single("url", MSG_URL_NO_HOST)
    if _same_database(url, make_url(settings.sqlalchemy_url)):
        raise ValidationFailed.single("url", MSG_URL_SELF)
    return url.render_as_string(hide_password=False)


# ---------------------------------------------------------------------------------------
# Who may do what


def may_manage(actor: Actor | None, dataset: Dataset) -> bool:
    """The entry's own officers (and the platform's CLI account) manage its pull sources."""
    return actor is not None and (actor.is_system or owns(actor, dataset))


def _check_manage(actor: Actor, dataset: Dataset) -> None:
    if not may_manage(actor, dataset):
        raise PermissionDenied(MSG_ONLY_OFFICERS)


def _check_view(actor: Actor, dataset: Dataset) -> None:
    if not (may_manage(actor, dataset) or reviews(actor, dataset)):
        raise PermissionDenied(MSG_NO_VIEW)


# ---------------------------------------------------------------------------------------
# Reading


def sources_of(session: Session, actor: Actor, dataset: Dataset) -> list[PullSource]:
    """The entry's pull sources, for its officers and its reviewing bureau admins."""
    _check_view(actor, dataset)
    return list(
        session.scalars(
            select(PullSource).where(PullSource.dataset_id == dataset.id).order_by(PullSource.name)
        )
    )


def get_source(session: Session, actor: Actor, dataset: Dataset, source_id: int) -> PullSource:
    """One of the entry's pull sources (404 when it belongs to another entry)."""
    _check_view(actor, dataset)
    source = session.get(PullSource, source_id)
    if source is None or source.dataset_id != dataset.id:
        raise NotFound(MSG_NO_SOURCE)
    return source


def source_by_name(session: Session, name: str) -> PullSource:
    source = session.scalars(select(PullSource).where(PullSource.name == name)).one_or_none()
    if source is None:
        raise NotFound(MSG_NO_SOURCE)
    return source


def runs_of(session: Session, source_id: int, *, limit: int = 20) -> list[PullRun]:
    """The source's latest runs, newest first."""
    return list(
        session.scalars(
            select(PullRun)
            .where(PullRun.source_id == source_id)
            .order_by(PullRun.id.desc())
            .limit(limit)
        )
    )


# ---------------------------------------------------------------------------------------
# Writing


def _due_token(when: dt.datetime | None) -> str:
    return when.astimezone(dt.UTC).replace(microsecond=0).isoformat() if when else ""


def _queue(
    session: Session, source: PullSource, due: dt.datetime, *, trigger: str, by: int | None
) -> Job:
    """Queue the source's one live job, due at ``due``; earlier jobs of it become stale."""
    due = due.astimezone(dt.UTC).replace(microsecond=0)
    source.next_run_at = due
    payload = {"source_id": source.id, "due": _due_token(due), "trigger": trigger, "by": by}
    job = enqueue(session, PULL_JOB, payload, run_after=due, max_attempts=3)
    source.job_id = job.id
    return job


def _live_job(session: Session, source: PullSource) -> Job | None:
    job = session.get(Job, source.job_id) if source.job_id is not None else None
    if job is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        return job
    return None


def is_busy(session: Session, source: PullSource) -> bool:
    """Whether a run of the source is due now or going on (its page refreshes itself)."""
    live = _live_job(session, source)
    if live is not None and (live.status is JobStatus.RUNNING or live.run_after <= utcnow()):
        return True
    return _running(session, source.id) is not None


def _validate(
    dataset: Dataset,
    *,
    url: str,
    query: str,
    schedule: str,
    mode: IngestMode,
    snapshot: bool,
    mapping: dict[str, str],
    errors: dict[str, list[str]] | None = None,
) -> tuple[str, str, Schedule]:
    """Every problem of the form at once, as field errors; returns what is stored."""
    errors = dict(errors or {})
    checked_url = checked_query = ""
    parsed: Schedule | None = None
    try:
        checked_url = check_url(url)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        checked_query = check_query(query)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        parsed = Schedule.parse(schedule)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if mode is IngestMode.UPSERT and not any(f.is_key for f in dataset.fields):
        errors.setdefault("mode", []).append(ingest.MSG_NO_KEY)
    if snapshot and mode is not IngestMode.UPSERT:
        errors.setdefault("snapshot", []).append(ingest.MSG_SNAPSHOT_NEEDS_UPSERT)
    names = {f.name for f in dataset.fields}
    if any(k not in names for k in mapping):
        errors.setdefault("mapping", []).append(MSG_BAD_MAPPING)
    if errors or parsed is None:
        raise ValidationFailed(INVALID, errors)
    return checked_url, checked_query, parsed


def _snapshot(source: PullSource) -> dict[str, Any]:
    return {
        "url": source.url,
        "query": source.query,
        "mode": str(source.mode),
        "snapshot": source.snapshot,
        "on_invalid": str(source.on_invalid) if source.on_invalid else None,
        "mapping": dict(source.mapping),
        "schedule": source.schedule,
        "enabled": source.enabled,
    }


def create_source(
    session: Session,
    actor: Actor,
    dataset: Dataset,
    *,
    name: str,
    url: str,
    query: str,
    schedule: str,
    mode: IngestMode = IngestMode.REPLACE,
    snapshot: bool = False,
    on_invalid: InvalidPolicy | None = None,
    mapping: dict[str, str] | None = None,
    enabled: bool = True,
) -> PullSource:
    """Add a pull source to an approved or published entry (its officers only) and, when
    enabled, queue its first run and make sure the tick job exists. Audited."""
    _check_manage(actor, dataset)
    if dataset.state not in ingest.INGESTIBLE_STATES:
        raise ValidationFailed(ingest.MSG_NOT_INGESTIBLE)
    name = name.strip()
    mapping = {k: v for k, v in (mapping or {}).items() if v}
    checked_url, checked_query, parsed = _validate(
        dataset,
        url=url,
        query=query,
        schedule=schedule,
        mode=mode,
        snapshot=snapshot,
        mapping=mapping,
        errors=None if NAME_RE.fullmatch(name) else {"name": [MSG_BAD_NAME]},
    )
    with unit_of_work(session):
        if session.scalars(select(PullSource.id).where(PullSource.name == name)).first():
            raise ValidationFailed(INVALID, {"name": [MSG_NAME_TAKEN]})
        source = PullSource(
            dataset_id=dataset.id,
            name=name,
            url=checked_url,
            query=checked_query,
            mode=mode,
            snapshot=snapshot,
            on_invalid=on_invalid,
            mapping=mapping,
            schedule=str(parsed),
            enabled=enabled,
            created_by_id=actor.user_id,
        )
        session.add(source)
        session.flush()
        if enabled:
            _queue(session, source, parsed.next_after(utcnow()), trigger="schedule", by=None)
            ensure_tick_job(session)
        record(
            session,
            actor,
            "pull_source.create",
            "pull_source",
            source.id,
            label=f"{dataset.title} / {name}",
            changes={k: [None, v] for k, v in _snapshot(source).items()},
        )
    return source


_UNSET: Any = object()


def update_source(
    session: Session,
    actor: Actor,
    source: PullSource,
    *,
    url: str | None = None,
    query: str | None = None,
    schedule: str | None = None,
    mode: IngestMode | None = None,
    snapshot: bool | None = None,
    on_invalid: InvalidPolicy | None = _UNSET,
    mapping: dict[str, str] | None = None,
    enabled: bool | None = None,
) -> PullSource:
    """Change a pull source (its entry's officers only). A new schedule, or enabling it,
    queues the next run afresh; disabling it leaves any queued job to find nothing to do.
    Audited with the changed settings."""
    dataset = session.get(Dataset, source.dataset_id)
    assert dataset is not None
    _check_manage(actor, dataset)
    new_mode = mode if mode is not None else source.mode
    new_mapping = (
        {k: v for k, v in mapping.items() if v} if mapping is not None else dict(source.mapping)
    )
    checked_url, checked_query, parsed = _validate(
        dataset,
        url=url if url is not None else source.url,
        query=query if query is not None else source.query,
        schedule=schedule if schedule is not None else source.schedule,
        mode=new_mode,
        snapshot=snapshot if snapshot is not None else source.snapshot,
        mapping=new_mapping,
    )
    with unit_of_work(session):
        before = _snapshot(source)
        source.url = checked_url
        source.query = checked_query
        source.mode = new_mode
        if snapshot is not None:
            source.snapshot = snapshot
        if on_invalid is not _UNSET:
            source.on_invalid = on_invalid
        source.mapping = new_mapping
        source.schedule = str(parsed)
        if enabled is not None:
            source.enabled = enabled
        after = _snapshot(source)
        if after == before:
            return source
        timing_changed = before["schedule"] != after["schedule"] or (
            after["enabled"] and not before["enabled"]
        )
        if not source.enabled:
            source.next_run_at = None
            source.job_id = None
        elif timing_changed or _live_job(session, source) is None:
            _queue(session, source, parsed.next_after(utcnow()), trigger="schedule", by=None)
            ensure_tick_job(session)
        record(
            session,
            actor,
            "pull_source.update",
            "pull_source",
            source.id,
            label=f"{dataset.title} / {source.name}",
            changes={k: [before[k], after[k]] for k in after if before[k] != after[k]},
        )
    return source


def delete_source(session: Session, actor: Actor, source: PullSource) -> None:
    """Remove a pull source and its run history (versions and ingestions stay). Audited."""
    dataset = session.get(Dataset, source.dataset_id)
    assert dataset is not None
    _check_manage(actor, dataset)
    with unit_of_work(session):
        record(
            session,
            actor,
            "pull_source.delete",
            "pull_source",
            source.id,
            label=f"{dataset.title} / {source.name}",
            changes={k: [v, None] for k, v in _snapshot(source).items()},
        )
        session.execute(sa.delete(PullRun).where(PullRun.source_id == source.id))
        session.delete(source)


def request_run(session: Session, actor: Actor, source: PullSource) -> Job:
    """Run the source as soon as a worker is free (its officers only). The run takes the
    place of the queued scheduled one; the schedule goes on from its end. Audited."""
    dataset = session.get(Dataset, source.dataset_id)
    assert dataset is not None
    _check_manage(actor, dataset)
    if not source.enabled:
        raise Conflict(MSG_DISABLED)
    with unit_of_work(session):
        live = _live_job(session, source)
        now = utcnow()
        if live is not None and (live.status is JobStatus.RUNNING or live.run_after <= now):
            raise Conflict(MSG_ALREADY_QUEUED)
        job = _queue(session, source, now, trigger="manual", by=actor.user_id)
        record(
            session,
            actor,
            "pull_source.run",
            "pull_source",
            source.id,
            label=f"{dataset.title} / {source.name}",
            changes={"job": [None, job.id]},
        )
    return job


# ---------------------------------------------------------------------------------------
# Talking to the agency's database


def _agency_engine(source: PullSource) -> Engine:
    url = make_url(source.url)
    password = os.environ.get(password_env(source.name))
    if password:
        url = url.set(password=password)
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "gongshu-pull"}
    try:
        return sa.create_engine(url, poolclass=NullPool, connect_args=connect_args)
    except NoSuchModuleError as exc:
        raise PullError(MSG_NO_DRIVER, error=_brief(exc)) from exc


def _brief(exc: BaseException) -> str:
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = [line.strip() for line in str(inner).splitlines() if line.strip()]
    return (lines[0] if lines else type(inner).__name__)[:300]


def _begin_read_only(conn: Connection, timeout_ms: int) -> None:
    dialect = conn.dialect.name
    statement = _READ_ONLY.get(dialect)
    if statement:
        conn.exec_driver_sql(statement)
    if dialect == "postgresql":
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout_ms)}")


def _text(query: str) -> sa.TextClause:
    # Colons are the query's own (casts, times, literals), never SQLAlchemy bind parameters.
    return text(query.replace(":", "\\:"))


def _connect(engine: Engine) -> Connection:
    try:
        return engine.connect()
    except NoSuchModuleError as exc:
        raise PullError(MSG_NO_DRIVER, error=_brief(exc)) from exc
    except SQLAlchemyError as exc:
        raise PullError(MSG_CONNECT_FAILED, error=_brief(exc)) from exc


def _check_columns(columns: Sequence[str]) -> None:
    seen: set[str] = set()
    duplicates: list[str] = []
    for column in columns:
        if column in seen and column not in duplicates:
            duplicates.append(column)
        seen.add(column)
    if duplicates:
        raise PullError(MSG_DUPLICATE_COLUMNS, columns=translate(LIST_SEP).join(duplicates))


def _cell(value: Any) -> Any:
    """A database value as the NDJSON reader takes it: JSON scalars, ISO text for times."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(TZ).replace(tzinfo=None)
        # The platform's datetimes are local and to the second (docs/ingest-validation.md).
        return value.replace(microsecond=0).isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


@dataclass
class _Extract:
    columns: list[str]
    rows: int


def _extract(source: PullSource, path: Path) -> _Extract:
    """Stream the query's result into an NDJSON file, one object per row."""
    engine = _agency_engine(source)
    try:
        conn = _connect(engine)
        try:
            with conn.begin():
                _begin_read_only(conn, RUN_TIMEOUT_MS)
                # A server-side cursor read CHUNK_ROWS at a time; ``yield_per`` alone does not
                # bound a textual query's partitions (measured: 500k rows in one), an explicit
                # partition size does.
                result = conn.execution_options(
                    stream_results=True, max_row_buffer=CHUNK_ROWS
                ).execute(_text(source.query))
                columns = list(map(str, result.keys()))
                _check_columns(columns)
                rows = 0
                with path.open("w", encoding="utf-8") as out:
                    for part in result.partitions(CHUNK_ROWS):
                        out.write(
                            "".join(
                                json.dumps(
                                    dict(zip(columns, map(_cell, row), strict=True)),
                                    ensure_ascii=False,
                                    separators=(",", ":"),
                                )
                                + "\n"
                                for row in part
                            )
                        )
                        rows += len(part)
        except DBAPIError as exc:
            raise PullError(MSG_QUERY_FAILED, error=_brief(exc)) from exc
        finally:
            conn.close()
    finally:
        engine.dispose()
    return _Extract(columns, rows)


@dataclass
class PullPreview:
    """What "test connection" shows: the first rows and how the columns map to fields."""

    columns: list[str]
    rows: list[list[str | None]]
    mapping: ColumnMapping


def test_connection(session: Session, actor: Actor, source: PullSource) -> PullPreview:
    """Run the source's query with LIMIT 5, read-only, and match its columns to the entry's
    fields (its officers only; recorded as ``pull_source.test``). Connection and query
    problems raise ValidationFailed with the database's own words."""
    dataset = session.get(Dataset, source.dataset_id)
    assert dataset is not None
    _check_manage(actor, dataset)
    query = check_query(source.query)
    try:
        engine = _agency_engine(source)
        try:
            conn = _connect(engine)
            try:
                with conn.begin():
                    _begin_read_only(conn, PREVIEW_TIMEOUT_MS)
                    sub = _text(query).columns().subquery("gongshu_preview")
                    stmt: sa.Select[Any] = (
                        sa.select(sa.literal_column("*")).select_from(sub).limit(PREVIEW_ROWS)
                    )
                    result = conn.execute(stmt)
                    columns = list(map(str, result.keys()))
                    rows = [
                        [None if (v := _cell(x)) is None else str(v) for x in row]
                        for row in result.fetchall()
                    ]
            except DBAPIError as exc:
                raise PullError(MSG_QUERY_FAILED, error=_brief(exc)) from exc
            finally:
                conn.close()
        finally:
            engine.dispose()
        _check_columns(columns)
    except PullError as exc:
        raise ValidationFailed(exc.message, **exc.params) from exc
    profile = ingest.profile_of(session, dataset.id)
    mapping = resolve(
        specs_of(dataset), columns, chosen=source.mapping or None, remembered=profile.mapping
    )
    with unit_of_work(session):
        record(
            session,
            actor,
            "pull_source.test",
            "pull_source",
            source.id,
            label=f"{dataset.title} / {source.name}",
            changes={"columns": [None, columns]},
        )
    return PullPreview(columns=columns, rows=rows, mapping=mapping)


# ---------------------------------------------------------------------------------------
# Running


def run_pull(
    session: Session,
    source_id: int,
    *,
    trigger: str = "schedule",
    actor: Actor | None = None,
    requested_by_id: int | None = None,
    settings: Settings | None = None,
    storage: Storage | None = None,
) -> PullRun:
    """Pull the source once, now, in this process, and ingest what came back.

    ``actor`` is who the ingestion is recorded as (the CLI's ``--as`` officer); scheduled
    and requested runs ingest as the platform's ``pull`` account. Never raises for a failed
    run: the returned run says how it ended.
    """
    settings = settings or get_settings()
    storage = storage or get_storage(settings)
    source = session.get(PullSource, source_id)
    if source is None:
        raise NotFound(MSG_NO_SOURCE)
    dataset = session.get(Dataset, source.dataset_id)
    assert dataset is not None
    if actor is not None and not actor.is_system:
        _check_manage(actor, dataset)
    with unit_of_work(session):
        stale = session.scalars(
            select(PullRun).where(
                PullRun.source_id == source.id,
                PullRun.status == PullStatus.RUNNING,
                PullRun.started_at <= utcnow() - STALE_RUN,
            )
        )
        for old_run in stale:  # its process died mid-run
            old_run.status = PullStatus.FAILED
            old_run.error = MSG_INTERRUPTED
            old_run.finished_at = utcnow()
        run = PullRun(
            source_id=source.id,
            status=PullStatus.RUNNING,
            trigger=trigger if trigger in TRIGGERS else "schedule",
            query=source.query,
            requested_by_id=requested_by_id
            if requested_by_id is not None
            else (actor.user_id if actor else None),
            started_at=utcnow(),
        )
        session.add(run)
        source.last_run_at = run.started_at
        source.last_status = PullStatus.RUNNING
    workdir = Path(tempfile.mkdtemp(prefix="pull-", dir=tmp_dir(settings)))
    try:
        path = workdir / f"{source.name}.ndjson"
        try:
            check_query(source.query)
            extract = _extract(source, path)
            if extract.rows == 0:
                raise PullError(MSG_NO_ROWS)
        except PullError as exc:
            status = PullStatus.REFUSED if exc.message == MSG_NO_ROWS else PullStatus.FAILED
            _close(session, run, source, dataset, status, exc.message, exc.params)
            return run
        except ValidationFailed as exc:
            _close(session, run, source, dataset, PullStatus.FAILED, exc.message, dict(exc.params))
            return run
        return _ingest(session, run, source, dataset, path, extract, actor, settings, storage)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _ingest(
    session: Session,
    run: PullRun,
    source: PullSource,
    dataset: Dataset,
    path: Path,
    extract: _Extract,
    actor: Actor | None,
    settings: Settings,
    storage: Storage,
) -> PullRun:
    try:
        with path.open("rb") as stream:
            ingestion = ingest.submit_upload(
                session,
                actor or PULL_ACTOR,
                dataset,
                stream,
                name=path.name,
                mode=source.mode,
                snapshot=source.snapshot,
                on_invalid=source.on_invalid,
                options=ReadOptions(format="ndjson", encoding="utf-8"),
                mapping=dict(source.mapping) or None,
                queue=False,
                storage=storage,
                source_kind=SourceKind.PULL,
                source={
                    "pull_source": source.name,
                    "pull_source_id": source.id,
                    "pull_run": run.id,
                    "query": run.query,
                    "database": make_url(source.url).render_as_string(hide_password=True),
                    "rows_pulled": extract.rows,
                },
            )
    except ValidationFailed as exc:  # the entry changed since the source was saved
        _close(session, run, source, dataset, PullStatus.FAILED, exc.message, dict(exc.params))
        return run
    with unit_of_work(session):
        run.ingestion_id = ingestion.id
        run.rows = extract.rows
    try:
        result = ingest.run(session, ingestion.id, settings=settings, storage=storage)
    except Exception as exc:
        log.exception("pull %s: ingestion %s failed", source.name, ingestion.id)
        session.rollback()
        _close(
            session,
            run,
            source,
            dataset,
            PullStatus.FAILED,
            MSG_INGEST_ERROR,
            {"error": _brief(exc)},
        )
        return run
    done = result.ingestion
    if done.status is IngestStatus.PUBLISHED and result.version is not None:
        _close(session, run, source, dataset, PullStatus.PUBLISHED)
    elif done.error:
        _close(session, run, source, dataset, PullStatus.REFUSED, done.error, _params_of(done))
    else:
        params = {"read": done.rows_read, "rejected": done.rows_rejected}
        _close(session, run, source, dataset, PullStatus.REFUSED, MSG_INGEST_REFUSED, params)
    return run


def _running(session: Session, source_id: int) -> PullRun | None:
    """A run of the source that may still be going on in another process."""
    return session.scalars(
        select(PullRun)
        .where(
            PullRun.source_id == source_id,
            PullRun.status == PullStatus.RUNNING,
            PullRun.started_at > utcnow() - STALE_RUN,
        )
        .limit(1)
    ).first()


def _params_of(ingestion: Ingestion) -> dict[str, Any]:
    first = ingestion.issues[0] if ingestion.issues else {}
    params = first.get("params") if isinstance(first, dict) else None
    return dict(params) if isinstance(params, dict) else {}


def _close(
    session: Session,
    run: PullRun,
    source: PullSource,
    dataset: Dataset,
    status: PullStatus,
    error: str = "",
    params: dict[str, Any] | None = None,
) -> None:
    """End the run; on a failure, tell the entry's officers unless they were already told."""
    with unit_of_work(session):
        run.status = status
        run.finished_at = utcnow()
        run.error = error
        run.error_params = {
            k: v if isinstance(v, int | float | str) else str(v) for k, v in (params or {}).items()
        }
        source.last_status = status
        if status is PullStatus.PUBLISHED:
            source.failure_notified = False
        elif not source.failure_notified:
            officers = users_with_role(session, Role.AGENCY_OFFICER, agency_id=dataset.agency_id)
            reason = translate(error, get_settings().default_language, **run.error_params)
            notify(
                session,
                user_ids=officers,
                kind="pull.failed",
                title=MSG_NOTICE_TITLE,
                body=MSG_NOTICE_BODY,
                link=f"/catalog/{dataset.id}/pull/{source.id}",
                name=source.name,
                dataset=dataset.title,
                reason=reason,
            )
            source.failure_notified = True


# ---------------------------------------------------------------------------------------
# Jobs


@handler(PULL_JOB)
def _pull_job(session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    """Run a due pull, then queue the source's next run."""
    source = session.get(PullSource, int(payload["source_id"]))
    due = str(payload.get("due", ""))
    if source is None or not source.enabled or _due_token(source.next_run_at) != due:
        return {"skipped": True}
    if _running(session, source.id) is not None:
        # A run longer than the job's lease: the worker that started it is still pulling
        # and will queue the next run itself.
        return {"skipped": True, "running": True}
    by = payload.get("by")
    run = run_pull(
        session,
        source.id,
        trigger=str(payload.get("trigger", "schedule")),
        requested_by_id=int(by) if by is not None else None,
    )
    with unit_of_work(session):
        locked = session.scalars(
            select(PullSource)
            .where(PullSource.id == run.source_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()
        next_job = None
        # Nobody rescheduled it meanwhile (a new schedule already queued its own job).
        if locked is not None and locked.enabled and _due_token(locked.next_run_at) == due:
            schedule = Schedule.parse(locked.schedule)
            next_job = _queue(
                session, locked, schedule.next_after(utcnow()), trigger="schedule", by=None
            )
    return {
        "run": run.id,
        "status": str(run.status),
        "next_job": next_job.id if next_job is not None else None,
    }


def enqueue_due(session: Session, now: dt.datetime | None = None) -> int:
    """Queue a job for every enabled source that has none queued or running (a chain
    broken by a job that failed for good); a run already due is queued for now. Returns how
    many were queued; running it twice queues nothing the second time."""
    now = (now or utcnow()).replace(microsecond=0)
    count = 0
    stmt = (
        select(PullSource)
        .where(PullSource.enabled.is_(True))
        .order_by(PullSource.id)
        .with_for_update(skip_locked=True)
    )
    with unit_of_work(session):
        for source in session.scalars(stmt):
            if _live_job(session, source) is not None:
                continue
            due = source.next_run_at
            if due is None or due < now:
                due = now
            _queue(session, source, due, trigger="schedule", by=None)
            count += 1
    return count


def ensure_tick_job(session: Session, run_after: dt.datetime | None = None) -> Job:
    """The one queued tick job, enqueued (in the caller's transaction) when missing."""
    queued = _queued_tick(session)
    if queued is not None:
        return queued
    if session.get_bind().dialect.name == "postgresql":
        # Two transactions must not both see "none queued" and both enqueue.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _TICK_LOCK})
        queued = _queued_tick(session)
        if queued is not None:
            return queued
    return enqueue(session, TICK_JOB, {}, run_after=run_after or utcnow() + TICK)


def _queued_tick(session: Session) -> Job | None:
    return session.scalars(
        select(Job)
        .where(Job.kind == TICK_JOB, Job.status == JobStatus.QUEUED)
        .order_by(Job.id)
        .limit(1)
    ).first()


@handler(TICK_JOB)
def _tick_job(session: Session, payload: dict[str, Any]) -> dict[str, Any]:
    """Repair broken chains, then queue the next tick while any source is enabled."""
    queued = enqueue_due(session)
    with unit_of_work(session):
        any_enabled = session.scalars(
            select(PullSource.id).where(PullSource.enabled.is_(True)).limit(1)
        ).first()
        next_id = ensure_tick_job(session).id if any_enabled is not None else None
    return {"queued": queued, "next_job": next_id}


def describe_schedule(value: str) -> str:
    """A stored schedule in the reader's language (the raw text if it no longer parses)."""
    try:
        return Schedule.parse(value).describe()
    except ValidationFailed:
        return value


def error_text(run_or_source_error: str, params: dict[str, Any]) -> str:
    """A stored reason in the reader's language."""
    return translate(run_or_source_error, **params) if run_or_source_error else ""
