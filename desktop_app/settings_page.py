"""Settings: appearance, language, threads, the Hub mirror, the data folder and the local server."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_app.controller import AppController
from desktop_app.i18n import LANGUAGES
from desktop_app.locations import choose_data_dir, chosen_data_dir
from desktop_app.server_panel import ServerPanel
from desktop_app.theme import FONT_RANGE, THEMES
from desktop_app.widgets import Page, heading, muted
from engine.errors import InglenookError
from engine.models.hub_types import DEFAULT_ENDPOINT, MIRROR_EXAMPLE
from engine.params import physical_cores


class SettingsPage(Page):
    theme_changed = Signal(str)
    language_changed = Signal(str)
    font_size_changed = Signal(int)

    def __init__(self, controller: AppController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.settings = controller.settings
        self._loading = False
        body = QWidget()
        body.setMaximumWidth(820)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(28, 22, 28, 22)
        layout.setSpacing(12)
        self.title = heading()
        layout.addWidget(self.title)
        layout.addWidget(self._build_appearance())
        layout.addWidget(self._build_models_box())
        layout.addWidget(self._build_hub_box())
        layout.addWidget(self._build_storage_box())
        self.server_panel = ServerPanel(controller.server)
        layout.addWidget(self.server_panel)
        layout.addStretch(1)
        holder = QWidget()
        centered = QHBoxLayout(holder)
        centered.setContentsMargins(0, 0, 0, 0)
        centered.addWidget(body)
        centered.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

        self.theme.currentIndexChanged.connect(self._theme_picked)
        self.language.currentIndexChanged.connect(self._language_picked)
        self.font_size.valueChanged.connect(self._font_picked)
        self.threads.valueChanged.connect(lambda v: self.settings.set_setting("model.n_threads", int(v)))
        self.retranslate()
        self.load()

    def _build_appearance(self) -> QGroupBox:
        self.appearance = QGroupBox()
        form = QFormLayout(self.appearance)
        self.theme = QComboBox()
        self.language = QComboBox()
        for code, name in LANGUAGES.items():
            self.language.addItem(name, code)  # language names stay in their own language
        self.font_size = QSpinBox()
        self.font_size.setRange(*FONT_RANGE)
        self.theme_label, self.language_label, self.font_label = QLabel(), QLabel(), QLabel()
        form.addRow(self.theme_label, self.theme)
        form.addRow(self.language_label, self.language)
        form.addRow(self.font_label, self.font_size)
        return self.appearance

    def _build_models_box(self) -> QGroupBox:
        self.models_box = QGroupBox()
        form = QFormLayout(self.models_box)
        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.threads_label = QLabel()
        self.threads_hint = muted()
        form.addRow(self.threads_label, self.threads)
        form.addRow(self.threads_hint)
        return self.models_box

    def _build_hub_box(self) -> QGroupBox:
        """The Hub address, with a button that fills in a mirror."""
        self.hub_box = QGroupBox()
        form = QFormLayout(self.hub_box)
        self.endpoint = QLineEdit()
        self.endpoint.setPlaceholderText(DEFAULT_ENDPOINT)
        self.endpoint.editingFinished.connect(self._save_endpoint)
        self.mirror_button = QPushButton()
        self.mirror_button.clicked.connect(lambda: self.set_endpoint(MIRROR_EXAMPLE))
        endpoint_row = QHBoxLayout()
        endpoint_row.addWidget(self.endpoint, 1)
        endpoint_row.addWidget(self.mirror_button)
        self.endpoint_label = QLabel()
        self.endpoint_hint = muted()
        form.addRow(self.endpoint_label, endpoint_row)
        form.addRow(self.endpoint_hint)
        return self.hub_box

    def _build_storage_box(self) -> QGroupBox:
        """The data folder: where it is, open it, choose another one (from the next start)."""
        self.storage_box = QGroupBox()
        storage = QVBoxLayout(self.storage_box)
        self.data_path = QLabel()
        self.data_path.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.data_path.setWordWrap(True)
        row = QHBoxLayout()
        self.open_button = QPushButton()
        self.open_button.clicked.connect(self._open_data_dir)
        self.change_button = QPushButton()
        self.change_button.clicked.connect(self._choose_data_dir)
        row.addWidget(self.open_button)
        row.addWidget(self.change_button)
        row.addStretch(1)
        self.data_hint = muted()
        storage.addWidget(self.data_path)
        storage.addLayout(row)
        storage.addWidget(self.data_hint)
        return self.storage_box

    def retranslate(self) -> None:
        self._loading, was = True, self._loading
        self.title.setText(self.tr("Settings"))
        self.appearance.setTitle(self.tr("Appearance"))
        self.theme_label.setText(self.tr("Theme"))
        index = self.theme.currentIndex()
        self.theme.clear()
        names = {"light": self.tr("Light"), "dark": self.tr("Dark")}
        for code in THEMES:
            self.theme.addItem(names[code], code)
        self.theme.setCurrentIndex(max(index, 0))
        self.language_label.setText(self.tr("Language"))
        self.font_label.setText(self.tr("Font size (points)"))
        self.models_box.setTitle(self.tr("Models"))
        self.threads_label.setText(self.tr("CPU threads"))
        self.threads.setSpecialValueText(self.tr("automatic ({n})").format(n=physical_cores()))
        self.threads_hint.setText(self.tr(
            "Used when a model is loaded; a model's own setting on the Models page wins. "
            "More threads than physical cores is usually slower."))
        self.hub_box.setTitle(self.tr("Downloads"))
        self.endpoint_label.setText(self.tr("Hub address"))
        self.mirror_button.setText(self.tr("Use a mirror"))
        self.endpoint_hint.setText(self.tr(
            "Leave empty for Hugging Face. Where it is slow or blocked, a mirror such as {mirror} works the same way.")
            .format(mirror=MIRROR_EXAMPLE))
        self.storage_box.setTitle(self.tr("Data folder"))
        self.open_button.setText(self.tr("Open"))
        self.change_button.setText(self.tr("Change…"))
        self._update_data_hint()
        self.server_panel.retranslate()
        self._loading = was

    def load(self) -> None:
        self._loading = True
        c = self.settings
        self.theme.setCurrentIndex(max(self.theme.findData(c.setting("ui.theme")), 0))
        self.language.setCurrentIndex(max(self.language.findData(c.setting("ui.language")), 0))
        self.font_size.setValue(int(c.setting("ui.font_size")))
        self.threads.setValue(int(c.setting("model.n_threads") or 0))
        self.endpoint.setText(c.setting("hub.endpoint") or "")
        self.data_path.setText(str(self.controller.data_dir()))
        self._loading = False

    def _update_data_hint(self, pending: str | None = None) -> None:
        chosen = pending or (str(chosen_data_dir()) if chosen_data_dir() else None)
        text = self.tr("Chats, settings and downloaded models are kept here.")
        if os.environ.get("INGLENOOK_HOME") and chosen is None:
            text += " " + self.tr("It is set by the INGLENOOK_HOME environment variable.")
        if chosen and chosen != str(self.controller.data_dir()):
            text += " " + self.tr("From the next start: {path}.").format(path=chosen)
        self.data_hint.setText(text)

    # ------------------------------------------------------------------ actions
    def _theme_picked(self) -> None:
        if not self._loading and self.settings.set_setting("ui.theme", self.theme.currentData()):
            self.theme_changed.emit(self.theme.currentData())

    def _language_picked(self) -> None:
        if not self._loading:
            self.set_language(self.language.currentData())

    def set_language(self, code: str) -> None:
        index = self.language.findData(code)
        if index != self.language.currentIndex():
            self.language.setCurrentIndex(index)  # comes back here through _language_picked
            return
        if self.settings.set_setting("ui.language", code):
            self.language_changed.emit(code)

    def _font_picked(self, value: int) -> None:
        if not self._loading and self.settings.set_setting("ui.font_size", int(value)):
            self.font_size_changed.emit(int(value))

    def set_endpoint(self, text: str) -> None:
        self.endpoint.setText(text)
        self._save_endpoint()

    def _save_endpoint(self) -> None:
        value = self.endpoint.text().strip()
        if value and "://" not in value:
            value = "https://" + value
        if value != (self.settings.setting("hub.endpoint") or ""):
            self.endpoint.setText(value)
            self.settings.set_setting("hub.endpoint", value)

    def _open_data_dir(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.controller.data_dir())))

    def _choose_data_dir(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.tr("Choose the data folder"), str(self.controller.data_dir()))
        if path:
            self.change_data_dir(path)

    def change_data_dir(self, path: str) -> bool:
        try:
            folder = choose_data_dir(path)
        except InglenookError as exc:
            self.controller.error.emit(str(exc))
            return False
        self._update_data_hint(str(folder))
        self.controller.info.emit(self.tr(
            "Inglenook will use {path} from the next start. Your chats so far stay in {old}; "
            "copy inglenook.db over to take them along.").format(path=folder, old=self.controller.data_dir()))
        return True
