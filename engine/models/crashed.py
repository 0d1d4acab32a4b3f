"""Model files that crashed llama.cpp, remembered so the app does not crash on them again.

A GGUF can pass every header check (``engine.models.gguf``) and still make llama.cpp abort or
segfault while it loads (metadata llama.cpp asserts on, for instance) or while it generates (a
tensor the decoder trips on). The engine process turns that into an error instead of a dead app;
this file keeps the window from walking into the same crash at every start (it restores the last
model) and the user from retrying a file that cannot work. A crash while loading is remembered at
once; one while replying only when it repeats (``EngineProcess`` counts them), since a single one may
have been something else's fault.

A file is remembered by its resolved path, size, modification time and the llama.cpp build that
crashed on it: a new download (a new size or mtime) or an updated runtime is tried again. Only
crashes that say something about the file count (abort, segfault, bus error, arithmetic fault);
a kill (out of memory, another program) or an illegal instruction (the CPU variant) does not.
The list lives in ``<data dir>/crashed-models.json``; when it cannot be written (a full disk) the
crash is simply not remembered.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from pathlib import Path

from engine.paths import data_dir

log = logging.getLogger(__name__)

FILE_CRASH_SIGNALS = frozenset({signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE})
FILE_NAME = "crashed-models.json"


def _runtime_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError:
        return "unknown"


def _key(path: Path) -> str | None:
    """What identifies this copy of the file on this runtime; None when it cannot be read."""
    try:
        resolved = Path(path).expanduser().resolve()
        stat = resolved.stat()
    except OSError:
        return None
    return f"{resolved}|{stat.st_size}|{stat.st_mtime_ns}|{_runtime_version()}"


def _read(store: Path) -> dict[str, dict]:
    try:
        data = json.loads(store.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _store() -> Path:
    return data_dir() / FILE_NAME


def is_file_crash(exit_code: int | None) -> bool:
    """Whether a child's exit code (``-signal``) points at the file rather than memory or the CPU."""
    return exit_code is not None and exit_code < 0 and -exit_code in FILE_CRASH_SIGNALS


def remember_crash(path: Path | str, what: str, during: str = "load") -> None:
    """Note that ``path`` crashed llama.cpp (``what``: the crash in words; ``during``: "load" or "reply")."""
    key = _key(Path(path))
    if key is None:
        return
    entries = _read(_store())
    entries[key] = {"path": str(path), "what": what, "at": time.time(), "during": during}
    _write(entries)


def known_crash(path: Path | str) -> dict | None:
    """The remembered crash of this very file on this runtime (``{"what", "at", "during"}``), or None."""
    key = _key(Path(path))
    return None if key is None else _read(_store()).get(key)


def forget_crash(path: Path | str) -> None:
    """Try the file again next time (``nook models add`` of the same file does this)."""
    key = _key(Path(path))
    entries = _read(_store())
    if key in entries:
        del entries[key]
        _write(entries)


def _write(entries: dict[str, dict]) -> None:
    """Replace the list in one step; a full disk only costs the memory of the crash, never the file."""
    store = _store()
    temporary = store.with_name(f".{store.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(json.dumps(entries, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(temporary, store)
    except OSError as exc:
        log.warning("could not update %s: %s", store, exc)
        temporary.unlink(missing_ok=True)
