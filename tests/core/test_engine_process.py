"""The model in its own process: same answers as in-process, cancel, LoRA, and surviving a killed engine.

Everything here runs the real llama.cpp with the real SmolLM2 file in a real child process; a crash
is a real ``kill -9`` (or SIGILL) of that process in the middle of a reply.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from engine.chat.history import HistoryStore
from engine.chat.session import ChatSession
from engine.events import Finished, TextDelta, Timings
from engine.host import ModelHost
from engine.lora.adapters import ResolvedAdapter
from engine.models.gguf import read_gguf
from engine.params import LoadOptions, SamplingParams
from engine.process.supervisor import EngineCrashedError, EngineProcess
from tests.support.lora_helpers import random_adapter

pytestmark = pytest.mark.slow

QUESTION = [{"role": "user", "content": "Name three colours."}]
OPTIONS = LoadOptions(n_ctx=1024, n_threads=2)


@pytest.fixture(scope="module")
def engine(smollm2_path):
    engine = EngineProcess()
    fractions = []
    loaded = engine.load(smollm2_path, OPTIONS, fractions.append).result(timeout=120)
    assert loaded.name and fractions and fractions[-1] == pytest.approx(1.0)
    yield engine
    engine.close()


def reply(host, messages=QUESTION, max_tokens=24) -> tuple[str, Finished]:
    stream = host.chat(messages, SamplingParams.greedy(max_tokens=max_tokens))
    text = "".join(e.text for e in stream if isinstance(e, TextDelta))
    return text, stream.finished


def wait_for_text(stream) -> str:
    for event in stream:
        if isinstance(event, TextDelta) and event.text.strip():
            return event.text
    raise AssertionError("the reply ended before any text")


@pytest.fixture(scope="module")
def in_process(smollm2_path):
    """The in-process host's answer on a fresh model (no cached prompt), and its token count."""
    local = ModelHost()
    try:
        local.load(smollm2_path, OPTIONS).result()
        return reply(local)[0], local.count_tokens("Hello there, world")
    finally:
        local.close()


def test_the_engine_process_answers_exactly_like_the_in_process_host(engine, in_process):
    expected, count = in_process
    assert engine.count_tokens("Hello there, world") == count
    text, finished = reply(engine)
    assert text == expected and text.strip()
    assert finished.reason in ("stop", "length")
    assert engine.pid != os.getpid()


def test_cancel_crosses_the_boundary(engine):
    stream = engine.chat([{"role": "user", "content": "Write a long story about a dragon."}],
                         SamplingParams.greedy(max_tokens=400))
    wait_for_text(stream)
    stream.cancel()
    assert stream.wait().reason == "cancelled"
    assert reply(engine)[0].strip()  # and the engine serves the next request


def test_lora_switching_in_the_engine_process(engine, tmp_path, smollm2_path, in_process):
    base = in_process[0]  # computed without a cached prompt, as every reply after a switch is
    adapter = random_adapter(tmp_path / "style.gguf", read_gguf(smollm2_path), std=0.4)
    result = engine.adapters.apply([ResolvedAdapter("style", adapter, 1.0)]).result()
    assert result.changed and [a.name for a in result.active] == ["style"]
    styled, _ = reply(engine)
    assert styled != base
    assert [a.name for a in engine.adapters.active().result()] == ["style"]
    engine.adapters.clear().result()
    assert reply(engine)[0] == base


def test_kill_9_mid_reply_costs_a_restart_not_the_app(engine, tmp_path, smollm2_path):
    adapter = random_adapter(tmp_path / "style.gguf", read_gguf(smollm2_path), std=0.4)
    engine.adapters.apply([ResolvedAdapter("style", adapter, 1.0)]).result()
    styled, _ = reply(engine)
    stream = engine.chat([{"role": "user", "content": "Write a long story about a dragon."}],
                         SamplingParams.greedy(max_tokens=400))
    wait_for_text(stream)
    os.kill(engine.pid, signal.SIGKILL)
    finished = stream.wait()
    assert finished.reason == "error" and finished.extra.get("engine_crashed")
    assert "killed" in finished.error and "SIGKILL" in finished.error
    assert engine.pid is None and "SIGKILL" in engine.crash
    assert engine.loaded is not None  # still the model it serves: the next request brings it back
    restarts = engine.restarts
    again, finished = reply(engine)  # the next message reloads the model and the adapter
    assert again == styled and finished.reason in ("stop", "length")
    assert engine.restarts == restarts + 1 and engine.pid is not None
    os.kill(engine.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while engine.pid is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.count_tokens("Hello there, world") > 0  # token counting brings the model back too
    engine.adapters.clear().result()


def test_after_sigill_the_engine_restarts_on_a_safer_cpu_variant(smollm2_path):
    engine = EngineProcess()
    try:
        engine.load(smollm2_path, OPTIONS).result(timeout=120)
        first = engine.info()["variant"]
        stream = engine.chat(QUESTION, SamplingParams.greedy(max_tokens=200))
        wait_for_text(stream)
        os.kill(engine.pid, signal.SIGILL)
        finished = stream.wait()
        assert "illegal CPU instruction (SIGILL)" in finished.error
        text, _ = reply(engine)
        assert text.strip()
        now = engine.info()
        if len([s for s in now["scores"].values() if s > 0]) > 1:
            assert now["variant"] != first
            assert now["scores"][now["variant"]] < now["scores"][first]
    finally:
        engine.close()


def test_unloading_ends_the_engine_process(smollm2_path):
    engine = EngineProcess()
    engine.load(smollm2_path, OPTIONS).result(timeout=120)
    pid = engine.pid
    engine.unload().result(timeout=30)
    assert engine.pid is None and engine.loaded is None and engine.crash is None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"engine process {pid} still alive after unload")
    engine.close()


