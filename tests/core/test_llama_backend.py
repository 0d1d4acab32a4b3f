"""The llama.cpp runtime with the real SmolLM2 model: streaming, sampling, stops, cache, overflow."""

from __future__ import annotations

import shutil

import pytest

from engine.errors import GenerationError, ModelLoadError, ModelNotFoundError, NoModelLoadedError
from engine.events import ContextNotice, Finished, TextDelta
from engine.params import LoadOptions, SamplingParams
from engine.runtimes.llamacpp import LlamaCppBackend, _StopScanner

pytestmark = pytest.mark.slow

SYSTEM = {"role": "system", "content": "You are a helpful assistant. Answer directly and briefly."}
QUESTION = [SYSTEM, {"role": "user", "content": "What is the capital of France?"}]


@pytest.fixture(scope="module")
def backend(smollm2_path):
    b = LlamaCppBackend()
    b.load(smollm2_path, LoadOptions(n_ctx=2048, n_threads=2))
    yield b
    b.unload()


def run(backend, messages, params, should_stop=None):
    events = list(backend.chat(messages, params, should_stop=should_stop))
    finished = events[-1]
    assert isinstance(finished, Finished)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == finished.text
    return events, finished


def test_answers_the_capital_of_france(backend):
    events, finished = run(backend, QUESTION, SamplingParams.greedy(max_tokens=40))
    assert "Paris" in finished.text
    assert finished.reason in ("stop", "length")
    assert sum(isinstance(e, TextDelta) for e in events) > 3  # it really streams
    timings = finished.timings
    assert timings.completion_tokens > 3 and timings.prompt_tokens > 5
    assert timings.tokens_per_s > 0
    # llama.cpp's own decode time is part of the reply's decode time, not all of it, not nothing
    assert 0 < timings.model_decode_ms < timings.decode_ms


def test_greedy_is_deterministic_and_seeded_sampling_repeats(backend):
    _, a = run(backend, QUESTION, SamplingParams.greedy(max_tokens=20))
    _, b = run(backend, QUESTION, SamplingParams.greedy(max_tokens=20))
    assert a.text == b.text
    hot = SamplingParams(temperature=1.2, top_k=100, top_p=1.0, min_p=0.0, seed=1234, max_tokens=30)
    # A cached prefix is evaluated in other batch shapes, which changes logits in the last bits;
    # the same seed repeats exactly from the same cache state.
    backend.invalidate_cache()
    _, c = run(backend, [{"role": "user", "content": "Tell me a story."}], hot)
    backend.invalidate_cache()
    _, d = run(backend, [{"role": "user", "content": "Tell me a story."}], hot)
    assert c.text == d.text


def test_max_tokens_and_stop_strings(backend):
    _, short = run(backend, QUESTION, SamplingParams.greedy(max_tokens=4))
    assert short.reason == "length" and short.timings.completion_tokens == 4
    _, full = run(backend, QUESTION, SamplingParams.greedy(max_tokens=40))
    assert "Paris" in full.text
    _, stopped = run(backend, QUESTION, SamplingParams.greedy(max_tokens=40, stop=["Paris"]))
    assert stopped.reason == "stop"
    assert "Paris" not in stopped.text
    assert full.text.startswith(stopped.text)


def test_cancel_mid_stream(backend):
    count = {"n": 0}

    def stop_after_three():
        count["n"] += 1
        return count["n"] >= 3

    _, finished = run(backend, [{"role": "user", "content": "Write a long essay about rivers."}],
                      SamplingParams.greedy(max_tokens=200), should_stop=stop_after_three)
    assert finished.reason == "cancelled"
    assert finished.timings.completion_tokens == 3


def test_closing_the_generator_mid_reply_leaves_the_model_usable(backend):
    stream = backend.chat(QUESTION, SamplingParams.greedy(max_tokens=50))
    next(stream)
    next(stream)
    stream.close()
    _, finished = run(backend, QUESTION, SamplingParams.greedy(max_tokens=40))
    assert "Paris" in finished.text


def test_second_turn_reuses_the_evaluated_prefix(backend):
    history = [{"role": "system", "content": "You are a helpful assistant. " * 20}, QUESTION[1]]
    _, first = run(backend, history, SamplingParams.greedy(max_tokens=20))
    history += [{"role": "assistant", "content": first.text}, {"role": "user", "content": "And of Italy?"}]
    _, second = run(backend, history, SamplingParams.greedy(max_tokens=20))
    assert second.timings.cached_tokens >= first.timings.prompt_tokens
    assert second.timings.prompt_tokens > second.timings.cached_tokens


def test_utf8_chinese_output_is_never_split(backend):
    messages = [{"role": "system", "content": "Translate into Chinese."},
                {"role": "user", "content": "Good morning, how are you today?"}]
    _, finished = run(backend, messages, SamplingParams.greedy(max_tokens=40))
    assert "\ufffd" not in finished.text


