"""`nook chat` survives its engine process being killed mid-reply (kill -9), keeps the history and answers on.

A real `nook chat` process with the bundled model; its engine is the child process that this test
finds with psutil and kills while the first reply streams.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from engine.chat.history import HistoryStore
from tests.support.cli import read_until

pytestmark = pytest.mark.slow


def engine_of(proc: subprocess.Popen) -> psutil.Process:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        children = [c for c in psutil.Process(proc.pid).children(recursive=True) if "resource_tracker" not in
                    " ".join(c.cmdline())]
        if children:
            return children[0]
        time.sleep(0.1)
    raise AssertionError("no engine process was started")


def test_nook_chat_lives_through_a_killed_engine(data_home):
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "desktop_app.cli", "chat", "--temperature", "0", "--max-tokens",
                             "300"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        read_until(proc, "you> ", 180)
        engine = engine_of(proc)
        proc.stdin.write(b"Write a long story about a dragon who learns to bake bread.\n")
        proc.stdin.flush()
        streamed = read_until(proc, " ", 120)
        time.sleep(0.5)  # let a few words stream
        engine.send_signal(signal.SIGKILL)
        read_until(proc, "you> ", 120)  # the reply ends with a message, and the prompt comes back
        assert proc.poll() is None, "nook chat died with its engine"
        proc.stdin.write(b"Name three colours.\n")
        proc.stdin.flush()
        answer = read_until(proc, "you> ", 180)
        proc.stdin.close()
        proc.wait(timeout=60)
        stderr = proc.stderr.read().decode("utf-8", "replace")
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "model process stopped" in stderr and "SIGKILL" in stderr, stderr[-2000:]
    assert streamed and answer.strip()
    store = HistoryStore()
    try:
        conversation = store.list_conversations()[0]
        thread = store.thread(conversation.id)
        assistants = [m for m in thread if m.role == "assistant"]
        assert [m.status for m in assistants] == ["incomplete", "complete"]
        assert assistants[0].content.strip() and assistants[1].content.strip()
    finally:
        store.close()
