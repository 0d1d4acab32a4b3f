"""The small contract every chat runtime fulfils, and the registry that finds them.

Built-in runtimes register themselves the way a plugin would (``register_backend``), so a
second runtime (MLC LLM, an OpenAI-compatible server) slots in without touching callers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from engine.errors import InglenookError
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
    """A chat runtime. Exactly one thread may call it (see ``engine.worker.ModelHost``)."""

    name: str

    def load(self, path: Path, options: LoadOptions, progress: LoadProgress | None = None) -> LoadedModel: ...

    def unload(self) -> None: ...

    @property
    def loaded(self) -> LoadedModel | None: ...

    def count_tokens(self, text: str) -> int: ...

    def chat(self, messages: list[Message], params: SamplingParams) -> Iterator[Event]: ...


_REGISTRY: dict[str, Callable[[], ChatBackend]] = {}


def register_backend(name: str, factory: Callable[[], ChatBackend]) -> None:
    """Make a runtime available under ``name``; registering a name again replaces it."""
    _REGISTRY[name] = factory


def available_backends() -> list[str]:
    _register_builtins()
    return sorted(_REGISTRY)


def create_backend(name: str = "llama.cpp") -> ChatBackend:
    _register_builtins()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise InglenookError(
            f"No runtime called {name!r}; available: {', '.join(sorted(_REGISTRY))}."
        ) from None
    return factory()


def _register_builtins() -> None:
    if "llama.cpp" not in _REGISTRY:
        from engine.llama_backend import LlamaCppBackend

        register_backend("llama.cpp", LlamaCppBackend)
