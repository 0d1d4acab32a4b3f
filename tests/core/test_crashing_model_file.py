"""A GGUF that passes our checks but crashes llama.cpp while loading: a plain error, a restart, no loop.

The file is the real SmolLM2 with one metadata entry added (``tests/support/crashing_gguf.py``); the
real llama.cpp in the real engine child process aborts on it (SIGABRT). Nothing is simulated.
"""

from __future__ import annotations

import os
import time

import pytest

from engine.models.crashed import known_crash
from engine.models.gguf import read_gguf
from engine.models.registry import ModelRegistry
from engine.params import LoadOptions, SamplingParams
from engine.process.supervisor import LoadCrashedError
from tests.support.cli import run_nook
from tests.support.crashing_gguf import crashing_gguf

pytestmark = pytest.mark.slow

OPTIONS = LoadOptions(n_ctx=512, n_threads=2)


@pytest.fixture(scope="module")
def crashing_file(smollm2_path, tmp_path_factory):
    path = crashing_gguf(smollm2_path, tmp_path_factory.mktemp("bad") / "crashes-llama.gguf")
    read_gguf(path)  # our own checks pass: the point of this file
    return path


def answer(engine) -> str:
    stream = engine.chat([{"role": "user", "content": "Name a colour."}], SamplingParams.greedy(max_tokens=6))
    return "".join(getattr(e, "text", "") for e in stream if type(e).__name__ == "TextDelta")


def test_a_file_that_crashes_llama_cpp_fails_its_load_and_the_engine_lives_on(smollm2_path, crashing_file):
    from engine.process.supervisor import EngineProcess

    engine = EngineProcess()
    try:
        engine.load(smollm2_path, OPTIONS).result(timeout=120)
        good_pid = engine.pid
        with pytest.raises(LoadCrashedError) as failed:
            engine.load(crashing_file, OPTIONS).result(timeout=120)
        message = str(failed.value)
        assert message.startswith("The model process stopped while loading crashes-llama.gguf: aborted by the "
                                  "runtime (SIGABRT).")
        assert "Download it again or choose another model" in message
        assert engine.pid is None and engine.loaded.path == smollm2_path  # the earlier model is still the one
        assert known_crash(crashing_file)["what"] == "aborted by the runtime (SIGABRT)"

        assert answer(engine).strip()  # the next message restarts the engine on the good model
        assert engine.pid not in (None, good_pid) and engine.restarts == 1

        started = time.monotonic()  # the same file again: refused at once, no new crash
        with pytest.raises(LoadCrashedError, match="crashed the model process when it was loaded on"):
            engine.load(crashing_file, OPTIONS).result(timeout=5)
        assert time.monotonic() - started < 1 and engine.restarts == 1 and engine.pid is not None

        ModelRegistry().add(crashing_file, name="retry-me")  # adding it again means: try it once more
        assert known_crash(crashing_file) is None
        with pytest.raises(LoadCrashedError, match="stopped while loading"):
            engine.load(crashing_file, OPTIONS).result(timeout=120)
        assert engine.load(smollm2_path, OPTIONS).result(timeout=120).name  # an explicit load works too
        assert answer(engine).strip()
    finally:
        engine.close()


def reply_until_killed(engine, signal_number: int | None):
    """A long greedy reply; after its first token the engine process gets ``signal_number`` (None: no
    signal, the reply runs to its end). Returns the reply's ``Finished`` event."""
    from engine.events import Finished, TextDelta

    stream = engine.chat([{"role": "user", "content": "Write a long story about a lighthouse."}],
                         SamplingParams.greedy(max_tokens=400))
    finished = None
    for event in stream:
        if isinstance(event, TextDelta) and signal_number is not None:
            os.kill(engine.pid, signal_number)  # a real signal to the real llama.cpp process, mid-decode
            signal_number = None
        if isinstance(event, Finished):
            finished = event
    return finished


def test_a_model_that_crashes_twice_in_a_row_while_replying_is_not_loaded_again(smollm2_path):
    """llama.cpp segfaulting while it generates, sent as a real SIGSEGV to the engine process mid-reply
    (no GGUF we can make here passes llama.cpp's load and then faults while decoding). One crash is
    forgiven (it may have been anything); the same model crashing twice in a row is the file's."""
    import signal

    from engine.process.supervisor import EngineProcess

    engine = EngineProcess()
    try:
        engine.load(smollm2_path, OPTIONS).result(timeout=120)
        first = reply_until_killed(engine, signal.SIGSEGV)
        assert first.reason == "error" and first.extra["engine_crashed"]
        assert "loaded again with your next message" in first.error and known_crash(smollm2_path) is None

        assert reply_until_killed(engine, None).reason in ("stop", "length")  # a good reply clears the count
        assert reply_until_killed(engine, signal.SIGKILL).reason == "error"  # a kill is not the file's fault
        second = reply_until_killed(engine, signal.SIGSEGV)
        assert "loaded again with your next message" in second.error and known_crash(smollm2_path) is None

        third = reply_until_killed(engine, signal.SIGSEGV)  # the second file crash in a row
        assert third.reason == "error" and third.extra["engine_crashed"]
        assert "the second time in a row while" in third.error and "Download it again" in third.error
        assert known_crash(smollm2_path)["during"] == "reply"
        assert engine.restarts == 3

        refused = reply_until_killed(engine, None)  # the next message does not walk into it again
        assert refused.reason == "error"
        assert "crashed the model process while replying, twice in a row" in refused.error
        assert engine.restarts == 3
    finally:
        engine.close()


def test_a_new_copy_of_the_file_is_tried_again(crashing_file, tmp_path):
    from engine.models.crashed import remember_crash

    remember_crash(crashing_file, "aborted by the runtime (SIGABRT)")
    assert known_crash(crashing_file) is not None
    copy = tmp_path / "crashes-llama.gguf"
    copy.symlink_to(crashing_file)
    assert known_crash(copy) is not None  # the same file under another name is still the same file
    os.utime(crashing_file, ns=(time.time_ns(), time.time_ns() + 10**9))  # as a new download would
    assert known_crash(crashing_file) is None


def test_nook_ask_with_a_crashing_file_exits_with_a_message_and_the_good_model_still_answers(crashing_file):
    first = run_nook("ask", "--model", str(crashing_file), "--max-tokens", "4", "Hello")
    assert first.returncode == 2, first.stderr
    assert "error: The model process stopped while loading crashes-llama.gguf: aborted by the runtime (SIGABRT)" \
        in first.stderr
    assert "Traceback" not in first.stderr and first.stdout.strip() == ""

    again = run_nook("ask", "--model", str(crashing_file), "--max-tokens", "4", "Hello")
    assert again.returncode == 2 and "crashed the model process when it was loaded on" in again.stderr

    good = run_nook("ask", "--max-tokens", "4", "--temperature", "0", "Name a colour.")
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip()
