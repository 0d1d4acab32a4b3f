"""The real `nook` command line in a new process, as a user runs it, for the tests."""

from __future__ import annotations

import os
import subprocess
import sys

NOOK = [sys.executable, "-m", "desktop_app.cli"]


def run_nook(*args: str, input: str | None = None, env: dict[str, str] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess:
    """`nook ARGS` with this process's environment plus ``env``; text in and out, both streams captured."""
    return subprocess.run([*NOOK, *args], capture_output=True, text=True, input=input, timeout=timeout,
                          env={**os.environ, **(env or {})})
