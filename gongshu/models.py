"""Imports every model so that the metadata (and Alembic) sees all tables."""

from gongshu.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from gongshu.auth.models import ApiKey, LoginSession, PasswordHistory, User, UserRole
from gongshu.catalog.models import Dataset, Field
from gongshu.feedback.models import (  # noqa: F401 — public feedback's tables
    Appeal,
    Comment,
    DataDemand,
    DemandVote,
    Reuse,
    ReuseDataset,
)
from gongshu.gate.models import GrantRowUsage, MaskRule  # noqa: F401 — the gate's tables
from gongshu.governance.models import (
    ConsistencyIssue,
    DataCollection,
    DataItem,
    ItemCopy,
    Objection,
    SourceBinding,
)
from gongshu.ingest.models import Ingestion, IngestProfile
from gongshu.ingest.pull_models import PullRun, PullSource
from gongshu.jobs.models import Job
from gongshu.notices.models import Notice, OutboxMessage
from gongshu.opening.models import (  # noqa: F401 — public accounts and conditional opening
    ApiKeyUsage,
    OpenApplication,
    PublicAccount,
    UsageReport,
)
from gongshu.orgs.models import Agency, Region
from gongshu.portalstats.models import PortalStatDaily, Subscription  # noqa: F401
from gongshu.quality.models import OverdueNotice, QualityScore
from gongshu.search.models import PinyinOverride, SearchDoc, SearchToken
from gongshu.share.models import (
    Assessment,
    AssessmentPlan,
    Emergency,
    Grant,
    ReturnFlow,
    ShareRequest,
)
from gongshu.store.models import DatasetHead, DatasetVersion  # noqa: F401 — registers the tables
from gongshu.systems.models import InformationSystem, SystemDataset
from gongshu.verification.models import VerificationService, VerificationUsage  # noqa: F401
from gongshu.workdays.models import CalendarOverride, Deadline

__all__ = [
    "Agency",
    "ApiKey",
    "Assessment",
    "AssessmentPlan",
    "AuditCheckpoint",
    "AuditEntry",
    "AuditHead",
    "CalendarOverride",
    "ConsistencyIssue",
    "DataCollection",
    "DataItem",
    "Dataset",
    "Deadline",
    "Emergency",
    "Field",
    "Grant",
    "InformationSystem",
    "IngestProfile",
    "Ingestion",
    "ItemCopy",
    "Job",
    "LoginSession",
    "Notice",
    "Objection",
    "OutboxMessage",
    "OverdueNotice",
    "PasswordHistory",
    "PinyinOverride",
    "PullRun",
    "PullSource",
    "QualityScore",
    "Region",
    "ReturnFlow",
    "SearchDoc",
    "SearchToken",
    "ShareRequest",
    "SourceBinding",
    "SystemDataset",
    "User",
    "UserRole",
]
