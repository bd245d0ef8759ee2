"""Traceable copies (可追溯副本): the digest of every completed export, and tracing a file —
a leaked copy handed to an investigator — back to the grant, body, user and time that
produced it.

A CSV or NDJSON file holds only its rows (no line may be added without breaking readers),
so the file itself names nothing. What names it is its content: when an export's stream
ends, ``recorded`` writes one more audit entry, ``data.export_digest``, with the SHA-256 and
the byte count of exactly the bytes that left (for the CSV bundle also those of its
``data.csv``). A file uploaded for tracing is hashed the same way and looked up by that
digest; XLSX, Parquet, JSON and the bundle also carry the fingerprint inside, which is read
too, so a file edited after the export still names its grant.

Identical bytes can come from more than one export — the same reader exporting the same
rows twice, or two bodies whose grants give exactly the same fields, rows and masking — so a
digest answers with every export that produced those bytes, newest first.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import pyarrow.parquet as pq
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gongshu.audit.group import append_durable
from gongshu.audit.models import AuditEntry
from gongshu.auth.actor import Actor
from gongshu.auth.permissions import Perm, can, in_region_scope, require_login
from gongshu.catalog.models import Dataset
from gongshu.dataapi import queries
from gongshu.errors import NotFound, PermissionDenied
from gongshu.i18n import N_
from gongshu.orgs.models import Agency
from gongshu.share.models import Grant

DIGEST_ACTION = queries.DIGEST_ACTION
READ_ACTION = "data.read"
CHUNK = 1024 * 1024
HEAD_BYTES = 64 * 1024
# Members of a ZIP read to find an embedded fingerprint (an XLSX's properties, a bundle's
# descriptor) are small; a larger one is not ours.
MAX_MEMBER_BYTES = 8 * 1024 * 1024
MAX_MATCHES = 200

MSG_FILE_UNKNOWN = N_(
    "没有找到产生这个文件的导出记录：文件内容与平台记录的任何一次导出都不一致"
    "（文件可能被修改过，或不是本平台导出的），文件中也没有可追溯的指纹"
)
MSG_NO_FILE = N_("请选择要追溯的文件")

KINDS = {
    "csv": N_("CSV 文件"),
    "ndjson": N_("NDJSON 文件"),
    "json": N_("JSON 文件"),
    "xlsx": N_("XLSX 工作簿"),
    "parquet": N_("Parquet 文件"),
    "bundle": N_("CSV 数据包（ZIP）"),
    "zip": N_("ZIP 文件"),
    "unknown": N_("未识别的文件"),
}

_HEX = re.compile(r"^[0-9a-f]{8,64}$")
_JSON_ENVELOPE = re.compile(rb'^\{\s*"dataset"\s*:')
_JSON_FINGERPRINT = re.compile(rb'"fingerprint"\s*:\s*"([0-9a-f]{8,64})"')
_JSON_EXPORT_ID = re.compile(rb'"export_id"\s*:\s*"([0-9a-f]{8,64})"')
_XLSX_CUSTOM = re.compile(
    rb'name="gongshu_fingerprint"[^>]*>\s*<vt:lpwstr>([0-9a-f]{8,64})</vt:lpwstr>'
)
_XLSX_IDENTIFIER = re.compile(rb"<dc:identifier>([0-9a-f]{8,64})</dc:identifier>")


# --- recording ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportRecord:
    """What the digest entry of an export says besides the digest: which export it was."""

    dataset_id: int
    dataset_title: str
    export_id: str
    fingerprint: str
    fmt: str
    version: int


def recorded(
    chunks: Iterable[bytes],
    session: Session,
    actor: Actor,
    export: ExportRecord,
    *,
    members: Callable[[], Mapping[str, Any]] | None = None,
) -> Iterator[bytes]:
    """Yield ``chunks`` unchanged; when the last one has gone, append the export's
    ``data.export_digest`` entry (SHA-256 and byte count of every byte yielded, plus
    ``members()``, e.g. the bundle's ``data.csv``) and wait until it is durable.

    A stream that stops early (the client went away) records nothing: no complete file
    left. The entry goes into the chain through the grouped writer like the gate's own.
    """
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        yield chunk
    changes: dict[str, Any] = {
        "export_id": export.export_id,
        "fingerprint": export.fingerprint,
        "format": export.fmt,
        "version": export.version,
        "digest": digest.hexdigest(),
        "bytes": size,
    }
    if members is not None:
        changes.update(members())
    append_durable(
        session,
        actor,
        DIGEST_ACTION,
        "dataset",
        export.dataset_id,
        label=export.dataset_title,
        changes=changes,
    )


# --- reading a file -------------------------------------------------------------------------


@dataclass(frozen=True)
class FileFacts:
    """What a file says about itself: its SHA-256 and size, what kind of file it looks like,
    and the fingerprint and export id it carries inside (XLSX, Parquet, JSON, bundle)."""

    sha256: str
    size: int
    kind: str
    fingerprint: str | None = None
    export_id: str | None = None


def _hex(value: Any) -> str | None:
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else str(value or "")
    text = text.strip().lower()
    return text if _HEX.match(text) else None


def _from_parquet(stream: BinaryIO) -> tuple[str | None, str | None]:
    metadata = pq.read_schema(stream).metadata or {}
    return _hex(metadata.get(b"gongshu.fingerprint")), _hex(metadata.get(b"gongshu.export_id"))


def _member(archive: zipfile.ZipFile, name: str) -> bytes | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_MEMBER_BYTES:
        return None
    with archive.open(info) as member:
        return member.read(MAX_MEMBER_BYTES)


def _from_zip(stream: BinaryIO) -> tuple[str, str | None, str | None]:
    with zipfile.ZipFile(stream) as archive:
        names = set(archive.namelist())
        if "xl/workbook.xml" in names:
            found = None
            if custom := _member(archive, "docProps/custom.xml"):
                match = _XLSX_CUSTOM.search(custom)
                found = match.group(1) if match else None
            if found is None and (core := _member(archive, "docProps/core.xml")):
                match = _XLSX_IDENTIFIER.search(core)
                found = match.group(1) if match else None
            return "xlsx", _hex(found) if found else None, None
        if "datapackage.json" in names:
            raw = _member(archive, "datapackage.json") or b"{}"
            try:
                about = json.loads(raw.decode("utf-8")).get("gongshu") or {}
            except (UnicodeDecodeError, ValueError, AttributeError):
                about = {}
            if isinstance(about, dict):
                return "bundle", _hex(about.get("fingerprint")), _hex(about.get("export_id"))
            return "bundle", None, None
    return "zip", None, None


def _from_head(head: bytes) -> tuple[str, str | None, str | None]:
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if _JSON_ENVELOPE.match(text):
        # The envelope's head comes before its rows (also once re-indented), and a string
        # value cannot hold an unescaped quote, so the first match is the envelope's own.
        fp, export_id = _JSON_FINGERPRINT.search(head), _JSON_EXPORT_ID.search(head)
        return (
            "json",
            _hex(fp.group(1)) if fp else None,
            _hex(export_id.group(1)) if export_id else None,
        )
    if text.startswith(b"{"):
        return "ndjson", None, None
    if head.startswith(b"\xef\xbb\xbf") or b"," in head.split(b"\n", 1)[0]:
        return "csv", None, None
    return "unknown", None, None


def inspect_file(stream: BinaryIO) -> FileFacts:
    """Hash a file (read in chunks: any size) and read the fingerprint it carries, if any.

    ``stream`` must be seekable (an upload spooled to disk is). A damaged container (a ZIP
    or Parquet file that no longer opens) is only hashed."""
    stream.seek(0)
    digest = hashlib.sha256()
    head = b""
    size = 0
    while chunk := stream.read(CHUNK):
        if len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
        digest.update(chunk)
        size += len(chunk)
    kind, fingerprint, export_id = "unknown", None, None
    try:
        if head.startswith(b"PAR1"):
            stream.seek(0)
            kind = "parquet"
            fingerprint, export_id = _from_parquet(stream)
        elif head.startswith(b"PK\x03\x04"):
            stream.seek(0)
            kind, fingerprint, export_id = _from_zip(stream)
        else:
            kind, fingerprint, export_id = _from_head(head)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        pass  # a broken container: the digest is all there is
    return FileFacts(digest.hexdigest(), size, kind, fingerprint, export_id)


def facts_of(data: bytes) -> FileFacts:
    """``inspect_file`` for bytes in memory (tests, small files)."""
    return inspect_file(io.BytesIO(data))


# --- tracing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileMatch:
    """One export whose bytes were exactly the file's: its digest entry, the read entry
    that let the rows out (purpose, grant), and who it leads to."""

    entry: AuditEntry
    member: str  # "file" (the whole download) or "data.csv" (the CSV inside a bundle)
    read: AuditEntry | None
    dataset: Dataset | None
    grant: Grant | None
    agency: Agency | None


@dataclass(frozen=True)
class FileTrace:
    """What a file leads to: the exports with exactly its bytes, and the trace of the
    fingerprint it carries (when it carries one)."""

    facts: FileFacts
    matches: list[FileMatch] = field(default_factory=list)
    embedded: queries.FingerprintTrace | None = None

    @property
    def recorded(self) -> bool:
        """The file is, byte for byte, a file the platform exported."""
        return bool(self.matches)


def _visible(actor: Actor, dataset: Dataset | None) -> bool:
    return (
        dataset is None or can(actor, Perm.AUDIT_READ) or in_region_scope(actor, dataset.region_id)
    )


def _matches(session: Session, actor: Actor, sha256: str) -> list[FileMatch]:
    digest = AuditEntry.changes["digest"].as_string()
    data_digest = AuditEntry.changes["csv_digest"].as_string()
    entries = list(
        session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.action == DIGEST_ACTION,
                or_(digest == sha256, data_digest == sha256),
            )
            .order_by(AuditEntry.seq.desc())
            .limit(MAX_MATCHES)
        )
    )
    if not entries:
        return []
    dataset_ids = {int(e.object_id) for e in entries if e.object_id.isdigit()}
    datasets = {
        d.id: d for d in session.scalars(select(Dataset).where(Dataset.id.in_(dataset_ids)))
    }
    fingerprints = {str(e.changes.get("fingerprint", "")) for e in entries}
    grants = {
        g.fingerprint: g
        for g in session.scalars(select(Grant).where(Grant.fingerprint.in_(fingerprints)))
    }
    export_ids = [str(e.changes.get("export_id", "")) for e in entries]
    reads = {
        str(r.changes.get("export_id")): r
        for r in session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == READ_ACTION,
                AuditEntry.object_type == "dataset",
                AuditEntry.object_id.in_([str(i) for i in dataset_ids]),
                AuditEntry.changes["export_id"].as_string().in_(export_ids),
            )
        )
    }
    agency_ids = {e.agency_id for e in entries if e.agency_id is not None} | {
        g.agency_id for g in grants.values()
    }
    agencies = {a.id: a for a in session.scalars(select(Agency).where(Agency.id.in_(agency_ids)))}
    out = []
    for entry in entries:
        dataset = datasets.get(int(entry.object_id)) if entry.object_id.isdigit() else None
        if not _visible(actor, dataset):
            continue
        grant = grants.get(str(entry.changes.get("fingerprint", "")))
        agency_id = grant.agency_id if grant is not None else entry.agency_id
        member = "file" if entry.changes.get("digest") == sha256 else "data.csv"
        out.append(
            FileMatch(
                entry=entry,
                member=member,
                read=reads.get(str(entry.changes.get("export_id", ""))),
                dataset=dataset,
                grant=grant,
                agency=agencies.get(agency_id) if agency_id is not None else None,
            )
        )
    return out


def trace_file(session: Session, actor: Actor, stream: BinaryIO) -> FileTrace:
    """Which exports produced a file: by its SHA-256 (every completed export's digest is in
    the chain) and by the fingerprint it carries inside. Bureau admins (a district admin:
    its district's entries) and auditors; ``NotFound`` when neither leads anywhere — a
    modified CSV, for instance."""
    require_login(actor)
    if not queries.may_trace(actor):
        raise PermissionDenied(queries.MSG_FINGERPRINT_DENIED)
    facts = inspect_file(stream)
    matches = _matches(session, actor, facts.sha256)
    embedded = None
    if facts.fingerprint is not None:
        try:
            embedded = queries.trace_fingerprint(session, actor, facts.fingerprint)
        except NotFound:
            embedded = None
    if not matches and embedded is None:
        raise NotFound(MSG_FILE_UNKNOWN)
    return FileTrace(facts, matches, embedded)
