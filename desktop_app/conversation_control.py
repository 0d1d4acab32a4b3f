"""The conversations: which one is current and its settings, switching branches, rename, delete, export.

``ConversationControl`` is a thin adapter over ``CurrentConversation`` and the ``HistoryStore``:
it turns their errors into messages and announces changes with ``conversation_changed`` (another
conversation, or a new chat, is current), ``conversations_changed`` (the list needs refreshing)
and ``thread_changed`` (the current branch changed outside of a reply). Switching conversation
stops a reply being written.

Messages keep the translation context "AppController", where they were first translated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal

from desktop_app.current_conversation import CurrentConversation
from desktop_app.notices import Notices
from desktop_app.reply_control import ReplyControl
from desktop_app.settings_control import SettingsControl
from engine.chat.history import HistoryStore, StoredMessage
from engine.errors import HistoryError, InglenookError
from engine.models.registry import ModelEntry
from engine.params import SamplingParams


def export_conversation_text(store: HistoryStore, conversation_id: int, path: Path) -> str:
    """A conversation as JSON (``.json``) or Markdown (anything else); raises HistoryError."""
    if path.suffix.lower() == ".json":
        return json.dumps(store.export_json(conversation_id), ensure_ascii=False, indent=2)
    return store.export_markdown(conversation_id)


class ConversationControl(QObject):
    conversation_changed = Signal()  # another conversation (or a new draft) is current
    conversations_changed = Signal()  # the list needs refreshing
    thread_changed = Signal()  # the current branch changed outside of a reply (branch switch)

    def __init__(self, current: CurrentConversation, replies: ReplyControl, store: HistoryStore,
                 settings: SettingsControl, notices: Notices, parent: QObject | None = None):
        super().__init__(parent)
        self.current = current
        self.replies = replies
        self.store = store
        self.settings = settings
        self.notices = notices
        replies.saved.connect(self.conversations_changed)

    @property
    def conversation_id(self) -> int | None:
        return self.current.conversation_id

    # ------------------------------------------------------------- switching
    def new_conversation(self) -> None:
        if self.replies.busy:
            self.replies.stop()
        self.current.clear()
        self.settings.set_setting("state.last_conversation", None)
        self.conversation_changed.emit()

    def open_conversation(self, conversation_id: int) -> bool:
        if self.replies.busy:
            self.replies.stop()
        try:
            self.current.open(conversation_id)
        except HistoryError as exc:
            self.notices.error.emit(str(exc))
            return False
        self.settings.set_setting("state.last_conversation", conversation_id)
        self.conversation_changed.emit()
        return True

    def thread(self) -> list[StoredMessage]:
        try:
            return self.current.thread()
        except HistoryError as exc:
            self.notices.error.emit(str(exc))
            return []

    def sibling_ids(self, message_id: int) -> list[int]:
        """Ids of the versions of a message (regenerated answers, edited questions); [] if only one."""
        try:
            ids = [m.id for m in self.store.siblings(message_id)]
        except HistoryError as exc:
            self.notices.error.emit(str(exc))
            return []
        return ids if len(ids) > 1 else []

    def show_branch(self, message_id: int) -> None:
        if self.current.session is None or self.replies.busy:
            return
        try:
            self.current.show_branch(message_id)
        except HistoryError as exc:
            self.notices.error.emit(str(exc))
            return
        self.thread_changed.emit()

    def record_model(self, entry: ModelEntry | None) -> None:
        """A model was loaded: the current conversation goes on with it."""
        if entry is None:
            return
        try:
            self.current.record_model(entry.name)
        except HistoryError as exc:
            self.notices.error.emit(str(exc))

    # ------------------------------------------------------------- settings
    def conversation_settings(self) -> tuple[str | None, str | None, SamplingParams]:
        """(preset, own system prompt, sampling parameters) of the current conversation or draft."""
        try:
            return self.current.settings()
        except (HistoryError, InglenookError) as exc:
            self.notices.error.emit(str(exc))
            return None, None, SamplingParams()

    def set_preset(self, name: str | None) -> SamplingParams | None:
        """Choose a preset; returns the sampling parameters it brings (None when refused)."""
        try:
            self.current.set_preset(name)
        except InglenookError as exc:
            self.notices.error.emit(str(exc))
            return None
        return self.conversation_settings()[2]

    def set_system_prompt(self, text: str | None) -> None:
        try:
            self.current.set_system_prompt(text)
        except InglenookError as exc:
            self.notices.error.emit(str(exc))

    def set_params(self, **changes: Any) -> bool:
        try:
            self.current.set_params(**changes)
        except InglenookError as exc:
            self.notices.error.emit(str(exc))
            return False
        return True

    # ----------------------------------------------------------- the list
    def rename_conversation(self, conversation_id: int, title: str) -> bool:
        try:
            self.store.rename(conversation_id, title)
        except HistoryError as exc:
            self.notices.error.emit(str(exc))
            return False
        self.conversations_changed.emit()
        return True

    def delete_conversation(self, conversation_id: int) -> bool:
        if self.replies.busy and self.conversation_id == conversation_id:
            self.replies.stop()
            self.replies.wait(10_000)
        try:
            self.store.delete(conversation_id)
        except HistoryError as exc:
            self.notices.error.emit(str(exc))
            return False
        if self.conversation_id == conversation_id:
            self.new_conversation()
        self.conversations_changed.emit()
        return True

    def export_conversation(self, conversation_id: int, path: str | Path) -> bool:
        path = Path(path)
        try:
            path.write_text(export_conversation_text(self.store, conversation_id, path), encoding="utf-8")
        except HistoryError as exc:
            self.notices.error.emit(str(exc))
            return False
        except OSError as exc:
            self.notices.error.emit(QCoreApplication.translate(
                "AppController", "{path} could not be written: {error}").format(path=path, error=exc.strerror or exc))
            return False
        self.notices.info.emit(QCoreApplication.translate("AppController", "Exported to {path}").format(path=path))
        return True
