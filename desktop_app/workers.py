"""Worker threads. They call the core and report through signals; none of them touches a widget.

The model itself has one owner thread (``engine.host.ModelHost``). A ``ReplyWorker`` only
iterates the reply's event stream (which blocks on a queue fed by that owner thread) and saves it
through ``ChatSession``; a ``DownloadWorker`` runs one Hub download; a ``Task`` runs any other
short blocking call (listing a Hub repository, planning GPU offload) off the GUI thread, and a
``TaskRunner`` starts those and keeps them alive until they end.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from engine.chat.session import ChatSession
from engine.errors import DownloadCancelled, InglenookError
from engine.events import ContextNotice, Event, Finished, TextDelta
from engine.models.registry import ModelRegistry

log = logging.getLogger(__name__)


class ReplyWorker(QThread):
    """Streams one reply: ``began`` (the branch with the new reply last), ``delta``s, then ``done``
    or ``failed``. ``cancel()`` may be called from any thread at any time."""

    began = Signal(object)  # list[StoredMessage]
    delta = Signal(str)
    notice = Signal(object)  # ContextNotice
    other = Signal(object)  # any other event, e.g. knowledge.answer.SourcesEvent
    done = Signal(object, object)  # StoredMessage | None, Finished | None
    failed = Signal(str, bool)  # message, whether the reply had begun

    def __init__(self, session: ChatSession, start: Callable[[], Iterator[Event]], parent=None):
        super().__init__(parent)
        self.session = session
        self._start = start
        self._cancelled = threading.Event()
        self.text = ""

    def cancel(self) -> None:
        self._cancelled.set()  # first the flag, then the stream: whichever the worker reaches first
        self.session.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def run(self) -> None:
        began = False
        try:
            events = self._start()
            began = True
            self.began.emit(self.session.thread())
            if self._cancelled.is_set():
                self.session.cancel()
            finished: Finished | None = None
            for event in events:
                if isinstance(event, TextDelta):
                    self.text += event.text
                    self.delta.emit(event.text)
                elif isinstance(event, ContextNotice):
                    self.notice.emit(event)
                elif isinstance(event, Finished):
                    finished = event
                else:
                    self.other.emit(event)
            outcome = self.session.last_outcome
            self.done.emit(outcome.message if outcome else None, finished)
        except InglenookError as exc:
            self.failed.emit(str(exc), began)
        except Exception as exc:  # a bug; the window must still learn that the reply ended
            log.exception("reply failed")
            self.failed.emit(f"Unexpected error: {exc!r}", began)


class DownloadWorker(QThread):
    """Downloads (or resumes) one GGUF from the Hub and registers it."""

    progress = Signal(object)  # engine.models.hub.DownloadProgress
    done = Signal(object)  # ModelEntry
    failed = Signal(str, bool)  # message, cancelled by the user

    def __init__(self, registry: ModelRegistry, repo_id: str, filename: str, endpoint: str | None, parent=None):
        super().__init__(parent)
        self.registry = registry
        self.repo_id = repo_id
        self.filename = filename
        self.endpoint = endpoint
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        report_download(lambda: self.registry.download(self.repo_id, self.filename, endpoint=self.endpoint,
                                                       progress=self.progress.emit, cancel=self._cancel),
                        self.done, self.failed)


def report_download(download: Callable[[], Any], done, failed) -> None:
    """Run ``download`` (on a worker thread) and emit ``done(result)`` or ``failed(message, cancelled)``."""
    try:
        result = download()
    except DownloadCancelled as exc:
        failed.emit(str(exc), True)
    except InglenookError as exc:
        failed.emit(str(exc), False)
    except OSError as exc:
        failed.emit(f"The download could not be written ({exc.strerror or exc}).", False)
    except Exception as exc:  # a worker must report, never die silently
        log.exception("download failed")
        failed.emit(f"Unexpected error: {exc!r}", False)
    else:
        done.emit(result)


class Task(QThread):
    """Runs ``fn(*args)`` off the GUI thread; ``done(result)`` or ``failed(message)``."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[..., Any], *args: Any, parent=None):
        super().__init__(parent)
        self._fn = fn
        self._args = args

    def run(self) -> None:
        try:
            result = self._fn(*self._args)
        except InglenookError as exc:
            self.failed.emit(str(exc))
        except OSError as exc:
            self.failed.emit(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "))
        except Exception as exc:
            log.exception("background task failed")
            self.failed.emit(f"Unexpected error: {exc!r}")
        else:
            self.done.emit(result)


class TaskRunner(QObject):
    """Starts ``Task``s and holds on to them until they end (a QThread must outlive its run).

    A task's failure goes to ``on_failed`` when given, else to ``default_failed``: the window's
    ``error`` signal itself (a signal-to-signal connection, so it is emitted on the GUI thread).
    """

    def __init__(self, default_failed: Any, parent: QObject | None = None):
        super().__init__(parent)
        self._default_failed = default_failed
        self._tasks: set[Task] = set()

    def run(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
            on_failed: Callable[[str], None] | None = None) -> Task:
        task = Task(fn, *args, parent=self)
        self._tasks.add(task)
        if on_done is not None:
            task.done.connect(on_done)
        task.failed.connect(on_failed if on_failed is not None else self._default_failed)
        task.finished.connect(lambda: self._tasks.discard(task))
        task.start()
        return task

    def wait(self, msecs: int) -> None:
        """Wait for every task still running (at exit), each for at most ``msecs``."""
        for task in list(self._tasks):
            task.wait(msecs)
