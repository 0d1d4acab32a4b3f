"""Whether this process is streaming a reply right now, so background work can make room for it.

On a 2-core laptop an indexing run and a reply compete for the same cores, and spinning thread
pools (OpenMP in llama.cpp, onnxruntime's) starve each other: measured here, a reply fell from 26 to
2.3 tok/s. The engine marks each reply while it streams; the embedder asks ``reply_streaming()``
before each batch and, while a reply is on, embeds with a single non-spinning thread; and while this
process indexes, the engine decodes on one thread, since two spinning threads on two shared cores
collapse (26 tok/s on one thread against 2.3 on two, measured here).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_streaming = 0


def reply_started() -> None:
    global _streaming
    with _lock:
        _streaming += 1


def reply_ended() -> None:
    global _streaming
    with _lock:
        _streaming = max(0, _streaming - 1)


def reply_streaming() -> bool:
    return _streaming > 0


_background = 0


@contextmanager
def background_work() -> Iterator[None]:
    """Marks CPU-heavy background work (an indexing run) while it runs in this process."""
    global _background
    with _lock:
        _background += 1
    try:
        yield
    finally:
        with _lock:
            _background = max(0, _background - 1)


def background_busy() -> bool:
    """Whether this process is indexing: a reply then decodes on one thread (see ``threads_for_reply``)."""
    return _background > 0


@contextmanager
def streaming_reply() -> Iterator[None]:
    reply_started()
    try:
        yield
    finally:
        reply_ended()
