"""The Qt-free document library both faces use: real folders, real LanceDB on disk, real ONNX embeddings,
and the real bundled model for the conversation part."""

from __future__ import annotations

import json
import threading
import time
from functools import partial
from pathlib import Path

import pytest

from engine.chat.history import HistoryStore
from engine.chat.session import ChatSession
from engine.errors import InglenookError
from engine.host import ModelHost
from engine.params import SamplingParams
from knowledge.answer import SourcesEvent
from knowledge.catalog import Catalog
from knowledge.conversation_docs import (
    FALLBACK_N_CTX,
    ConversationDocuments,
    DocumentChoice,
    build_augmenter,
    save_choice,
    stored_choice,
)
from knowledge.errors import CollectionNotFoundError, IndexRunningError, KnowledgeError, LibraryClosedError
from knowledge.library import Library, ListMemory, WatchEvent, collection_name_for
from tests.support.cli import run_nook

pytestmark = pytest.mark.slow


def write_docs(folder: Path, n_extra: int = 0) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rhine.md").write_text("# Rhine\n\nThe Rhine rises in the Swiss Alps and reaches the North Sea.\n",
                                     encoding="utf-8")
    (folder / "pump.txt").write_text("The spare part for the pump is ZX-4471; order it from stores.\n")
    (folder / "bread.txt").write_text("Knead the dough for ten minutes, then let it rise for an hour.\n")
    for i in range(n_extra):
        (folder / f"extra{i}.txt").write_text(f"Extra note {i} about topic {i}. " * 20)
    return folder


@pytest.fixture
def library():
    lib = Library()
    yield lib
    lib.close()


