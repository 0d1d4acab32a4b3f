"""One SQLite file for settings and chat history, versioned with ordered migrations.

WAL mode keeps readers and the writer apart and makes a killed process lose at most the
transaction it was in. ``PRAGMA user_version`` holds the schema version; each migration runs in
its own transaction, so a crash mid-upgrade leaves the previous version intact.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from engine.errors import HistoryError

Migration = Callable[[sqlite3.Connection], None]


def run_script(conn: sqlite3.Connection, script: str) -> None:
    """Run statements one by one: ``executescript`` would commit and break the migration's transaction."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v1(conn: sqlite3.Connection) -> None:
    run_script(
        conn,
        """
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            model TEXT,
            system_prompt TEXT,
            preset TEXT,
            params TEXT NOT NULL DEFAULT '{}',
            extra TEXT NOT NULL DEFAULT '{}',
            head_id INTEGER
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            parent_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
            content TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'complete',
            model TEXT,
            params TEXT,
            timings TEXT,
            error TEXT,
            created_at REAL NOT NULL
        );
        CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
        CREATE INDEX messages_by_parent ON messages(parent_id);
        CREATE INDEX conversations_by_update ON conversations(updated_at DESC);
        """
    )


def _v2(conn: sqlite3.Connection) -> None:
    """The model registry moves into the database (local files, downloads, per-model settings)."""
    run_script(
        conn,
        """
        CREATE TABLE models (
            name TEXT PRIMARY KEY,
            path TEXT NOT NULL,
            kind TEXT NOT NULL DEFAULT 'chat',
            source TEXT NOT NULL DEFAULT 'local',
            repo_id TEXT,
            filename TEXT,
            sha256 TEXT,
            size INTEGER,
            added_at REAL NOT NULL,
            settings TEXT NOT NULL DEFAULT '{}'
        );
        """
    )


def _v3(conn: sqlite3.Connection) -> None:
    """Which process is streaming a reply, so another process never marks a live reply as dead."""
    conn.execute("ALTER TABLE messages ADD COLUMN writer_pid INTEGER")


def _v4(conn: sqlite3.Connection) -> None:
    """Opaque per-message data from higher layers (e.g. the sources an answer was grounded on)."""
    conn.execute("ALTER TABLE messages ADD COLUMN extra TEXT")


MIGRATIONS: list[Migration] = [_v1, _v2, _v3, _v4]


class Database:
    """A thread-safe wrapper around one SQLite connection (writes are serialised by a lock)."""

    def __init__(self, path: Path | str, migrations: list[Migration] | None = None):
        self.path = Path(path)
        self.migrations = MIGRATIONS if migrations is None else migrations
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        try:
            self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise HistoryError(
                f"The chat database {self.path} cannot be opened ({exc}). It may be damaged: move it "
                "aside (Inglenook then starts a new one) and keep the old file for recovery."
            ) from exc

    @property
    def version(self) -> int:
        return self._conn.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        current = self.version
        if current > len(self.migrations):
            raise HistoryError(
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
                raise _explain(exc, self.path) from exc

    def query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.DatabaseError as exc:
                raise _explain(exc, self.path) from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _explain(exc: sqlite3.DatabaseError, path: Path) -> HistoryError:
    text = str(exc)
    if "disk is full" in text or "disk I/O" in text:
        return HistoryError(
            f"Could not save to {path}: the disk is full ({text}). Free some space; everything saved "
            "before this point is kept."
        )
    if "locked" in text:
        return HistoryError(f"{path} is locked by another program ({text}); close other copies of Inglenook.")
    return HistoryError(f"The chat database failed ({text}).")
