"""One message of the conversation on screen: header and actions, the rendered body, sources, timings.

While it streams, tokens are appended to its text and a short timer renders at most ~30 times a
second: Markdown blocks that are finished go into small documents of their own, written once,
and only the unfinished tail is re-rendered (``StreamingMarkdown``). When the reply ends, one
render of the whole message replaces the pieces.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from desktop_app.markdown_render import Palette, StreamingMarkdown, document_html, render_markdown
from desktop_app.sources_block import Source, SourcesBlock
from desktop_app.support_marks import insert_marks, mark_html, sentence_marks, strip_marks, unsupported
from desktop_app.widgets import AutoHeightBrowser
from engine.chat.feedback import Feedback
from engine.chat.history import StoredMessage

RENDER_INTERVAL_MS = 33
STREAM_CARET = "▍"


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


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class MessageWidget(QFrame):
    """One message: header with actions, the rendered body, sources and timings."""

    copy_requested = Signal(str)
    edit_submitted = Signal(int, str)
    regenerate_requested = Signal()
    branch_requested = Signal(int)
    link_clicked = Signal(str)
    problem = Signal(str)  # a source could not be opened
    rating_requested = Signal(int, str)  # message id, "up" | "down" (the same again takes it back)
    reply_edit_submitted = Signal(int, str)  # message id, the user's preferred text of a reply
    quotes_requested = Signal(int)  # message id: answer again by quoting the sources

    def __init__(self, message: StoredMessage, palette: Palette, parent: QWidget | None = None):
        super().__init__(parent)
        self.message = message
        self.palette_ = palette
        self.sources: list[Source] = []
        self.siblings: list[int] = []
        self.is_last = False
        self.streaming = False
        self.unsaved = False
        self.feedback: Feedback | None = None
        self._text = message.content
        self.unsupported_count = 0
        self._stream: StreamingMarkdown | None = None
        self._code_blocks: list[str] = []
        self._render_timer = QTimer(self, singleShot=True, interval=RENDER_INTERVAL_MS, timeout=self._render_stream)
        user = message.role == "user"
        self.setObjectName("userBubble" if user else "assistantMessage")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(14, 8, 14, 8)
        outer.setSpacing(2)
        outer.addLayout(self._build_header())
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
        outer.addWidget(self._build_support_notice())
        self.footer = QLabel()
        self.footer.setObjectName("small")
        outer.addWidget(self.footer)
        self.retranslate()
        self.render()
        if message.extra.get("sources"):
            self.set_sources(message.extra["sources"])

    # ---------------------------------------------------------------- pieces
    def _build_header(self) -> QHBoxLayout:
        """Role and status on the left; version switch ‹ n/m › and the actions on the right."""
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
        self.copy_button = self._flat_button("", lambda: self.copy_requested.emit(self.shown_reply()))
        self.edit_button = self._flat_button("", self.start_editing)
        self.regenerate_button = self._flat_button("", lambda: self.regenerate_requested.emit())
        self.up_button = self._flat_button("👍", lambda: self.rating_requested.emit(self.message.id, "up"))
        self.down_button = self._flat_button("👎", lambda: self.rating_requested.emit(self.message.id, "down"))
        for button in (self.up_button, self.down_button):
            button.setCheckable(True)
            button.setObjectName("thumb")
        for widget in (self.copy_button, self.edit_button, self.regenerate_button, self.up_button, self.down_button):
            header.addWidget(widget)
        return header

    def _build_support_notice(self) -> QWidget:
        """A line under a reply with sentences no source supports, and "Answer with quotes"."""
        self.support_notice = QWidget()
        row = QHBoxLayout(self.support_notice)
        row.setContentsMargins(0, 2, 0, 0)
        self.support_label = QLabel()
        self.support_label.setObjectName("small")
        self.support_label.setWordWrap(True)
        self.quotes_button = self._flat_button("", lambda: self.quotes_requested.emit(self.message.id))
        row.addWidget(self.support_label, 1)
        row.addWidget(self.quotes_button)
        self.support_notice.hide()
        return self.support_notice

    def _flat_button(self, text: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName("flat")
        button.setCursor(Qt.CursorShape.PointingHandCursor)
        button.clicked.connect(slot)
        return button

    @property
    def text(self) -> str:
        return self._text

    @property
    def edited(self) -> bool:
        return self.message.role == "assistant" and self.feedback is not None and self.feedback.edited is not None

    def shown_reply(self) -> str:
        """The message's text as the user wants it: a reply's edit when it has one, else the original."""
        return self.feedback.edited if self.edited and not self.streaming else self._text

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
        if not user:
            self.edit_button.setText(self.tr("Edit reply"))
            self.edit_button.setToolTip(self.tr("Write the reply as it should have been; the model's version is "
                                                "kept, and yours can teach a style"))
        self.up_button.setToolTip(self.tr("Good reply (used when you make a style from your rated replies)"))
        self.down_button.setToolTip(self.tr("Bad reply (left out of styles made from rated replies)"))
        self.quotes_button.setText(self.tr("Answer with quotes"))
        self.quotes_button.setToolTip(self.tr("Add an answer made of the sentences in the sources that best answer "
                                              "the question, each with its source"))
        self.prev_button.setToolTip(self.tr("Previous version"))
        self.next_button.setToolTip(self.tr("Next version"))
        if self.editor_bar is not None:
            self._save_button.setText(self.tr("Save and send") if user else self.tr("Save reply"))
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
        elif self.edited and not status:
            status = self.tr("edited by you")
        self.status_label.setText(status)
        if self.message.error and self.message.status == "error":
            self.status_label.setToolTip(self.message.error)
        elif self.edited:
            self.status_label.setToolTip(self.tr("The model wrote: {text}").format(text=_shorten(self._text, 400)))
        else:
            self.status_label.setToolTip("")
        rateable = not user and not self.streaming and self.message.id > 0 and not self.unsaved
        self.edit_button.setVisible((user and not self.streaming) or rateable)
        for button, value in ((self.up_button, 1), (self.down_button, -1)):
            button.setVisible(rateable)
            button.setChecked(self.feedback is not None and self.feedback.rating == value)
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
        changed = changed or message.extra.get("support") != self.message.extra.get("support")
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

    def set_feedback(self, feedback: Feedback | None) -> None:
        """The user's rating and edit of this reply (as saved)."""
        edited_before = self.feedback.edited if self.feedback else None
        self.feedback = feedback
        if (feedback.edited if feedback else None) != edited_before and not self.streaming:
            self.render()
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
            self.sources_block.open_failed.connect(self.problem)

    def render(self, stream: StreamingMarkdown | None = None) -> None:
        """Render the whole message (used when it is not streaming); ``stream``, the message's
        finished stream, saves parsing again what it has rendered already."""
        if self.message.role == "user":
            escaped = html.escape(self._text).replace("\n", "<br/>")
            self.body.setHtml(f'<div style="color:{self.palette_.text}">{escaped}</div>')
            self._code_blocks = []
            return
        copy_label = self.tr("Copy")
        marks = [] if self.edited or self.streaming else sentence_marks(self.message.extra.get("support"), self._text)
        flagged = unsupported(marks)
        self._show_support(len(flagged), len(marks))
        if self.edited:
            rendered = render_markdown(self.feedback.edited, self.palette_, copy_label)
        elif flagged:  # marks go through the Markdown as text, then become underlines
            rendered = render_markdown(insert_marks(self._text, marks), self.palette_, copy_label)
            rendered.code_blocks = [strip_marks(code) for code in rendered.code_blocks]
            rendered.html = mark_html(rendered.html, self.tr("No source supports this sentence"))
        elif stream is not None and stream.palette == self.palette_ and stream.copy_label == copy_label:
            rendered = stream.render(self._text)
        else:
            rendered = render_markdown(self._text, self.palette_, copy_label)
        self._code_blocks = rendered.code_blocks
        if not self._text.strip() and self.message.status in ("error", "stopped", "incomplete"):
            note = self.message.error or self.tr("No text was produced.")
            rendered.html = f'<div style="color:{self.palette_.muted}"><i>{html.escape(note)}</i></div>'
        self.body.setHtml(rendered.html)

    @property
    def quotable(self) -> bool:
        """A reply answered from documents (not itself made of quotes): it can be answered with quotes."""
        extra = self.message.extra
        return (self.message.role == "assistant" and bool(extra.get("collections")) and bool(extra.get("sources"))
                and extra.get("answer") != "quotes" and self.message.id > 0)

    def _show_support(self, flagged: int, total: int) -> None:
        self.unsupported_count = flagged
        self.support_notice.setVisible(self._notice_wanted())
        self.support_label.setVisible(flagged > 0)
        self.quotes_button.setVisible(self.quotable)
        if flagged:
            self.support_label.setText(self.tr(
                "{n} of {total} sentences are not supported by the sources (dotted underline); check them "
                "before you rely on them.").format(n=flagged, total=total))

    def _notice_wanted(self) -> bool:
        return not self.streaming and self.editor is None and (self.unsupported_count > 0 or self.quotable)

    # ------------------------------------------------------------- streaming
    def start_streaming(self) -> None:
        self.streaming = True
        self._text = ""
        self._stream = StreamingMarkdown(self.palette_, self.tr("Copy"))
        self.body.clear()
        self.body.hide()
        self.support_notice.hide()
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
        stream, self._stream = self._stream, None
        self.render(stream)
        self._update_header()

    # -------------------------------------------------------------- editing
    def start_editing(self) -> None:
        if self.editor is not None:
            return
        self.editor = QPlainTextEdit(self.shown_reply())
        self.editor.setMinimumHeight(90)
        self.editor_bar = QWidget()
        bar = QHBoxLayout(self.editor_bar)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addStretch(1)
        self._cancel_button = QPushButton(self.tr("Cancel"))
        self._cancel_button.clicked.connect(self.stop_editing)
        user = self.message.role == "user"
        self._save_button = QPushButton(self.tr("Save and send") if user else self.tr("Save reply"))
        self._save_button.setObjectName("primary")
        self._save_button.clicked.connect(self._submit_edit)
        bar.addWidget(self._cancel_button)
        bar.addWidget(self._save_button)
        layout = self.layout()
        layout.insertWidget(layout.indexOf(self.body), self.editor)
        layout.insertWidget(layout.indexOf(self.body), self.editor_bar)
        self.body.hide()
        self.support_notice.hide()
        self.editor.setFocus()

    def stop_editing(self) -> None:
        if self.editor is None:
            return
        for widget in (self.editor, self.editor_bar):
            widget.setParent(None)
            widget.deleteLater()
        self.editor = self.editor_bar = None
        self.body.show()
        self.support_notice.setVisible(self._notice_wanted())

    def _submit_edit(self) -> None:
        text = self.editor.toPlainText() if self.editor else ""
        if self.message.role == "assistant":  # an empty text takes the edit back
            self.reply_edit_submitted.emit(self.message.id, text)
            self.stop_editing()
        elif text.strip():
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
