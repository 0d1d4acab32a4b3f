"""The window's "Local server": ``nook serve``'s API inside the app process, on the window's own model.

One model owner: the server is given the window's host (the engine process, or the remote server the
window chats through), so the window and the API share the one model. API requests wait in the server's
line (``ModelGate``) as they do under ``nook serve``; a reply the window asks for meanwhile waits in the
engine's own queue, behind the one running. uvicorn runs in a background thread; ``stop()`` asks it to
exit (``should_exit``) and waits, so the port is free when it returns.

Qt-free: ``desktop_app.server_control`` drives it from the window. Two differences from ``nook serve``:
the served model follows what the window loads (``set_model_names``), and per-request LoRA styles are
refused, because switching them would change the window's conversation under the user's eyes.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import socket
import threading
import time
from typing import TYPE_CHECKING

from desktop_app.server.limits import DEFAULT_MAX_QUEUE, DEFAULT_MAX_TOKENS
from desktop_app.server.request_log import RequestLog
from desktop_app.server.run import ServeError, check_exposure

if TYPE_CHECKING:
    from desktop_app.server.app import ServerConfig

log = logging.getLogger(__name__)
KEYRING_SERVICE = "inglenook-server"
KEYRING_USER = "api-key"
START_TIMEOUT_S = 15.0
NO_MODEL = "no-model-loaded"


# ----------------------------------------------------------------------------- the key
def new_api_key() -> str:
    return "sk-nook-" + secrets.token_hex(20)


def stored_api_key() -> str | None:
    """The local server's key from the OS keyring, or None (none kept, or no keyring here)."""
    from engine.os_keyring import os_keyring

    keyring = os_keyring()
    if keyring is None:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
    except Exception:
        return None


def store_api_key(key: str | None) -> bool:
    """Keep ``key`` in the OS keyring (None: forget it). False when there is no keyring: the caller keeps
    the key for this session only; it is never written in plain text."""
    from engine.os_keyring import os_keyring

    keyring = os_keyring()
    if keyring is None:
        return False
    try:
        if key:
            keyring.set_password(KEYRING_SERVICE, KEYRING_USER, key)
        else:
            keyring.delete_password(KEYRING_SERVICE, KEYRING_USER)
        return True
    except Exception:
        return not key  # deleting a key that was never kept is fine


def _bind(address: str, port: int) -> socket.socket:
    """A listening socket on ``address:port``, or a ``ServeError`` that says what to do."""
    try:
        infos = socket.getaddrinfo(address.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise ServeError(f"{address} is not an address of this machine; use 127.0.0.1 (this computer only) "
                         "or 0.0.0.0 (every network).") from None
    family, kind, proto, _name, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if os.name != "nt":  # as uvicorn does: a restart may reuse the port its closed connections wait on
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(sockaddr)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServeError(f"Port {port} on {address} is already in use by another program (another "
                             "Inglenook, `nook serve`, LM Studio...). Choose another port, or stop that "
                             "program, and switch the server on again.") from None
        if exc.errno == errno.EACCES:
            raise ServeError(f"This user may not listen on port {port}; choose a port above 1023.") from None
        raise ServeError(f"Cannot listen on {address}:{port} ({exc.strerror}); use 127.0.0.1 or another "
                         "port.") from None
    return sock


class InAppServer:
    """One start/stop cycle at a time of the API on ``host`` (the window's model), recording into ``log``."""

    def __init__(self, host, store, log: RequestLog, *, max_queue: int = DEFAULT_MAX_QUEUE,
                 default_max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
        self.host = host
        self.store = store
        self.log = log
        self.max_queue = max_queue
        self.default_max_tokens = default_max_tokens
        self.model_names: list[str] = [NO_MODEL]
        self.address: str | None = None
        self.port: int | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._config: ServerConfig | None = None
        self._embedder = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and bool(self._server and self._server.started)

    @property
    def url(self) -> str | None:
        """The base URL clients use (``http://host:port/v1``), while running."""
        if self.address is None or self.port is None:
            return None
        shown = f"[{self.address}]" if ":" in self.address else self.address
        return f"http://{shown}:{self.port}/v1"

    def set_model_names(self, names: list[str]) -> None:
        """The name the API reports first, then aliases; follows the model the window loads."""
        self.model_names[:] = list(dict.fromkeys(n for n in names if n)) or [NO_MODEL]

    def start(self, address: str, port: int, api_key: str | None, library) -> str:
        """Listen and serve; returns the base URL once uvicorn answers. ``ServeError`` says why it cannot."""
        import uvicorn  # the web stack loads when the server first starts, not with the window

        from desktop_app.server.app import ServerConfig, create_app
        from desktop_app.server.window_service import WindowReplyService

        check_exposure(address, api_key)
        if not 0 <= port <= 65535:
            raise ServeError("The port must be between 1 and 65535 (8080 is usual).")
        with self._lock:
            self.stop()
            sock = _bind(address, port)
            self.address, self.port = address, sock.getsockname()[1]
            self._config = ServerConfig(
                model_names=self.model_names, embedding_names=self._embedding_names(), embedder=self._get_embedder,
                api_key=api_key or None, max_queue=self.max_queue, default_max_tokens=self.default_max_tokens,
                ready=self._ready)
            service = WindowReplyService(self.host, self.store, library, max_queue=self.max_queue)
            app = create_app(service, self._config, self.log)
            server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                                   timeout_graceful_shutdown=3))
            thread = threading.Thread(target=self._serve, args=(server, sock), name="inglenook-api", daemon=True)
            self._server, self._thread = server, thread
            thread.start()
            deadline = time.monotonic() + START_TIMEOUT_S
            while not server.started and thread.is_alive() and time.monotonic() < deadline:
                time.sleep(0.02)
            if not server.started:
                self.stop()
                raise ServeError("The server did not start; see the log for why, then switch it on again.")
            return self.url

    @staticmethod
    def _serve(server, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        except BaseException:  # noqa: BLE001 - uvicorn exits with SystemExit on startup failures
            log.exception("the local server stopped with an error")
        finally:
            sock.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to finish (replies in flight get a few seconds) and wait; the port is then free."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.should_exit = True
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                server.force_exit = True
                thread.join(timeout)

    # ------------------------------------------------------------------ what it serves
    def _ready(self) -> None:
        from desktop_app.server.errors import ApiError

        if self.host.loaded is None:
            raise ApiError(503, "No model is loaded in the Inglenook window; load one there and try again.",
                           type="server_error", code="model_not_loaded")

    @staticmethod
    def _embedding_names() -> list[str]:
        from knowledge.embeddings import DEFAULT_EMBEDDER

        return [DEFAULT_EMBEDDER]

    def _get_embedder(self):
        """The collection embedder, loaded on the first embeddings request."""
        if self._embedder is None:
            from knowledge.embeddings import get_embedder

            self._embedder = get_embedder()
        return self._embedder
