"""Switching LoRA adapters on a loaded llama.cpp model without reloading it.

llama.cpp keeps adapters apart from the base weights: ``llama_adapter_lora_init`` reads one into
memory (milliseconds for a small one), ``llama_set_adapters_lora`` tells a context which adapters
to add, each with a scale (microseconds), and ``llama_adapter_lora_free`` frees one. So switching
styles is cheap, stacking is a list, and clearing gives back the exact base model.

One trap: the KV cache holds keys and values computed with the old weights. llama-cpp-python reuses
the longest common token prefix between turns, so after any change we drop the evaluated tokens
(``LlamaCppBackend.invalidate_cache``); otherwise the next reply silently mixes old and new weights.

``LoraAdapters`` belongs to one backend and must only be called on the model's owner thread;
``engine.host.AdapterControl`` is the thread-safe face for the CLI and the window.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine import llama_native
from engine.errors import LoraError
from engine.lora.adapters import AdapterInfo, ResolvedAdapter, check_compatible, check_scale, read_adapter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActiveAdapter:
    name: str
    path: Path
    scale: float
    rank: int
    alpha: float


@dataclass(frozen=True)
class ApplyResult:
    """What ``apply`` did: ``changed`` is False when the adapters were already exactly these."""

    active: tuple[ActiveAdapter, ...]
    changed: bool
    loaded: tuple[str, ...]  # adapters read from disk by this call
    ms: float


@dataclass
class _Handle:
    pointer: object  # llama_adapter_lora_p
    info: AdapterInfo
    signature: tuple[int, int]  # (size, mtime_ns): a file rewritten in place is read again



def _signature(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


class LoraAdapters:
    """The adapters loaded for one backend's current model, and which of them are switched on."""

    def __init__(self, backend) -> None:
        """``backend``: the llama.cpp runtime that owns the model (``engine.runtimes.llamacpp``)."""
        self._backend = backend
        self._handles: dict[Path, _Handle] = {}
        self._stale: list[_Handle] = []  # replaced copies still attached to the context until the next switch
        self._active: tuple[ActiveAdapter, ...] = ()
        self._active_key: tuple = ()

    @property
    def active(self) -> tuple[ActiveAdapter, ...]:
        return self._active

    @property
    def loaded_paths(self) -> list[Path]:
        return list(self._handles)

    def apply(self, adapters: Sequence[ResolvedAdapter]) -> ApplyResult:
        """Make exactly ``adapters`` active (scale 0 means off). All or nothing: on error nothing changes."""
        started = time.perf_counter()
        wanted = self._validate(adapters)
        if not wanted and not self._active_key:  # nothing on, nothing wanted: works without a model too
            return ApplyResult((), False, (), (time.perf_counter() - started) * 1000)
        llm = self._backend.llama
        base = self._backend.gguf_info
        loaded = []
        handles = []
        for adapter in wanted:
            handle, fresh = self._ensure(adapter, base)
            handles.append(handle)
            if fresh:
                loaded.append(adapter.name)
        active = tuple(ActiveAdapter(a.name, a.path, a.scale, h.info.rank, h.info.alpha)
                       for a, h in zip(wanted, handles, strict=True))
        key = tuple((a.path, h.signature, a.scale) for a, h in zip(wanted, handles, strict=True))
        if key == self._active_key:
            self._active = active  # same files and scales; names may differ (a path vs its name)
            return ApplyResult(active, False, tuple(loaded), (time.perf_counter() - started) * 1000)
        self._set(llm, [h.pointer for h in handles], [a.scale for a in active])
        self._active, self._active_key = active, key
        self._backend.invalidate_cache()
        return ApplyResult(active, True, tuple(loaded), (time.perf_counter() - started) * 1000)

    def clear(self) -> ApplyResult:
        return self.apply([])

    def forget(self, path: Path | str) -> None:
        """Free one adapter's memory (after it was removed from the registry). Switched off first if on."""
        path = Path(path).resolve()
        if any(a.path == path for a in self._active):
            self.apply([ResolvedAdapter(a.name, a.path, a.scale) for a in self._active if a.path != path])
        handle = self._handles.pop(path, None)
        if handle is not None:
            llama_native.adapter_free(handle.pointer)

    def release(self) -> None:
        """Detach and free every adapter; called before the model and its context are freed."""
        llm = self._backend._llm
        if llm is not None and self._active:
            try:
                self._set(llm, [], [])
            except LoraError:
                log.warning("could not detach adapters before unloading", exc_info=True)
        self._active, self._active_key = (), ()
        for handle in [*self._handles.values(), *self._stale]:
            llama_native.adapter_free(handle.pointer)
        self._handles.clear()
        self._stale.clear()

    # ------------------------------------------------------------------------------ internals
    @staticmethod
    def _validate(adapters: Sequence[ResolvedAdapter]) -> list[ResolvedAdapter]:
        seen: set[Path] = set()
        wanted = []
        for adapter in adapters:
            check_scale(adapter.scale, adapter.name)
            path = Path(adapter.path).resolve()
            if path in seen:
                raise LoraError(f"The adapter {adapter.name!r} is listed twice; give it once with one scale.")
            seen.add(path)
            if adapter.scale > 0:
                wanted.append(ResolvedAdapter(adapter.name, path, float(adapter.scale)))
        return wanted

    def _ensure(self, adapter: ResolvedAdapter, base) -> tuple[_Handle, bool]:
        path = adapter.path
        try:
            signature = _signature(path)
        except OSError:
            raise LoraError(f"The adapter file {path} is gone; add the adapter again.") from None
        handle = self._handles.get(path)
        if handle is not None and handle.signature == signature:
            return handle, False
        info = read_adapter(path)
        check_compatible(info, base)
        pointer = llama_native.adapter_init(self._backend.llama, path)
        if not pointer:
            raise LoraError(
                f"llama.cpp could not load the adapter {adapter.name!r} ({path}) although it passed Inglenook's "
                "checks; the file may be damaged or use a tensor type this llama.cpp lacks. Convert it again."
            )
        if handle is not None:  # the file was rewritten: free the old copy once no context uses it
            if any(a.path == path for a in self._active):
                self._stale.append(handle)
            else:
                llama_native.adapter_free(handle.pointer)
        handle = _Handle(pointer, info, signature)
        self._handles[path] = handle
        return handle, True

    def _set(self, llm, pointers: list, scales: list[float]) -> None:
        rc = llama_native.set_adapters(llm, pointers, scales)
        if rc != 0:
            raise LoraError(f"llama.cpp refused to switch adapters (error {rc}); the previous adapters stay on.")
        for handle in self._stale:
            llama_native.adapter_free(handle.pointer)
        self._stale.clear()


def adapters_of(backend) -> LoraAdapters:
    adapters = getattr(backend, "adapters", None)
    if adapters is None:
        raise LoraError(f"The {getattr(backend, 'name', 'current')} runtime cannot apply LoRA adapters.")
    return adapters
