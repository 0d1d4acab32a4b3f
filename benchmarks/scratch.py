"""A throwaway data directory for a benchmark run, so a benchmark never touches the user's data."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scratch_home(prefix: str) -> Iterator[Path]:
    """A temporary work folder; ``INGLENOOK_HOME`` points at its ``home/`` while it exists."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["INGLENOOK_HOME"] = str(work / "home")
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)
