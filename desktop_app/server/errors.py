"""Errors in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}`` with the right status."""

from __future__ import annotations

from starlette.responses import JSONResponse

from engine.errors import (
    GenerationError,
    InglenookError,
    LoraIncompatibleError,
    ModelNotFoundError,
    NoModelLoadedError,
)
from engine.process.supervisor import EngineCrashedError
from knowledge.errors import CollectionNotFoundError


class ApiError(InglenookError):
    """A request the server refuses or cannot serve; ``status`` is the HTTP status it is answered with."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else None
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def invalid(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def from_inglenook(exc: InglenookError) -> ApiError:
    """The API error for an error the app raised while serving a request."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ModelNotFoundError | CollectionNotFoundError):  # LoraNotFoundError is a ModelNotFoundError
        return ApiError(404, str(exc), code="not_found")
    if isinstance(exc, EngineCrashedError | NoModelLoadedError):
        return ApiError(503, str(exc), type="server_error", code="engine_unavailable")
    if isinstance(exc, GenerationError):
        return ApiError(400, str(exc), code="context_length_exceeded")
    if isinstance(exc, LoraIncompatibleError):
        return ApiError(400, str(exc), param="lora", code="lora_incompatible")
    return ApiError(400, str(exc))


def server_error(message: str) -> ApiError:
    return ApiError(500, message, type="server_error", code="internal_error")
