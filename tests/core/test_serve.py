"""`nook serve` as a client sees it: the official openai client against a real server process, the real
SmolLM2 model in its engine process, a real LoRA adapter and a real indexed collection.

One server for the module (API key on, so every call also proves the key works); replies are kept short.
"""

from __future__ import annotations

import json
import random
import threading
import time

import httpx
import openai
import pytest

from engine.chat.history import HistoryStore
from engine.lora.adapters import LoraRegistry
from engine.models.gguf import read_gguf
from knowledge.library import Library
from tests.support.doc_factory import make_pdf
from tests.support.lora_helpers import random_adapter
from tests.support.serve_helpers import nook_serve

pytestmark = pytest.mark.slow

KEY = "sk-test-0123456789abcdef"
GREEDY = {"temperature": 0, "seed": 1}
LONG_PROMPT = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,"  # the model counts on and on: a reply of ~20 s at 1500 tokens
PERSON = {"type": "object", "additionalProperties": False, "required": ["name", "age", "colour"],
          "properties": {"name": {"type": "string", "maxLength": 24}, "age": {"type": "integer"},
                         "colour": {"enum": ["red", "green", "blue"]}}}
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 40}},
                   "required": ["city"]}}}


def _prepare_home(home, docs, smollm2_path) -> None:
    """A registered LoRA adapter ("strong") and an indexed collection ("docs": Markdown and a PDF)."""
    (docs / "lighthouse.md").write_text(
        "# Brightwater lighthouse\n\nThe Brightwater lighthouse keeper is Ada Quillfeather. She climbs the "
        "212 steps every evening to light the lamp.\n", encoding="utf-8")
    make_pdf(docs / "boiler.pdf", ["Boiler manual, introduction.",
                                   "Safety: the boiler pressure must always stay below 42 bar."])
    adapter = random_adapter(home / "strong.gguf", read_gguf(smollm2_path), seed=7, std=0.4)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INGLENOOK_HOME", str(home))
        store = HistoryStore()
        LoraRegistry(store.db).add(adapter, name="strong")
        store.close()
        library = Library()
        library.create("docs", [docs])
        library.index("docs")
        library.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory, smollm2_path):
    home = tmp_path_factory.mktemp("serve-home")
    _prepare_home(home, tmp_path_factory.mktemp("serve-docs"), smollm2_path)
    with nook_serve(home, "--ctx", "2048", "--threads", "2", "--max-queue", "2", "--max-tokens", "32",
                    "--max-body-mb", "1", api_key=KEY) as (url, proc):
        yield url, proc


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server[0], api_key=KEY, timeout=120, max_retries=0)


