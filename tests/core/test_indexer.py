"""Indexing for real: real files, real parsers, real onnxruntime embeddings, real LanceDB on disk."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from knowledge.catalog import Catalog
from knowledge.embeddings import EmbedderSpec, register_embedder
from knowledge.indexer import Indexer
from knowledge.store import ChunkStore
from tests.support.broken_corpus import EXPECTED, build_broken_corpus
from tests.support.doc_factory import make_docx, make_pdf

pytestmark = pytest.mark.slow


def write_corpus(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "rivers.md").write_text(
        "# Rivers\n\nThe Danube flows through ten countries.\n\n## Rhine\n\nThe Rhine starts in the Swiss Alps "
        "and reaches the North Sea at Rotterdam.\n", encoding="utf-8")
    (root / "policy.txt").write_text(
        "第一条 本规定适用于公司全体员工。\n\n第二条 员工每年享有十五天带薪年假。\n\n第三条 病假需提供医院证明。\n",
        encoding="utf-8")
    (root / "notes").mkdir(exist_ok=True)
    (root / "notes" / "ids.txt").write_text("The spare part for the pump is ZX-4471; order it from stores.\n")
    make_docx(root / "report.docx")
    make_pdf(root / "manual.pdf", ["Page one explains the installation of the heater. " * 8,
                                   "Page two covers the maintenance schedule: clean the filter monthly. " * 8])
    return root


def consistency(catalog: Catalog, store: ChunkStore, name: str) -> dict[str, int]:
    """The index and the manifest agree: every indexed file has exactly its chunks, nothing else exists."""
    collection = catalog.get(name)
    table = store.existing(collection.table_name)
    rows = table.search().select(["id", "file_id"]).limit(max(1, table.count_rows())).to_list()
    ids = Counter(r["id"] for r in rows)
    assert all(n == 1 for n in ids.values()), "duplicate chunk ids"
    per_file = Counter(r["file_id"] for r in rows)
    indexed = {r.file_id: r.chunk_count for r in catalog.files(collection, "indexed").values()}
    assert set(per_file) == {f for f, n in indexed.items() if n > 0}, "orphan or missing chunks"
    for file_id, n in per_file.items():
        assert indexed[file_id] == n
    return per_file


@pytest.fixture
def setup(tmp_path):
    catalog = Catalog()
    store = ChunkStore()
    corpus = write_corpus(tmp_path / "docs")
    catalog.create("docs", [corpus])
    yield catalog, store, Indexer(catalog, store), corpus
    catalog.close()


def test_first_run_then_unchanged_run(setup):
    catalog, store, indexer, corpus = setup
    progress = []
    summary = indexer.index("docs", progress=progress.append)
    assert summary.added == 5 and summary.failed == [] and summary.chunks_written >= 5
    assert progress[-1].phase == "done" and progress[-1].files_done == 5
    per_file = consistency(catalog, store, "docs")
    assert len(per_file) == 5
    records = catalog.files(catalog.get("docs"))
    pdf = records[str(corpus / "manual.pdf")]
    assert pdf.status == "indexed" and pdf.kind == "pdf"
    table = store.existing(catalog.get("docs").table_name)
    pages = {r["page"] for r in table.search().where("kind = 'pdf'").select(["page"]).limit(100).to_list()}
    assert pages == {1, 2}
    names = {i.name for i in table.list_indices()}
    assert {"fts_text_idx", "path_idx", "file_id_idx"} <= names

    again = indexer.index("docs")
    assert (again.added, again.updated, again.unchanged, again.chunks_written) == (0, 0, 5, 0)


def test_changed_touched_and_deleted_files(setup):
    catalog, store, indexer, corpus = setup
    indexer.index("docs")
    rivers = corpus / "rivers.md"
    rivers.write_text(rivers.read_text() + "\n## Elbe\n\nThe Elbe flows into the North Sea near Hamburg.\n")
    ids = corpus / "notes" / "ids.txt"
    os.utime(ids, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))  # newer mtime, same content
    (corpus / "policy.txt").unlink()
    summary = indexer.index("docs")
    assert summary.updated == 1 and summary.removed == 1 and summary.unchanged == 3
    per_file = consistency(catalog, store, "docs")
    assert len(per_file) == 4
    table = store.existing(catalog.get("docs").table_name)
    texts = [r["text"] for r in table.search().where("path LIKE '%rivers.md'").select(["text"]).limit(50).to_list()]
    assert any("Elbe" in t for t in texts)
    assert table.search().where("path LIKE '%policy.txt'").limit(5).to_list() == []


def test_broken_corpus_finishes_with_reasons_and_keeps_what_was_indexed(setup, tmp_path):
    catalog, store, indexer, corpus = setup
    indexer.index("docs")
    before = consistency(catalog, store, "docs")
    broken = build_broken_corpus(tmp_path / "broken")
    catalog.update("docs", roots=[corpus, broken])
    summary = indexer.index("docs")
    assert not summary.cancelled
    records = catalog.files(catalog.get("docs"))
    for name, (outcome, fragment) in EXPECTED.items():
        record = records.get(str(broken / name))
        if outcome == "parsed":
            assert record is not None and record.status == "indexed", name
            if fragment:
                assert any(fragment in w for w in record.warnings), (name, record.warnings)
        elif name in ("loop",):
            continue  # a folder: reported in the summary, not a file row
        elif name == ".hidden.txt":
            assert record is None or record.status == "skipped"
        else:
            assert record is not None and record.status in ("skipped", "failed"), name
            assert fragment in (record.reason or ""), (name, record.reason)
    after = consistency(catalog, store, "docs")
    for file_id, n in before.items():
        assert after[file_id] == n  # nothing already indexed was lost


def test_a_new_embedder_re_embeds_everything(setup):
    catalog, store, indexer, corpus = setup
    indexer.index("docs")
    from knowledge.embeddings import _bundled_minilm

    register_embedder("minilm-cls", lambda: EmbedderSpec(**{**_bundled_minilm().__dict__, "pooling": "cls"}),
                      replace=True)
    catalog.update("docs", embedder="minilm-cls")
    summary = Indexer(catalog, store).index("docs")
    assert summary.added + summary.updated == 5 and summary.unchanged == 0
    assert all(r.embedder_id.startswith(summary.embedder_id + ";")
               for r in catalog.files(catalog.get("docs"), "indexed").values())
    consistency(catalog, store, "docs")


@pytest.mark.parametrize("change", [{"chunk_size": 64}, {"segmenter": "jieba"}])
def test_changed_chunking_or_segmenter_re_indexes(setup, change):
    catalog, store, indexer, _ = setup
    first = indexer.index("docs")
    catalog.update("docs", **change)
    summary = Indexer(catalog, store).index("docs")
    assert summary.unchanged == 0 and summary.added + summary.updated == first.added
    assert Indexer(catalog, store).index("docs").unchanged == first.added  # and then it is current
    consistency(catalog, store, "docs")


def test_cancel_then_resume(setup):
    catalog, store, _, corpus = setup
    for i in range(30):
        (corpus / f"extra{i}.txt").write_text(f"Extra document number {i} about topic {i}. " * 30)
    cancel = threading.Event()
    indexer = Indexer(catalog, store, batch_chunks=8, batch_files=4)

    def stop_early(progress):
        if progress.files_done >= 6:
            cancel.set()

    summary = indexer.index("docs", progress=stop_early, cancel=cancel)
    assert summary.cancelled and summary.added < 35
    consistency(catalog, store, "docs")
    resumed = indexer.index("docs")
    assert resumed.added + summary.added == 35 and not resumed.cancelled
    consistency(catalog, store, "docs")


def test_orphan_chunks_are_removed(setup):
    catalog, store, indexer, corpus = setup
    indexer.index("docs")
    table = store.existing(catalog.get("docs").table_name)
    row = table.search().limit(1).to_list()[0]
    row.update(id="ghost-0", file_id="ghost", path="/nowhere/ghost.txt")
    for key in ("_distance", "_score", "_rowid"):
        row.pop(key, None)
    table.add([row])
    summary = indexer.index("docs")
    assert summary.orphans_removed == 1
    consistency(catalog, store, "docs")


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from knowledge.indexer import Indexer
    def report(p):
        if p.chunks_done:
            print("COMMITTED", p.chunks_done, flush=True)
    Indexer(batch_chunks=4, batch_files=2).index("docs", progress=report)
    print("FINISHED", flush=True)
    """
)


