"""Stable public names and links of entries, agencies and themes.

Names are derived, never stored, so they cannot drift from what they name:

- an entry's **slug** is its resource code made URL-safe: lower case, ``/`` → ``-``
  (``102001/0001`` → ``102001-0001``). Codes hold only ``[0-9A-Z/]``, so the slug maps
  back to exactly one code;
- an agency's name is its unified social credit code in lower case;
- a theme (the entry's domain, 所属领域) is named by its pinyin, syllables joined by ``-``
  (市场监管 → ``shi-chang-jian-guan``); two domains that read alike share a name, and a
  name then stands for both.

Links are absolute, built from ``settings.base_url`` (the platform's public address), so
an export made behind a proxy still names the public address.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gongshu.catalog.models import Dataset
from gongshu.orgs.models import Agency
from gongshu.portal.openness import public_clause
from gongshu.search.tokens import syllables_of
from gongshu.settings import get_settings

_SLUG = re.compile(r"^[0-9a-z]+-[0-9]+$")
_NOT_SLUG = re.compile(r"[^0-9a-z]+")
_CODE = re.compile(r"^[0-9A-Z]+/[0-9]+$")

#: The formats an open entry's rows download in (the data API's export formats).
DOWNLOAD_FORMATS: tuple[str, ...] = ("csv", "xlsx", "json", "parquet")
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}


def dataset_slug(code: str) -> str:
    return code.lower().replace("/", "-")


def code_of_slug(slug: str) -> str | None:
    """The resource code a slug stands for (None: not a slug)."""
    if not _SLUG.match(slug):
        return None
    return slug.upper().replace("-", "/")


def agency_slug(agency: Agency) -> str:
    return agency.credit_code.lower()


def theme_slug(domain: str) -> str:
    """The URL name of a domain: its pinyin (letters and digits kept as they are)."""
    parts: list[str] = []
    for piece in re.findall(r"[\u4e00-\u9fff]+|[0-9A-Za-z]+", domain):
        if piece.isascii():
            parts.append(piece.lower())
        else:
            parts.extend(
                s or f"u{ord(ch):x}" for s, ch in zip(syllables_of(piece), piece, strict=True)
            )
    slug = "-".join(p for p in (_NOT_SLUG.sub("", p) for p in parts) if p)
    return slug or "theme"


def find_public(session: Session, ref: str) -> Dataset | None:
    """The public entry ``ref`` names: its id, resource code or slug (None otherwise)."""
    ref = ref.strip()
    stmt = select(Dataset).where(public_clause()).options(selectinload(Dataset.agency))
    if ref.isdigit() and 0 < int(ref) < 2**63:
        return session.scalars(stmt.where(Dataset.id == int(ref))).one_or_none()
    code = ref.upper() if _CODE.match(ref.upper()) else code_of_slug(ref)
    if code is None:
        return None
    return session.scalars(stmt.where(Dataset.code == code)).one_or_none()


# --- links -------------------------------------------------------------------------------------


def base_url() -> str:
    return get_settings().base_url.rstrip("/")


def dataset_url(dataset: Dataset) -> str:
    """The entry's public address (its URI in DCAT)."""
    return f"{base_url()}/dataset/{dataset_slug(dataset.code)}"


def export_url(dataset: Dataset, fmt: str) -> str:
    """Where the rows download in ``fmt`` without an account: the portal's download (through
    the gate as the anonymous reader). CKAN resources, DCAT distributions and Data Package
    paths all point here, so a client follows them without credentials."""
    return f"{dataset_url(dataset)}/download.{fmt}"


def data_api_url(dataset: Dataset) -> str:
    return f"{base_url()}/api/v1/data/{quote(dataset.code, safe='/')}"


def datapackage_url(dataset: Dataset) -> str:
    return f"{dataset_url(dataset)}/datapackage.json"


def agency_url(agency: Agency) -> str:
    return f"{base_url()}/organization/{agency_slug(agency)}"


def theme_url(domain: str) -> str:
    return f"{base_url()}/theme/{theme_slug(domain)}"


__all__ = [
    "DOWNLOAD_FORMATS",
    "MEDIA_TYPES",
    "agency_slug",
    "agency_url",
    "base_url",
    "code_of_slug",
    "data_api_url",
    "datapackage_url",
    "dataset_slug",
    "dataset_url",
    "export_url",
    "find_public",
    "theme_slug",
    "theme_url",
]
