"""Zip-directory checks for uploaded Office Open XML workbooks (.xlsx), before any parsing.

An .xlsx file is a zip archive. A hostile one can declare a tiny compressed member that
inflates to gigabytes (a zip bomb) or carry thousands of members. Both are recognised from
the central directory alone, which ``zipfile`` reads without decompressing anything; the
sizes it declares bind, because Python's zip reader stops at the declared size and fails
the CRC check when a member tries to inflate further.

The checks raise :class:`UnsafeArchive` with a ``kind``; each caller turns it into its own
message (the catalog import and the ingestion readers word their refusals differently).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from typing import IO

MAX_MEMBERS = 2000
# A single member counts as a bomb on its own only above this size: tiny XML parts compress
# extremely well and are harmless.
MEMBER_RATIO_FLOOR = 1024 * 1024
REQUIRED_MEMBERS = ("[Content_Types].xml", "xl/workbook.xml")


class UnsafeArchive(Exception):
    """Why an archive is refused: ``kind`` is one of the ``KIND_*`` names, ``limit`` the
    limit it broke (when there is one)."""

    def __init__(self, kind: str, limit: int | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.limit = limit


KIND_NOT_ZIP = "not_zip"
KIND_NOT_XLSX = "not_xlsx"
KIND_TOO_MANY_MEMBERS = "too_many_members"
KIND_TOO_BIG = "too_big"
KIND_RATIO = "ratio"


@dataclass(frozen=True)
class ArchiveSummary:
    """What the zip directory declares."""

    members: int
    uncompressed_bytes: int
    compressed_bytes: int


def check_xlsx_archive(
    file: IO[bytes],
    *,
    max_uncompressed_bytes: int,
    max_compression_ratio: int,
    max_members: int = MAX_MEMBERS,
) -> ArchiveSummary:
    """Check an .xlsx upload's zip directory (nothing is decompressed); raise
    :class:`UnsafeArchive` when it is not a workbook, has too many members, inflates beyond
    ``max_uncompressed_bytes`` or is compressed more than ``max_compression_ratio`` times
    (as a whole, or any member over 1 MB)."""
    try:
        with zipfile.ZipFile(file) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as exc:
        raise UnsafeArchive(KIND_NOT_ZIP) from exc
    names = {i.filename for i in infos}
    if any(required not in names for required in REQUIRED_MEMBERS):
        raise UnsafeArchive(KIND_NOT_XLSX)
    if len(infos) > max_members:
        raise UnsafeArchive(KIND_TOO_MANY_MEMBERS, max_members)
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if total > max_uncompressed_bytes:
        raise UnsafeArchive(KIND_TOO_BIG, max_uncompressed_bytes)
    if total > max_compression_ratio * max(packed, 1):
        raise UnsafeArchive(KIND_RATIO, max_compression_ratio)
    for info in infos:
        if info.file_size > MEMBER_RATIO_FLOOR and info.file_size > max_compression_ratio * max(
            info.compress_size, 1
        ):
            raise UnsafeArchive(KIND_RATIO, max_compression_ratio)
    return ArchiveSummary(len(infos), total, packed)
