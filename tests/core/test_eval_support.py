"""Sentence support and quoted answers, on hand-made cases; and in the chat: a grounded reply of the real
model saves which of its sentences the sources support, and the augmenter answers by quoting."""

from __future__ import annotations

import os
import shutil

import pytest

from knowledge.evaluation.sample import RetrievedContext
from knowledge.support import NOT_COVERED, quote_answer, quote_sentences, sentence_support

C = RetrievedContext
BREAD = C(1, "bread.md", "Shape the dough. Refrigerate the shaped dough for 12 to 16 hours. Bake at 250°C for 20 minutes.")
PAY = C(2, "pay.md", "Pay day is the 25th of each month. Overtime is paid the month after.")
LEAVE = C(3, "假期.md", "员工可享受五天带薪丧假。丧假须在一个月内休完。")


def test_each_claim_gets_its_span_score_and_source():
    answer = "Refrigerate the dough for 12 to 16 hours [1]. It is baked at 250°C for four to six hours [1]. Hope this helps!"
    rows = sentence_support(answer, [BREAD, PAY])
    assert [answer[r.start:r.end] for r in rows] == [r.sentence for r in rows]
    first, second = rows[:2]
    assert first.supported and first.source_n == 1 and first.score == 1.0
    assert first.evidence == "Refrigerate the shaped dough for 12 to 16 hours."
    # bak 250 4 6 hour: 3/5 in "…12 to 16 hours. Bake at 250°C…", numbers 1/3 -> 0.2
    assert not second.supported and second.score == 0.2
    assert rows[2].sentence == "Hope this helps!" and not rows[2].supported  # "hope help" is in no source


def test_a_wrong_citation_reports_the_source_that_does_support():
    rows = sentence_support("Pay day is the 25th of each month [1].", [BREAD, PAY])
    assert rows[0].supported and rows[0].source_n == 2


def test_refusals_and_empty_sentences_are_not_claims():
    assert sentence_support("The documents do not contain the answer.", [BREAD]) == []
    assert sentence_support("", [BREAD]) == []
    rows = sentence_support("Bake it at 250°C.", [])
    assert len(rows) == 1 and not rows[0].supported and rows[0].source_n is None and rows[0].score == 0.0


def test_chinese_support():
    answer = "员工有五天带薪丧假[3]。丧假可以在一年内使用[3]。"
    rows = sentence_support(answer, [LEAVE])
    assert [r.supported for r in rows] == [True, False] and rows[0].source_n == 3
    assert [answer[r.start:r.end] for r in rows] == ["员工有五天带薪丧假[3]。", "丧假可以在一年内使用[3]。"]


def test_embeddings_let_a_paraphrase_through():
    from knowledge.embeddings import get_embedder

    claim = "A restored pilot boat from the 1700s is shown in the east wing."
    museum = C(1, "m.md", "The museum's east wing houses the maritime collection, including a restored 18th-century pilot boat.")
    lexical = sentence_support(claim, [museum])[0]
    blended = sentence_support(claim, [museum], embedder=get_embedder())[0]
    assert blended.score > lexical.score


def test_quote_answer_cites_the_best_sentences_in_the_question_language():
    text = quote_answer("How long should the dough stay in the fridge?", [PAY, BREAD], max_sentences=1)
    assert text == "Refrigerate the shaped dough for 12 to 16 hours [1]."
    assert quote_answer("丧假有几天？", [BREAD, LEAVE], max_sentences=1) == "员工可享受五天带薪丧假[3]。"
    assert quote_answer("丧假有几天？", []) == NOT_COVERED["zh"]
    assert quote_answer("Who won the World Cup?", [BREAD, PAY]) == NOT_COVERED["en"]
    quotes = quote_sentences("When is pay day and when is overtime paid?", [PAY], max_sentences=3)
    assert {q.sentence for q in quotes} == {"Pay day is the 25th of each month.", "Overtime is paid the month after."}
    for q in quotes:
        assert PAY.text[q.start:q.end] == q.sentence


