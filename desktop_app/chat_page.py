"""The chat page: conversation list, model picker, messages, composer, conversation settings.

The pieces live in their own modules (``chat_view``, ``composer``, ``settings_drawer``); this page
lays them out and wires them to the controllers (``controller.conversations``, ``replies``, ``loader``).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListView,
    QMenu,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop_app.chat_view import ChatView
from desktop_app.composer import Composer
from desktop_app.controller import AppController
from desktop_app.qt_models import ConversationListModel, ModelListModel
from desktop_app.settings_drawer import SettingsDrawer
from desktop_app.theme import current_theme, markdown_palette
from desktop_app.widgets import Page, muted
from engine.chat.history import StoredMessage
from engine.errors import HistoryError
from engine.events import ContextNotice, Finished


class ChatPage(Page):
    """Everything of one conversation, plus the list of all of them."""

    open_models = Signal()

    def __init__(self, controller: AppController, models: ModelListModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.conversation_control = controller.conversations
        self.replies = controller.replies
        self.loader = controller.loader
        self.models = models
        self.conversations = ConversationListModel(controller.store, self)
        self._stream_started = 0.0
        self._stream_chars = 0
        self._stream_deltas = 0
        self._pending_text = ""

        root = QHBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        root.addWidget(self._build_sidebar())
        middle = QWidget()
        column = QVBoxLayout(middle)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(self._build_top_bar())
        column.addWidget(self._build_view(), 1)
        column.addWidget(self._build_bottom())
        root.addWidget(middle, 1)
        self.drawer = SettingsDrawer(controller)
        self.drawer.hide()
        root.addWidget(self.drawer)

        self._search_timer = QTimer(self, singleShot=True, interval=200, timeout=self.refresh_list)
        self._flash_timer = QTimer(self, singleShot=True, interval=2500, timeout=self._restore_status)
        self._status_text = ""
        QShortcut(QKeySequence(QKeySequence.StandardKey.New), self,
                  activated=self.conversation_control.new_conversation)
        QShortcut(QKeySequence("Escape"), self, activated=self.replies.stop)
        self._connect_controller()
        self.retranslate()
        self.refresh_list()
        self.show_conversation()

    def _build_sidebar(self) -> QFrame:
        """The conversation list: "New chat", search, the list (right-click for rename, export, delete)."""
        self.sidebar = QFrame()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setFixedWidth(236)
        side = QVBoxLayout(self.sidebar)
        side.setContentsMargins(10, 12, 10, 10)
        side.setSpacing(8)
        self.new_button = QPushButton()
        self.new_button.setObjectName("primary")
        self.new_button.clicked.connect(self.conversation_control.new_conversation)
        self.search = QLineEdit()
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda: self._search_timer.start())
        self.list = QListView()
        self.list.setObjectName("conversations")
        self.list.setModel(self.conversations)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setUniformItemSizes(True)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._conversation_menu)
        self.list.clicked.connect(self._conversation_clicked)
        self.list.setWordWrap(False)
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.no_results = muted()
        self.no_results.hide()
        side.addWidget(self.new_button)
        side.addWidget(self.search)
        side.addWidget(self.list, 1)
        side.addWidget(self.no_results)
        return self.sidebar

    def _build_top_bar(self) -> QFrame:
        """The model row (picker, state, "Manage models", settings toggle) and the context row under it."""
        top = QFrame()
        top_rows = QVBoxLayout(top)
        top_rows.setContentsMargins(16, 10, 16, 6)
        top_rows.setSpacing(6)
        top_row = QHBoxLayout()
        self.top_row = top_row
        # A second row for what the chat reads from, so the model row never squeezes it: the main window
        # adds the Library's collection picker here.
        self.context_row = QHBoxLayout()
        self.context_row.addStretch(1)
        top_rows.addLayout(top_row)
        top_rows.addLayout(self.context_row)
        self.model_label = QLabel()
        self.picker = QComboBox()
        self.picker.setModel(self.models)
        self.picker.setMinimumWidth(180)
        self.picker.setMaximumWidth(320)
        self.picker.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.picker.activated.connect(self._model_picked)
        self.model_state = muted(word_wrap=False)
        self.model_state.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # gives way first
        self.manage_button = QPushButton()
        self.manage_button.setObjectName("flat")
        self.manage_button.clicked.connect(self.open_models)
        self.settings_button = QPushButton()
        self.settings_button.setCheckable(True)
        self.settings_button.toggled.connect(self._toggle_drawer)
        top_row.addWidget(self.model_label)
        top_row.addWidget(self.picker)
        top_row.addWidget(self.model_state, 1)
        top_row.addWidget(self.manage_button)
        top_row.addWidget(self.settings_button)
        return top

    def _build_view(self) -> ChatView:
        self.view = ChatView()
        self.view.siblings_provider = self.conversation_control.sibling_ids
        self.view.feedback_provider = self.controller.feedback.feedback_for
        self.view.rating_requested.connect(self.controller.feedback.toggle)
        self.view.reply_edit_submitted.connect(self.controller.feedback.edit)
        self.controller.feedback.feedback_changed.connect(self.view.show_feedback)
        self.view.edit_requested.connect(self._edit)
        self.view.regenerate_requested.connect(self._regenerate)
        self.view.branch_requested.connect(self.conversation_control.show_branch)
        self.view.copied.connect(lambda: self._flash(self.tr("Copied to the clipboard.")))
        self.view.problem.connect(self.controller.error)
        return self.view

    def _build_bottom(self) -> QWidget:
        """The context notice, the composer, and the status line with "Regenerate"."""
        bottom = QWidget()
        bottom_col = QVBoxLayout(bottom)
        bottom_col.setContentsMargins(16, 6, 16, 10)
        bottom_col.setSpacing(4)
        self.notice = QLabel()
        self.notice.setObjectName("warning")
        self.notice.setWordWrap(True)
        self.notice.hide()
        bottom_col.addWidget(self.notice)
        self.composer = Composer()
        self.composer.submitted.connect(self.send)
        self.composer.send_button.clicked.connect(self.send)
        self.composer.stop_button.clicked.connect(self.replies.stop)
        bottom_col.addWidget(self.composer)
        status_row = QHBoxLayout()
        self.status = QLabel()
        self.status.setObjectName("statusLine")
        self.regenerate_button = QPushButton()
        self.regenerate_button.setObjectName("flat")
        self.regenerate_button.clicked.connect(self._regenerate)
        status_row.addWidget(self.status, 1)
        status_row.addWidget(self.regenerate_button)
        bottom_col.addLayout(status_row)
        return bottom

    def _connect_controller(self) -> None:
        conversations, replies, loader = self.conversation_control, self.replies, self.loader
        conversations.conversation_changed.connect(self.show_conversation)
        conversations.conversations_changed.connect(self.refresh_list)
        conversations.thread_changed.connect(self.reload_thread)
        replies.reply_began.connect(self._began)
        replies.reply_delta.connect(self._delta)
        replies.reply_notice.connect(self._notice)
        replies.reply_sources.connect(self.view.show_sources_early)
        replies.reply_finished.connect(self._finished)
        replies.reply_failed.connect(self._failed)
        replies.busy_changed.connect(self._busy)
        loader.load_started.connect(self._model_state_changed)
        loader.model_loaded.connect(self._model_state_changed)
        loader.load_failed.connect(self._model_state_changed)
        self.controller.catalog.models_changed.connect(self._model_state_changed)

    # ------------------------------------------------------------- language
    def retranslate(self) -> None:
        self.new_button.setText(self.tr("New chat"))
        self.search.setPlaceholderText(self.tr("Search conversations"))
        self.no_results.setText(self.tr("No conversation matches."))
        self.model_label.setText(self.tr("Model"))
        self.manage_button.setText(self.tr("Manage models"))
        self.settings_button.setText(self.tr("Conversation settings"))
        self.composer.send_button.setText(self.tr("Send"))
        self.composer.stop_button.setText(self.tr("Stop"))
        self.composer.edit.setPlaceholderText(self.tr("Message the model (Enter to send, Shift+Enter for a new line)"))
        self.regenerate_button.setText(self.tr("Regenerate"))
        self.regenerate_button.setToolTip(self.tr("Answer the last message again; the current answer is kept"))
        self.view.set_empty_text(self.tr("What can I help with?"), self.tr(
            "Everything stays on this computer. Ask a question, paste text to summarise, or ask for code."))
        self.drawer.retranslate()
        self._model_state_changed()
        self._update_actions()

    def apply_theme(self) -> None:
        self.view.set_palette(markdown_palette(current_theme()))

    # ---------------------------------------------------------- conversations
    def refresh_list(self) -> None:
        if self.controller.closed:
            return
        try:
            self.conversations.refresh(self.search.text())
        except HistoryError as exc:
            self.controller.error.emit(str(exc))
            return
        row = self.conversations.row_of(self.conversation_control.conversation_id)
        if row >= 0:
            self.list.setCurrentIndex(self.conversations.index(row))
        else:
            self.list.clearSelection()
        empty = self.conversations.rowCount() == 0 and bool(self.search.text().strip())
        self.no_results.setVisible(empty)

    def _conversation_clicked(self, index) -> None:
        conversation_id = self.conversations.conversation_id(index.row())
        if conversation_id is not None and conversation_id != self.conversation_control.conversation_id:
            self.conversation_control.open_conversation(conversation_id)

    def _conversation_menu(self, point: QPoint) -> None:
        index = self.list.indexAt(point)
        conversation_id = self.conversations.conversation_id(index.row()) if index.isValid() else None
        if conversation_id is None:
            return
        menu = QMenu(self)
        menu.addAction(self.tr("Rename…"), lambda: self.rename(conversation_id))
        menu.addAction(self.tr("Export…"), lambda: self.export(conversation_id))
        menu.addSeparator()
        menu.addAction(self.tr("Delete"), lambda: self.delete(conversation_id))
        menu.exec(self.list.viewport().mapToGlobal(point))

    def rename(self, conversation_id: int, title: str | None = None) -> None:
        if title is None:
            current = self.controller.store.get_conversation(conversation_id).title
            title, ok = QInputDialog.getText(self, self.tr("Rename conversation"), self.tr("Title:"), text=current)
            if not ok:
                return
        self.conversation_control.rename_conversation(conversation_id, title)

    def export(self, conversation_id: int, path: str | None = None) -> None:
        if path is None:
            title = self.controller.store.get_conversation(conversation_id).title
            safe = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in title).strip() or "conversation"
            path, _ = QFileDialog.getSaveFileName(self, self.tr("Export conversation"), f"{safe}.md",
                                                  self.tr("Markdown (*.md);;JSON (*.json)"))
            if not path:
                return
        self.conversation_control.export_conversation(conversation_id, path)

    def delete(self, conversation_id: int, confirm: bool = True) -> None:
        if confirm:
            title = self.controller.store.get_conversation(conversation_id).title
            answer = QMessageBox.question(self, self.tr("Delete conversation"),
                                          self.tr("Delete “{title}” and all its messages?").format(title=title))
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.conversation_control.delete_conversation(conversation_id)

    def show_conversation(self) -> None:
        """The current conversation changed: show its messages and settings."""
        self.reload_thread()
        self.drawer.load()
        self.notice.hide()
        self._set_status("")
        self.refresh_list()
        self._update_actions()

    def reload_thread(self) -> None:
        thread = self.conversation_control.thread()
        self.view.set_thread(thread)
        self._update_actions()

    # ---------------------------------------------------------------- models
    def _model_picked(self, row: int) -> None:
        entry = self.models.entry(row)
        loader = self.loader
        if entry is None or (loader.loaded_entry is not None and loader.loaded_entry.name == entry.name
                             and loader.host.loaded is not None and not loader.loading):
            return  # already loaded
        loader.load_model(entry.name)

    def _model_state_changed(self, *_args) -> None:
        loader = self.loader
        name = loader.loading or (loader.loaded_entry.name if loader.loaded_entry and loader.host.loaded else None)
        row = self.models.row_of(name)
        if row >= 0:
            self.picker.setCurrentIndex(row)
        else:
            self.picker.setCurrentIndex(-1)
            self.picker.setPlaceholderText(self.tr("Choose a model"))
        if loader.loading:
            self.model_state.setText(self.tr("Loading…"))
        elif loader.host.loaded is not None:
            loaded = loader.host.loaded
            self.model_state.setText(self.tr("Ready · context {n_ctx} tokens").format(n_ctx=loaded.n_ctx))
            self.model_state.setToolTip(loaded.offload_message)
        else:
            self.model_state.setText(self.tr("No model loaded"))
        self._update_actions()

    # ------------------------------------------------------------- replying
    def send(self) -> None:
        text = self.composer.text()
        if not text.strip() or self.replies.busy:
            return
        self.drawer.flush()
        self._pending_text = text
        if self.replies.send(text):
            self.composer.set_text("")

    def _regenerate(self) -> None:
        self.drawer.flush()
        self.replies.regenerate()

    def _edit(self, message_id: int, text: str) -> None:
        self.drawer.flush()
        self.replies.edit(message_id, text)

    def _began(self, thread: list[StoredMessage]) -> None:
        if not thread or thread[-1].conversation_id != self.conversation_control.conversation_id:
            return  # the user has moved to another conversation meanwhile
        self.notice.hide()
        self.view.set_thread(thread)
        self.view.begin_streaming(thread[-1].id)
        self._stream_started = time.perf_counter()
        self._stream_chars = 0
        self._stream_deltas = 0
        self._set_status(self.tr("Thinking…"))

    def _delta(self, text: str) -> None:
        self.view.append_delta(text)
        self._stream_deltas += 1
        elapsed = time.perf_counter() - self._stream_started
        if self._stream_deltas % 8 == 1 and elapsed > 0:
            self._set_status(self.tr("Writing… {tokens} tokens · {speed} tok/s").format(
                tokens=self._stream_deltas, speed=f"{self._stream_deltas / elapsed:.1f}"))

    def _notice(self, notice: ContextNotice) -> None:
        self.notice.setText(self.tr(
            "{n} older messages no longer fit in the {n_ctx}-token context and were left out of this reply."
        ).format(n=notice.dropped_messages, n_ctx=notice.n_ctx))
        self.notice.show()

    def _finished(self, message: StoredMessage | None, finished: Finished | None) -> None:
        self.view.finish_streaming(message)
        self.reload_thread()
        if finished is None:
            self._set_status(self.tr("Stopped."))
        elif finished.reason == "error":
            self._set_status(self.tr("The reply failed."))
            self.controller.error.emit(finished.error or self.tr("The reply failed."))
        else:
            self._set_status(self._describe(finished))
        self._update_actions()

    def _describe(self, finished: Finished) -> str:
        t = finished.timings
        parts = [self.tr("{tokens} tokens · {speed} tok/s").format(
            tokens=t.completion_tokens, speed=f"{t.tokens_per_s:.1f}")]
        parts.append(self.tr("first token {ms} ms").format(ms=f"{t.first_token_ms:.0f}"))
        loaded = self.controller.host.loaded
        if loaded is not None:
            parts.append(self.tr("context {used}/{total}").format(
                used=t.prompt_tokens + t.completion_tokens, total=loaded.n_ctx))
        reason = {"cancelled": self.tr("stopped"), "length": self.tr("max tokens reached"),
                  "context": self.tr("context full")}.get(finished.reason)
        if reason:
            parts.append(reason)
        return " · ".join(parts)

    def _failed(self, text: str, began: bool) -> None:
        if began:
            self.view.finish_streaming(None, unsaved=True)  # the text stays on screen
        else:
            self.reload_thread()  # show what was saved (the question may be, the answer not)
            last = self.view.widgets[-1] if self.view.widgets else None
            saved = last is not None and last.message.role == "user" and last.text == self._pending_text
            if self._pending_text and not saved and not self.composer.text().strip():
                self.composer.set_text(self._pending_text)  # nothing was saved: give the message back
        self._pending_text = ""
        self._set_status(self.tr("The reply failed."))
        self.controller.error.emit(text)
        self._update_actions()

    def _busy(self, busy: bool) -> None:
        self.composer.send_button.setVisible(not busy)
        self.composer.stop_button.setVisible(busy)
        self._update_actions()

    def _update_actions(self) -> None:
        ready = self.loader.host.loaded is not None and not self.loader.loading
        busy = self.replies.busy
        self.composer.send_button.setEnabled(ready and not busy)
        has_user = any(w.message.role == "user" for w in self.view.widgets)
        in_conversation = self.conversation_control.conversation_id is not None
        self.regenerate_button.setEnabled(ready and not busy and in_conversation and has_user)
        self.picker.setEnabled(not busy)

    # ----------------------------------------------------------------- status
    def _set_status(self, text: str) -> None:
        self._status_text = text
        if not self._flash_timer.isActive():
            self.status.setText(text)

    def _flash(self, text: str) -> None:
        self.status.setText(text)
        self._flash_timer.start()

    def _restore_status(self) -> None:
        self.status.setText(self._status_text)

    def _toggle_drawer(self, shown: bool) -> None:
        self.drawer.setVisible(shown)
