"""catalog pages (filled in by the catalog work)."""

from fastapi import APIRouter

router = APIRouter()
