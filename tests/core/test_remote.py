"""The remote runtime against real OpenAI-compatible servers: `nook serve` and llama-cpp-python's own server,
both on the real SmolLM2, plus a small status stand-in (a real uvicorn server that only answers errors) for
the 429/5xx/timeout messages no healthy server gives on demand.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from engine.events import Finished, TextDelta
from engine.host import ModelHost
from engine.params import LoadOptions, SamplingParams
from engine.runtimes.remote import (
    KEY_ENV,
    RemoteAuthError,
    RemoteBackend,
    RemoteError,
    RemoteKeyError,
    RemoteNotFoundError,
    RemoteRateLimitError,
    RemoteServerError,
    RemoteTarget,
    RemoteUnavailableError,
    remote_key,
    save_remote_key,
)
from tests.support.serve_helpers import free_port, nook_serve

pytestmark = pytest.mark.slow

KEY = "sk-remote-test-0123456789"
MODEL = "smollm2-135m-instruct"
QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="module")
def nook_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("remote-home")
    with nook_serve(home, "--ctx", "2048", "--threads", "1", api_key=KEY) as (url, _proc):
        yield url


@pytest.fixture(scope="module")
def llama_cpp_server(tmp_path_factory, smollm2_path):
    home = tmp_path_factory.mktemp("llama-cpp-server")
    command = [sys.executable, "-m", "tests.support.llama_cpp_server", "--model", str(smollm2_path),
               "--host", "127.0.0.1", "--port", "{port}", "--n_ctx", "2048", "--n_threads", "1"]
    with nook_serve(home, command=command) as (url, _proc):
        yield url


def _host(url: str, model: str | None = MODEL, key: str | None = KEY, **kwargs) -> ModelHost:
    host = ModelHost(RemoteBackend(RemoteTarget(url, model), api_key=key, **kwargs))
    host.load(f"remote:{url}", LoadOptions(n_ctx=2048)).result()
    return host


def _reply(host, params: SamplingParams, messages=QUESTION) -> Finished:
    return host.chat(messages, params).wait()


def test_a_nook_server_as_the_runtime(nook_server):
    host = _host(nook_server)
    try:
        assert host.loaded.name == MODEL and host.loaded.architecture == "remote"
        finished = _reply(host, SamplingParams.greedy(max_tokens=12))
        direct = httpx.post(nook_server + "/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                            json={"messages": QUESTION, "max_tokens": 12, "temperature": 0, "seed": 0}, timeout=60)
        assert finished.reason in ("stop", "length") and finished.text
        assert finished.text == direct.json()["choices"][0]["message"]["content"]
        assert finished.timings.completion_tokens == direct.json()["usage"]["completion_tokens"]
        stopped = _reply(host, SamplingParams.greedy(max_tokens=12, stop=[finished.text.split()[1]]))
        assert stopped.text == finished.text[: finished.text.index(finished.text.split()[1])]
    finally:
        host.close()


def test_cancelling_a_remote_reply_stops_it(nook_server):
    host = _host(nook_server)
    try:
        stream = host.chat([{"role": "user", "content": "Count from 1 to 500, separated by commas."}],
                           SamplingParams.greedy(max_tokens=1500))
        deltas = 0
        for event in stream:
            if isinstance(event, TextDelta):
                deltas += 1
                if deltas == 3:
                    stream.cancel()
        assert stream.finished.reason == "cancelled"
        started = time.monotonic()
        assert _reply(host, SamplingParams.greedy(max_tokens=4)).reason != "error"
        assert time.monotonic() - started < 8  # the server is not still writing 1500 tokens
    finally:
        host.close()


def test_each_failure_says_what_to_do(nook_server):
    with pytest.raises(RemoteAuthError, match=KEY_ENV):
        _host(nook_server, key="sk-wrong-key-000")
    with pytest.raises(RemoteNotFoundError, match=f"no model 'nope'; it has: {MODEL}"):
        _host(nook_server, model="nope")
    with pytest.raises(RemoteNotFoundError, match="ends in /v1"):
        _host(nook_server.removesuffix("/v1"))
    with pytest.raises(RemoteUnavailableError, match="Is the server running"):
        _host(f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(RemoteError, match="not a remote model"):
        RemoteTarget.parse("remote:ftp://x")
    assert RemoteTarget.parse("remote:http://127.0.0.1:8080/v1/#m") == RemoteTarget("http://127.0.0.1:8080/v1", "m")


@pytest.fixture(scope="module")
def status_standin():
    """A real HTTP server (uvicorn) that lists one model and answers every chat with the status asked for."""

    async def models(request):
        return JSONResponse({"object": "list", "data": [{"id": "m", "object": "model"}]})

    async def chat(request):
        status = int(request.headers.get("x-status", "500"))
        if status == 0:  # never answer in time
            await asyncio.sleep(5)
        return JSONResponse({"error": {"message": f"stand-in status {status}", "type": "x", "param": None,
                                       "code": None}}, status_code=status or 200, headers={"Retry-After": "7"})

    app = Starlette(routes=[Route("/v1/models", models), Route("/v1/chat/completions", chat, methods=["POST"])])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/v1"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize(("status", "error", "words"), [
    (429, RemoteRateLimitError, "Wait 7 s"), (500, RemoteServerError, "look at the server's log"),
    (503, RemoteServerError, "Try again"), (0, RemoteUnavailableError, "did not answer in time")])
def test_rate_limits_server_errors_and_timeouts(status_standin, status, error, words):
    backend = RemoteBackend(RemoteTarget(status_standin, "m"), api_key="k",
                            timeout=httpx.Timeout(connect=2, read=1, write=2, pool=2))
    backend.load("remote:x", LoadOptions())
    backend._client.headers["x-status"] = str(status)
    with pytest.raises(error, match=words):
        list(backend.chat(QUESTION, SamplingParams(max_tokens=4)))
    backend.unload()


def test_llama_cpp_pythons_own_server_as_the_runtime(llama_cpp_server, smollm2_path):
    host = _host(llama_cpp_server, model=None, key=None)
    try:
        assert host.loaded.name.endswith(smollm2_path.name)  # it names models by their path
        finished = _reply(host, SamplingParams.greedy(max_tokens=10))
        assert finished.reason in ("stop", "length") and finished.text.strip()
        stream = host.chat([{"role": "user", "content": "Count from 1 to 500."}], SamplingParams.greedy(max_tokens=800))
        for event in stream:
            if isinstance(event, TextDelta):
                stream.cancel()
        assert stream.finished.reason == "cancelled"
    finally:
        host.close()


def test_nook_ask_and_chat_with_a_remote_model(nook_server):
    spec = f"remote:{nook_server}#{MODEL}"
    env = {**os.environ, KEY_ENV: KEY}
    asked = subprocess.run([sys.executable, "-m", "desktop_app.cli", "ask", "Hi", "--model", spec, "--max-tokens",
                            "8"], capture_output=True, text=True, timeout=120, env=env)
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.strip() and f"Connected to {MODEL}" in asked.stderr
    chat = subprocess.run([sys.executable, "-m", "desktop_app.cli", "chat", "--model", spec, "--max-tokens", "6"],
                          input="Hello\n/quit\n", capture_output=True, text=True, timeout=120, env=env)
    assert chat.returncode == 0 and "ai>" not in chat.stderr and chat.stdout.count("you>") >= 2, chat.stderr
    no_key = subprocess.run([sys.executable, "-m", "desktop_app.cli", "ask", "Hi", "--model", spec],
                            capture_output=True, text=True, timeout=120, env={**os.environ, KEY_ENV: ""})
    assert no_key.returncode == 2 and KEY_ENV in no_key.stderr


def test_keys_come_from_the_environment_and_are_never_written_in_plain_text(monkeypatch, data_home):
    monkeypatch.setenv(KEY_ENV, "from-env")
    assert remote_key("http://127.0.0.1:1/v1") == "from-env"
    monkeypatch.delenv(KEY_ENV)
    try:
        import keyring  # noqa: F401
    except ImportError:
        assert remote_key("http://127.0.0.1:1/v1") is None
        with pytest.raises(RemoteKeyError, match=KEY_ENV):
            save_remote_key("http://127.0.0.1:1/v1", "secret-key")
    assert not any("secret-key" in p.read_text(errors="ignore") for p in data_home.rglob("*") if p.is_file())


def test_a_key_typed_once_is_used_for_the_session(nook_server, monkeypatch, capsys):
    import argparse
    import io

    from desktop_app.cli import common

    monkeypatch.delenv(KEY_ENV, raising=False)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(common.sys, "stdin", Terminal())
    asked = []
    monkeypatch.setattr(common.getpass, "getpass", lambda prompt: asked.append(prompt) or KEY)
    ctx = common.Context.open()
    try:
        entry = ctx.load_model(argparse.Namespace(model=f"remote:{nook_server}", ctx=None))
        assert entry.name == MODEL and asked == [f"API key for {nook_server}: "]
        assert _reply(ctx.host, SamplingParams.greedy(max_tokens=3)).reason != "error"
    finally:
        ctx.close()
    err = capsys.readouterr().err
    assert "saved in the OS keyring" in err or ("this session only" in err and KEY_ENV in err)
