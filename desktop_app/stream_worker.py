"""A worker thread that iterates a generator off the GUI thread: the pattern of the evaluation core.

The core streams its work as a generator (``EvalRun``, ``generate_questions``): stopping the
iteration is cancelling. ``StreamWorker`` emits every item as ``progress``, and ``finished_with``
(the last item, whether it was cancelled) or ``failed`` at the end. ``cancel()`` may be called from
any thread; the generator is closed after the item in hand, so what it wrote so far stays (a run
resumes from it). The worker never touches a widget.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QThread, Signal

from engine.errors import InglenookError

log = logging.getLogger(__name__)


class StreamWorker(QThread):
    progress = Signal(object)  # one item of the stream
    finished_with = Signal(object, bool)  # the last item (or None), cancelled
    failed = Signal(str)

    def __init__(self, start: Callable[[], Iterator[Any]], parent=None):
        super().__init__(parent)
        self._start = start
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        last = None
        try:
            stream = self._start()
            try:
                for item in stream:
                    last = item
                    self.progress.emit(item)
                    if self._cancel.is_set():
                        break
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
        except InglenookError as exc:
            self.failed.emit(str(exc))
            return
        except OSError as exc:
            self.failed.emit(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
            return
        except Exception as exc:  # a bug; the window must still learn that the work ended
            log.exception("background stream failed")
            self.failed.emit(f"Unexpected error: {exc!r}")
            return
        self.finished_with.emit(last, self._cancel.is_set())
