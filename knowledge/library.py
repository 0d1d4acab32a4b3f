"""The document library of one data folder: the application layer both faces (window, CLI) call.

``Library`` owns the catalog, the chunk store, the indexer and the retriever (each built on first
use, so making a ``Library`` costs nothing), the indexing runs in progress and the collections being
watched. It knows no widget: the window runs its blocking calls on worker threads and turns the
events into signals; the CLI calls them directly.

What is remembered between runs of the app (which collections are watched) is the caller's setting,
reached through a ``WatchMemory``; the rules (remember on watch, forget on removal, resume only
collections that still exist) are here.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from knowledge.catalog import Catalog, Collection, FileRecord
from knowledge.errors import IndexRunningError, LibraryClosedError
from knowledge.index_run import IndexRun

if TYPE_CHECKING:
    from knowledge.indexer import Indexer, IndexProgress, IndexSummary
    from knowledge.retrieval import Retriever
    from knowledge.store import ChunkStore
    from knowledge.watch import CollectionWatcher

log = logging.getLogger(__name__)

DEFAULT_NAME = "Documents"  # a collection made from a path whose name has no usable character
WATCH_DEBOUNCE_S = 2.0
STOP_TIMEOUT_S = 30.0  # how long closing waits for a run or a watcher to reach a safe point

_warm_lock = threading.Lock()


def warm_up() -> None:
    """Import the heavy modules (LanceDB, pyarrow, ONNX runtime) and run LanceDB's paths once.

    A GUI calls this on a background thread at start, so neither the import nor the first use is paid
    on the GUI thread or in the middle of the user's first indexing run.
    """
    with _warm_lock:
        try:
            import knowledge.answer  # noqa: F401
            import knowledge.indexer  # noqa: F401
            import knowledge.retrieval  # noqa: F401
            from knowledge.store import warm_up as warm_up_store

            warm_up_store()
        except Exception:  # reported when the library actually needs them
            log.exception("importing the knowledge core failed")


def collection_name_for(path: Path | str) -> str:
    """A collection name made from a folder's or file's name (what the catalog accepts)."""
    return re.sub(r"[^\w .-]", "_", Path(path).name).strip()[:60] or DEFAULT_NAME


@dataclass(frozen=True)
class WatchEvent:
    """What a watched collection did on its own: an incremental run (``summary``) or a failed one."""

    collection: str
    summary: IndexSummary | None = None
    error: Exception | None = None


WatchListener = Callable[[WatchEvent], None]


class WatchMemory(Protocol):
    """Where the names of the watched collections are kept between runs (the window: a setting)."""

    def load(self) -> list[str]: ...

    def save(self, names: list[str]) -> None: ...


class ListMemory:
    """A ``WatchMemory`` that lasts as long as the process (the CLI remembers nothing)."""

    def __init__(self, names: Iterable[str] = ()):
        self.names = list(names)

    def load(self) -> list[str]:
        return list(self.names)

    def save(self, names: list[str]) -> None:
        self.names = list(names)


class Library:
    """Collections, their indexing runs and their watchers; ``close()`` ends it all."""

    def __init__(self, catalog: Catalog | None = None, store: ChunkStore | None = None, *,
                 watch_memory: WatchMemory | None = None):
        self._catalog = catalog
        self._owns_catalog = catalog is None
        self._store = store
        self._indexer: Indexer | None = None
        self._retriever: Retriever | None = None
        self.watch_memory: WatchMemory = watch_memory if watch_memory is not None else ListMemory()
        self._lock = threading.RLock()  # the dicts below and the catalog; never held for long
        self._build_lock = threading.Lock()  # building the LanceDB-backed parts (imports take seconds)
        self._runs: dict[str, IndexRun] = {}
        self._watchers: dict[str, CollectionWatcher] = {}
        self._watch_tokens: dict[str, object] = {}  # the latest watch() of each name; older ones give way
        self._stopping: list[threading.Thread] = []
        self._closed = False

    # ------------------------------------------------------------------ the parts, built on first use
    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def catalog(self) -> Catalog:
        with self._lock:
            self._check_open()
            if self._catalog is None:
                self._catalog = Catalog()
            return self._catalog

    def store(self) -> ChunkStore:
        """The LanceDB folder. This and the two below import LanceDB on first use: call them off a GUI
        thread (``warm_up`` makes that first use cheap)."""
        with self._build_lock:
            return self._built_store()

    def indexer(self) -> Indexer:
        with self._build_lock:
            if self._indexer is None:
                from knowledge.indexer import Indexer

                self._indexer = Indexer(self.catalog, self._built_store())
            return self._indexer

    def retriever(self) -> Retriever:
        with self._build_lock:
            if self._retriever is None:
                from knowledge.retrieval import Retriever

                self._retriever = Retriever(self.catalog, self._built_store())
            return self._retriever

    def _built_store(self) -> ChunkStore:
        self._check_open()
        if self._store is None:
            from knowledge.store import ChunkStore

            self._store = ChunkStore()
        return self._store

    def _check_open(self) -> None:
        if self._closed:
            raise LibraryClosedError("The document library was closed; restart Inglenook (or the command) to use it.")

    # ------------------------------------------------------------------ collections
    def collections(self) -> list[Collection]:
        return self.catalog.list()

    def names(self) -> list[str]:
        return [c.name for c in self.collections()]

    def get(self, name: str) -> Collection:
        return self.catalog.get(name)

    def require(self, names: Iterable[str]) -> None:
        """Raise ``CollectionNotFoundError`` (listing the collections) for the first unknown name."""
        for name in names:
            self.catalog.get(name)

    def existing(self, names: Iterable[str]) -> list[str]:
        """``names`` without the ones no longer in the catalog, in their order."""
        known = set(self.names())
        return [n for n in names if n in known]

    def counts(self, collection: Collection) -> dict[str, int]:
        """Files per status ("indexed", "skipped", "failed") and "chunks"."""
        return self.catalog.status_counts(collection)

    def index_details(self, collection: Collection) -> dict[str, Any]:
        """What the index is made of, for `collections status` and the Documents page: the embedder the
        searchable table was built with, how many chunks are full-text only (a language the embedder does
        not cover) and whether a rebuild with another embedder is under way (the old table still serves)."""
        from knowledge.store import embedder_of

        store = self.store()
        live = store.existing(collection.table_name)
        wanted = str(collection.setting("embedder"))
        details: dict[str, Any] = {"embedder": wanted, "searching_with": None, "chunks": 0, "fulltext_only": 0,
                                   "rebuilding": False}
        if live is not None:
            details["searching_with"] = embedder_of(live)[1] or wanted
            details["chunks"] = live.count_rows()
            details["fulltext_only"] = live.count_rows("NOT embedded") if details["chunks"] else 0
        details["rebuilding"] = any(collection.owns_table(t) and t != collection.table_name
                                    for t in store.table_names())
        return details

    def problem_files(self, collection: Collection) -> list[FileRecord]:
        """Files skipped, failed or indexed with warnings, by status then path."""
        records = self.catalog.files(collection).values()
        problems = [r for r in records if r.status in ("skipped", "failed") or r.warnings]
        return sorted(problems, key=lambda r: (r.status, r.path))

    def unique_name(self, base: str) -> str:
        """``base``, or ``base 2``, ``base 3``... whichever is not taken yet."""
        existing = set(self.names())
        name, n = base, 2
        while name in existing:
            name, n = f"{base} {n}", n + 1
        return name

    def create(self, name: str, roots: list[Path | str], **settings: Any) -> Collection:
        return self.catalog.create(name, roots, **settings)

    def add(self, paths: list[Path | str], name: str | None = None, **settings: Any) -> Collection:
        """A new collection of these folders/files, named after the first one unless ``name`` is given."""
        resolved = [Path(p).expanduser().absolute() for p in paths]
        name = name or self.unique_name(collection_name_for(resolved[0]) if resolved else DEFAULT_NAME)
        return self.create(name, resolved, **settings)

    def forget(self, name: str) -> Collection:
        """Take a collection out of the catalog: its run is cancelled, its watcher stopped and no longer
        remembered. Its index stays on disk until ``drop_index`` (which imports LanceDB)."""
        run = self._runs.get(name)
        if run is not None:
            run.cancel()
            run.join(STOP_TIMEOUT_S)
        self.unwatch(name, wait=False)
        self.remember_watched(name, False)
        return self.catalog.remove(name)

    def drop_index(self, collection: Collection) -> None:
        """Delete the collection's tables: the live one and any half-built one of another embedder."""
        store = self.store()
        for name in store.table_names():
            if collection.owns_table(name):
                store.drop(name)

    def remove(self, name: str) -> Collection:
        """Forget the collection and delete its index; the files themselves are never touched."""
        collection = self.forget(name)
        self.drop_index(collection)
        return collection

    # ------------------------------------------------------------------ indexing
    def index_run(self, name: str) -> IndexRun:
        """A run of ``name``, started by iterating it. One run per collection at a time."""
        with self._lock:
            self._check_open()
            if name in self._runs:
                raise IndexRunningError(
                    f"{name!r} is being indexed already; wait for that run to finish or cancel it first.")
            run = IndexRun(name, self.indexer, on_end=self._run_ended)
            self._runs[name] = run
            return run

    def index(self, name: str, progress: Callable[[IndexProgress], None] | None = None) -> IndexSummary:
        """Index ``name`` on this thread's behalf, calling ``progress`` with each event."""
        with self.index_run(name) as run:
            for event in run:
                if progress is not None:
                    progress(event)
        assert run.summary is not None  # set by a run that raised nothing
        return run.summary

    def is_indexing(self, name: str) -> bool:
        return name in self._runs

    def _run_ended(self, run: IndexRun) -> None:
        with self._lock:
            if self._runs.get(run.collection) is run:
                del self._runs[run.collection]

    # ------------------------------------------------------------------ watching
    def watch(self, name: str, listener: WatchListener, *, debounce_s: float = WATCH_DEBOUNCE_S) -> bool:
        """Keep ``name`` current: file changes trigger debounced incremental runs, each reported to
        ``listener`` (on the watcher's thread). Blocks while the folders are registered (call it off a
        GUI thread). False when an ``unwatch``, ``forget`` or ``close`` came first; already watched: True.
        """
        from knowledge.watch import CollectionWatcher

        with self._lock:
            self._check_open()
            if name in self._watchers:
                return True
            token = self._watch_tokens[name] = object()
        watcher = CollectionWatcher(self.indexer(), name, debounce_s=debounce_s,
                                    on_run=lambda s: listener(WatchEvent(name, summary=s)),
                                    on_error=lambda e: listener(WatchEvent(name, error=e)))
        watcher.start()
        with self._lock:
            wanted = not self._closed and self._watch_tokens.get(name) is token
            if wanted:
                self._watchers[name] = watcher
        if not wanted:
            watcher.stop()
        return wanted

    def unwatch(self, name: str, *, wait: bool = True) -> None:
        """Stop watching ``name``. ``wait=False`` returns at once and stops it on a background thread
        (a watcher in the middle of a run takes until the run's end); ``close()`` waits for it."""
        with self._lock:
            self._watch_tokens.pop(name, None)
            watcher = self._watchers.pop(name, None)
        if watcher is None:
            return
        if wait:
            watcher.stop()
            return
        thread = threading.Thread(target=watcher.stop, name=f"unwatch-{name}", daemon=True)
        with self._lock:
            self._stopping = [t for t in self._stopping if t.is_alive()] + [thread]
        thread.start()

    def is_watched(self, name: str) -> bool:
        return name in self._watchers

    def remember_watched(self, name: str, on: bool) -> None:
        """Record in the ``WatchMemory`` whether ``name`` is to be watched the next time too."""
        names = [n for n in self.watch_memory.load() if n != name]
        self.watch_memory.save([*names, name] if on else names)

    def remembered_watched(self) -> list[str]:
        """The remembered collections that still exist: the ones to start watching again."""
        return self.existing(self.watch_memory.load())

    # ------------------------------------------------------------------ lifecycle
    def stop_work(self) -> None:
        """Cancel the indexing runs and stop the watchers, waiting for each to reach a safe point.
        The catalog stays open: a reply may still be searching."""
        with self._lock:
            runs = list(self._runs.values())
            names = list(self._watchers)
        for run in runs:
            run.cancel()
        for run in runs:
            run.join(STOP_TIMEOUT_S)
        for name in names:
            self.unwatch(name)
        for thread in list(self._stopping):
            thread.join(STOP_TIMEOUT_S)

    def close(self) -> None:
        """Stop all work and close the catalog; the library cannot be used afterwards. Idempotent."""
        if self._closed:
            return
        self.stop_work()
        with self._build_lock, self._lock:
            self._closed = True
            self._watch_tokens.clear()
            if self._catalog is not None and self._owns_catalog:
                self._catalog.close()
            self._catalog = None
            self._indexer = self._retriever = None
