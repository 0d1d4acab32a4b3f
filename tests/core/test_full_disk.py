"""The data folder on a full disk: chatting and indexing say so and what to do; nothing saved is lost.

``INGLENOOK_HOME`` is a real 32 MiB tmpfs (``tests/support/small_disk.py``, needs root) that the test
fills with a file; real `nook` processes, the real SmolLM2 model, real SQLite and real LanceDB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from tests.support.cli import read_until
from tests.support.cli import run_nook as nook
from tests.support.small_disk import fill_up, mounted_tmpfs

pytestmark = pytest.mark.slow

DISK_FULL = "the disk is full"


@pytest.fixture
def full_disk_home(tmp_path, monkeypatch):
    """A 32 MiB disk holding the data folder (INGLENOOK_HOME); yields the mount point."""
    with mounted_tmpfs(tmp_path / "disk", "32m") as mount:
        monkeypatch.setenv("INGLENOOK_HOME", str(mount / "home"))
        yield mount


def test_chatting_on_a_full_disk_says_so_and_the_history_survives(full_disk_home):
    first = nook("ask", "--json", "--max-tokens", "6", "--temperature", "0", "Name a colour.")
    assert first.returncode == 0, first.stderr
    earlier = json.loads(first.stdout)
    assert earlier["answer"].strip()

    proc = subprocess.Popen([sys.executable, "-m", "desktop_app.cli", "chat", "--max-tokens", "6"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        read_until(proc, "you> ", 120)
        filler = fill_up(full_disk_home)  # the disk fills up while the chat is open
        proc.stdin.write(b"Name a fruit.\n")
        proc.stdin.flush()
        read_until(proc, "you> ", 60)  # the message fails, and the prompt comes back
        assert proc.poll() is None
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
        stderr = proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert DISK_FULL in stderr and "Free some space" in stderr and "everything saved before is kept" in stderr
    assert "Traceback" not in stderr

    fill_up(full_disk_home)  # what closing the chat freed (its write-ahead log) is taken too
    started = time.monotonic()
    refused = nook("ask", "--max-tokens", "6", "Name a tree.")  # a new process on the full disk
    assert refused.returncode == 2 and time.monotonic() - started < 60
    assert f"({full_disk_home / 'home' / 'inglenook.db'}" in refused.stderr
    assert DISK_FULL in refused.stderr and "move it aside" not in refused.stderr  # not called damaged
    assert "Traceback" not in refused.stderr

    filler.unlink()
    shown = nook("sessions", "export", str(earlier["conversation_id"]), "--format", "json")
    assert shown.returncode == 0, shown.stderr
    messages = json.loads(shown.stdout)["messages"]
    assert [m["content"] for m in messages] == ["Name a colour.", earlier["answer"]]
    again = nook("ask", "--max-tokens", "6", "Name a tree.")
    assert again.returncode == 0, again.stderr


NOTES = {
    "lighthouse.md": "# The lighthouse\n\nThe keeper polishes the brass lamp every evening before the storm season.\n",
    "ferry.md": "# The ferry\n\nThe ferry to the island leaves at dawn and carries mail, bread and the doctor.\n",
}


def search(query: str) -> list[tuple[str, str]]:
    found = nook("search", "notes", query, "-k", "5", "--json")
    assert found.returncode == 0, found.stderr
    return [(hit["path"], hit["text"]) for hit in json.loads(found.stdout)["results"]]


def big_document(words: int) -> str:
    """Distinct sentences about an orchard, so that every chunk is new data to store."""
    lines = [f"## Row {n}\n\nApple tree {n} in the orchard gave {n * 7 % 101} baskets in season {n % 13}; "
             f"its bark was marked with the number {n * 31}." for n in range(words // 25)]
    return "# Orchard ledger\n\n" + "\n\n".join(lines) + "\n"


def test_indexing_on_a_full_disk_says_so_and_the_collection_survives(full_disk_home, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in NOTES.items():
        (docs / name).write_text(text, encoding="utf-8")
    assert nook("collections", "create", "notes", str(docs)).returncode == 0
    indexed = nook("index", "notes")
    assert indexed.returncode == 0, indexed.stderr
    before = search("brass lamp lighthouse")
    assert before and before[0][0].endswith("lighthouse.md")

    (docs / "orchard.md").write_text(big_document(6000), encoding="utf-8")
    filler = fill_up(full_disk_home, leave=96 * 1024)  # room for the catalog, not for the new chunks
    failed = nook("index", "notes", timeout=300)
    assert failed.returncode == 2, failed.stdout + failed.stderr
    assert "error: Indexing notes stopped: the disk is full" in failed.stderr
    assert "Free some space" in failed.stderr and "run the indexing again" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert search("brass lamp lighthouse") == before  # still answering, on the full disk

    filler.unlink()
    assert search("brass lamp lighthouse") == before
    finished = nook("index", "notes", timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert any(path.endswith("orchard.md") for path, _ in search("apple tree orchard baskets"))
    assert search("brass lamp lighthouse")[0] == before[0]


def test_a_damaged_database_on_a_full_disk_is_still_called_damaged(full_disk_home):
    from engine.chat.history import HistoryStore
    from engine.errors import HistoryError

    home = full_disk_home / "home"
    home.mkdir()
    (home / "damaged.db").write_bytes(b"this is not sqlite" * 100)
    fill_up(full_disk_home)
    with pytest.raises(HistoryError, match="It may be damaged: move it aside"):
        HistoryStore(home / "damaged.db")
    with pytest.raises(HistoryError, match=DISK_FULL):  # while a new one cannot be made for lack of room
        HistoryStore(home / "new.db")
