"""The CSV bundle (``export.csv.zip``): the CSV export with its description and its seal.

One ZIP of three members, written while the rows arrive:

- ``data.csv`` — exactly the bytes ``export.csv`` writes for the same request (a BOM, the
  header, the rows; nothing else);
- ``datapackage.json`` — a Frictionless Data Package descriptor of ``data.csv``
  (``gongshu.portal.datapackage.export_descriptor``): its Table Schema, byte count and
  SHA-256, the attribution (source agency, entry code, version, acquisition date, licence)
  and the export's fingerprint and id;
- ``data.csv.sig.json`` — the platform seal's detached signature of ``data.csv``
  (``gongshu.seal.StreamSigner``), which ``gongshu seal verify data.csv`` finds beside it
  once unpacked.

The ZIP is streamed: its output is not seekable, so ``zipfile`` writes each member's sizes
and CRC in a data descriptor after it (ZIP64 for ``data.csv``, whose size is unknown when
it starts). Memory holds one chunk and deflate's window, never the file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from gongshu.dataapi.exports import _Drain
from gongshu.seal.statements import SIG_SUFFIX, StreamSigner

DATA_MEMBER = "data.csv"
PACKAGE_MEMBER = "datapackage.json"
SIGNATURE_MEMBER = DATA_MEMBER + SIG_SUFFIX
MEDIA_TYPE = "application/zip"
# A ZIP keeps local wall-clock times without a zone: the platform's.
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")

__all__ = [
    "DATA_MEMBER",
    "MEDIA_TYPE",
    "PACKAGE_MEMBER",
    "SIGNATURE_MEMBER",
    "DataFile",
    "write",
]


@dataclass
class DataFile:
    """What ``data.csv`` turned out to be, filled in when its member is complete."""

    sha256: str = ""
    size: int = 0

    @property
    def complete(self) -> bool:
        return bool(self.sha256)


def _info(name: str, moment: dt.datetime) -> zipfile.ZipInfo:
    local = moment.astimezone(LOCAL_ZONE) if moment.tzinfo else moment
    info = zipfile.ZipInfo(name, date_time=local.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16  # a plain file, readable by all once unpacked
    return info


def _json(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def write(
    csv_chunks: Iterable[bytes],
    *,
    signer: StreamSigner,
    describe: Callable[[DataFile], Mapping[str, Any]],
    written_at: dt.datetime,
    data: DataFile | None = None,
) -> Iterator[bytes]:
    """The bundle's bytes, as ``csv_chunks`` (the CSV export) arrive.

    ``signer`` seals ``data.csv`` (its ``name`` should be ``data.csv``); ``describe`` gives
    the ``datapackage.json`` descriptor once ``data.csv``'s size and SHA-256 are known;
    ``data`` (optional) receives them too, for the export's audit entry.
    """
    data = data if data is not None else DataFile()
    sink = _Drain()
    digest = hashlib.sha256()
    size = 0
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open(_info(DATA_MEMBER, written_at), "w", force_zip64=True) as member:
            for chunk in csv_chunks:
                digest.update(chunk)
                signer.update(chunk)
                size += len(chunk)
                member.write(chunk)
                if out := sink.take():
                    yield out
        data.sha256, data.size = digest.hexdigest(), size
        archive.writestr(_info(PACKAGE_MEMBER, written_at), _json(describe(data)))
        archive.writestr(_info(SIGNATURE_MEMBER, written_at), _json(signer.finish()))
    yield sink.take()
