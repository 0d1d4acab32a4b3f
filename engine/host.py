"""One owner thread for the model.

llama.cpp is not thread-safe, and a load or a reply can take seconds, so exactly one thread
(``ModelHost``'s) touches the backend; everyone else sends it requests and gets futures or event
streams back. The CLI's main thread stays free for Ctrl-C; the GUI thread never blocks.
Cancelling a reply sets a flag that the owner checks between tokens.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from engine import activity
from engine.cpu_share import CpuWatch, others_running_now, threads_for_reply
from engine.errors import InglenookError
from engine.events import Event, Finished, Timings
from engine.lora.adapters import ResolvedAdapter
from engine.lora.live import ActiveAdapter, ApplyResult, adapters_of
from engine.params import LoadOptions, SamplingParams
from engine.runtimes.base import ChatBackend, LoadedModel, Message
from engine.runtimes.registry import create_runtime

T = TypeVar("T")
_END = object()
MIN_OTHER_CORES = 0.5  # below it nothing takes a core: the instant check is not needed
RECHECK_THREADS_S = 0.5  # how often a streaming reply looks again at what else keeps the cores busy


class ReplyStream:
    """Events of one reply, produced on the owner thread, consumed on any other.

    Iterate it to get events; ``cancel()`` (from any thread) ends the reply after the current
    token, and the stream still ends with a ``Finished`` event whose reason is ``cancelled``.
    Abandoning iteration (``close()``, ``break`` out of a for loop) cancels as well.
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._cancel = threading.Event()
        self.finished: Finished | None = None
        self._deliver: Callable[[Any], None] | None = None
        self._deliver_lock = threading.Lock()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def _put(self, item: Any) -> None:
        with self._deliver_lock:
            if self._deliver is None:
                self._queue.put(item)
                return
            if isinstance(item, Finished):
                self.finished = item
            self._deliver(item)

    def deliver_to(self, callback: Callable[[Any], None]) -> None:
        """Hand every item to ``callback`` on the producing thread instead of queueing it for iteration.

        For an event loop (``nook serve``): one thread hop less per token than a thread iterating the
        stream. What was queued so far goes first; ``callback`` gets the events, then ``ReplyStream.END``.
        It must be quick and must not block. The stream cannot be iterated afterwards.
        """
        with self._deliver_lock:
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, Finished):
                    self.finished = item
                callback(item)
            self._deliver = callback

    def __iter__(self) -> Iterator[Event]:
        try:
            while True:
                item = self._queue.get()
                if item is _END:
                    return
                if isinstance(item, Finished):
                    self.finished = item
                yield item
        finally:
            if self.finished is None:
                self._cancel.set()

    def wait(self) -> Finished:
        """Drain the stream and return how it ended."""
        for _ in self:
            pass
        return self.finished


ReplyStream.END = _END  # what ``deliver_to`` callbacks get last


