"""A collection's index settings in the window: which embedding model, chunk and passage sizes, and how
Chinese text is split for full-text search; and the download of a multilingual embedder it may need.

The choices and their meaning come from the Qt-free core (``knowledge.embedder_hub.embedder_choices``,
``knowledge.catalog.DEFAULT_SETTINGS``, ``knowledge.textsearch.SEGMENTERS``), the same ones
`nook collections set` and `nook embedders` use. Applying a change is the Library page's job: an embedder
that is not downloaded yet is fetched first (``EmbedderDownloadWorker``, off the GUI thread, cancellable),
then the collection is re-indexed; a new embedder builds its own table while the old one keeps serving
searches, so nothing is lost if the rebuild is cancelled or fails.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_app.workers import report_download
from engine.errors import InglenookError
from knowledge.embedder_hub import EmbedderChoice

# The ranges the spin boxes allow, in the chunker's units (one CJK character, or half an English word).
CHUNK_SIZE_RANGE = (50, 2000)
CONTEXT_SIZE_RANGE = (0, 4000)


class CollectionSettingsDialog(QDialog):
    """Edits the index settings of one collection; ``changes()`` is what differs from ``current``."""

    def __init__(self, name: str, current: dict[str, Any], choices: list[EmbedderChoice], segmenters: list[str],
                 details: dict[str, Any] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.current = dict(current)
        self.choices = choices
        self.setWindowTitle(self.tr("Index settings of {name}").format(name=name))
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.embedder = QComboBox()
        for choice in choices:
            self.embedder.addItem(self.describe_choice(choice), choice.name)
        self.embedder.setCurrentIndex(max(0, self.embedder.findData(current.get("embedder"))))
        self.embedder.currentIndexChanged.connect(self._update_note)
        self.chunk_size = _spin(CHUNK_SIZE_RANGE, int(current.get("chunk_size", 200)))
        self.context_size = _spin(CONTEXT_SIZE_RANGE, int(current.get("context_size", 700)))
        self.segmenter = QComboBox()
        for segmenter in segmenters:
            self.segmenter.addItem(segmenter, segmenter)
        self.segmenter.setCurrentIndex(max(0, self.segmenter.findData(current.get("segmenter"))))
        form.addRow(self.tr("Embedding model"), self.embedder)
        form.addRow(self.tr("Chunk size"), self.chunk_size)
        form.addRow(self.tr("Passage size"), self.context_size)
        form.addRow(self.tr("Chinese full-text split"), self.segmenter)
        layout.addLayout(form)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setObjectName("muted")
        layout.addWidget(self.note)
        self.state = QLabel(self.describe_details(details) if details else "")
        self.state.setWordWrap(True)
        layout.addWidget(self.state)
        help_text = QLabel(self.tr(
            "Chunk size is what a search matches: 200 means 200 Chinese characters or about 100 English words. "
            "Passage size is how much text around a match the answer gets. Changing any of these re-indexes "
            "the collection; until that finishes, searches keep using the current index."))
        help_text.setWordWrap(True)
        help_text.setObjectName("muted")
        layout.addWidget(help_text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self._update_note()

    def describe_choice(self, choice: EmbedderChoice) -> str:
        languages = self.tr("multilingual") if choice.multilingual else self.tr("English only")
        if choice.installed:
            return self.tr("{name} ({languages})").format(name=choice.name, languages=languages)
        return self.tr("{name} ({languages}, download {size} MB)").format(
            name=choice.name, languages=languages, size=choice.size_mb)

    def describe_details(self, details: dict[str, Any]) -> str:
        return describe_index(details)

    def selected_choice(self) -> EmbedderChoice:
        name = self.embedder.currentData()
        return next(c for c in self.choices if c.name == name)

    def _update_note(self) -> None:
        choice = self.selected_choice()
        if choice.multilingual:
            text = self.tr("{name}: {note}. Chinese and English text both get meaning search.").format(
                name=choice.name, note=choice.note)
        else:
            text = self.tr("{name}: understands English only. Chinese, Japanese and Korean text is not embedded "
                           "(it would be noise) and is found by its words.").format(name=choice.name)
        if not choice.installed:
            text += " " + self.tr("It is downloaded ({size} MB) when you press OK.").format(size=choice.size_mb)
        self.note.setText(text)

    def changes(self) -> dict[str, Any]:
        chosen = {"embedder": self.embedder.currentData(), "chunk_size": self.chunk_size.value(),
                  "context_size": self.context_size.value(), "segmenter": self.segmenter.currentData()}
        return {key: value for key, value in chosen.items() if self.current.get(key) != value}


def describe_index(details: dict[str, Any]) -> str:
    """What ``Library.index_details`` says about a collection's index, in the window's words."""
    searching = details.get("searching_with") or details.get("embedder")
    lines = [QCoreApplication.translate("CollectionSettingsDialog", "Searches use the embedding model {name}.").format(name=searching)]
    fulltext_only, chunks = details.get("fulltext_only", 0), details.get("chunks", 0)
    if fulltext_only:
        lines.append(QCoreApplication.translate("CollectionSettingsDialog", "{n} of {total} chunks are full-text only: their language (Chinese, Japanese or Korean) is "
                        "one the embedding model does not cover, so they are found by their words. For meaning "
                        "search too, choose a multilingual model in Index settings.").format(
            n=fulltext_only, total=chunks))
    if details.get("rebuilding") or details.get("embedder") != searching:
        lines.append(QCoreApplication.translate("CollectionSettingsDialog", "Re-embedding with {wanted} is not finished; searches use {current} until it is. "
                        "Re-index to finish it.").format(wanted=details.get("embedder"), current=searching))
    return "\n".join(lines)


def _spin(bounds: tuple[int, int], value: int) -> QSpinBox:
    spin = QSpinBox()
    spin.setRange(*bounds)
    spin.setSingleStep(50)
    spin.setValue(min(max(value, bounds[0]), bounds[1]))
    return spin


class EmbedderDownloadWorker(QThread):
    """Downloads (or resumes) one multilingual embedding model from the Hub or the configured mirror."""

    progress = Signal(object)  # engine.models.hub.DownloadProgress
    done = Signal(str)  # the embedder's name
    failed = Signal(str, bool)  # message, cancelled by the user

    def __init__(self, name: str, endpoint: str | None, parent=None):
        super().__init__(parent)
        self.name = name
        self.endpoint = endpoint
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        from knowledge.embedder_hub import download_embedder

        def download() -> str:
            download_embedder(self.name, endpoint=self.endpoint, progress=self.progress.emit, cancel=self._cancel)
            return self.name

        report_download(download, self.done, self.failed)

class IndexSettingsControl(QObject):
    """The Library page's Index settings flow: the dialog, the embedder download it may need (progress and
    cancel on the page), then saving the settings and re-indexing. Kept apart so the page stays small."""

    def __init__(self, page):
        super().__init__(page)
        self.page = page
        self.downloads: dict[str, EmbedderDownloadWorker] = {}

    def fetch_details(self, name: str, on_done) -> None:
        """``Library.index_details`` reads the LanceDB table: off the GUI thread."""
        def details() -> dict:
            return self.page.library.index_details(self.page.library.get(name))

        self.page.controller.run_task(details, on_done=on_done, on_failed=self.page.show_message)

    def open(self, name: str) -> CollectionSettingsDialog | None:
        """The collection's index settings; OK applies them (downloading the embedder first if needed)."""
        from knowledge.embedder_hub import embedder_choices
        from knowledge.textsearch import SEGMENTERS

        try:
            collection = self.page.library.get(name)
        except InglenookError as exc:
            self.page.show_message(str(exc))
            return None
        current = {key: collection.setting(key) for key in ("embedder", "chunk_size", "context_size", "segmenter")}
        dialog = CollectionSettingsDialog(name, current, embedder_choices(), list(SEGMENTERS), parent=self.page)
        self.fetch_details(name, lambda details: dialog.state.setText(describe_index(details)))
        dialog.accepted.connect(lambda: self.apply(name, dialog.changes()))
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def apply(self, name: str, changes: dict[str, Any]) -> bool:
        """Save ``changes`` and re-index; an embedder that is not downloaded yet is fetched first."""
        if not changes:
            return False
        embedder = changes.get("embedder")
        if embedder is not None and not self._embedder_installed(embedder):
            return self._download_embedder(name, embedder, changes)
        try:
            self.page.library.catalog.update(name, **changes)
        except InglenookError as exc:
            self.page.show_message(str(exc))
            return False
        self.page.show_message("")
        return self.page.index(name)

    @staticmethod
    def _embedder_installed(embedder: str) -> bool:
        from knowledge.embedder_hub import embedder_choices

        return any(c.name == embedder and c.installed for c in embedder_choices())

    def _download_embedder(self, name: str, embedder: str, changes: dict[str, Any]) -> bool:
        if name in self.downloads:
            return False
        worker = EmbedderDownloadWorker(embedder, self.page.controller.settings.hub_endpoint, parent=self.page)
        worker.progress.connect(lambda p, n=name: self._on_download_progress(n, embedder, p))
        worker.done.connect(lambda _e, n=name: self._on_embedder_ready(n, changes))
        worker.failed.connect(lambda text, cancelled, n=name: self._on_download_failed(n, text, cancelled))
        worker.finished.connect(lambda n=name, w=worker: self._download_ended(n, w))
        self.downloads[name] = worker
        self.page.status_text[name] = self.tr("Downloading {embedder}…").format(embedder=embedder)
        self.page.progress_label.setText(f"{name}: {self.page.status_text[name]}")
        self.page.progress_bar.setRange(0, 0)
        self.page.progress_bar.show()
        self.page.refresh()
        worker.start()
        return True

    def _on_download_progress(self, name: str, embedder: str, p) -> None:
        total, done = getattr(p, "total", None), getattr(p, "downloaded", None)
        if total and done is not None:
            self.page.progress_bar.setRange(0, 1000)
            self.page.progress_bar.setValue(int(1000 * done / total))
            text = self.tr("Downloading {embedder}: {done:.0f} of {total:.0f} MB").format(
                embedder=embedder, done=done / 1e6, total=total / 1e6)
        else:
            text = self.tr("Downloading {embedder}…").format(embedder=embedder)
        self.page.status_text[name] = text
        self.page.progress_label.setText(f"{name}: {text}")

    def _on_embedder_ready(self, name: str, changes: dict[str, Any]) -> None:
        self.downloads.pop(name, None)
        self.apply(name, changes)

    def _on_download_failed(self, name: str, text: str, cancelled: bool) -> None:
        self.page.status_text[name] = self.tr("Download cancelled; the index is unchanged.") if cancelled \
            else self.tr("Download failed; the index is unchanged.")
        self.page.progress_label.setText(f"{name}: {self.page.status_text[name]}")
        if not cancelled:
            self.page.show_message(self.tr("The embedding model could not be downloaded: {error}").format(error=text))

    def _download_ended(self, name: str, worker: EmbedderDownloadWorker) -> None:
        if self.downloads.get(name) is worker:
            del self.downloads[name]
        worker.deleteLater()
        self.page.progress_bar.setVisible(bool(self.page.workers) or bool(self.downloads))
        self.page.refresh()

    def show_details(self, name: str) -> QDialog:
        dialog = QDialog(self.page)
        dialog.setWindowTitle(self.tr("Details of {name}").format(name=name))
        layout = QVBoxLayout(dialog)
        text = QPlainTextEdit(self.page.details_text(name))
        text.setReadOnly(True)
        layout.addWidget(text)
        self.fetch_details(name, lambda details: text.setPlainText(
            describe_index(details) + "\n\n" + self.page.details_text(name)))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout.addWidget(buttons)
        dialog.resize(640, 400)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog
