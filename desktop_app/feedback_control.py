"""Feedback on replies in the window: thumbs, edited replies, and "make a style from my rated replies".

A thin adapter over ``engine.chat.feedback``: ratings and edits are one short SQLite write each (on
the GUI thread, like renaming a conversation); building the training file reads every rated
conversation, so it runs as a background task. Errors become the window's ``error`` messages.

Messages keep the translation context "AppController", where the controllers' messages live.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Signal

from desktop_app.notices import Notices
from desktop_app.workers import TaskRunner
from engine.chat.feedback import (
    Feedback,
    FeedbackExport,
    default_examples_path,
    edit_reply,
    feedback_examples,
    feedback_for,
    toggle_rating,
    write_examples,
)
from engine.chat.history import HistoryStore
from engine.errors import HistoryError


class FeedbackControl(QObject):
    feedback_changed = Signal(int, object)  # message id, Feedback | None

    def __init__(self, store: HistoryStore, tasks: TaskRunner, notices: Notices, parent: QObject | None = None):
        super().__init__(parent)
        self.store = store
        self.tasks = tasks
        self.notices = notices

    def feedback_for(self, message_ids: Iterable[int]) -> dict[int, Feedback]:
        try:
            return feedback_for(self.store, [i for i in message_ids if i > 0])
        except HistoryError as exc:
            self.notices.error.emit(str(exc))
            return {}

    def toggle(self, message_id: int, rating: str) -> Feedback | None:
        """Thumbs up or down; the same thumb again takes the rating back."""
        try:
            feedback = toggle_rating(self.store, message_id, rating)
        except HistoryError as exc:
            self.notices.error.emit(str(exc))
            return None
        self.feedback_changed.emit(message_id, feedback)
        return feedback

    def edit(self, message_id: int, text: str) -> Feedback | None:
        """Keep ``text`` as the preferred version of a reply (the model's original is kept too)."""
        try:
            feedback = edit_reply(self.store, message_id, text)
        except HistoryError as exc:
            self.notices.error.emit(str(exc))
            return None
        self.feedback_changed.emit(message_id, feedback)
        return feedback

    def export_examples(self, on_done: Callable[[Path, FeedbackExport], None],
                        path: Path | None = None) -> None:
        """Write the liked and edited replies as training examples (off the GUI thread), then ``on_done``."""
        store, target = self.store, Path(path) if path else default_examples_path()

        def work() -> tuple[Path, FeedbackExport]:
            export = feedback_examples(store)
            return write_examples(export.examples, target), export

        self.tasks.run(work, on_done=lambda result: on_done(*result))

    @staticmethod
    def describe_shortfall(export: FeedbackExport) -> str:
        return QCoreApplication.translate(
            "AppController", "Training needs at least {minimum} examples; your ratings make {used}. Rate (thumbs up) "
            "or edit {missing} more replies, then try again.").format(
            minimum=export.used + export.missing(), used=export.used, missing=export.missing())