def _raw(server, method: str, path: str, timeout: float = 120, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {KEY}", **kwargs.pop("headers", {})}
    return httpx.request(method, server[0] + path, headers=headers, timeout=timeout, **kwargs)


def _ask(client, text: str, **kwargs):
    return client.chat.completions.create(model="smollm2-135m-instruct",
                                          messages=[{"role": "user", "content": text}], **kwargs)


def test_models_are_listed(client):
    ids = [m.id for m in client.models.list()]
    assert ids == ["smollm2-135m-instruct", "all-minilm-l6-v2-int8"]
    assert client.models.retrieve("smollm2-135m-instruct").owned_by == "inglenook"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_whole_and_streamed_replies_are_the_same_tokens(client):
    whole = _ask(client, "Name a fruit.", max_tokens=16, **GREEDY)
    assert whole.choices[0].message.role == "assistant" and whole.choices[0].message.content
    assert whole.usage.completion_tokens <= 16 and whole.usage.prompt_tokens > 5
    chunks = list(_ask(client, "Name a fruit.", max_tokens=16, stream=True,
                       stream_options={"include_usage": True}, **GREEDY))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert chunks[-2].choices[0].finish_reason == whole.choices[0].finish_reason
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def test_sampling_options_reach_the_model(client):
    short = _ask(client, "Count from one to twenty in words.", max_tokens=3, **GREEDY)
    assert short.choices[0].finish_reason == "length" and short.usage.completion_tokens == 3
    full = _ask(client, "Tell me about the sea.", max_tokens=24, **GREEDY).choices[0].message.content
    word = full.split()[4]
    stopped = _ask(client, "Tell me about the sea.", max_tokens=24, stop=[word], **GREEDY)
    assert stopped.choices[0].message.content == full[: full.index(word)]
    assert stopped.choices[0].finish_reason == "stop"
    seeded = [_ask(client, "Tell me a word.", max_tokens=8, temperature=1.0, top_p=0.9, seed=42)
              .choices[0].message.content for _ in range(3)]
    assert seeded[1] == seeded[2]  # from the same cache state (a cached prefix changes logits in the last bits)


def _is_person(data) -> bool:
    return (isinstance(data, dict) and set(data) == {"name", "age", "colour"} and isinstance(data["name"], str)
            and len(data["name"]) <= 24 and isinstance(data["age"], int) and data["colour"] in ("red", "green", "blue"))


def test_json_schema_replies_parse_and_match(client):
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON, "strict": True}}
    for seed in range(5):
        reply = _ask(client, "Describe a person.", response_format=fmt, max_tokens=60, temperature=1.0, seed=seed)
        assert _is_person(json.loads(reply.choices[0].message.content)), reply.choices[0].message.content
    streamed = _ask(client, "Describe a person.", response_format=fmt, max_tokens=60, stream=True, seed=9)
    assert _is_person(json.loads("".join(c.choices[0].delta.content or "" for c in streamed if c.choices)))
    anything = _ask(client, "Give the name and the capital of Japan as JSON.", max_tokens=100,
                    response_format={"type": "json_object"}, **GREEDY)
    assert isinstance(json.loads(anything.choices[0].message.content), dict)
    bad = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "string", "pattern": "(("}}}
    with pytest.raises(openai.BadRequestError, match="cannot be turned into a grammar"):
        _ask(client, "Hi", response_format=bad)


