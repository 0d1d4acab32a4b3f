"""Hybrid retrieval and grounded answers over a real index (real embeddings, real LanceDB, real model)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.chat.history import HistoryStore
from engine.chat.session import ChatSession
from engine.events import Finished, TextDelta
from engine.host import ModelHost
from engine.params import SamplingParams
from knowledge.answer import NOTHING_FOUND, DocumentAugmenter, SourcesEvent, cited_numbers
from knowledge.catalog import Catalog
from knowledge.indexer import Indexer
from knowledge.retrieval import Retriever, SearchOptions, dedupe, glob_to_like
from knowledge.store import ChunkStore

pytestmark = pytest.mark.slow

DOCS = {
    "rivers.md": "# Rivers\n\nThe Danube flows through ten countries.\n\n## Rhine\n\nThe Rhine rises in the Swiss Alps "
                 "and reaches the North Sea at Rotterdam.\n",
    "pump.txt": "Maintenance note. The spare part for the pump is ZX-4471; order it from the central stores.\n",
    "cooking/bread.md": "# Bread\n\nKnead the dough for ten minutes, then let it rise for an hour in a warm place.\n",
    "policy.txt": "第一条 本规定适用于公司全体员工。\n\n第二条 员工每年享有十五天带薪年假。\n\n第三条 病假需提供医院证明。\n",
    "travel.txt": "我们在北京参观了故宫博物院，然后去了长城。\n",
}


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    old = os.environ.get("INGLENOOK_HOME")
    os.environ["INGLENOOK_HOME"] = str(home)
    root = tmp_path_factory.mktemp("docs")
    for name, text in DOCS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    shutil.copy(root / "rivers.md", root / "rivers-copy.md")  # a duplicate, to be collapsed
    catalog = Catalog()
    catalog.create("docs", [root])
    Indexer(catalog, ChunkStore()).index("docs")
    yield home, root, Retriever(catalog, ChunkStore())
    if old is None:
        os.environ.pop("INGLENOOK_HOME", None)
    else:
        os.environ["INGLENOOK_HOME"] = old


@pytest.fixture(autouse=True)
def data_home(indexed, monkeypatch):  # overrides conftest's: this module shares one index
    monkeypatch.setenv("INGLENOOK_HOME", str(indexed[0]))
    return indexed[0]


def top(retriever, query, **kw):
    return retriever.search("docs", query, SearchOptions(**kw))


def test_semantic_question_finds_the_passage(indexed):
    hits = top(indexed[2], "Where does the Rhine begin?", k=3)
    assert "Swiss Alps" in hits[0].text and hits[0].heading == "Rivers > Rhine"


def test_exact_code_is_found_by_full_text(indexed):
    retriever = indexed[2]
    assert top(retriever, "ZX-4471", mode="fulltext", k=1)[0].path.endswith("pump.txt")
    assert top(retriever, "ZX-4471", k=1)[0].path.endswith("pump.txt")


def test_chinese_questions_work_through_segmented_full_text(indexed):
    retriever = indexed[2]
    assert top(retriever, "带薪年假有几天", k=1)[0].path.endswith("policy.txt")
    assert top(retriever, "故宫", mode="fulltext", k=1)[0].path.endswith("travel.txt")
    # the English-only embedder alone does not find it: this is why the default is hybrid
    vector_only = top(retriever, "带薪年假有几天", mode="vector", k=1)
    hybrid = top(retriever, "带薪年假有几天", k=1)
    assert hybrid[0].fulltext_rank == 1 and (not vector_only or hybrid[0].path.endswith("policy.txt"))


def test_filters_by_path_glob_and_type(indexed):
    retriever = indexed[2]
    hits = top(retriever, "minutes", path_glob="*/cooking/*", k=5)
    assert hits and all("/cooking/" in h.path for h in hits)
    hits = top(retriever, "rivers", kinds=["text"], k=5)
    assert hits and all(h.kind == "text" for h in hits)
    assert glob_to_like("*.pdf") == "%.pdf" and glob_to_like("a_b") == "%a\\_b"


def test_near_duplicates_are_collapsed(indexed):
    hits = top(indexed[2], "Danube countries", k=5)
    danube = [h for h in hits if "Danube" in h.text]
    assert len(danube) == 1
    both = top(indexed[2], "Danube countries", k=5, dedupe=False)
    assert len([h for h in both if "Danube" in h.text]) == 2
    assert dedupe([], 0.9) == []


def test_cli_search_json_contract_and_batch(indexed, tmp_path):
    env = {**os.environ, "INGLENOOK_HOME": str(indexed[0])}
    run = subprocess.run([sys.executable, "-m", "desktop_app.cli", "search", "docs", "ZX-4471", "--json", "-k", "3"],
                         capture_output=True, text=True, env=env, timeout=120)
    data = json.loads(run.stdout)
    assert data["query"] == "ZX-4471"
    first = data["results"][0]
    assert set(first) == {"path", "text", "score", "page", "heading"}
    assert Path(first["path"]).is_absolute() and first["path"].endswith("pump.txt")
    scores = [r["score"] for r in data["results"]]
    assert scores == sorted(scores, reverse=True)
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "a", "query": "Rhine"}\nnot json\n{"id": 2, "query": "故宫"}\n', encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "desktop_app.cli", "search", "docs", "--queries", str(queries)],
                         capture_output=True, text=True, env=env, timeout=120)
    lines = [json.loads(x) for x in run.stdout.splitlines()]
    assert [x["id"] for x in lines] == ["a", 2]
    assert all(x["latency_ms"] > 0 and x["results"] for x in lines)
    assert "q.jsonl:2" in run.stderr


def drain(events):
    out = []
    for event in events:
        out.append(event)
    return out


def test_grounded_answer_streams_sources_first_and_saves_them(indexed, host):
    store = HistoryStore()
    session = ChatSession(host, store, params=SamplingParams.greedy(max_tokens=40))
    session.augmenter = DocumentAugmenter(indexed[2], ["docs"], k=3,
                                          count_tokens=lambda t: host.count_tokens(t), n_ctx=2048)
    events = drain(session.send("Where does the Rhine rise?"))
    assert isinstance(events[0], SourcesEvent)
    sources = events[0].sources
    assert sources[0].n == 1 and "Swiss Alps" in sources[0].text and sources[0].heading == "Rivers > Rhine"
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text.strip()
    reply = session.thread()[-1]
    assert reply.extra["sources"][0]["path"].endswith(("rivers.md", "rivers-copy.md"))
    assert reply.extra["sources"][0]["snippet"]
    # the model saw numbered sources; the stored question stays what the user typed
    assert session.thread()[-2].content == "Where does the Rhine rise?"
    assert "[1]" in store.export_markdown(session.conversation_id)
    assert cited_numbers("see [1] and [2], again [1]") == [1, 2]


def test_strict_mode_says_so_without_asking_the_model(indexed, host):
    session = ChatSession(host, HistoryStore(), params=SamplingParams.greedy(max_tokens=40))
    session.augmenter = DocumentAugmenter(indexed[2], ["docs"], strict=True, k=3, n_ctx=2048)
    events = drain(session.send("Who won the 1998 football World Cup final?"))
    finished = [e for e in events if isinstance(e, Finished)][0]
    assert finished.timings.completion_tokens == 0  # the model was never called
    assert finished.text == NOTHING_FOUND.format(collections="docs")
    assert session.thread()[-1].extra["sources"] == []


def test_sources_are_fitted_to_the_token_budget(indexed):
    augmenter = DocumentAugmenter(indexed[2], ["docs"], k=5, count_tokens=lambda t: len(t.split()), n_ctx=300,
                                  answer_reserve=100)
    hits = indexed[2].search("docs", "Rhine Danube bread pump", SearchOptions(k=5))
    sources = augmenter.fit(hits, budget=30)
    assert 1 <= len(sources) < len(hits)
    assert sum(len(s.text.split()) + 16 for s in sources) <= 30 + 16


# ------------------------------------------------------------------------- query rewriting
def test_several_queries_are_fused_and_the_question_keeps_its_weight(indexed):
    retriever = indexed[2]
    options = SearchOptions(k=10)
    pump = retriever.search("docs", "ZX-4471", options)
    both = retriever.search_queries("docs", [("ZX-4471", 1.0), ("Where does the Rhine reach the sea?", 0.5)],
                                    options)
    names = [Path(h.path).name for h in both]
    assert names[0] == Path(pump[0].path).name == "pump.txt"  # the literal match stays on top
    assert any(n.startswith("rivers") for n in names)  # the second query's passage joined the results
    with pytest.raises(Exception, match="empty"):
        retriever.search_queries("docs", [("  ", 1.0)], options)


def test_rewriting_with_the_real_model(indexed, host):
    from knowledge.rewrite import QueryRewriter, host_generate

    generate = host_generate(host)
    question = "Which part number do I order for the pump?"
    hyde = QueryRewriter(generate, "hyde").queries(question)
    assert hyde[0].text == question and hyde[0].weight == 1.0
    assert len(hyde) == 2 and hyde[1].kind == "hypothetical" and len(hyde[1].text) > 20 and hyde[1].weight < 1
    multi = QueryRewriter(generate, "multi").queries(question)
    assert multi[0].text == question and all(q.kind == "variant" for q in multi[1:]) and len(multi) <= 4
    history = [{"role": "user", "content": "Tell me about the Rhine."},
               {"role": "assistant", "content": "The Rhine rises in the Swiss Alps."}]
    follow = QueryRewriter(generate, "standalone").queries("Where does it reach the sea?", history)
    assert follow[0].text == "Where does it reach the sea?"
    assert all(q.kind == "standalone" for q in follow[1:]) and len(follow) <= 2
    # the grounded answer path records what was searched besides the question
    augmenter = DocumentAugmenter(indexed[2], ["docs"], rewriter=QueryRewriter(generate, "hyde"),
                                  count_tokens=lambda t: host.count_tokens(t), n_ctx=2048)
    augmentation = augmenter([{"role": "user", "content": question}])
    assert augmentation.extra["queries"][0]["kind"] == "hypothetical"
    assert any(Path(s["path"]).name == "pump.txt" for s in augmentation.extra["sources"])


def test_rewriting_falls_back_to_the_question_when_the_model_fails(indexed):
    from knowledge.rewrite import QueryRewriter, _strip_marker, host_generate

    idle = ModelHost()  # a real model owner with no model loaded: every request fails
    try:
        queries = QueryRewriter(host_generate(idle), "multi").queries("pump part number")
    finally:
        idle.close()
    assert [q.text for q in queries] == ["pump part number"]
    with pytest.raises(Exception, match="Unknown query rewriting"):
        QueryRewriter(host_generate(idle), "magic")
    assert _strip_marker("2. 水泵 备件 编号") == "水泵 备件 编号" and _strip_marker('- "pump part"') == "pump part"
