"""What a streaming reply is made of.

A backend yields these; the CLI prints them, the GUI turns them into signals, the history store
saves them. ``TextDelta`` carries text only when it is complete UTF-8 and not part of a stop string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FinishReason = Literal["stop", "length", "cancelled", "context", "error"]


@dataclass(frozen=True)
class TextDelta:
    """A piece of the reply's text."""

    text: str


@dataclass(frozen=True)
class ContextNotice:
    """The conversation did not fit: the oldest turns were left out of this request."""

    dropped_messages: int
    prompt_tokens: int
    n_ctx: int

    @property
    def text(self) -> str:
        return (
            f"{self.dropped_messages} older message(s) no longer fit in the {self.n_ctx}-token context "
            "and were left out of this reply."
        )


@dataclass(frozen=True)
class Timings:
    """Token counts and speeds of one reply. ``cached_tokens`` were reused from the previous turn."""

    prompt_tokens: int
    cached_tokens: int
    completion_tokens: int
    prompt_ms: float
    first_token_ms: float
    decode_ms: float
    model_decode_ms: float = 0.0  # of decode_ms, the time inside llama.cpp's decode (0 when not measured)
    model_prompt_ms: float = 0.0  # of first_token_ms, the time inside llama.cpp (0 when not measured)

    @property
    def tokens_per_s(self) -> float:
        if self.decode_ms <= 0 or self.completion_tokens <= 1:
            return 0.0
        return (self.completion_tokens - 1) / (self.decode_ms / 1000.0)

    def as_dict(self) -> dict:
        return {
            "prompt_tokens": self.prompt_tokens,
            "cached_tokens": self.cached_tokens,
            "completion_tokens": self.completion_tokens,
            "prompt_ms": round(self.prompt_ms, 2),
            "first_token_ms": round(self.first_token_ms, 2),
            "decode_ms": round(self.decode_ms, 2),
            "tokens_per_s": round(self.tokens_per_s, 2),
        }


@dataclass(frozen=True)
class Finished:
    """The reply ended. Always the last event of a stream."""

    reason: FinishReason
    timings: Timings
    text: str = ""
    error: str | None = None
    extra: dict = field(default_factory=dict)


Event = TextDelta | ContextNotice | Finished
