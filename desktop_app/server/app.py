"""The ASGI application: routes, the API key check, and every error in OpenAI's shape."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from desktop_app.server.errors import ApiError
from desktop_app.server.limits import DEFAULT_MAX_BODY_MB, DEFAULT_MAX_QUEUE, DEFAULT_MAX_TOKENS
from desktop_app.server.replies import ReplyService
from desktop_app.server.request_log import LogRequests, RequestLog
from desktop_app.server.routes import Routes, error_response


@dataclass
class ServerConfig:
    """What a server serves and its limits. ``model_names[0]`` is the name it reports; the rest are aliases."""

    model_names: list[str]
    embedding_names: list[str]
    embedder: Callable[[], object]  # the collection embedder, loaded on first use
    api_key: str | None = None
    max_body_bytes: int = int(DEFAULT_MAX_BODY_MB * 1024 * 1024)
    max_queue: int = DEFAULT_MAX_QUEUE
    default_max_tokens: int = DEFAULT_MAX_TOKENS
    embed_max_chars: int = 32_000
    extra: dict = field(default_factory=dict)
    ready: Callable[[], None] | None = None  # raises an ApiError when no reply can be given now (no model)


def _endpoint(handler):
    """Answer InglenookErrors (ApiError included) with their status, anything else with a logged 500."""

    @functools.wraps(handler)
    async def wrapped(request: Request):
        try:
            return await handler(request)
        except Exception as exc:
            return error_response(exc)

    return wrapped


class ApiKeyCheck:
    """Pure ASGI middleware: with a key set, every request needs ``Authorization: Bearer <key>``.

    It runs before anything reads the body, and compares in constant time (``hmac.compare_digest``).
    """

    def __init__(self, app, api_key: str | None) -> None:
        self.app = app
        self.key = api_key.encode() if api_key else None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or self.key is None:
            return await self.app(scope, receive, send)
        given = b""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                given = value
        scheme, _, token = given.partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self.key):
            return await self.app(scope, receive, send)
        error = ApiError(401, "Missing or incorrect API key: send the key the server was started with as "
                         "'Authorization: Bearer <key>' (the openai client's api_key).", code="invalid_api_key")
        await error.response()(scope, receive, send)


async def _http_error(request: Request, exc: HTTPException):
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
    message = {404: f"No such endpoint: {request.method} {request.url.path}. The API is under /v1 "
                    "(models, chat/completions, completions, embeddings).",
               405: f"{request.method} is not allowed on {request.url.path}."}.get(exc.status_code, str(exc.detail))
    return ApiError(exc.status_code, message, code=code).response()


async def _any_error(request: Request, exc: Exception):
    return error_response(exc)


def create_app(service: ReplyService, config: ServerConfig, log: RequestLog | None = None):
    """The ASGI app; with ``log``, every request is recorded there (the window's request log)."""
    routes = Routes(service, config)
    app = Starlette(
        routes=[
            Route("/v1/models", _endpoint(routes.models), methods=["GET"]),
            Route("/v1/models/{name:path}", _endpoint(routes.model), methods=["GET"]),
            Route("/v1/chat/completions", _endpoint(routes.chat), methods=["POST"]),
            Route("/v1/completions", _endpoint(routes.completions), methods=["POST"]),
            Route("/v1/embeddings", _endpoint(routes.embeddings), methods=["POST"]),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _any_error},
    )
    checked = ApiKeyCheck(app, config.api_key)
    return LogRequests(checked, log) if log is not None else checked
