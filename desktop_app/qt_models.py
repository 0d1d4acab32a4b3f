"""Qt item models: thin, read-only adapters over the core's stores. Changes go through the core."""

from __future__ import annotations

import time

from PySide6.QtCore import QAbstractListModel, QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from engine.chat.history import Conversation, HistoryStore
from engine.models.registry import ModelEntry, ModelRegistry
from engine.units import format_bytes

IdRole = Qt.ItemDataRole.UserRole + 1
NameRole = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex


class ConversationListModel(QAbstractListModel):
    """Saved conversations, newest first; a search filters by title and message text."""

    def __init__(self, store: HistoryStore, parent=None):
        super().__init__(parent)
        self.store = store
        self.query = ""
        self._rows: list[tuple[Conversation, str]] = []

    def refresh(self, query: str | None = None) -> None:
        if query is not None:
            self.query = query.strip()
        rows = self.store.search(self.query) if self.query else [(c, "") for c in self.store.list_conversations()]
        self.beginResetModel()  # only once the rows are read: a failed read leaves the list as it was
        self._rows = rows
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        conversation, snippet = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return conversation.title
        if role == Qt.ItemDataRole.ToolTipRole:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(conversation.updated_at))
            return f"{conversation.title}\n{when}" + (f"\n{snippet}" if snippet else "")
        if role == IdRole:
            return conversation.id
        return None

    def conversation_id(self, row: int) -> int | None:
        return self._rows[row][0].id if 0 <= row < len(self._rows) else None

    def row_of(self, conversation_id: int | None) -> int:
        return next((i for i, (c, _) in enumerate(self._rows) if c.id == conversation_id), -1)


class RowTableModel(QAbstractTableModel):
    """A read-only table of ``_rows``, one per row, with the columns named in ``COLUMNS`` and their
    (translated) titles in ``headers``; subclasses fill the rows and say what each cell shows."""

    COLUMNS: tuple[str, ...] = ()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list = []
        self.headers: dict[str, str] = {c: c for c in self.COLUMNS}

    def entry(self, row: int):
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers.get(self.COLUMNS[section], "")
        return None


class ModelListModel(RowTableModel):
    """Chat models: bundled, added from disk, downloaded, remote servers. Column 0 is the name (also for combo
    boxes); the last column is the file, or the server's address."""

    COLUMNS = ("name", "source", "size", "path")

    def __init__(self, registry: ModelRegistry, parent=None):
        super().__init__(parent)
        self.registry = registry
        self._rows: list[ModelEntry] = []
        self.headers = {"name": "Name", "source": "Source", "size": "Size", "path": "File"}
        self.sources = {"bundled": "Bundled", "local": "Local file", "hub": "Downloaded"}

    def refresh(self) -> None:
        self.beginResetModel()
        self._rows = self.registry.list("chat")
        self.endResetModel()

    def set_labels(self, headers: dict[str, str], sources: dict[str, str]) -> None:
        """Translated header and source names (the page that shows the model supplies them)."""
        self.headers, self.sources = headers, sources
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self.COLUMNS) - 1)
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(self.COLUMNS) - 1))

    @property
    def entries(self) -> list[ModelEntry]:
        return list(self._rows)

    def row_of(self, name: str | None) -> int:
        return next((i for i, e in enumerate(self._rows) if e.name == name), -1)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        entry = self.entry(index.row()) if index.isValid() else None
        if entry is None:
            return None
        column = self.COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            if column == "name":
                return entry.title or entry.name
            if column == "source":
                return self.sources.get(entry.source, entry.source)
            if column == "size":
                return format_bytes(entry.size) if entry.size else ""
            return entry.location
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{entry.name}\n{entry.location}"
        if role in (IdRole, NameRole):
            return entry.name
        return None
