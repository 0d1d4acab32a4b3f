"""The conversation on screen: one ``MessageWidget`` per message in a scrolling column.

Streaming touches only the message being written (see ``message_widget``): a render costs the
same at the 10th token and the 4000th, and the rest of the conversation is never re-rendered while
a reply streams. Long conversations open with their newest ``PAGE`` messages; "Show earlier
messages" adds more. Answers may carry sources, shown under them (see ``sources_block``).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from desktop_app.markdown_render import LIGHT, Palette
from desktop_app.message_widget import MessageWidget
from desktop_app.widgets import heading
from engine.chat.feedback import Feedback
from engine.chat.history import StoredMessage

PAGE = 24  # messages shown when a conversation opens; "Show earlier messages" adds this many more


class ChatView(QScrollArea):
    """The messages of the current branch, newest at the bottom."""

    edit_requested = Signal(int, str)
    regenerate_requested = Signal()
    branch_requested = Signal(int)
    copied = Signal()
    problem = Signal(str)
    rating_requested = Signal(int, str)  # message id, "up" | "down"
    reply_edit_submitted = Signal(int, str)  # message id, the user's version of a reply
    quotes_requested = Signal(int)  # message id of a reply to answer again with quotes

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.palette_ = LIGHT
        self.container = QWidget()
        self.column = QVBoxLayout(self.container)
        self.column.setContentsMargins(24, 16, 24, 16)
        self.column.setSpacing(10)
        self.empty = QWidget()
        empty = QVBoxLayout(self.empty)
        empty.addStretch(1)
        self.empty_title = heading()
        self.empty_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_text = QLabel()
        self.empty_text.setObjectName("muted")
        self.empty_text.setWordWrap(True)
        self.empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty.addWidget(self.empty_title)
        empty.addWidget(self.empty_text)
        empty.addStretch(2)
        self.more_button = QPushButton()
        self.more_button.setObjectName("flat")
        self.more_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.more_button.clicked.connect(self.show_earlier)
        self.more_button.hide()
        self.column.addWidget(self.more_button, 0, Qt.AlignmentFlag.AlignHCenter)
        self.column.addWidget(self.empty, 1)
        self.column.addStretch(0)
        self.setWidget(self.container)
        self.widgets: list[MessageWidget] = []
        self._messages: list[StoredMessage] = []
        self._conversation: int | None = None
        self._shown = PAGE
        #: other versions of a message (its siblings' ids), for the "‹ 2/3 ›" switch; set by the page
        self.siblings_provider: Callable[[int], list[int]] | None = None
        #: the saved ratings and edits of replies (``{message id: Feedback}``); set by the page
        self.feedback_provider: Callable[[list[int]], dict[int, Feedback]] | None = None
        self._stick = True
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._remember_position)
        bar.rangeChanged.connect(self._keep_bottom)

    # ---------------------------------------------------------------- state
    def set_empty_text(self, title: str, text: str) -> None:
        self.empty_title.setText(title)
        self.empty_text.setText(text)

    def set_palette(self, palette: Palette) -> None:
        self.palette_ = palette
        for widget in self.widgets:
            widget.set_palette(palette)

    def set_thread(self, messages: list[StoredMessage]) -> None:
        """Show ``messages``; widgets of messages already shown are kept, not re-rendered.

        Only the newest ``PAGE`` messages get widgets at first; a "Show earlier messages" button
        above them adds the next page, so opening a long conversation stays quick.
        """
        existing = {w.message.id: w for w in self.widgets}
        wanted_ids = {m.id for m in messages}
        for widget in self.widgets:
            self.column.removeWidget(widget)
            if widget.message.id not in wanted_ids:
                widget.setParent(None)
                widget.deleteLater()
        self.widgets = []
        self._messages = messages
        if self._conversation != (messages[0].conversation_id if messages else None):
            self._conversation = messages[0].conversation_id if messages else None
            self._shown = PAGE
        shown = messages[-self._shown:] if self._shown < len(messages) else messages
        feedback = self._feedback(shown)
        for message in shown:
            widget = existing.get(message.id)
            if widget is None:
                widget = self._make(message, feedback.get(message.id))
            elif not widget.streaming:
                widget.set_message(message)
                widget.set_feedback(feedback.get(message.id))
            self._place(widget, len(self.widgets))
        self._update_more()
        self.empty.setVisible(not self.widgets)
        self.column.setStretch(self.column.indexOf(self.empty), 1 if not self.widgets else 0)
        self.column.setStretch(self.column.count() - 1, 0 if not self.widgets else 1)
        self._stick = True

    def _place(self, widget: MessageWidget, position: int) -> None:
        self.column.insertWidget(position + 1, widget)  # after the "earlier messages" button
        message = widget.message
        siblings = self.siblings_provider(message.id) if self.siblings_provider else []
        widget.set_context(siblings, bool(self._messages) and message.id == self._messages[-1].id)
        self.widgets.insert(position, widget)

    def show_earlier(self) -> None:
        """Add the next page of older messages above the ones shown, keeping the view where it is."""
        hidden = len(self._messages) - len(self.widgets)
        if hidden <= 0:
            return
        bar = self.verticalScrollBar()
        from_bottom = bar.maximum() - bar.value()
        older = self._messages[max(0, hidden - PAGE):hidden]
        feedback = self._feedback(older)
        for message in reversed(older):
            self._place(self._make(message, feedback.get(message.id)), 0)
        self._shown = len(self.widgets)
        self._update_more()
        self._stick = False
        self.container.adjustSize()
        bar.setValue(bar.maximum() - from_bottom)

    def _update_more(self) -> None:
        hidden = len(self._messages) - len(self.widgets)
        self.more_button.setVisible(hidden > 0)
        if hidden > 0:
            self.more_button.setText(self.tr("Show {n} earlier messages").format(n=min(hidden, PAGE)))

    def changeEvent(self, event) -> None:  # noqa: N802
        if event.type() == QEvent.Type.LanguageChange:
            self._update_more()
        super().changeEvent(event)

    def warm_up(self) -> None:
        """Build and drop one message of each kind, so the first real one is quick (fonts, styles)."""
        for role in ("user", "assistant"):
            widget = self._make(StoredMessage(-1, -1, None, role, "**warm** `up`", "complete", 0.0))
            widget.hide()
            widget.setParent(None)
            widget.deleteLater()

    def _feedback(self, messages: list[StoredMessage]) -> dict[int, Feedback]:
        ids = [m.id for m in messages if m.role == "assistant" and m.id > 0]
        return self.feedback_provider(ids) if self.feedback_provider and ids else {}

    def show_feedback(self, message_id: int, feedback: Feedback | None) -> None:
        """A reply's rating or edit changed (saved): show it."""
        widget = self.widget_of(message_id)
        if widget is not None:
            widget.set_feedback(feedback)

    def widget_of(self, message_id: int) -> MessageWidget | None:
        return next((w for w in self.widgets if w.message.id == message_id), None)

    def _make(self, message: StoredMessage, feedback: Feedback | None = None) -> MessageWidget:
        widget = MessageWidget(message, self.palette_, self.container)
        if feedback is not None:
            widget.set_feedback(feedback)
        widget.rating_requested.connect(self.rating_requested)
        widget.reply_edit_submitted.connect(self.reply_edit_submitted)
        widget.quotes_requested.connect(self.quotes_requested)
        widget.copy_requested.connect(self._copy)
        widget.edit_submitted.connect(self.edit_requested)
        widget.regenerate_requested.connect(self.regenerate_requested)
        widget.branch_requested.connect(self.branch_requested)
        widget.link_clicked.connect(self._open_link)
        widget.problem.connect(self.problem)
        return widget

    def streaming_widget(self) -> MessageWidget | None:
        return next((w for w in reversed(self.widgets) if w.streaming), None)

    def begin_streaming(self, message_id: int) -> MessageWidget | None:
        widget = next((w for w in self.widgets if w.message.id == message_id), None)
        if widget is not None:
            widget.start_streaming()
            widget.set_context(widget.siblings, True)
            self._stick = True
        return widget

    def show_sources_early(self, sources: list) -> None:
        """Sources of the reply being written (they arrive before its first word)."""
        widget = self.streaming_widget()
        if widget is not None and sources:
            widget.set_sources(sources)

    def append_delta(self, text: str) -> None:
        widget = self.streaming_widget()
        if widget is not None:
            widget.append(text)

    def finish_streaming(self, message: StoredMessage | None, sources: list | None = None,
                         unsaved: bool = False) -> None:
        widget = self.streaming_widget()
        if widget is None:
            return
        widget.finish(message, unsaved=unsaved)
        if sources:
            widget.set_sources(sources)
        widget.set_context(widget.siblings, True)

    def clear(self) -> None:
        self.set_thread([])

    # --------------------------------------------------------------- actions
    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.copied.emit()

    def _open_link(self, link: str) -> None:
        url = QUrl(link)
        if url.scheme() in ("http", "https", "mailto", "file"):
            QDesktopServices.openUrl(url)

    def _remember_position(self, value: int) -> None:
        bar = self.verticalScrollBar()
        self._stick = value >= bar.maximum() - 40

    def _keep_bottom(self, _minimum: int, maximum: int) -> None:
        if self._stick:
            self.verticalScrollBar().setValue(maximum)

    def scroll_to_bottom(self) -> None:
        self._stick = True
        self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())
