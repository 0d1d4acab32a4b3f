"""Reviewing a question set before it is used: open, draft from a collection, edit, delete, mark reviewed, save.

A question set is R's JSONL format (``knowledge.evaluation.questions``). Drafts written by the chat
model from a collection (``knowledge.evaluation.testset.generate_questions``) come in with
``extra["draft"]``; a person checks each one (the "Reviewed" column) before a run relies on it.
Drafting runs in a ``StreamWorker`` (progress, Cancel; the drafts kept so far stay in the table).
Sources are edited as text: ``file`` or ``file#page``, several separated by ``;``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop_app.stream_worker import StreamWorker
from desktop_app.widgets import heading, muted
from engine.errors import InglenookError
from knowledge.evaluation.questions import EvalQuestion, load_questions, save_questions
from knowledge.evaluation.sample import GoldSource

COLUMNS = ("id", "question", "reference", "sources", "reviewed")


def sources_text(sources: list[GoldSource]) -> str:
    return "; ".join(f"{s.file}#{s.page}" if s.page else s.file for s in sources)


def parse_sources(text: str, old: list[GoldSource] | None = None) -> list[GoldSource]:
    """``file`` / ``file#page`` entries separated by ``;``; an unchanged entry keeps its heading."""
    headings = {(s.file, s.page): s.heading for s in old or []}
    out = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        file, _, page = part.rpartition("#") if "#" in part else (part, "", "")
        page_number = int(page) if page.strip().isdigit() and int(page) > 0 else None
        if page and page_number is None:  # "#" that is part of a file name
            file, page_number = part, None
        out.append(GoldSource(file=file.strip(), page=page_number, heading=headings.get((file.strip(), page_number))))
    return out


