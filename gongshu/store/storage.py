"""Where version files live: one storage interface, a local-disk implementation.

Every version is a *prefix* (``datasets/<dataset id>/<uuid>/``) holding its Parquet file,
its serving index and side files (rejected rows). Code outside this module names files by
storage key (``<prefix><file name>``), never by path, so an object store can replace the
disk: ``local_path`` is where DuckDB and SQLite get a readable local copy.

A prefix that is not yet published carries a *marker* naming its writer (host, pid, process
start time) and its state: ``writing`` while a ``VersionWriter`` fills it, ``publishing``
from ``commit`` until ``publish`` has committed its transaction. The sweep reads markers to
tell a live writer's files from a dead one's (see docs/storage.md).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

import psutil

from gongshu.settings import Settings, get_settings

MARKER_NAME = ".gongshu-writer.json"
TRASH_PREFIX = ".trash-"
# A staging directory is born under this hidden name and renamed to its prefix only once
# its marker is in it, so no prefix is ever seen without a marker while being written.
NEW_PREFIX = ".new-"
WRITING = "writing"
PUBLISHING = "publishing"
# A marker left by another host cannot be checked for a live process; after this long its
# writer is taken to be gone (no version takes a day to write).
FOREIGN_MARKER_SECONDS = 24 * 3600


@dataclass(frozen=True)
class StagingDir:
    """A fresh local directory a version's files are written in, and its future prefix."""

    dataset_id: int
    prefix: str
    path: Path


@dataclass(frozen=True)
class Marker:
    """Who is writing or publishing a prefix, read back from its marker file."""

    state: str
    host: str
    pid: int
    process_started: float
    at: float

    def writer_alive(self, now: float | None = None) -> bool:
        """Whether the process that wrote this marker may still be working on the prefix.

        On this host the pid must exist, not be a zombie and have started no later than the
        marker's writer did (a recycled pid belongs to another process). On another host
        only the age tells.
        """
        now = time.time() if now is None else now
        if now - self.at > FOREIGN_MARKER_SECONDS:
            return False
        if self.host != socket.gethostname():
            return True
        try:
            process = psutil.Process(self.pid)
            if process.status() == psutil.STATUS_ZOMBIE:
                return False
            return process.create_time() <= self.process_started + 1.0
        except psutil.Error:
            return False


class Storage(Protocol):
    """The storage of version files (local disk today, an object store later)."""

    def staging_dir(self, dataset_id: int) -> StagingDir:
        """A fresh local directory for a new version, marked as being written."""
        ...

    def commit(self, staging: StagingDir) -> str:
        """Make the staged files permanent under their prefix and return the prefix.

        The prefix stays marked ``publishing`` until ``release``: it is not garbage while
        its writer lives, even though no version row names it yet.
        """
        ...

    def release(self, prefix: str) -> None:
        """Drop the prefix's marker: its version row is committed."""
        ...

    def marker(self, prefix: str) -> Marker | None:
        """The prefix's marker, or None for a committed, released prefix."""
        ...

    def modified_at(self, prefix: str) -> float:
        """When the prefix last changed (seconds since the epoch); 0 if it is gone."""
        ...

    def local_path(self, key: str) -> Path:
        """A readable local file for the key (DuckDB and SQLite open it)."""
        ...

    def open(self, key: str) -> BinaryIO:
        """The key's content for reading."""
        ...

    def size(self, key: str) -> int:
        """The key's size in bytes."""
        ...

    def writer(self, key: str) -> AbstractContextManager[BinaryIO]:
        """Write one file (an upload, a rejected-rows file) outside any version prefix.

        The file appears under its key only when the block ends without an error.
        """
        ...

    def save(self, key: str, source: Path) -> None:
        """Copy a local file in under ``key`` (same rule as ``writer``)."""
        ...

    def delete(self, key: str) -> None:
        """Delete one file (nothing happens if it is gone)."""
        ...

    def delete_prefix(self, prefix: str) -> None:
        """Delete every file under the prefix (nothing happens if it is gone)."""
        ...

    def prefixes(self, under: str) -> Iterator[str]:
        """The prefixes directly under ``under`` (``datasets/`` → ``datasets/7/`` …)."""
        ...

    def empty_trash(self) -> int:
        """Finish deletions a crash interrupted; returns how many it finished."""
        ...


def _process_started() -> float:
    return psutil.Process(os.getpid()).create_time()


