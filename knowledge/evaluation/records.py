"""The files of an evaluation run: append-only JSONL that survives a kill, and atomic JSON writes.

``records.jsonl`` gets one line per answered (configuration, question), written with flush + fsync,
so a run killed at any moment loses at most the line being written; ``read_jsonl`` drops such a
truncated last line (and only the last one: a bad line in the middle is damage, not a kill).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.errors import InglenookError

RECORDS_FILE = "records.jsonl"
METRICS_FILE = "metrics.jsonl"
RUN_FILE = "run.json"
SUMMARY_FILE = "summary.json"


class EvaluationError(InglenookError):
    """A question set, a configuration list or a run directory that cannot be used; the message says why."""


def record_key(record: dict) -> tuple[str, str]:
    """What identifies a record: (configuration name, question id)."""
    return str(record.get("config")), str(record.get("question_id"))


def append_jsonl(path: Path, item: dict) -> None:
    """One JSON line, on disk before this returns (flush + fsync)."""
    line = json.dumps(item, ensure_ascii=False) + "\n"
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line)
        handle.flush()
        os.fsync(handle.fileno())


def read_jsonl(path: Path, *, repair: bool = False) -> list[dict]:
    """The objects of a JSONL file written by ``append_jsonl``; a truncated last line (a kill) is dropped.

    ``repair``: also fix the file's tail so the next append starts on a line of its own (the cut line
    is removed; a complete last line that only lacks its newline gets one).
    """
    if not path.exists():
        return []
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    items: list[dict] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            if number == len(lines):  # the last line without its newline: the write a kill cut short
                if repair:
                    _truncate(path, len(raw) - len(line))
                break
            raise EvaluationError(f"{path} line {number} is damaged (not JSON); delete that line to resume "
                                  "(its question is answered again).") from None
        if isinstance(item, dict):
            items.append(item)
        if number == len(lines) and repair:  # complete, but the newline was never written
            with open(path, "ab") as handle:
                handle.write(b"\n")
    return items


def _truncate(path: Path, keep: int) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON through a temporary file and a rename: readers see the old file or the new, never half."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, ensure_ascii=False, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_jsonl_atomic(path: Path, items: Iterable[dict]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        for item in items:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def content_hash(data: Any) -> str:
    """A stable hash of JSON-able data (sorted keys), to tell whether a run's inputs changed."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
