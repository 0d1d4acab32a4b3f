"""``EngineProcess``: the model in a supervised child process, behind the same API as ``ModelHost``.

LM Studio, Jan and Ollama run the model out of process for one reason: a native crash (an illegal
instruction, a malformed file that passes our checks, the kernel's out-of-memory killer) must cost a
restart, not the window. Here, when the child dies:

* every request in flight fails with ``EngineCrashedError``, whose message says what happened in plain
  words ("the model process stopped: illegal CPU instruction (SIGILL)") and what happens next;
* a reply that was streaming ends with ``Finished(reason="error", extra={"engine_crashed": True})``,
  so the chat keeps the streamed part, marked incomplete;
* the next request starts a fresh child and, before a chat, reloads the last model and its adapters.
  After a SIGILL the new child is told to use the next safer CPU variant.

Unloading the model ends the child, so its memory goes back to the operating system at once.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from engine import activity
from engine.diagnostics import describe_exit
from engine.errors import InglenookError, LoadCancelled, ModelLoadError
from engine.events import Finished, TextDelta, Timings
from engine.host import _END, ReplyStream
from engine.lora.adapters import ResolvedAdapter
from engine.lora.live import ActiveAdapter, ApplyResult
from engine.params import LoadOptions, SamplingParams
from engine.process import protocol as p
from engine.runtimes.base import LoadedModel, Message

log = logging.getLogger(__name__)
START_TIMEOUT_S = 60
REPLY_CRASHES_TO_BLAME_FILE = 2  # file-type crashes in a row while one model replies: the file is at fault
_NO_TIMINGS = Timings(0, 0, 0, 0, 0, 0)


class EngineCrashedError(InglenookError):
    """The engine process died; the app lives on and starts a new one for the next request.

    ``exit_code`` is the child's (``-signal`` for a signal) and ``what`` the same in words, when known.
    """

    def __init__(self, message: str, *, exit_code: int | None = None, what: str | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.what = what

    def __reduce__(self):  # keep the keyword arguments through pickling
        return (_rebuild_crash, (type(self), str(self), self.exit_code, self.what))


def _rebuild_crash(cls, message, exit_code, what):
    return cls(message, exit_code=exit_code, what=what)


class LoadCrashedError(EngineCrashedError, ModelLoadError):
    """The engine process died while loading a model: the file passed our checks but crashes llama.cpp."""


def load_crash_message(path: Path, what: str, exit_code: int | None) -> str:
    """What happened while loading ``path`` and what to do, depending on how the process ended."""
    lead = f"The model process stopped while loading {path.name}: {what}."
    if exit_code == -signal.SIGKILL:
        return (f"{lead} The system may have run out of memory: close other programs or choose a smaller "
                "context, then load it again. The app keeps working.")
    if exit_code == -signal.SIGILL:
        return f"{lead} The next try uses a safer CPU variant: load it again. The app keeps working."
    return (f"{lead} The file passed Inglenook's checks but crashes llama.cpp: it is probably damaged or made "
            "for another llama.cpp version. Download it again or choose another model; it is not loaded again "
            "until the file or llama.cpp changes. The app keeps working.")


def reply_crash_message(path: Path, what: str) -> str:
    """The second crash in a row while ``path`` replied: the file, not chance, is the likely cause."""
    return (f"The model process stopped: {what}, the second time in a row while {path.name} was replying. Your "
            "conversation is kept. The file passed Inglenook's checks but crashes llama.cpp when it generates: it "
            "is probably damaged or made for another llama.cpp version. Download it again or choose another model; "
            "it is not loaded again until the file or llama.cpp changes.")


class _Child:
    """One running engine process and the bookkeeping of its requests."""

    def __init__(self, env: dict[str, str]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conn, child_conn = ctx.Pipe()
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)  # spawn copies the environment when it starts the child
        try:
            from engine.process.child import serve

            self.process = ctx.Process(target=serve, args=(child_conn,), name="inglenook-engine", daemon=True)
            self.process.start()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        child_conn.close()
        self.send_lock = threading.Lock()
        self.futures: dict[int, Future] = {}
        self.streams: dict[int, ReplyStream] = {}
        self.progress: dict[int, Callable[[float], Any]] = {}
        self.hello = threading.Event()
        self.info: dict = {}
        self.dead: str | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def send(self, *message) -> None:
        with self.send_lock:
            self.conn.send(message)


class EngineProcess:
    """Owns one engine child process; thread-safe; the same calls as ``engine.host.ModelHost``."""

    def __init__(self, runtime: str = "llama.cpp", env: dict[str, str] | None = None) -> None:
        if runtime != "llama.cpp":
            raise InglenookError(f"The engine process runs llama.cpp only, not {runtime!r}.")
        self._env = dict(env or {})
        self._ids = itertools.count(1)
        self._lock = threading.RLock()
        self._child: _Child | None = None
        self._loaded: LoadedModel | None = None  # the model this host serves, even while it is being restored
        self._in_child = False  # whether the running child holds it (False after a crash)
        self._last_load: tuple[Path, LoadOptions] | None = None
        self._adapters_on: list[ResolvedAdapter] = []
        self.crash: str | None = None  # what the last crash was, in words (None when none happened)
        self._reply_crashes: tuple[Path | None, int] = (None, 0)  # model, crashes in a row while replying
        self.restarts = 0
        self.adapters = _ProcessAdapters(self)

    # ----------------------------------------------------------------------------- state
    @property
    def loaded(self) -> LoadedModel | None:
        """The model this host serves; after a crash it stays, and is loaded again on the next request."""
        return self._loaded

    @property
    def pid(self) -> int | None:
        """The engine process's id while one runs (tests kill it; doctor shows it)."""
        child = self._child
        return child.pid if child is not None and child.dead is None else None

    # ----------------------------------------------------------------------------- requests
    def load(self, path: Path | str, options: LoadOptions | None = None,
             progress: Callable[[float], bool | None] | None = None) -> Future[LoadedModel]:
        options = options or LoadOptions()
        refused = _refuse_known_crash(Path(path))
        if refused is not None:
            return refused
        inner = self._request(p.LOAD, (Path(path), options, progress is not None), progress=progress)
        future: Future = Future()

        def finish(f: Future) -> None:
            if f.exception() is not None:
                future.set_exception(_explain_load_failure(Path(path), f.exception()))
                return
            # a cancel can arrive after the child's last progress report: ask once more, as in-process
            if progress is not None and progress(1.0) is False:
                self._request(p.UNLOAD, None)
                future.set_exception(LoadCancelled(f"Loading {Path(path).name} was cancelled."))
                return
            self._loaded, self._last_load, self._adapters_on = f.result(), (Path(path), options), []
            self._in_child = True
            future.set_result(f.result())

        inner.add_done_callback(finish)
        return future

    def unload(self) -> Future[None]:
        """Free the model by ending the engine process: every byte goes back to the OS."""
        self._loaded, self._last_load, self._adapters_on = None, None, []
        self._in_child = False
        future: Future = Future()
        threading.Thread(target=lambda: (self._stop_child(), future.set_result(None)), daemon=True).start()
        return future

    def count_tokens(self, text: str) -> int:
        self._restore_after_crash()
        return self._request(p.COUNT_TOKENS, text).result()

    def chat(self, messages: list[Message], params: SamplingParams) -> ReplyStream:
        return self._reply(p.CHAT, messages, params)

    def complete(self, prompt: str, params: SamplingParams) -> ReplyStream:
        """A plain-text continuation of ``prompt`` (no chat template), streamed like a chat reply."""
        return self._reply(p.COMPLETE, prompt, params)

    def _reply(self, kind: str, messages, params: SamplingParams) -> ReplyStream:
        stream = _RemoteStream(self)
        if self._needs_restore():  # the engine died: bring the model back first
            threading.Thread(target=self._restore_then_chat, args=(stream, messages, params, kind),
                             daemon=True).start()
        else:
            self._start_chat(stream, messages, params, kind)
        return stream

    def reset_cache(self) -> None:
        """Forget the evaluated prompt, so the next reply reads its whole prompt (benchmarks use it)."""
        self._request(p.RESET_CACHE, None).result()

    def info(self) -> dict:
        return self._request(p.INFO, None).result(timeout=START_TIMEOUT_S)

    def close(self) -> None:
        self._stop_child()

    # ----------------------------------------------------------------------------- internals
    def _start_chat(self, stream: _RemoteStream, messages, params: SamplingParams, kind: str = p.CHAT) -> None:
        try:
            child = self._ensure_child()
            rid = next(self._ids)
            stream.bind(child, rid)
            child.streams[rid] = stream
            child.send(kind, rid, (messages, params, activity.background_busy()))
        except InglenookError as exc:
            stream._put(Finished("error", _NO_TIMINGS, error=str(exc)))
            stream._put(_END)

    def _restore_then_chat(self, stream: _RemoteStream, messages, params, kind: str = p.CHAT) -> None:
        try:
            self._restore_after_crash()
        except InglenookError as exc:
            stream._put(Finished("error", _NO_TIMINGS, error=str(exc)))
            stream._put(_END)
            return
        self._start_chat(stream, messages, params, kind)

    def _needs_restore(self) -> bool:
        return not self._in_child and self._last_load is not None

    def _restore_after_crash(self) -> None:
        """After the engine died, load the last model and its adapters again (no-op otherwise)."""
        with self._lock:
            if not self._needs_restore():
                return
            path, options = self._last_load
            adapters = list(self._adapters_on)
            try:
                self.load(path, options).result()
                if adapters:
                    self.adapters.apply(adapters).result()
            except InglenookError as exc:
                raise EngineCrashedError(f"Could not load {path.name} again after the model process "
                                         f"stopped: {exc}") from exc

    def _request(self, kind: str, payload, progress: Callable[[float], Any] | None = None) -> Future:
        future: Future = Future()
        child: _Child | None = None  # an OSError while starting one leaves none to blame
        try:
            child = self._ensure_child()
            rid = next(self._ids)
            child.futures[rid] = future
            if progress is not None:
                child.progress[rid] = progress
            child.send(kind, rid, payload)
        except (InglenookError, OSError) as exc:
            if not future.done():
                future.set_exception(exc if isinstance(exc, InglenookError) else self._crashed_error(child))
        return future

    def _ensure_child(self) -> _Child:
        with self._lock:
            if self._child is not None and self._child.dead is None:
                return self._child
            # OpenMP's workers keep their default (spin briefly, then sleep): the child decodes on the
            # cores other programs leave free instead of making its workers sleep (engine.cpu_share)
            child = _Child(dict(self._env))
            threading.Thread(target=self._read, args=(child,), name="inglenook-engine-reader", daemon=True).start()
            if not child.hello.wait(START_TIMEOUT_S) or child.dead is not None:
                raise EngineCrashedError(f"The model process did not start ({child.dead or 'timed out'}).")
            if "error" in child.info:
                self._child = child
                self._stop_child()
                raise EngineCrashedError(f"The model process could not start: {child.info['error']}")
            if self._child is not None:
                self.restarts += 1
            self._child = child
            return child

    def _read(self, child: _Child) -> None:
        """The reader thread: route every message to its future or stream; on EOF, mourn the child."""
        while True:
            try:
                kind, rid, payload = child.conn.recv()
            except (EOFError, OSError):
                break
            except Exception:  # an answer that cannot be unpickled: a bug, but keep serving
                log.exception("unreadable message from the engine process")
                continue
            self._route(child, kind, rid, payload)
        self._on_child_exit(child)

    def _route(self, child: _Child, kind: str, rid: int, payload) -> None:
        if kind == p.HELLO:
            child.info = payload
            child.hello.set()
        elif kind == p.TEXT:
            if (stream := child.streams.get(rid)) is not None:
                stream._put(TextDelta(payload))
        elif kind == p.EVENT:
            if isinstance(payload, Finished) and payload.reason != "error":
                self._reply_crashes = (None, 0)  # a reply that ends well clears the model's record
            if (stream := child.streams.get(rid)) is not None:
                stream._put(payload)
        elif kind == p.END:
            if (stream := child.streams.pop(rid, None)) is not None:
                stream._put(_END)
        elif kind == p.PROGRESS:
            callback = child.progress.get(rid)
            if callback is not None and callback(payload) is False:
                child.send(p.CANCEL, next(self._ids), rid)
        elif kind in (p.RESULT, p.ERROR):
            child.progress.pop(rid, None)
            future = child.futures.pop(rid, None)
            if future is not None and not future.done():
                (future.set_result if kind == p.RESULT else future.set_exception)(payload)

    def _on_child_exit(self, child: _Child) -> None:
        child.process.join(timeout=5)
        code = child.process.exitcode
        expected = child.dead == "stopped"
        child.dead = child.dead or describe_exit(code if code is not None else -signal.SIGKILL)
        child.hello.set()
        if expected:
            message = "The model was unloaded."
        else:
            self.crash = child.dead
            message = (f"The model process stopped: {child.dead}. Your conversation is kept; the model is "
                       "loaded again with your next message.")
            if child.streams and self._blame_file_for_reply_crash(code, child.dead):
                message = reply_crash_message(self._last_load[0], child.dead)
            if code == -signal.SIGILL:
                self._choose_safer_variant(child.info)
            if self._child is child:  # no lock: a restore may hold it while waiting on this very child
                self._in_child = False
            log.error("engine process %s ended: %s", child.pid, child.dead)
        for future in list(child.futures.values()):
            if not future.done():
                future.set_exception(EngineCrashedError(message, exit_code=None if expected else code,
                                                        what=None if expected else child.dead))
        for stream in list(child.streams.values()):
            stream._put(Finished("error", _NO_TIMINGS, error=message, extra={"engine_crashed": not expected}))
            stream._put(_END)
        child.futures.clear()
        child.streams.clear()

    def _blame_file_for_reply_crash(self, code: int | None, what: str) -> bool:
        """Count a crash while the model replied; on the second in a row, remember the file as crashing."""
        from engine.models.crashed import is_file_crash, remember_crash

        if self._last_load is None or not is_file_crash(code):
            return False
        path = self._last_load[0]
        model, count = self._reply_crashes
        count = count + 1 if model == path else 1
        self._reply_crashes = (path, count)
        if count < REPLY_CRASHES_TO_BLAME_FILE:
            return False
        remember_crash(path, what, during="reply")
        return True

    def _crashed_error(self, child: _Child | None) -> EngineCrashedError:
        return EngineCrashedError(f"The model process stopped: {child.dead if child else 'not running'}.")

    def _choose_safer_variant(self, info: dict) -> None:
        """After SIGILL, start the next child on the best CPU variant below the one that crashed."""
        from engine.llama_native import safer_variant

        current = info.get("variant", "")
        safer = safer_variant(info.get("scores") or {}, current)
        if safer:
            self._env["INGLENOOK_CPU_VARIANT"] = safer
            log.warning("engine crashed with SIGILL on %s; the next start uses %s", current, safer)

    def _stop_child(self) -> None:
        with self._lock:
            child, self._child = self._child, None
        if child is None or child.dead is not None:
            return
        child.dead = "stopped"
        try:
            child.send(p.SHUTDOWN, 0, None)
        except OSError:
            pass
        child.process.join(timeout=10)
        if child.process.is_alive():
            child.process.kill()
            child.process.join(timeout=5)