# ------------------------------------------------------------------ in the chat, with the real model
DOCS = {
    "rivers.md": "# Rivers\n\n## Rhine\n\nThe Rhine rises in the Swiss Alps and reaches the North Sea at Rotterdam.\n",
    "policy.txt": "第一条 本规定适用于公司全体员工。\n\n第二条 员工每年享有十五天带薪年假。\n",
}


@pytest.fixture(scope="module")
def retriever(tmp_path_factory):
    from knowledge.catalog import Catalog
    from knowledge.indexer import Indexer
    from knowledge.retrieval import Retriever
    from knowledge.store import ChunkStore

    home = tmp_path_factory.mktemp("home")
    old = os.environ.get("INGLENOOK_HOME")
    os.environ["INGLENOOK_HOME"] = str(home)
    root = tmp_path_factory.mktemp("docs")
    for name, text in DOCS.items():
        (root / name).write_text(text, encoding="utf-8")
    catalog = Catalog()
    catalog.create("docs", [root])
    Indexer(catalog, ChunkStore()).index("docs")
    yield home, Retriever(catalog, ChunkStore())
    if old is None:
        os.environ.pop("INGLENOOK_HOME", None)
    else:
        os.environ["INGLENOOK_HOME"] = old
    shutil.rmtree(home, ignore_errors=True)


@pytest.mark.slow
def test_grounded_reply_saves_sentence_support_inside_the_answer(retriever, host, monkeypatch):
    from engine.chat.history import HistoryStore
    from engine.chat.session import ChatSession
    from engine.params import SamplingParams
    from knowledge.answer import DocumentAugmenter

    monkeypatch.setenv("INGLENOOK_HOME", str(retriever[0]))
    session = ChatSession(host, HistoryStore(), params=SamplingParams.greedy(max_tokens=40))
    session.augmenter = DocumentAugmenter(retriever[1], ["docs"], k=3, count_tokens=host.count_tokens, n_ctx=2048)
    for _ in session.send("Where does the Rhine rise?"):
        pass
    reply = session.thread()[-1]
    assert reply.status == "complete" and reply.extra["sources"]  # the sources are still there
    support = reply.extra["support"]
    assert support, reply.content
    for row in support:
        assert set(row) == {"start", "end", "supported", "score", "source_n", "evidence"}
        assert 0 <= row["start"] < row["end"] <= len(reply.content)
        assert reply.content[row["start"]:row["end"]].strip()
        assert 0.0 <= row["score"] <= 1.0


@pytest.mark.slow
def test_augmenter_answers_by_quoting(retriever, monkeypatch):
    from knowledge.answer import DocumentAugmenter

    monkeypatch.setenv("INGLENOOK_HOME", str(retriever[0]))
    augmenter = DocumentAugmenter(retriever[1], ["docs"], k=3, n_ctx=2048)
    quoted = augmenter.quote_answer("Where does the Rhine rise?")
    assert quoted.text == "The Rhine rises in the Swiss Alps and reaches the North Sea at Rotterdam [1]."
    assert [s.n for s in quoted.sources] == [1] and quoted.sources[0].path.endswith("rivers.md")
    quote = quoted.quotes[0]
    assert quoted.sources[0].text[quote.start:quote.end] == quote.sentence
    zh = augmenter.quote_answer("带薪年假有几天？")
    assert "十五天带薪年假" in zh.text and zh.text.endswith("]。")


@pytest.mark.slow
def test_a_failing_finish_hook_costs_only_its_addition(host):
    """The engine's generic hook: a reply whose augmentation's ``finish`` raises is saved all the same."""
    from engine.chat.history import HistoryStore
    from engine.chat.session import Augmentation, ChatSession
    from engine.params import SamplingParams

    def finish(text):
        raise ValueError("broken hook")

    session = ChatSession(host, HistoryStore(), params=SamplingParams.greedy(max_tokens=8))
    session.augmenter = lambda messages: Augmentation(messages, {"note": "kept"}, finish=finish)
    for _ in session.send("Say hello."):
        pass
    reply = session.thread()[-1]
    assert reply.status == "complete" and reply.content.strip()
    assert reply.extra == {"note": "kept"}
