"""Several `nook` processes on one data folder at once: two asks and an indexing run, all work, nothing locks.

Real processes on one ``INGLENOOK_HOME``: two `nook ask` write their conversations into the same SQLite
history (WAL, a busy timeout), one of them reading a collection from LanceDB and the catalog while a
`nook index` of that very collection writes both. The window's own guard (one window per data folder)
is tested in ``tests/window/test_gui_engine.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from functools import partial

import pytest

from engine.chat.history import HistoryStore
from knowledge.catalog import Catalog
from tests.support.cli import NOOK, run_nook

pytestmark = pytest.mark.slow

WORDS = ["harbour", "ferry", "island", "bread", "storm", "orchard", "apple", "river", "mill", "stone", "bridge"]


nook = partial(run_nook, timeout=180)


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([*NOOK, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, out, err


def filler_document(seed: int) -> str:
    lines = [" ".join(WORDS[(seed * 7 + n * 3 + k) % len(WORDS)] for k in range(50)) + f" {seed}-{n}."
             for n in range(20)]
    return f"# Notebook {seed}\n\n" + "\n\n".join(lines) + "\n"


def test_two_asks_and_an_indexing_run_on_one_data_folder(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lighthouse.md").write_text("# The lighthouse\n\nThe keeper polishes the brass lamp every evening.\n")
    assert nook("collections", "create", "docs", str(docs)).returncode == 0
    assert nook("index", "docs").returncode == 0
    for seed in range(12):  # enough new text that the next indexing run lasts a while
        (docs / f"notebook-{seed}.md").write_text(filler_document(seed))

    indexing = start("index", "docs", "--json")
    time.sleep(2.0)  # it has opened the catalog and is reading, chunking or embedding (about 10 s here)
    assert indexing.poll() is None, "the indexing run ended before the asks started"
    plain = start("ask", "--json", "--max-tokens", "8", "--temperature", "0", "Name a colour.")
    grounded = start("ask", "-C", "docs", "--json", "--max-tokens", "8", "--temperature", "0",
                     "What does the keeper polish?")
    answers = [finish(plain), finish(grounded)]
    code, out, err = finish(indexing)

    assert code == 0, err
    summary = json.loads(out)
    assert summary["added"] == 12 and summary["failed"] == []
    for returncode, _stdout, stderr in answers:
        assert returncode == 0, stderr
        assert "locked" not in stderr and "error" not in stderr.lower()
    plain_reply, grounded_reply = (json.loads(stdout) for _, stdout, _ in answers)
    assert plain_reply["answer"].strip() and grounded_reply["answer"].strip()
    assert [s["path"] for s in grounded_reply["sources"]][0].endswith("lighthouse.md")

    store = HistoryStore()
    try:
        saved = {c.id: [m.content for m in store.thread(c.id)] for c in store.list_conversations()}
    finally:
        store.close()
    assert saved[plain_reply["conversation_id"]] == ["Name a colour.", plain_reply["answer"]]
    assert saved[grounded_reply["conversation_id"]][-1] == grounded_reply["answer"]
    catalog = Catalog()
    try:
        assert len(catalog.files(catalog.get("docs"))) == 13
    finally:
        catalog.close()
