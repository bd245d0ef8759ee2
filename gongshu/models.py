"""Imports every model so that the metadata (and Alembic) sees all tables."""

from gongshu.audit.models import AuditEntry, AuditHead
from gongshu.auth.models import ApiKey, LoginSession, PasswordHistory, User, UserRole
from gongshu.catalog.models import Dataset, Field
from gongshu.jobs.models import Job
from gongshu.orgs.models import Agency, Region

__all__ = [
    "Agency",
    "ApiKey",
    "AuditEntry",
    "AuditHead",
    "Dataset",
    "Field",
    "Job",
    "LoginSession",
    "PasswordHistory",
    "Region",
    "User",
    "UserRole",
]
