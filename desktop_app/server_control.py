"""The "Local server" switch: the window's model served over the OpenAI-compatible API.

``ServerControl`` keeps the switch, the address and the port in the settings, the API key in the OS
keyring (for this session only where there is none: never in the database), and starts and stops the
Qt-free ``InAppServer`` off the GUI thread. ``RequestLogModel`` shows the server's request log.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal

from desktop_app.notices import Notices
from desktop_app.qt_models import Index, RowTableModel
from desktop_app.server.in_app import InAppServer, new_api_key, store_api_key, stored_api_key
from desktop_app.server.limits import DEFAULT_PORT
from desktop_app.server.request_log import LoggedRequest, RequestLog
from desktop_app.server.run import is_loopback
from desktop_app.settings_control import SettingsControl
from desktop_app.workers import TaskRunner

DEFAULT_HOST = "127.0.0.1"


class ServerControl(QObject):
    """On/off, address, key and status of the window's local server. ``state_changed`` after each change."""

    state_changed = Signal()

    def __init__(self, host, store, settings: SettingsControl, tasks: TaskRunner, notices: Notices,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.settings = settings
        self.tasks = tasks
        self.notices = notices
        self.log = RequestLog()
        self.server = InAppServer(host, store, self.log)
        self.library = None  # the window's document library (set by the window), for "collections"
        self.state = "off"  # off, starting, running, stopping, failed
        self.problem = ""
        self.api_key: str | None = stored_api_key()
        self.key_in_keyring = self.api_key is not None
        self._wanted = False
        self._busy = False
        self._started_with: tuple = ()

    # ------------------------------------------------------------------ settings
    @property
    def enabled(self) -> bool:
        return bool(self.settings.setting("server.enabled"))

    @property
    def address(self) -> str:
        return (self.settings.setting("server.host") or DEFAULT_HOST).strip()

    @property
    def port(self) -> int:
        return int(self.settings.setting("server.port") or DEFAULT_PORT)

    @property
    def url(self) -> str:
        """The address clients use: the one listening, else the one configured."""
        if self.state == "running" and self.server.url:
            return self.server.url
        host = self.address
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}/v1"

    def needs_key(self, host: str | None = None) -> bool:
        return not is_loopback(host or self.address)

    def set_address(self, host: str, port: int) -> None:
        host = host.strip() or DEFAULT_HOST
        if host == self.address and port == self.port:
            return
        self.settings.set_setting("server.host", host)
        self.settings.set_setting("server.port", int(port))
        if self._wanted:
            self._apply()

    def set_api_key(self, key: str | None) -> None:
        """Keep the key (OS keyring where there is one, else this session only); a running server restarts."""
        key = (key or "").strip() or None
        if key == self.api_key:
            return
        self.api_key = key
        self.key_in_keyring = store_api_key(key) and key is not None
        if key and not self.key_in_keyring:
            self.notices.info.emit(QCoreApplication.translate(
                "ServerControl", "There is no OS keyring here, so the key is kept only until Inglenook closes "
                "(it is never saved in plain text)."))
        self.state_changed.emit()
        if self._wanted:
            self._apply()

    def generate_key(self) -> str:
        key = new_api_key()
        self.set_api_key(key)
        return key

    # ------------------------------------------------------------------ on and off
    def set_enabled(self, on: bool) -> None:
        """The switch: remembered for the next start, then the server starts or stops (off the GUI thread)."""
        self.settings.set_setting("server.enabled", bool(on))
        self._wanted = bool(on)
        self._apply()

    def start_if_enabled(self) -> None:
        """At window start: serve again when the switch was left on."""
        if self.enabled:
            self._wanted = True
            self._apply()

    def follow_model(self, name: str | None, loaded_name: str | None) -> None:
        """The model the window loaded is the one the API serves."""
        self.server.set_model_names([name, loaded_name])

    def _apply(self) -> None:
        """Bring the server to what is wanted; one start or stop at a time (a later wish runs after it)."""
        if self._busy:
            return
        if self._wanted:
            problem = self._refusal()
            if problem:
                if self.server.running:  # e.g. the key was cleared: it must not go on serving without one
                    self.tasks.run(self.server.stop)
                self._set_state("failed", problem)
                return
            self._busy = True
            self._started_with = self._wish()
            self._set_state("starting")
            self.tasks.run(self.server.start, self.address, self.port, self.api_key, self.library,
                           on_done=lambda _url: self._settled("running"),
                           on_failed=lambda message: self._settled("failed", message))
        elif self.state in ("running", "starting", "failed"):
            self._busy = True
            self._set_state("stopping")
            self.tasks.run(self.server.stop, on_done=lambda _r: self._settled("off"),
                           on_failed=lambda message: self._settled("failed", message))

    def _refusal(self) -> str:
        if self.needs_key() and not self.api_key:
            return QCoreApplication.translate(
                "ServerControl", "Listening on {host} lets other machines use the model: set an API key first "
                "(Generate), or use 127.0.0.1.").format(host=self.address)
        if self.api_key and len(self.api_key) < 8:
            return QCoreApplication.translate(
                "ServerControl", "The API key is too short; use at least 8 characters, or Generate one.")
        return ""

    def _wish(self) -> tuple:
        return self.address, self.port, self.api_key

    def _settled(self, state: str, problem: str = "") -> None:
        self._busy = False
        self._set_state(state, problem)
        if self._wanted and state == "off":
            self._apply()  # switched on again while it stopped
        elif not self._wanted and state == "running":
            self._apply()  # switched off while it started
        elif self._wanted and state == "running" and self._started_with != self._wish():
            self._apply()  # the address or key changed while it started: start again with them

    def _set_state(self, state: str, problem: str = "") -> None:
        self.state, self.problem = state, problem
        self.state_changed.emit()

    def shutdown(self) -> None:
        """The window closes: stop serving now (waits a few seconds for replies in flight)."""
        self._wanted = False
        self.server.stop()
        self.state = "off"


class RequestLogModel(RowTableModel):
    """The request log, newest first; it re-reads the Qt-free ``RequestLog`` when that changes."""

    COLUMNS = ("time", "method", "path", "status", "duration", "model", "tokens")

    def __init__(self, log: RequestLog, parent: QObject | None = None):
        super().__init__(parent)
        self.log = log
        self._rows: list[LoggedRequest] = []
        self._version = -1
        self._timer = QTimer(self, interval=300, timeout=self.refresh)
        self._timer.start()

    def refresh(self) -> None:
        if self.log.version == self._version:
            return
        self._version = self.log.version
        self.beginResetModel()
        self._rows = self.log.entries()
        self.endResetModel()

    def set_headers(self, headers: dict[str, str]) -> None:
        self.headers = headers
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self.COLUMNS) - 1)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        item = self.entry(index.row()) if index.isValid() else None
        if item is None or role != Qt.ItemDataRole.DisplayRole:
            return None
        column = self.COLUMNS[index.column()]
        values = {"time": time.strftime("%H:%M:%S", time.localtime(item.at)), "method": item.method,
                  "path": item.path, "status": str(item.status) if item.status else "—",
                  "duration": f"{item.duration_ms:.0f} ms", "model": item.model or "", "tokens": item.tokens}
        return values[column]
