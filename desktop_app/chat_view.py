"""The conversation on screen: one widget per message in a scrolling column.

Streaming touches only the message being written: tokens are appended to its text, and a short
timer renders at most ~30 times a second. Markdown blocks that are finished are rendered once,
into a small document of their own; only the unfinished tail is re-rendered (see
``StreamingMarkdown``), so a render costs the same at the 10th token and the 4000th. When the
reply ends, one render of the whole message replaces the pieces. The rest of the conversation is
never re-rendered while a reply streams.

Answers may carry sources (``{path, page, heading, snippet}``), shown in an expandable
"N sources" block under the answer; clicking one opens the file with ``QDesktopServices``.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.markdown_render import LIGHT, Palette, StreamingMarkdown, document_html, render_markdown
from desktop_app.widgets import AutoHeightBrowser, heading
from engine.chat.history import StoredMessage

RENDER_INTERVAL_MS = 33
PAGE = 24  # messages shown when a conversation opens; "Show earlier messages" adds this many more
STREAM_CARET = "▍"


@dataclass(frozen=True)
class Source:
    """Where part of an answer came from."""

    path: str
    page: int | None = None
    heading: str | None = None
    snippet: str = ""
    n: int | None = None  # the number the answer cites it by: [1], [2]

    @classmethod
    def of(cls, value: Any) -> Source:
        if isinstance(value, Source):
            return value
        if not isinstance(value, dict):  # knowledge.answer.Source and the like
            value = {k: getattr(value, k, None) for k in ("path", "page", "heading", "snippet", "n")}
        return cls(path=str(value.get("path") or ""), page=value.get("page"), heading=value.get("heading"),
                   snippet=str(value.get("snippet") or ""), n=value.get("n"))

    def url(self) -> QUrl:
        url = QUrl.fromLocalFile(os.fspath(self.path))
        if self.page and str(self.path).lower().endswith(".pdf"):
            url.setFragment(f"page={int(self.page)}")  # viewers that understand it open at the page
        return url


class SourcesBlock(QWidget):
    """An expandable "N sources" list under an answer."""

    open_failed = Signal(str)

    def __init__(self, sources: list[Source], parent: QWidget | None = None):
        super().__init__(parent)
        self.sources = sources
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 0)
        layout.setSpacing(2)
        self.toggle = QToolButton()
        self.toggle.setObjectName("flat")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setCursor(Qt.CursorShape.PointingHandCursor)
        self.toggle.toggled.connect(self._set_expanded)
        layout.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignLeft)
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(18, 0, 0, 4)
        body.setSpacing(6)
        self.items: list[QLabel] = []
        for index, source in enumerate(sources):
            label = QLabel()
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setToolTip(str(source.path))
            label.setCursor(Qt.CursorShape.PointingHandCursor)
            label.linkActivated.connect(lambda _link, i=index: self.open(i))
            body.addWidget(label)
            self.items.append(label)
        self.body.hide()
        layout.addWidget(self.body)
        self.retranslate()

    def retranslate(self) -> None:
        n = len(self.sources)
        self.toggle.setText(self.tr("1 source") if n == 1 else self.tr("{n} sources").format(n=n))
        for label, source in zip(self.items, self.sources, strict=True):
            number = f"[{source.n}] " if source.n else ""
            parts = [f'{number}<a href="open"><b>{html.escape(Path(source.path).name or source.path)}</b></a>']
            if source.page:
                parts.append(html.escape(self.tr("page {page}").format(page=source.page)))
            if source.heading:
                parts.append(html.escape(source.heading))
            text = " · ".join(parts)
            if source.snippet:
                snippet = " ".join(source.snippet.split())
                snippet = snippet if len(snippet) <= 240 else snippet[:239] + "…"
                text += f'<br/><span style="color:gray">{html.escape(snippet)}</span>'
            label.setText(text)

    def changeEvent(self, event) -> None:  # noqa: N802
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def _set_expanded(self, expanded: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if expanded else Qt.ArrowType.RightArrow)
        self.body.setVisible(expanded)

    def open(self, index: int) -> bool:
        source = self.sources[index]
        if not Path(source.path).exists():
            self.open_failed.emit(self.tr("{path} no longer exists; re-index the collection it came from.")
                                  .format(path=source.path))
            return False
        if not QDesktopServices.openUrl(source.url()):
            self.open_failed.emit(self.tr("No application could open {path}.").format(path=source.path))
            return False
        return True


def _describe_styles(choices: Any) -> str:
    """``pirate ×1, formal ×0.5`` from a reply's stored ``extra["lora"]``."""
    parts = []
    for choice in choices if isinstance(choices, list) else []:
        if isinstance(choice, dict) and choice.get("name"):
            try:
                parts.append(f"{choice['name']} ×{float(choice.get('scale', 1.0)):g}")
            except (TypeError, ValueError):
                parts.append(str(choice["name"]))
    return ", ".join(parts)


