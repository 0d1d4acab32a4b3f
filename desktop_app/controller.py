"""The window's wiring over the core: one ``AppController`` that owns the stores and the model host,
and composes one small controller per concern.

* ``settings``       ``SettingsControl``: settings and remembered state
* ``loader``         ``ModelLoader``: loading a model on the model thread (progress, cancel)
* ``catalog``        ``ModelCatalog``: adding, removing and configuring models; GPU detection and plans
* ``downloads``      ``DownloadControl``: Hub downloads and partial downloads
* ``conversations``  ``ConversationControl``: the current conversation, its settings, the list
* ``replies``        ``ReplyControl``: send, regenerate, edit, stop
* ``lora``           ``LoraControl``: a conversation's styles, adding, converting and training adapters
* ``server``         ``ServerControl``: the "Local server" switch (the model over the OpenAI-compatible API)
* ``feedback``       ``FeedbackControl``: thumbs and edits on replies, training examples from them
* ``tasks``, ``notices``  background calls, and the ``error`` / ``info`` messages every part reports to

Pages call these and listen to their signals; they never call the engine directly for anything that
can block. Everything the engine raises as ``InglenookError`` becomes an ``error`` (or a more
specific ``*_failed``) signal with the engine's explanation, so the window keeps working. The rules
that span two concerns are wired here, in ``_wire``. A few shortcuts (``session``, ``busy``,
``load_model``...) stay on the controller itself for the Library page, scripts and tests.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from desktop_app.conversation_control import ConversationControl
from desktop_app.current_conversation import CurrentConversation
from desktop_app.download_control import DownloadControl
from desktop_app.feedback_control import FeedbackControl
from desktop_app.host_switch import HostSwitch
from desktop_app.lora_control import LoraControl
from desktop_app.model_catalog import ModelCatalog
from desktop_app.model_loader import ModelLoader
from desktop_app.notices import Notices
from desktop_app.reply_control import ReplyControl
from desktop_app.server_control import ServerControl
from desktop_app.settings_control import SettingsControl
from desktop_app.workers import DownloadWorker, Task, TaskRunner
from engine.chat.history import HistoryStore
from engine.chat.session import ChatSession
from engine.host import ModelHost
from engine.models.registry import ModelEntry, ModelRegistry
from engine.paths import data_dir
from engine.process import create_model_host

log = logging.getLogger(__name__)


class AppController(QObject):
    def __init__(self, store: HistoryStore | None = None, registry: ModelRegistry | None = None,
                 host: ModelHost | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.store = store or HistoryStore()
        self.registry = registry or ModelRegistry(self.store.db)
        # the model runs in its own process, or on a remote server the user added (HostSwitch)
        self.host = HostSwitch(host or create_model_host())
        self.closed = False
        self.notices = Notices(self)
        self.error, self.info = self.notices.error, self.notices.info
        self.tasks = TaskRunner(self.error, self)
        self.settings = SettingsControl(self.store, self.notices, self)
        self.current = CurrentConversation(self.host, self.store, on_problem=self.error.emit)
        self.loader = ModelLoader(self.registry, self.host, self.settings, self)
        self.catalog = ModelCatalog(self.registry, self.loader, self.tasks, self.notices, self)
        self.downloads = DownloadControl(self.registry, self.settings, self.tasks, self.notices, self)
        self.lora = LoraControl(self)
        self.feedback = FeedbackControl(self.store, self.tasks, self.notices, self)
        self.replies = ReplyControl(self.current, self.loader, self.lora, self.settings, self.notices, self)
        self.conversations = ConversationControl(self.current, self.replies, self.store, self.settings,
                                                 self.notices, self)
        self.server = ServerControl(self.host, self.store, self.settings, self.tasks, self.notices, self)
        self._wire()

    def _wire(self) -> None:
        """The rules that span two concerns (connected before any page listens, so they run first)."""
        # a new load stops the reply being written (the load waits for it on the model thread)
        self.loader.load_started.connect(lambda _name: self.replies.stop())
        # the current conversation goes on with the model just loaded
        self.loader.model_loaded.connect(lambda _loaded: self.conversations.record_model(self.loader.loaded_entry))
        # the local server serves the model the window loaded
        self.loader.model_loaded.connect(lambda loaded: self.server.follow_model(
            self.loader.loaded_entry.name if self.loader.loaded_entry else None, loaded.name))
        # a finished download is a new model in the list
        self.downloads.download_finished.connect(lambda _entry: self.catalog.models_changed.emit())

    # ----------------------------------------------- shortcuts (Library page, scripts, tests)
    @property
    def session(self) -> ChatSession | None:
        return self.current.session

    @property
    def draft(self) -> dict[str, Any]:
        return self.current.draft

    @property
    def augmenter_factory(self) -> Callable[[ChatSession], Any] | None:
        return self.current.augmenter_factory

    @augmenter_factory.setter
    def augmenter_factory(self, factory: Callable[[ChatSession], Any] | None) -> None:
        self.current.augmenter_factory = factory

    @property
    def conversation_changed(self):  # a SignalInstance
        return self.conversations.conversation_changed

    @property
    def reply_notice(self):  # a SignalInstance
        return self.replies.reply_notice

    @property
    def conversation_id(self) -> int | None:
        return self.current.conversation_id

    @property
    def busy(self) -> bool:
        return self.replies.busy

    @property
    def loading(self) -> str | None:
        return self.loader.loading

    @property
    def loaded_entry(self) -> ModelEntry | None:
        return self.loader.loaded_entry

    @property
    def download_worker(self) -> DownloadWorker | None:
        return self.downloads.worker

    def setting(self, key: str) -> Any:
        return self.settings.setting(key)

    def set_setting(self, key: str, value: Any) -> bool:
        return self.settings.set_setting(key, value)

    def has_model_history(self) -> bool:
        return self.settings.has_history()

    def run_task(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
                 on_failed: Callable[[str], None] | None = None) -> Task:
        return self.tasks.run(fn, *args, on_done=on_done, on_failed=on_failed)

    def load_model(self, name: str) -> bool:
        return self.loader.load_model(name)

    def open_conversation(self, conversation_id: int) -> bool:
        return self.conversations.open_conversation(conversation_id)

    def send(self, text: str) -> bool:
        return self.replies.send(text)

    def regenerate(self) -> bool:
        return self.replies.regenerate()

    # ------------------------------------------------------------------ lifecycle
    @staticmethod
    def data_dir() -> Path:
        return data_dir()

    def shutdown(self) -> None:
        """Stop everything the app started and free the model; safe to call twice."""
        if self.closed:
            return
        self.closed = True
        self.server.shutdown()  # API replies end first: the model is about to go
        self.loader.cancel_load()
        self.lora.shutdown(wait=False)  # cancels training, lets a reply waiting for a style change go on
        workers = [w for w in (self.replies.worker, self.downloads.worker) if w is not None]
        for worker in workers:
            worker.cancel()
        for worker in workers:
            worker.wait(15_000)
        self.lora.shutdown()
        self.tasks.wait(15_000)
        try:
            self.host.close()
        except Exception:  # the process is ending; nothing useful to report
            log.exception("closing the model host failed")
        self.store.close()
