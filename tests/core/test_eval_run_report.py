"""Summaries, the text table and the HTML report, from hand-made records (no model needed)."""

from __future__ import annotations

import json
from types import SimpleNamespace

from knowledge.evaluation.configs import parse_configs
from knowledge.evaluation.questions import EvalQuestion
from knowledge.evaluation.records import append_jsonl, write_json_atomic
from knowledge.evaluation.report import comparison_line, load_run, marked_answer, summary_table, write_html
from knowledge.evaluation.summary import summarize

QUESTIONS = [EvalQuestion(f"q{i}", f"Question {i} <script>alert(1)</script>?", "ref") for i in range(1, 6)]
CONFIGS = parse_configs([{"name": "off", "retrieval": "off"}, {"name": "hybrid", "collections": ["docs"]}])


def metric(value, judged_by="judge-free", **detail):
    return {"value": value, "judged_by": judged_by, "detail": detail}


def record(config: str, qid: str, faith: float | None, **more) -> dict:
    metrics = {"faithfulness": metric(faith), "answer_correctness": metric(0.5),
               "hit@k": metric(None if config == "off" else 1.0)}
    metrics.update(more)
    return {"config": config, "question_id": qid, "question": qid, "answer": f"Answer <i>{qid}</i>. Made up.",
            "contexts": [] if config == "off" else [{"n": 1, "path": "/d/a.md", "page": 2, "heading": "H",
                                                     "text": "Passage with <img src=x onerror=alert(1)>"}],
            "metrics": metrics, "timings": {"first_token_s": 0.5, "total_s": 1.0}, "finish_reason": "stop",
            "error": None}


def make_run(tmp_path, records, agreement=None, judge_name=None):
    out = tmp_path / "run"
    out.mkdir()
    write_json_atomic(out / "run.json", {"questions": [q.as_dict() for q in QUESTIONS],
                                          "configs": [c.as_dict() for c in CONFIGS]})
    for item in records:
        append_jsonl(out / "records.jsonl", item)
    write_json_atomic(out / "summary.json", summarize(records, CONFIGS, QUESTIONS, judge_name=judge_name,
                                                      agreement=agreement))
    return out


def test_summary_means_intervals_and_paired_comparison(tmp_path):
    records = [record("off", q.id, 0.0) for q in QUESTIONS] + [record("hybrid", q.id, 1.0) for q in QUESTIONS]
    summary = json.loads((make_run(tmp_path, records) / "summary.json").read_text())
    assert summary["off"]["faithfulness"] == 0.0 and summary["hybrid"]["faithfulness"] == 1.0
    assert summary["off"]["hit@k"] is None and summary["off"]["intervals"]["hit@k"] == [None, None]
    assert summary["hybrid"]["intervals"]["answer_correctness"] == [0.5, 0.5]
    assert summary["hybrid"]["n"] == 5 and summary["hybrid"]["judge"] == "judge-free"
    faith = next(c for c in summary["_comparisons"] if c["metric"] == "faithfulness")
    assert (faith["a"], faith["b"], faith["mean_diff"], faith["verdict"]) == ("hybrid", "off", 1.0, "a better")
    correct = next(c for c in summary["_comparisons"] if c["metric"] == "answer_correctness")
    assert correct["verdict"] == "no clear difference"
    assert comparison_line(faith) == "hybrid vs off: faithfulness +1.00 [+1.00, +1.00] — hybrid better (n=5)"


def test_table_lists_configs_metrics_and_comparisons(tmp_path):
    records = [record("off", q.id, 0.2 * i) for i, q in enumerate(QUESTIONS)] + \
              [record("hybrid", q.id, 1.0) for q in QUESTIONS]
    table = summary_table(load_run(make_run(tmp_path, records)))
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["config", "hit@k", "mrr"] and "answer_correctness" in lines[0]
    assert lines[2].startswith("off") and lines[3].startswith("hybrid")
    assert "0.40 [" in lines[2] and "1.00" in lines[3]
    assert "judge-free measures only" in table
    assert "hybrid vs off: faithfulness +0.60" in table and "hybrid better" in table