def test_killed_mid_run_resumes_consistent(setup):
    catalog, store, _, corpus = setup
    for i in range(60):
        (corpus / f"bulk{i}.md").write_text(f"# Bulk {i}\n\n" + f"Paragraph about item {i} and its uses. " * 40)
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT], stdout=subprocess.PIPE, text=True,
                            env=os.environ.copy())
    line = proc.stdout.readline()
    assert line.startswith("COMMITTED"), line
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    summary = Indexer(catalog, store).index("docs")
    assert not summary.cancelled and summary.failed == []
    per_file = consistency(catalog, store, "docs")
    assert len(per_file) == 65
    assert Indexer(catalog, store).index("docs").unchanged == 65


def test_watch_mode_picks_up_a_new_file(setup):
    from knowledge.watch import CollectionWatcher

    catalog, store, indexer, corpus = setup
    indexer.index("docs")
    runs = []
    watcher = CollectionWatcher(indexer, "docs", debounce_s=0.3, on_run=runs.append)
    watcher.start()
    try:
        (corpus / "new.txt").write_text("A brand new note about glaciers in Iceland.\n")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(r.added for r in runs):
            time.sleep(0.2)
    finally:
        watcher.stop()
    assert any(r.added == 1 for r in runs)
    consistency(catalog, store, "docs")
