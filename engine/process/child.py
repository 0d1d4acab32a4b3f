"""The engine process: owns llama.cpp (through an in-process ``ModelHost``) and serves one parent.

Started by ``engine.process.supervisor.EngineProcess`` as ``python -m engine.process.child`` with a
``multiprocessing`` connection; requests come in as ``(kind, id, payload)`` tuples and every answer
goes back tagged with the request's id (see ``engine.process.protocol``). The main thread only reads
requests, so a cancel arrives while a reply is streaming; the ``ModelHost`` thread does the work and
small forwarder threads send results back under one lock.
"""

from __future__ import annotations

import os
import pickle
import threading
import time
from concurrent.futures import Future
from multiprocessing.connection import Connection

from engine.errors import InglenookError
from engine.events import TextDelta
from engine.process import protocol as p

# Text that arrives within this long of the last text sent waits for the next token and travels
# with it: 20 updates a second read as smooth text, and each message wakes the app's threads on
# cores the decoding threads keep busy (benchmarks/bench_decode.py, "around" time per token).
STREAM_INTERVAL_S = 0.05


class _Server:
    def __init__(self, conn: Connection) -> None:
        from engine.host import AdapterControl, ModelHost

        self.conn = conn
        self.send_lock = threading.Lock()
        self.host = ModelHost()
        self.adapters = AdapterControl(self.host)
        self.streams: dict[int, object] = {}
        self.load_cancels: dict[int, threading.Event] = {}

    # ----------------------------------------------------------------------------- sending
    def send(self, *message) -> None:
        with self.send_lock:
            try:
                self.conn.send(message)
            except (OSError, EOFError, BrokenPipeError):
                os._exit(0)  # the parent is gone: nothing left to serve

    def send_error(self, rid: int, exc: BaseException) -> None:
        if not isinstance(exc, InglenookError):
            exc = InglenookError(f"Unexpected error in the model process: {exc!r}")
        try:
            pickle.dumps(exc)
        except Exception:
            exc = InglenookError(str(exc))
        self.send(p.ERROR, rid, exc)

    def answer_when_done(self, rid: int, future: Future) -> None:
        def done(f: Future) -> None:
            exc = f.exception()
            if exc is not None:
                self.send_error(rid, exc)
            else:
                self.send(p.RESULT, rid, f.result())

        future.add_done_callback(done)

    # ----------------------------------------------------------------------------- requests
    def handle(self, kind: str, rid: int, payload) -> bool:
        """Serve one request; False ends the loop."""
        if kind == p.SHUTDOWN:
            self.host.close()
            self.send(p.RESULT, rid, None)
            return False
        if kind == p.CANCEL:
            target = payload
            if target in self.streams:
                self.streams[target].cancel()
            if target in self.load_cancels:
                self.load_cancels[target].set()
        elif kind == p.LOAD:
            self.load(rid, *payload)
        elif kind == p.CHAT:
            self.chat(rid, *payload)
        elif kind == p.COMPLETE:
            self.chat(rid, *payload, plain=True)
        else:
            self.answer_when_done(rid, self.call(kind, payload))
        return True

    def call(self, kind: str, payload) -> Future:
        if kind == p.UNLOAD:
            return self.host.unload()
        if kind == p.COUNT_TOKENS:
            return self.host.submit(lambda backend: backend.count_tokens(payload))
        if kind == p.APPLY_ADAPTERS:
            return self.adapters.apply(payload)
        if kind == p.ACTIVE_ADAPTERS:
            return self.adapters.active()
        if kind == p.FORGET_ADAPTER:
            return self.adapters.forget(payload)
        if kind == p.RESET_CACHE:
            return self.host.submit(lambda backend: backend.invalidate_cache())
        if kind == p.INFO:
            return self.host.submit(lambda backend: _info())
        future: Future = Future()
        future.set_exception(InglenookError(f"The model process does not know the request {kind!r}."))
        return future

    def load(self, rid: int, path, options, report_progress: bool) -> None:
        cancel = threading.Event()
        self.load_cancels[rid] = cancel

        def progress(fraction: float) -> bool:
            if report_progress:
                self.send(p.PROGRESS, rid, fraction)
            return not cancel.is_set()

        future = self.host.load(path, options, progress)
        future.add_done_callback(lambda _f: self.load_cancels.pop(rid, None))
        self.answer_when_done(rid, future)

    def chat(self, rid: int, messages, params, busy: bool = False, plain: bool = False) -> None:
        """Stream a reply (``plain``: ``messages`` is a prompt to continue as plain text).

        The model's thread sends each event itself, between tokens: a forwarding thread would have to
        be woken once per token, on cores that the decoding threads keep busy.
        """
        from engine.host import ReplyStream

        reply = self.host.complete if plain else self.host.chat
        stream = reply(messages, params, busy=busy)
        self.streams[rid] = stream
        stream.deliver_to(_ReplySender(self, rid, ReplyStream.END))


class _ReplySender:
    """Sends one reply's events to the parent from the model's thread. The first text goes at once
    (time to first token); later text that comes less than ``STREAM_INTERVAL_S`` after the last send
    is held and joined to the next, so a fast model's tokens travel a few at a time, a slow one's each."""

    def __init__(self, server: _Server, rid: int, end: object) -> None:
        self.server, self.rid, self.end = server, rid, end
        self.held: list[str] = []
        self.last_sent = float("-inf")

    def __call__(self, item) -> None:
        if type(item) is TextDelta:
            self.held.append(item.text)
            now = time.monotonic()
            if now - self.last_sent >= STREAM_INTERVAL_S:
                self._send_held(now)
            return
        self._send_held(time.monotonic())  # whatever ends or interrupts the text comes after it
        if item is self.end:
            self.server.streams.pop(self.rid, None)
            self.server.send(p.END, self.rid, None)
        else:
            self.server.send(p.EVENT, self.rid, item)

    def _send_held(self, now: float) -> None:
        if self.held:
            self.server.send(p.TEXT, self.rid, "".join(self.held))  # a str pickles faster than an event
            self.held.clear()
            self.last_sent = now


def _info() -> dict:
    """Which llama.cpp build and CPU variant this process runs (the parent shows it in doctor/about)."""
    from engine import llama_native

    variant = llama_native.cpu_variant()
    return {"pid": os.getpid(), "variant": variant.name, "reason": variant.reason, "scores": variant.scores}


def serve(conn: Connection) -> None:
    """The child's main loop; returns when the parent asks it to stop or goes away."""
    server = _Server(conn)
    try:
        hello = _info()
    except Exception as exc:  # llama.cpp cannot start here (a forced CPU variant this build lacks, say)
        hello = {"pid": os.getpid(), "error": f"llama.cpp could not start: {exc}"}
    server.send(p.HELLO, 0, hello)
    while True:
        try:
            kind, rid, payload = conn.recv()
        except (EOFError, OSError):
            break
        try:
            if not server.handle(kind, rid, payload):
                break
        except Exception as exc:  # a request that could not even be started
            server.send_error(rid, exc)
    os._exit(0)  # skip interpreter teardown: llama.cpp's threads need no goodbye