class MessageWidget(QFrame):
    """One message: header with actions, the rendered body, sources and timings."""

    copy_requested = Signal(str)
    edit_submitted = Signal(int, str)
    regenerate_requested = Signal()
    branch_requested = Signal(int)
    link_clicked = Signal(str)

    def __init__(self, message: StoredMessage, palette: Palette, parent: QWidget | None = None):
        super().__init__(parent)
        self.message = message
        self.palette_ = palette
        self.sources: list[Source] = []
        self.siblings: list[int] = []
        self.is_last = False
        self.streaming = False
        self.unsaved = False
        self._text = message.content
        self._stream: StreamingMarkdown | None = None
        self._code_blocks: list[str] = []
        self._render_timer = QTimer(self, singleShot=True, interval=RENDER_INTERVAL_MS, timeout=self._render_stream)
        user = message.role == "user"
        self.setObjectName("userBubble" if user else "assistantMessage")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(14, 8, 14, 8)
        outer.setSpacing(2)
        header = QHBoxLayout()
        header.setSpacing(6)
        self.role_label = QLabel()
        self.role_label.setObjectName("roleLabel")
        self.status_label = QLabel()
        self.status_label.setObjectName("tag")
        header.addWidget(self.role_label)
        header.addWidget(self.status_label)
        header.addStretch(1)
        self.prev_button = self._flat_button("‹", lambda: self._branch(-1))
        self.branch_label = QLabel()
        self.branch_label.setObjectName("small")
        self.next_button = self._flat_button("›", lambda: self._branch(+1))
        for widget in (self.prev_button, self.branch_label, self.next_button):
            header.addWidget(widget)
        self.copy_button = self._flat_button("", lambda: self.copy_requested.emit(self.text))
        self.edit_button = self._flat_button("", self.start_editing)
        self.regenerate_button = self._flat_button("", lambda: self.regenerate_requested.emit())
        for widget in (self.copy_button, self.edit_button, self.regenerate_button):
            header.addWidget(widget)
        outer.addLayout(header)

        self.body = AutoHeightBrowser()
        self.body.link_clicked.connect(self._on_link)
        outer.addWidget(self.body)
        # While streaming: finished blocks go into segments (one small document each, written once),
        # the unfinished end into ``tail``; at the end one render into ``body`` replaces them.
        self.segments: list[AutoHeightBrowser] = []
        self.tail: AutoHeightBrowser | None = None  # created when the message starts streaming
        self.editor: QPlainTextEdit | None = None
        self.editor_bar: QWidget | None = None
        self.sources_block: SourcesBlock | None = None
        self.footer = QLabel()
        self.footer.setObjectName("small")
        outer.addWidget(self.footer)
        self.retranslate()
        self.render()
        if message.extra.get("sources"):
            self.set_sources(message.extra["sources"])

    # ---------------------------------------------------------------- pieces
    def _flat_button(self, text: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName("flat")
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.clicked.connect(slot)
        return button

    @property
    def text(self) -> str:
        return self._text

    def shown_text(self) -> str:
        """The text on screen now (while streaming: the finished pieces and the tail)."""
        if not self.streaming:
            return self.body.toPlainText()
        pieces = [segment.toPlainText() for segment in self.segments]
        if self.tail is not None:
            pieces.append(self.tail.toPlainText().rstrip(STREAM_CARET))
        return "\n".join(p for p in pieces if p)

    @property
    def code_blocks(self) -> list[str]:
        return self._stream.all_code_blocks if self.streaming and self._stream else self._code_blocks

    def retranslate(self) -> None:
        user = self.message.role == "user"
        self.role_label.setText(self.tr("You") if user else self.tr("Assistant"))
        self.copy_button.setText(self.tr("Copy"))
        self.copy_button.setToolTip(self.tr("Copy this message"))
        self.edit_button.setText(self.tr("Edit"))
        self.edit_button.setToolTip(self.tr("Edit this message and continue from it"))
        self.regenerate_button.setText(self.tr("Regenerate"))
        self.regenerate_button.setToolTip(self.tr("Answer again; this answer is kept as another version"))
        self.prev_button.setToolTip(self.tr("Previous version"))
        self.next_button.setToolTip(self.tr("Next version"))
        if self.editor_bar is not None:
            self._save_button.setText(self.tr("Save and send"))
            self._cancel_button.setText(self.tr("Cancel"))
        self._update_header()
        if self.sources_block is not None:
            self.sources_block.retranslate()
        if not self.streaming:
            self.render()

    def _update_header(self) -> None:
        user = self.message.role == "user"
        self.role_label.setToolTip("" if user or not self.message.model else self.message.model)
        status = {
            "stopped": self.tr("stopped"),
            "incomplete": self.tr("cut off"),
            "error": self.tr("failed"),
        }.get(self.message.status, "")
        if self.unsaved:
            status = self.tr("not saved")
        if self.streaming:
            status = self.tr("writing…")
        self.status_label.setText(status)
        if self.message.error and self.message.status == "error":
            self.status_label.setToolTip(self.message.error)
        self.edit_button.setVisible(user and not self.streaming)
        self.regenerate_button.setVisible(not user and self.is_last and not self.streaming)
        self.copy_button.setVisible(not self.streaming)
        branched = len(self.siblings) > 1
        for widget in (self.prev_button, self.branch_label, self.next_button):
            widget.setVisible(branched and not self.streaming)
        if branched:
            index = self.siblings.index(self.message.id) if self.message.id in self.siblings else 0
            self.branch_label.setText(f"{index + 1}/{len(self.siblings)}")
            self.prev_button.setEnabled(index > 0)
            self.next_button.setEnabled(index < len(self.siblings) - 1)
        timings = self.message.timings or {}
        parts = []
        if not user and timings and not self.streaming:
            parts.append(self.tr("{tokens} tokens · {speed} tok/s").format(
                tokens=timings.get("completion_tokens", 0), speed=f"{timings.get('tokens_per_s', 0):.1f}"))
        styles = self.message.extra.get("lora") if not user and not self.streaming else None
        if styles:  # the LoRA adapters that wrote this reply
            parts.append(self.tr("style: {names}").format(names=_describe_styles(styles)))
        self.footer.setText(" · ".join(parts))
        self.footer.setVisible(bool(parts))

    # --------------------------------------------------------------- content
    def set_message(self, message: StoredMessage) -> None:
        """New data for the same message id (its final text, status, timings)."""
        changed = message.content != self._text or message.status != self.message.status
        sources_changed = message.extra.get("sources") != self.message.extra.get("sources")
        self.message = message
        if sources_changed:
            self.set_sources(message.extra.get("sources") or [])
        if changed or self.streaming:
            self._text = message.content
            if self.streaming:
                self.finish(message)
            else:
                self.render()
        self._update_header()

    def set_context(self, siblings: list[int], is_last: bool) -> None:
        self.siblings, self.is_last = siblings, is_last
        self._update_header()

    def set_palette(self, palette: Palette) -> None:
        self.palette_ = palette
        if not self.streaming:
            self.render()

    def set_sources(self, sources: list[Any]) -> None:
        if self.sources_block is not None:
            self.sources_block.setParent(None)
            self.sources_block.deleteLater()
            self.sources_block = None
        self.sources = [Source.of(s) for s in sources or []]
        if self.sources:
            self.sources_block = SourcesBlock(self.sources)
            self.layout().insertWidget(self.layout().indexOf(self.footer), self.sources_block)
            view = self._view()
            if view is not None:
                self.sources_block.open_failed.connect(view.problem)

    def render(self) -> None:
        """Render the whole message (used when it is not streaming)."""
        if self.message.role == "user":
            escaped = html.escape(self._text).replace("\n", "<br/>")
            self.body.setHtml(f'<div style="color:{self.palette_.text}">{escaped}</div>')
            self._code_blocks = []
            return
        rendered = render_markdown(self._text, self.palette_, self.tr("Copy"))
        self._code_blocks = rendered.code_blocks
        if not self._text.strip() and self.message.status in ("error", "stopped", "incomplete"):
            note = self.message.error or self.tr("No text was produced.")
            rendered.html = f'<div style="color:{self.palette_.muted}"><i>{html.escape(note)}</i></div>'
        self.body.setHtml(rendered.html)

    # ------------------------------------------------------------- streaming
    def start_streaming(self) -> None:
        self.streaming = True
        self._text = ""
        self._stream = StreamingMarkdown(self.palette_, self.tr("Copy"))
        self.body.clear()
        self.body.hide()
        if self.tail is None:
            self.tail = AutoHeightBrowser()
            self.tail.link_clicked.connect(self._on_link)
            self.layout().insertWidget(self.layout().indexOf(self.body) + 1, self.tail)
        self.tail.setHtml(self._caret_html())
        self.tail.show()
        self._update_header()

    def _caret_html(self) -> str:
        return f'<span style="color:{self.palette_.link}">{STREAM_CARET}</span>'

    def append(self, delta: str) -> None:
        self._text += delta
        if not self._render_timer.isActive():
            self._render_timer.start()

    def _render_stream(self) -> None:
        """Blocks that became final go to the body (once each); only the tail view is rewritten."""
        if not self.streaming or self._stream is None:
            return
        new_blocks, tail = self._stream.update(self._text)
        if new_blocks:
            segment = AutoHeightBrowser()
            segment.link_clicked.connect(self._on_link)
            segment.setHtml(document_html(new_blocks, self.palette_))
            self.layout().insertWidget(self.layout().indexOf(self.tail), segment)
            self.segments.append(segment)
        caret = self._caret_html()
        if tail.endswith("</p>"):
            tail = tail[: -len("</p>")] + caret + "</p>"
        else:
            tail += f"<p>{caret}</p>"
        self.tail.setHtml(tail)

    def flush(self) -> None:
        """Render what has arrived now (the timer would do it within ~33 ms)."""
        if self._render_timer.isActive():
            self._render_timer.stop()
            self._render_stream()

    def finish(self, message: StoredMessage | None, unsaved: bool = False) -> None:
        self._render_timer.stop()
        self.streaming = False
        if self.tail is not None:
            self.tail.hide()
            self.tail.clear()
        for segment in self.segments:
            segment.setParent(None)
            segment.deleteLater()
        self.segments = []
        self.body.show()
        self.unsaved = unsaved
        if message is not None:
            self.message = message
            self._text = message.content if message.content or not unsaved else self._text
            if message.extra.get("sources"):
                self.set_sources(message.extra["sources"])
        self.render()
        self._update_header()

    # -------------------------------------------------------------- editing
    def start_editing(self) -> None:
        if self.editor is not None:
            return
        self.editor = QPlainTextEdit(self._text)
        self.editor.setMinimumHeight(90)
        self.editor_bar = QWidget()
        bar = QHBoxLayout(self.editor_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addStretch(1)
        self._cancel_button = QPushButton(self.tr("Cancel"))
        self._cancel_button.clicked.connect(self.stop_editing)
        self._save_button = QPushButton(self.tr("Save and send"))
        self._save_button.setObjectName("primary")
        self._save_button.clicked.connect(self._submit_edit)
        bar.addWidget(self._cancel_button)
        bar.addWidget(self._save_button)
        layout = self.layout()
        layout.insertWidget(layout.indexOf(self.body), self.editor)
        layout.insertWidget(layout.indexOf(self.body), self.editor_bar)
        self.body.hide()
        self.editor.setFocus()

    def stop_editing(self) -> None:
        if self.editor is None:
            return
        for widget in (self.editor, self.editor_bar):
            widget.setParent(None)
            widget.deleteLater()
        self.editor = self.editor_bar = None
        self.body.show()

    def _submit_edit(self) -> None:
        text = self.editor.toPlainText() if self.editor else ""
        if text.strip():
            self.edit_submitted.emit(self.message.id, text)
            self.stop_editing()

    # ----------------------------------------------------------------- misc
    def _branch(self, step: int) -> None:
        if self.message.id in self.siblings:
            index = self.siblings.index(self.message.id) + step
            if 0 <= index < len(self.siblings):
                self.branch_requested.emit(self.siblings[index])

    def _on_link(self, link: str) -> None:
        if link.startswith("copy:"):
            index = int(link.split(":", 1)[1])
            blocks = self.code_blocks
            if 0 <= index < len(blocks):
                self.copy_requested.emit(blocks[index])
            return
        self.link_clicked.emit(link)

    def _view(self) -> ChatView | None:
        widget = self.parentWidget()
        while widget is not None and not isinstance(widget, ChatView):
            widget = widget.parentWidget()
        return widget


class ChatView(QScrollArea):
    """The messages of the current branch, newest at the bottom."""

    edit_requested = Signal(int, str)
    regenerate_requested = Signal()
    branch_requested = Signal(int)
    copied = Signal()
    problem = Signal(str)

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
        for message in shown:
            widget = existing.get(message.id)
            if widget is None:
                widget = self._make(message)
            elif not widget.streaming:
                widget.set_message(message)
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
        for message in reversed(older):
            self._place(self._make(message), 0)
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

    def _make(self, message: StoredMessage) -> MessageWidget:
        widget = MessageWidget(message, self.palette_, self.container)
        widget.copy_requested.connect(self._copy)
        widget.edit_submitted.connect(self.edit_requested)
        widget.regenerate_requested.connect(self.regenerate_requested)
        widget.branch_requested.connect(self.branch_requested)
        widget.link_clicked.connect(self._open_link)
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
