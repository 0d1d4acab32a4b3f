"""First run: three ways to get a model, never an empty window."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop_app.widgets import Page, card, heading, muted
from engine.models.bundled import DEFAULT_CHAT_MODEL, installed_bundled


class WelcomePage(Page):
    start_bundled = Signal(str)  # model name
    add_file = Signal(str)  # path of a GGUF
    open_models = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(48, 40, 48, 40)
        outer.addStretch(1)
        self.title = heading()
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.subtitle = muted()
        self.subtitle.setAlignment(Qt.AlignmentFlag.AlignCenter)
        outer.addWidget(self.title)
        outer.addWidget(self.subtitle)
        outer.addSpacing(24)
        row = QHBoxLayout()
        row.setSpacing(18)
        self.cards: list[tuple[QLabel, QLabel, QPushButton]] = []
        for primary in (True, False, False):
            frame, layout = card()
            frame.setMinimumWidth(220)
            frame.setMaximumWidth(340)
            title = heading(level=2)
            title.setWordWrap(True)
            text = muted()
            button = QPushButton()
            if primary:
                button.setObjectName("primary")
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            layout.addWidget(title)
            layout.addWidget(text, 1)
            layout.addWidget(button)
            row.addWidget(frame)
            self.cards.append((title, text, button))
        outer.addLayout(row)
        outer.addSpacing(18)
        self.footer = muted()
        self.footer.setAlignment(Qt.AlignmentFlag.AlignCenter)
        outer.addWidget(self.footer)
        outer.addStretch(2)
        self.bundled_button = self.cards[0][2]
        self.file_button = self.cards[1][2]
        self.download_button = self.cards[2][2]
        self.bundled_button.clicked.connect(self._start_bundled)
        self.file_button.clicked.connect(self._choose_file)
        self.download_button.clicked.connect(self.open_models)
        self.bundled = next((b for b in installed_bundled("chat") if b.spec.name == DEFAULT_CHAT_MODEL), None)
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(self.tr("Welcome to Inglenook"))
        self.subtitle.setText(self.tr("Chat with AI models that run entirely on this computer. Nothing you type leaves it."))
        texts = [
            (self.tr("Start with the built-in model"),
             self.tr("SmolLM2 135M Instruct comes with Inglenook: small and quick, good for trying things out."),
             self.tr("Start chatting")),
            (self.tr("Use a model file you have"),
             self.tr("Any GGUF chat model on this computer, for example one downloaded for another app."),
             self.tr("Choose a GGUF file…")),
            (self.tr("Download a model"),
             self.tr("Get a GGUF from Hugging Face or a mirror of it. Interrupted downloads resume."),
             self.tr("Open the model manager")),
        ]
        for (title, text, button), (t, x, b) in zip(self.cards, texts, strict=True):
            title.setText(t)
            text.setText(x)
            button.setText(b)
        if self.bundled is None:
            self.cards[0][1].setText(self.tr(
                "The built-in model is not installed. Run scripts/setup.sh, or use one of the other options."))
        self.bundled_button.setEnabled(self.bundled is not None)
        self.footer.setText(self.tr("You can switch models at any time from the chat page."))

    def _start_bundled(self) -> None:
        if self.bundled is not None:
            self.start_bundled.emit(self.bundled.spec.name)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Choose a GGUF model"), "",
                                              self.tr("GGUF models (*.gguf);;All files (*)"))
        if path:
            self.add_file.emit(path)
