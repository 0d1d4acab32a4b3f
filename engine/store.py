"""One SQLite file, versioned with ordered, named migrations that its owner brings.

WAL mode keeps readers and the writer apart and makes a killed process lose at most the
transaction it was in. ``PRAGMA user_version`` counts the migrations applied; each runs in its own
transaction, so a crash mid-upgrade leaves the previous version intact. The owner (the app
database, the collection catalog) names itself and its error type, so a damaged file is reported
as what it is.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from engine.diskspace import disk_full_advice, disk_is_full, is_no_space
from engine.errors import InglenookError

Migration = Callable[[sqlite3.Connection], None]


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run statements one by one: ``executescript`` would commit and break the migration's transaction."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


class SQLiteStore:
    """A thread-safe wrapper around one SQLite connection (writes are serialised by a lock).

    ``what`` names the file for messages ("the collection catalog"); ``error`` is the typed error
    its failures are raised as.
    """

    def __init__(self, path: Path | str, migrations: Sequence[Migration], *, what: str,
                 error: type[InglenookError] = InglenookError):
        self.path = Path(path)
        self.migrations = list(migrations)
        self.what = what
        self.error = error
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except (sqlite3.DatabaseError, OSError) as exc:
            raise self._open_error(exc) from exc

    @property
    def version(self) -> int:
        return self._conn.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        current = self.version
        if current > len(self.migrations):
            raise self.error(
                f"{self.path} was written by a newer Inglenook (schema {current}, this one knows "
                f"{len(self.migrations)}); update Inglenook."
            )
        for number, migration in enumerate(self.migrations[current:], start=current + 1):
            with self.transaction() as conn:
                # another process may have migrated since we looked; the write lock makes this check safe
                if conn.execute("PRAGMA user_version").fetchone()[0] >= number:
                    continue
                migration(conn)
                conn.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    if self._conn.in_transaction:  # SQLite already rolled back after SQLITE_FULL
                        self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                raise self._explain(exc) from exc

    def query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.DatabaseError as exc:
                raise self._explain(exc) from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _open_error(self, exc: sqlite3.DatabaseError | OSError) -> InglenookError:
        """Why the file cannot be opened: a full disk, an unwritable folder, or a damaged file."""
        text = str(exc)
        may_be_space = isinstance(exc, OSError) or "I/O" in text or "unable to open" in text
        if is_no_space(exc) or (may_be_space and disk_is_full(self.path)):
            return self.error(f"{_capital(self.what)} ({self.path}) cannot be opened: {disk_full_advice(self.path)}.")
        if isinstance(exc, OSError):
            return self.error(f"{_capital(self.what)} cannot be created at {self.path} ({exc.strerror or exc}); "
                              "check that the data folder is writable and the disk has room.")
        return self.error(
            f"{_capital(self.what)} ({self.path}) cannot be opened ({exc}). It may be damaged: move it "
            "aside (Inglenook then starts a new one) and keep the old file for recovery."
        )

    def _explain(self, exc: sqlite3.DatabaseError) -> InglenookError:
        text = str(exc)
        if is_no_space(exc) or ("disk I/O" in text and disk_is_full(self.path)):
            return self.error(f"Could not save to {self.path} ({text}): {disk_full_advice(self.path)}.")
        if "locked" in text:
            return self.error(f"{self.path} is locked by another program ({text}); close other copies of Inglenook.")
        return self.error(f"{_capital(self.what)} failed ({text}).")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
