"""The model registry: bundled models, GGUF files added from disk, and Hub downloads.

Entries live in the settings database; the files stay where they are (added files) or under
``<data dir>/models`` (downloads). Every GGUF is checked with ``engine.models.gguf`` when it is added,
so a broken file is refused at the door with a reason.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.appdb import open_app_db
from engine.errors import InglenookError, ModelError, ModelNotFoundError
from engine.models.bundled import DEFAULT_CHAT_MODEL, find_bundled, installed_bundled
from engine.models.gguf import read_gguf
from engine.models.remotes import PREFIX, RemoteServer, RemoteServers
from engine.paths import models_dir
from engine.store import SQLiteStore

SETTING_KEYS = {"n_ctx", "n_threads", "n_gpu_layers", "chat_template", "n_batch", "use_mmap"}


@dataclass
class ModelEntry:
    name: str
    path: Path
    kind: str = "chat"
    source: str = "local"  # "bundled", "local" or "hub"
    repo_id: str | None = None
    filename: str | None = None
    sha256: str | None = None
    size: int = 0
    added_at: float = 0.0
    settings: dict[str, Any] = field(default_factory=dict)
    title: str = ""
    url: str | None = None  # a remote server's base URL [#model] (source "remote"); ``path`` is then unused

    @property
    def is_remote(self) -> bool:
        return self.source == "remote"

    @property
    def location(self) -> str:
        """Where the model is: its file, or its server's URL."""
        return self.url if self.url else str(self.path)

    @property
    def target(self) -> str:
        """What a runtime loads: the file path, or ``remote:<URL>`` for a remote server."""
        return PREFIX + self.url if self.url else str(self.path)

    def as_dict(self) -> dict:
        data = {"name": self.name, "path": str(self.path), "kind": self.kind, "source": self.source,
                "repo_id": self.repo_id, "filename": self.filename, "sha256": self.sha256, "size": self.size,
                "settings": self.settings, "title": self.title or self.name}
        if self.url:
            data["url"] = self.url
            del data["path"]
        return data


def remote_entry(server: RemoteServer) -> ModelEntry:
    return ModelEntry(name=server.name, path=Path(server.name), kind="chat", source="remote",
                      added_at=server.added_at, url=server.url)


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-.")
    return slug[:64] or "model"


