"""The file side of a Hub download: part files, claims, hashing, disk space, cancel checks.

``engine.models.hub`` talks to the server; these helpers keep what lands on disk correct.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import httpx

from engine.errors import DownloadCancelled, DownloadError
from engine.units import format_bytes

if TYPE_CHECKING:
    from engine.models.hub import DownloadProgress

CHUNK = 1024 * 1024
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

# Only one download per destination file at a time in this process.
_active: set[Path] = set()
_active_lock = threading.Lock()


class Interrupted(Exception):
    """The transfer stopped part-way for a reason worth one more try (connection dropped...)."""

    def __init__(self, cause: BaseException):
        super().__init__(str(cause))
        self.cause = cause


class Restart(Exception):
    """The server cannot continue the part file: throw it away and start from byte 0."""


@dataclass
class Job:
    """Everything one download needs to know, passed between its steps."""

    repo_id: str
    revision: str
    filename: str
    url: str
    part: Path
    total: int | None
    progress: Callable[[DownloadProgress], None] | None
    cancel: threading.Event | None
    #: running SHA-256 of the part file's first ``hashed`` bytes, kept across resumes
    digest: hashlib._Hash | None = None
    hashed: int = 0


def destination(dest_dir: Path, filename: str) -> Path:
    """``dest_dir/filename``, refusing names that would land outside ``dest_dir``."""
    rel = PurePosixPath(filename)
    if not filename or rel.is_absolute() or any(p in ("", ".", "..") for p in rel.parts) or "\\" in filename:
        raise DownloadError(
            f"{filename!r} is not a valid file name in a repository; use a path like 'model.Q4_K_M.gguf'."
        )
    return dest_dir.joinpath(*rel.parts)


class claim:
    """Context manager: refuse a second simultaneous download of the same destination.

    In this process by a set of destinations; across processes (the window and `nook models download`,
    two terminals) by an exclusive ``flock`` on ``FILENAME.lock`` beside the file, which the kernel drops
    when its holder exits, so a killed download never leaves a stale lock behind.
    """

    def __init__(self, final: Path):
        self.key = final.resolve()
        self._lock_file: int | None = None

    def __enter__(self) -> None:
        with _active_lock:
            if self.key in _active:
                raise DownloadError(
                    f"{self.key.name} is already being downloaded; wait for that download to finish."
                )
            _active.add(self.key)
        try:
            self._lock_file = _lock_across_processes(self.key.with_name(self.key.name + ".lock"))
        except BaseException:
            self._release_here()
            raise

    def __exit__(self, *exc_info: object) -> None:
        if self._lock_file is not None:
            _unlock(self.key.with_name(self.key.name + ".lock"), self._lock_file)
            self._lock_file = None
        self._release_here()

    def _release_here(self) -> None:
        with _active_lock:
            _active.discard(self.key)


def _lock_across_processes(path: Path) -> int | None:
    """An open, exclusively locked descriptor of ``path``; None where locking is not possible."""
    try:
        import fcntl
    except ImportError:  # Windows: the in-process claim is what there is
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # the download reports the folder it cannot create
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise DownloadError(
                f"{path.name[:-len('.lock')]} is already being downloaded by another Inglenook process (the window "
                "or another `nook models download`); wait for that download to finish."
            ) from None
        try:  # the holder before us may have removed the file after we opened it: lock the one on disk
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def _unlock(path: Path, fd: int) -> None:
    try:
        path.unlink(missing_ok=True)  # removed while still locked, so nobody locks a file on its way out
    except OSError:
        pass
    os.close(fd)


def sha256_from_etag(etag: str | None) -> str | None:
    """The Hub's ETag for an LFS file is its SHA-256; for a small git file it is a git SHA-1."""
    if not etag:
        return None
    value = etag.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"').lower()
    return value if SHA256_RE.match(value) else None


def already_there(
    final: Path, total: int | None, sha: str | None, cancel: threading.Event | None, filename: str
) -> bool:
    """True when ``final`` is already the complete, verified file (nothing to download)."""
    if not final.is_file() or total is None or final.stat().st_size != total:
        return False
    return sha is None or hash_prefix(final, total, cancel, filename).hexdigest() == sha


def hash_prefix(
    path: Path, length: int | None, cancel: threading.Event | None, filename: str
) -> hashlib._Hash:
    """SHA-256 state over the first ``length`` bytes of ``path`` (all of it when None)."""
    digest = hashlib.sha256()
    if length == 0:
        return digest
    left = length
    with open(path, "rb") as fh:
        while left is None or left > 0:
            chunk = fh.read(CHUNK * 4 if left is None else min(CHUNK * 4, left))
            if not chunk:
                break
            digest.update(chunk)
            if left is not None:
                left -= len(chunk)
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled(
                    f"Download of {filename} cancelled while checking it; run it again to finish."
                )
    return digest


def check_cancel(job: Job) -> None:
    if job.cancel is None or not job.cancel.is_set():
        return
    have = job.part.stat().st_size if job.part.exists() else 0
    of = f" of {format_bytes(job.total)}" if job.total is not None else ""
    raise DownloadCancelled(
        f"Download of {job.filename} cancelled at {format_bytes(have)}{of}. The partial file {job.part} "
        "is kept; run the same download again to resume, or delete it to free the space."
    )


def sleep_unless_cancelled(cancel: threading.Event | None, seconds: float) -> None:
    if cancel is None:
        time.sleep(seconds)
    else:
        cancel.wait(seconds)


def check_space(job: Job, have: int) -> None:
    if job.total is None:
        return
    need = job.total - have
    free = shutil.disk_usage(job.part.parent).free
    if need > free:
        raise DownloadError(
            f"Not enough disk space in {job.part.parent} for {job.filename}: {format_bytes(need)} more are "
            f"needed but only {format_bytes(free)} is free. Free up {format_bytes(need - free)} or choose "
            "another folder."
        )


def range_starts_at(response: httpx.Response, offset: int) -> bool:
    """True when a 206 answer's Content-Range begins at ``offset``."""
    if response.status_code != 206:
        return False
    match = re.match(r"bytes\s+(\d+)-", response.headers.get("Content-Range", ""))
    return bool(match) and int(match.group(1)) == offset


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not possible on Windows; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
