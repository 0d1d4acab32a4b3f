"""The Library page: document collections a chat can cite.

* A table of collections (name, folders, files indexed, chunks, skipped/failed, last indexed, status).
* Add a collection with a folder dialog or by dropping folders/files on the page (``add_paths``).
* Indexing runs ``knowledge.indexer.Indexer`` in an ``IndexWorker`` thread per collection and reports
  files done/total, rate, ETA and failures through signals; Cancel stops it between files.
* Re-index, remove (asks first; the files stay), watch toggle (``CollectionWatcher``, stopped by
  ``shutdown()``), and a details dialog listing skipped/failed files with reasons and warnings.
* The chat side: ``ChatCollections`` (a checkable menu plus a "strict" box next to the model picker)
  chooses the collections of the current conversation; ``augmenter()`` is the controller's
  ``augmenter_factory``. The choice is kept per conversation in ``conversations.extra`` (keys
  ``collections`` and ``strict``) and the default in the settings ``state.collections`` / ``state.strict``.

The knowledge core (LanceDB, ONNX) is imported in a background thread at start, never on the GUI thread
in the normal flow; the catalog (SQLite) is light and used directly.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QThread, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.controller import AppController
from desktop_app.widgets import Page, card, heading, muted
from engine.errors import InglenookError

log = logging.getLogger(__name__)

_warm_lock = threading.Lock()


def warm_up_knowledge() -> None:
    """Import the heavy knowledge modules (LanceDB, pyarrow, ONNX runtime) once, off the GUI thread."""
    with _warm_lock:
        try:
            import knowledge.answer  # noqa: F401
            import knowledge.indexer  # noqa: F401
            import knowledge.retrieval  # noqa: F401
            from knowledge.store import warm_up

            warm_up()
        except Exception:  # reported when the page actually needs them
            log.exception("importing the knowledge core failed")


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
    """One indexing run of one collection; ``cancel()`` may be called from any thread."""

    progress = Signal(object)  # a copy of knowledge.indexer.IndexProgress
    done = Signal(object)  # IndexSummary
    failed = Signal(str)

    def __init__(self, page: LibraryPage, name: str, parent: QObject | None = None):
        super().__init__(parent)
        self.page = page
        self.name = name
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:
        try:
            indexer = self.page.indexer()
            summary = indexer.index(self.name, progress=lambda p: self.progress.emit(dataclasses.replace(p)),
                                    cancel=self.cancel_event)
        except InglenookError as exc:
            self.failed.emit(str(exc))
        except OSError as exc:
            self.failed.emit(f"{exc.filename or self.name}: {exc.strerror or exc}")
        except Exception as exc:
            log.exception("indexing %s failed", self.name)
            self.failed.emit(repr(exc))
        else:
            self.done.emit(summary)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"


class LibraryPage(Page):
    collections_changed = Signal(list)  # the collections the current chat uses
    index_progress = Signal(str, object)  # name, IndexProgress
    index_finished = Signal(str, object)  # name, IndexSummary | None (failed)
    _watch_event = Signal(str, object)  # from watcher threads: name, IndexSummary | Exception

    COLUMNS = 8

    def __init__(self, controller: AppController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self._catalog = None
        self._indexer = None
        self._indexer_lock = threading.Lock()
        self._retriever = None
        self.k = 5  # passages retrieved per question
        self.workers: dict[str, IndexWorker] = {}
        self.watchers: dict[str, Any] = {}
        self.status_text: dict[str, str] = {}
        self.last_summary: dict[str, Any] = {}
        self._chosen: list[str] = list(controller.setting("state.collections") or [])
        self._strict = bool(controller.setting("state.strict"))
        threading.Thread(target=warm_up_knowledge, name="inglenook-knowledge-import", daemon=True).start()

        outer = QVBoxLayout(self)
        outer.setContentsMargins(28, 22, 28, 22)
        outer.setSpacing(10)
        self.title = heading()
        self.hint = muted()
        outer.addWidget(self.title)
        outer.addWidget(self.hint)
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
        self.remove_button = QPushButton()
        self.remove_button.clicked.connect(lambda: self._on_selected(self.remove))
        self.watch_box = QCheckBox()
        self.watch_box.clicked.connect(lambda on: self._on_selected(lambda n: self.set_watched(n, on)))
        for widget in (self.add_button, self.reindex_button, self.cancel_button, self.details_button,
                       self.remove_button, self.watch_box):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        outer.addLayout(buttons)
        self.message = QLabel()
        self.message.setObjectName("warning")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        outer.addWidget(self.message)
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
        outer.addWidget(frame, 1)
        self.setAcceptDrops(True)
        self._watch_event.connect(self._on_watch_event)
        controller.augmenter_factory = self.augmenter
        controller.conversation_changed.connect(self._conversation_changed)
        self.retranslate()
        self.refresh()
        existing = set(self.names())
        for name in self.controller.setting("state.watched") or []:
            if name in existing:
                self.set_watched(name, True, persist=False)

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
        self.remove_button.setText(self.tr("Remove"))
        self.watch_box.setText(self.tr("Watch for changes"))
        self.table.setHorizontalHeaderLabels([
            self.tr("Name"), self.tr("Folders"), self.tr("Files"), self.tr("Chunks"), self.tr("Skipped"),
            self.tr("Failed"), self.tr("Last indexed"), self.tr("Status")])
        self.empty.setText(self.tr("No collections yet. Drop a folder here to make one."))
        self.refresh()

    # ------------------------------------------------------------------ catalog
    @property
    def catalog(self):
        if self._catalog is None:
            from knowledge.catalog import Catalog

            self._catalog = Catalog()
        return self._catalog

    def indexer(self):
        """The shared Indexer, built on first use (in a worker thread: it imports LanceDB)."""
        with self._indexer_lock:
            if self._indexer is None:
                from knowledge.indexer import Indexer

                self._indexer = Indexer(self.catalog)
            return self._indexer

    def collections(self) -> list:
        try:
            return self.catalog.list()
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
        selected = self.selected_name()
        collections = self.collections()
        self.table.setRowCount(len(collections))
        for row, collection in enumerate(collections):
            try:
                counts = self.catalog.status_counts(collection)
            except InglenookError:
                counts = {}
            indexed = (time.strftime("%Y-%m-%d %H:%M", time.localtime(collection.indexed_at))
                       if collection.indexed_at else self.tr("never"))
            values = [collection.name, "; ".join(str(r) for r in collection.roots), str(counts.get("indexed", 0)),
                      str(counts.get("chunks", 0)), str(counts.get("skipped", 0)), str(counts.get("failed", 0)),
                      indexed, self.status_text.get(collection.name, "")]
            for column, value in enumerate(values):
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
        self.reindex_button.setEnabled(name is not None and name not in self.workers)
        self.cancel_button.setEnabled(name in self.workers)
        self.watch_box.setChecked(name in self.watchers)

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

    def _unique_name(self, base: str) -> str:
        import re

        base = re.sub(r"[^\w .-]", "_", base).strip()[:60] or "Documents"
        existing = set(self.names())
        name, n = base, 2
        while name in existing:
            name, n = f"{base} {n}", n + 1
        return name

    def add_paths(self, paths: list[str | Path], name: str | None = None) -> str | None:
        """Make a collection of these folders/files and start indexing it; the name, or None with a message."""
        resolved = [Path(p).expanduser().absolute() for p in paths]
        for path in resolved:
            problem = readable_problem(path)
            if problem:
                self.show_message(self.tr("{path} cannot be read ({error}); nothing was added.")
                                  .format(path=path, error=problem))
                return None
        name = name or self._unique_name(resolved[0].name if resolved else "")
        try:
            self.catalog.create(name, resolved)
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
        worker = IndexWorker(self, name, parent=self)
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
            return list(self.catalog.get(name).roots)
        except InglenookError:
            return []

    def cancel(self, name: str) -> None:
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
        self.progress_bar.setVisible(bool(self.workers))
        self.refresh()

    # ------------------------------------------------------------------ remove, watch, details
    def remove(self, name: str, confirm: bool = True) -> bool:
        if confirm and QMessageBox.question(
                self, self.tr("Remove collection"),
                self.tr("Remove the collection {name} and its index? The files themselves are not touched.")
                .format(name=name)) != QMessageBox.StandardButton.Yes:
            return False
        worker = self.workers.get(name)
        if worker is not None:
            worker.cancel()
            worker.wait(30_000)
        self.set_watched(name, False)
        try:
            collection = self.catalog.remove(name)
        except InglenookError as exc:
            self.show_message(str(exc))
            return False
        table = collection.table_name

        def drop() -> None:
            from knowledge.store import ChunkStore

            ChunkStore().drop(table)

        self.controller.run_task(drop)
        self.status_text.pop(name, None)
        if name in self._chosen:
            self.set_selection([n for n in self._chosen if n != name], self._strict)
        self.refresh()
        return True

    def set_watched(self, name: str, on: bool, *, persist: bool = True) -> None:
        """Start or stop keeping ``name`` current; remembered, so watching resumes on the next start."""
        if persist:
            watched = [n for n in (self.controller.setting("state.watched") or []) if n != name]
            self.controller.set_setting("state.watched", [*watched, name] if on else watched)
        watcher = self.watchers.pop(name, None)
        if watcher is not None:
            self.controller.run_task(watcher.stop)
        if on:
            from knowledge.watch import CollectionWatcher

            def make():
                w = CollectionWatcher(self.indexer(), name,
                                      on_run=lambda s: self._watch_event.emit(name, s),
                                      on_error=lambda e: self._watch_event.emit(name, e))
                w.start()
                return w

            def started(w) -> None:
                if self.controller.closed or name not in self.names():
                    w.stop()
                    return
                self.watchers[name] = w
                self._update_actions()

            self.controller.run_task(make, on_done=started, on_failed=lambda text: self.show_message(
                self.tr("{name} cannot be watched: {error}").format(name=name, error=text)))
        self._update_actions()

    def _on_watch_event(self, name: str, result: Any) -> None:
        if isinstance(result, Exception):
            self.show_message(self.tr("Updating {name} failed: {error}").format(name=name, error=result))
            return
        self.last_summary[name] = result
        self.status_text[name] = self.describe_summary(result)
        self.refresh()

    def details_text(self, name: str) -> str:
        try:
            collection = self.catalog.get(name)
            records = self.catalog.files(collection)
        except InglenookError as exc:
            return str(exc)
        lines = [self.tr("Folders: {roots}").format(roots="; ".join(str(r) for r in collection.roots))]
        problems = [r for r in records.values() if r.status in ("skipped", "failed") or r.warnings]
        if not problems:
            lines.append(self.tr("Every file was indexed without warnings."))
        for record in sorted(problems, key=lambda r: (r.status, r.path)):
            status = {"skipped": self.tr("skipped"), "failed": self.tr("failed")}.get(record.status, self.tr("warning"))
            lines.append(f"[{status}] {record.path}" + (f": {record.reason}" if record.reason else ""))
            lines.extend(f"    {w}" for w in record.warnings)
        return "\n".join(lines)

    def show_details(self, name: str) -> QDialog:
        dialog = QDialog(self)
        dialog.setWindowTitle(self.tr("Details of {name}").format(name=name))
        layout = QVBoxLayout(dialog)
        text = QPlainTextEdit(self.details_text(name))
        text.setReadOnly(True)
        layout.addWidget(text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(dialog.reject)
        layout.addWidget(buttons)
        dialog.resize(640, 400)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    # ------------------------------------------------------------------ the chat's collections
    def selected_collections(self) -> list[str]:
        """Names of the collections the current chat uses."""
        return list(self._chosen)

    def strict(self) -> bool:
        return self._strict

    def set_selection(self, names: list[str], strict: bool, persist: bool = True) -> None:
        """Choose the collections of the current conversation (and the default for new ones)."""
        self._chosen, self._strict = list(names), bool(strict)
        if persist:
            self.controller.set_setting("state.collections", self._chosen)
            self.controller.set_setting("state.strict", self._strict)
            session = self.controller.session
            if session is not None:
                self._remember(session)
                try:
                    session.augmenter = self.build_augmenter(session)
                except InglenookError as exc:
                    self.show_message(str(exc))
        self.collections_changed.emit(self._chosen)

    def _remember(self, session) -> None:
        try:
            extra = dict(self.controller.store.get_conversation(session.conversation_id).extra or {})
            extra.update(collections=self._chosen, strict=self._strict)
            self.controller.store.update_conversation(session.conversation_id, extra=extra)
        except InglenookError as exc:
            self.controller.error.emit(str(exc))

    def augmenter(self, session):
        """The controller's ``augmenter_factory``: the conversation's own choice, else the current one."""
        try:
            extra = self.controller.store.get_conversation(session.conversation_id).extra or {}
        except InglenookError:
            extra = {}
        if "collections" in extra:
            self.set_selection(list(extra.get("collections") or []), bool(extra.get("strict")), persist=False)
        else:
            self._remember(session)
        return self.build_augmenter(session)

    def build_augmenter(self, session):
        existing = set(self.names())
        names = [n for n in self._chosen if n in existing]
        if not names:
            return None
        from knowledge.answer import DocumentAugmenter
        from knowledge.retrieval import Retriever

        if self._retriever is None:
            self._retriever = Retriever(self.catalog)
        host = self.controller.host
        loaded = host.loaded
        n_ctx = loaded.n_ctx if loaded else 4096
        return DocumentAugmenter(
            self._retriever, names, strict=self._strict, k=self.k,
            count_tokens=lambda text: host.call(lambda b: b.count_tokens(text)),
            n_ctx=n_ctx, answer_reserve=min(session.params.max_tokens, n_ctx // 4))

    def _conversation_changed(self) -> None:
        if self.controller.session is None:  # a new chat starts with the default choice
            self.set_selection(list(self.controller.setting("state.collections") or []),
                               bool(self.controller.setting("state.strict")), persist=False)

    # ------------------------------------------------------------------ lifecycle
    def shutdown(self) -> None:
        """Stop indexing and watching (the window is closing)."""
        for worker in list(self.workers.values()):
            worker.cancel()
        for worker in list(self.workers.values()):
            worker.wait(30_000)
        for watcher in list(self.watchers.values()):
            watcher.stop()
        self.watchers.clear()

    def close_catalog(self) -> None:
        """After the controller stopped every reply (a reply may still be searching until then)."""
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None


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