class QuestionSetDialog(QDialog):
    saved = Signal(str)  # the path written

    def __init__(self, controller, library, path: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.library = library
        self.path: Path | None = None
        self.questions: list[EvalQuestion] = []
        self.worker: StreamWorker | None = None
        self.setMinimumSize(820, 520)
        layout = QVBoxLayout(self)
        self.title = heading(level=2)
        self.intro = muted()
        layout.addWidget(self.title)
        layout.addWidget(self.intro)
        layout.addLayout(self._build_file_row())
        layout.addLayout(self._build_draft_row())
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        for column, mode in enumerate((QHeaderView.ResizeMode.ResizeToContents, QHeaderView.ResizeMode.Stretch,
                                       QHeaderView.ResizeMode.Stretch, QHeaderView.ResizeMode.Interactive,
                                       QHeaderView.ResizeMode.ResizeToContents)):
            header.setSectionResizeMode(column, mode)
        layout.addWidget(self.table, 1)
        self.status = muted()
        layout.addWidget(self.status)
        layout.addLayout(self._build_buttons())
        self.retranslate()
        if path:
            self.open_file(path)

    # ------------------------------------------------------------------ pieces
    def _build_file_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.file_label = QLabel()
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.open_button = QPushButton()
        self.open_button.clicked.connect(lambda: self.open_file())
        row.addWidget(self.file_label, 1)
        row.addWidget(self.open_button)
        return row

    def _build_draft_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.draft_label = QLabel()
        self.collection = QComboBox()
        self.collection.addItems(self.library.names())
        self.count = QSpinBox()
        self.count.setRange(1, 200)
        self.count.setValue(10)
        self.draft_button = QPushButton()
        self.draft_button.clicked.connect(lambda: self.draft())
        self.cancel_button = QPushButton()
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        self.progress = QProgressBar()
        self.progress.hide()
        for widget in (self.draft_label, self.collection, self.count, self.draft_button, self.progress,
                       self.cancel_button):
            row.addWidget(widget)
        row.addStretch(1)
        return row

    def _build_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.delete_button = QPushButton()
        self.delete_button.clicked.connect(self.delete_selected)
        self.reviewed_button = QPushButton()
        self.reviewed_button.clicked.connect(self.mark_reviewed)
        self.add_button = QPushButton()
        self.add_button.clicked.connect(self.add_question)
        self.save_button = QPushButton()
        self.save_button.setObjectName("primary")
        self.save_button.clicked.connect(lambda: self.save())
        self.close_button = QPushButton()
        self.close_button.clicked.connect(self.close)
        for widget in (self.add_button, self.delete_button, self.reviewed_button):
            row.addWidget(widget)
        row.addStretch(1)
        row.addWidget(self.close_button)
        row.addWidget(self.save_button)
        return row

    def changeEvent(self, event) -> None:  # noqa: N802
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Question set"))
        self.title.setText(self.tr("Review the questions"))
        self.intro.setText(self.tr(
            "Each question may have a reference answer and the sources where the answer is (a file name, "
            "or file#page; separate several with ;). Check drafts written by the model before you rely on them: "
            "fix or delete them, then mark them reviewed."))
        self.open_button.setText(self.tr("Open…"))
        self.draft_label.setText(self.tr("Draft from collection:"))
        self.count.setSuffix(self.tr(" questions"))
        self.draft_button.setText(self.tr("Draft"))
        self.draft_button.setToolTip(self.tr("The loaded chat model writes questions and answers from passages of "
                                             "the collection; only answers found in the passage are kept"))
        self.cancel_button.setText(self.tr("Cancel"))
        self.add_button.setText(self.tr("Add question"))
        self.delete_button.setText(self.tr("Delete"))
        self.reviewed_button.setText(self.tr("Mark reviewed"))
        self.save_button.setText(self.tr("Save"))
        self.close_button.setText(self.tr("Close"))
        self.table.setHorizontalHeaderLabels([self.tr("ID"), self.tr("Question"), self.tr("Reference answer"),
                                              self.tr("Sources"), self.tr("Reviewed")])
        self._show_file()

    def _show_file(self) -> None:
        self.file_label.setText(str(self.path) if self.path else self.tr("Not saved yet"))

    # ------------------------------------------------------------------ table
    def show_questions(self, questions: list[EvalQuestion]) -> None:
        self.questions = list(questions)
        self.table.setRowCount(0)
        for question in self.questions:
            self._append_row(question)
        self._count_changed()

    def _append_row(self, question: EvalQuestion) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        cells = (question.id, question.question, question.reference or "", sources_text(question.sources))
        for column, text in enumerate(cells):
            self.table.setItem(row, column, QTableWidgetItem(text))
        reviewed = QTableWidgetItem()
        reviewed.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        reviewed.setCheckState(Qt.CheckState.Unchecked if question.extra.get("draft") else Qt.CheckState.Checked)
        self.table.setItem(row, 4, reviewed)

    def edited_questions(self) -> list[EvalQuestion]:
        """The table read back (edits applied) as questions; rows without a question are left out."""
        out = []
        for row, old in enumerate(self.questions):
            text = self.table.item(row, 1).text().strip()
            if not text:
                continue
            extra = dict(old.extra)
            if self.table.item(row, 4).checkState() == Qt.CheckState.Checked:
                extra.pop("draft", None)
            else:
                extra["draft"] = True
            out.append(EvalQuestion(
                id=self.table.item(row, 0).text().strip() or f"q{row + 1}", question=text,
                reference=self.table.item(row, 2).text().strip() or None,
                sources=parse_sources(self.table.item(row, 3).text(), old.sources), extra=extra))
        return out

    def add_question(self) -> None:
        taken = {self.table.item(r, 0).text() for r in range(self.table.rowCount())}
        number = self.table.rowCount() + 1
        while f"q{number}" in taken:
            number += 1
        question = EvalQuestion(id=f"q{number}", question="")
        self.questions.append(question)
        self._append_row(question)
        self.table.setCurrentCell(self.table.rowCount() - 1, 1)
        self.table.editItem(self.table.item(self.table.rowCount() - 1, 1))
        self._count_changed()

    def delete_selected(self) -> None:
        rows = sorted({index.row() for index in self.table.selectedIndexes()}, reverse=True)
        self.questions = self.edited_rows_kept(rows)
        for row in rows:
            self.table.removeRow(row)
        self._count_changed()

    def edited_rows_kept(self, removed: list[int]) -> list[EvalQuestion]:
        return [q for i, q in enumerate(self.questions) if i not in set(removed)]

    def mark_reviewed(self) -> None:
        rows = {index.row() for index in self.table.selectedIndexes()} or set(range(self.table.rowCount()))
        for row in rows:
            self.table.item(row, 4).setCheckState(Qt.CheckState.Checked)
        self._count_changed()

    def _count_changed(self) -> None:
        total = self.table.rowCount()
        drafts = sum(1 for r in range(total) if self.table.item(r, 4).checkState() != Qt.CheckState.Checked)
        self.status.setText(self.tr("{n} questions, {drafts} not reviewed yet").format(n=total, drafts=drafts))

    # ------------------------------------------------------------------ files
    def open_file(self, path: str | None = None) -> bool:
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, self.tr("Open a question set"), "",
                                                  self.tr("Question sets (*.jsonl);;All files (*)"))
            if not path:
                return False
        try:
            questions = load_questions(path)
        except InglenookError as exc:
            self.status.setText(str(exc))
            return False
        self.path = Path(path)
        self._show_file()
        self.show_questions(questions)
        return True

    def save(self, path: str | None = None) -> Path | None:
        questions = self.edited_questions()
        ids = [q.id for q in questions]
        if len(set(ids)) != len(ids):
            self.status.setText(self.tr("Two questions have the same ID; give each its own."))
            return None
        if not questions:
            self.status.setText(self.tr("There is no question to save."))
            return None
        target = Path(path) if path else self.path
        if target is None:
            chosen, _ = QFileDialog.getSaveFileName(self, self.tr("Save the question set"), "questions.jsonl",
                                                    self.tr("Question sets (*.jsonl)"))
            if not chosen:
                return None
            target = Path(chosen)
        try:
            save_questions(target, questions)
        except (InglenookError, OSError) as exc:
            self.status.setText(self.tr("Could not save: {error}").format(error=exc))
            return None
        self.path = target
        self._show_file()
        self.show_questions(questions)
        self.status.setText(self.tr("Saved {n} questions to {path}").format(n=len(questions), path=target))
        self.saved.emit(str(target))
        return target

    # ------------------------------------------------------------------ drafting
    def draft(self, collection: str | None = None, n: int | None = None) -> bool:
        """Draft questions from a collection with the loaded model, off the GUI thread."""
        from knowledge.evaluation.testset import generate_questions

        if self.worker is not None:
            return False
        collection = collection or self.collection.currentText()
        if not collection:
            self.status.setText(self.tr("Add a collection in the Library first."))
            return False
        host = self.controller.host
        if host.loaded is None or self.controller.loader.loading:
            self.status.setText(self.tr("Load a model first: it writes the drafts."))
            return False
        count = n or self.count.value()
        library = self.library
        self._before_draft = self.edited_questions()
        worker = StreamWorker(lambda: generate_questions(library, host, collection, n=count), self)
        worker.progress.connect(self._draft_progress)
        worker.finished_with.connect(self._draft_finished)
        worker.failed.connect(self._draft_failed)
        worker.finished.connect(self._worker_gone)
        self.worker = worker
        self._set_drafting(True)
        self.status.setText(self.tr("Drafting questions from {name}…").format(name=collection))
        worker.start()
        return True

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.status.setText(self.tr("Stopping after the current draft…"))

    def _set_drafting(self, on: bool) -> None:
        self.progress.setVisible(on)
        self.cancel_button.setVisible(on)
        for widget in (self.draft_button, self.open_button, self.save_button, self.collection, self.count):
            widget.setEnabled(not on)
        if on:
            self.progress.setRange(0, 0)

    def _merged(self, drafts: list[EvalQuestion]) -> list[EvalQuestion]:
        """The questions there before, then the drafts with IDs of their own."""
        taken = {q.id for q in self._before_draft}
        out = list(self._before_draft)
        for draft in drafts:
            question_id, number = draft.id, 1
            while question_id in taken:
                number += 1
                question_id = f"{draft.id}-{number}"
            taken.add(question_id)
            out.append(EvalQuestion(question_id, draft.question, draft.reference, list(draft.sources),
                                    dict(draft.extra)))
        return out

    def _draft_progress(self, p) -> None:
        if p.total:
            self.progress.setRange(0, p.total)
            self.progress.setValue(p.done)
        if len(p.questions) + len(self._before_draft) != self.table.rowCount():
            self.show_questions(self._merged(p.questions))
        self.status.setText(self.tr("Tried {done} of {total} passages, kept {kept} drafts").format(
            done=p.done, total=p.total, kept=len(p.questions)))

    def _draft_finished(self, last, cancelled: bool) -> None:
        kept = len(last.questions) if last is not None else 0
        if last is not None:
            self.show_questions(self._merged(last.questions))
        self.status.setText(self.tr("Drafting stopped; {kept} drafts kept. Review them, then save.").format(kept=kept)
                            if cancelled else
                            self.tr("{kept} drafts written. Review them, then save.").format(kept=kept))

    def _draft_failed(self, message: str) -> None:
        self.status.setText(message)

    def _worker_gone(self) -> None:
        self.worker = None
        self._set_drafting(False)

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait(60_000)
        super().closeEvent(event)