def test_a_tool_call_and_its_result(client):
    reply = _ask(client, "What is the weather in Paris?", tools=[WEATHER], tool_choice="required", max_tokens=40,
                 **GREEDY)
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    call = choice.message.tool_calls[0]
    assert call.function.name == "get_weather" and isinstance(json.loads(call.function.arguments)["city"], str)
    follow = client.chat.completions.create(model="smollm2-135m-instruct", max_tokens=20, tools=[WEATHER],
                                            tool_choice="none", messages=[
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 24 degrees"}], **GREEDY)
    assert follow.choices[0].finish_reason in ("stop", "length") and follow.choices[0].message.content
    streamed = list(_ask(client, "Weather in Rome?", tools=[WEATHER], max_tokens=40, stream=True,
                         tool_choice={"type": "function", "function": {"name": "get_weather"}}, **GREEDY))
    calls = [c.choices[0].delta.tool_calls for c in streamed if c.choices and c.choices[0].delta.tool_calls]
    assert calls and calls[0][0].function.name == "get_weather" and streamed[-1].choices[0].finish_reason == "tool_calls"


def test_plain_completions(client):
    whole = client.completions.create(model="smollm2-135m-instruct", prompt="The capital of France is",
                                      max_tokens=6, **GREEDY)
    assert whole.object == "text_completion" and whole.choices[0].text.strip()
    streamed = client.completions.create(model="smollm2-135m-instruct", prompt="The capital of France is",
                                         max_tokens=6, stream=True, **GREEDY)
    assert "".join(c.choices[0].text for c in streamed) == whole.choices[0].text


def test_embeddings_are_the_collection_embedder(client, server):
    from knowledge.embeddings import get_embedder

    result = client.embeddings.create(model="all-minilm-l6-v2-int8", input=["a lighthouse", "a boiler"])
    assert [d.index for d in result.data] == [0, 1] and len(result.data[0].embedding) == 384
    expected = get_embedder().embed_passages(["a lighthouse"])[0]
    assert max(abs(a - b) for a, b in zip(result.data[0].embedding, expected, strict=True)) < 1e-5
    as_floats = _raw(server, "POST", "/embeddings", json={"input": "a lighthouse", "encoding_format": "float"})
    assert as_floats.json()["data"][0]["embedding"][:3] == pytest.approx(list(expected[:3]), abs=1e-5)
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="all-minilm-l6-v2-int8", input="x", dimensions=128)


def test_lora_styles_per_request(client):
    base = _ask(client, "Say hello.", max_tokens=12, **GREEDY).choices[0].message.content
    styled = _ask(client, "Say hello.", max_tokens=12, extra_body={"lora": [{"name": "strong", "scale": 1.0}]},
                  **GREEDY)
    assert styled.choices[0].message.content != base
    assert styled.model_extra["lora"] == [{"name": "strong", "scale": 1.0}]
    assert _ask(client, "Say hello.", max_tokens=12, **GREEDY).choices[0].message.content == base
    with pytest.raises(openai.NotFoundError, match="nothing-here"):
        _ask(client, "Hi", extra_body={"lora": [{"name": "nothing-here"}]})


def test_answers_from_collections_cite_file_and_page(client):
    reply = _ask(client, "What is the maximum boiler pressure in bar?", max_tokens=24,
                 extra_body={"collections": ["docs"]}, **GREEDY)
    sources = reply.model_extra["sources"]
    pdf = [s for s in sources if s["path"].endswith("boiler.pdf")]
    assert pdf and pdf[0]["page"] == 2 and pdf[0]["n"] >= 1
    streamed = list(_ask(client, "Who keeps the Brightwater lighthouse?", max_tokens=16, stream=True,
                         extra_body={"collections": ["docs"]}, **GREEDY))
    assert any(s["path"].endswith("lighthouse.md") for s in streamed[0].model_extra["sources"])
    strict = _ask(client, "zyxwv qqq?", extra_body={"collections": ["docs"], "strict": True}, max_tokens=8)
    assert strict.model_extra["sources"] == [] and "could not find" in strict.choices[0].message.content
    with pytest.raises(openai.NotFoundError):
        _ask(client, "Hi", extra_body={"collections": ["no-such-collection"]})


def test_keys_bodies_and_shapes_of_errors(server):
    url = server[0]
    for headers in ({}, {"Authorization": "Bearer wrong-key-000"}, {"Authorization": KEY}):
        response = httpx.get(url + "/models", headers=headers)
        assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=url, api_key="sk-wrong", max_retries=0).models.list()
    malformed = _raw(server, "POST", "/chat/completions", content=b'{"messages": [',
                     headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert set(malformed.json()["error"]) == {"message", "type", "param", "code"}
    typed = _raw(server, "POST", "/chat/completions", json={"messages": [{"role": "user", "content": "x"}],
                                                           "temperature": "hot"})
    assert typed.status_code == 400 and typed.json()["error"]["param"] == "temperature"
    unknown_model = _raw(server, "POST", "/chat/completions", json={"model": "gpt-4o", "messages": [
        {"role": "user", "content": "x"}]})
    assert unknown_model.status_code == 404 and unknown_model.json()["error"]["code"] == "model_not_found"
    big = b'{"messages": [{"role": "user", "content": "' + b"x" * (1024 * 1024 + 10) + b'"}]}'
    assert _raw(server, "POST", "/chat/completions", content=big).status_code == 413
    chunked = _raw(server, "POST", "/chat/completions", content=iter([big[:600_000], big[600_000:]]))
    assert chunked.status_code == 413 and chunked.json()["error"]["code"] == "request_too_large"
    assert _raw(server, "GET", "/chat/completions").status_code == 405
    assert _raw(server, "GET", "/nowhere").json()["error"]["code"] == "not_found"


def _long_stream(server, client_http: httpx.Client):
    body = {"prompt": LONG_PROMPT, "max_tokens": 1500, "stream": True, "temperature": 0}
    return client_http.stream("POST", server[0] + "/completions", json=body,
                              headers={"Authorization": f"Bearer {KEY}"}, timeout=120)


def test_a_client_leaving_mid_stream_stops_its_reply(server, client):
    with httpx.Client() as http, _long_stream(server, http) as response:
        lines = response.iter_lines()
        received = [next(lines) for _ in range(6)]
    assert any(line.startswith("data: ") for line in received)
    started = time.monotonic()
    reply = _ask(client, "Hi", max_tokens=4, **GREEDY)
    assert reply.choices[0].message.content and time.monotonic() - started < 8  # not behind 1500 tokens
    assert server[1].poll() is None


def test_a_client_giving_up_on_a_whole_reply_stops_it(server, client):
    body = {"prompt": LONG_PROMPT, "max_tokens": 1500, "temperature": 0}
    with pytest.raises(httpx.ReadTimeout):
        _raw(server, "POST", "/completions", json=body, timeout=1.5)
    started = time.monotonic()
    assert _ask(client, "Hi", max_tokens=4, **GREEDY).choices[0].message.content
    assert time.monotonic() - started < 8  # not queued behind 1500 tokens


def test_a_full_queue_answers_503(server, client):
    with httpx.Client() as http:
        streams = [_long_stream(server, http) for _ in range(3)]  # one runs, two wait (--max-queue 2)
        opened = [s.__enter__() for s in streams]
        try:
            assert all(r.status_code == 200 for r in opened)
            refused = _raw(server, "POST", "/chat/completions", json={"messages": [
                {"role": "user", "content": "x"}], "max_tokens": 2})
            assert refused.status_code == 503 and refused.json()["error"]["code"] == "queue_full"
        finally:
            for stream in streams:
                stream.__exit__(None, None, None)
    # the three left: their places are freed (the waiting ones without ever running)
    deadline = time.monotonic() + 10
    while (status := _raw(server, "POST", "/chat/completions", json={"messages": [
            {"role": "user", "content": "x"}], "max_tokens": 2}).status_code) == 503 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status == 200


def _garbage(rng: random.Random):
    """A malformed request body: random JSON of the wrong types and shapes, or not JSON at all."""
    values = [None, True, -1, 0, 3.5, 1e308, -1e308, "", "x" * 50, [], {}, [1, "a"], {"a": {"b": []}},
              "NaN", 2**70, [[[[[]]]]], {"role": "user"}, [{"role": "wizard", "content": 1}]]
    kind = rng.randrange(4)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
    if kind == 1:
        return json.dumps(rng.choice(values)).encode()
    if kind == 2:
        return b"[" * rng.randrange(1000, 100_000)
    fields = ["messages", "model", "temperature", "top_p", "max_tokens", "stop", "seed", "stream", "tools",
              "tool_choice", "response_format", "lora", "collections", "prompt", "input", "n", "stream_options",
              "encoding_format", "strict", "k", "dimensions"]
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    for name in rng.sample(fields, rng.randrange(1, 5)):
        body[name] = rng.choice(values)
    return json.dumps(body).encode()


def test_fuzzed_requests_never_crash_or_hang_it(server, client):
    rng = random.Random(1234)
    paths = ["/chat/completions", "/completions", "/embeddings"]
    statuses = {}
    with httpx.Client(headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as http:
        for _ in range(300):
            response = http.post(server[0] + rng.choice(paths), content=_garbage(rng),
                                 headers={"Content-Type": rng.choice(["application/json", "text/plain"])})
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            assert response.status_code < 500, response.text
            if response.status_code >= 400:
                assert set(response.json()["error"]) == {"message", "type", "param", "code"}
    assert statuses.get(400, 0) > 150
    assert server[1].poll() is None
    assert _ask(client, "Hi", max_tokens=2).choices[0].message.content is not None


def test_concurrent_clients_are_served_in_turn(client):
    results: list = []

    def one(i: int) -> None:
        results.append(_ask(client, f"Say the number {i}.", max_tokens=6, **GREEDY).choices[0].message.content)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(results) == 3 and all(results)
