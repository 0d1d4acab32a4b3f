"""Question sets, configuration lists and the run's files: parsing, errors that say how to fix, no model."""

from __future__ import annotations

import json

import pytest

from engine.errors import InglenookError
from knowledge.evaluation.configs import EvalConfig, load_configs, parse_configs
from knowledge.evaluation.questions import EvalQuestion, load_questions, save_questions
from knowledge.evaluation.records import EvaluationError, append_jsonl, read_jsonl
from knowledge.evaluation.sample import GoldSource


def write(path, text: str | bytes):
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


# --------------------------------------------------------------------------- questions
def test_questions_with_defaults_sources_and_extra(tmp_path):
    path = write(tmp_path / "set.jsonl", "\n".join([
        json.dumps({"question": "How long does the dough proof?", "reference": "12 to 16 hours",
                    "sources": [{"file": "recipes/sourdough.md", "page": 2, "heading": "Proofing"}, "other.txt"]}),
        "",
        json.dumps({"id": 7, "question": "  Who won?  ", "lang": "en"}),
        json.dumps({"question": "第三个问题？", "sources": "zh/doc.md", "extra": {"draft": True}}),
    ]))
    questions = load_questions(path)
    assert [q.id for q in questions] == ["q1", "7", "q3"]
    assert questions[0].sources == [GoldSource("recipes/sourdough.md", 2, "Proofing"), GoldSource("other.txt")]
    assert questions[1].question == "Who won?" and questions[1].reference is None
    assert questions[1].extra == {"lang": "en"}
    assert questions[2].sources == [GoldSource("zh/doc.md")] and questions[2].extra == {"draft": True}


def test_the_repositorys_own_set_is_read_as_is():
    questions = load_questions("benchmarks/eval/questions.jsonl")
    assert len(questions) == 80 and len({q.id for q in questions}) == 80
    first = questions[0]
    assert (first.id, first.question, first.reference) == (
        "en01", "Article 14 bereavement leave", "five days of paid bereavement leave")
    assert first.sources == [GoldSource("en/hr-leave-policy.md")] and first.extra["lang"] == "en"
    assert sum(q.extra["lang"] == "zh" for q in questions) == 40


def test_save_and_load_round_trip(tmp_path):
    questions = [EvalQuestion("a", "Q <b>?", "ref", [GoldSource("x.md", 3, "H")], {"draft": True}),
                 EvalQuestion("b", "两个", None, [], {})]
    save_questions(tmp_path / "out" / "set.jsonl", questions)
    assert load_questions(tmp_path / "out" / "set.jsonl") == questions
    assert not list((tmp_path / "out").glob("*.tmp"))


def test_every_bad_line_is_named_with_how_to_fix_it(tmp_path):
    path = write(tmp_path / "bad.jsonl", "\n".join([
        json.dumps({"question": "fine"}),
        "{not json",
        json.dumps(["a list"]),
        json.dumps({"reference": "no question"}),
        json.dumps({"question": "x", "sources": [{"page": 2}]}),
        json.dumps({"question": "y", "sources": [{"file": "a.md", "page": 0}]}),
        json.dumps({"id": "q1", "question": "a repeated id"}),
    ]))
    with pytest.raises(EvaluationError) as caught:
        load_questions(path)
    message = str(caught.value)
    assert isinstance(caught.value, InglenookError)
    assert "6 problem(s)" in message
    for fragment in ("line 2: not JSON", "line 3: each line must be a JSON object", 'line 4: "question" is missing',
                     'line 5: each source needs a "file"', 'line 6: a source\'s "page" must be a page number',
                     "line 7: the id 'q1' is already used on line 1"):
        assert fragment in message


@pytest.mark.parametrize("content, expected", [
    (b"", "holds no questions"),
    (b"\n  \n", "holds no questions"),
    ('{"question": "ok"}\n{"question": "caf\xe9"}\n'.encode("latin-1"), "not UTF-8 text (line 2"),
])
def test_empty_and_non_utf8_files(tmp_path, content, expected):
    with pytest.raises(EvaluationError, match=expected.replace("(", r"\(")):
        load_questions(write(tmp_path / "set.jsonl", content))


