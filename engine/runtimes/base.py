"""The small contract every chat runtime fulfils.

A runtime is a class with these methods; it registers itself in ``engine.runtimes.registry`` so
that callers find it by name and never import it directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from engine.events import Event
from engine.params import LoadOptions, SamplingParams

Message = dict  # {"role": "system" | "user" | "assistant", "content": str}
LoadProgress = Callable[[float], bool]  # fraction 0..1; return False to cancel the load


@dataclass
class LoadedModel:
    """What the runtime reports about the model it just loaded."""

    path: Path
    name: str
    architecture: str
    n_ctx: int
    n_ctx_train: int
    n_gpu_layers: int
    total_layers: int
    chat_template_origin: str
    load_ms: float
    offload_message: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class ChatBackend(Protocol):
    """A chat runtime. Exactly one thread may call it (see ``engine.host.ModelHost``)."""

    name: str

    def load(self, path: Path, options: LoadOptions, progress: LoadProgress | None = None) -> LoadedModel: ...

    def unload(self) -> None: ...

    @property
    def loaded(self) -> LoadedModel | None: ...

    def count_tokens(self, text: str) -> int: ...

    def chat(self, messages: list[Message], params: SamplingParams) -> Iterator[Event]: ...
