"""The real `nook` command line in a new process, as a user runs it, for the tests."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time

NOOK = [sys.executable, "-m", "desktop_app.cli"]


def run_nook(*args: str, input: str | None = None, env: dict[str, str] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess:
    """`nook ARGS` with this process's environment plus ``env``; text in and out, both streams captured."""
    return subprocess.run([*NOOK, *args], capture_output=True, text=True, input=input, timeout=timeout,
                          env={**os.environ, **(env or {})})


def read_until(proc: subprocess.Popen, marker: str, timeout: float) -> str:
    """Read a running `nook` child's stdout (unbuffered) until ``marker`` appears; all that was read."""
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    seen = ""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"no {marker!r} within {timeout} s; got: {seen[-2000:]!r}")
        if selector.select(timeout=0.5):
            chunk = os.read(proc.stdout.fileno(), 4096).decode("utf-8", "replace")
            if not chunk:
                raise AssertionError(f"nook ended early: {seen[-2000:]!r}")
            seen += chunk
    return seen
