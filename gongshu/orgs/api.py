"""orgs api (filled in by the orgs work)."""

from fastapi import APIRouter

router = APIRouter()
