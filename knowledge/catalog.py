"""Collections and the per-file manifest, in their own versioned SQLite file.

A collection is a named set of folders and files. The manifest has one row per file seen: its
size, mtime, content hash, the embedder that produced its chunks, how many chunks it has, and its
status (``indexed``, ``skipped`` with the reason, ``failed`` with the error). The indexer compares a
new scan against it to do only the work that changed.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.paths import data_dir
from engine.store import SQLiteStore, run_script
from knowledge.errors import CollectionNotFoundError, KnowledgeError
from knowledge.textsearch import DEFAULT_SEGMENTER, SEGMENTERS

_NAME = re.compile(r"^[\w][\w .-]{0,63}$", re.UNICODE)


def create_collections_and_files(conn: sqlite3.Connection) -> None:
    run_script(
        conn,
        """
        CREATE TABLE collections (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            roots TEXT NOT NULL,
            settings TEXT NOT NULL DEFAULT '{}',
            created_at REAL NOT NULL,
            indexed_at REAL
        );
        CREATE TABLE files (
            collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            file_id TEXT NOT NULL,
            kind TEXT,
            size INTEGER,
            mtime_ns INTEGER,
            content_hash TEXT,
            embedder_id TEXT,
            chunk_count INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL,
            reason TEXT,
            warnings TEXT,
            updated_at REAL NOT NULL,
            PRIMARY KEY (collection_id, path)
        );
        CREATE INDEX files_by_status ON files(collection_id, status);
        """,
    )


def add_live_table(conn: sqlite3.Connection) -> None:
    """Which LanceDB table searches use. NULL: ``collection_<id>``, the only table before embedders could be
    changed in the background (a new embedder builds its own table; the old one serves until it is done)."""
    conn.execute("ALTER TABLE collections ADD COLUMN live_table TEXT")


MIGRATIONS = [create_collections_and_files, add_live_table]

DEFAULT_SETTINGS: dict[str, Any] = {
    "exclude": [],
    "max_bytes": 50 * 1024 * 1024,
    # Sizes in knowledge.textunits units: one per CJK character, two per word of other scripts.
    "chunk_size": 200,  # the small unit that is matched (200 Chinese characters or 100 English words)
    "chunk_overlap": 30,
    "context_size": 700,  # the passage around a match that the answer step gets (small-to-big)
    "context_scope": "heading",  # how far that passage may reach: "heading" (its section) or "article"
    "embedder": "minilm",
    "include_hidden": False,
    "segmenter": DEFAULT_SEGMENTER,  # how CJK text is split for the full-text index: "jieba" or "bigram"
}

_RETIRED_SETTINGS = {"chunk_tokens", "overlap_tokens"}  # left in old collections' settings, ignored



def _check_settings(settings: dict[str, Any]) -> None:
    unknown = set(settings) - set(DEFAULT_SETTINGS)
    if unknown & _RETIRED_SETTINGS:
        raise KnowledgeError("chunk_tokens and overlap_tokens are now chunk_size and chunk_overlap, counted "
                             "in characters of Chinese and words of other scripts (a word counts 2).")
    if unknown:
        raise KnowledgeError(f"Unknown collection setting(s): {', '.join(sorted(unknown))}; "
                             f"settings are {', '.join(DEFAULT_SETTINGS)}.")
    if "segmenter" in settings and settings["segmenter"] not in SEGMENTERS:
        raise KnowledgeError(f"Unknown segmenter {settings['segmenter']!r}; use one of {', '.join(SEGMENTERS)}.")
    if settings.get("context_scope", "heading") not in ("heading", "article"):
        raise KnowledgeError("context_scope is 'heading' (the passage may reach neighbouring articles of the "
                             "same section) or 'article'.")


@dataclass
class Collection:
    id: int
    name: str
    roots: list[Path]
    settings: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    indexed_at: float | None = None
    live_table: str | None = None

    @property
    def table_name(self) -> str:
        """The table searches use."""
        return self.live_table or f"collection_{self.id}"

    def table_for(self, embedder_id: str) -> str:
        """The table a (re-)build with another embedder writes, while ``table_name`` still serves searches."""
        return f"collection_{self.id}_{hashlib.sha1(embedder_id.encode()).hexdigest()[:10]}"

    def owns_table(self, name: str) -> bool:
        return name == f"collection_{self.id}" or name.startswith(f"collection_{self.id}_")

    def setting(self, key: str) -> Any:
        return self.settings.get(key, DEFAULT_SETTINGS[key])


@dataclass
class FileRecord:
    path: str
    file_id: str
    kind: str | None
    size: int | None
    mtime_ns: int | None
    content_hash: str | None
    embedder_id: str | None
    chunk_count: int
    status: str
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)


def file_id_for(path: str) -> str:
    return hashlib.sha1(path.encode("utf-8")).hexdigest()[:16]


def knowledge_dir() -> Path:
    path = data_dir() / "knowledge"
    path.mkdir(parents=True, exist_ok=True)
    return path


class Catalog:
    """Collections and manifests; safe to share between threads."""

    def __init__(self, path: Path | None = None):
        self.db = SQLiteStore(path or knowledge_dir() / "catalog.db", MIGRATIONS, what="the collection catalog",
                              error=KnowledgeError)

    def close(self) -> None:
        self.db.close()

    # -------------------------------------------------------- collections
    def create(self, name: str, roots: list[Path | str], **settings: Any) -> Collection:
        name = name.strip()
        if not _NAME.match(name):
            raise KnowledgeError("A collection name is 1-64 letters, digits, spaces, '.', '-' or '_'.")
        if self._find(name) is not None:
            raise KnowledgeError(f"A collection called {name!r} exists already; pick another name.")
        resolved = self._check_roots(roots)
        # The index and the queries must segment Chinese the same way: pin the segmenter at creation so
        # a later change of the default does not silently mismatch an existing index.
        settings.setdefault("segmenter", DEFAULT_SEGMENTER)
        _check_settings(settings)
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO collections(name, roots, settings, created_at) VALUES (?, ?, ?, ?)",
                (name, json.dumps([str(r) for r in resolved]), json.dumps(settings), time.time()),
            )
        return self.get(name)

    @staticmethod
    def _check_roots(roots: list[Path | str]) -> list[Path]:
        if not roots:
            raise KnowledgeError("Give at least one folder or file for the collection.")
        resolved = []
        for root in roots:
            path = Path(root).expanduser().absolute()
            if not path.exists():
                raise KnowledgeError(f"{path} does not exist; check the path.")
            resolved.append(path)
        return resolved

    def _find(self, name: str) -> Collection | None:
        rows = self.db.query("SELECT * FROM collections WHERE name = ?", (name,))
        return _collection(rows[0]) if rows else None

    def get(self, name: str) -> Collection:
        found = self._find(name)
        if found is None:
            names = ", ".join(c.name for c in self.list()) or "none yet"
            raise CollectionNotFoundError(
                f"No collection called {name!r} (collections: {names}); create one with "
                "`nook collections create NAME FOLDER`."
            )
        return found

    def list(self) -> list[Collection]:
        return [_collection(r) for r in self.db.query("SELECT * FROM collections ORDER BY name")]

    def update(self, name: str, *, roots: list[Path | str] | None = None, **settings: Any) -> Collection:
        collection = self.get(name)
        _check_settings(settings)
        merged = {**collection.settings, **settings}
        new_roots = self._check_roots(roots) if roots is not None else collection.roots
        with self.db.transaction() as conn:
            conn.execute("UPDATE collections SET roots = ?, settings = ? WHERE id = ?",
                         (json.dumps([str(r) for r in new_roots]), json.dumps(merged), collection.id))
        return self.get(name)

    def remove(self, name: str) -> Collection:
        collection = self.get(name)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM files WHERE collection_id = ?", (collection.id,))
            conn.execute("DELETE FROM collections WHERE id = ?", (collection.id,))
        return collection

    def set_live_table(self, collection: Collection, table: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE collections SET live_table = ? WHERE id = ?", (table, collection.id))
        collection.live_table = table

    def mark_indexed(self, collection: Collection) -> None:
        with self.db.transaction() as conn:
            conn.execute("UPDATE collections SET indexed_at = ? WHERE id = ?", (time.time(), collection.id))

    # ----------------------------------------------------------- manifest
    def files(self, collection: Collection, status: str | None = None) -> dict[str, FileRecord]:
        sql = "SELECT * FROM files WHERE collection_id = ?"
        args: tuple = (collection.id,)
        if status:
            sql += " AND status = ?"
            args += (status,)
        return {r["path"]: _record(r) for r in self.db.query(sql, args)}

    def save_records(self, collection: Collection, records: list[FileRecord]) -> None:
        """Write several manifest rows in one transaction."""
        if not records:
            return
        now = time.time()
        with self.db.transaction() as conn:
            conn.executemany(
                "INSERT INTO files(collection_id, path, file_id, kind, size, mtime_ns, content_hash, embedder_id,"
                " chunk_count, status, reason, warnings, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT(collection_id, path) DO UPDATE SET file_id=excluded.file_id, kind=excluded.kind,"
                " size=excluded.size, mtime_ns=excluded.mtime_ns, content_hash=excluded.content_hash,"
                " embedder_id=excluded.embedder_id, chunk_count=excluded.chunk_count, status=excluded.status,"
                " reason=excluded.reason, warnings=excluded.warnings, updated_at=excluded.updated_at",
                [(collection.id, r.path, r.file_id, r.kind, r.size, r.mtime_ns, r.content_hash, r.embedder_id,
                  r.chunk_count, r.status, r.reason, json.dumps(r.warnings, ensure_ascii=False), now)
                 for r in records],
            )

    def delete_records(self, collection: Collection, paths: list[str]) -> None:
        if not paths:
            return
        with self.db.transaction() as conn:
            conn.executemany("DELETE FROM files WHERE collection_id = ? AND path = ?",
                             [(collection.id, p) for p in paths])

    def status_counts(self, collection: Collection) -> dict[str, int]:
        rows = self.db.query(
            "SELECT status, COUNT(*) AS n, SUM(chunk_count) AS chunks FROM files WHERE collection_id = ? GROUP BY status",
            (collection.id,),
        )
        counts = {r["status"]: r["n"] for r in rows}
        counts["chunks"] = sum(r["chunks"] or 0 for r in rows)
        return counts


def _collection(row) -> Collection:
    return Collection(id=row["id"], name=row["name"], roots=[Path(p) for p in json.loads(row["roots"])],
                      settings=json.loads(row["settings"]), created_at=row["created_at"], indexed_at=row["indexed_at"],
                      live_table=row["live_table"])


def _record(row) -> FileRecord:
    return FileRecord(path=row["path"], file_id=row["file_id"], kind=row["kind"], size=row["size"],
                      mtime_ns=row["mtime_ns"], content_hash=row["content_hash"], embedder_id=row["embedder_id"],
                      chunk_count=row["chunk_count"], status=row["status"], reason=row["reason"],
                      warnings=json.loads(row["warnings"] or "[]"))
