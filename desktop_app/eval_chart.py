"""The Evaluate page's chart: per metric, one bar per configuration with its 95% interval, painted by hand.

Values are in [0, 1]. A bar whose value is unknown (None: the measure does not apply, or no question
has been measured yet) is drawn as an empty outline with "—", so a missing number never looks like 0.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPen
from PySide6.QtWidgets import QWidget

from desktop_app.theme import begin_card_painting

# Distinct hues that read on both the light and the dark surface.
SERIES_COLORS = ("#d9622b", "#2f7fd1", "#2e9e6a", "#a45ac8", "#c79a16", "#d04a7a", "#4aa3a8", "#7d7d7d")
BAR_HEIGHT = 12
ROW_GAP = 10


class MetricChart(QWidget):
    """``values[config][metric] = (mean, low, high)``; metrics and configs in the order given."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.metrics: list[str] = []
        self.labels: dict[str, str] = {}
        self.configs: list[str] = []
        self.values: dict[str, dict[str, tuple[float | None, float | None, float | None]]] = {}
        self.setMinimumHeight(120)

    def set_data(self, metrics: list[str], configs: list[str],
                 values: dict[str, dict[str, tuple[float | None, float | None, float | None]]],
                 labels: dict[str, str] | None = None) -> None:
        self.metrics, self.configs, self.values = list(metrics), list(configs), values
        self.labels = labels or {}
        self.setMinimumHeight(self._height())
        self.updateGeometry()
        self.update()

    def value(self, config: str, metric: str) -> float | None:
        return (self.values.get(config, {}).get(metric) or (None, None, None))[0]

    def _height(self) -> int:
        metrics = QFontMetrics(self.font())
        per_metric = metrics.height() + 4 + max(1, len(self.configs)) * (BAR_HEIGHT + 3) + ROW_GAP
        return 16 + metrics.height() + 8 + len(self.metrics) * per_metric

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(560, self._height())

    def paintEvent(self, _event) -> None:  # noqa: N802
        painter, c = begin_card_painting(self)
        fm = QFontMetrics(self.font())
        if not self.metrics or not self.configs:
            painter.setPen(QColor(c.muted))
            painter.drawText(QRectF(self.rect()), Qt.AlignmentFlag.AlignCenter,
                             self.tr("The measures appear here as the questions are answered and measured."))
            return
        label_width = max(fm.horizontalAdvance(name) for name in self.configs) + 18
        left, right = 12 + label_width, self.width() - 50
        y = self._legend(painter, fm, c)
        for metric in self.metrics:
            painter.setPen(QColor(c.text))
            painter.drawText(QPointF(12, y + fm.ascent()), self.labels.get(metric, metric))
            y += fm.height() + 4
            for index, config in enumerate(self.configs):
                self._bar(painter, fm, c, config, metric, index, (left, right), y)
                y += BAR_HEIGHT + 3
            y += ROW_GAP

    def _legend(self, painter: QPainter, fm: QFontMetrics, c) -> float:
        x = 12.0
        for index, config in enumerate(self.configs):
            color = QColor(SERIES_COLORS[index % len(SERIES_COLORS)])
            painter.fillRect(QRectF(x, 12, 12, 12), color)
            painter.setPen(QColor(c.text))
            painter.drawText(QPointF(x + 16, 12 + fm.ascent() - 1), config)
            x += 16 + fm.horizontalAdvance(config) + 16
        return 16.0 + fm.height() + 8

    def _bar(self, painter: QPainter, fm: QFontMetrics, c, config: str, metric: str, index: int,
             span: tuple[float, float], y: float) -> None:
        left, right = span
        width = max(10.0, right - left)
        mean, low, high = self.values.get(config, {}).get(metric) or (None, None, None)
        color = QColor(SERIES_COLORS[index % len(SERIES_COLORS)])
        painter.setPen(QColor(c.muted))
        painter.drawText(QPointF(12, y + fm.ascent() - 2), config)
        track = QRectF(left, y, width, BAR_HEIGHT)
        painter.setPen(QPen(QColor(c.border)))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(track)
        if mean is None:
            painter.setPen(QColor(c.muted))
            painter.drawText(QPointF(right + 6, y + fm.ascent() - 2), "—")
            return
        painter.fillRect(QRectF(left, y, width * mean, BAR_HEIGHT), color)
        if low is not None and high is not None:
            whisker = QPen(QColor(c.text), 1.5)
            painter.setPen(whisker)
            mid = y + BAR_HEIGHT / 2
            painter.drawLine(QPointF(left + width * low, mid), QPointF(left + width * high, mid))
            for x in (left + width * low, left + width * high):
                painter.drawLine(QPointF(x, y + 2), QPointF(x, y + BAR_HEIGHT - 2))
        painter.setPen(QColor(c.text))
        painter.drawText(QPointF(right + 6, y + fm.ascent() - 2), f"{mean:.2f}")
