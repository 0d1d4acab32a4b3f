"""Retrieval that fits Chinese: sizes in characters, small-to-big passages, full-text-only chunks when the
embedder does not cover the language, query cleanup, and changing the embedder without losing the index.

Real indexer, real onnxruntime MiniLM, real LanceDB on disk; the Hub is the local stand-in (it cannot be
reached from here) serving real ONNX files.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow as pa
import pytest

from knowledge.catalog import Catalog
from knowledge.chunking import chunk_document, context_spans
from knowledge.embeddings import EmbedderSpec, _bundled_minilm, register_embedder
from knowledge.indexer import Indexer
from knowledge.library import Library
from knowledge.parsing import parse_file
from knowledge.retrieval import Retriever, SearchOptions
from knowledge.store import ChunkStore, embedder_of
from knowledge.textsearch import clean_query, segment
from knowledge.textunits import mostly_cjk, units

pytestmark = pytest.mark.slow

_NUMBERS = "一二三四五六七八九十"
_ARTICLE = re.compile("第[一二三四五六七八九十]+条")
_CHAPTER = re.compile("第[一二三四五六七八九十]+章")
_TOPICS = [("婚假", "员工本人结婚的，可享受婚假", "天"), ("丧假", "直系亲属去世的，员工可享受丧假", "天"),
           ("产假", "女员工生育的，享受产假", "天"), ("护理假", "男员工在配偶生育期间享受护理假", "天"),
           ("病假", "员工因病需要休息的，病假工资按基本工资的百分之", "发放"),
           ("年假", "工作满一年的员工每年享受带薪年假", "天"), ("事假", "员工因私事请假的，每年事假累计不超过", "天"),
           ("调休", "加班后可申请调休，调休须在加班之日起", "个月内使用")]


def _cn(n: int) -> str:
    if n <= 10:
        return _NUMBERS[n - 1]
    tens, ones = divmod(n, 10)
    return (_NUMBERS[tens - 1] if tens > 1 else "") + "十" + (_NUMBERS[ones - 1] if ones else "")


def write_handbook(path: Path) -> Path:
    """A long Chinese handbook: chapters of numbered articles, each with a fact of its own."""
    lines = ["# 员工手册", ""]
    article = 0
    for chapter, (topic, sentence, unit) in enumerate(_TOPICS, start=1):
        lines += [f"## 第{_cn(chapter)}章 {topic}", ""]
        for k in range(1, 6):
            article += 1
            amount = chapter * 10 + k
            lines += [f"第{_cn(article)}条 {sentence}{amount}{unit}。申请{topic}应当提前{k + 1}个工作日在系统中提交，"
                      f"由部门负责人审批；情况特殊的，可以事后补办手续，但最迟不得超过返岗后的第{k + 2}个工作日。"
                      f"相关证明材料由人力资源部存档保管{k + 3}年。", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_units_count_chinese_characters_and_words():
    assert units("我们参观了故宫博物院") == 10
    assert units("The quick brown fox, 12 times.") == 12  # six words, two units each
    assert mostly_cjk("清风 A7 F2") and not mostly_cjk("opening hours of 故宫")


def test_query_cleanup_drops_fillers_and_keeps_the_subject():
    cleaned = clean_query("请问我下个月结婚，公司给放几天假吗？")
    assert "结婚" in cleaned and "请问" not in cleaned and "吗" not in cleaned and "我" not in cleaned
    assert clean_query("吗") == "吗"  # nothing but fillers: kept rather than emptied
    assert clean_query("How do I reset the router?") == "How do I reset the router?"
    assert segment("结婚假", "unigram+bigram").split() == ["结", "婚", "假", "结婚", "婚假"]


def test_chunks_are_sized_in_characters_and_contexts_stay_inside_their_scope(tmp_path):
    doc = parse_file(write_handbook(tmp_path / "handbook.md"))
    text = doc.full_text()
    chunks = chunk_document(doc, units, max_tokens=60, overlap_tokens=10)
    assert all(units(c.text) <= 60 for c in chunks)
    for scope in ("article", "heading"):
        spans = context_spans(chunks, units, text, 200, scope)
        grown = 0
        for chunk, (start, end) in zip(chunks, spans, strict=True):
            passage = text[start:end]
            assert start <= chunk.start and chunk.end <= end and units(passage) <= 200
            if scope == "article":  # growing never adds another article
                assert len(_ARTICLE.findall(passage)) <= max(1, len(_ARTICLE.findall(chunk.text)))
            else:  # neighbouring articles, but never another chapter
                assert len(_CHAPTER.findall(passage)) <= max(1, len(_CHAPTER.findall(chunk.text)))
            grown += (end - start) > (chunk.end - chunk.start)
        assert grown > len(chunks) // 2  # most small chunks hand the answer their surroundings


@pytest.fixture
def handbook(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    write_handbook(folder / "员工手册.md")
    (folder / "guide.md").write_text("# Guide\n\nThe Rhine reaches the North Sea at Rotterdam.\n", encoding="utf-8")
    return folder


def test_chinese_chunks_are_full_text_only_with_an_english_embedder(handbook):
    library = Library()
    try:
        # articles are ~100 characters: a chunk holds part of one, its passage the whole article
        library.create("hb", [handbook], chunk_size=40, context_size=240, context_scope="article")
        summary = library.index("hb")
        details = library.index_details(library.get("hb"))
        assert summary.chunks_fulltext_only > 0 and details["fulltext_only"] == summary.chunks_fulltext_only
        assert details["chunks"] - details["fulltext_only"] >= 1  # the English guide was embedded
        retriever = library.retriever()
        vector = retriever.search("hb", "员工结婚放几天假", SearchOptions(mode="vector"))
        assert vector and all(not mostly_cjk(h.match) for h in vector)  # blank vectors are never searched
        hits = retriever.search("hb", "请问我下个月结婚，公司给放几天假？")
        assert "婚假" in hits[0].text and hits[0].match in hits[0].text
        # the small chunk matched; the answer gets its whole article, and nothing of the next one
        assert len(hits[0].text) > len(hits[0].match) and hits[0].text.startswith("第") and "存档保管" in hits[0].text
        assert len(_ARTICLE.findall(hits[0].text)) == 1
        assert len({h.text for h in hits}) == len(hits)  # two matches in one article come back once
    finally:
        library.close()


def test_status_reports_full_text_only_chunks(handbook, tmp_path):
    env = {**os.environ}
    nook = [sys.executable, "-m", "desktop_app.cli"]
    assert subprocess.run([*nook, "collections", "create", "hb", str(handbook)], env=env).returncode == 0
    assert subprocess.run([*nook, "index", "hb"], env=env, capture_output=True).returncode == 0
    status = subprocess.run([*nook, "collections", "status", "hb"], env=env, capture_output=True, text=True)
    assert "full-text only" in status.stdout and "not embedded" in status.stdout
    details = json.loads(subprocess.run([*nook, "collections", "status", "hb", "--json"], env=env,
                                        capture_output=True, text=True).stdout)["index"]
    assert details["fulltext_only"] > 0 and details["embedder"] == "minilm"
    bad = subprocess.run([*nook, "collections", "set", "hb", "--embedder", "nope"], env=env, capture_output=True,
                         text=True)
    assert bad.returncode != 0 and "multilingual-e5-small" in bad.stderr


def test_a_new_embedder_builds_beside_the_old_index_and_takes_over_when_complete(handbook):
    register_embedder("minilm-cls", lambda: EmbedderSpec(**{**_bundled_minilm().__dict__, "pooling": "cls",
                                                             "multilingual": True}), replace=True)
    for n in range(12):  # many one-file batches, so the run can be cancelled half way
        write_handbook(handbook / f"copy-{n}.md")
    catalog, store = Catalog(), ChunkStore()
    indexer = Indexer(catalog, store, batch_files=1, batch_chunks=1)
    catalog.create("hb", [handbook], chunk_size=120)
    indexer.index("hb")
    old_table = catalog.get("hb").table_name
    catalog.update("hb", embedder="minilm-cls")
    cancel = threading.Event()
    batches = []

    def stop_after_first_batch(progress):
        batches.append(progress.chunks_done)
        if progress.chunks_done:
            cancel.set()

    partial = Indexer(catalog, store, batch_files=1, batch_chunks=1).index("hb", progress=stop_after_first_batch,
                                                                          cancel=cancel)
    assert partial.cancelled and partial.rebuilt
    collection = catalog.get("hb")
    assert collection.table_name == old_table  # searches still use the complete old index
    assert embedder_of(store.existing(old_table))[1] == "minilm"
    hits = Retriever(catalog, store).search("hb", "Rhine North Sea")
    assert hits and "Rhine" in hits[0].text
    assert Library(catalog, store).index_details(collection)["rebuilding"]
    finished = Indexer(catalog, store).index("hb")
    assert not finished.cancelled and finished.chunks_fulltext_only == 0  # a multilingual model embeds Chinese
    collection = catalog.get("hb")
    assert collection.table_name != old_table and old_table not in store.table_names()
    assert embedder_of(store.existing(collection.table_name))[1] == "minilm-cls"
    assert Retriever(catalog, store).search("hb", "员工结婚", SearchOptions(mode="vector"))


def test_tables_from_before_contexts_are_upgraded_in_place(tmp_path):
    import lancedb
    import numpy as np

    from knowledge.store import schema

    old_fields = [f for f in schema(4) if f.name not in ("context", "context_start", "context_end", "embedded")]
    db = lancedb.connect(str(tmp_path / "db"))
    old = pa.schema(old_fields).with_metadata({"embedder_id": "x"})
    table = db.create_table("old", schema=old)
    table.add([{"id": "a", "file_id": "f", "path": "/p", "kind": "text", "ordinal": 0, "text": "hello world",
                "fts_text": "hello world", "page": None, "heading": "", "start": 0, "end": 11,
                "vector": np.ones(4, dtype=np.float32)}])
    upgraded = ChunkStore(tmp_path / "db").existing("old")
    row = upgraded.search().limit(1).to_list()[0]
    assert row["embedded"] is True and row["context"] is None


def test_a_multilingual_embedder_downloads_from_a_hub_mirror_and_embeds_chinese(handbook):
    """The download path end to end against the Hub stand-in, which serves real ONNX and tokenizer files
    (the bundled MiniLM's, under the multilingual model's name: the Hub itself is unreachable here)."""
    from engine.models.bundled import find_bundled
    from tests.support.hub_standin import HubStandIn

    nook = [sys.executable, "-m", "desktop_app.cli"]
    with HubStandIn() as hub:
        hub.add_file("Xenova/multilingual-e5-small", "onnx/model_quantized.onnx",
                     find_bundled("all-minilm-l6-v2-int8").path)
        hub.add_file("Xenova/multilingual-e5-small", "tokenizer.json",
                     find_bundled("all-minilm-l6-v2-tokenizer").path, lfs=False)
        before = json.loads(subprocess.run([*nook, "embedders", "list", "--json"], capture_output=True,
                                           text=True).stdout)
        assert not next(e for e in before if e["name"] == "multilingual-e5-small")["installed"]
        got = subprocess.run([*nook, "embedders", "download", "multilingual-e5-small", "--endpoint", hub.endpoint],
                             capture_output=True, text=True, timeout=120)
        assert got.returncode == 0, got.stderr
    after = json.loads(subprocess.run([*nook, "embedders", "list", "--json"], capture_output=True, text=True).stdout)
    assert next(e for e in after if e["name"] == "multilingual-e5-small")["installed"]
    assert subprocess.run([*nook, "collections", "create", "hb", str(handbook), "--embedder",
                           "multilingual-e5-small"]).returncode == 0
    summary = json.loads(subprocess.run([*nook, "index", "hb", "--json"], capture_output=True, text=True).stdout)
    assert summary["chunks_fulltext_only"] == 0 and summary["chunks_written"] > 0
    found = json.loads(subprocess.run([*nook, "search", "hb", "员工结婚", "--mode", "vector", "--json"],
                                      capture_output=True, text=True).stdout)
    assert found["results"]


def test_an_embedder_that_is_not_downloaded_says_how_to_get_it(handbook):
    from knowledge.embeddings import get_embedder
    from knowledge.errors import KnowledgeError

    with pytest.raises(KnowledgeError, match="nook embedders download bge-m3"):
        get_embedder("bge-m3")


def test_everyday_words_find_the_formal_terms_in_the_same_query(tmp_path):
    """房东/卖 are nowhere in the lease; its 出租人/出售 are found through the thesaurus, boosted inside the one
    full-text query (scores add up), and the file filter still applies to that query."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "lease.md").write_text("# 房屋租赁合同\n\n第九条 出租人出售该房屋的，应当在出售前三个月书面通知承租人。\n",
                                   encoding="utf-8")
    (docs / "notes.txt").write_text("我家楼下新开了一家卖水果的小店，要提前预订。\n", encoding="utf-8")
    library = Library()
    try:
        library.add([docs], name="c")
        library.index("c")
        retriever = library.retriever()
        question = "房东要把房子卖掉，要提前多久告诉我？"
        without = retriever.search("c", question, SearchOptions(mode="fulltext", register_weight=0.0))
        found = retriever.search("c", question, SearchOptions(mode="fulltext"))
        assert Path(found[0].path).name == "lease.md"
        assert [Path(h.path).name for h in without][0] == "notes.txt"  # the shared everyday words win alone
        filtered = retriever.search("c", question, SearchOptions(mode="fulltext", path_glob="*.txt"))
        assert [Path(h.path).name for h in filtered] == ["notes.txt"]
    finally:
        library.close()
