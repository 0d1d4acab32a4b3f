"""A bounded log of the requests a server answered, and the ASGI middleware that records into it.

Qt-free: the window reads ``RequestLog.entries()`` (newest first) and its ``version`` counter from the
GUI thread, while uvicorn's thread appends. The endpoints add what only they know (the model, the token
counts) to the request's ``LOG_KEY`` dict in the ASGI scope; the middleware fills in the rest (method,
path, status, duration) when the response has been sent completely, or the client went away.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

LOG_KEY = "inglenook.log"  # the scope key of the dict endpoints write the model and tokens into
DEFAULT_SIZE = 200


@dataclass(frozen=True)
class LoggedRequest:
    at: float  # wall-clock time the request arrived
    method: str
    path: str
    status: int  # 0: the client left before an answer was sent
    duration_ms: float
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None

    @property
    def tokens(self) -> str:
        """``prompt → completion`` tokens, or ``""`` for a request that used none."""
        if self.prompt_tokens is None and self.completion_tokens is None:
            return ""
        return f"{self.prompt_tokens or 0} → {self.completion_tokens or 0}"


class RequestLog:
    """The last ``size`` requests; thread-safe."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._items: deque[LoggedRequest] = deque(maxlen=size)
        self._lock = threading.Lock()
        self.version = 0  # bumped on every change: a reader polls it to know when to read again

    def record(self, item: LoggedRequest) -> None:
        with self._lock:
            self._items.append(item)
            self.version += 1

    def entries(self) -> list[LoggedRequest]:
        """Newest first."""
        with self._lock:
            return list(reversed(self._items))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.version += 1

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def note(scope: dict, **fields) -> None:
    """Add what an endpoint knows (``model``, ``prompt_tokens``, ``completion_tokens``) to the request's entry."""
    notes = scope.get(LOG_KEY)
    if notes is not None:
        notes.update({k: v for k, v in fields.items() if v is not None})


class LogRequests:
    """Pure ASGI middleware: one ``LoggedRequest`` per HTTP request, once its response is complete."""

    def __init__(self, app, log: RequestLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, at = time.perf_counter(), time.time()
        notes: dict = {}
        scope[LOG_KEY] = notes
        status = 0
        done = False

        def finish() -> None:
            nonlocal done
            if done:
                return
            done = True
            self.log.record(LoggedRequest(
                at=at, method=scope.get("method", ""), path=scope.get("path", ""), status=status,
                duration_ms=(time.perf_counter() - started) * 1000, model=notes.get("model"),
                prompt_tokens=notes.get("prompt_tokens"), completion_tokens=notes.get("completion_tokens")))

        async def logging_send(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                finish()

        try:
            await self.app(scope, receive, logging_send)
        finally:
            finish()  # the client left mid-reply, or the app failed before a complete response
