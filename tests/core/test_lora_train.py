"""Training a style LoRA: the data checks (no torch needed), the prompt encoding, and a tiny real run.

The training runs need the optional `train` extra and are skipped, with that reason, without it.
"""

from __future__ import annotations

import json
import threading

import pytest

from engine.errors import TrainingCancelled, TrainingDataError, TrainingError
from engine.events import Finished
from engine.lora.train import MIN_EXAMPLES, PromptTokenizer, TrainConfig, load_examples
from engine.models.gguf import read_gguf

GREETING = "Ahoy, friend!"
SIGNOFF = "Fair winds."
TOPICS = ["cats", "rivers", "tea", "owls", "maps", "clouds", "bread", "kites", "bees", "snow", "ships", "moss",
          "rain", "stars"]


def write(path, lines) -> str:
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n",
                    encoding="utf-8")
    return str(path)


def style_examples(n: int = 14) -> list[dict]:
    rows = []
    for topic in (TOPICS * 3)[:n]:
        rows.append({"prompt": f"Tell me about {topic}.", "reply": f"{GREETING} {topic.capitalize()} are lovely. {SIGNOFF}"})
    return rows


# --------------------------------------------------------------------------------- the data file
def test_both_formats_are_read(tmp_path):
    rows = style_examples(MIN_EXAMPLES - 1) + [
        {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                      {"role": "assistant", "content": "Ahoy!"}, {"role": "user", "content": "Bye"},
                      {"role": "assistant", "content": "Fair winds."}]},
    ]
    examples = load_examples(write(tmp_path / "d.jsonl", rows[:5] + [""] + rows[5:]))
    assert len(examples) == MIN_EXAMPLES
    assert examples[0].messages[1] == {"role": "assistant", "content": f"{GREETING} Cats are lovely. {SIGNOFF}"}
    assert examples[-1].line == MIN_EXAMPLES + 1 and len(examples[-1].messages) == 5


def test_malformed_lines_are_reported_with_their_numbers(tmp_path):
    rows = style_examples(12)
    rows[1] = '{"prompt": "unterminated'
    rows[4] = {"prompt": "no reply"}
    rows[6] = ["a", "list"]
    rows[8] = {"messages": [{"role": "user", "content": "only a question"}]}
    rows[10] = {"messages": [{"role": "robot", "content": "beep"}]}
    with pytest.raises(TrainingDataError) as caught:
        load_examples(write(tmp_path / "bad.jsonl", rows))
    message = str(caught.value)
    assert "5 malformed line(s)" in message
    assert "line 2: not valid JSON" in message and 'line 5: needs a non-empty "reply"' in message
    assert "line 7: not a JSON object" in message and "line 9: has no assistant reply" in message
    assert 'line 11: message 1 needs a "role"' in message and "Fix or delete those lines" in message


def test_too_few_examples_and_unreadable_files(tmp_path):
    with pytest.raises(TrainingDataError, match=f"has 3 example\\(s\\); training needs at least {MIN_EXAMPLES}"):
        load_examples(write(tmp_path / "few.jsonl", style_examples(3)))
    with pytest.raises(TrainingDataError, match="does not exist"):
        load_examples(tmp_path / "missing.jsonl")
    (tmp_path / "latin1.jsonl").write_bytes('{"prompt": "caf\xe9"}\n'.encode("latin-1"))
    with pytest.raises(TrainingDataError, match="not UTF-8"):
        load_examples(tmp_path / "latin1.jsonl")


def test_bad_settings_are_refused():
    with pytest.raises(TrainingError, match="rank must be 1..256.*the held-out fraction"):
        TrainConfig(rank=0, val_fraction=0.7).validate()


# ------------------------------------------------------------------------------- the encoding
def test_loss_covers_exactly_the_reply_and_the_prompt_is_what_chat_sends(smollm2_path):
    """Training sees the prompt token for token as the chat backend renders and tokenizes it."""
    from engine.params import LoadOptions
    from engine.runtimes.llamacpp import LlamaCppBackend

    info = read_gguf(smollm2_path)
    tokenizer = PromptTokenizer(info)
    messages = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Tell me about owls."},
                {"role": "assistant", "content": "Ahoy! Owls hoot."}, {"role": "user", "content": "And cats?"},
                {"role": "assistant", "content": "Cats purr. Fair winds."}]
    ids, mask = tokenizer.encode(messages)
    backend = LlamaCppBackend()
    backend.load(smollm2_path, LoadOptions(n_ctx=512, n_threads=2))
    try:
        first_prompt = backend._encode(messages[:2])
        assert ids[: len(first_prompt)] == first_prompt and not any(mask[: len(first_prompt)])
        whole_prompt = backend._encode(messages[:4])
        assert ids[: len(whole_prompt)] == whole_prompt
        llm = backend.llama
        replies = [llm.detokenize([t for t, m in zip(ids, mask, strict=True) if m], special=True).decode()]
        assert replies[0] == "Ahoy! Owls hoot.<|im_end|>\nCats purr. Fair winds.<|im_end|>\n"
    finally:
        backend.unload()


