"""Where an answer came from: ``Source`` and the expandable "N sources" list under an answer.

Sources are ``{path, page, heading, snippet, n}`` (dicts, or ``knowledge.answer.Source``);
clicking one opens the file with ``QDesktopServices`` (a PDF at its page, where the viewer can).
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QLabel, QToolButton, QVBoxLayout, QWidget


@dataclass(frozen=True)
class Source:
    """Where part of an answer came from."""

    path: str
    page: int | None = None
    heading: str | None = None
    snippet: str = ""
    n: int | None = None  # the number the answer cites it by: [1], [2]
    quotes: tuple[str, ...] = ()  # sentences of this source quoted in the answer ("Answer with quotes")

    @classmethod
    def of(cls, value: Any) -> Source:
        if isinstance(value, Source):
            return value
        if not isinstance(value, dict):  # knowledge.answer.Source and the like
            value = {k: getattr(value, k, None) for k in ("path", "page", "heading", "snippet", "n")}
        quotes = value.get("quotes") if isinstance(value.get("quotes"), list) else []
        return cls(path=str(value.get("path") or ""), page=value.get("page"), heading=value.get("heading"),
                   snippet=str(value.get("snippet") or ""), n=value.get("n"),
                   quotes=tuple(str(q) for q in quotes if str(q).strip()))

    def url(self) -> QUrl:
        url = QUrl.fromLocalFile(os.fspath(self.path))
        if self.page and str(self.path).lower().endswith(".pdf"):
            url.setFragment(f"page={int(self.page)}")  # viewers that understand it open at the page
        return url


QUOTE_STYLE = "background-color:#fde68a; color:#1f1d1a"


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
        if any(source.quotes for source in sources):
            self.toggle.setChecked(True)  # an answer made of quotes shows where each one is from

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
            if source.quotes:  # the quoted sentences, highlighted (dark text on yellow reads in both themes)
                quoted = " … ".join(f'<span style="{QUOTE_STYLE}">{html.escape(" ".join(q.split()))}</span>'
                                    for q in source.quotes)
                text += f"<br/>{quoted}"
            elif source.snippet:
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
