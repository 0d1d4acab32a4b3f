"""What an evaluation run needs from the window (``knowledge.evaluation.answering.EvalEnvironment``).

The window owns one engine process and one loaded model (``controller.host``); a run uses that same
host. A configuration that names another model has it loaded through the window's own
``ModelLoader`` (the status bar shows the progress and offers Cancel), asked for from the run's
worker thread: the request crosses to the GUI thread as a queued signal and the worker waits for
``model_loaded`` / ``load_failed``. Evaluation conversations go to a scratch store inside the run's
folder, never into the user's chats; the user's default system prompt is copied so answers are the
app's answers.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal

from engine.chat.history import HistoryStore
from engine.errors import InglenookError, LoadCancelled, NoModelLoadedError

MODEL_LOAD_TIMEOUT_S = 15 * 60


class _LoadBridge(QObject):
    """Lives on the GUI thread: turns a worker's request into ``ModelLoader.load_model``."""

    requested = Signal(str)

    def __init__(self, loader, parent: QObject | None = None):
        super().__init__(parent)
        self.loader = loader
        self.requested.connect(self._load, Qt.ConnectionType.QueuedConnection)

    def _load(self, name: str) -> None:
        self.loader.load_model(name)  # a refusal emits load_failed, which the waiting worker hears


class WindowEvalEnvironment:
    def __init__(self, controller, library, run_dir: Path):
        self.controller = controller
        self.library = library
        run_dir.mkdir(parents=True, exist_ok=True)
        self.history = HistoryStore(run_dir / "eval-chats.sqlite")  # never the user's history
        own_prompt = controller.store.get_setting("default_system_prompt")
        if own_prompt is not None:
            self.history.set_setting("default_system_prompt", own_prompt)
        self.lora_registry = controller.lora.registry
        self._bridge = _LoadBridge(controller.loader)  # made on the GUI thread, so it loads there
        self._abort = threading.Event()

    def abort(self) -> None:
        """Stop waiting for a model load (the run was cancelled or the window is closing)."""
        self._abort.set()

    @property
    def loaded_name(self) -> str | None:
        loader = self.controller.loader
        if loader.loading or loader.host.loaded is None or loader.loaded_entry is None:
            return None
        return loader.loaded_entry.name

    def host_for(self, model: str | None):
        """The window's host with ``model`` loaded (None: the model loaded now). Called on the run's thread."""
        host = self.controller.host
        if model is None or model == self.loaded_name:
            if host.loaded is None:
                raise NoModelLoadedError("Load a model first (at the top of the chat), then run the evaluation.")
            return host
        outcome: dict = {}
        done = threading.Event()
        loader = self.controller.loader

        def loaded(_loaded) -> None:
            outcome["ok"] = True
            done.set()

        def failed(message: str, _cancelled: bool) -> None:
            outcome["error"] = message
            done.set()

        loader.model_loaded.connect(loaded, Qt.ConnectionType.DirectConnection)
        loader.load_failed.connect(failed, Qt.ConnectionType.DirectConnection)
        try:
            self._bridge.requested.emit(model)
            waited = 0.0
            while not done.wait(0.2):  # short waits: a cancel or a closing window must not wait for the load
                waited += 0.2
                if self._abort.is_set():
                    raise LoadCancelled(f"The evaluation was stopped while {model} was loading.")
                if waited > MODEL_LOAD_TIMEOUT_S:
                    raise InglenookError(f"Loading {model} took too long; try again.")
        finally:
            loader.model_loaded.disconnect(loaded)
            loader.load_failed.disconnect(failed)
        if "error" in outcome:
            raise InglenookError(outcome["error"])
        return host

    def close(self) -> None:
        self.history.close()
