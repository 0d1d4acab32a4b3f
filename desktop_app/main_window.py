"""The main window: navigation rail, pages, the notice bar and the model status bar."""

from __future__ import annotations

import threading

from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QApplication,
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.chat_collections import ChatCollections
from desktop_app.chat_page import ChatPage
from desktop_app.controller import AppController
from desktop_app.evaluate_page import EvaluatePage
from desktop_app.gc_guard import collect_on_gui_thread
from desktop_app.i18n import current_language, install_language
from desktop_app.library_page import LibraryPage
from desktop_app.markdown_render import warm_up
from desktop_app.models_page import ModelsPage
from desktop_app.qt_models import ModelListModel
from desktop_app.settings_page import SettingsPage
from desktop_app.theme import apply_theme
from desktop_app.welcome_page import WelcomePage
from desktop_app.widgets import NoticeBar
from engine.errors import HistoryError
from engine.runtimes.base import LoadedModel

PAGES = ("chat", "library", "models", "evaluate", "settings")
BACKGROUND_AT_LATEST_MS = 1500  # when no paint came first (a window that is never shown)


class MainWindow(QMainWindow):
    def __init__(self, controller: AppController | None = None, *, restore: bool = True):
        super().__init__()
        collect_on_gui_thread()  # before any worker thread starts (desktop_app/gc_guard.py says why)
        self.controller = controller or AppController()
        c = self.controller
        self.setWindowTitle("Inglenook")
        self.setMinimumSize(760, 520)
        self.models = ModelListModel(c.registry, self)
        self.models.refresh()

        central = QWidget()
        root = QHBoxLayout(central)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        root.addWidget(self._build_rail())
        root.addWidget(self._build_content(), 1)
        self.setCentralWidget(central)
        self._build_status_bar()
        self._connect()

        language = c.settings.setting("ui.language")
        if language != current_language():
            install_language(language)
        self.apply_appearance()
        self.retranslate()
        if restore:
            self.restore_state()
        else:
            self.resize(1200, 780)
            self.show_page("welcome" if not c.settings.has_history() else "chat")
        self._background_started = False
        self.installEventFilter(self)  # the first paint starts the background work
        QTimer.singleShot(BACKGROUND_AT_LATEST_MS, self._start_background_work)  # a window never painted too

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self and event.type() == QEvent.Type.Paint and not self._background_started:
            QTimer.singleShot(0, self._start_background_work)
        return super().eventFilter(watched, event)

    def _start_background_work(self) -> None:
        """After the first paint: what loads native libraries or big modules (llama.cpp for the GPU check,
        LanceDB and pyarrow, Pygments, the web server) would otherwise compete with it for the disk and
        the interpreter, and a cold start's first paint waited seconds for them."""
        if self._background_started:
            return
        self._background_started = True
        self.removeEventFilter(self)
        c = self.controller
        c.catalog.detect_gpu()
        c.server.start_if_enabled()  # the Local server was on when the window last closed
        threading.Thread(target=warm_up, name="inglenook-warm-up", daemon=True).start()
        self.library.start_background_work()
        QTimer.singleShot(100, self.chat.view.warm_up)  # the first reply then starts without a hitch

    def _build_rail(self) -> QWidget:
        """The navigation rail: the app's name and a button per page."""
        rail = QWidget()
        rail.setObjectName("navRail")
        rail.setFixedWidth(118)
        rail_layout = QVBoxLayout(rail)
        rail_layout.setContentsMargins(8, 14, 8, 12)
        rail_layout.setSpacing(4)
        self.app_name = QLabel("Inglenook")
        self.app_name.setObjectName("appName")
        self.app_name.setAlignment(Qt.AlignmentFlag.AlignCenter)
        rail_layout.addWidget(self.app_name)
        rail_layout.addSpacing(14)
        self.nav = QButtonGroup(self)
        self.nav.setExclusive(True)
        self.nav_buttons: dict[str, QToolButton] = {}
        for name in PAGES:
            button = QToolButton()
            button.setObjectName("navButton")
            button.setCheckable(True)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.clicked.connect(lambda _checked=False, n=name: self.show_page(n))
            self.nav.addButton(button)
            self.nav_buttons[name] = button
            rail_layout.addWidget(button)
        rail_layout.addStretch(1)
        self.about_button = QToolButton()  # About and diagnostics (what `nook doctor` checks)
        self.about_button.setObjectName("navButton")
        self.about_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.about_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        rail_layout.addWidget(self.about_button)
        return rail

    def _build_content(self) -> QWidget:
        """The notice bar over the pages."""
        c = self.controller
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        self.notice = NoticeBar()
        notice_holder = QWidget()
        holder = QVBoxLayout(notice_holder)
        holder.setContentsMargins(12, 8, 12, 0)
        holder.addWidget(self.notice)
        self.notice_holder = notice_holder
        column.addWidget(notice_holder)
        self.stack = QStackedWidget()
        self.welcome = WelcomePage()
        self.chat = ChatPage(c, self.models)
        self.library = LibraryPage(c)
        c.server.library = self.library.library  # the API's "collections" are the Library's
        self.chat_collections = ChatCollections(self.library)
        self.chat.context_row.insertWidget(0, self.chat_collections)  # under the model picker
        self.models_page = ModelsPage(c, self.models)
        self.settings = SettingsPage(c)
        self.evaluate = EvaluatePage(c, self.library)
        self.pages = {"welcome": self.welcome, "chat": self.chat, "library": self.library,
                      "models": self.models_page, "evaluate": self.evaluate, "settings": self.settings}
        for page in self.pages.values():
            self.stack.addWidget(page)
        column.addWidget(self.stack, 1)
        return content

    def _build_status_bar(self) -> None:
        """The model's state, and its load progress with a cancel button."""
        bar = self.statusBar()
        self.model_status = QLabel()
        self.load_bar = QProgressBar()
        self.load_bar.setFixedWidth(180)
        self.load_bar.setRange(0, 100)
        self.load_bar.hide()
        self.cancel_load_button = QPushButton()
        self.cancel_load_button.setObjectName("flat")
        self.cancel_load_button.clicked.connect(self.controller.loader.cancel_load)
        self.cancel_load_button.hide()
        bar.addWidget(self.model_status, 1)
        bar.addPermanentWidget(self.load_bar)
        bar.addPermanentWidget(self.cancel_load_button)

    def _connect(self) -> None:
        c = self.controller
        c.error.connect(lambda text: self.notice.show_message(text, "error"))
        c.info.connect(lambda text: self.notice.show_message(text, "info"))
        c.loader.load_started.connect(self._load_started)
        c.loader.load_progress.connect(self._load_progress)
        c.loader.model_loaded.connect(self._model_loaded)
        c.loader.load_failed.connect(self._load_failed)
        c.catalog.models_changed.connect(self.models.refresh)
        self.welcome.start_bundled.connect(c.loader.load_model)
        self.welcome.add_file.connect(self._add_and_load)
        self.welcome.open_models.connect(lambda: self.show_page("models"))
        self.chat.open_models.connect(lambda: self.show_page("models"))
        self.models_page.open_settings.connect(lambda: self.show_page("settings"))
        self.settings.theme_changed.connect(lambda _t: self.apply_appearance())
        self.settings.font_size_changed.connect(lambda _s: self.apply_appearance())
        self.settings.language_changed.connect(self.set_language)
        self.about_button.clicked.connect(self.show_diagnostics)
        self.chat.view.quotes_requested.connect(self.answer_with_quotes)

    # --------------------------------------------------------------- pages
    def show_page(self, name: str) -> None:
        c = self.controller
        if name == "chat" and self.stack.currentWidget() is self.welcome and c.host.loaded is None \
                and not c.loader.loading and not c.settings.has_history():
            name = "welcome"  # first run: the welcome page is the chat page until a model is chosen
        page = self.pages[name]
        self.stack.setCurrentWidget(page)
        button = self.nav_buttons.get("chat" if name == "welcome" else name)
        if button is not None:
            button.setChecked(True)
        if name == "models":
            self.models_page.refresh_partials()

    @property
    def current_page(self) -> str:
        return next(n for n, p in self.pages.items() if p is self.stack.currentWidget())

    def answer_with_quotes(self, message_id: int) -> None:
        """Add a version of a grounded reply made of quoted source sentences (off the GUI thread)."""
        from desktop_app.quoted_reply import quoted_reply

        c = self.controller
        if c.busy:
            return
        c.run_task(quoted_reply, self.library.library, c.store, message_id,
                   on_done=lambda message: c.conversations.show_branch(message.id))

    # ------------------------------------------------------ look and language
    def apply_appearance(self) -> None:
        settings = self.controller.settings
        apply_theme(QApplication.instance(), settings.setting("ui.theme"), int(settings.setting("ui.font_size")),
                    current_language())
        self.chat.apply_theme()

    def set_language(self, code: str) -> None:
        ok = install_language(code)
        self.apply_appearance()  # Chinese gets a font that covers it
        if not ok:
            self.notice.show_message(self.tr("The translation file for this language is missing; "
                                             "run scripts/build_translations.py."), "error")

    def show_diagnostics(self):
        """The About dialog with the doctor's checks (run off the GUI thread)."""
        from desktop_app.diagnostics_dialog import show_diagnostics

        self.diagnostics = show_diagnostics(self.controller.host, self)
        return self.diagnostics

    def changeEvent(self, event) -> None:  # noqa: N802
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        labels = {"chat": self.tr("Chat"), "library": self.tr("Library"), "models": self.tr("Models"),
                  "evaluate": self.tr("Evaluate"), "settings": self.tr("Settings")}
        for name, button in self.nav_buttons.items():
            button.setText(labels[name])
        self.cancel_load_button.setText(self.tr("Cancel loading"))
        self.about_button.setText(self.tr("About"))
        self.about_button.setToolTip(self.tr("About Inglenook: runtime, CPU, GPU, disk and a test reply"))
        self.notice.close_button.setToolTip(self.tr("Dismiss"))
        self._update_model_status()

    # ---------------------------------------------------------------- models
    def _add_and_load(self, path: str) -> None:
        entry = self.controller.catalog.add_local_model(path)
        if entry is not None:
            self.controller.loader.load_model(entry.name)

    def _load_started(self, name: str) -> None:
        self.load_bar.setValue(0)
        self.load_bar.show()
        self.cancel_load_button.show()
        self.model_status.setText(self.tr("Loading {name}…").format(name=name))

    def _load_progress(self, fraction: float) -> None:
        self.load_bar.setValue(int(fraction * 100))

    def _load_ended(self) -> None:
        self.load_bar.hide()
        self.cancel_load_button.hide()
        self._update_model_status()

    def _model_loaded(self, loaded: LoadedModel) -> None:
        self._load_ended()
        if self.stack.currentWidget() is self.welcome:
            self.show_page("chat")
        self.notice.show_message(self.tr("{name} is loaded ({ms} ms). {offload}").format(
            name=loaded.name, ms=f"{loaded.load_ms:.0f}", offload=loaded.offload_message), "info", 5000)

    def _load_failed(self, message: str, cancelled: bool) -> None:
        self._load_ended()
        if cancelled:
            self.notice.show_message(self.tr("Loading was cancelled; no model is loaded."), "info")
        else:
            self.notice.show_message(self.tr("The model could not be loaded: {error}").format(error=message), "error")

    def _update_model_status(self) -> None:
        loader = self.controller.loader
        if loader.loading:
            self.model_status.setText(self.tr("Loading {name}…").format(name=loader.loading))
        elif loader.host.loaded is not None and loader.host.loaded.architecture == "remote":
            entry = loader.loaded_entry
            self.model_status.setText(self.tr("{name} · {model} on {url}").format(
                name=entry.name if entry else loader.host.loaded.name, model=loader.host.loaded.name,
                url=entry.url if entry and entry.url else loader.host.loaded.path))
        elif loader.host.loaded is not None:
            loaded = loader.host.loaded
            self.model_status.setText(self.tr("{name} · context {n_ctx} · {gpu}").format(
                name=loader.loaded_entry.name if loader.loaded_entry else loaded.name, n_ctx=loaded.n_ctx,
                gpu=self.tr("{n}/{total} layers on the GPU").format(n=loaded.n_gpu_layers, total=loaded.total_layers)
                if loaded.n_gpu_layers else self.tr("CPU")))
        else:
            self.model_status.setText(self.tr("No model loaded"))

    # ----------------------------------------------------------------- state
    def restore_state(self) -> None:
        """Window geometry, the last conversation and the last model, as they were."""
        c = self.controller
        geometry = c.settings.setting("state.geometry")
        if not geometry or not self.restoreGeometry(QByteArray.fromBase64(geometry.encode("ascii"))):
            self.resize(1200, 780)
        last = c.settings.setting("state.last_conversation")
        if last is not None:
            try:
                c.store.get_conversation(int(last))
            except (HistoryError, ValueError, TypeError):
                last = None
            if last is not None:
                c.conversations.open_conversation(int(last))
        model = c.settings.setting("state.last_model")
        if model:
            self.show_page("chat")
            c.loader.load_model(model)
        else:
            self.show_page("chat" if c.settings.has_history() else "welcome")

    def save_state(self) -> None:
        c = self.controller
        c.settings.set_setting("state.geometry", bytes(self.saveGeometry().toBase64()).decode("ascii"))
        c.settings.set_setting("state.last_conversation", c.conversations.conversation_id)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.save_state()
        self.controller.server.shutdown()  # before the library and the model go
        self.evaluate.shutdown()
        self.library.shutdown()
        self.controller.shutdown()
        self.library.close_catalog()
        super().closeEvent(event)
