"""Imports every model so that the metadata (and Alembic) sees all tables."""

from gongshu.audit.models import AuditEntry, AuditHead
from gongshu.auth.models import ApiKey, LoginSession, PasswordHistory, User, UserRole
from gongshu.catalog.models import Dataset, Field
from gongshu.jobs.models import Job
from gongshu.notices.models import Notice, OutboxMessage
from gongshu.orgs.models import Agency, Region
from gongshu.search.models import PinyinOverride, SearchDoc, SearchToken
from gongshu.systems.models import InformationSystem, SystemDataset
from gongshu.workdays.models import CalendarOverride, Deadline

__all__ = [
    "Agency",
    "ApiKey",
    "AuditEntry",
    "AuditHead",
    "CalendarOverride",
    "Dataset",
    "Deadline",
    "Field",
    "InformationSystem",
    "Job",
    "LoginSession",
    "Notice",
    "OutboxMessage",
    "PasswordHistory",
    "PinyinOverride",
    "Region",
    "SearchDoc",
    "SearchToken",
    "SystemDataset",
    "User",
    "UserRole",
]
