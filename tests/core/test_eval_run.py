"""Evaluation runs for real: the bundled SmolLM2 through llama.cpp, a real LanceDB collection, real MiniLM.

One small collection (three documents) and three questions; answers are capped at 32 tokens. The
module shares one data folder (index, model host) so the model and the index are made once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from engine.chat.history import HistoryStore
from knowledge.evaluation.configs import parse_configs
from knowledge.evaluation.questions import EvalQuestion
from knowledge.evaluation.records import EvaluationError, read_jsonl
from knowledge.evaluation.report import load_run, summary_table, write_html
from knowledge.evaluation.runner import EvalRun
from knowledge.evaluation.sample import GoldSource
from knowledge.library import Library

pytestmark = pytest.mark.slow

DOCS = {
    "sourdough.md": "# Sourdough\n\nAfter shaping, refrigerate the dough for 12 to 16 hours before baking. "
                    "Bake the loaf at 250 degrees for 20 minutes with the lid on, then 25 minutes without.\n",
    "kettle.md": "# Kettle manual\n\nDescale the kettle every four weeks with white vinegar. The kettle holds "
                 "1.7 litres and switches off by itself when the water boils.\n",
    "lighthouse.md": "# The lighthouse\n\nThe lighthouse on the cape was built in 1887 and is 34 metres tall. "
                     "Its <b>lamp</b> can be seen from 40 kilometres away.\n",
}
QUESTIONS = [
    EvalQuestion("q1", "How long should the sourdough dough be refrigerated?", "12 to 16 hours",
                 [GoldSource("sourdough.md")]),
    EvalQuestion("q2", "How often should the kettle be descaled?", "every four weeks", [GoldSource("kettle.md")]),
    EvalQuestion("q3", "When was the lighthouse built?", "in 1887", [GoldSource("lighthouse.md")]),
]
CONFIGS = [
    {"name": "off", "retrieval": "off", "max_tokens": 32},
    {"name": "hybrid", "collections": ["docs"], "retrieval": "hybrid", "k": 2, "max_tokens": 32},
]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("eval-home")
    old = os.environ.get("INGLENOOK_HOME")
    os.environ["INGLENOOK_HOME"] = str(home)
    root = tmp_path_factory.mktemp("docs")
    for name, text in DOCS.items():
        (root / name).write_text(text, encoding="utf-8")
    library = Library()
    library.create("docs", [root])
    library.index("docs")
    library.close()
    yield home
    if old is None:
        os.environ.pop("INGLENOOK_HOME", None)
    else:
        os.environ["INGLENOOK_HOME"] = old


@pytest.fixture(autouse=True)
def data_home(home, monkeypatch):  # overrides conftest's: the module shares one index
    monkeypatch.setenv("INGLENOOK_HOME", str(home))
    return home


class InProcessEnvironment:
    """A real environment for tests: the conftest's in-process model host instead of the engine process."""

    def __init__(self, host, run_dir: Path):
        self.library = Library()
        self.history = HistoryStore(run_dir / "eval-chats.sqlite")
        self.host = host
        self.loads: list[str | None] = []

    def host_for(self, model):
        self.loads.append(model)
        return self.host

    def close(self):
        self.library.close()
        self.history.close()


@pytest.fixture
def environment(host, tmp_path):
    env = InProcessEnvironment(host, tmp_path)
    yield env
    env.close()


def run_all(run: EvalRun) -> list:
    return list(run)


