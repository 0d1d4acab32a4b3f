"""A real small disk for full-disk tests: a tmpfs mounted for the test, and a way to fill it up.

Mounting needs root on Linux (the test machines and CI run as root); elsewhere the test is skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def mounted_tmpfs(mount: Path, size: str = "1m") -> Iterator[Path]:
    """Mount a tmpfs of ``size`` (mount's syntax: "1m", "32m") on ``mount`` for the ``with`` block."""
    mount.mkdir(parents=True, exist_ok=True)
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root on Linux")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=False)


def fill_up(mount: Path, leave: int = 0) -> Path:
    """Fill the disk at ``mount`` with one file until only ``leave`` bytes are free; returns that file."""
    filler = mount / "filler.bin"
    free = shutil.disk_usage(mount).free
    block = os.statvfs(mount).f_frsize
    size = max(0, (free - leave) // block * block)
    with filler.open("ab") as fh:
        chunk = b"\0" * (1 << 20)
        written = 0
        try:
            while written < size:
                written += fh.write(chunk[: min(len(chunk), size - written)])
                fh.flush()
        except OSError:  # the last bit did not fit: full is what was asked for anyway
            pass
    return filler
