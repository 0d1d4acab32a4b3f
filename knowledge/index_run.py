"""One indexing run of one collection, consumed as a stream of progress events.

``Indexer.index`` reports progress through a callback on the thread that runs it. A face wants the
opposite shape: a loop over events it can stop (the CLI's progress bar, the window's worker thread
that turns each event into a signal). ``IndexRun`` runs the indexer on a helper thread and hands its
progress over through a queue, so the consumer iterates, and ``cancel()`` (from any thread) stops the
run between files. The indexer is crash-safe, so a cancelled run simply leaves less done.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from knowledge.errors import IndexRunningError

if TYPE_CHECKING:
    from knowledge.indexer import Indexer, IndexProgress, IndexSummary

_END = object()  # put on the queue after the last progress event, whatever happened


class IndexRun:
    """Iterate for copies of ``IndexProgress`` (the last one's phase is "done"); then ``summary`` holds
    the ``IndexSummary``. An error of the run is raised by the iteration, in the consumer's thread.

    Leaving the loop early (break, an exception, Ctrl-C) cancels the run and waits for it to stop;
    ``with run:`` does the same for a run that is never iterated to its end.
    """

    def __init__(self, collection: str, indexer: Callable[[], Indexer],
                 on_end: Callable[[IndexRun], None] | None = None):
        self.collection = collection
        self.summary: IndexSummary | None = None
        self._indexer = indexer  # called on the helper thread: building an Indexer imports LanceDB
        self._on_end = on_end
        self._cancel = threading.Event()
        self._events: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._ended = False

    def cancel(self) -> None:
        """Stop between files; safe from any thread, before or during the run."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def __iter__(self) -> Iterator[IndexProgress]:
        self._start()
        try:
            while (event := self._events.get()) is not _END:
                yield event
        except BaseException:  # the consumer stopped listening: stop the work too
            self.cancel()
            raise
        finally:
            self.join()
        if self._error is not None:
            raise self._error

    def join(self, timeout: float | None = None) -> None:
        """Wait for the helper thread; once it has ended (or never started) the run is over."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return
        if not self._ended:
            self._ended = True
            if self._on_end is not None:
                self._on_end(self)

    def close(self) -> None:
        """Cancel and wait: the run is over when this returns."""
        self.cancel()
        self.join()

    def __enter__(self) -> IndexRun:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    # ------------------------------------------------------------------ the helper thread
    def _start(self) -> None:
        if self._thread is not None or self._ended:
            raise IndexRunningError(
                f"This run of {self.collection!r} was already used; start another one with "
                "Library.index_run(name).")
        self._thread = threading.Thread(target=self._work, name=f"index-{self.collection}", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        try:
            indexer = self._indexer()
            self.summary = indexer.index(self.collection, progress=self._report, cancel=self._cancel)
        except BaseException as exc:  # handed to the consumer, who decides what it means
            self._error = exc
        finally:
            self._events.put(_END)

    def _report(self, progress: IndexProgress) -> None:
        # the indexer keeps updating its one progress object: each event is a copy of the moment
        self._events.put(dataclasses.replace(progress))