def test_a_chat_session_keeps_the_streamed_part_when_the_engine_dies(smollm2_path, data_home):
    engine = EngineProcess()
    store = HistoryStore(data_home / "chat.db")
    try:
        engine.load(smollm2_path, OPTIONS).result(timeout=120)
        session = ChatSession(engine, store, params=SamplingParams.greedy(max_tokens=400))
        events = session.send("Write a long story about a dragon.")
        streamed = []
        for event in events:
            if isinstance(event, TextDelta):
                streamed.append(event.text)
                if len("".join(streamed)) > 40:
                    os.kill(engine.pid, signal.SIGKILL)
        reply_message = session.last_outcome.message
        assert reply_message.status == "incomplete"
        assert reply_message.content == "".join(streamed) and len(reply_message.content) > 40
        assert "SIGKILL" in (reply_message.error or "")
        events = list(session.send("Name three colours."))
        assert session.last_outcome.message.status == "complete"
        assert session.last_outcome.message.content.strip()
        messages = store.thread(session.conversation_id, session.last_outcome.message.id)
        assert [m.role for m in messages][-4:] == ["user", "assistant", "user", "assistant"]
    finally:
        engine.close()
        store.close()


def test_an_engine_killed_during_a_load_fails_that_load_and_the_next_one_works(smollm2_path):
    engine = EngineProcess()
    try:
        killed = []

        def progress(fraction: float) -> bool:
            if not killed and engine.pid:
                killed.append(engine.pid)
                os.kill(engine.pid, signal.SIGKILL)
            return True

        with pytest.raises(EngineCrashedError, match="SIGKILL"):
            engine.load(smollm2_path, OPTIONS, progress).result(timeout=120)
        assert killed and engine.loaded is None
        assert engine.load(smollm2_path, OPTIONS).result(timeout=120).name
        assert reply(engine)[0].strip()
    finally:
        engine.close()


def test_an_engine_killed_during_a_lora_switch_comes_back_with_the_last_good_adapters(smollm2_path, tmp_path,
                                                                                     in_process):
    engine = EngineProcess()
    try:
        engine.load(smollm2_path, OPTIONS).result(timeout=120)
        adapter = random_adapter(tmp_path / "style.gguf", read_gguf(smollm2_path), std=0.4)
        pending = engine.adapters.apply([ResolvedAdapter("style", adapter, 1.0)])
        os.kill(engine.pid, signal.SIGKILL)
        try:
            pending.result(timeout=60)  # it may have finished before the kill landed
            switched = True
        except EngineCrashedError:
            switched = False
        text, _ = reply(engine)
        if switched:
            assert [a.name for a in engine.adapters.active().result()] == ["style"]
        else:
            assert engine.adapters.active().result() == () and text == in_process[0]
    finally:
        engine.close()


class RecordingServer:
    """Collects what ``_ReplySender`` would send to the app (``_Server.send``'s arguments)."""

    def __init__(self) -> None:
        self.sent: list[tuple] = []
        self.streams = {7: object()}

    def send(self, *message) -> None:
        self.sent.append(message)


@pytest.mark.parametrize("interval, expected_texts", [(0.0, ["a", "b", "c"]), (3600.0, ["a", "bc"])])
def test_text_that_comes_soon_after_the_last_send_travels_with_the_next(monkeypatch, interval, expected_texts):
    from engine.host import ReplyStream
    from engine.process import child
    from engine.process import protocol as p

    monkeypatch.setattr(child, "STREAM_INTERVAL_S", interval)
    server = RecordingServer()
    sender = child._ReplySender(server, 7, ReplyStream.END)
    finished = Finished("stop", Timings(1, 0, 3, 1.0, 1.0, 2.0), text="abc")
    for item in (TextDelta("a"), TextDelta("b"), TextDelta("c"), finished, ReplyStream.END):
        sender(item)
    # the first text goes at once; held text is never lost and always comes before the end
    assert [m[2] for m in server.sent if m[0] == p.TEXT] == expected_texts
    assert [m[0] for m in server.sent][-2:] == [p.EVENT, p.END] and server.sent[-2][2] is finished
    assert 7 not in server.streams
