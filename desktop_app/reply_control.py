"""Writing replies: send, regenerate, edit and continue, stop.

One reply at a time streams in a ``ReplyWorker``; ``ReplyControl`` relays its events as signals:
``reply_began`` (the branch with the new reply last), ``reply_delta``s, ``reply_notice``,
``reply_sources``, then ``reply_finished`` or ``reply_failed``; ``busy_changed`` around it. The
first message of a new chat first saves the draft as a conversation (``CurrentConversation.start``).

Messages keep the translation context "AppController", where they were first translated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal

from desktop_app.current_conversation import CurrentConversation
from desktop_app.lora_control import LoraControl
from desktop_app.model_loader import ModelLoader
from desktop_app.notices import Notices
from desktop_app.settings_control import SettingsControl
from desktop_app.workers import ReplyWorker
from engine.chat.history import StoredMessage
from engine.errors import InglenookError
from engine.events import Event, Finished


class ReplyControl(QObject):
    reply_began = Signal(object)  # list[StoredMessage]
    reply_delta = Signal(str)
    reply_notice = Signal(object)  # ContextNotice
    reply_sources = Signal(list)  # sources of the reply being written, before its text
    reply_finished = Signal(object, object)  # StoredMessage | None, Finished | None
    reply_failed = Signal(str, bool)  # message, whether the reply had begun
    busy_changed = Signal(bool)
    saved = Signal()  # after reply_began and reply_finished: the conversation's title or place may have changed

    def __init__(self, current: CurrentConversation, loader: ModelLoader, lora: LoraControl,
                 settings: SettingsControl, notices: Notices, parent: QObject | None = None):
        super().__init__(parent)
        self.current = current
        self.loader = loader
        self.lora = lora
        self.settings = settings
        self.notices = notices
        self.worker: ReplyWorker | None = None
        self.held_by: str | None = None  # a message while something else uses the model (an evaluation run)

    @property
    def busy(self) -> bool:
        return self.worker is not None

    def hold(self, message: str) -> None:
        """Another part of the window uses the model now: stop the reply being written, refuse new ones."""
        self.stop()
        self.held_by = message

    def release(self) -> None:
        self.held_by = None

    def send(self, text: str) -> bool:
        if not text.strip() or self.busy or self._held():
            return False
        if self.loader.host.loaded is None or self.loader.loading:
            return self._no_model()
        if self.current.session is None:
            entry = self.loader.loaded_entry
            try:
                session = self.current.start(entry.name if entry else None)
            except InglenookError as exc:
                self.reply_failed.emit(str(exc), False)
                return False
            self.settings.set_setting("state.last_conversation", session.conversation_id)
        session = self.current.session
        return self._start(lambda: session.send(text))

    def regenerate(self) -> bool:
        session = self.current.session
        if session is None or self.busy or self._held():
            return False
        if self.loader.host.loaded is None:
            return self._no_model()
        return self._start(session.regenerate)

    def edit(self, message_id: int, text: str) -> bool:
        session = self.current.session
        if session is None or self.busy or not text.strip() or self._held():
            return False
        if self.loader.host.loaded is None:
            return self._no_model()
        return self._start(lambda: session.edit(message_id, text))

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def wait(self, msecs: int) -> None:
        """Wait for the reply being written to end (after ``stop``)."""
        if self.worker is not None:
            self.worker.wait(msecs)

    def _held(self) -> bool:
        if self.held_by:
            self.notices.error.emit(self.held_by)
        return bool(self.held_by)

    def _no_model(self) -> bool:
        self.notices.error.emit(QCoreApplication.translate(
            "AppController", "Load a model first: pick one at the top of the chat."))
        return False

    def _start(self, start: Callable[[], Iterator[Event]]) -> bool:
        lora = self.lora

        def locked_start() -> Iterator[Event]:  # an adapter change in flight finishes first (see lora_control)
            lora.wait_settled()
            with lora.adapters_lock:
                return start()

        worker = ReplyWorker(self.current.session, locked_start, parent=self)
        worker.began.connect(self._on_began)
        worker.delta.connect(self.reply_delta)
        worker.notice.connect(self.reply_notice)
        worker.other.connect(self._on_other_event)
        worker.done.connect(self._on_done)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(worker.deleteLater)
        self.worker = worker
        self.busy_changed.emit(True)
        worker.start()
        return True

    def _on_other_event(self, event: Any) -> None:
        sources = getattr(event, "sources", None)
        if sources:
            self.reply_sources.emit(list(sources))

    def _on_began(self, thread: list[StoredMessage]) -> None:
        self.reply_began.emit(thread)
        self.saved.emit()

    def _on_done(self, message: StoredMessage | None, finished: Finished | None) -> None:
        self.worker = None
        self.busy_changed.emit(False)
        self.reply_finished.emit(message, finished)
        self.saved.emit()

    def _on_failed(self, text: str, began: bool) -> None:
        self.worker = None
        self.busy_changed.emit(False)
        self.reply_failed.emit(text, began)
