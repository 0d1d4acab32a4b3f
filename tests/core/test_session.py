"""Chat sessions end to end: the real model on its owner thread, the real SQLite history."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from engine.chat.history import HistoryStore
from engine.chat.session import DEFAULT_SYSTEM_PROMPT, ChatSession
from engine.events import Finished, TextDelta
from engine.params import SamplingParams

pytestmark = pytest.mark.slow


@pytest.fixture
def store(data_home):
    s = HistoryStore()
    yield s
    s.close()


def drain(events):
    finished = None
    text = []
    for event in events:
        if isinstance(event, TextDelta):
            text.append(event.text)
        if isinstance(event, Finished):
            finished = event
    return "".join(text), finished


def test_send_saves_both_sides_with_timings(host, store):
    session = ChatSession(host, store, model_name="smollm2", params=SamplingParams.greedy(max_tokens=30))
    text, finished = drain(session.send("What is the capital of France?"))
    assert "Paris" in text
    thread = session.thread()
    assert [m.role for m in thread] == ["user", "assistant"]
    assert thread[1].content == text and thread[1].status == "complete"
    assert thread[1].timings["completion_tokens"] == finished.timings.completion_tokens
    assert session.conversation.title == "What is the capital of France?"
    assert session.model_messages(thread)[0] == {"role": "system", "content": DEFAULT_SYSTEM_PROMPT}


def test_regenerate_keeps_the_old_answer_as_a_branch(host, store):
    session = ChatSession(host, store, params=SamplingParams(temperature=1.0, seed=1, max_tokens=20))
    drain(session.send("Name a colour."))
    first = session.thread()[-1]
    drain(session.regenerate(SamplingParams(temperature=1.0, seed=2, max_tokens=20)))
    second = session.thread()[-1]
    assert second.id != first.id and second.parent_id == first.parent_id
    assert [m.id for m in store.siblings(second.id)] == [first.id, second.id]


def test_edit_an_earlier_message_and_continue(host, store):
    session = ChatSession(host, store, params=SamplingParams.greedy(max_tokens=15))
    drain(session.send("What is the capital of France?"))
    first_user = session.thread()[0]
    drain(session.send("And of Germany?"))
    assert len(session.thread()) == 4
    text, _ = drain(session.edit(first_user.id, "What is the capital of Italy?"))
    thread = session.thread()
    assert [m.content for m in thread][0] == "What is the capital of Italy?"
    assert len(thread) == 2 and thread[1].content == text
    store.set_head(session.conversation_id, first_user.id)
    assert len(session.thread()) == 4  # the old branch is intact


def test_cancel_keeps_the_partial_reply_marked_stopped(host, store):
    session = ChatSession(host, store, params=SamplingParams.greedy(max_tokens=300))
    seen = 0
    events = session.send("Write a long essay about the rivers of Europe.")
    for event in events:
        if isinstance(event, TextDelta):
            seen += 1
            if seen == 5:
                session.cancel()
        if isinstance(event, Finished):
            assert event.reason == "cancelled"
    reply = session.thread()[-1]
    assert reply.status == "stopped" and reply.content
    # the model is free again at once
    text, finished = drain(session.send("What is the capital of France?"))
    assert finished.reason in ("stop", "length") and text


def test_abandoning_the_stream_cancels_and_saves(host, store):
    session = ChatSession(host, store, params=SamplingParams.greedy(max_tokens=300))
    events = session.send("Count from one to one hundred in words.")
    for event in events:
        if isinstance(event, TextDelta):
            break
    events.close()
    reply = session.thread()[-1]
    assert reply.status == "stopped"


def test_preset_supplies_system_prompt_few_shot_and_params(host, store):
    session = ChatSession(host, store, preset="json-output")
    messages = session.model_messages([])
    assert messages[0]["role"] == "system" and "JSON" in messages[0]["content"]
    assert messages[1]["role"] == "user" and messages[2]["role"] == "assistant"
    assert session.params.temperature == 0.0


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    from engine.chat.history import HistoryStore
    from engine.params import LoadOptions, SamplingParams
    from engine.chat.session import ChatSession
    from engine.host import ModelHost
    host = ModelHost()
    host.load(sys.argv[1], LoadOptions(n_ctx=2048, n_threads=2)).result()
    session = ChatSession(host, HistoryStore(), params=SamplingParams.greedy(max_tokens=1500, repeat_penalty=1.3))
    print(session.conversation_id, flush=True)
    for event in session.send("Write a very long story about a dragon who learns to cook."):
        pass
    print("FINISHED", flush=True)
    """
)


def test_killed_mid_reply_keeps_everything_streamed_so_far(smollm2_path, data_home):
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(smollm2_path)], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "INGLENOOK_HOME": str(data_home)})
    conversation_id = int(proc.stdout.readline())
    store = HistoryStore()
    deadline = time.monotonic() + 60
    partial = ""
    while time.monotonic() < deadline:
        thread = store.thread(conversation_id)
        if len(thread) == 2 and len(thread[1].content) > 40:
            partial = thread[1].content
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert partial, "the reply was never saved while streaming"
    store.close()
    reopened = HistoryStore()
    assert reopened.recovered == 1
    user, reply = reopened.thread(conversation_id)
    assert user.content.startswith("Write a very long story")
    assert reply.status == "incomplete" and reply.content.startswith(partial)
    assert "incomplete" in reopened.export_markdown(conversation_id)
