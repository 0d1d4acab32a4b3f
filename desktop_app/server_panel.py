"""The Settings page's "Local server" box: the switch, address, port, API key, status and request log."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QWidget,
)

from desktop_app.server_control import RequestLogModel, ServerControl
from desktop_app.widgets import muted


class ServerPanel(QGroupBox):
    def __init__(self, control: ServerControl, parent: QWidget | None = None):
        super().__init__(parent)
        self.control = control
        self.log_model = RequestLogModel(control.log, self)
        form = QFormLayout(self)
        self.switch = QCheckBox()
        self.switch.setChecked(control.enabled)
        self.switch.toggled.connect(control.set_enabled)
        form.addRow(self.switch)
        self._build_address(form)
        self._build_key(form)
        self._build_status(form)
        control.state_changed.connect(self.update_state)
        self.retranslate()

    def _build_address(self, form: QFormLayout) -> None:
        control = self.control
        self.host = QLineEdit(control.address)
        self.host.setPlaceholderText("127.0.0.1")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(control.port)
        self.apply_address_button = QPushButton()
        self.apply_address_button.clicked.connect(self.apply_address)
        self.host.returnPressed.connect(self.apply_address)
        address_row = QHBoxLayout()
        address_row.addWidget(self.host, 1)
        address_row.addWidget(self.port)
        address_row.addWidget(self.apply_address_button)
        self.host_label = QLabel()
        form.addRow(self.host_label, address_row)

    def _build_key(self, form: QFormLayout) -> None:
        control = self.control
        self.key = QLineEdit(control.api_key or "")
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.editingFinished.connect(lambda: control.set_api_key(self.key.text()))
        self.show_key = QCheckBox()
        self.show_key.toggled.connect(lambda on: self.key.setEchoMode(
            QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password))
        self.generate_button = QPushButton()
        self.generate_button.clicked.connect(self.generate_key)
        self.copy_key_button = QPushButton()
        self.copy_key_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.key.text()))
        key_row = QHBoxLayout()
        key_row.addWidget(self.key, 1)
        key_row.addWidget(self.show_key)
        key_row.addWidget(self.generate_button)
        key_row.addWidget(self.copy_key_button)
        self.key_label = QLabel()
        form.addRow(self.key_label, key_row)
        self.key_hint = muted()
        form.addRow(self.key_hint)

    def _build_status(self, form: QFormLayout) -> None:
        """The address to copy, running or why not, and the request log."""
        self.url = QLabel()
        self.url.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.copy_url_button = QPushButton()
        self.copy_url_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.control.url))
        url_row = QHBoxLayout()
        url_row.addWidget(self.url, 1)
        url_row.addWidget(self.copy_url_button)
        self.url_label = QLabel()
        form.addRow(self.url_label, url_row)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_label = QLabel()
        form.addRow(self.status_label, self.status)
        self.log_view = QTableView()
        self.log_view.setModel(self.log_model)
        self.log_view.verticalHeader().hide()
        self.log_view.setShowGrid(False)
        self.log_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.log_view.setMinimumHeight(140)
        self.log_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.log_view.horizontalHeader().setStretchLastSection(True)
        self.log_label = QLabel()
        form.addRow(self.log_label)
        form.addRow(self.log_view)

    # ------------------------------------------------------------------ actions
    def apply_address(self) -> None:
        self.control.set_address(self.host.text(), self.port.value())
        self.update_state()

    def generate_key(self) -> None:
        self.key.setText(self.control.generate_key())

    # ------------------------------------------------------------------ text
    def retranslate(self) -> None:
        self.setTitle(self.tr("Local server"))
        self.switch.setText(self.tr("Serve the loaded model to other apps (OpenAI-compatible API)"))
        self.host_label.setText(self.tr("Address and port"))
        self.apply_address_button.setText(self.tr("Apply"))
        self.key_label.setText(self.tr("API key"))
        self.key.setPlaceholderText(self.tr("none (this computer only)"))
        self.show_key.setText(self.tr("Show"))
        self.generate_button.setText(self.tr("Generate"))
        self.copy_key_button.setText(self.tr("Copy"))
        self.url_label.setText(self.tr("Base URL"))
        self.copy_url_button.setText(self.tr("Copy"))
        self.status_label.setText(self.tr("Status"))
        self.log_label.setText(self.tr("Requests (newest first)"))
        self.log_model.set_headers({"time": self.tr("Time"), "method": self.tr("Method"), "path": self.tr("Path"),
                                    "status": self.tr("Status"), "duration": self.tr("Duration"),
                                    "model": self.tr("Model"), "tokens": self.tr("Tokens")})
        self.update_state()

    def update_state(self) -> None:
        c = self.control
        self.url.setText(c.url)
        if c.api_key and c.key_in_keyring:
            self.key_hint.setText(self.tr("The key is kept in the OS keyring. Clients send it as "
                                          "'Authorization: Bearer <key>' (the openai client's api_key)."))
        elif c.api_key:
            self.key_hint.setText(self.tr("There is no OS keyring here: the key is kept only until Inglenook "
                                          "closes, never saved in plain text."))
        else:
            self.key_hint.setText(self.tr("Without a key the server listens on this computer only "
                                          "(127.0.0.1); any other address needs one."))
        texts = {"off": self.tr("Off"), "starting": self.tr("Starting…"), "stopping": self.tr("Stopping…"),
                 "running": self.tr("Running at {url}").format(url=c.url)}
        if c.state == "failed":
            self.status.setText(self.tr("Not running: {problem}").format(problem=c.problem))
        else:
            self.status.setText(texts.get(c.state, c.state))
        self.status.setObjectName("error" if c.state == "failed" else "")
        if self.switch.isChecked() != c.enabled:
            self.switch.blockSignals(True)
            self.switch.setChecked(c.enabled)
            self.switch.blockSignals(False)
