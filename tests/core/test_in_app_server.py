"""The window's local server without the window: ``InAppServer`` on a real model host (the bundled SmolLM2 in
an in-process ``ModelHost``), called with the official ``openai`` client and httpx; its request log."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import openai
import pytest

from desktop_app.server.in_app import InAppServer
from desktop_app.server.request_log import LoggedRequest, RequestLog
from desktop_app.server.run import ServeError
from engine.chat.history import HistoryStore
from engine.host import ModelHost
from knowledge.library import Library
from tests.support.serve_helpers import port_is_free

MODEL = "smollm2-135m-instruct"
KEY = "sk-in-app-0123456789"
HELLO = [{"role": "user", "content": "Say hello."}]


@pytest.fixture
def serving(host, data_home):
    store, library, log = HistoryStore(), Library(), RequestLog(size=5)
    server = InAppServer(host, store, log)
    server.set_model_names([MODEL, "smollm2"])
    yield server, library, log
    server.stop()
    library.close()
    store.close()


def logged(log: RequestLog, count: int, timeout_s: float = 10.0) -> list[LoggedRequest]:
    deadline = time.monotonic() + timeout_s
    while len(log) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return log.entries()


def test_serves_logs_and_stops(serving):
    server, library, log = serving
    url = server.start("127.0.0.1", 0, KEY, library)
    assert server.running and url == f"http://127.0.0.1:{server.port}/v1"
    client = openai.OpenAI(base_url=url, api_key=KEY, timeout=60)
    whole = client.chat.completions.create(model="smollm2", messages=HELLO, max_tokens=5, temperature=0)
    assert whole.model == MODEL and whole.choices[0].message.content
    parts = [c.choices[0].delta.content or "" for c in client.chat.completions.create(
        model=MODEL, messages=HELLO, max_tokens=5, temperature=0, stream=True) if c.choices]
    assert "".join(parts) == whole.choices[0].message.content  # greedy: the same reply both ways
    assert httpx.get(url + "/models").status_code == 401  # no key
    lora = httpx.post(url + "/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                      json={"messages": HELLO, "lora": [{"name": "any", "scale": 1}]})
    assert lora.status_code == 400 and "styles of the window" in lora.json()["error"]["message"]

    entries = logged(log, 4)  # a request is logged once its response has gone out: the client may be first
    assert [(e.method, e.path, e.status) for e in entries] == [
        ("POST", "/v1/chat/completions", 400), ("GET", "/v1/models", 401), ("POST", "/v1/chat/completions", 200),
        ("POST", "/v1/chat/completions", 200)]
    streamed, first = entries[2], entries[3]
    for entry in (streamed, first):
        assert entry.model == MODEL and entry.completion_tokens == whole.usage.completion_tokens
        assert entry.prompt_tokens == whole.usage.prompt_tokens and entry.duration_ms > 0
    assert first.tokens == f"{whole.usage.prompt_tokens} → {whole.usage.completion_tokens}"
    assert entries[1].model is None and entries[1].tokens == ""

    port = server.port
    server.stop()
    assert not server.running and port_is_free(port)


def test_the_model_changes_with_the_window_and_no_model_is_a_503(serving, smollm2_path):
    server, library, _log = serving
    empty = ModelHost()  # nothing loaded yet, as in a window just opened
    try:
        bare = InAppServer(empty, serving[0].store, RequestLog())
        url = bare.start("127.0.0.1", 0, None, library)
        refused = httpx.post(url + "/chat/completions", json={"messages": HELLO})
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "model_not_loaded"
        bare.set_model_names(["renamed"])
        assert [m["id"] for m in httpx.get(url + "/models").json()["data"]][0] == "renamed"
        bare.stop()
    finally:
        empty.close()


def test_refusals_say_what_to_do(serving):
    server, library, _log = serving
    with pytest.raises(ServeError, match="--api-key|API key"):
        server.start("0.0.0.0", 0, None, library)
    with pytest.raises(ServeError, match="too short"):
        server.start("127.0.0.1", 0, "short", library)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(ServeError, match="already in use.*another port"):
            server.start("127.0.0.1", busy.getsockname()[1], None, library)
    with pytest.raises(ServeError, match="not an address of this machine"):
        server.start("no-such-host.invalid", 8080, KEY, library)
    assert not server.running


def test_the_log_is_bounded_newest_first_and_thread_safe():
    log = RequestLog(size=50)

    def record(worker: int) -> None:
        for i in range(200):
            log.record(LoggedRequest(at=float(i), method="GET", path=f"/{worker}/{i}", status=200, duration_ms=1))

    threads = [threading.Thread(target=record, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(log) == 50 and log.version == 800
    last = log.entries()[0]
    assert last.path.endswith("/199")  # the newest first: some worker's last request
    log.clear()
    assert log.entries() == [] and log.version == 801
