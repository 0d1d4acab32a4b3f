"""Find chat runtimes by name.

Each runtime module registers itself when imported (``register_runtime`` at its bottom), the way
simonw/llm's default plugins do; ``BUILTIN_RUNTIMES`` lists the modules imported on first lookup, so
a new runtime is one new module plus one line here, and no caller imports a runtime directly.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from engine.errors import InglenookError
from engine.runtimes.base import ChatBackend

BUILTIN_RUNTIMES = ("engine.runtimes.llamacpp", "engine.runtimes.remote", "engine.runtimes.mlc")

_REGISTRY: dict[str, Callable[[], ChatBackend]] = {}
_builtins_loaded = False


class RuntimeRegistryError(InglenookError):
    """A runtime name that is unknown, or registered twice."""


def register_runtime(name: str, factory: Callable[[], ChatBackend], *, replace: bool = False) -> None:
    """Make a runtime available under ``name``. Registering a taken name is refused unless ``replace``."""
    if name in _REGISTRY and not replace and _REGISTRY[name] is not factory:
        raise RuntimeRegistryError(
            f"A runtime called {name!r} is already registered; pick another name or pass replace=True."
        )
    _REGISTRY[name] = factory


def runtime_names() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


def create_runtime(name: str = "llama.cpp") -> ChatBackend:
    _load_builtins()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise RuntimeRegistryError(
            f"No runtime called {name!r}; available: {', '.join(sorted(_REGISTRY))}."
        ) from None
    return factory()


def _load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        for module in BUILTIN_RUNTIMES:
            importlib.import_module(module)
        _builtins_loaded = True
