"""The endpoints: ``/v1/models``, ``/v1/chat/completions``, ``/v1/completions``, ``/v1/embeddings``.

Each checks its request completely before it takes a place in the model's queue, so a bad request is a 400
(or 404 for an unknown model, adapter or collection) and never a half-sent stream. A streamed reply is sent
as server-sent events; when the client goes away the reply is cancelled and the model is free again.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import time
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse

from desktop_app.server.errors import ApiError, from_inglenook, server_error
from desktop_app.server.replies import Prepared, ReplyService, events_of, reply_error, watch_disconnect
from desktop_app.server.request_log import note
from desktop_app.server.schemas import (
    ChatRequest,
    CompletionRequest,
    chat_request,
    completion_request,
    embedding_request,
    parse_json,
)
from desktop_app.server.sse import ReplyResponse, sse
from desktop_app.server.tools import read_reply
from engine.errors import InglenookError
from engine.events import Finished, TextDelta, Timings

log = logging.getLogger(__name__)
FINISH = {"stop": "stop", "length": "length", "context": "length", "cancelled": "stop"}


class Routes:
    """The endpoints of one server, bound to its model, queue and settings."""

    def __init__(self, service: ReplyService, config) -> None:
        self.service = service
        self.config = config
        self.created = int(time.time())

    # ----------------------------------------------------------------------------- helpers
    async def read_json(self, request: Request):
        limit = self.config.max_body_bytes
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise _too_large(limit)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise _too_large(limit)
        return parse_json(bytes(body))

    def check_model(self, name: str | None, embedding: bool = False) -> str:
        names = self.config.embedding_names if embedding else self.config.model_names
        if name is not None and name not in names:
            kind = "embedding model" if embedding else "model"
            raise ApiError(404, f"The {kind} {name!r} is not served here; use {names[0]!r} (GET /v1/models).",
                           param="model", code="model_not_found")
        return names[0]

    # ----------------------------------------------------------------------------- /v1/models
    async def models(self, request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [self._model(n) for n in self._listed()]})

    async def model(self, request: Request) -> JSONResponse:
        name = request.path_params["name"]
        if name not in self.config.model_names + self.config.embedding_names:
            raise ApiError(404, f"The model {name!r} does not exist here (GET /v1/models lists them).",
                           param="model", code="model_not_found")
        return JSONResponse(self._model(name))

    def _listed(self) -> list[str]:
        return [self.config.model_names[0], self.config.embedding_names[0]]

    def _model(self, name: str) -> dict:
        return {"id": name, "object": "model", "created": self.created, "owned_by": "inglenook"}

    # ----------------------------------------------------------------------------- /v1/embeddings
    async def embeddings(self, request: Request) -> JSONResponse:
        body = embedding_request(await self.read_json(request), self.config.embed_max_chars)
        model = self.check_model(body.model, embedding=True)
        embedder = self.config.embedder()
        if body.dimensions not in (None, embedder.dim):
            raise ApiError(400, f"This embedding model makes {embedder.dim}-dimensional vectors only.",
                           param="dimensions")
        vectors = await asyncio.to_thread(embedder.embed_passages, body.inputs)
        tokens = sum(embedder.count_tokens(t) for t in body.inputs)
        note(request.scope, model=model, prompt_tokens=tokens)
        data = [{"object": "embedding", "index": i,
                 "embedding": base64.b64encode(v.astype("<f4").tobytes()).decode() if body.base64 else v.tolist()}
                for i, v in enumerate(vectors)]
        return JSONResponse({"object": "list", "data": data, "model": model,
                             "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    # ----------------------------------------------------------------------------- replies
    async def chat(self, request: Request):
        req = chat_request(await self.read_json(request), self.config.default_max_tokens)
        return await self._serve(request, req, chat=True)

    async def completions(self, request: Request):
        req = completion_request(await self.read_json(request), self.config.default_max_tokens)
        return await self._serve(request, req, chat=False)

    async def _serve(self, request: Request, req, chat: bool):
        if self.config.ready is not None:
            self.config.ready()  # an ApiError when there is no model to answer with
        model = self.check_model(req.model)
        note(request.scope, model=model)
        adapters = self.service.resolve_lora(req)
        if chat:
            self.service.check_collections(req)
        ticket = self.service.gate.admit()
        reply = _Reply(self.service, req, adapters, model, chat, request.scope)
        if req.stream:
            return ReplyResponse(reply.chunks(ticket), on_close=ticket.release, on_disconnect=reply.cancel)
        try:
            watcher = asyncio.create_task(watch_disconnect(request.receive, reply))
            try:
                return JSONResponse(await reply.whole(ticket))
            finally:
                watcher.cancel()
        finally:
            ticket.release()


class _Reply:
    """One chat or completion reply: waits for the model, runs, and is shaped as OpenAI's objects."""

    def __init__(self, service: ReplyService, req: ChatRequest | CompletionRequest, adapters, model: str,
                 chat: bool, scope: dict | None = None) -> None:
        self.service = service
        self.scope = scope or {}
        self.req = req
        self.adapters = adapters
        self.model = model
        self.chat = chat
        self.id = ("chatcmpl-" if chat else "cmpl-") + secrets.token_hex(12)
        self.created = int(time.time())
        self.stream = None
        self.cancelled = False
        self.tools_on = chat and req.tool_choice not in (None, "none")

    def cancel(self) -> None:
        self.cancelled = True
        if self.stream is not None:
            self.stream.cancel()

    async def start(self, ticket) -> tuple[Prepared, AsyncIterator]:
        await ticket.turn()
        if self.cancelled:  # the client left while waiting: do not run its reply at all
            raise ApiError(499, "The client closed the request before its turn.", code="client_closed")
        prepared = await self.service.prepare_chat(self.req) if self.chat else Prepared([], lora=[
            c.as_dict() for c in self.req.lora])
        await self.service.switch_adapters(self.adapters)
        if prepared.fixed_reply is not None:
            return prepared, _fixed(prepared.fixed_reply)
        host = self.service.host
        self.stream = (host.chat(prepared.messages, self.req.params) if self.chat
                       else host.complete(self.req.prompt, self.req.params))
        if self.cancelled:
            self.stream.cancel()
        return prepared, events_of(self.stream)

    async def whole(self, ticket) -> dict:
        prepared, events = await self.start(ticket)
        parts, finished = [], None
        async for event in events:
            if isinstance(event, TextDelta):
                parts.append(event.text)
            elif isinstance(event, Finished):
                finished = event
        if finished is None or finished.reason == "error":
            raise reply_error(finished or Finished("error", _NO_TIMINGS, error="The reply ended early."))
        text = "".join(parts)
        self._note_usage(finished)
        body = self._envelope("chat.completion" if self.chat else "text_completion", prepared)
        body["choices"] = [self._choice(text, finished)]
        body["usage"] = _usage(finished.timings)
        return body

    def _choice(self, text: str, finished: Finished) -> dict:
        reason = FINISH.get(finished.reason, "stop")
        if not self.chat:
            return {"index": 0, "text": text, "logprobs": None, "finish_reason": reason}
        message: dict = {"role": "assistant", "content": text}
        if self.tools_on:
            content, calls = read_reply(text)
            message = {"role": "assistant", "content": content}
            if calls:
                message["tool_calls"] = calls
                reason = "tool_calls"
        return {"index": 0, "message": message, "logprobs": None, "finish_reason": reason}

    def _envelope(self, kind: str, prepared: Prepared) -> dict:
        body = {"id": self.id, "object": kind, "created": self.created, "model": self.model,
                "system_fingerprint": None}
        if prepared.sources is not None:
            body["sources"] = prepared.sources
        if prepared.lora:
            body["lora"] = prepared.lora
        return body

    async def chunks(self, ticket) -> AsyncIterator[bytes]:
        """The reply as server-sent events; an error after the start is sent as an error event."""
        try:
            prepared, events = await self.start(ticket)
        except Exception as exc:  # the status is sent already: the error goes as an event
            if not isinstance(exc, InglenookError):
                log.exception("a streamed reply failed to start")
            error = from_inglenook(exc) if isinstance(exc, InglenookError) else server_error("The reply failed.")
            yield sse(error.body())
            yield b"data: [DONE]\n\n"
            return
        first = self._chunk(prepared, {"role": "assistant", "content": ""} if self.chat else "", None)
        yield sse(first)
        finished, held = None, []
        async for event in events:
            if isinstance(event, TextDelta):
                if self.tools_on:
                    held.append(event.text)  # a call is sent whole, once it is complete
                else:
                    yield sse(self._chunk(None, {"content": event.text} if self.chat else event.text, None))
            elif isinstance(event, Finished):
                finished = event
        async for chunk in self._ending(finished, held):
            yield chunk

    async def _ending(self, finished: Finished | None, held: list[str]) -> AsyncIterator[bytes]:
        if finished is None or finished.reason == "error":
            error = reply_error(finished or Finished("error", _NO_TIMINGS, error="The reply ended early."))
            yield sse(error.body())
            yield b"data: [DONE]\n\n"
            return
        reason = FINISH.get(finished.reason, "stop")
        self._note_usage(finished)
        if self.tools_on:
            content, calls = read_reply("".join(held))
            if calls:
                reason = "tool_calls"
                delta = {"tool_calls": [{"index": i, **c} for i, c in enumerate(calls)]}
            else:
                delta = {"content": content}
            yield sse(self._chunk(None, delta, None))
        yield sse(self._chunk(None, {} if self.chat else "", reason))
        if self.req.include_usage:
            usage = self._chunk(None, {}, None)
            usage["choices"], usage["usage"] = [], _usage(finished.timings)
            yield sse(usage)
        yield b"data: [DONE]\n\n"

    def _note_usage(self, finished: Finished) -> None:
        note(self.scope, prompt_tokens=finished.timings.prompt_tokens,
             completion_tokens=finished.timings.completion_tokens)

    def _chunk(self, prepared: Prepared | None, delta, reason: str | None) -> dict:
        if self.chat:
            body = {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                    "model": self.model, "system_fingerprint": None,
                    "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}]}
        else:
            body = {"id": self.id, "object": "text_completion", "created": self.created, "model": self.model,
                    "choices": [{"index": 0, "text": delta, "logprobs": None, "finish_reason": reason}]}
        if prepared is not None:
            if prepared.sources is not None:
                body["sources"] = prepared.sources
            if prepared.lora:
                body["lora"] = prepared.lora
        return body


_NO_TIMINGS = Timings(0, 0, 0, 0, 0, 0)


async def _fixed(text: str) -> AsyncIterator:
    yield TextDelta(text)
    yield Finished("stop", _NO_TIMINGS, text=text)


def _usage(timings: Timings) -> dict:
    return {"prompt_tokens": timings.prompt_tokens, "completion_tokens": timings.completion_tokens,
            "total_tokens": timings.prompt_tokens + timings.completion_tokens}


def _too_large(limit: int) -> ApiError:
    return ApiError(413, f"The request body is larger than {limit} bytes; send less, or start the server with "
                    "a larger --max-body-mb.", code="request_too_large")


def error_response(exc: Exception) -> JSONResponse:
    if isinstance(exc, InglenookError):
        return from_inglenook(exc).response()
    log.exception("request failed", exc_info=exc)
    return server_error(f"The server failed: {type(exc).__name__}. See its log.").response()