def test_a_weak_judge_is_reported_as_too_weak_and_the_table_keeps_judge_free_values(tmp_path):
    def judged(config, qid):
        return record(config, qid, 0.9, **{"faithfulness:judge-free": metric(0.25)})

    records = [judged(c.name, q.id) for c in CONFIGS for q in QUESTIONS]
    for item in records:
        item["metrics"]["faithfulness"]["judged_by"] = "llm:tiny"
    weak = SimpleNamespace(n=40, accuracy=0.55, kappa=0.05, trustworthy=False, message="too weak")
    result = load_run(make_run(tmp_path, records, agreement=weak, judge_name="llm:tiny"))
    entry = result.summary["hybrid"]
    assert entry["faithfulness"] == 0.25 and entry["llm_judged"]["faithfulness"] == 0.9
    assert entry["judge"] == "judge-free" and "too weak" in entry["judge_warning"]
    assert result.summary["_judge_check"]["accuracy"] == 0.55
    assert "too weak to trust" in summary_table(result)


def test_html_is_self_contained_escaped_and_marks_unsupported_sentences(tmp_path):
    statements = [{"statement": "Answer <i>q1</i>.", "supported": True},
                  {"statement": "Made up.", "supported": False}]
    records = [record("off", q.id, 0.5) for q in QUESTIONS] + \
              [record("hybrid", q.id, 0.5, **{"faithfulness": metric(0.5, statements=statements)})
               for q in QUESTIONS]
    path = write_html(load_run(make_run(tmp_path, records)), tmp_path / "r" / "report.html")
    html = path.read_text(encoding="utf-8")
    assert html.count("<svg") == 7 and "<script" not in html and "http" not in html.replace("http://www.w3.org", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img" not in html
    assert "<span class='unsupported' title='no source supports this'>Made up.</span>" in html
    assert "hybrid vs off" in html and "(baseline)" in html


def test_marking_finds_each_unsupported_sentence_once():
    metrics = {"faithfulness": metric(0.5, statements=[{"statement": "B.", "supported": False},
                                                       {"statement": "B.", "supported": False}])}
    assert marked_answer("A. B. B.", metrics).count("class='unsupported'") == 2
    assert marked_answer("x < y", {}) == "x &lt; y"


def test_an_unfinished_run_says_how_to_finish(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    write_json_atomic(out / "run.json", {"questions": [q.as_dict() for q in QUESTIONS],
                                          "configs": [c.as_dict() for c in CONFIGS]})
    append_jsonl(out / "records.jsonl", record("off", "q1", 0.5))
    result = load_run(out)
    assert not result.finished and len(result.records) == 1
    assert "has not finished (1 records so far)" in summary_table(result)
    assert "has not finished" in write_html(result).read_text(encoding="utf-8")


def test_another_baseline_is_compared_from_the_same_records(tmp_path):
    import pytest

    from knowledge.evaluation.records import EvaluationError

    records = [record("off", q.id, 0.0) for q in QUESTIONS] + [record("hybrid", q.id, 1.0) for q in QUESTIONS]
    out = make_run(tmp_path, records)
    result = load_run(out, baseline="hybrid")
    assert [c.name for c in result.configs] == ["hybrid", "off"]
    faith = next(c for c in result.comparisons if c["metric"] == "faithfulness")
    assert (faith["a"], faith["b"], faith["mean_diff"], faith["verdict"]) == ("off", "hybrid", -1.0, "b better")
    assert "off vs hybrid: faithfulness -1.00" in summary_table(result)
    assert json.loads((out / "summary.json").read_text())["_comparisons"][0]["b"] == "off"  # the file is unchanged
    with pytest.raises(EvaluationError, match="has off, hybrid"):
        load_run(out, baseline="nope")
