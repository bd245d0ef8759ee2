"""The ingestion tests' published entry with rules and their upload helpers, reused."""

from __future__ import annotations

from tests.ingest_service.conftest import registry, write_csv

__all__ = ["registry", "write_csv"]