def test_template_is_the_models_own_chatml(backend):
    text = backend.render([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}])
    assert "<|im_start|>system\nS<|im_end|>" in text
    assert text.endswith("<|im_start|>assistant\n")
    assert backend.loaded.chat_template_origin == "model"


def test_context_overflow_drops_oldest_turns_but_keeps_system(smollm2_path):
    b = LlamaCppBackend()
    b.load(smollm2_path, LoadOptions(n_ctx=256, n_threads=2))
    try:
        system = {"role": "system", "content": "SYSTEM-MARKER: be brief."}
        turns = []
        for i in range(12):
            turns += [{"role": "user", "content": f"Question {i}: tell me about the number {i} in detail."},
                      {"role": "assistant", "content": f"The number {i} is a fine number with many properties."}]
        messages = [system, *turns, {"role": "user", "content": "What is 2 + 2?"}]
        events, finished = run(b, messages, SamplingParams.greedy(max_tokens=32))
        notices = [e for e in events if isinstance(e, ContextNotice)]
        assert notices and notices[0].dropped_messages > 0
        assert finished.reason in ("stop", "length", "context")
        tokens, kept, dropped = b.fit_messages(messages, reserve=32)
        assert kept[0] == system and kept[-1] == messages[-1]
        assert kept[1]["role"] == "user"
        assert len(tokens) + 32 <= 256
        with pytest.raises(GenerationError, match="larger context"):
            list(b.chat([{"role": "user", "content": "word " * 400}], SamplingParams.greedy(max_tokens=8)))
    finally:
        b.unload()


def test_unloaded_backend_says_so(smollm2_path):
    b = LlamaCppBackend()
    with pytest.raises(NoModelLoadedError, match="load one"):
        list(b.chat(QUESTION, SamplingParams()))


def test_bad_files_give_typed_errors_and_the_process_survives(tmp_path, smollm2_path):
    b = LlamaCppBackend()
    with pytest.raises(ModelNotFoundError):
        b.load(tmp_path / "nope.gguf", LoadOptions())
    not_gguf = tmp_path / "page.gguf"
    not_gguf.write_text("<!DOCTYPE html><html><body>Rate limited</body></html>")
    with pytest.raises(ModelLoadError, match="not a GGUF"):
        b.load(not_gguf, LoadOptions())
    truncated = tmp_path / "cut.gguf"
    with open(smollm2_path, "rb") as src, open(truncated, "wb") as dst:
        dst.write(src.read(smollm2_path.stat().st_size // 2))
    with pytest.raises(ModelLoadError, match="download it again"):
        b.load(truncated, LoadOptions())
    # and a good model still loads afterwards in the same process
    b.load(smollm2_path, LoadOptions(n_ctx=512, n_threads=2))
    _, finished = run(b, QUESTION, SamplingParams.greedy(max_tokens=10))
    assert finished.timings.completion_tokens > 0
    b.unload()


def test_load_progress_is_reported_and_can_cancel(smollm2_path, tmp_path):
    b = LlamaCppBackend()
    seen = []
    b.load(smollm2_path, LoadOptions(n_ctx=512, n_threads=2), progress=lambda f: seen.append(f) or True)
    assert seen and seen[-1] == pytest.approx(1.0)
    assert all(x <= y for x, y in zip(seen, seen[1:], strict=False))
    b.unload()
    from engine.errors import LoadCancelled

    with pytest.raises(LoadCancelled):
        b.load(smollm2_path, LoadOptions(n_ctx=512, n_threads=2), progress=lambda f: False)
    assert b.loaded is None


def test_stop_scanner_holds_back_partial_stop_strings():
    scanner = _StopScanner(["<|im_end|>"])
    assert scanner.feed("Hello <|im") == ("Hello ", False)
    assert scanner.feed("_e") == ("", False)
    assert scanner.feed("nd|> tail") == ("", True)
    scanner = _StopScanner(["STOP"])
    assert scanner.feed("ST") == ("", False)
    assert scanner.feed("ar") == ("STar", False)


def test_chat_template_override(smollm2_path, tmp_path):
    copy = tmp_path / "model.gguf"
    shutil.copy(smollm2_path, copy)
    override = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}[assistant] "
    b = LlamaCppBackend()
    b.load(copy, LoadOptions(n_ctx=512, n_threads=2, chat_template=override))
    try:
        assert b.render([{"role": "user", "content": "hi"}]) == "[user] hi\n[assistant] "
        assert b.loaded.chat_template_origin == "override"
    finally:
        b.unload()
    with pytest.raises(ModelLoadError, match="chat template"):
        b.load(copy, LoadOptions(n_ctx=512, chat_template="{% for %}"))