def test_two_configurations_write_records_and_a_summary(environment, tmp_path):
    out = tmp_path / "run"
    events = run_all(EvalRun(QUESTIONS, parse_configs(CONFIGS), out, environment=environment))
    assert environment.loads == [None]  # one model, loaded once for both configurations
    answers = [e for e in events if e.phase == "answer"]
    assert [(e.done, e.total) for e in answers] == [(i, 6) for i in range(1, 7)]
    assert answers[-1].eta_s is not None and events[-1].phase == "done"

    records = read_jsonl(out / "records.jsonl")
    assert [(r["config"], r["question_id"]) for r in records] == [
        (c, q) for c in ("off", "hybrid") for q in ("q1", "q2", "q3")]
    for record in records:
        assert record["error"] is None and record["answer"].strip()
        assert record["timings"]["total_s"] > 0 and record["timings"]["first_token_s"] is not None
        assert record["metrics"], "every record is measured"
    off, hybrid = records[0], records[3]
    assert off["contexts"] == []
    context = hybrid["contexts"][0]
    assert set(context) == {"n", "path", "page", "heading", "text"} and context["n"] == 1
    assert context["path"].endswith("sourdough.md") and "12 to 16 hours" in context["text"]

    summary = json.loads((out / "summary.json").read_text())
    keys = ("hit@k", "mrr", "context_precision", "context_recall", "faithfulness", "answer_relevancy",
            "answer_correctness")
    for name in ("off", "hybrid"):
        entry = summary[name]
        assert entry["judge"] == "judge-free" and entry["n"] == 3
        for key in keys:
            assert entry[key] is None or 0.0 <= entry[key] <= 1.0, (name, key, entry[key])
    assert summary["off"]["hit@k"] is None  # nothing is retrieved on purpose: not a zero
    assert summary["hybrid"]["hit@k"] == 1.0 and summary["hybrid"]["mrr"] == 1.0
    comparisons = summary["_comparisons"]
    assert {c["metric"] for c in comparisons} == set(keys) and all(c["a"] == "hybrid" for c in comparisons)
    assert summary["_judge_check"] is None
    # the evaluation's chats stay out of the user's history
    user = HistoryStore()
    try:
        assert user.list_conversations() == []
    finally:
        user.close()

    table = summary_table(load_run(out))
    assert "off" in table and "hybrid" in table and "hit@k" in table and "hybrid vs off" in table
    html = write_html(load_run(out)).read_text(encoding="utf-8")
    assert "<svg" in html and "hybrid" in html and "<script" not in html
    assert "&lt;b&gt;lamp&lt;/b&gt;" in html and "<b>lamp</b>" not in html  # document HTML is escaped


def test_a_stopped_run_resumes_without_redoing_records(environment, tmp_path):
    out = tmp_path / "run"
    configs = parse_configs(CONFIGS)
    run = iter(EvalRun(QUESTIONS, configs, out, environment=environment))
    first = [next(run), next(run)]
    run.close()  # stop iterating: the run is cancelled
    assert [e.done for e in first] == [1, 2]
    kept = read_jsonl(out / "records.jsonl")
    assert len(kept) == 2 and not (out / "summary.json").exists()
    with open(out / "records.jsonl", "ab") as handle:  # a kill in the middle of the third line
        handle.write(json.dumps(kept[0])[:40].encode())

    events = run_all(EvalRun(QUESTIONS, configs, out, environment=environment))
    answered = [(e.config, e.question_id) for e in events if e.phase == "answer"]
    assert answered == [("off", "q3"), ("hybrid", "q1"), ("hybrid", "q2"), ("hybrid", "q3")]
    records = read_jsonl(out / "records.jsonl")
    assert len(records) == 6 and len({(r["config"], r["question_id"]) for r in records}) == 6
    assert records[0]["answer"] == kept[0]["answer"] and records[1]["answer"] == kept[1]["answer"]
    assert json.loads((out / "summary.json").read_text())["hybrid"]["n"] == 3

    again = run_all(EvalRun(QUESTIONS, configs, out, environment=environment))  # all done: nothing redone
    assert [e.phase for e in again] == ["done"]


def test_resuming_with_other_inputs_is_refused_unless_allowed(environment, tmp_path):
    out = tmp_path / "run"
    configs = parse_configs(CONFIGS[:1])
    run_all(EvalRun(QUESTIONS[:1], configs, out, environment=environment))
    changed = [*QUESTIONS[:1], QUESTIONS[2]]
    with pytest.raises(EvaluationError, match="different question set"):
        run_all(EvalRun(changed, configs, out, environment=environment))
    events = run_all(EvalRun(changed, configs, out, environment=environment, allow_changes=True))
    assert [e.question_id for e in events if e.phase == "answer"] == ["q3"]  # q1 is kept


def test_quotes_and_retrieval_only_answers(environment, tmp_path):
    out = tmp_path / "run"
    configs = parse_configs([
        {"name": "quotes", "collections": ["docs"], "k": 2, "answer": "quotes"},
        {"name": "retrieve", "collections": ["docs"], "k": 2, "answer": "none", "retrieval": "fulltext"},
    ])
    run_all(EvalRun(QUESTIONS[:2], configs, out, environment=environment))
    records = read_jsonl(out / "records.jsonl")
    quotes, retrieve = records[0], records[2]
    assert "12 to 16 hours" in quotes["answer"] and "[1]" in quotes["answer"]  # an extractive answer
    assert quotes["timings"]["first_token_s"] is None  # no model answered
    assert retrieve["answer"] is None and retrieve["contexts"][0]["path"].endswith("sourdough.md")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["retrieve"]["faithfulness"] is None and summary["retrieve"]["hit@k"] == 1.0


