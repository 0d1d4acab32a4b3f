"""Replies on the one model: a queue in front of it, the extensions (LoRA styles, collections), and events
carried from the engine's stream to the event loop.

One reply runs at a time (the model has one context, and LoRA styles are switched per request); the others
wait in line. When ``max_queue`` requests are already waiting, a new one is refused at once with 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from desktop_app.server.errors import ApiError
from desktop_app.server.schemas import ChatRequest, ReplyRequest
from desktop_app.server.tools import with_tools
from engine.errors import InglenookError
from engine.events import Event, Finished
from engine.host import ReplyStream
from engine.lora.adapters import LoraRegistry, ResolvedAdapter


class ModelGate:
    """First come, first served on the model; at most ``max_queue`` waiting besides the one running."""

    def __init__(self, max_queue: int) -> None:
        self.max_queue = max_queue
        self._lock = asyncio.Lock()
        self._held = 0  # requests admitted: the running one and those waiting

    def admit(self) -> Ticket:
        """A place in the line, or 503 when the line is full. Release the ticket whatever happens."""
        if self._held > self.max_queue:
            raise ApiError(503, f"The server is busy: {self._held} requests are running or waiting for the one "
                           "model. Try again in a moment.", type="server_error", code="queue_full")
        self._held += 1
        return Ticket(self)


class Ticket:
    def __init__(self, gate: ModelGate) -> None:
        self.gate = gate
        self.holding = False
        self.released = False

    async def turn(self) -> None:
        """Wait until the model is free for this request."""
        await self.gate._lock.acquire()
        self.holding = True

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        self.gate._held -= 1
        if self.holding:
            self.holding = False
            self.gate._lock.release()


@dataclass
class Prepared:
    """What the model is asked: the messages (after tools and documents) and the extension results."""

    messages: list[dict]
    sources: list[dict] | None = None
    fixed_reply: str | None = None  # strict mode found nothing: the answer is known without the model
    lora: list[dict] = field(default_factory=list)


class ReplyService:
    """Runs prepared requests on the host: adapters switched, documents retrieved, the reply streamed."""

    def __init__(self, host, store, library, *, max_queue: int) -> None:
        self.host = host
        self.store = store
        self.library = library
        self.gate = ModelGate(max_queue)
        self._adapters_on: list[ResolvedAdapter] = []

    def resolve_lora(self, request: ReplyRequest) -> list[ResolvedAdapter]:
        """The adapters a request names (404 for an unknown one), before it waits for the model."""
        if not request.lora:
            return []
        return LoraRegistry(self.store.db).resolve(request.lora, remembered=False)

    def check_collections(self, request: ChatRequest) -> None:
        if request.collections:
            self.library.require(request.collections)  # CollectionNotFoundError: 404 with the list

    async def switch_adapters(self, adapters: list[ResolvedAdapter]) -> None:
        """Put on exactly the request's adapters (none: the base model); skipped when they already are."""
        wanted = [(str(a.path), a.scale) for a in adapters]
        if wanted == [(str(a.path), a.scale) for a in self._adapters_on]:
            return
        future = self.host.adapters.apply(adapters)
        await asyncio.wrap_future(future)
        self._adapters_on = list(adapters)

    async def prepare_chat(self, request: ChatRequest) -> Prepared:
        messages = with_tools(request.messages, request.tools, request.tool_choice)
        lora = [c.as_dict() for c in request.lora]
        if not request.collections:
            return Prepared(messages, lora=lora)
        augmentation = await asyncio.to_thread(self._augment, request, messages)
        return Prepared(augmentation.messages, augmentation.extra.get("sources", []), augmentation.reply, lora)

    def _augment(self, request: ChatRequest, messages: list[dict]):
        from knowledge.answer import DocumentAugmenter

        loaded = self.host.loaded
        n_ctx = loaded.n_ctx if loaded else 4096
        augmenter = DocumentAugmenter(
            self.library.retriever(), request.collections, strict=request.strict, k=request.k,
            count_tokens=self.host.count_tokens, n_ctx=n_ctx,
            answer_reserve=min(request.params.max_tokens, n_ctx // 4))
        return augmenter(messages)


async def events_of(stream: ReplyStream) -> AsyncIterator[Event]:
    """The stream's events on the event loop; leaving early (a client gone) cancels the reply.

    The engine's reader thread hands each event straight to the loop (``ReplyStream.deliver_to``): no
    thread of our own per reply, one wake-up less per token.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    def deliver(item) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop closed (server shutting down)
            pass

    stream.deliver_to(deliver)
    finished = False
    try:
        while True:
            item = await queue.get()
            if item is ReplyStream.END:
                return
            if isinstance(item, Finished):
                finished = True
            yield item
    finally:
        if not finished:
            stream.cancel()


def reply_error(finished: Finished) -> ApiError:
    """A reply that ended in an error, as the API error to answer with."""
    message = finished.error or "The model failed while replying."
    if "tokens but the context holds" in message:
        return ApiError(400, message, param="messages", code="context_length_exceeded")
    if finished.extra.get("engine_crashed"):
        return ApiError(503, message, type="server_error", code="engine_crashed")
    return ApiError(500, message, type="server_error", code="generation_failed")


async def watch_disconnect(receive, stream: ReplyStream) -> None:
    """Cancel ``stream`` when the client goes away (for whole replies; streamed ones end with the response)."""
    while True:
        message = await receive()
        if message.get("type") == "http.disconnect":
            stream.cancel()
            return


def api_error(exc: InglenookError) -> ApiError:
    from desktop_app.server.errors import from_inglenook

    return from_inglenook(exc)
