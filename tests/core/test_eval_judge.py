"""The LLM judge: its prompts, the readers of its replies (well-formed, sloppy, junk), the arithmetic of the
judged metrics on known verdicts, the agreement check, and the real SmolLM2 judging through a real ModelHost.

``ScriptedJudge`` is a stand-in that replays hand-written replies: it is the only way to put known verdicts
into a judged metric and check its arithmetic (the real model's replies cannot be chosen). The real model
is tested below for what can be asked of it: a number in [0, 1] or None with a reason, never a crash.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.evaluation.judge import (
    JudgeError,
    parse_questions,
    parse_statements,
    parse_verdict,
    prompt,
)
from knowledge.evaluation.judge_check import agreement, check_judge, cohen_kappa, load_items
from knowledge.evaluation.metrics import compute_metrics
from knowledge.evaluation.sample import EvalSample, GoldSource, RetrievedContext

BREAD = RetrievedContext(1, "docs/en/bread.md",
                         "Refrigerate the shaped dough for 12 to 16 hours. Bake at 250°C for 20 minutes.")


@pytest.fixture(autouse=True)
def shipped_resources(monkeypatch):
    monkeypatch.setenv("INGLENOOK_RESOURCES", str(Path(__file__).resolve().parents[2] / "resources"))


class ScriptedJudge:
    """Stand-in judge (see the module docstring): replies are taken in order; records what it was asked."""

    name = "llm:scripted"

    def __init__(self, *replies: str):
        self.replies = list(replies)
        self.asked: list[str] = []

    def ask(self, messages, max_tokens):
        self.asked.append(messages[-1]["content"])
        return self.replies.pop(0)


# ------------------------------------------------------------------ prompts
def test_prompts_exist_in_both_languages_and_are_filled():
    en = prompt("verdict", "en", context="CTX", statement="STMT")
    zh = prompt("verdict", "zh", context="上下文内容", statement="陈述内容")
    assert "CTX" in en and "STMT" in en and "yes or no" in en
    assert "上下文内容" in zh and "是 或 否" in zh
    for name in ("statements", "questions", "context_useful"):
        for lang in ("en", "zh"):
            assert prompt(name, lang, question="Q", answer="A", reference="R", context="C", n="3")
    with pytest.raises(Exception, match="statements, verdict"):
        prompt("grade", "en")


# ------------------------------------------------------------------ readers
@pytest.mark.parametrize("reply, verdict", [
    ("Yes", True), ("No.", False), ("**yes**", True), ("Answer: no", False), ("  YES, it can.", True),
    ("The statement is supported by the context.", True), ("It is not supported.", False),
    ("是。", True), ("答：否", False), ("不是", False), ("不能。", False), ("能", True),
    ("你可以在上面", None), ("", None), ("Context: the dough rests...", None), ("Maybe", None),
])
def test_verdicts_from_well_formed_sloppy_and_junk_replies(reply, verdict):
    assert parse_verdict(reply) is verdict


def test_statements_from_lists_json_and_junk():
    answer = "The dough rests for 12 hours in the fridge and bakes at 250°C."
    listed = "Statements:\n- The dough rests for 12 hours.\n2) The dough is kept in the fridge.\n* The dough bakes at 250°C."
    assert parse_statements(listed, answer) == [
        "The dough rests for 12 hours.", "The dough is kept in the fridge.", "The dough bakes at 250°C."]
    assert parse_statements('["The dough rests 12 hours.", "It bakes at 250°C."]', answer) == [
        "The dough rests 12 hours.", "It bakes at 250°C."]
    assert parse_statements("I am a helpful assistant. Paris is in France.", answer) is None  # off-topic
    assert parse_statements("", answer) is None
    assert parse_statements("- 员工有五天丧假。\n- 丧假须在一个月内休完。", "员工有五天丧假，须在一个月内休完。") == [
        "员工有五天丧假。", "丧假须在一个月内休完。"]


def test_questions_from_lists_and_junk():
    assert parse_questions("1. How long does dough rest?\n2. What temperature?\nThe end.") == [
        "How long does dough rest?", "What temperature?"]
    assert parse_questions("- 面团要冷藏多久？\n- 烘烤温度是多少") == ["面团要冷藏多久？", "烘烤温度是多少"]
    assert parse_questions("Sure! Here you go.") is None


# ------------------------------------------------------------------ judged metrics on known verdicts
def test_judged_faithfulness_counts_readable_verdicts_and_keeps_the_judge_free_value():
    judge = ScriptedJudge("- The dough rests 12 to 16 hours.\n- The dough bakes for four hours.", "Yes", "No")
    sample = EvalSample("How long?", "The dough rests 12 to 16 hours and bakes for four hours [1].", (BREAD,))
    got = compute_metrics(sample, judge=judge, names=["faithfulness"])
    assert got["faithfulness"].value == 0.5 and got["faithfulness"].judged_by == "llm:scripted"
    assert got["faithfulness"].detail["statements_from"] == "judge"
    assert got["faithfulness:judge-free"].judged_by == "judge-free"
    assert "Refrigerate the shaped dough" in judge.asked[1]  # the verdict saw the context


def test_judged_faithfulness_with_junk_is_none_and_says_why():
    judge = ScriptedJudge("你可以在上面", "你可以在上面")  # statements unreadable -> sentences; verdict junk
    sample = EvalSample("How long?", "The dough rests 12 to 16 hours [1].", (BREAD,))
    got = compute_metrics(sample, judge=judge, names=["faithfulness"])["faithfulness"]
    assert got.value is None and "could not be read" in got.detail["reason"]
    assert got.detail["statements_from"].startswith("sentences")
    assert got.detail["statements"][0]["raw"] == "你可以在上面"


def test_judged_answer_correctness_tp_fp_fn_by_hand():
    # answer statements: A1 (reference says yes), A2 (no); reference statements: R1 (answer has it), R2 (no)
    judge = ScriptedJudge("- Dough rests 12 hours.\n- Dough bakes four hours.", "- Dough rests 12 hours.\n- Dough cools.",
                          "yes", "no", "yes", "no")
    sample = EvalSample("q?", "Dough rests 12 hours and bakes four hours.", reference="Dough rests 12 hours. Dough cools.")
    got = compute_metrics(sample, judge=judge, names=["answer_correctness"])["answer_correctness"]
    # TP 1, FP 1, FN 1: F = 1 / (1 + 0.5 * 2) = 0.5; no embedder, so F alone
    assert (got.detail["tp"], got.detail["fp"], got.detail["fn"]) == (1, 1, 1) and got.value == 0.5


def test_judged_context_precision_defers_to_gold_and_reads_usefulness():
    gold = EvalSample("q?", "a", (BREAD,), reference="r", gold_sources=(GoldSource("bread.md"),))
    judge = ScriptedJudge()
    got = compute_metrics(gold, judge=judge, names=["context_precision"])
    assert got["context_precision"].judged_by == "judge-free" and "context_precision:judge-free" not in got
    assert judge.asked == []  # gold sources are ground truth: the judge is not asked
    other = RetrievedContext(2, "pay.md", "Pay day is the 25th.")
    judged = compute_metrics(EvalSample("q?", "a", (other, BREAD), reference="12 to 16 hours"),
                             judge=ScriptedJudge("No", "Yes"), names=["context_precision"])["context_precision"]
    assert judged.value == 0.5 and judged.detail["relevant"] == [False, True]


def test_a_failing_judge_gives_none_with_the_error_not_a_crash():
    class Broken:
        name = "llm:broken"

        def ask(self, messages, max_tokens):
            raise JudgeError("The judge model failed: out of memory.")

    got = compute_metrics(EvalSample("q?", "The dough rests 12 hours [1].", (BREAD,), reference="12 hours."),
                          judge=Broken())
    assert got["faithfulness"].value is None and "out of memory" in got["faithfulness"].detail["reason"]
    assert got["faithfulness:judge-free"].value == 1.0


# ------------------------------------------------------------------ agreement
def test_kappa_by_hand():
    labels = [True, True, False, False]
    assert cohen_kappa(labels, labels) == 1.0
    assert cohen_kappa(labels, [True, True, True, True]) == 0.0  # always "yes": chance level
    # observed 2/4; predicted yes 2, no 1, unreadable 1: expected (2*2 + 2*1)/16 = 3/8; (1/2 - 3/8) / (5/8)
    assert cohen_kappa(labels, [True, None, False, True]) == pytest.approx(0.2)


def test_agreement_messages_are_plain_about_a_weak_judge():
    labels = [True, False] * 15
    weak = agreement(labels, [True] * 30, "The judge tiny")
    assert not weak.trustworthy and "κ=0.00, near chance" in weak.message and "not shown as facts" in weak.message
    strong = agreement(labels, labels, "The judge big")
    assert strong.trustworthy and strong.kappa == 1.0
    few = agreement(labels[:6], labels[:6], "The judge big")
    assert not few.trustworthy and "only 6" in few.message


def test_the_check_set_is_balanced_and_bilingual():
    items = load_items()
    assert len(items) >= 40
    assert sum(i.supported for i in items) * 2 == len(items)
    assert {i.lang for i in items[:2]} == {"en", "zh"}  # interleaved: a limit keeps both languages
    assert sum(i.lang == "zh" for i in items) * 2 == len(items)


# ------------------------------------------------------------------ the real model as judge
@pytest.mark.slow
def test_smollm2_judge_never_crashes_and_is_reported_as_untrustworthy(host):
    from knowledge.embeddings import get_embedder
    from knowledge.evaluation.judge import host_judge

    judge = host_judge(host, "SmolLM2-135M-Instruct")
    assert judge.name == "llm:SmolLM2-135M-Instruct"
    # no gold sources, so context precision and recall are judged too; one short context, one reference sentence
    sample = EvalSample("How long does the dough rest?", "The dough rests 12 to 16 hours [1].", (BREAD,),
                        reference="Refrigerate it for 12 to 16 hours.")
    got = compute_metrics(sample, judge=judge, embedder=get_embedder())
    judged = {name: r for name, r in got.items() if r.judged_by == judge.name}
    assert set(judged) == {"context_precision", "context_recall", "faithfulness", "answer_relevancy",
                           "answer_correctness"}
    for name, result in judged.items():
        assert (result.value is None and result.detail["reason"]) or 0.0 <= result.value <= 1.0, name
        assert f"{name}:judge-free" in got
    check = check_judge(judge, limit=2)
    assert check.n == 2 and not check.trustworthy and "not shown as facts" in check.message


@pytest.mark.slow
def test_eval_judge_benchmark_prints_and_writes_its_figures(tmp_path):
    import json
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "judge.json"
    run = subprocess.run([sys.executable, "-m", "benchmarks.eval_judge", "--limit", "2", "--json", str(out)],
                         cwd=root, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": str(root)})
    assert run.returncode == 0, run.stderr[-2000:]
    assert "llm:SmolLM2-135M-Instruct" in run.stdout and "judge-free (lexical)" in run.stdout
    figures = json.loads(out.read_text())
    assert set(figures) == {"judge-free (lexical)", "judge-free (lexical + MiniLM)", "llm:SmolLM2-135M-Instruct"}
    assert all(f["n"] == 2 and not f["trustworthy"] for f in figures.values())  # 2 items are too few to trust