def wait_for(condition, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


# ------------------------------------------------------------------------------ collections
def test_add_names_uniquely_and_remove_drops_the_index_but_not_the_files(library, tmp_path):
    docs = write_docs(tmp_path / "Harbour notes")
    assert library.add([docs]).name == "Harbour notes"
    assert library.add([docs]).name == "Harbour notes 2"
    assert library.add([docs], name="mine").name == "mine"
    assert collection_name_for(tmp_path / "a?b*c") == "a_b_c" and collection_name_for("/") == "Documents"
    library.index("Harbour notes")
    table = library.get("Harbour notes").table_name
    assert table in library.store().table_names()

    removed = library.remove("Harbour notes")
    assert removed.table_name == table
    assert library.names() == ["Harbour notes 2", "mine"]
    assert table not in library.store().table_names()
    assert (docs / "rhine.md").exists()
    with pytest.raises(CollectionNotFoundError, match="Harbour notes 2, mine"):
        library.remove("Harbour notes")
    assert library.existing(["mine", "gone", "Harbour notes 2"]) == ["mine", "Harbour notes 2"]


def test_problem_files_lists_skipped_and_failed_with_reasons(library, tmp_path):
    docs = write_docs(tmp_path / "docs")
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    library.add([docs])
    summary = library.index("docs")
    assert summary.added == 3 and len(summary.failed) == 1
    problems = library.problem_files(library.get("docs"))
    assert [(Path(r.path).name, r.status) for r in problems] == [("broken.pdf", "failed")]
    assert "damaged or truncated PDF" in problems[0].reason
    assert library.counts(library.get("docs"))["indexed"] == 3


# ------------------------------------------------------------------------------ indexing runs
def test_a_run_yields_progress_copies_then_its_summary(library, tmp_path):
    library.add([write_docs(tmp_path / "docs")])
    run = library.index_run("docs")
    assert library.is_indexing("docs")
    with pytest.raises(IndexRunningError, match="being indexed already"):
        library.index_run("docs")
    events = list(run)
    phases = [e.phase for e in events]
    assert phases[-1] == "done" and "indexing" in phases
    assert len({id(e) for e in events}) == len(events)  # copies, not the indexer's one live object
    assert events[-1].files_done == 3 and any(e.files_done < 3 for e in events)
    assert run.summary.added == 3 and not run.summary.cancelled
    assert not library.is_indexing("docs")
    with pytest.raises(IndexRunningError, match="already used"):
        list(run)
    assert library.index("docs").unchanged == 3  # a new run may start, and finds nothing to do


def test_cancel_stops_the_run_and_the_next_run_finishes_the_work(library, tmp_path):
    library.add([write_docs(tmp_path / "docs", n_extra=20)])
    run = library.index_run("docs")
    run.cancel()  # before the first file, so the test does not race the helper thread
    phases = [event.phase for event in run]
    assert run.cancelled and run.summary.cancelled and run.summary.added == 0
    assert phases[-1] == "done" and not library.is_indexing("docs")
    resumed = library.index("docs")
    assert not resumed.cancelled and resumed.added == 23


def test_leaving_the_loop_early_cancels_and_waits_for_the_run(library, tmp_path):
    library.add([write_docs(tmp_path / "docs", n_extra=20)])
    with library.index_run("docs") as run:
        for event in run:
            if event.phase == "indexing":
                break
        assert run.cancelled  # leaving the loop asked the run to stop...
        assert run.summary is not None and not library.is_indexing("docs")  # ...and waited for its end
    rest = library.index("docs")
    assert run.summary.added + rest.added == 23 and rest.unchanged == run.summary.added


def test_an_error_of_the_run_is_raised_by_the_loop(library):
    run = library.index_run("nowhere")
    with pytest.raises(CollectionNotFoundError, match="No collection called 'nowhere'"):
        for _event in run:
            pass
    assert not library.is_indexing("nowhere")


# ------------------------------------------------------------------------------ watching
def test_watching_reports_runs_and_is_remembered_by_the_caller(tmp_path):
    memory = ListMemory()
    library = Library(watch_memory=memory)
    try:
        docs = write_docs(tmp_path / "docs")
        library.add([docs])
        library.index("docs")
        events: list[WatchEvent] = []
        library.remember_watched("docs", True)
        assert library.watch("docs", events.append, debounce_s=0.3)
        assert library.watch("docs", events.append)  # already watched: nothing new starts
        assert library.is_watched("docs") and memory.names == ["docs"]
        assert library.remembered_watched() == ["docs"]
        (docs / "glaciers.txt").write_text("A new note about glaciers in Iceland.\n")
        assert wait_for(lambda: any(e.summary and e.summary.added == 1 for e in events))
        assert all(e.collection == "docs" and e.error is None for e in events)
        library.unwatch("docs")
        assert not library.is_watched("docs") and memory.names == ["docs"]  # stopping now is not forgetting
        library.forget("docs")
        assert memory.names == [] and library.remembered_watched() == []
    finally:
        library.close()


def test_remembered_names_of_removed_collections_are_not_resumed(library, tmp_path):
    library.add([write_docs(tmp_path / "docs")])
    library.watch_memory.save(["gone", "docs"])
    assert library.remembered_watched() == ["docs"]


def test_a_watch_that_an_unwatch_overtook_gives_way(library, tmp_path, monkeypatch):
    """unwatch() while watch() is still registering the folders: the watcher is stopped, not kept."""
    from knowledge.watch import CollectionWatcher

    library.add([write_docs(tmp_path / "docs")])
    library.indexer()  # built up front, so the race below is only about registering the folders
    registering, release = threading.Event(), threading.Event()
    original = CollectionWatcher.start
    stopped = []

    def slow_start(self) -> None:
        registering.set()
        release.wait(10)
        original(self)

    monkeypatch.setattr(CollectionWatcher, "start", slow_start)
    monkeypatch.setattr(CollectionWatcher, "stop", lambda self, _stop=CollectionWatcher.stop: (
        stopped.append(self.name), _stop(self)))
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(library.watch("docs", lambda e: None)))
    thread.start()
    assert registering.wait(10)
    library.unwatch("docs")
    release.set()
    thread.join(30)
    assert result == [False] and not library.is_watched("docs") and stopped == ["docs"]


# ------------------------------------------------------------------------------ lifecycle
def test_close_stops_the_work_and_refuses_more(tmp_path):
    catalog = Catalog()
    library = Library(catalog)
    docs = write_docs(tmp_path / "docs", n_extra=20)
    library.add([docs])
    assert library.watch("docs", lambda e: None)
    run = library.index_run("docs")
    events = iter(run)
    next(events)  # the run is under way
    library.close()
    assert run.cancelled and not library.is_watched("docs") and not library.is_indexing("docs")
    assert library.closed
    library.close()  # twice is fine
    for action in (library.names, lambda: library.index_run("docs"), lambda: library.watch("docs", print)):
        with pytest.raises(LibraryClosedError, match="restart"):
            action()
    assert [c.name for c in catalog.list()] == ["docs"]  # a catalog it was given stays the caller's to close
    catalog.close()


