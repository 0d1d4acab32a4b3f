"""The window's local server replies on the window's model: LoRA styles stay the window's.

Apart from ``in_app`` so that the web stack (Starlette, FastAPI) loads only when the server starts.
"""

from __future__ import annotations

from desktop_app.server.errors import ApiError
from desktop_app.server.replies import ReplyService


class WindowReplyService(ReplyService):
    """Replies on the window's model; a request's own ``lora`` is refused (it is the window's choice)."""

    def resolve_lora(self, request) -> list:
        if request.lora:
            raise ApiError(400, "The window's local server uses the styles of the window's conversation; "
                           "per-request \"lora\" works with `nook serve`.", param="lora", code="lora_not_here")
        return []

    async def switch_adapters(self, adapters) -> None:
        return None
