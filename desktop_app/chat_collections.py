"""Next to the model picker: the documents the current conversation answers from.

A checkable menu of the collections plus a "strict" box; the choice itself lives in the Library page
(``LibraryPage.set_selection``), which saves it with the conversation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QMenu, QToolButton, QWidget

if TYPE_CHECKING:
    from desktop_app.library_page import LibraryPage


class ChatCollections(QWidget):
    """Next to the model picker: which collections the conversation answers from, and strict mode."""

    def __init__(self, library: LibraryPage, parent: QWidget | None = None):
        super().__init__(parent)
        self.library = library
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.button = QToolButton()
        self.button.setObjectName("menuButton")
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu = QMenu(self.button)
        self.menu.aboutToShow.connect(self.fill_menu)
        self.button.setMenu(self.menu)
        self.strict_box = QCheckBox()
        self.strict_box.clicked.connect(self._strict_clicked)
        row.addWidget(self.button)
        row.addWidget(self.strict_box)
        library.collections_changed.connect(lambda _n: self.update_state())
        self.retranslate()

    def retranslate(self) -> None:
        self.strict_box.setText(self.tr("Strict: only from documents"))
        self.strict_box.setToolTip(self.tr("Answer only from the chosen documents; say so when they do not cover it"))
        self.update_state()

    def changeEvent(self, event) -> None:  # noqa: N802
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def update_state(self) -> None:
        names = self.library.selected_collections()
        self.button.setText(self.tr("Documents: {names}").format(names=", ".join(names)) if names
                            else self.tr("Documents: none"))
        self.strict_box.setChecked(self.library.strict())
        self.strict_box.setEnabled(bool(names))

    def fill_menu(self) -> None:
        self.menu.clear()
        chosen = set(self.library.selected_collections())
        names = self.library.names()
        if not names:
            action = self.menu.addAction(self.tr("No collections yet: add folders in the Library"))
            action.setEnabled(False)
        for name in names:
            action = self.menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(name in chosen)
            action.toggled.connect(lambda on, n=name: self.toggle(n, on))

    def toggle(self, name: str, on: bool) -> None:
        names = [n for n in self.library.selected_collections() if n != name] + ([name] if on else [])
        self.library.set_selection(names, self.library.strict())

    def _strict_clicked(self, on: bool) -> None:
        self.library.set_selection(self.library.selected_collections(), on)