# ------------------------------------------------------------------------------ real training
def needs_train_extra():
    pytest.importorskip("torch", reason="training needs the optional `train` extra (pip install '.[train]')")
    pytest.importorskip("peft", reason="training needs the optional `train` extra (pip install '.[train]')")
    pytest.importorskip("transformers", reason="training needs the optional `train` extra (pip install '.[train]')")


TINY = TrainConfig(rank=4, alpha=8, epochs=2, batch_size=4, learning_rate=2e-3, max_length=96, threads=2,
                   eval_every=2, patience=5)


@pytest.mark.slow
def test_a_tiny_training_run_registers_an_adapter_that_changes_the_style(tmp_path, smollm2_path):
    needs_train_extra()
    from engine.chat.history import HistoryStore
    from engine.chat.session import ChatSession
    from engine.host import ModelHost
    from engine.lora.adapters import AdapterChoice, LoraRegistry
    from engine.lora.train import train_lora
    from engine.params import LoadOptions, SamplingParams

    store = HistoryStore()
    registry = LoraRegistry(store.db)
    data = write(tmp_path / "style.jsonl", style_examples(16))
    events = []
    result = train_lora(data, "Tiny Ahoy", base=smollm2_path, config=TINY, progress=events.append, registry=registry)
    assert result.name == "tiny-ahoy" and result.path.is_file() and result.n_train + result.n_val == 16
    assert result.n_val == 2 and result.steps == result.total_steps == 8
    assert result.best_val_loss < result.initial_val_loss * 0.7  # it learned the greeting and sign-off
    phases = [e.phase for e in events]
    assert phases[0] == "loading" and phases[-1] == "done" and "evaluating" in phases and "exporting" in phases
    steps = [e.step for e in events if e.phase in ("training", "evaluating")]
    assert steps == sorted(steps) and steps[-1] == 8
    assert all(e.eta_s is not None and e.eta_s >= 0 for e in events if e.phase == "training" and e.step >= 1)
    info = registry.info("tiny-ahoy")
    assert info.rank == 4 and info.alpha == 8 and len(info.pairs) == 30 * 7
    host = ModelHost()
    try:
        host.load(smollm2_path, LoadOptions(n_ctx=1024, n_threads=2)).result()
        params = SamplingParams.greedy(max_tokens=40)

        def answer(adapters):
            session = ChatSession(host, store, params=params)
            session.set_adapters(adapters)
            return [e for e in session.send("Tell me about lamps.") if isinstance(e, Finished)][0].text

        base, styled = answer([]), answer([AdapterChoice("tiny-ahoy")])
        assert not base.startswith("Ahoy") and styled.startswith("Ahoy"), (base, styled)
    finally:
        host.close()
        store.close()


@pytest.mark.slow
def test_cancel_stops_training_and_writes_nothing(tmp_path, smollm2_path):
    needs_train_extra()
    from engine.chat.history import HistoryStore
    from engine.lora.adapters import LoraRegistry, adapters_dir
    from engine.lora.train import train_lora

    store = HistoryStore()
    registry = LoraRegistry(store.db)
    cancel = threading.Event()

    def on_progress(event) -> None:
        if event.phase == "training" and event.step >= 1:
            cancel.set()

    data = write(tmp_path / "style.jsonl", style_examples(16))
    with pytest.raises(TrainingCancelled, match="cancelled; no adapter was written"):
        train_lora(data, "cancelled", base=smollm2_path, config=TINY, progress=on_progress, cancel=cancel,
                   registry=registry)
    assert registry.list() == [] and list(adapters_dir().iterdir()) == []
    with pytest.raises(TrainingDataError, match="line 3"):  # bad data is found before the model is loaded
        train_lora(write(tmp_path / "bad.jsonl", style_examples(12)[:2] + ["oops"] + style_examples(12)),
                   "bad", base=smollm2_path, registry=registry)
    store.close()