# ------------------------------------------------------------------------------ documents of a conversation
def test_the_augmenter_factory_counts_with_the_model_and_keeps_room_for_the_answer(library, tmp_path, host):
    library.add([write_docs(tmp_path / "docs")])
    library.index("docs")
    store = HistoryStore()
    session = ChatSession(host, store, params=SamplingParams.greedy(max_tokens=40))
    augmenter = build_augmenter(library.retriever(), session, DocumentChoice(["docs"], strict=True), k=2)
    assert augmenter.collections == ["docs"] and augmenter.strict and augmenter.k == 2
    assert augmenter.n_ctx == 2048 and augmenter.answer_reserve == 40 and augmenter.rewriter is None
    text = "长城" * 20  # far from the no-model guess of a token per three characters
    assert augmenter.count_tokens(text) == host.count_tokens(text) > len(text) // 3
    session.set_params(max_tokens=4000)
    assert build_augmenter(library.retriever(), session, DocumentChoice(["docs"])).answer_reserve == 512
    hyde = build_augmenter(library.retriever(), session, DocumentChoice(["docs"]), rewrite="hyde")
    assert hyde.rewriter is not None and hyde.rewriter.mode == "hyde"
    with pytest.raises(KnowledgeError, match="use one of off, standalone, multi, hyde"):
        build_augmenter(library.retriever(), session, DocumentChoice(["docs"]), rewrite="magic")

    session.set_params(max_tokens=8)
    session.augmenter = augmenter
    events = list(session.send("Where does the Rhine rise?"))
    assert isinstance(events[0], SourcesEvent) and events[0].sources[0].path.endswith("rhine.md")
    assert session.thread()[-1].extra["collections"] == ["docs"]


def test_without_a_model_the_context_falls_back(library, tmp_path):
    library.add([write_docs(tmp_path / "docs")])
    idle = ModelHost()
    try:
        session = ChatSession(idle, HistoryStore())
        augmenter = build_augmenter(library.retriever(), session, DocumentChoice(["docs"]))
        assert augmenter.n_ctx == FALLBACK_N_CTX and augmenter.answer_reserve == FALLBACK_N_CTX // 4
        with pytest.raises(InglenookError):
            augmenter.count_tokens("no model to count with")
    finally:
        idle.close()


def test_a_conversation_keeps_its_choice_and_a_new_one_adopts_the_current(library, tmp_path):
    library.add([write_docs(tmp_path / "docs")])
    library.add([write_docs(tmp_path / "more")])
    store, idle = HistoryStore(), ModelHost()
    try:
        documents = ConversationDocuments(library, store, DocumentChoice(["docs", "more"], strict=True))
        first = ChatSession(idle, store)
        augmenter = documents.attach(first)  # never chose: adopts the current choice, saved with it
        assert augmenter.collections == ["docs", "more"] and augmenter.strict
        assert stored_choice(store, first.conversation_id) == DocumentChoice(("docs", "more"), True)

        second = ChatSession(idle, store)
        save_choice(store, second.conversation_id, DocumentChoice(["more"], strict=False))
        assert documents.attach(second).collections == ["more"]
        assert documents.choice == DocumentChoice(("more",), False)  # the conversation's own choice is current

        documents.choice = DocumentChoice(["docs"], strict=False)
        documents.apply_to(first)  # the user changed the choice while in the first conversation
        assert first.augmenter.collections == ["docs"]
        assert store.get_conversation(first.conversation_id).extra["collections"] == ["docs"]

        library.remove("docs")
        assert documents.forget("docs") and not documents.forget("docs")
        assert documents.augmenter(first) is None  # nothing left to answer from
        assert documents.attach(second).collections == ["more"]
    finally:
        idle.close()


def test_a_removed_collection_is_left_out_and_a_failed_save_is_reported(library, tmp_path):
    library.add([write_docs(tmp_path / "docs")])
    store, idle, reported = HistoryStore(), ModelHost(), []
    try:
        documents = ConversationDocuments(library, store, DocumentChoice(["gone", "docs"]), report=reported.append)
        session = ChatSession(idle, store)
        assert documents.attach(session).collections == ["docs"]
        assert reported == []
        documents.remember(ChatSession(idle, store, conversation_id=9999))
        assert len(reported) == 1 and "no conversation 9999" in reported[0]
        with pytest.raises(KnowledgeError, match="Unknown query rewriting"):
            documents.rewrite = "sometimes"
        documents.rewrite = "multi"
        assert documents.augmenter(session).rewriter.mode == "multi"
    finally:
        idle.close()


# ------------------------------------------------------------------------------ the command line uses the same core
nook = partial(run_nook, timeout=300)


def test_cli_collections_index_and_remove_go_through_the_library(tmp_path):
    docs = write_docs(tmp_path / "docs")
    assert nook("collections", "create", "docs", str(docs)).returncode == 0
    run = nook("index", "docs", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["added"] == 3
    listed = json.loads(nook("collections", "list", "--json").stdout)
    assert listed[0]["name"] == "docs" and listed[0]["indexed"] == 3
    library = Library()
    try:
        table = library.get("docs").table_name
        assert table in library.store().table_names()
        removed = nook("collections", "remove", "docs")
        assert removed.returncode == 0 and "Removed docs" in removed.stdout
        assert table not in library.store().table_names() and library.names() == []
    finally:
        library.close()
    missing = nook("index", "docs")
    assert missing.returncode != 0 and "No collection called 'docs'" in missing.stderr
