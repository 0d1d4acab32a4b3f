"""Inglenook's model core: runtimes, chat sessions, model registry, hardware. Never imports Qt."""

from engine.errors import InglenookError

__all__ = ["InglenookError"]
