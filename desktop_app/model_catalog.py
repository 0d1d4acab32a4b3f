"""The chat models the window knows: adding, removing and configuring them, and what fits the GPU.

``ModelCatalog`` edits the ``ModelRegistry`` and announces each change with ``models_changed``;
GPU detection and offload planning read files, so they run as background tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal

from desktop_app.model_loader import ModelLoader
from desktop_app.notices import Notices
from desktop_app.workers import TaskRunner
from engine.errors import InglenookError
from engine.hardware import GpuSupport, OffloadPlan, detect_gpu_support, plan_for_model
from engine.models.gguf import read_gguf
from engine.models.registry import ModelEntry, ModelRegistry


class ModelCatalog(QObject):
    models_changed = Signal()
    gpu_support_known = Signal(object)  # engine.hardware.GpuSupport

    def __init__(self, registry: ModelRegistry, loader: ModelLoader, tasks: TaskRunner, notices: Notices,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.registry = registry
        self.loader = loader
        self.tasks = tasks
        self.notices = notices
        self.gpu_support: GpuSupport | None = None

    # Messages keep the translation context "AppController", where they were first translated.
    def add_local_model(self, path: str | Path) -> ModelEntry | None:
        try:
            entry = self.registry.add(path)
        except InglenookError as exc:
            self.notices.error.emit(QCoreApplication.translate(
                "AppController", "{path} cannot be added: {error}").format(path=path, error=exc))
            return None
        except OSError as exc:
            self.notices.error.emit(QCoreApplication.translate(
                "AppController", "{path} cannot be read: {error}").format(path=path, error=exc.strerror or exc))
            return None
        self.models_changed.emit()
        return entry

    # ------------------------------------------------------------- remote servers
    def add_remote_server(self, name: str, url: str, api_key: str | None,
                          report: Callable[[str], None] | None = None) -> ModelEntry | None:
        """Keep a server as a model: name and URL in the database, the key in the OS keyring (or, where there
        is none, in memory until the app closes). None, with the reason reported, when it cannot be added."""
        from engine.runtimes.remote import RemoteKeyError, RemoteTarget, save_remote_key

        try:
            entry = self.registry.add_remote(name, url)
        except InglenookError as exc:
            (report or self.notices.error.emit)(str(exc))
            return None
        if api_key:
            base = RemoteTarget.parse(entry.url).base_url
            try:
                save_remote_key(base, api_key)
            except RemoteKeyError:
                self.loader.host.session_keys[base] = api_key
                self.notices.info.emit(QCoreApplication.translate(
                    "AppController", "There is no OS keyring here, so the key for {name} is kept only until "
                    "Inglenook closes (it is never saved in plain text).").format(name=entry.name))
        self.models_changed.emit()
        return entry

    def server_models(self, url: str, api_key: str | None, on_done: Callable[[list[str]], None],
                      on_failed: Callable[[str], None]) -> None:
        """Ask a server for its models off the GUI thread (short timeout); the failure says what to do."""
        from engine.runtimes.remote import RemoteTarget, list_server_models

        def work() -> list[str]:
            key = api_key or self.loader.host.session_keys.get(RemoteTarget.parse(url).base_url)
            return list_server_models(url, key)

        self.tasks.run(work, on_done=on_done, on_failed=on_failed)

    def remove_model(self, name: str, delete_file: bool = False) -> bool:
        loaded = self.loader.loaded_entry
        if loaded is not None and loaded.name == name:
            self.notices.error.emit(QCoreApplication.translate(
                "AppController", "{name} is loaded; load another model before removing it.").format(name=name))
            return False
        try:
            removed = self.registry.remove(name, delete_file=delete_file)
            if removed.is_remote:
                self._forget_key(removed)
        except InglenookError as exc:
            self.notices.error.emit(str(exc))
            return False
        except OSError as exc:
            self.notices.error.emit(QCoreApplication.translate(
                "AppController", "The file could not be deleted: {error}").format(error=exc.strerror or exc))
            return False
        self.models_changed.emit()
        return True

    def _forget_key(self, removed: ModelEntry) -> None:
        """A removed server's key goes too, unless another kept server shares its base URL."""
        from engine.runtimes.remote import RemoteTarget, forget_remote_key

        base = RemoteTarget.parse(removed.url).base_url
        if not any(e.is_remote and RemoteTarget.parse(e.url).base_url == base for e in self.registry.list("chat")):
            forget_remote_key(base)
            self.loader.host.session_keys.pop(base, None)

    def update_model_settings(self, name: str, **settings: Any) -> ModelEntry | None:
        try:
            entry = self.registry.update_settings(name, **settings)
        except InglenookError as exc:
            self.notices.error.emit(str(exc))
            return None
        self.models_changed.emit()
        return entry

    # ------------------------------------------------------------------ the GPU
    def detect_gpu(self) -> None:
        """Find out (once, in the background) what this llama.cpp build can offload."""
        if self.gpu_support is not None:
            self.gpu_support_known.emit(self.gpu_support)
            return

        def found(support: GpuSupport) -> None:
            self.gpu_support = support
            self.gpu_support_known.emit(support)

        self.tasks.run(detect_gpu_support, on_done=found)

    def plan(self, entry: ModelEntry, n_ctx: int, n_gpu_layers: int | str,
             on_done: Callable[[OffloadPlan], None], on_failed: Callable[[str], None] | None = None) -> None:
        """The planner's fit rating for ``entry`` with these settings (computed off the GUI thread)."""
        support = self.gpu_support

        def work() -> OffloadPlan:
            from engine.hardware import resolve_n_gpu_layers

            info = read_gguf(entry.path)
            if n_gpu_layers == "auto":
                return plan_for_model(info, n_ctx, support)
            return resolve_n_gpu_layers(int(n_gpu_layers), info, n_ctx, support)[1]

        self.tasks.run(work, on_done=on_done, on_failed=on_failed)
