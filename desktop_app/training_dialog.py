"""Training a style adapter from a JSONL file: settings, progress, a live loss chart, cancel.

Training runs in ``lora_control.TrainWorker`` (a thread that only emits signals); this dialog shows
its reports. Closing the dialog while it trains asks first, then cancels and closes once the
worker has stopped (after the current step; nothing is written).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QCloseEvent, QColor, QFontMetrics, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_app.controller import AppController
from desktop_app.lora_control import TrainWorker
from desktop_app.theme import Colors, begin_card_painting, current_theme
from desktop_app.widgets import heading, muted
from engine.lora.train import TrainConfig, TrainProgress, TrainResult


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"


class LossChart(QWidget):
    """Training loss (a line per step) and held-out loss (a line through each evaluation), painted by hand."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.train: list[tuple[int, float]] = []
        self.val: list[tuple[int, float]] = []
        self.total_steps = 0
        self.setMinimumHeight(190)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(520, 230)

    def clear(self) -> None:
        self.train, self.val, self.total_steps = [], [], 0
        self.update()

    def add(self, progress: TrainProgress) -> None:
        if progress.total_steps:
            self.total_steps = progress.total_steps
        if progress.train_loss is not None and math.isfinite(progress.train_loss):
            self.train.append((progress.step, progress.train_loss))
        if progress.val_loss is not None and math.isfinite(progress.val_loss):
            self.val.append((progress.step, progress.val_loss))
        self.update()

    # ---------------------------------------------------------------------- painting
    def paintEvent(self, _event) -> None:  # noqa: N802
        painter, c = begin_card_painting(self)
        metrics = QFontMetrics(self.font())
        train_color, val_color = QColor(c.accent), QColor("#2f7fd1" if current_theme() == "light" else "#6fb2ff")
        self._paint_legend(painter, metrics, c, [(self.tr("Training loss"), train_color),
                                                 (self.tr("Held-out loss"), val_color)])
        points = self.train + self.val
        top = 20 + metrics.height()
        plot = QRectF(12 + metrics.horizontalAdvance("00.00") + 6, top, 0, 0)
        plot.setRight(self.width() - 14)
        plot.setBottom(self.height() - metrics.height() - 10)
        if not points or plot.width() < 20 or plot.height() < 20:
            painter.setPen(QColor(c.muted))
            painter.drawText(QRectF(0, top, self.width(), self.height() - top), Qt.AlignmentFlag.AlignCenter,
                             self.tr("The loss appears here once training starts."))
            return
        low, high = min(v for _, v in points), max(v for _, v in points)
        if high - low < 1e-6:
            low, high = low - 0.5, high + 0.5
        pad = (high - low) * 0.08
        low, high = max(0.0, low - pad), high + pad
        last = max(self.total_steps, max(s for s, _ in points), 1)

        def at(step: float, value: float) -> QPointF:
            return QPointF(plot.left() + plot.width() * step / last,
                           plot.bottom() - plot.height() * (value - low) / (high - low))

        self._paint_axes(painter, metrics, c, plot, (low, high), last, at)
        for series, color, dots in ((self.train, train_color, False), (self.val, val_color, True)):
            self._paint_series(painter, series, color, dots, at)

    def _paint_legend(self, painter: QPainter, metrics: QFontMetrics, c: Colors,
                      legend: list[tuple[str, QColor]]) -> None:
        x = 12
        for text, color in legend:
            painter.setPen(QPen(color, 3))
            y = 12 + metrics.height() / 2
            painter.drawLine(QPointF(x, y), QPointF(x + 18, y))
            painter.setPen(QColor(c.text))
            painter.drawText(QPointF(x + 24, 12 + metrics.ascent()), text)
            x += 24 + metrics.horizontalAdvance(text) + 18

    def _paint_axes(self, painter: QPainter, metrics: QFontMetrics, c: Colors, plot: QRectF,
                    span: tuple[float, float], last: int, at: Callable[[float, float], QPointF]) -> None:
        """Dotted lines at five loss values with their labels; the step axis under the plot."""
        low, high = span
        grid = QPen(QColor(c.border))
        grid.setStyle(Qt.PenStyle.DotLine)
        for i in range(5):
            value = low + (high - low) * i / 4
            y = at(0, value).y()
            painter.setPen(grid)
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.setPen(QColor(c.muted))
            label = f"{value:.2f}"
            painter.drawText(QPointF(plot.left() - 6 - metrics.horizontalAdvance(label), y + metrics.ascent() / 2 - 1),
                             label)
        painter.setPen(QColor(c.muted))
        base = plot.bottom() + metrics.ascent() + 4
        painter.drawText(QPointF(plot.left(), base), "0")
        end = str(last)
        painter.drawText(QPointF(plot.right() - metrics.horizontalAdvance(end), base), end)
        caption = self.tr("step")
        painter.drawText(QPointF(plot.center().x() - metrics.horizontalAdvance(caption) / 2, base), caption)

    @staticmethod
    def _paint_series(painter: QPainter, series: list[tuple[int, float]], color: QColor, dots: bool,
                      at: Callable[[float, float], QPointF]) -> None:
        if not series:
            return
        path = QPainterPath(at(*series[0]))
        for step, value in series[1:]:
            path.lineTo(at(step, value))
        painter.setPen(QPen(color, 2))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
        if dots or len(series) == 1:
            painter.setBrush(color)
            for step, value in series:
                painter.drawEllipse(at(step, value), 3, 3)


