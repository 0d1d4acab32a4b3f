"""Structured output: JSON schemas become llama.cpp grammars, and replies made under them parse.

The grammar tests use the real SmolLM2 in an in-process host (the shared ``host`` fixture); the server's
end-to-end checks are in test_serve.py.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from desktop_app.server.run import ServeError, check_exposure, is_loopback
from desktop_app.server.tools import parse_tool_choice, parse_tools, read_reply
from engine.params import SamplingParams
from engine.structured import (
    StructuredOutputError,
    json_object_grammar,
    json_schema_grammar,
    load_schema_file,
)

SCHEMA = {"type": "object", "required": ["title", "tags", "done"],
          "properties": {"title": {"type": "string", "maxLength": 30},
                         "tags": {"type": "array", "items": {"type": "string", "maxLength": 12}, "maxItems": 3},
                         "done": {"type": "boolean"}}}


def _matches(data) -> bool:
    return (isinstance(data, dict) and set(data) <= {"title", "tags", "done"} and {"title", "tags", "done"} <= set(data)
            and isinstance(data["title"], str) and len(data["title"]) <= 30 and isinstance(data["done"], bool)
            and isinstance(data["tags"], list) and len(data["tags"]) <= 3
            and all(isinstance(t, str) and len(t) <= 12 for t in data["tags"]))


def test_schemas_become_grammars_and_bad_ones_say_why(tmp_path):
    grammar = json_schema_grammar(SCHEMA)
    assert "root ::=" in grammar and '\\x00-\\x1F' in grammar  # raw control characters are not JSON
    assert json_schema_grammar(json.dumps(SCHEMA)) == grammar
    assert "root   ::= object" in json_object_grammar()
    for bad, words in (({"type": "wizard"}, "cannot be turned into a grammar"), ("{nope", "not valid JSON"),
                       ([1, 2], "must be a JSON object")):
        with pytest.raises(StructuredOutputError, match=words):
            json_schema_grammar(bad)
    with pytest.raises(StructuredOutputError, match="Cannot read"):
        load_schema_file(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    with pytest.raises(StructuredOutputError, match="not valid JSON"):
        load_schema_file(tmp_path / "broken.json")
    (tmp_path / "ok.json").write_text(json.dumps(SCHEMA), encoding="utf-8")
    assert load_schema_file(tmp_path / "ok.json") == SCHEMA


def test_making_a_grammar_does_not_load_llama_cpp():
    code = ("import sys, engine.structured as s; s.json_schema_grammar({'type': 'object'}); "
            "s.json_object_grammar(); print('llama_cpp' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.slow
def test_replies_under_a_schema_grammar_always_parse(host):
    grammar = json_schema_grammar(SCHEMA)
    question = [{"role": "user", "content": "Describe a task as JSON with a title, tags and whether it is done."}]
    for seed in range(5):
        finished = host.chat(question, SamplingParams(temperature=1.2, seed=seed, max_tokens=100,
                                                      grammar=grammar)).wait()
        assert finished.reason == "stop", finished
        assert _matches(json.loads(finished.text)), finished.text


@pytest.mark.slow
def test_a_grammar_llama_cpp_cannot_parse_is_an_error_not_a_crash(host):
    finished = host.chat([{"role": "user", "content": "Hi"}], SamplingParams(max_tokens=4, grammar="root ::= (")).wait()
    assert finished.reason == "error" and "could not parse the output grammar" in finished.error
    assert host.chat([{"role": "user", "content": "Hi"}], SamplingParams.greedy(max_tokens=2)).wait().reason != "error"


def test_tool_definitions_are_checked_and_replies_read():
    tools = parse_tools([{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}])
    assert parse_tool_choice(None, tools) == "auto"
    assert parse_tool_choice({"type": "function", "function": {"name": "add"}}, tools) == "add"
    for bad in ([{"type": "function", "function": {"name": "bad name!"}}], [{"type": "retrieval"}], "x"):
        with pytest.raises(Exception, match="tools"):
            parse_tools(bad)
    content, calls = read_reply('{"name": "add", "arguments": {"a": 1}}')
    assert content is None and calls[0]["function"] == {"name": "add", "arguments": '{"a": 1}'}
    assert read_reply('{"content": "Hello"}') == ("Hello", [])
    assert read_reply('{"name": "ad') == ('{"name": "ad', [])  # cut short by max_tokens: left as text


def test_only_loopback_is_served_without_a_key():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("myhost")
    check_exposure("127.0.0.1", None)
    check_exposure("0.0.0.0", "a-long-enough-key")
    with pytest.raises(ServeError, match="--api-key"):
        check_exposure("0.0.0.0", None)
    with pytest.raises(ServeError, match="too short"):
        check_exposure("127.0.0.1", "abc")
    refused = subprocess.run([sys.executable, "-m", "desktop_app.cli", "serve", "--host", "0.0.0.0"],
                             capture_output=True, text=True, timeout=60, env={**__import__("os").environ,
                                                                              "INGLENOOK_API_KEY": ""})
    assert refused.returncode == 2 and "--api-key" in refused.stderr


def _nook(*args: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "desktop_app.cli", *args], capture_output=True, text=True,
                          timeout=180, env=os.environ.copy())


@pytest.mark.slow
def test_ask_with_a_json_schema_and_the_strict_json_preset(tmp_path):
    schema = tmp_path / "task.json"
    schema.write_text(json.dumps(SCHEMA), encoding="utf-8")
    asked = _nook("ask", "Describe a task.", "--json-schema", str(schema), "--json", "--max-tokens", "100",
                  "--temperature", "1.0", "--seed", "3")
    assert asked.returncode == 0, asked.stderr
    assert _matches(json.loads(json.loads(asked.stdout)["answer"]))
    preset = _nook("ask", "Name a colour and a number.", "--preset", "json-output", "--json", "--max-tokens", "80")
    assert preset.returncode == 0, preset.stderr
    assert isinstance(json.loads(json.loads(preset.stdout)["answer"]), dict)
    (tmp_path / "bad.json").write_text('{"type": "wizard"}', encoding="utf-8")
    bad = _nook("ask", "Hi", "--json-schema", str(tmp_path / "bad.json"))
    assert bad.returncode == 2 and "cannot be turned into a grammar" in bad.stderr


def test_the_json_preset_brings_its_grammar_and_takes_it_away(tmp_path):
    from engine.chat.history import HistoryStore
    from engine.chat.presets import get_preset
    from engine.chat.session import ChatSession

    assert get_preset("json-output").sampling_params()["grammar"] == json_object_grammar()
    assert get_preset("concise").sampling_params()["grammar"] is None
    store = HistoryStore()

    class NoModel:
        loaded = None

    session = ChatSession(NoModel(), store, preset="json-output")
    assert session.params.grammar == json_object_grammar()
    session.set_preset(None)
    assert session.params.grammar is None
    session.set_params(grammar=json_schema_grammar(SCHEMA))
    session.set_preset(None)
    assert session.params.grammar == json_schema_grammar(SCHEMA)  # one's own schema stays
    session.set_preset("concise")
    assert session.params.grammar is None
    store.close()
