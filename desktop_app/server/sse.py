"""Streaming a reply as server-sent events, at the ASGI level so that the end of the response is always seen.

Starlette's ``StreamingResponse`` may never start a body iterator whose client left at once, and then
nothing runs its cleanup. ``ReplyResponse`` watches for the client leaving itself (cancelling the reply, so
the model stops after the current token) and always frees the request's place in the queue when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable

HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache"),
           (b"x-accel-buffering", b"no")]


def sse(data: dict) -> bytes:
    return b"data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"


class ReplyResponse:
    """An ASGI response that sends ``body`` (bytes chunks) as an event stream."""

    def __init__(self, body: AsyncIterator[bytes], *, on_close: Callable[[], None],
                 on_disconnect: Callable[[], None]) -> None:
        self.body = body
        self.on_close = on_close
        self.on_disconnect = on_disconnect

    async def _watch(self, receive) -> None:
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                return

    async def _send_all(self, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        async for chunk in self.body:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def __call__(self, scope, receive, send) -> None:
        sender = asyncio.create_task(self._send_all(send))
        watcher = asyncio.create_task(self._watch(receive))
        try:
            await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if not sender.done():  # the client left, maybe while still waiting for the model
                self.on_disconnect()
                sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await sender
        finally:
            for task in (sender, watcher):
                task.cancel()
            with contextlib.suppress(Exception):
                await self.body.aclose()
            self.on_close()
