"""Telling a full disk from a damaged file.

SQLite and LanceDB do not always say "disk full" when the disk is full: SQLite in WAL mode reports
"disk I/O error" when it cannot grow its shared-memory file, LanceDB a generic I/O or object-store
error. Advice for a damaged file ("move it aside") would be wrong then, so the stores ask here
whether the disk that holds the file has run out of room before they explain a failure.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from engine.units import format_bytes

NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
# Below this much free space a write error is taken to be the full disk's (SQLite needs a few
# pages and its WAL index, LanceDB a new data file and manifest; 16 MiB is none of those at risk).
NEARLY_FULL_BYTES = 16 * 1024 * 1024


def free_bytes(path: Path | str) -> int | None:
    """Free space on the disk that holds ``path`` (or its nearest existing parent); None if unknown."""
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def disk_is_full(path: Path | str) -> bool:
    """Whether the disk holding ``path`` has (almost) no room left."""
    free = free_bytes(path)
    return free is not None and free < NEARLY_FULL_BYTES


def is_no_space(exc: BaseException) -> bool:
    """Whether ``exc`` (or an error it wraps) says the disk or quota is full."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in NO_SPACE_ERRNOS:
            return True
        text = str(exc).lower()
        if "disk is full" in text or "no space left" in text or "quota exceeded" in text:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def disk_full_advice(path: Path | str) -> str:
    """The sentence that says the disk is full and what to do."""
    free = free_bytes(path)
    left = f"{format_bytes(free)} free" if free is not None else "no room left"
    return (f"the disk is full ({left} where {path} is kept). Free some space (delete files you no longer need, or "
            "move the data folder elsewhere with INGLENOOK_HOME or in Settings) and try again; everything "
            "saved before is kept")
