"""Keep a collection current while the app runs: file events trigger a debounced incremental run.

watchdog reports changes under the collection's folders; bursts (a save that writes three times,
a folder copied in) are collapsed into one run after a quiet period. The run itself is the normal
incremental indexer, so a missed event is repaired by the next run's scan.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from knowledge.indexer import Indexer, IndexSummary


class CollectionWatcher:
    def __init__(self, indexer: Indexer, name: str, *, debounce_s: float = 2.0,
                 on_run: Callable[[IndexSummary], None] | None = None,
                 on_error: Callable[[Exception], None] | None = None):
        self.indexer = indexer
        self.name = name
        self.debounce_s = debounce_s
        self.on_run = on_run
        self.on_error = on_error
        self._dirty = threading.Event()
        self._stop = threading.Event()
        self._observer = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return
                watcher._dirty.set()

        collection = self.indexer.catalog.get(self.name)
        self._observer = Observer()
        for root in collection.roots:
            target = root if root.is_dir() else root.parent
            self._observer.schedule(Handler(), str(target), recursive=root.is_dir())
        self._observer.start()
        self._thread = threading.Thread(target=self._loop, name=f"watch-{self.name}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            if not self._dirty.wait(timeout=0.5):
                continue
            # wait for a quiet period: every new event restarts the clock
            while self._dirty.is_set() and not self._stop.is_set():
                self._dirty.clear()
                self._stop.wait(self.debounce_s)
            if self._stop.is_set():
                break
            try:
                summary = self.indexer.index(self.name)
                if self.on_run:
                    self.on_run(summary)
            except Exception as exc:  # keep watching; the error is reported, the next change retries
                if self.on_error:
                    self.on_error(exc)

    def stop(self) -> None:
        self._stop.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=30)
