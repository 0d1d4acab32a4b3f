"""Remote servers kept as models: a name and the base URL of an OpenAI-compatible server.

Only the name and the URL are stored (in the app database); the server's API key is kept in the OS
keyring by ``engine.runtimes.remote`` and never written here. The URL may end in ``#<model>`` to pick
one of the server's models; without it the server's first listed model is used.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from engine.errors import ModelError, ModelNotFoundError
from engine.store import SQLiteStore

PREFIX = "remote:"  # the runtime's target prefix (engine.runtimes.remote.PREFIX)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class RemoteServer:
    name: str
    url: str  # base URL, optionally with #<model>
    added_at: float = 0.0

    @property
    def base_url(self) -> str:
        return self.url.partition("#")[0].rstrip("/")

    @property
    def model(self) -> str | None:
        return self.url.partition("#")[2] or None

    @property
    def target(self) -> str:
        """What the remote runtime loads: ``remote:<base URL>[#<model>]``."""
        return PREFIX + self.url


def check_url(url: str) -> str:
    """The URL cleaned up (no trailing slash before ``#``), or a ``ModelError`` saying what a URL looks like."""
    url = url.strip()
    if url.startswith(PREFIX):
        url = url[len(PREFIX):]
    base, hash_, model = url.partition("#")
    base = base.rstrip("/")
    if not re.match(r"^https?://[^/\s]+", base) or any(c.isspace() for c in url):
        raise ModelError(f"{url!r} is not a server address; write its base URL, e.g. http://127.0.0.1:8080/v1 "
                         "(optionally #<model> to choose one of its models).")
    return base + (hash_ + model if model else "")


class RemoteServers:
    """The remote servers in the app database (thread-safe like the ``SQLiteStore`` under it)."""

    def __init__(self, db: SQLiteStore) -> None:
        self.db = db

    def list(self) -> list[RemoteServer]:
        rows = self.db.query("SELECT * FROM remote_servers ORDER BY added_at")
        return [RemoteServer(r["name"], r["url"], r["added_at"]) for r in rows]

    def find(self, name: str) -> RemoteServer | None:
        rows = self.db.query("SELECT * FROM remote_servers WHERE name = ?", (name,))
        return RemoteServer(rows[0]["name"], rows[0]["url"], rows[0]["added_at"]) if rows else None

    def get(self, name: str) -> RemoteServer:
        server = self.find(name)
        if server is None:
            names = ", ".join(s.name for s in self.list()) or "none"
            raise ModelNotFoundError(f"No remote server called {name!r}; known servers: {names}. "
                                     "Add one with `nook models add-remote NAME URL`.")
        return server

    def add(self, name: str, url: str, taken: set[str] | frozenset[str] = frozenset()) -> RemoteServer:
        """Keep a server under ``name``; ``taken``: model names already in use (a name means one model)."""
        name = name.strip()
        if not _NAME.match(name):
            raise ModelError(f"{name!r} cannot be a name: use up to 64 letters, digits, '.', '_' or '-', "
                             "starting with a letter or digit.")
        if name in taken or self.find(name) is not None:
            raise ModelError(f"A model called {name!r} exists already; choose another name.")
        server = RemoteServer(name, check_url(url), time.time())
        with self.db.transaction() as conn:
            conn.execute("INSERT INTO remote_servers(name, url, added_at) VALUES (?, ?, ?)",
                         (server.name, server.url, server.added_at))
        return server

    def remove(self, name: str) -> RemoteServer:
        server = self.get(name)
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM remote_servers WHERE name = ?", (name,))
        return server