def _fsync_tree(path: Path) -> None:
    for child in path.iterdir():
        if child.is_file():
            fd = os.open(child, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalStorage:
    """Version files on the local disk under ``root`` (``<data dir>/store``).

    The staging directory *is* the final prefix directory, so ``commit`` moves nothing: it
    syncs the files to disk and turns the marker from ``writing`` into ``publishing``.
    Deleting a prefix first renames it into a trash name, so a crash half-way through a
    deletion leaves a name the sweep recognises rather than a torn version.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, prefix: str) -> Path:
        return self.local_path(prefix.rstrip("/"))

    def local_path(self, key: str) -> Path:
        parts = [p for p in key.split("/") if p]
        if not parts or any(p in (".", "..") or "\\" in p for p in parts):
            raise ValueError(f"bad storage key: {key!r}")
        return self.root.joinpath(*parts)

    def _write_marker(self, directory: Path, state: str) -> None:
        body = {
            "state": state,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "process_started": _process_started(),
            "at": time.time(),
            "at_iso": dt.datetime.now(dt.UTC).isoformat(),
        }
        tmp = directory / (MARKER_NAME + ".tmp")
        tmp.write_text(json.dumps(body), encoding="utf-8")
        os.replace(tmp, directory / MARKER_NAME)

    def staging_dir(self, dataset_id: int) -> StagingDir:
        name = uuid.uuid4().hex
        prefix = f"datasets/{int(dataset_id)}/{name}/"
        path = self._dir(prefix)
        for attempt in range(3):
            born = path.with_name(f"{NEW_PREFIX}{name}")
            born.mkdir(parents=True)
            try:
                self._write_marker(born, WRITING)
                born.rename(path)
            except FileNotFoundError:
                # A sweep took the still empty directory for a dead writer's; start again.
                if attempt == 2:
                    raise
                continue
            return StagingDir(dataset_id=dataset_id, prefix=prefix, path=path)
        raise AssertionError("unreachable")

    def commit(self, staging: StagingDir) -> str:
        _fsync_tree(staging.path)
        self._write_marker(staging.path, PUBLISHING)
        return staging.prefix

    def release(self, prefix: str) -> None:
        (self._dir(prefix) / MARKER_NAME).unlink(missing_ok=True)

    def marker(self, prefix: str) -> Marker | None:
        try:
            body = json.loads((self._dir(prefix) / MARKER_NAME).read_text(encoding="utf-8"))
            return Marker(
                state=str(body["state"]),
                host=str(body["host"]),
                pid=int(body["pid"]),
                process_started=float(body["process_started"]),
                at=float(body["at"]),
            )
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            # A marker torn by a crash mid-write: its writer is certainly gone.
            return Marker(state=WRITING, host="", pid=0, process_started=0.0, at=0.0)

    def modified_at(self, prefix: str) -> float:
        try:
            return self._dir(prefix).stat().st_mtime
        except FileNotFoundError:
            return 0.0

    def open(self, key: str) -> BinaryIO:
        return self.local_path(key).open("rb")

    def size(self, key: str) -> int:
        return self.local_path(key).stat().st_size

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        target = self.local_path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with tmp.open("wb") as out:
                yield out
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def save(self, key: str, source: Path) -> None:
        with self.writer(key) as out, source.open("rb") as src:
            shutil.copyfileobj(src, out, 1024 * 1024)

    def delete(self, key: str) -> None:
        self.local_path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        path = self._dir(prefix)
        trash = path.with_name(f"{TRASH_PREFIX}{path.name}-{uuid.uuid4().hex[:8]}")
        try:
            path.rename(trash)
        except FileNotFoundError:
            return
        shutil.rmtree(trash, ignore_errors=True)

    def prefixes(self, under: str) -> Iterator[str]:
        base = self._dir(under) if under.strip("/") else self.root
        try:
            children = sorted(p.name for p in base.iterdir() if p.is_dir())
        except FileNotFoundError:
            return
        head = under if under.endswith("/") or not under else under + "/"
        for name in children:
            if not name.startswith("."):
                yield f"{head}{name}/"

    def empty_trash(self) -> int:
        done = 0
        datasets = self.root / "datasets"
        if not datasets.is_dir():
            return 0
        for dataset_dir in datasets.iterdir():
            if not dataset_dir.is_dir():
                continue
            for child in dataset_dir.iterdir():
                if child.name.startswith(TRASH_PREFIX) or (
                    child.name.startswith(NEW_PREFIX) and self._stillborn(child)
                ):
                    shutil.rmtree(child, ignore_errors=True)
                    done += 1
        return done

    def _stillborn(self, born: Path) -> bool:
        """Whether a directory left under its birth name belongs to a dead writer.

        Without a marker its writer died before writing one (a live one that is about to
        write it retries when the directory vanishes); with one, the marker says.
        """
        marker = self.marker(f"{born.parent.relative_to(self.root).as_posix()}/{born.name}/")
        return marker is None or not marker.writer_alive()


def get_storage(settings: Settings | None = None) -> Storage:
    """The configured storage: the local disk under ``<data dir>/store``."""
    settings = settings or get_settings()
    return LocalStorage(settings.data_dir / "store")