def test_a_huge_or_missing_file_is_refused_without_reading_it(tmp_path, monkeypatch):
    import knowledge.evaluation.questions as questions

    monkeypatch.setattr(questions, "MAX_FILE_BYTES", 100)
    with pytest.raises(EvaluationError, match="Is it the right file"):
        load_questions(write(tmp_path / "big.jsonl", json.dumps({"question": "x" * 200})))
    with pytest.raises(EvaluationError, match="There is no question set"):
        load_questions(tmp_path / "missing.jsonl")


def test_a_utf8_bom_is_accepted(tmp_path):
    path = write(tmp_path / "bom.jsonl", b"\xef\xbb\xbf" + json.dumps({"question": "hi there"}).encode())
    assert load_questions(path)[0].question == "hi there"


# --------------------------------------------------------------------------- configs
def test_configs_take_defaults(tmp_path):
    path = write(tmp_path / "c.json", json.dumps([
        {"name": "off", "retrieval": "off"},
        {"name": "hybrid", "collections": ["docs"], "k": 3, "strict": True, "lora": [{"name": "style", "scale": 0.5}],
         "preset": "concise"},
    ]))
    off, hybrid = load_configs(path)
    assert off == EvalConfig(name="off", retrieval="off")
    assert (off.k, off.answer, off.rewrite, off.max_tokens, off.seed, off.uses_documents) == (5, "model", "off", 256, 0, False)
    assert hybrid.uses_documents and hybrid.lora == [{"name": "style", "scale": 0.5}] and hybrid.strict


@pytest.mark.parametrize("configs, fragments", [
    ([{"name": "a", "retreival": "off"}], ["unknown key(s) retreival", "valid keys: name, model"]),
    ([{"name": "a"}, {"name": "a"}], ["'a' is used more than once"]),
    ([{"name": "a", "retrieval": "bm25"}], ['"retrieval" is \'bm25\'', "valid values: off, vector, fulltext, hybrid"]),
    ([{"name": "a", "preset": "no-such"}], ["unknown preset 'no-such'", "concise"]),
    ([{"name": "a", "rewrite": "always"}], ["valid values: off, standalone, multi, hyde"]),
    ([{"name": "a", "answer": "quotes", "retrieval": "off"}], ['answer "quotes" works from retrieved passages']),
    ([{"name": "a", "k": 0}], ['"k" must be a whole number from 1 to 50']),
    ([{"name": "a", "lora": [{"name": "s", "scale": 3}]}], ["scale of 's' must be a number from 0 to 2"]),
    ([{"retrieval": "off"}], ['needs a "name"']),
    ({"name": "a"}, ["must be a JSON list of objects"]),
    ([], ["must be a JSON list of objects"]),
])
def test_bad_configs_are_refused_with_the_valid_values(configs, fragments):
    with pytest.raises(EvaluationError) as caught:
        parse_configs(configs)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_config_file_problems_name_the_file(tmp_path):
    with pytest.raises(EvaluationError, match="not valid JSON: .* line 1"):
        load_configs(write(tmp_path / "c.json", "[{"))
    with pytest.raises(EvaluationError, match="There is no configuration file"):
        load_configs(tmp_path / "none.json")


# --------------------------------------------------------------------------- records
def test_a_truncated_last_record_is_dropped_and_the_file_repaired(tmp_path):
    path = tmp_path / "records.jsonl"
    append_jsonl(path, {"config": "a", "question_id": "q1"})
    append_jsonl(path, {"config": "a", "question_id": "q2"})
    with open(path, "ab") as handle:
        handle.write(b'{"config": "a", "question_id": "q3", "ans')  # the write a kill cut short
    assert [r["question_id"] for r in read_jsonl(path)] == ["q1", "q2"]
    assert [r["question_id"] for r in read_jsonl(path, repair=True)] == ["q1", "q2"]
    append_jsonl(path, {"config": "a", "question_id": "q3"})
    assert [r["question_id"] for r in read_jsonl(path)] == ["q1", "q2", "q3"]


def test_a_complete_last_line_without_newline_gets_one(tmp_path):
    path = write(tmp_path / "records.jsonl", '{"question_id": "q1"}')
    assert len(read_jsonl(path, repair=True)) == 1
    append_jsonl(path, {"question_id": "q2"})
    assert [r["question_id"] for r in read_jsonl(path)] == ["q1", "q2"]


def test_damage_in_the_middle_is_an_error_not_silently_skipped(tmp_path):
    path = write(tmp_path / "records.jsonl", '{"a": 1}\n{broken\n{"a": 2}\n')
    with pytest.raises(EvaluationError, match="line 2 is damaged"):
        read_jsonl(path)