def _refuse_known_crash(path: Path) -> Future | None:
    """A failed future when ``path`` crashed llama.cpp before (same file, same runtime), else None."""
    from engine.models.crashed import known_crash

    crash = known_crash(path)
    if crash is None:
        return None
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(crash.get("at", 0)))
    doing = "while replying, twice in a row," if crash.get("during") == "reply" else "when it was loaded"
    future: Future = Future()
    future.set_exception(LoadCrashedError(
        f"{path.name} crashed the model process {doing} on {when} ({crash.get('what')}), so it is not "
        "loaded again. Download it again or choose another model; `nook models add` of the same file tries it "
        "once more."))
    return future


def _explain_load_failure(path: Path, exc: BaseException) -> BaseException:
    """A crash of the engine process during a load becomes a ``LoadCrashedError`` about that file."""
    if type(exc) is not EngineCrashedError or exc.what is None:
        return exc
    from engine.models.crashed import is_file_crash, remember_crash

    if is_file_crash(exc.exit_code):
        remember_crash(path, exc.what)
    return LoadCrashedError(load_crash_message(path, exc.what, exc.exit_code), exit_code=exc.exit_code,
                            what=exc.what)


class _RemoteStream(ReplyStream):
    """A reply streamed from the engine process; ``cancel()`` travels to the child."""

    def __init__(self, engine: EngineProcess) -> None:
        super().__init__()
        self._engine = engine
        self._child: _Child | None = None
        self._rid: int | None = None
        self._marked = False  # counted in engine.activity while it streams

    def bind(self, child: _Child, rid: int) -> None:
        self._child, self._rid = child, rid
        self._marked = True
        activity.reply_started()
        if self.cancelled:
            self.cancel()

    def _put(self, item) -> None:
        if item is _END and self._marked:
            self._marked = False
            activity.reply_ended()
        super()._put(item)

    def cancel(self) -> None:
        super().cancel()
        child, rid = self._child, self._rid
        if child is not None and rid is not None and child.dead is None:
            try:
                child.send(p.CANCEL, 0, rid)
            except OSError:
                pass


class _ProcessAdapters:
    """LoRA switching in the engine process, remembered so that a restarted engine gets them back."""

    def __init__(self, engine: EngineProcess) -> None:
        self._engine = engine

    def apply(self, adapters: Sequence[ResolvedAdapter]) -> Future[ApplyResult]:
        adapters = list(adapters)
        future = self._engine._request(p.APPLY_ADAPTERS, adapters)

        def remember(f: Future) -> None:
            if f.exception() is None:
                self._engine._adapters_on = [a for a in adapters if a.scale > 0]

        future.add_done_callback(remember)
        return future

    def clear(self) -> Future[ApplyResult]:
        return self.apply([])

    def active(self) -> Future[tuple[ActiveAdapter, ...]]:
        return self._engine._request(p.ACTIVE_ADAPTERS, None)

    def forget(self, path: Path | str) -> Future[None]:
        self._engine._adapters_on = [a for a in self._engine._adapters_on if Path(a.path) != Path(path)]
        return self._engine._request(p.FORGET_ADAPTER, Path(path))
