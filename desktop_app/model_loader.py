"""Loading a chat model on the model thread, with progress, cancel and supersession.

``ModelLoader`` asks the ``ModelHost`` (the one thread that owns the model) to load a registered
model and reports ``load_started``, ``load_progress``, then ``model_loaded`` or ``load_failed``. A
newer load supersedes one still running: only the latest load's result is reported.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future

from PySide6.QtCore import QObject, QTimer, Signal

from desktop_app.settings_control import SettingsControl
from engine.errors import InglenookError, LoadCancelled
from engine.host import ModelHost
from engine.models.registry import ModelEntry, ModelRegistry
from engine.params import LoadOptions

log = logging.getLogger(__name__)


def load_options(entry: ModelEntry, n_threads: int = 0) -> LoadOptions:
    """The options to load ``entry`` with: the app's thread count, then the model's own settings."""
    options = LoadOptions()
    if n_threads > 0:
        options.n_threads = n_threads
    for key, value in entry.settings.items():
        if hasattr(options, key) and value is not None:
            setattr(options, key, value)
    return options


class ModelLoader(QObject):
    load_started = Signal(str)
    load_progress = Signal(float)
    model_loaded = Signal(object)  # engine.runtimes.base.LoadedModel
    load_failed = Signal(str, bool)  # message, cancelled

    _load_done_from_thread = Signal(object, object, int)

    def __init__(self, registry: ModelRegistry, host: ModelHost, settings: SettingsControl,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.registry = registry
        self.host = host
        self.settings = settings
        self.loading: str | None = None  # the name of the model being loaded
        self.loaded_entry: ModelEntry | None = None
        self._cancel = threading.Event()
        self._token = 0  # counts loads; a result is reported only for the latest
        self._fraction = self._shown_fraction = 0.0
        self._progress_timer = QTimer(self, interval=50, timeout=self._poll_progress)
        self._load_done_from_thread.connect(self._on_load_done)

    def load_options(self, entry: ModelEntry) -> LoadOptions:
        return load_options(entry, int(self.settings.setting("model.n_threads") or 0))

    def load_model(self, name: str) -> bool:
        """Load a model on the model thread; progress and the result arrive as signals."""
        try:
            entry = self.registry.get(name)
        except InglenookError as exc:
            self.load_failed.emit(str(exc), False)
            return False
        self._cancel.set()  # a load still running is superseded
        cancel = threading.Event()
        self._cancel = cancel
        self._token += 1
        token = self._token
        self.loading = entry.name
        self.load_started.emit(entry.name)
        self._fraction, self._shown_fraction = 0.0, -1.0

        def progress(fraction: float) -> bool:
            # Called by llama.cpp on the model thread, inside a ctypes callback: emitting a Qt
            # signal there corrupts reference counts (PySide 6.12 + ctypes), so only a float is
            # stored here and the GUI thread polls it.
            self._fraction = fraction
            return not cancel.is_set()

        future = self.host.load(entry.target, self.load_options(entry), progress)  # a file, or remote:URL
        future.add_done_callback(lambda f: self._load_done_from_thread.emit(f, entry, token))
        self._progress_timer.start()
        return True

    def cancel_load(self) -> None:
        self._cancel.set()

    def _poll_progress(self) -> None:
        if self.loading is None:
            self._progress_timer.stop()
            return
        if self._fraction != self._shown_fraction:
            self._shown_fraction = self._fraction
            self.load_progress.emit(self._fraction)

    def _on_load_done(self, future: Future, entry: ModelEntry, token: int) -> None:
        current = token == self._token  # else superseded by a later load: nothing is reported
        try:
            loaded = future.result()
        except LoadCancelled as exc:
            message, cancelled = str(exc), True
        except InglenookError as exc:
            message, cancelled = str(exc), False
        except Exception as exc:
            log.exception("model load failed")
            message, cancelled = f"Unexpected error while loading {entry.name}: {exc!r}", False
        else:
            if current:
                self.loading = None
                self.loaded_entry = entry
                self.settings.set_setting("state.last_model", entry.name)
                self.model_loaded.emit(loaded)
            return
        if current:
            self.loading = None
            self.loaded_entry = None
            self.load_failed.emit(message, cancelled)
