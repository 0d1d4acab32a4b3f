"""`nook eval run|report|generate` as a user runs them: real processes, the bundled model, a real index."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from functools import partial

import pytest

from tests.core.test_eval_run import DOCS
from tests.support.cli import run_nook

pytestmark = pytest.mark.slow

QUESTIONS = [
    {"id": "kettle", "question": "How often should the kettle be descaled?", "reference": "every four weeks",
     "sources": ["kettle.md"]},
    {"id": "light", "question": "When was the lighthouse built?", "reference": "1887", "sources": ["lighthouse.md"]},
]
CONFIGS = [
    {"name": "off", "retrieval": "off", "max_tokens": 24},
    {"name": "hybrid", "collections": ["docs"], "k": 2, "max_tokens": 24},
]


nook = partial(run_nook, timeout=600)


@pytest.fixture
def collection(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    assert nook("collections", "create", "docs", str(docs)).returncode == 0
    indexed = nook("index", "docs")
    assert indexed.returncode == 0, indexed.stderr
    return docs


@pytest.fixture
def inputs(tmp_path):
    questions = tmp_path / "set.jsonl"
    questions.write_text("\n".join(json.dumps(q) for q in QUESTIONS), encoding="utf-8")
    configs = tmp_path / "configs.json"
    configs.write_text(json.dumps(CONFIGS), encoding="utf-8")
    return questions, configs


def records(run_dir) -> list[dict]:
    path = run_dir / "records.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_run_stopped_with_ctrl_c_resumes_then_reports(collection, inputs, tmp_path):
    questions, configs = inputs
    out = tmp_path / "run"
    command = [sys.executable, "-m", "desktop_app.cli", "eval", "run", str(questions), "--configs", str(configs),
               "--out", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=os.environ.copy())
    deadline = time.monotonic() + 300
    while not records(out) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "run the same command again" in stderr
    stopped_at = records(out)
    assert 1 <= len(stopped_at) < 4 and not (out / "summary.json").exists()

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=600, env=os.environ.copy())
    assert resumed.returncode == 0, resumed.stderr
    assert "ETA" in resumed.stderr and f"answer {len(stopped_at) + 1}/4" in resumed.stderr
    final = records(out)
    assert len(final) == 4 and len({(r["config"], r["question_id"]) for r in final}) == 4
    assert final[0]["answer"] == stopped_at[0]["answer"]  # kept, not answered again
    assert "hybrid vs off" in resumed.stdout and resumed.stdout.splitlines()[0].startswith("config")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["hybrid"]["hit@k"] == 1.0 and summary["off"]["hit@k"] is None
    assert (out / "report.html").exists()

    report = nook("eval", "report", str(out), "--html", str(tmp_path / "elsewhere.html"))
    assert report.returncode == 0, report.stderr
    assert report.stdout == resumed.stdout
    assert "<svg" in (tmp_path / "elsewhere.html").read_text(encoding="utf-8")


def test_bad_inputs_fail_fast_with_the_reason(inputs, tmp_path):
    questions, _ = inputs
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"name": "a", "retrieval": "bm25"}]), encoding="utf-8")
    result = nook("eval", "run", str(questions), "--configs", str(bad), "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    assert "valid values: off, vector, fulltext, hybrid" in result.stderr and "Loaded" not in result.stderr
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"question": "fine"}\n{"nope": 1}\n', encoding="utf-8")
    result = nook("eval", "run", str(broken), "--configs", str(bad), "--out", str(tmp_path / "run"))
    assert result.returncode == 2 and "line 2:" in result.stderr
    missing = nook("eval", "report", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "not an evaluation run" in missing.stderr


def test_generate_drafts_a_question_set(collection, tmp_path):
    out = tmp_path / "drafts.jsonl"
    result = nook("eval", "generate", "docs", "--out", str(out), "-n", "1")
    assert result.returncode == 0, result.stderr
    drafts = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(drafts) == 1 and drafts[0]["extra"]["draft"] is True
    assert drafts[0]["sources"][0]["file"] in DOCS and drafts[0]["reference"]
    unknown = nook("eval", "generate", "no-such", "--out", str(out))
    assert unknown.returncode == 2 and "docs" in unknown.stderr
