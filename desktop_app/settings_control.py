"""The window's settings and remembered state, kept in the ``HistoryStore``'s settings table.

``SettingsControl`` is a thin adapter: reads fall back to ``DEFAULTS`` when the store fails (the
failure is reported), writes announce themselves with ``setting_changed``.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Signal

from desktop_app.notices import Notices
from engine.chat.history import HistoryStore
from engine.errors import HistoryError

# Settings kept in the HistoryStore's settings table (per data directory).
DEFAULTS: dict[str, Any] = {
    "ui.theme": "light",
    "ui.language": "en",
    "ui.font_size": 10,
    "model.n_threads": 0,  # 0: one per physical core
    "hub.endpoint": "",
    "state.last_model": None,
    "state.last_conversation": None,
    "state.geometry": None,
    "state.collections": [],  # collections a new chat uses (the Library page; each conversation keeps its own)
    "state.strict": False,  # answer only from those documents
    "state.watched": [],  # collections kept current while the app runs (the Library's watch toggle)
    "server.enabled": False,  # the Local server switch (its API key is in the OS keyring, never here)
    "server.host": "127.0.0.1",
    "server.port": 8080,
    "documents.rewrite": "off",  # query rewriting before document search: off wins with the bundled 135M model
}


class SettingsControl(QObject):
    setting_changed = Signal(str, object)

    def __init__(self, store: HistoryStore, notices: Notices, parent: QObject | None = None):
        super().__init__(parent)
        self.store = store
        self.notices = notices

    def setting(self, key: str) -> Any:
        try:
            return self.store.get_setting(key, DEFAULTS.get(key))
        except HistoryError as exc:
            self.notices.error.emit(str(exc))
            return DEFAULTS.get(key)

    def set_setting(self, key: str, value: Any) -> bool:
        try:
            self.store.set_setting(key, value)
        except HistoryError as exc:
            # the translation context stays "AppController", where these strings were first translated
            self.notices.error.emit(QCoreApplication.translate(
                "AppController", "The setting could not be saved: {error}").format(error=exc))
            return False
        self.setting_changed.emit(key, value)
        return True

    @property
    def hub_endpoint(self) -> str | None:
        return (self.setting("hub.endpoint") or "").strip() or None

    def has_history(self) -> bool:
        """Has this data directory ever been used (a model loaded or a conversation saved)?"""
        try:
            return bool(self.store.get_setting("state.last_model")) or bool(self.store.list_conversations(limit=1))
        except HistoryError:
            return False
