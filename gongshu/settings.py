"""One settings object for the whole platform.

Every setting is read from the environment with the ``GONGSHU_`` prefix (``GONGSHU_ENV``,
``GONGSHU_DATABASE_URL`` …) or from a ``.env`` file in the working directory. Each one is
documented in ``docs/configuration.md``; a test fails when one is not.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "change-me-development-only"  # noqa: S105 — refused in production


class Settings(BaseSettings):
    """The platform's configuration, one instance per process (see ``get_settings``)."""

    model_config = SettingsConfigDict(
        env_prefix="GONGSHU_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["development", "production"] = "development"
    database_url: str = ""
    data_dir: Path = Path("var")
    secret_key: str = DEFAULT_SECRET_KEY
    default_language: Literal["zh", "en"] = "zh"
    city_name: str = "临沂市"
    platform_name: str = "公共数据管理平台"
    base_url: str = "http://127.0.0.1:8000"

    session_timeout_minutes: int = Field(default=30, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_minutes: int = Field(default=15, ge=1)
    password_min_length: int = Field(default=10, ge=8)
    password_min_classes: int = Field(default=3, ge=1, le=4)
    password_history: int = Field(default=5, ge=0)
    require_admin_totp: bool | None = None
    access_token_minutes: int = Field(default=60, ge=1)
    argon2_profile: Literal["default", "fast"] = "default"

    catalog_sequence_width: int = Field(default=4, ge=1, le=12)
    grading_table_file: Path | None = None
    catalog_review_days: int = Field(default=2, ge=1, le=60)
    catalog_change_proposal_days: int = Field(default=15, ge=1, le=365)
    correction_days: int = Field(default=5, ge=1, le=60)
    # Public feedback (gongshu.feedback): working days for the bureau to route (or screen
    # out) an objection, error report or data demand, for the provider's reply to an
    # objection or error report, to a data demand, and for deciding a rights appeal.
    feedback_route_days: int = Field(default=2, ge=1, le=30)
    feedback_reply_days: int = Field(default=10, ge=1, le=60)
    demand_reply_days: int = Field(default=15, ge=1, le=60)
    appeal_days: int = Field(default=5, ge=1, le=60)

    import_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    import_max_uncompressed_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    import_max_compression_ratio: int = Field(default=100, ge=2)
    import_max_rows: int = Field(default=5000, ge=1)

    ingest_max_bytes: int = Field(default=4 * 1024**3, ge=1024)
    ingest_max_cell_chars: int = Field(default=1_000_000, ge=1)
    ingest_max_uncompressed_bytes: int = Field(default=1024**3, ge=1024)
    ingest_max_compression_ratio: int = Field(default=100, ge=2)
    ingest_max_xls_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    ingest_max_json_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)

    job_poll_seconds: float = Field(default=2.0, gt=0)
    embedded_worker: bool = False
    push_max_rows: int = Field(default=10_000, ge=1, le=1_000_000)

    version_retention: int = Field(default=10, ge=1)

    smtp_url: str = ""

    # Sharing (gongshu.share): decision, objection and arbitration deadlines in working
    # days, the longest emergency, and the reassessment period of conditional entries.
    share_decision_days: int = Field(default=10, ge=1, le=60)
    share_objection_days: int = Field(default=5, ge=1, le=60)
    share_arbitration_days: int = Field(default=10, ge=1, le=60)
    share_emergency_max_days: int = Field(default=30, ge=1, le=365)
    share_reassess_months: int = Field(default=12, ge=1, le=60)
    share_reassess_remind_days: int = Field(default=30, ge=1, le=365)

    # The data API (docs/data-api.md): requests per minute per API key or user (0: no
    # limit; a key's own rate_limit_per_minute wins), the burst a bucket holds, and the
    # most rows an XLSX export may hold (beyond it: CSV or Parquet).
    data_api_rate_per_minute: int = Field(default=600, ge=0)
    data_api_burst: int = Field(default=60, ge=1)
    data_api_xlsx_max_rows: int = Field(default=3_000_000, ge=1)

    # Public search (docs/search.md, "Caching"): how many searches' counts each process
    # keeps (0: none) and for how many seconds at most.
    search_cache_entries: int = Field(default=1000, ge=0)
    search_cache_seconds: int = Field(default=300, ge=1)

    # Public accounts and conditional opening (gongshu.opening, docs/opening.md): the
    # quota of every public user's API key (calls a day, requests a minute: the same for
    # every applicant), the provider's decision deadline in working days, how often usage
    # reports fall due (months) and the longest term an application may ask for (months).
    public_api_daily_quota: int = Field(default=10_000, ge=1)
    public_api_rate_per_minute: int = Field(default=60, ge=1)
    opening_decision_days: int = Field(default=10, ge=1, le=60)
    opening_report_months: int = Field(default=6, ge=1, le=36)
    opening_max_term_months: int = Field(default=36, ge=1, le=120)

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env == "production":
            if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < 32:
                raise ValueError(
                    "GONGSHU_SECRET_KEY must be set to a random value of at least 32 characters "
                    "in production"
                )
            if self.argon2_profile == "fast":
                raise ValueError("GONGSHU_ARGON2_PROFILE=fast is for tests only")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL, defaulting to a SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'gongshu.db').resolve()}"

    @property
    def admin_totp_required(self) -> bool:
        """Admins must use a second factor in production unless explicitly configured."""
        if self.require_admin_totp is not None:
            return self.require_admin_totp
        return self.env == "production"

    # The gate (docs/gate.md): the key of masked columns' pseudonyms (keyed hashes). It must
    # never change once data has been shared, or masked columns stop joining across copies.
    masking_key: str = ""

    @model_validator(mode="after")
    def _require_masking_key_in_production(self) -> Settings:
        if self.env == "production" and len(self.masking_key) < 32:
            raise ValueError(
                "GONGSHU_MASKING_KEY must be set to a random value of at least 32 characters "
                "in production"
            )
        return self

    @property
    def masking_secret(self) -> bytes:
        """The pseudonym key: ``masking_key``, in development derived from the secret key."""
        if self.masking_key:
            return self.masking_key.encode("utf-8")
        return hashlib.sha256(b"gongshu.masking:" + self.secret_key.encode("utf-8")).digest()

    # Verification (docs/verification.md): checks one body may make per minute (0: no limit).
    verify_rate_per_minute: int = Field(default=6000, ge=0)

    # The audit chain (docs/audit.md): a signed checkpoint every N entries or M minutes, and
    # the most entries one grouped commit of gate entries holds.
    audit_checkpoint_entries: int = Field(default=10_000, ge=1)
    audit_checkpoint_minutes: int = Field(default=60, ge=1)
    audit_group_max_entries: int = Field(default=500, ge=1, le=10_000)

    # Open-data interoperability (docs/ckan-api.md, docs/dcat.md): the licence open data is
    # released under (CKAN license_id, DCAT dct:license, Data Package licenses).
    open_license_id: str = "CC-BY-4.0"
    open_license_title: str = "Creative Commons Attribution 4.0"
    open_license_url: str = "https://creativecommons.org/licenses/by/4.0/"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
