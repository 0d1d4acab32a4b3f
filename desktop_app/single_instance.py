"""One window per data folder.

Two windows on one data folder would each run their own indexer and watchers over the same LanceDB
tables and both own "the current model". The chat database itself is safe to share (SQLite WAL, and
the CLI may run beside the window), so only the window takes this lock. A second window says which
process holds the folder and how to open a second one anyway (another data folder).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QLockFile

LOCK_NAME = "window.lock"


class InstanceLock:
    """Held by the running window; a stale lock left by a killed window is taken over."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / LOCK_NAME
        self._lock = QLockFile(str(self.path))
        self._lock.setStaleLockTime(0)  # stale = the owning process is gone, however recent

    def acquire(self) -> bool:
        return self._lock.tryLock(200)

    def holder(self) -> str:
        info = self._lock.getLockInfo()  # (pid, host, app); PySide6 drops the C++ bool
        if isinstance(info, tuple) and len(info) >= 3 and info[0]:
            pid, host = info[-3], info[-2]
            return f"process {pid} on {host}"
        return "another process"

    def refusal(self) -> str:
        return (f"Inglenook is already open with this data folder ({self.path.parent}), in {self.holder()}. "
                "Switch to that window. To open a second, separate Inglenook, start it with another data "
                "folder: INGLENOOK_HOME=/some/other/folder nook")

    def release(self) -> None:
        self._lock.unlock()
