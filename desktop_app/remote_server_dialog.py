""""Add a server…": an OpenAI-compatible server (another Inglenook, llama.cpp's server, LM Studio, vLLM...)
kept as a model. "Test connection" asks it for its models off the GUI thread and shows them, or the
message that says what to do (wrong key, wrong address, no answer)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.model_catalog import ModelCatalog
from engine.models.registry import ModelEntry


class RemoteServerDialog(QDialog):
    def __init__(self, catalog: ModelCatalog, parent: QWidget | None = None):
        super().__init__(parent)
        self.catalog = catalog
        self.added: ModelEntry | None = None
        self._test = 0  # counts tests: only the latest one's answer is shown
        self.setWindowTitle(self.tr("Add a server"))
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        intro = QLabel(self.tr("Any OpenAI-compatible server can be a model: another computer's Inglenook "
                               "(its Local server), llama.cpp's server, LM Studio, vLLM, Ollama's /v1…"))
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setPlaceholderText(self.tr("e.g. office-pc"))
        self.url = QLineEdit()
        self.url.setPlaceholderText("http://192.168.1.20:8080/v1")
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText(self.tr("none"))
        form.addRow(self.tr("Name"), self.name)
        form.addRow(self.tr("Base URL"), self.url)
        form.addRow(self.tr("API key"), self.key)
        layout.addLayout(form)
        self.test_button = QPushButton(self.tr("Test connection"))
        self.test_button.clicked.connect(self.test_connection)
        layout.addWidget(self.test_button, 0, Qt.AlignmentFlag.AlignLeft)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.result)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.add_button = self.buttons.addButton(self.tr("Add"), QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.add)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def test_connection(self) -> None:
        url = self.url.text().strip()
        if not url:
            self.result.setText(self.tr("Type the server's base URL first, e.g. http://127.0.0.1:8080/v1."))
            return
        self._test += 1
        test = self._test
        self.result.setText(self.tr("Asking {url} for its models…").format(url=url))
        self.test_button.setEnabled(False)
        self.catalog.server_models(url, self.key.text().strip() or None,
                                   on_done=lambda models: self._tested(test, models, None),
                                   on_failed=lambda message: self._tested(test, [], message))

    def _tested(self, test: int, models: list[str], problem: str | None) -> None:
        if test != self._test:
            return
        self.test_button.setEnabled(True)
        if problem is not None:
            self.result.setText(self.tr("Not usable: {problem}").format(problem=problem))
        elif models:
            self.result.setText(self.tr("Connected. Its models: {models}").format(models=", ".join(models)))
        else:
            self.result.setText(self.tr("Connected, but the server lists no models."))

    def add(self) -> None:
        name = self.name.text().strip()
        if not name:
            self.result.setText(self.tr("Give the server a name to choose it by."))
            return
        problems: list[str] = []
        entry = self.catalog.add_remote_server(name, self.url.text().strip(), self.key.text().strip() or None,
                                               report=problems.append)
        if entry is not None:
            self.added = entry
            self.accept()
        else:
            self.result.setText(self.tr("Not added: {problem}").format(problem=" ".join(problems)))
