"""Whether this process is streaming a reply right now, so background work can make room for it.

On a 2-core laptop an indexing run and a reply compete for the same cores, and spinning thread
pools (OpenMP in llama.cpp, onnxruntime's) starve each other: measured here, a reply fell from 26 to
2.3 tok/s. The engine marks each reply while it streams; the embedder asks ``reply_streaming()``
before each batch and, while a reply is on, embeds with a single non-spinning thread.
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


@contextmanager
def streaming_reply() -> Iterator[None]:
    reply_started()
    try:
        yield
    finally:
        reply_ended()
