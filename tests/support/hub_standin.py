"""``HubStandIn``: a STAND-IN for the Hugging Face Hub, for tests only.

The real Hub cannot be reached from the test machines, so this is a real HTTP server
(``http.server.ThreadingHTTPServer`` on 127.0.0.1, a free port) that answers the same URLs the
real ``huggingface_hub`` client and ``engine.models.hub`` use, with the same headers:

* ``GET /api/models/{repo}/tree/{rev}[/{path}]`` (``recursive``, ``expand``, and ``Link: rel="next"``
  pagination with a ``cursor``) - what ``HfApi.list_repo_tree`` calls;
* ``GET /api/models/{repo}`` and ``/api/models/{repo}/revision/{rev}`` (``blobs=true`` adds sizes
  and LFS hashes to ``siblings``) - what ``HfApi.model_info`` calls;
* ``HEAD``/``GET /{repo}/resolve/{rev}/{filename}``: for an LFS file a 302 to a "CDN" URL
  (``/_cdn/{sha256}``, on ``cdn_host``) carrying ``X-Repo-Commit``, ``ETag``, ``X-Linked-Etag`` and
  ``X-Linked-Size``, as the real Hub does; small (non-LFS) files are served directly;
* byte ranges (``Range: bytes=N-`` -> 206 with ``Content-Range``; 416 past the end);
* errors with the ``X-Error-Code`` / ``X-Error-Message`` headers huggingface_hub maps to its
  exceptions: ``RepoNotFound``, ``RevisionNotFound``, ``EntryNotFound``, ``GatedRepo``.

The files it serves are real files on disk registered with :meth:`HubStandIn.add_file`. Knobs
for failure tests are plain attributes (see ``__init__``), and every request is recorded in
:attr:`HubStandIn.requests`.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

_SEND_CHUNK = 256 * 1024


@dataclass(frozen=True)
class ServedFile:
    """One file of a stand-in repository."""

    path: Path
    size: int
    sha256: str
    lfs: bool

    @property
    def git_oid(self) -> str:
        """The git blob id the Hub reports as ``oid``: of the LFS pointer for LFS files."""
        content = self.pointer.encode() if self.lfs else self.path.read_bytes()
        return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()

    @property
    def pointer(self) -> str:
        return f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {self.size}\n"


@dataclass(frozen=True)
class RecordedRequest:
    """What one request to the stand-in asked for."""

    method: str
    path: str
    host: str
    range: str | None
    authorization: str | None
    status: int


@lru_cache(maxsize=64)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


class HubStandIn:
    """A STAND-IN for the Hugging Face Hub (see the module docstring). Use as a context manager::

    with HubStandIn() as hub:
        hub.add_file("org/model-GGUF", "model.Q4_0.gguf", path)
        HubClient(endpoint=hub.endpoint).download(...)
    """

    COMMIT = "1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a"

    def __init__(self) -> None:
        self._repos: dict[str, dict[str, ServedFile]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[RecordedRequest] = []

        # ---- knobs for failure tests ----
        #: cut the connection after this many body bytes, on the next ``drops_left`` file GETs
        self.drop_after: int | None = None
        self.drops_left: int = 0
        #: answer every GET with the whole file (200), whatever Range says
        self.ignore_range = False
        #: serve the file with one byte changed (the advertised SHA-256 stays the true one)
        self.corrupt = False
        #: when set, file and API requests need ``Authorization: Bearer <token>`` (401 without, 403 wrong)
        self.required_token: str | None = None
        #: announce no size (no X-Linked-Size / Content-Length; chunked transfer)
        self.hide_size = False
        #: seconds to sleep after each 256 KiB sent (a slow line)
        self.delay_per_chunk = 0.0
        #: the status for an unknown repository (the real Hub answers 401 to anonymous callers)
        self.missing_repo_status = 404
        #: entries per page of the tree API before a ``Link: rel="next"`` is sent
        self.tree_page_size = 1000
        #: host name in the LFS redirect; "localhost" makes the "CDN" another origin than the API
        self.cdn_host = "127.0.0.1"

    # ------------------------------------------------------------------ setup

    def add_file(self, repo_id: str, filename: str, path: Path, *, lfs: bool = True) -> ServedFile:
        """Serve the real file ``path`` as ``filename`` in ``repo_id`` (as an LFS file unless told)."""
        path = Path(path)
        stat = path.stat()
        served = ServedFile(path, stat.st_size, _sha256_of(str(path), stat.st_size, stat.st_mtime_ns), lfs)
        with self._lock:
            self._repos.setdefault(repo_id, {})[filename] = served
        return served

    def add_repo(self, repo_id: str) -> None:
        """An empty repository."""
        with self._lock:
            self._repos.setdefault(repo_id, {})

    def start(self) -> HubStandIn:
        standin = self

        class Handler(_Handler):
            hub = standin

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="hub-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> HubStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "HubStandIn is not started"
        return self._server.server_address[1]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ inspection

    def file_gets(self) -> list[RecordedRequest]:
        """GETs that were answered with file bytes (200/206), in order."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.method == "GET" and r.status in (200, 206) and not r.path.startswith("/api/")
            ]

    def count(self, method: str, path_part: str = "") -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.method == method and path_part in r.path)

    # ------------------------------------------------------------------ lookups used by the handler

    def _repo(self, repo_id: str) -> dict[str, ServedFile] | None:
        with self._lock:
            files = self._repos.get(repo_id)
            return dict(files) if files is not None else None

    def _split_repo(self, rest: str) -> tuple[str, str]:
        """``owner/name/more`` -> (``owner/name``, ``/more``), preferring registered repo ids."""
        with self._lock:
            known = sorted(self._repos, key=len, reverse=True)
        for repo_id in known:
            if rest == repo_id or rest.startswith(repo_id + "/"):
                return repo_id, rest[len(repo_id) :]
        parts = rest.split("/")
        return "/".join(parts[:2]), ("/" + "/".join(parts[2:]) if len(parts) > 2 else "")

    def _by_sha(self, sha256: str) -> ServedFile | None:
        with self._lock:
            for files in self._repos.values():
                for served in files.values():
                    if served.sha256 == sha256:
                        return served
        return None

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001
        pass  # a client hanging up mid-transfer (cancel tests) is expected, not an error