def test_a_failing_configuration_is_recorded_and_the_run_goes_on(environment, tmp_path):
    out = tmp_path / "run"
    configs = parse_configs([{"name": "base", "retrieval": "off", "max_tokens": 8},
                             {"name": "typo", "collections": ["no-such-collection"], "max_tokens": 8}])
    events = run_all(EvalRun(QUESTIONS[:1], configs, out, environment=environment))
    assert events[-1].phase == "done"
    records = read_jsonl(out / "records.jsonl")
    assert records[0]["error"] is None
    assert "no-such-collection" in records[1]["error"] and "docs" in records[1]["error"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["typo"]["errors"] == 1
    assert "1 failed" in summary_table(load_run(out))


# --------------------------------------------------------------------------- test-set drafts
def test_drafts_from_a_collection_have_sources_and_supported_references(host):
    from knowledge.evaluation.testset import generate_questions, support_ratio

    library = Library()
    try:
        events = list(generate_questions(library, host, "docs", n=1, seed=0))
    finally:
        library.close()
    assert events[-1].phase == "done" and all(e.eta_s is not None for e in events)
    drafts = events[-1].questions
    assert drafts, "the bundled model drafts at least one usable question from three plain passages"
    for draft in drafts:
        assert draft.extra["draft"] is True and draft.question and draft.reference
        assert len(draft.sources) == 1 and draft.sources[0].file in DOCS
        assert support_ratio(draft.reference, DOCS[draft.sources[0].file]) >= 0.8
    assert len({d.question for d in drafts}) == len(drafts)


def test_the_support_filter_and_the_draft_parser():
    from knowledge.evaluation.testset import parse_draft, support_ratio

    passage = DOCS["kettle.md"]
    assert support_ratio("every four weeks", passage) == 1.0
    assert support_ratio("every two months with lemon juice", passage) < 0.8
    assert support_ratio("", passage) == 0.0
    assert support_ratio("每四周", "每四周用白醋除垢") == 1.0
    assert parse_draft("**Question:** How often?\n**Answer:** every four weeks") == ("How often?", "every four weeks")
    assert parse_draft("1. Question: What is descaled?\n2. Answer: \"the kettle\"") == ("What is descaled?", "the kettle")
    assert parse_draft("问题：水壶多久除垢一次？\n答案：每四周") == ("水壶多久除垢一次？", "每四周")
    assert parse_draft("The kettle holds 1.7 litres.") is None
    assert parse_draft("Question: Why?\nAnswer: yes") is None  # too short to be a real question


def test_an_answer_that_repeats_the_question_is_not_a_reference():
    from knowledge.evaluation.testset import Passage, usable

    passage = Passage("kettle.md", DOCS["kettle.md"])
    assert usable(("How often is the kettle descaled?", "every four weeks"), passage)
    assert not usable(("How often is the kettle descaled?", "How often is the kettle descaled"), passage)
    assert not usable(("How often is the kettle descaled?", "once a year"), passage)


def test_the_llm_judge_path_checks_the_judge_first_and_labels_every_value(environment, tmp_path):
    """The bundled 135M model as the judge: checked on 4 labelled cases, then judging one record."""
    out = tmp_path / "run"
    configs = parse_configs([{"name": "hybrid", "collections": ["docs"], "k": 1, "max_tokens": 16}])
    events = run_all(EvalRun(QUESTIONS[:1], configs, out, environment=environment, judge_model="smollm2",
                             judge_check_limit=4))
    notes = [e.message for e in events if e.message]
    assert any("judge llm:smollm2: accuracy" in note for note in notes)
    assert environment.loads == [None, "smollm2"]  # answer model first, then the judge, once each
    check = json.loads((out / "judge_check.json").read_text())
    assert check["judge"] == "llm:smollm2" and check["n"] == 4
    record = read_jsonl(out / "records.jsonl")[0]
    assert record["metrics"]["faithfulness"]["judged_by"] in ("llm:smollm2", "judge-free")
    assert record["metrics"]["faithfulness:judge-free"]["judged_by"] == "judge-free"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["_judge_check"]["n"] == 4
    entry = summary["hybrid"]
    if check["trustworthy"]:
        assert entry["judge"] == "llm:smollm2"
    else:  # the table keeps the judge-free values and says why
        assert entry["judge"] == "judge-free" and "too weak to trust" in entry["judge_warning"]
        assert entry["faithfulness"] == record["metrics"]["faithfulness:judge-free"]["value"]
        assert "too weak to trust" in summary_table(load_run(out))
