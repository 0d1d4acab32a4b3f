"""The Library page: document collections a chat can cite.

A table of collections (folders, files, chunks, skipped/failed, last indexed, status); add by folder
dialog or drop (``add_paths``); re-index with progress and Cancel, remove (asks first; the files stay),
a remembered watch toggle, and a details dialog of skipped/failed files. ``augmenter()`` is the
controller's ``augmenter_factory``; ``ChatCollections`` (desktop_app.chat_collections) picks the
current conversation's collections and strict mode.

Everything but the widgets is the Qt-free core the ``nook`` command line uses too:
``knowledge.library.Library`` (collections, indexing runs, watchers) and
``knowledge.conversation_docs.ConversationDocuments`` (each conversation's choice, kept in
``conversations.extra``; new chats start from the settings ``state.collections`` / ``state.strict``;
questions are rewritten before searching as ``documents.rewrite`` says, default off). LanceDB and ONNX
are imported on a background thread at start, never on the GUI thread in the normal flow.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.collection_settings import IndexSettingsControl
from desktop_app.controller import AppController
from desktop_app.widgets import Page, card, heading, muted
from engine.errors import InglenookError
from knowledge.conversation_docs import ConversationDocuments, DocumentChoice
from knowledge.index_run import IndexRun
from knowledge.library import Library, WatchEvent, warm_up

log = logging.getLogger(__name__)


def readable_problem(path: Path) -> str | None:
    """Why ``path`` cannot be indexed, or None when it can be read."""
    if not path.exists():
        return QCoreApplication.translate("LibraryPage", "it does not exist")
    if not os.access(path, os.R_OK):
        return QCoreApplication.translate("LibraryPage", "permission denied")
    try:
        if path.is_dir():
            with os.scandir(path) as entries:
                next(entries, None)
        else:
            with open(path, "rb") as handle:
                handle.read(1)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


class IndexWorker(QThread):
    """Iterates one ``IndexRun`` and turns its events into signals; ``cancel()`` from any thread."""

    progress = Signal(object)  # a copy of knowledge.indexer.IndexProgress
    done = Signal(object)  # IndexSummary
    failed = Signal(str)

    def __init__(self, index_run: IndexRun, parent: QObject | None = None):
        super().__init__(parent)
        self.index_run = index_run
        self.name = index_run.collection

    def cancel(self) -> None:
        self.index_run.cancel()

    def run(self) -> None:
        try:
            for progress in self.index_run:
                self.progress.emit(progress)
        except InglenookError as exc:
            self.failed.emit(str(exc))
        except OSError as exc:
            self.failed.emit(f"{exc.filename or self.name}: {exc.strerror or exc}")
        except Exception as exc:
            log.exception("indexing %s failed", self.name)
            self.failed.emit(repr(exc))
        else:
            self.done.emit(self.index_run.summary)


class SettingWatchMemory:
    """The library's ``WatchMemory`` in the window: the setting ``state.watched``, so watching resumes
    on the next start."""

    KEY = "state.watched"

    def __init__(self, controller: AppController):
        self.controller = controller

    def load(self) -> list[str]:
        return list(self.controller.setting(self.KEY) or [])

    def save(self, names: list[str]) -> None:
        self.controller.set_setting(self.KEY, names)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"


class LibraryPage(Page):
    collections_changed = Signal(list)  # the collections the current chat uses
    index_progress = Signal(str, object)  # name, IndexProgress
    index_finished = Signal(str, object)  # name, IndexSummary | None (failed)
    _watch_event = Signal(object)  # from watcher threads: knowledge.library.WatchEvent

    COLUMNS = 8
    REWRITE_SETTING = "documents.rewrite"

    def __init__(self, controller: AppController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.library = Library(watch_memory=SettingWatchMemory(controller))
        self.documents = ConversationDocuments(self.library, controller.store, self._default_choice(),
                                               report=controller.error.emit)
        self.workers: dict[str, IndexWorker] = {}
        self.status_text: dict[str, str] = {}
        self.last_summary: dict[str, Any] = {}
        self.index_settings = IndexSettingsControl(self)
        self.downloads = self.index_settings.downloads  # collection name -> its embedder's download
        self._build()
        self._watch_event.connect(self._on_watch_event)
        controller.augmenter_factory = self.augmenter
        controller.conversation_changed.connect(self._conversation_changed)
        self.retranslate()
        self.refresh()
        self._resume_watching()

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(28, 22, 28, 22)
        outer.setSpacing(10)
        self.title = heading()
        self.hint = muted()
        outer.addWidget(self.title)
        outer.addWidget(self.hint)
        outer.addLayout(self._build_buttons())
        self.message = QLabel()
        self.message.setObjectName("warning")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        outer.addWidget(self.message)
        outer.addWidget(self._build_table(), 1)
        self.setAcceptDrops(True)

    def _build_buttons(self) -> QHBoxLayout:
        buttons = QHBoxLayout()
        self.add_button = QPushButton()
        self.add_button.setObjectName("primary")
        self.add_button.clicked.connect(self.choose_folder)
        self.reindex_button = QPushButton()
        self.reindex_button.clicked.connect(lambda: self._on_selected(self.index))
        self.cancel_button = QPushButton()
        self.cancel_button.clicked.connect(lambda: self._on_selected(self.cancel))
        self.details_button = QPushButton()
        self.details_button.clicked.connect(lambda: self._on_selected(self.show_details))
        self.settings_button = QPushButton()
        self.settings_button.clicked.connect(lambda: self._on_selected(self.open_index_settings))
        self.remove_button = QPushButton()
        self.remove_button.clicked.connect(lambda: self._on_selected(self.remove))
        self.watch_box = QCheckBox()
        self.watch_box.clicked.connect(lambda on: self._on_selected(lambda n: self.set_watched(n, on)))
        for widget in (self.add_button, self.reindex_button, self.cancel_button, self.details_button,
                       self.settings_button, self.remove_button, self.watch_box):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        return buttons

    def _build_table(self) -> QWidget:
        frame, layout = card()
        self.table = QTableWidget(0, self.COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._update_actions)
        self.table.doubleClicked.connect(lambda _i: self._on_selected(self.show_details))
        self.empty = muted()
        layout.addWidget(self.table)
        layout.addWidget(self.empty)
        progress_row = QHBoxLayout()
        self.progress_label = muted(word_wrap=False)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.hide()
        progress_row.addWidget(self.progress_label, 1)
        progress_row.addWidget(self.progress_bar)
        layout.addLayout(progress_row)
        return frame

    # ------------------------------------------------------------------ language
    def retranslate(self) -> None:
        self.title.setText(self.tr("Library"))
        self.hint.setText(self.tr(
            "Add folders of documents (PDF, Word, PowerPoint, web pages, text): drop them here or use Add folder. "
            "Everything is indexed on this computer; the chat answers from the collections you choose and "
            "lists its sources."))
        self.add_button.setText(self.tr("Add folder…"))
        self.reindex_button.setText(self.tr("Re-index"))
        self.cancel_button.setText(self.tr("Cancel"))
        self.details_button.setText(self.tr("Details"))
        self.settings_button.setText(self.tr("Index settings…"))
        self.remove_button.setText(self.tr("Remove"))
        self.watch_box.setText(self.tr("Watch for changes"))
        self.table.setHorizontalHeaderLabels([
            self.tr("Name"), self.tr("Folders"), self.tr("Files"), self.tr("Chunks"), self.tr("Skipped"),
            self.tr("Failed"), self.tr("Last indexed"), self.tr("Status")])
        self.empty.setText(self.tr("No collections yet. Drop a folder here to make one."))
        self.refresh()

    def start_background_work(self) -> None:
        """Import LanceDB, pyarrow and onnxruntime off the GUI thread (the window calls it after its first paint)."""
        threading.Thread(target=warm_up, name="inglenook-knowledge-import", daemon=True).start()

    # ------------------------------------------------------------------ the table
    def collections(self) -> list:
        try:
            return self.library.collections()
        except InglenookError as exc:
            self.show_message(str(exc))
            return []

    def names(self) -> list[str]:
        return [c.name for c in self.collections()]

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))
        if text:
            self.controller.error.emit(text)

    def refresh(self) -> None:
        if self.library.closed:  # the window is closing; late signals find nothing to show
            return
        selected = self.selected_name()
        collections = self.collections()
        self.table.setRowCount(len(collections))
        for row, collection in enumerate(collections):
            for column, value in enumerate(self._row_values(collection)):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.table.setItem(row, column, item)
            if collection.name == selected:
                self.table.selectRow(row)
        if selected is None and collections:
            self.table.selectRow(0)
        self.table.setVisible(bool(collections))
        self.empty.setVisible(not collections)
        self._update_actions()

    def _row_values(self, collection) -> list[str]:
        try:
            counts = self.library.counts(collection)
        except InglenookError:
            counts = {}
        indexed = (time.strftime("%Y-%m-%d %H:%M", time.localtime(collection.indexed_at))
                   if collection.indexed_at else self.tr("never"))
        return [collection.name, "; ".join(str(r) for r in collection.roots), str(counts.get("indexed", 0)),
                str(counts.get("chunks", 0)), str(counts.get("skipped", 0)), str(counts.get("failed", 0)),
                indexed, self.status_text.get(collection.name, "")]

    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        item = self.table.item(rows[0].row(), 0)
        return item.text() if item else None

    def select(self, name: str) -> None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).text() == name:
                self.table.selectRow(row)

    def _on_selected(self, action) -> None:
        name = self.selected_name()
        if name is not None:
            action(name)

    def _update_actions(self) -> None:
        name = self.selected_name()
        for button in (self.reindex_button, self.details_button, self.remove_button, self.watch_box):
            button.setEnabled(name is not None)
        busy = name in self.workers or name in self.downloads
        self.reindex_button.setEnabled(name is not None and not busy)
        self.settings_button.setEnabled(name is not None and not busy)
        self.cancel_button.setEnabled(busy)
        self.watch_box.setChecked(name is not None and self.library.is_watched(name))

    # ------------------------------------------------------------------ adding
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose a folder of documents"))
        if folder:
            self.add_paths([folder])

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.add_paths(paths)

    def add_paths(self, paths: list[str | Path], name: str | None = None) -> str | None:
        """Make a collection of these folders/files and start indexing it; the name, or None with a message."""
        resolved = [Path(p).expanduser().absolute() for p in paths]
        for path in resolved:
            problem = readable_problem(path)
            if problem:
                self.show_message(self.tr("{path} cannot be read ({error}); nothing was added.")
                                  .format(path=path, error=problem))
                return None
        try:
            name = self.library.add(resolved, name=name).name
        except InglenookError as exc:
            self.show_message(str(exc))
            return None
        self.show_message("")
        self.refresh()
        self.select(name)
        self.index(name)
        return name

    # ------------------------------------------------------------------ indexing
    def index(self, name: str) -> bool:
        if name in self.workers:
            return False
        for root in self._roots(name):
            problem = readable_problem(root)
            if problem:
                self.show_message(self.tr("{path} cannot be read ({error}); the collection was not indexed.")
                                  .format(path=root, error=problem))
                return False
        try:
            index_run = self.library.index_run(name)
        except InglenookError as exc:
            self.show_message(str(exc))
            return False
        worker = IndexWorker(index_run, parent=self)
        worker.progress.connect(lambda p, n=name: self._on_progress(n, p))
        worker.done.connect(lambda s, n=name: self._on_done(n, s))
        worker.failed.connect(lambda text, n=name: self._on_failed(n, text))
        worker.finished.connect(lambda n=name, w=worker: self._worker_ended(n, w))
        self.workers[name] = worker
        self.status_text[name] = self.tr("Starting…")
        self.refresh()
        worker.start()
        return True

    def _roots(self, name: str) -> list[Path]:
        try:
            return list(self.library.get(name).roots)
        except InglenookError:
            return []

    def cancel(self, name: str) -> None:
        download = self.downloads.get(name)
        if download is not None:
            download.cancel()
        worker = self.workers.get(name)
        if worker is not None:
            worker.cancel()
            self.status_text[name] = self.tr("Cancelling…")
            self.refresh()

    def describe_progress(self, p) -> str:
        if p.phase == "scanning":
            return self.tr("Scanning folders…")
        if p.phase in ("finishing", "done"):
            return self.tr("Finishing…")
        text = self.tr("{done}/{total} files · {rate:.1f} chunks/s · {eta} left").format(
            done=p.files_done, total=p.files_total, rate=p.chunks_per_s, eta=_duration(p.eta_s))
        if p.files_failed:
            text += " · " + self.tr("{n} failed").format(n=p.files_failed)
        return text

    def _on_progress(self, name: str, p) -> None:
        text = self.describe_progress(p)
        self.status_text[name] = text
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).text() == name:
                self.table.setItem(row, 7, QTableWidgetItem(text))
        self.progress_label.setText(f"{name}: {text}")
        self.progress_bar.show()
        if p.phase == "indexing" and p.files_total:
            self.progress_bar.setRange(0, p.files_total)
            self.progress_bar.setValue(p.files_done)
        elif p.phase in ("finishing", "done"):
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(1)
        else:
            self.progress_bar.setRange(0, 0)
        self.index_progress.emit(name, p)

    def describe_summary(self, s) -> str:
        if s.cancelled:
            return self.tr("Cancelled; run Re-index to finish.")
        text = self.tr("Done in {seconds:.1f} s: {added} added, {updated} updated, {removed} removed").format(
            seconds=s.seconds, added=s.added, updated=s.updated, removed=s.removed)
        if s.skipped or s.failed:
            text += " · " + self.tr("{skipped} skipped, {failed} failed (see Details)").format(
                skipped=len(s.skipped), failed=len(s.failed))
        if getattr(s, "chunks_fulltext_only", 0):
            text += " · " + self.tr("{n} chunks full-text only (language not covered by the embedding model)").format(
                n=s.chunks_fulltext_only)
        return text

    def _on_done(self, name: str, summary) -> None:
        self.last_summary[name] = summary
        self.status_text[name] = self.describe_summary(summary)
        self.progress_label.setText(f"{name}: {self.status_text[name]}")
        self.index_finished.emit(name, summary)

    def _on_failed(self, name: str, text: str) -> None:
        self.status_text[name] = self.tr("Failed")
        self.progress_label.setText(f"{name}: {text}")
        self.show_message(self.tr("Indexing {name} failed: {error}").format(name=name, error=text))
        self.index_finished.emit(name, None)

    def _worker_ended(self, name: str, worker: IndexWorker) -> None:
        if self.workers.get(name) is worker:
            del self.workers[name]
        worker.deleteLater()
        self.progress_bar.setVisible(bool(self.workers) or bool(self.downloads))
        self.refresh()

    # ------------------------------------------------------------------ remove, watch, details
    def remove(self, name: str, confirm: bool = True) -> bool:
        if confirm and QMessageBox.question(
                self, self.tr("Remove collection"),
                self.tr("Remove the collection {name} and its index? The files themselves are not touched.")
                .format(name=name)) != QMessageBox.StandardButton.Yes:
            return False
        try:
            collection = self.library.forget(name)  # cancels its run, stops its watcher
        except InglenookError as exc:
            self.show_message(str(exc))
            return False
        self.controller.run_task(self.library.drop_index, collection)  # LanceDB: off the GUI thread
        self.status_text.pop(name, None)
        if self.documents.forget(name):
            self.set_selection(self.selected_collections(), self.strict())
        self.refresh()
        return True

    def set_watched(self, name: str, on: bool, *, persist: bool = True) -> None:
        """Start or stop keeping ``name`` current; remembered, so watching resumes on the next start."""
        if persist:
            self.library.remember_watched(name, on)
        if on:  # the box shows the state once the folders are registered (on a worker: it can take a while)
            self.controller.run_task(self.library.watch, name, self._watch_event.emit,
                                     on_done=lambda _started: self._update_actions(),
                                     on_failed=lambda text: self._watch_failed(name, text))
        else:
            self.library.unwatch(name, wait=False)
            self._update_actions()

    def _watch_failed(self, name: str, text: str) -> None:
        self.show_message(self.tr("{name} cannot be watched: {error}").format(name=name, error=text))
        self._update_actions()

    def _resume_watching(self) -> None:
        try:
            names = self.library.remembered_watched()
        except InglenookError as exc:
            self.show_message(str(exc))
            return
        for name in names:
            self.set_watched(name, True, persist=False)

    def _on_watch_event(self, event: WatchEvent) -> None:
        name = event.collection
        if event.error is not None:
            self.show_message(self.tr("Updating {name} failed: {error}").format(name=name, error=event.error))
            return
        self.last_summary[name] = event.summary
        self.status_text[name] = self.describe_summary(event.summary)
        self.refresh()

    def details_text(self, name: str) -> str:
        try:
            collection = self.library.get(name)
            problems = self.library.problem_files(collection)
        except InglenookError as exc:
            return str(exc)
        lines = [self.tr("Folders: {roots}").format(roots="; ".join(str(r) for r in collection.roots))]
        if not problems:
            lines.append(self.tr("Every file was indexed without warnings."))
        for record in problems:
            status = {"skipped": self.tr("skipped"), "failed": self.tr("failed")}.get(record.status, self.tr("warning"))
            lines.append(f"[{status}] {record.path}" + (f": {record.reason}" if record.reason else ""))
            lines.extend(f"    {w}" for w in record.warnings)
        return "\n".join(lines)

    def show_details(self, name: str) -> QDialog:
        """Skipped and failed files, and what the index is made of (filled in off the GUI thread)."""
        return self.index_settings.show_details(name)

    # ------------------------------------------------------------------ index settings (collection_settings.py)
    def open_index_settings(self, name: str):
        return self.index_settings.open(name)

    def apply_index_settings(self, name: str, changes: dict[str, Any]) -> bool:
        return self.index_settings.apply(name, changes)

    # ------------------------------------------------------------------ the chat's collections
    def selected_collections(self) -> list[str]:
        """Names of the collections the current chat uses."""
        return list(self.documents.choice.collections)

    def strict(self) -> bool:
        return self.documents.choice.strict

    def _default_choice(self) -> DocumentChoice:
        """What a new chat answers from: the last choice made (settings ``state.collections``/``strict``)."""
        return DocumentChoice(tuple(self.controller.setting("state.collections") or ()),
                              bool(self.controller.setting("state.strict")))

    def set_selection(self, names: list[str], strict: bool, persist: bool = True) -> None:
        """Choose the collections of the current conversation (and the default for new ones)."""
        self.documents.choice = DocumentChoice(tuple(names), strict)
        if persist:
            self.controller.set_setting("state.collections", self.selected_collections())
            self.controller.set_setting("state.strict", self.strict())
            session = self.controller.session
            if session is not None:
                self._read_rewrite_setting()
                try:
                    self.documents.apply_to(session)
                except InglenookError as exc:
                    self.show_message(str(exc))
        self.collections_changed.emit(self.selected_collections())

    def augmenter(self, session):
        """The controller's ``augmenter_factory``: the conversation's own choice, else the current one."""
        self._read_rewrite_setting()
        augmenter = self.documents.attach(session)
        self.collections_changed.emit(self.selected_collections())
        return augmenter

    def _conversation_changed(self) -> None:
        if self.controller.session is None:  # a new chat starts with the default choice
            choice = self._default_choice()
            self.set_selection(list(choice.collections), choice.strict, persist=False)

    def _read_rewrite_setting(self) -> None:
        """Query rewriting as the setting ``documents.rewrite`` says (default off, as ``nook ask``), read
        before each augmenter is built, so a changed setting applies to the next one."""
        try:
            self.documents.rewrite = self.controller.setting(self.REWRITE_SETTING) or "off"
        except InglenookError as exc:
            self.show_message(str(exc))

    # ------------------------------------------------------------------ lifecycle
    def shutdown(self) -> None:
        """Stop indexing and watching (the window is closing)."""
        for worker in list(self.workers.values()):
            worker.cancel()
        for download in list(self.downloads.values()):
            download.cancel()
            download.wait(10_000)
        self.library.stop_work()
        for worker in list(self.workers.values()):
            worker.wait(30_000)

    def close_catalog(self) -> None:
        """After the controller stopped every reply (a reply may still be searching until then)."""
        self.library.close()