class TrainingDialog(QDialog):
    def __init__(self, controller: AppController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.worker: TrainWorker | None = None
        self.result: TrainResult | None = None
        self._close_when_done = False
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setMinimumWidth(580)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 14)
        layout.setSpacing(10)
        self.title = heading(level=2)
        layout.addWidget(self.title)
        self.intro = muted()
        layout.addWidget(self.intro)
        layout.addLayout(self._build_form(TrainConfig()))
        self.base_label = muted()
        layout.addWidget(self.base_label)
        self._build_progress(layout)
        layout.addLayout(self._build_buttons())
        self.retranslate()
        self._set_running(False)

    def _build_form(self, defaults: TrainConfig) -> QFormLayout:
        """The examples file, the style's name and the training settings (starting at ``defaults``)."""
        form = QFormLayout()
        self.labels: dict[str, QLabel] = {}
        file_row = QHBoxLayout()
        self.path = QLineEdit()
        self.path.textChanged.connect(self._path_changed)
        self.choose_button = QPushButton()
        self.choose_button.clicked.connect(lambda: self.choose_file())
        file_row.addWidget(self.path, 1)
        file_row.addWidget(self.choose_button)
        self.name = QLineEdit()
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 100)
        self.epochs.setValue(defaults.epochs)
        self.learning_rate = QDoubleSpinBox()
        self.learning_rate.setDecimals(5)
        self.learning_rate.setRange(0.00001, 0.5)
        self.learning_rate.setSingleStep(0.0005)
        self.learning_rate.setValue(defaults.learning_rate)
        self.rank = QSpinBox()
        self.rank.setRange(1, 256)
        self.rank.setValue(defaults.rank)
        self.batch_size = QSpinBox()
        self.batch_size.setRange(1, 256)
        self.batch_size.setValue(defaults.batch_size)
        self.max_length = QSpinBox()
        self.max_length.setRange(16, 8192)
        self.max_length.setSingleStep(64)
        self.max_length.setValue(defaults.max_length)
        for key, widget in (("file", file_row), ("name", self.name), ("epochs", self.epochs),
                            ("learning_rate", self.learning_rate), ("rank", self.rank),
                            ("batch_size", self.batch_size), ("max_length", self.max_length)):
            label = QLabel()
            self.labels[key] = label
            form.addRow(label, widget)
        return form

    def _build_progress(self, layout: QVBoxLayout) -> None:
        """Phase, details, a progress bar, the loss chart and the outcome."""
        self.phase = QLabel()
        self.phase.setObjectName("roleLabel")
        self.detail = muted()
        self.bar = QProgressBar()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setTextVisible(False)
        self.chart = LossChart()
        self.outcome = QLabel()
        self.outcome.setWordWrap(True)
        self.outcome.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.outcome.hide()
        for widget in (self.phase, self.detail, self.bar, self.chart, self.outcome):
            layout.addWidget(widget)

    def _build_buttons(self) -> QHBoxLayout:
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.start_button = QPushButton()
        self.start_button.setObjectName("primary")
        self.start_button.clicked.connect(lambda: self.start())
        self.cancel_button = QPushButton()
        self.cancel_button.clicked.connect(self._cancel_or_close)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.start_button)
        return buttons

    # ---------------------------------------------------------------------- text
    def changeEvent(self, event) -> None:  # noqa: N802
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Train a style"))
        self.title.setText(self.tr("Train a style (LoRA)"))
        self.intro.setText(self.tr(
            "Teach the model a style from examples: a JSONL file with one example a line, "
            "{\"prompt\": \"…\", \"reply\": \"…\"} or {\"messages\": […]}. About 100 examples teach a style well. "
            "Training runs on this computer; with a small model it takes minutes, and a tenth of the examples "
            "is held out to check progress."))
        names = {"file": self.tr("Examples (JSONL)"), "name": self.tr("Name"), "epochs": self.tr("Epochs"),
                 "learning_rate": self.tr("Learning rate"), "rank": self.tr("Rank"),
                 "batch_size": self.tr("Batch size"), "max_length": self.tr("Max length")}
        for key, label in self.labels.items():
            label.setText(names[key])
        self.choose_button.setText(self.tr("Choose…"))
        self.path.setPlaceholderText(self.tr("A .jsonl file of examples"))
        self.name.setPlaceholderText(self.tr("e.g. pirate"))
        self.rank.setToolTip(self.tr("Size of the adapter: higher learns more and is slower (alpha is twice the rank)"))
        self.epochs.setToolTip(self.tr("Passes over the examples; training stops early when the held-out loss "
                                       "stops improving"))
        self.max_length.setSuffix(self.tr(" tokens"))
        self.max_length.setToolTip(self.tr("Longer examples are cut to this length"))
        self.start_button.setText(self.tr("Start training"))
        self._update_base()
        self._set_running(self.worker is not None)

    def _update_base(self) -> None:
        base = self.controller.lora.base_model()
        self.base_label.setText(self.tr("Base model: {name} (the adapter only fits this model)").format(
            name=base.name) if base else self.tr("No model to train for: add a model first."))

    # ---------------------------------------------------------------------- state
    @property
    def running(self) -> bool:
        return self.worker is not None

    def _set_running(self, running: bool) -> None:
        for widget in (self.path, self.choose_button, self.name, self.epochs, self.learning_rate, self.rank,
                       self.batch_size, self.max_length):
            widget.setEnabled(not running)
        self.start_button.setEnabled(not running and self.controller.lora.base_model() is not None)
        self.cancel_button.setText(self.tr("Cancel training") if running else self.tr("Close"))
        self.cancel_button.setEnabled(not (running and self.worker.cancel_event.is_set()))

    def _path_changed(self, text: str) -> None:
        if text and not self.name.isModified():
            self.name.setText(Path(text).stem)

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Choose the examples"), "",
                                              self.tr("JSON Lines (*.jsonl *.json);;All files (*)"))
        if path:
            self.path.setText(path)

    def preselect(self, path: str, name: str, note: str = "") -> None:
        """Open with a file of examples already chosen (e.g. made from rated replies)."""
        self.path.setText(path)
        if not self.name.isModified():
            self.name.setText(name)
        if note:
            self._show_outcome(note)

    def config(self) -> TrainConfig:
        rank = self.rank.value()
        return TrainConfig(rank=rank, alpha=2.0 * rank, epochs=self.epochs.value(),
                           learning_rate=self.learning_rate.value(), batch_size=self.batch_size.value(),
                           max_length=self.max_length.value())

    def start(self, config: TrainConfig | None = None) -> bool:
        """Start training with the dialog's settings (``config`` replaces them, e.g. in tests)."""
        if self.running:
            return False
        path, name = self.path.text().strip(), self.name.text().strip()
        if not path:
            self._show_outcome(self.tr("Choose a file of examples first."), error=True)
            return False
        if not name:
            self._show_outcome(self.tr("Give the style a name."), error=True)
            return False
        worker = self.controller.lora.train(path, name, config or self.config())
        if worker is None:
            self._show_outcome(self.tr("Training could not start; see the message at the top of the window."),
                               error=True)
            return False
        self.worker = worker
        self.result = None
        worker.progress.connect(self._progress)
        worker.done.connect(self.show_result)
        worker.failed.connect(self._failed)
        worker.finished.connect(self._worker_finished)
        self.chart.clear()
        self.outcome.hide()
        self.phase.setText(self.tr("Starting…"))
        self.detail.setText("")
        self.bar.setRange(0, 0)  # busy until the number of steps is known
        self._set_running(True)
        return True

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            self.phase.setText(self.tr("Stopping after the current step…"))
            self._set_running(True)

    def _cancel_or_close(self) -> None:
        if self.running:
            self.cancel()
        else:
            self.close()

    # ------------------------------------------------------------------ reports
    def _progress(self, p: TrainProgress) -> None:
        if self.worker is not None and self.worker.cancel_event.is_set():
            self.chart.add(p)  # the labels keep saying that it is stopping
            return
        self.show_progress(p)

    def show_progress(self, p: TrainProgress) -> None:
        """Show one report (also used to replay a recorded run, e.g. for screenshots)."""
        phases = {"loading": self.tr("Loading the base model…"), "training": self.tr("Training"),
                  "evaluating": self.tr("Checking the held-out examples"),
                  "exporting": self.tr("Writing the adapter…"), "done": self.tr("Done")}
        self.phase.setText(phases.get(p.phase, p.phase))
        if p.total_steps:
            self.bar.setRange(0, p.total_steps)
            self.bar.setValue(p.step)
            parts = [self.tr("step {step}/{total}").format(step=p.step, total=p.total_steps)]
            if p.phase in ("training", "evaluating") and p.step:
                parts.append(self.tr("epoch {epoch}").format(epoch=f"{p.epoch:.1f}"))
            if p.train_loss is not None:
                parts.append(self.tr("loss {loss}").format(loss=f"{p.train_loss:.3f}"))
            if p.best_val_loss is not None:
                parts.append(self.tr("best held-out {loss}").format(loss=f"{p.best_val_loss:.3f}"))
            if p.eta_s is not None and p.phase in ("training", "evaluating"):
                parts.append(self.tr("about {eta} left").format(eta=duration(p.eta_s)))
            self.detail.setText(" · ".join(parts))
        self.chart.add(p)

    def show_result(self, result: TrainResult) -> None:
        """Training ended well: the adapter is registered."""
        self.result = result
        self.bar.setRange(0, max(1, result.total_steps))
        self.bar.setValue(result.total_steps if not result.stopped_early else result.steps)
        self.phase.setText(self.tr("Done"))
        early = self.tr(" It stopped early: the held-out loss no longer improved.") if result.stopped_early else ""
        self._show_outcome(self.tr(
            "Trained {name} in {time}: held-out loss {before} → {after}.{early} It is registered: switch it on "
            "under Styles (LoRA) in the conversation settings."
        ).format(name=result.name, time=duration(result.wall_s), before=f"{result.initial_val_loss:.3f}",
                 after=f"{result.best_val_loss:.3f}", early=early))

    def _failed(self, message: str, kind: str) -> None:
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        if kind == "cancelled":
            self.phase.setText(self.tr("Cancelled"))
            self._show_outcome(self.tr("Training was cancelled; nothing was written."))
        elif kind == "data":
            self.phase.setText(self.tr("The examples need fixing"))
            self._show_outcome(message, error=True)
        elif kind == "unavailable":
            self.phase.setText(self.tr("Training is not installed"))
            self._show_outcome(message, error=True)
        else:
            self.phase.setText(self.tr("Training failed"))
            self._show_outcome(message, error=True)

    def _worker_finished(self) -> None:
        self.worker = None
        self._set_running(False)
        if self._close_when_done:
            self.close()

    def _show_outcome(self, text: str, error: bool = False) -> None:
        self.outcome.setObjectName("warning" if error else "")
        self.outcome.style().unpolish(self.outcome)
        self.outcome.style().polish(self.outcome)
        self.outcome.setText(text)
        self.outcome.show()

    # ------------------------------------------------------------------ closing
    def confirm_stop(self) -> bool:
        answer = QMessageBox.question(self, self.tr("Stop training?"), self.tr(
            "A style is being trained. Stop it? Nothing is written; you can start again later."))
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.running:
            event.ignore()  # closed once the worker has stopped
            if self._close_when_done or self.confirm_stop():
                self._close_when_done = True
                self.cancel()
            return
        super().closeEvent(event)

    def reject(self) -> None:  # Esc: the same as closing the window
        if self.running:
            self.close()
        else:
            super().reject()
