"""Fixtures of the verification tests (the entries and services live in ``data``)."""

from tests.verification.data import (  # noqa: F401 — fixtures
    citizen_service,
    licence_service,
    licences,
    residents,
)