class ModelHost:
    """Owns one backend on a single worker thread."""

    def __init__(self, backend: ChatBackend | str = "llama.cpp") -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inglenook-model")
        self._backend = create_runtime(backend) if isinstance(backend, str) else backend
        self._loaded: LoadedModel | None = None
        self._active: ReplyStream | None = None
        self._cpu_watch: CpuWatch | None = None

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    @property
    def adapters(self) -> AdapterControl:
        """LoRA switching on this host's model (thread-safe; every call returns a Future)."""
        return AdapterControl(self)

    def reset_cache(self) -> None:
        """Forget the evaluated prompt, so the next reply reads its whole prompt (benchmarks use it)."""
        self.call(lambda backend: backend.invalidate_cache())

    def count_tokens(self, text: str) -> int:
        return self.call(lambda backend: backend.count_tokens(text))

    def submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        """Run ``fn(backend, *args, **kwargs)`` on the owner thread."""
        return self._executor.submit(fn, self._backend, *args, **kwargs)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self.submit(fn, *args, **kwargs).result()

    def load(self, path: Path | str, options: LoadOptions | None = None,
             progress: Callable[[float], bool | None] | None = None) -> Future[LoadedModel]:
        """Load a model (the previous one is freed first). ``progress`` returning False cancels."""

        if self._cpu_watch is None and hasattr(self._backend, "use_threads"):
            self._cpu_watch = CpuWatch().start()  # warmed up by the first reply

        def job(backend: ChatBackend) -> LoadedModel:
            try:
                # a str is passed as it is: a remote runtime's target is a URL, which Path would mangle
                loaded = backend.load(path, options or LoadOptions(), progress)
            finally:
                # a file refused before loading leaves the previous model in place; say what is loaded
                self._loaded = backend.loaded
            return loaded

        return self._executor.submit(job, self._backend)

    def unload(self) -> Future[None]:
        def job(backend: ChatBackend) -> None:
            backend.unload()
            self._loaded = None

        return self._executor.submit(job, self._backend)

    def chat(self, messages: list[Message], params: SamplingParams, busy: bool | None = None) -> ReplyStream:
        """Stream a reply. ``busy``: whether the app is indexing (None: ask ``engine.activity``)."""
        return self._reply(lambda backend, stop: backend.chat(messages, params, should_stop=stop), busy)

    def complete(self, prompt: str, params: SamplingParams, busy: bool | None = None) -> ReplyStream:
        """Stream a plain-text continuation of ``prompt`` (no chat template; runtimes that have ``complete``)."""

        def events(backend: ChatBackend, stop):
            if not hasattr(backend, "complete"):
                raise InglenookError(f"The {backend.name} runtime only chats; it cannot continue a plain prompt.")
            return backend.complete(prompt, params, should_stop=stop)

        return self._reply(events, busy)

    def _reply(self, make_events: Callable[..., Any], busy: bool | None) -> ReplyStream:
        busy = activity.background_busy() if busy is None else busy
        stream = ReplyStream()

        def job(backend: ChatBackend) -> None:
            try:
                if stream.cancelled:
                    stream._put(Finished("cancelled", Timings(0, 0, 0, 0, 0, 0)))
                    return
                self._share_cpu(backend, busy)
                checked = time.monotonic()
                with activity.streaming_reply():
                    for event in make_events(backend, lambda: stream.cancelled):
                        stream._put(event)
                        if time.monotonic() - checked >= RECHECK_THREADS_S:  # between tokens: safe to change
                            self._share_cpu(backend, busy)
                            checked = time.monotonic()
            except InglenookError as exc:
                stream._put(Finished("error", Timings(0, 0, 0, 0, 0, 0), error=str(exc)))
            except Exception as exc:  # a bug, but the consumer must still see the stream end
                stream._put(Finished("error", Timings(0, 0, 0, 0, 0, 0), error=f"Unexpected error: {exc!r}"))
            finally:
                stream._put(_END)

        self._active = stream
        self._executor.submit(job, self._backend)
        return stream

    def _share_cpu(self, backend: ChatBackend, app_indexing: bool) -> None:
        """Decode on the cores other programs leave free (see ``engine.cpu_share``)."""
        if not hasattr(backend, "use_threads") or backend.loaded is None:
            return
        watch = self._cpu_watch
        other = watch.other_busy_cores() if watch is not None else None
        cores = watch.cores if watch is not None else 1
        now = others_running_now() if other is not None and other >= MIN_OTHER_CORES else None
        backend.use_threads(threads_for_reply(backend.loaded_threads, cores, other, app_indexing, now))

    def close(self) -> None:
        """Cancel any reply, free the model and stop the thread."""
        if self._cpu_watch is not None:
            self._cpu_watch.close()
        if self._active is not None:
            self._active.cancel()
        try:
            self.unload().result(timeout=60)
        except Exception:
            pass
        self._executor.shutdown(wait=True)


class AdapterControl:
    """Switch adapters on a ``ModelHost``'s model from any thread; every call returns a Future.

    The window uses these Futures (never blocking the GUI thread); the CLI calls ``.result()``.
    """

    def __init__(self, host: ModelHost) -> None:
        self.host = host

    def apply(self, adapters: Sequence[ResolvedAdapter]) -> Future[ApplyResult]:
        adapters = list(adapters)

        def job(backend) -> ApplyResult:
            if not adapters and getattr(backend, "adapters", None) is None:
                return ApplyResult((), False, (), 0.0)  # a runtime without LoRA support, and none wanted
            return adapters_of(backend).apply(adapters)

        return self.host.submit(job)

    def clear(self) -> Future[ApplyResult]:
        return self.apply([])

    def active(self) -> Future[tuple[ActiveAdapter, ...]]:
        return self.host.submit(lambda backend: adapters_of(backend).active)

    def forget(self, path: Path | str) -> Future[None]:
        return self.host.submit(lambda backend: adapters_of(backend).forget(path))