class ModelRegistry:
    def __init__(self, db: SQLiteStore | None = None):
        self.db = db or open_app_db()
        self.remotes = RemoteServers(self.db)

    # --------------------------------------------------------------- read
    def list(self, kind: str | None = "chat") -> list[ModelEntry]:
        """Bundled models first, then the user's, newest last, then remote servers."""
        entries = [self._bundled_entry(b.spec.name) for b in installed_bundled(kind)]
        sql = "SELECT * FROM models WHERE " + ("kind = ?" if kind else "kind != 'override'") + " ORDER BY added_at"
        entries += [self._row(r) for r in self.db.query(sql, (kind,) if kind else ())]
        if kind in (None, "chat"):
            entries += [remote_entry(s) for s in self.remotes.list()]
        return entries

    def add_remote(self, name: str, url: str) -> ModelEntry:
        """Keep an OpenAI-compatible server as a model (its key goes to the OS keyring elsewhere, not here)."""
        taken = {e.name for e in self.list(None)}
        return remote_entry(self.remotes.add(name, url, taken))

    def get(self, name_or_path: str | Path) -> ModelEntry:
        """A registered model by name, a bundled model, or any GGUF path (used ad hoc)."""
        text = str(name_or_path)
        rows = self.db.query("SELECT * FROM models WHERE name = ?", (text,))
        if rows:
            return self._row(rows[0])
        server = self.remotes.find(text)
        if server is not None:
            return remote_entry(server)
        try:
            return self._bundled_entry(text)
        except ModelNotFoundError as exc:
            bundled_error = exc
        path = Path(text).expanduser()
        if path.suffix.lower() == ".gguf" or path.exists() or "/" in text:
            if not path.exists():
                raise ModelNotFoundError(f"{path} does not exist; check the path or `nook models list`.")
            read_gguf(path)
            return ModelEntry(name=path.stem, path=path.resolve(), source="local", size=path.stat().st_size)
        if "not installed" in str(bundled_error):
            raise bundled_error
        names = ", ".join(e.name for e in self.list(None)) or "none"
        raise ModelNotFoundError(f"No model called {text!r}; known models: {names}. Add one with `nook models add PATH`.")

    def default_chat_model(self, preferred: str | None = None) -> ModelEntry:
        return self.get(preferred or DEFAULT_CHAT_MODEL)

    def _bundled_entry(self, name: str) -> ModelEntry:
        bundled = find_bundled(name)
        overrides = self.db.query("SELECT settings FROM models WHERE name = ?", ("bundled:" + name,))
        settings = json.loads(overrides[0]["settings"]) if overrides else {}
        return ModelEntry(name=name, path=bundled.path, kind=bundled.spec.kind, source="bundled",
                          sha256=bundled.sha256, size=bundled.size, settings=settings, title=bundled.spec.title)

    @staticmethod
    def _row(row) -> ModelEntry:
        return ModelEntry(name=row["name"], path=Path(row["path"]), kind=row["kind"], source=row["source"],
                          repo_id=row["repo_id"], filename=row["filename"], sha256=row["sha256"],
                          size=row["size"] or 0, added_at=row["added_at"], settings=json.loads(row["settings"]))

    # -------------------------------------------------------------- write
    def add(self, path: str | Path, name: str | None = None, *, kind: str = "chat", source: str = "local",
            repo_id: str | None = None, filename: str | None = None, sha256: str | None = None) -> ModelEntry:
        """Register a GGUF after checking it. The file is used in place, not copied.

        Adding a file that once crashed llama.cpp (``engine.models.crashed``) lets it be tried again.
        """
        from engine.models.crashed import forget_crash

        path = Path(path).expanduser().resolve()
        info = read_gguf(path)
        forget_crash(path)
        if kind == "chat" and info.is_lora_adapter:
            raise ModelError(f"{path} is a LoRA adapter, not a model; add it with `nook lora add`.")
        name = slugify(name or info.name or path.stem)
        if name in {e.name for e in self.list(None)}:
            raise ModelError(f"A model called {name!r} exists already; choose another name with --name.")
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO models(name, path, kind, source, repo_id, filename, sha256, size, added_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, str(path), kind, source, repo_id, filename, sha256, path.stat().st_size, time.time()),
            )
        return self.get(name)

    def remove(self, name: str, *, delete_file: bool = False) -> ModelEntry:
        entry = self.get(name)
        if entry.is_remote:
            self.remotes.remove(name)
            return entry
        if entry.source == "bundled":
            raise ModelError(f"{name} is bundled with Inglenook and cannot be removed; uninstall its package instead.")
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM models WHERE name = ?", (name,))
        if delete_file and entry.source == "hub" and entry.path.is_file():
            entry.path.unlink()
        return entry

    def update_settings(self, name: str, **settings: Any) -> ModelEntry:
        unknown = set(settings) - SETTING_KEYS
        if unknown:
            raise InglenookError(f"Unknown model setting(s) {', '.join(sorted(unknown))}; valid: {', '.join(sorted(SETTING_KEYS))}.")
        entry = self.get(name)
        if entry.is_remote:
            raise ModelError(f"{name} is a remote server: its settings are the server's own.")
        merged = {**entry.settings, **{k: v for k, v in settings.items() if v is not None}}
        key = "bundled:" + name if entry.source == "bundled" else name
        with self.db.transaction() as conn:
            if entry.source == "bundled":
                conn.execute(
                    "INSERT INTO models(name, path, kind, source, added_at, settings) VALUES (?, ?, ?, 'override', ?, ?)"
                    " ON CONFLICT(name) DO UPDATE SET settings = excluded.settings",
                    (key, str(entry.path), "override", time.time(), json.dumps(merged)),
                )
            else:
                conn.execute("UPDATE models SET settings = ? WHERE name = ?", (json.dumps(merged), key))
        return self.get(name)

    # ----------------------------------------------------------- download
    def download(self, repo_id: str, filename: str, *, endpoint: str | None = None, name: str | None = None,
                 progress: Callable | None = None, cancel: threading.Event | None = None,
                 token: str | None = None) -> ModelEntry:
        """Download a GGUF from the Hub (or a mirror), verify it, and register it."""
        from engine.models.hub import HubClient

        dest = models_dir() / repo_id.replace("/", "__")
        client = HubClient(endpoint=endpoint, token=token)
        path = client.download(repo_id, filename, dest, progress=progress, cancel=cancel)
        from engine.models.bundled import sha256_file

        existing = self.db.query("SELECT name FROM models WHERE path = ?", (str(path.resolve()),))
        if existing:
            return self.get(existing[0]["name"])
        return self.add(path, name=name or Path(filename).stem, source="hub", repo_id=repo_id,
                        filename=filename, sha256=sha256_file(path))
