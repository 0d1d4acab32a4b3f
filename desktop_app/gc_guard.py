"""Python's cyclic garbage collector runs on the GUI thread only.

The collector runs on whichever thread happens to allocate when a generation fills up: a model-loading
worker, the in-app server's event loop, an index run. If it then frees a PySide object whose signal
connections must be undone, that thread takes Qt's connection lock and waits for the GIL inside Qt,
while the GUI thread, holding the GIL, waits for the same lock to connect a new widget's signals: the
window freezes for good (seen in a window test: the GUI thread in ``QObject::connectImpl`` building a
``QLabel``, a server thread in ``QObject::disconnect`` called from ``gc_collect_main``). Collecting
only on the GUI thread removes that interleaving: automatic collection is turned off and a timer on the
GUI thread collects whatever generation has filled up, the way the collector itself would.
"""

from __future__ import annotations

import gc

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QTimer

CHECK_INTERVAL_MS = 500  # how often the GUI thread looks at the collector's counts (a check costs ~1 µs)

_guard: GuiThreadCollector | None = None


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_INTERVAL_MS):
        super().__init__(parent)
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect_if_due)
        self.timer.start(interval_ms)

    def collect_if_due(self) -> int | None:
        """Collect the oldest generation whose count passed its threshold (as automatic collection does)."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                return generation
        return None


def collect_on_gui_thread() -> GuiThreadCollector:
    """Install the collector once per application (windows come and go; the application stays)."""
    global _guard
    if _guard is None or not shiboken6.isValid(_guard):
        _guard = GuiThreadCollector(QCoreApplication.instance())
    return _guard