class _Handler(BaseHTTPRequestHandler):
    hub: HubStandIn
    protocol_version = "HTTP/1.1"
    server_version = "HubStandIn/1.0"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    # ------------------------------------------------------------------ plumbing

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch(head=True)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch(head=False)

    def _dispatch(self, head: bool) -> None:
        self._head = head
        self._recorded = False
        split = urlsplit(self.path)
        path = unquote(split.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        try:
            if path.startswith("/api/models/"):
                self._api(path[len("/api/models/") :], query, head)
            elif path.startswith("/_cdn/"):
                self._cdn(path[len("/_cdn/") :], head)
            else:
                self._resolve(path, head)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            if not self._recorded:
                self._record(0)

    def send_response(self, code: int, message: str | None = None) -> None:
        # Recorded before the answer leaves, so a test that has its answer also sees the record.
        self._record(code)
        super().send_response(code, message)

    def _record(self, status: int) -> None:
        self._recorded = True
        self.hub._record(
            RecordedRequest(
                method="HEAD" if self._head else "GET",
                path=self.path,
                host=self.headers.get("Host", ""),
                range=self.headers.get("Range"),
                authorization=self.headers.get("Authorization"),
                status=status,
            )
        )

    def _send(self, status: int, headers: dict[str, str], body: bytes = b"", head: bool = False) -> None:
        self.send_response(status)
        headers = {"Content-Length": str(len(body)), **headers}
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if body and not head:
            self.wfile.write(body)

    def _json(self, status: int, payload: object, head: bool, extra: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self._send(status, {"Content-Type": "application/json; charset=utf-8", **(extra or {})}, body, head)

    def _error(self, status: int, code: str | None, message: str, head: bool) -> None:
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self._json(status, {"error": message}, head, headers)

    def _authorized(self, repo_id: str, head: bool) -> bool:
        token = self.hub.required_token
        if token is None:
            return True
        given = self.headers.get("Authorization")
        if given is None:
            self._error(
                401,
                "GatedRepo",
                f"Access to model {repo_id} is restricted. You must have access to it and be "
                "authenticated to access it. Please log in.",
                head,
            )
            return False
        if given != f"Bearer {token}":
            self._error(
                403,
                "GatedRepo",
                f"Access to model {repo_id} is restricted and you are not in the authorized list.",
                head,
            )
            return False
        return True

    def _repo_or_error(self, repo_id: str, head: bool) -> dict[str, ServedFile] | None:
        if not self._authorized(repo_id, head):
            return None
        files = self.hub._repo(repo_id)
        if files is None:
            self._error(self.hub.missing_repo_status, "RepoNotFound", "Repository not found", head)
        return files

    def _revision_ok(self, revision: str, head: bool) -> bool:
        if revision in ("main", HubStandIn.COMMIT):
            return True
        self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}", head)
        return False

    # ------------------------------------------------------------------ API

    def _api(self, rest: str, query: dict[str, str], head: bool) -> None:
        repo_id, tail = self.hub._split_repo(rest)
        files = self._repo_or_error(repo_id, head)
        if files is None:
            return
        if tail == "":
            self._model_info(repo_id, files, "main", query, head)
            return
        match = re.fullmatch(r"/revision/([^/]+)", tail)
        if match:
            if self._revision_ok(match.group(1), head):
                self._model_info(repo_id, files, match.group(1), query, head)
            return
        match = re.fullmatch(r"/tree/([^/]+)(/.*)?", tail)
        if match:
            if self._revision_ok(match.group(1), head):
                self._tree(repo_id, files, match.group(1), (match.group(2) or "").strip("/"), query, head)
            return
        self._error(404, None, "Sorry, we can't find the page you are looking for.", head)

    def _model_info(
        self, repo_id: str, files: dict[str, ServedFile], revision: str, query: dict[str, str], head: bool
    ) -> None:
        with_blobs = query.get("blobs", "").lower() == "true"
        siblings = []
        for name in sorted(files):
            entry: dict[str, object] = {"rfilename": name}
            if with_blobs:
                served = files[name]
                entry.update(size=served.size, blobId=served.git_oid)
                if served.lfs:
                    entry["lfs"] = {
                        "sha256": served.sha256,
                        "size": served.size,
                        "pointerSize": len(served.pointer),
                    }
            siblings.append(entry)
        owner = repo_id.split("/")[0] if "/" in repo_id else None
        info = {
            "_id": hashlib.md5(repo_id.encode()).hexdigest()[:24],
            "id": repo_id,
            "modelId": repo_id,
            "author": owner,
            "sha": HubStandIn.COMMIT,
            "lastModified": "2025-01-01T00:00:00.000Z",
            "createdAt": "2025-01-01T00:00:00.000Z",
            "private": False,
            "gated": False if self.hub.required_token is None else "auto",
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": ["gguf"],
            "siblings": siblings,
        }
        self._json(200, info, head)

    def _tree(
        self,
        repo_id: str,
        files: dict[str, ServedFile],
        revision: str,
        folder: str,
        query: dict[str, str],
        head: bool,
    ) -> None:
        recursive = query.get("recursive", "").lower() == "true"
        prefix = folder + "/" if folder else ""
        if folder and not any(name.startswith(prefix) for name in files):
            self._error(404, "EntryNotFound", f'{folder} does not exist on "{revision}"', head)
            return
        entries: dict[str, dict[str, object]] = {}
        for name in sorted(files):
            if not name.startswith(prefix):
                continue
            below = name[len(prefix) :].split("/")
            # every folder between ``folder`` and the file (only the first level unless recursive)
            for depth in range(1, len(below)):
                if depth > 1 and not recursive:
                    break
                sub = prefix + "/".join(below[:depth])
                entries.setdefault(
                    sub,
                    {
                        "type": "directory",
                        "oid": hashlib.sha1(sub.encode()).hexdigest(),
                        "size": 0,
                        "path": sub,
                    },
                )
            if len(below) > 1 and not recursive:
                continue
            served = files[name]
            entry: dict[str, object] = {
                "type": "file",
                "oid": served.git_oid,
                "size": served.size,
                "path": name,
            }
            if served.lfs:
                entry["lfs"] = {"oid": served.sha256, "size": served.size, "pointerSize": len(served.pointer)}
            entries[name] = entry
        ordered = [entries[k] for k in sorted(entries)]
        start = int(query.get("cursor", "0") or 0)
        page = ordered[start : start + self.hub.tree_page_size]
        extra = {}
        if start + self.hub.tree_page_size < len(ordered):
            params = {k: v for k, v in query.items() if k != "cursor"}
            params["cursor"] = str(start + self.hub.tree_page_size)
            path = f"/api/models/{repo_id}/tree/{quote(revision, safe='')}" + (
                f"/{quote(folder)}" if folder else ""
            )
            extra["Link"] = f'<{self.hub.endpoint}{path}?{urlencode(params)}>; rel="next"'
        self._json(200, page, head, extra)

    # ------------------------------------------------------------------ files

    def _resolve(self, path: str, head: bool) -> None:
        match = re.fullmatch(r"/(.+?)/resolve/([^/]+)/(.+)", path)
        if not match:
            self._error(404, None, "Sorry, we can't find the page you are looking for.", head)
            return
        repo_id, tail = self.hub._split_repo(path[1:])
        match = re.fullmatch(r"/resolve/([^/]+)/(.+)", tail)
        if not match:
            self._error(404, None, "Sorry, we can't find the page you are looking for.", head)
            return
        revision, filename = match.group(1), match.group(2)
        files = self._repo_or_error(repo_id, head)
        if files is None or not self._revision_ok(revision, head):
            return
        served = files.get(filename)
        if served is None:
            self._error(404, "EntryNotFound", "Entry not found", head)
            return
        common = {"X-Repo-Commit": HubStandIn.COMMIT, "Accept-Ranges": "bytes"}
        if served.lfs:
            common.update({"ETag": f'"{served.sha256}"', "X-Linked-Etag": f'"{served.sha256}"'})
            if not self.hub.hide_size:
                common["X-Linked-Size"] = str(served.size)
            location = f"http://{self.hub.cdn_host}:{self.hub.port}/_cdn/{served.sha256}"
            self.send_response(302)
            for key, value in {**common, "Location": location}.items():
                self.send_header(key, value)
            if self.hub.hide_size:
                self.send_header("Connection", "close")
                self.close_connection = True
            else:
                self.send_header("Content-Length", "0")
            self.end_headers()
            return
        common["ETag"] = f'"{served.git_oid}"'
        self._serve_bytes(served, head, common)

    def _cdn(self, sha256: str, head: bool) -> None:
        served = self.hub._by_sha(sha256)
        if served is None:
            self._error(404, None, "NoSuchKey", head)
            return
        self._serve_bytes(served, head, {"ETag": f'"{served.sha256}"', "Accept-Ranges": "bytes"})

    def _serve_bytes(self, served: ServedFile, head: bool, headers: dict[str, str]) -> None:
        size = served.size
        start, end = 0, size - 1
        status = 200
        wanted = self.headers.get("Range")
        match = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted or "")
        if match and not self.hub.ignore_range:
            start = int(match.group(1))
            if match.group(2):
                end = min(int(match.group(2)), size - 1)
            if start >= size:
                self._send(416, {"Content-Range": f"bytes */{size}"}, b"", head)
                return
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = end - start + 1
        self.send_response(status)
        for key, value in {"Content-Type": "application/octet-stream", **headers}.items():
            self.send_header(key, value)
        chunked = self.hub.hide_size
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        if head:
            return

        limit = length
        with self.hub._lock:
            if self.hub.drop_after is not None and self.hub.drops_left > 0:
                self.hub.drops_left -= 1
                limit = min(length, self.hub.drop_after)
        corrupt_at = size // 2 if self.hub.corrupt else -1
        sent = 0
        with open(served.path, "rb") as fh:
            fh.seek(start)
            while sent < limit:
                chunk = fh.read(min(_SEND_CHUNK, limit - sent))
                if not chunk:
                    break
                position = start + sent
                if position <= corrupt_at < position + len(chunk):
                    flipped = bytearray(chunk)
                    flipped[corrupt_at - position] ^= 0xFF
                    chunk = bytes(flipped)
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                else:
                    self.wfile.write(chunk)
                sent += len(chunk)
                if self.hub.delay_per_chunk:
                    time.sleep(self.hub.delay_per_chunk)
        if sent < length:
            self._cut()
            return
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _cut(self) -> None:
        """Drop the connection abruptly, mid-body."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
