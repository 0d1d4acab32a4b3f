"""The model manager: bundled, added and downloaded models, their settings, and Hub downloads."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop_app.controller import AppController
from desktop_app.download_control import PartialDownload
from desktop_app.qt_models import ModelListModel
from desktop_app.widgets import Page, heading, muted
from engine.hardware import OffloadPlan
from engine.models.hub_types import DEFAULT_ENDPOINT, DownloadProgress, HubFile
from engine.models.registry import ModelEntry
from engine.units import format_bytes


class ModelsPage(Page):
    open_settings = Signal()

    def __init__(self, controller: AppController, models: ModelListModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.catalog = controller.catalog
        self.downloads = controller.downloads
        self.models = models
        self._hub_files: list[HubFile] = []
        self.server_models: list[str] = []  # the selected remote server's models, once it answered
        self.server_dialog = None
        self._plan_request = 0
        self._plan_timer = QTimer(self, singleShot=True, interval=250, timeout=self.update_plan)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(28, 22, 28, 22)
        layout.setSpacing(10)
        self.title = heading()
        self.subtitle = muted()
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        self._build_table(layout)
        lower = QHBoxLayout()
        lower.setSpacing(16)
        lower.addWidget(self._build_settings_box(), 1, Qt.AlignmentFlag.AlignTop)
        lower.addWidget(self._build_download_box(), 1, Qt.AlignmentFlag.AlignTop)
        for box in (self.settings_box, self.download_box):
            box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        layout.addLayout(lower)
        layout.addStretch(1)
        scroll.setWidget(body)
        outer.addWidget(scroll)

        self._connect_controller()
        self.retranslate()
        self.refresh_partials()
        self._update_download_button()

    def _build_table(self, layout: QVBoxLayout) -> None:
        """The models, with Load, Add and Remove under them."""
        self.table = QTableView()
        self.table.setModel(self.models)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(False)
        self.table.setMinimumHeight(130)
        self.table.setMaximumHeight(230)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda _i: self.load_selected())
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        layout.addWidget(self.table)
        buttons = QHBoxLayout()
        self.load_button = QPushButton()
        self.load_button.setObjectName("primary")
        self.load_button.clicked.connect(self.load_selected)
        self.add_button = QPushButton()
        self.add_button.clicked.connect(self._choose_file)
        self.add_server_button = QPushButton()
        self.add_server_button.clicked.connect(self.add_server)
        self.remove_button = QPushButton()
        self.remove_button.clicked.connect(lambda: self.remove_selected())
        buttons.addWidget(self.load_button)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.add_server_button)
        buttons.addStretch(1)
        buttons.addWidget(self.remove_button)
        layout.addLayout(buttons)

    def _build_settings_box(self) -> QGroupBox:
        """The selected model's context size, threads and GPU layers, with the planner's fit rating."""
        self.settings_box = QGroupBox()
        form = QFormLayout(self.settings_box)
        self.ctx = QSpinBox()
        self.ctx.setRange(256, 1_048_576)
        self.ctx.setSingleStep(256)
        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.gpu_mode = QComboBox()
        self.gpu_layers = QSpinBox()
        self.gpu_layers.setRange(0, 999)
        gpu_row = QHBoxLayout()
        gpu_row.addWidget(self.gpu_mode, 1)
        gpu_row.addWidget(self.gpu_layers)
        self.fit = QLabel()
        self.fit.setWordWrap(True)
        self.fit.setObjectName("muted")
        self.save_settings_button = QPushButton()
        self.save_settings_button.clicked.connect(self.save_settings)
        self.ctx_label, self.threads_label, self.gpu_label = QLabel(), QLabel(), QLabel()
        form.addRow(self.ctx_label, self.ctx)
        form.addRow(self.threads_label, self.threads)
        form.addRow(self.gpu_label, gpu_row)
        form.addRow(self.fit)
        form.addRow(self.save_settings_button)
        for widget in (self.ctx, self.threads, self.gpu_layers):
            widget.valueChanged.connect(lambda _v: self._plan_timer.start())
        self.gpu_mode.currentIndexChanged.connect(self._gpu_mode_changed)
        return self.settings_box

    def _build_download_box(self) -> QGroupBox:
        """Hub downloads: a repository's GGUF files, progress and cancel, then the paused downloads."""
        self.download_box = QGroupBox()
        dl = QVBoxLayout(self.download_box)
        repo_row = QHBoxLayout()
        self.repo = QLineEdit()
        self.repo.returnPressed.connect(self.list_files)
        self.list_button = QPushButton()
        self.list_button.clicked.connect(self.list_files)
        repo_row.addWidget(self.repo, 1)
        repo_row.addWidget(self.list_button)
        dl.addLayout(repo_row)
        self.files = QListWidget()
        self.files.setMinimumHeight(90)
        self.files.setMaximumHeight(170)
        self.files.currentItemChanged.connect(lambda *_a: self._update_download_button())
        self.files.itemDoubleClicked.connect(lambda _i: self.download_selected())
        dl.addWidget(self.files)
        action_row = QHBoxLayout()
        self.download_button = QPushButton()
        self.download_button.setObjectName("primary")
        self.download_button.clicked.connect(self.download_selected)
        self.cancel_button = QPushButton()
        self.cancel_button.clicked.connect(self.downloads.cancel_download)
        self.cancel_button.hide()
        action_row.addWidget(self.download_button)
        action_row.addWidget(self.cancel_button)
        action_row.addStretch(1)
        dl.addLayout(action_row)
        self.progress = QProgressBar()
        self.progress.hide()
        self.progress_label = muted()
        self.progress_label.hide()
        dl.addWidget(self.progress)
        dl.addWidget(self.progress_label)
        self._build_partials(dl)
        self.endpoint_label = muted()
        self.endpoint_label.setTextFormat(Qt.TextFormat.RichText)
        self.endpoint_label.linkActivated.connect(lambda _l: self.open_settings.emit())
        dl.addWidget(self.endpoint_label)
        return self.download_box

    def _build_partials(self, dl: QVBoxLayout) -> None:
        """Downloads that stopped part-way, with Resume and Discard."""
        self.partial_title = QLabel()
        self.partial_title.setObjectName("roleLabel")
        self.partials = QListWidget()
        self.partials.setMaximumHeight(80)
        for view in (self.files, self.partials):
            view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        partial_row = QHBoxLayout()
        self.resume_button = QPushButton()
        self.resume_button.clicked.connect(self.resume_selected)
        self.discard_button = QPushButton()
        self.discard_button.clicked.connect(self.discard_selected)
        partial_row.addWidget(self.resume_button)
        partial_row.addWidget(self.discard_button)
        partial_row.addStretch(1)
        dl.addWidget(self.partial_title)
        dl.addWidget(self.partials)
        dl.addLayout(partial_row)

    def _connect_controller(self) -> None:
        c = self.controller
        self.catalog.models_changed.connect(self._models_changed)
        self.catalog.gpu_support_known.connect(lambda _s: self.update_plan())
        self.downloads.download_progress.connect(self._download_progress)
        self.downloads.download_finished.connect(self._download_finished)
        self.downloads.download_failed.connect(self._download_failed)
        c.settings.setting_changed.connect(lambda key, _v: self._update_endpoint() if key == "hub.endpoint" else None)
        c.loader.model_loaded.connect(lambda _m: self._update_buttons())

    # -------------------------------------------------------------- language
    def retranslate(self) -> None:
        self.title.setText(self.tr("Models"))
        self.subtitle.setText(self.tr(
            "Chat models Inglenook can load. Files you add stay where they are; downloads go to the data folder."))
        self.models.set_labels(
            {"name": self.tr("Name"), "source": self.tr("Source"), "size": self.tr("Size"), "path": self.tr("File")},
            {"bundled": self.tr("Built in"), "local": self.tr("File on disk"), "hub": self.tr("Downloaded"),
             "remote": self.tr("Remote server")},
        )
        self.load_button.setText(self.tr("Load"))
        self.add_button.setText(self.tr("Add GGUF file…"))
        self.add_server_button.setText(self.tr("Add a server…"))
        self.remove_button.setText(self.tr("Remove"))
        self.ctx_label.setText(self.tr("Context size (tokens)"))
        self.threads_label.setText(self.tr("CPU threads"))
        self.threads.setSpecialValueText(self.tr("automatic"))
        self.gpu_label.setText(self.tr("GPU layers"))
        mode = self.gpu_mode.currentIndex()
        self.gpu_mode.blockSignals(True)
        self.gpu_mode.clear()
        self.gpu_mode.addItems([self.tr("Automatic (planner)"), self.tr("All layers"), self.tr("This many:")])
        self.gpu_mode.setCurrentIndex(max(mode, 0))
        self.gpu_mode.blockSignals(False)
        self.save_settings_button.setText(self.tr("Save settings"))
        self.download_box.setTitle(self.tr("Download from Hugging Face"))
        self.repo.setPlaceholderText(self.tr("Repository, e.g. bartowski/SmolLM2-360M-Instruct-GGUF"))
        self.list_button.setText(self.tr("List files"))
        self.download_button.setText(self.tr("Download"))
        self.cancel_button.setText(self.tr("Cancel"))
        self.partial_title.setText(self.tr("Paused downloads"))
        self.resume_button.setText(self.tr("Resume"))
        self.discard_button.setText(self.tr("Discard"))
        self._update_endpoint()
        self._selection_changed()
        self.refresh_partials()

    def _update_endpoint(self) -> None:
        endpoint = self.controller.settings.hub_endpoint or DEFAULT_ENDPOINT
        self.endpoint_label.setText(self.tr('From {endpoint}. <a href="settings">Change the mirror in Settings</a>.')
                                    .format(endpoint=endpoint))

    # ---------------------------------------------------------------- models
    def selected(self) -> ModelEntry | None:
        rows = self.table.selectionModel().selectedRows()
        return self.models.entry(rows[0].row()) if rows else None

    def select(self, name: str) -> None:
        row = self.models.row_of(name)
        if row >= 0:
            self.table.selectRow(row)

    def _models_changed(self) -> None:
        selected = self.selected()
        self.models.refresh()
        if selected is not None:
            self.select(selected.name)
        self._selection_changed()
        self.refresh_partials()

    def _selection_changed(self, *_args) -> None:
        entry = self.selected()
        self.settings_box.setEnabled(entry is not None and not entry.is_remote)
        if entry is not None and entry.is_remote:
            self._show_server(entry)
        elif entry is None:
            self.settings_box.setTitle(self.tr("Model settings"))
            self.fit.setText(self.tr("Select a model to see its settings."))
        else:
            self.settings_box.setTitle(self.tr("Settings for {name}").format(name=entry.title or entry.name))
            widgets = (self.ctx, self.threads, self.gpu_layers, self.gpu_mode)
            for widget in widgets:
                widget.blockSignals(True)
            self.ctx.setValue(int(entry.settings.get("n_ctx") or 4096))
            self.threads.setValue(int(entry.settings.get("n_threads") or 0))
            gpu = entry.settings.get("n_gpu_layers", "auto")
            self.gpu_mode.setCurrentIndex(0 if gpu in (None, "auto") else 1 if gpu == -1 else 2)
            self.gpu_layers.setValue(gpu if isinstance(gpu, int) and gpu >= 0 else 0)
            self.gpu_layers.setEnabled(self.gpu_mode.currentIndex() == 2)
            for widget in widgets:
                widget.blockSignals(False)
            self.update_plan()
        self._update_buttons()

    def _update_buttons(self) -> None:
        entry = self.selected()
        self.load_button.setEnabled(entry is not None)
        self.remove_button.setEnabled(entry is not None and entry.source != "bundled")

    def _gpu_mode_changed(self) -> None:
        self.gpu_layers.setEnabled(self.gpu_mode.currentIndex() == 2)
        self._plan_timer.start()

    def _gpu_setting(self) -> int | str:
        return ["auto", -1, self.gpu_layers.value()][self.gpu_mode.currentIndex()]

    def _show_server(self, entry: ModelEntry) -> None:
        """A remote server has no local settings: its box lists the server's models instead (asked off the GUI
        thread, with a short timeout)."""
        self._plan_request += 1
        request = self._plan_request
        self.settings_box.setTitle(self.tr("{name} (remote server)").format(name=entry.name))
        self.fit.setText(self.tr("Asking {url} for its models…").format(url=entry.url))

        def done(models: list[str]) -> None:
            if request == self._plan_request:
                self.server_models = models
                self.fit.setText(self.tr("Its models: {models}").format(models=", ".join(models) or "—"))

        def failed(message: str) -> None:
            if request == self._plan_request:
                self.server_models = []
                self.fit.setText(self.tr("Not usable now: {problem}").format(problem=message))

        self.catalog.server_models(entry.url, None, on_done=done, on_failed=failed)

    def add_server(self):
        """"Add a server…": opens the dialog (window-modal, not blocking) and returns it."""
        from desktop_app.remote_server_dialog import RemoteServerDialog

        dialog = RemoteServerDialog(self.catalog, self)
        dialog.accepted.connect(lambda: self._server_added(dialog.added))
        self.server_dialog = dialog
        dialog.open()
        return dialog

    def _server_added(self, entry: ModelEntry | None) -> None:
        if entry is not None:
            self.select(entry.name)
            self.controller.info.emit(self.tr("Added {name}. Load it to chat through that server.")
                                      .format(name=entry.name))

    def update_plan(self) -> None:
        entry = self.selected()
        if entry is None or entry.is_remote:
            return
        self._plan_request += 1
        request = self._plan_request
        self.fit.setText(self.tr("Checking what fits…"))
        self.catalog.plan(entry, self.ctx.value(), self._gpu_setting(),
                             on_done=lambda plan: self._show_plan(plan, request),
                             on_failed=lambda message: self._plan_failed(message, request))

    def _plan_failed(self, message: str, request: int) -> None:
        if request == self._plan_request:
            self.fit.setText(message)

    def _show_plan(self, plan: OffloadPlan, request: int) -> None:
        if request != self._plan_request:
            return
        rating = {
            "fits": self.tr("Fits on the GPU"),
            "partial": self.tr("Partly on the GPU ({n} of {total} layers)").format(
                n=plan.n_gpu_layers, total=plan.total_layers),
            "none": self.tr("Does not fit on the GPU: runs on the CPU"),
            "cpu-only": self.tr("CPU only"),
        }.get(plan.fit, plan.fit)
        if plan.gpu_bytes:
            memory = self.tr("about {gpu} on the GPU, {cpu} in RAM").format(
                gpu=format_bytes(plan.gpu_bytes), cpu=format_bytes(plan.cpu_bytes))
        else:
            memory = self.tr("about {cpu} in RAM").format(cpu=format_bytes(plan.cpu_bytes))
        self.fit.setText(f"<b>{rating}</b> · {memory}<br/>{plan.message}")
        self.fit.setProperty("fit", plan.fit)

    def save_settings(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        threads = self.threads.value() or None
        settings = {"n_ctx": self.ctx.value(), "n_gpu_layers": self._gpu_setting()}
        if threads:
            settings["n_threads"] = threads
        if self.catalog.update_model_settings(entry.name, **settings) is not None:
            self.controller.info.emit(self.tr("Saved. The settings apply the next time {name} is loaded.")
                                      .format(name=entry.name))

    def load_selected(self) -> None:
        entry = self.selected()
        if entry is not None:
            self.controller.loader.load_model(entry.name)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Choose a GGUF model"), "",
                                              self.tr("GGUF models (*.gguf);;All files (*)"))
        if path:
            self.add_file(path)

    def add_file(self, path: str) -> ModelEntry | None:
        entry = self.catalog.add_local_model(path)
        if entry is not None:
            self.select(entry.name)
            self.controller.info.emit(self.tr("Added {name}.").format(name=entry.name))
        return entry

    def remove_selected(self, confirm: bool = True, delete_file: bool = False) -> None:
        entry = self.selected()
        if entry is None:
            return
        if confirm:
            box = QMessageBox(QMessageBox.Icon.Question, self.tr("Remove model"),
                              self.tr("Remove {name} from the list?").format(name=entry.name), parent=self)
            remove = box.addButton(self.tr("Remove"), QMessageBox.ButtonRole.AcceptRole)
            delete = None
            if entry.source == "hub":
                delete = box.addButton(self.tr("Remove and delete the file"), QMessageBox.ButtonRole.DestructiveRole)
            box.addButton(QMessageBox.StandardButton.Cancel)
            box.exec()
            if box.clickedButton() not in (remove, delete):
                return
            delete_file = box.clickedButton() is delete
        self.catalog.remove_model(entry.name, delete_file=delete_file)

    # ------------------------------------------------------------- downloads
    def list_files(self) -> None:
        repo = self.repo.text().strip()
        if not repo:
            return
        self.files.clear()
        self.list_button.setEnabled(False)
        self.files.addItem(self.tr("Asking the Hub…"))

        def done(files: list[HubFile]) -> None:
            self.list_button.setEnabled(True)
            self.show_files(files)

        def failed(message: str) -> None:
            self.list_button.setEnabled(True)
            self.files.clear()
            self.controller.error.emit(message)

        self.downloads.list_hub_files(repo, done, failed)

    def show_files(self, files: list[HubFile]) -> None:
        self._hub_files = files
        self.files.clear()
        if not files:
            self.files.addItem(self.tr("This repository has no GGUF files."))
        for item in files:
            size = format_bytes(item.size) if item.size else "?"
            entry = QListWidgetItem(f"{item.filename}  ·  {size}")
            entry.setData(Qt.ItemDataRole.UserRole, item.filename)
            self.files.addItem(entry)
        if files:
            self.files.setCurrentRow(0)

    def _update_download_button(self) -> None:
        item = self.files.currentItem()
        busy = self.downloads.worker is not None
        self.download_button.setEnabled(not busy and item is not None
                                        and bool(item.data(Qt.ItemDataRole.UserRole)))

    def download_selected(self) -> None:
        item = self.files.currentItem()
        filename = item.data(Qt.ItemDataRole.UserRole) if item else None
        if filename:
            self.start_download(self.repo.text().strip(), filename)

    def start_download(self, repo_id: str, filename: str) -> None:
        if self.downloads.download(repo_id, filename):
            self.progress.setRange(0, 0)
            self.progress.show()
            self.progress_label.setText(self.tr("Starting {file}…").format(file=filename))
            self.progress_label.show()
            self.cancel_button.show()
            self.download_button.setEnabled(False)
            self.resume_button.setEnabled(False)

    def _download_progress(self, progress: DownloadProgress) -> None:
        if progress.total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(progress.downloaded / progress.total * 1000))
        text = self.tr("{file}: {done} of {total} · {rate}/s").format(
            file=progress.filename, done=format_bytes(progress.downloaded),
            total=format_bytes(progress.total) if progress.total else "?", rate=format_bytes(progress.bytes_per_s))
        if progress.resumed_from:
            text += " · " + self.tr("resumed at {size}").format(size=format_bytes(progress.resumed_from))
        self.progress_label.setText(text)

    def _download_ended(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()
        self._update_download_button()
        self.resume_button.setEnabled(True)
        self.refresh_partials()

    def _download_finished(self, entry: ModelEntry) -> None:
        self._download_ended()
        self.progress_label.setText(self.tr("Downloaded and verified {name}.").format(name=entry.name))
        self.select(entry.name)
        self.controller.info.emit(self.tr("{name} is ready: load it here or pick it in the chat.").format(name=entry.name))

    def _download_failed(self, message: str, cancelled: bool) -> None:
        self._download_ended()
        if cancelled:
            self.progress_label.setText(self.tr("Cancelled. The part already downloaded is kept: resume it below."))
            self.controller.info.emit(message)
        else:
            self.progress_label.setText(self.tr("The download stopped. Anything already downloaded is kept."))
            self.controller.error.emit(message)

    def refresh_partials(self) -> None:
        self.partials.clear()
        partial_list = self.downloads.partial_downloads()
        for partial in partial_list:
            item = QListWidgetItem(f"{partial.repo_id} / {partial.filename}  ·  {format_bytes(partial.size)}")
            item.setData(Qt.ItemDataRole.UserRole, partial)
            self.partials.addItem(item)
        visible = bool(partial_list)
        for widget in (self.partial_title, self.partials, self.resume_button, self.discard_button):
            widget.setVisible(visible)
        if visible:
            self.partials.setCurrentRow(0)

    def _selected_partial(self) -> PartialDownload | None:
        item = self.partials.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def resume_selected(self) -> None:
        partial = self._selected_partial()
        if partial is not None:
            self.start_download(partial.repo_id, partial.filename)

    def discard_selected(self) -> None:
        partial = self._selected_partial()
        if partial is not None:
            self.downloads.discard_partial(partial)
            self.refresh_partials()
