"""LoRA adapters with the real llama.cpp and the real SmolLM2: metadata, registry, checks, live switching."""

from __future__ import annotations

import os

import pytest

from engine import llama_native
from engine.chat.history import HistoryStore
from engine.chat.session import ChatSession
from engine.errors import LoraError, LoraIncompatibleError, ModelNotFoundError
from engine.events import Finished
from engine.host import ModelHost
from engine.lora.adapters import (
    AdapterChoice,
    LoraRegistry,
    ResolvedAdapter,
    check_compatible,
    merge_choices,
    parse_choice,
    read_adapter,
)
from engine.lora.convert import write_adapter_gguf
from engine.models.gguf import read_gguf
from engine.params import LoadOptions, SamplingParams
from engine.runtimes.llamacpp import LlamaCppBackend
from tests.support.lora_helpers import base_shapes, random_adapter, random_pairs

QUESTION = [{"role": "system", "content": "You are a helpful assistant. Answer directly and briefly."},
            {"role": "user", "content": "What is the capital of France?"}]
GREEDY = SamplingParams.greedy(max_tokens=24)


@pytest.fixture(scope="module")
def base_info(smollm2_path):
    return read_gguf(smollm2_path)


@pytest.fixture(scope="module")
def adapters(tmp_path_factory, base_info):
    """Two strong adapters for SmolLM2, and one per kind of mismatch."""
    folder = tmp_path_factory.mktemp("adapters")
    shapes = base_shapes(base_info)
    bigger = {name: (n_in + 64 if n_in == 576 else n_in, n_out + 64 if n_out == 576 else n_out)
              for name, (n_in, n_out) in shapes.items()}
    return {
        "one": random_adapter(folder / "one.gguf", base_info, seed=1),
        "two": random_adapter(folder / "two.gguf", base_info, seed=2, kinds=("attn_v", "ffn_up"), rank=4),
        "qwen": random_adapter(folder / "qwen.gguf", base_info, seed=3, architecture="qwen2"),
        "bigger": random_adapter(folder / "bigger.gguf", bigger, seed=4),
        "deeper": random_adapter(folder / "deeper.gguf", {"blk.40.attn_q.weight": (576, 576)}, seed=5),
    }


# ------------------------------------------------------------------------------------ metadata
def test_metadata_is_read_from_the_file(adapters):
    info = read_adapter(adapters["two"])
    assert info.architecture == "llama" and info.rank == 4 and info.alpha == 4.0
    assert info.targets == ["attn_v", "ffn_up"] and info.layers == list(range(30))
    assert info.base_model == "test base" and info.scale_factor == 1.0
    pair = next(p for p in info.pairs if p.base == "blk.0.ffn_up.weight")
    assert pair.a_shape == (576, 4) and pair.b_shape == (4, 1536)  # ggml order: A [n_in, r], B [r, n_out]
    assert info.summary()["layers"] == "0-29"


def test_a_model_is_not_an_adapter(smollm2_path, tmp_path):
    with pytest.raises(LoraError, match="is a model, not a LoRA adapter.*nook models add"):
        read_adapter(smollm2_path)
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"<html>not found</html>" + b" " * 200)
    with pytest.raises(LoraError, match="not a GGUF"):
        read_adapter(junk)
    with pytest.raises(LoraError, match="does not exist"):
        read_adapter(tmp_path / "missing.gguf")


def test_an_adapter_with_half_a_pair_is_refused(tmp_path, base_info):
    import gguf

    path = tmp_path / "half.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, 8.0)
    name, a, _ = random_pairs(base_shapes(base_info), layers=[0], kinds=("attn_q",))[0]
    writer.add_tensor(f"{name}.lora_a", a)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(LoraError, match="damaged: blk.0.attn_q.weight has no lora_b"):
        read_adapter(path)


def test_compatibility_names_what_differs(adapters, base_info):
    check_compatible(read_adapter(adapters["one"]), base_info)
    with pytest.raises(LoraIncompatibleError, match="for qwen2 models.*llama model"):
        check_compatible(read_adapter(adapters["qwen"]), base_info)
    with pytest.raises(LoraIncompatibleError, match=r"another size: it expects blk\.0\.attn_k\.weight to be 640x192 "
                                                    r"but in .* it is 576x192"):
        check_compatible(read_adapter(adapters["bigger"]), base_info)
    with pytest.raises(LoraIncompatibleError, match="changes blk.40.attn_q.weight, which .* does not have"):
        check_compatible(read_adapter(adapters["deeper"]), base_info)


def test_choices_parse_and_merge():
    assert parse_choice("pirate") == AdapterChoice("pirate", 1.0)
    assert parse_choice("pirate:0.5") == AdapterChoice("pirate", 0.5)
    assert parse_choice("/tmp/a:b.gguf") == AdapterChoice("/tmp/a:b.gguf", 1.0)
    for bad in ("pirate:2.5", "pirate:-1", ":0.5"):
        with pytest.raises(LoraError):
            parse_choice(bad)
    merged = merge_choices([AdapterChoice("a"), AdapterChoice("b", 0.5)], [AdapterChoice("b", 1.5), AdapterChoice("a", 0)])
    assert merged == [AdapterChoice("b", 1.5)]


# ------------------------------------------------------------------------------------ registry
def test_registry_add_get_list_remove(adapters, smollm2_path, tmp_path):
    store = HistoryStore()
    registry = LoraRegistry(store.db)
    entry = registry.add(adapters["one"], "Pirate Style")
    assert entry.name == "pirate-style" and entry.kind == "lora"
    assert [e.name for e in registry.list()] == ["pirate-style"]
    assert registry.info("pirate-style").rank == 8
    assert registry.get(str(adapters["two"])).path == adapters["two"].resolve()  # a path works ad hoc
    with pytest.raises(Exception, match="exists already"):
        registry.add(adapters["two"], "pirate-style")
    with pytest.raises(LoraError, match="is a model, not a LoRA adapter"):
        registry.add(smollm2_path, "not-an-adapter")
    with pytest.raises(LoraError, match="chat model, not a LoRA adapter"):
        registry.get("smollm2-135m-instruct")
    with pytest.raises(ModelNotFoundError, match="No LoRA adapter called 'nope'.*pirate-style"):
        registry.get("nope")
    registry.remove("pirate-style", delete_file=True)
    assert registry.list() == [] and adapters["one"].exists()  # a file the user added is never deleted
    with pytest.raises(LoraError, match="no longer installed"):
        registry.resolve([AdapterChoice("pirate-style")])
    store.close()


# ----------------------------------------------------------------------------- live switching
@pytest.fixture(scope="module")
def backend(smollm2_path):
    b = LlamaCppBackend()
    b.load(smollm2_path, LoadOptions(n_ctx=1024, n_threads=2))
    yield b
    b.unload()


def reply(backend, messages=QUESTION) -> str:
    events = list(backend.chat(messages, GREEDY))
    assert isinstance(events[-1], Finished) and events[-1].reason != "error", events[-1]
    return events[-1].text


def tokens_of(backend, messages=QUESTION, fresh: bool = True) -> list[int]:
    """Greedy token ids straight from llama.cpp (the exact-equality checks are on tokens, not text).

    ``fresh`` evaluates from an empty cache: a prompt re-read from the cache is evaluated in other
    batch shapes, which moves logits in the last bits and can flip a near-tie.
    """
    if fresh:
        backend.invalidate_cache()
    llm = backend.llama
    prompt = backend._encode(messages)
    out = []
    for token in llm.generate(prompt, top_k=1, temp=0.0, repeat_penalty=1.0):
        out.append(token)
        if len(out) == 24:
            break
    return out


def use(path, scale=1.0, name="x"):
    return ResolvedAdapter(name, path, scale)


@pytest.fixture(scope="module")
def fresh_base_tokens(smollm2_path):
    b = LlamaCppBackend()
    b.load(smollm2_path, LoadOptions(n_ctx=1024, n_threads=2))
    tokens = tokens_of(b)
    b.unload()
    return tokens


@pytest.mark.slow
def test_apply_scale_stack_and_clear_restores_the_exact_base(backend, adapters, fresh_base_tokens):
    live = backend.adapters
    base_text = reply(backend)
    assert "Paris" in base_text
    first = live.apply([use(adapters["one"], 1.0, "one")])
    assert first.changed and first.loaded == ("one",) and [a.name for a in live.active] == ["one"]
    with_one = reply(backend)
    assert with_one != base_text
    half = live.apply([use(adapters["one"], 0.5, "one")])
    assert half.changed and half.loaded == ()  # a new scale reuses the loaded adapter
    assert reply(backend) not in (with_one, base_text)
    assert not live.apply([use(adapters["one"], 0.5, "one")]).changed
    stacked = live.apply([use(adapters["one"], 1.0, "one"), use(adapters["two"], 1.0, "two")])
    assert [a.name for a in stacked.active] == ["one", "two"] and stacked.loaded == ("two",)
    assert reply(backend) not in (with_one, base_text)
    live.clear()
    assert live.active == ()
    assert tokens_of(backend) == fresh_base_tokens  # exactly the base model again, token for token
    assert len(live.loaded_paths) == 2  # kept in memory for the next switch


@pytest.mark.slow
def test_a_switch_is_computed_with_the_new_weights_not_the_cached_ones(backend, adapters, smollm2_path):
    """The trap the cache drop avoids: without it the next reply mixes old and new weights."""
    backend.adapters.clear()
    reply(backend)  # the prompt is now in the KV cache, evaluated by the base model
    backend.adapters.apply([use(adapters["one"])])
    ours = tokens_of(backend, fresh=False)  # relies on apply() having dropped the cache

    fresh = LlamaCppBackend()
    fresh.load(smollm2_path, LoadOptions(n_ctx=1024, n_threads=2))
    fresh.adapters.apply([use(adapters["one"])])
    expected = tokens_of(fresh)
    assert ours == expected

    # the same switch done behind our back (no cache drop) gives a different reply
    fresh.adapters.clear()
    tokens_of(fresh)  # the prompt is cached, evaluated with the base weights
    pointer = fresh.adapters._handles[adapters["one"].resolve()].pointer
    llama_native.set_adapters(fresh.llama, [pointer], [1.0])
    stale = tokens_of(fresh, fresh=False)
    assert stale != expected
    llama_native.set_adapters(fresh.llama, [], [])
    fresh.unload()
    backend.adapters.clear()


@pytest.mark.slow
def test_stacked_adapters_each_count_with_their_own_scale(backend, base_info, tmp_path):
    """Attention adapter at 1.0 plus MLP adapter at 0.5 == one file holding both, the MLP B halved.

    The two change different weights, so llama.cpp does the very same arithmetic either way (halving
    is exact in binary floating point) and the tokens must be identical.
    """
    shapes = base_shapes(base_info)
    attn = random_pairs(shapes, rank=4, std=0.3, seed=11, kinds=("attn_q", "attn_k", "attn_v", "attn_output"))
    mlp = random_pairs(shapes, rank=4, std=0.3, seed=12, kinds=("ffn_gate", "ffn_up", "ffn_down"))
    write_adapter_gguf(tmp_path / "attn.gguf", architecture="llama", alpha=4.0, pairs=attn, name="attn")
    write_adapter_gguf(tmp_path / "mlp.gguf", architecture="llama", alpha=4.0, pairs=mlp, name="mlp")
    both = attn + [(n, a, b * 0.5) for n, a, b in mlp]
    write_adapter_gguf(tmp_path / "both.gguf", architecture="llama", alpha=4.0, pairs=both, name="both")
    live = backend.adapters
    live.apply([use(tmp_path / "attn.gguf", 1.0, "attn"), use(tmp_path / "mlp.gguf", 0.5, "mlp")])
    stacked = tokens_of(backend)
    live.apply([use(tmp_path / "attn.gguf", 1.0, "attn")])
    attn_only = tokens_of(backend)
    live.apply([use(tmp_path / "mlp.gguf", 1.0, "mlp")])
    mlp_full = tokens_of(backend)
    live.apply([use(tmp_path / "both.gguf", 1.0, "both")])
    assert tokens_of(backend) == stacked
    assert stacked != attn_only and stacked != mlp_full
    live.clear()


@pytest.mark.slow
def test_refusals_leave_the_model_working(backend, adapters, fresh_base_tokens, tmp_path):
    live = backend.adapters
    live.apply([use(adapters["one"], 1.0, "one")])
    before = tokens_of(backend)
    for bad, error in [(adapters["qwen"], "qwen2"), (adapters["bigger"], "another size"),
                       (adapters["deeper"], "does not have"), (tmp_path / "gone.gguf", "is gone")]:
        with pytest.raises(LoraError, match=error):
            live.apply([use(adapters["one"], 1.0, "one"), use(bad, 1.0, "bad")])
        assert [a.name for a in live.active] == ["one"]  # all or nothing: the old set is still on
    with pytest.raises(LoraError, match="from 0 to 2"):
        live.apply([use(adapters["one"], 2.5)])
    with pytest.raises(LoraError, match="listed twice"):
        live.apply([use(adapters["one"]), use(adapters["one"], 0.5)])
    assert tokens_of(backend) == before
    live.clear()
    assert tokens_of(backend) == fresh_base_tokens


@pytest.mark.slow
def test_adapters_are_freed_with_the_model_and_reloaded_after(smollm2_path, adapters, tmp_path):
    host = ModelHost()
    try:
        host.load(smollm2_path, LoadOptions(n_ctx=512, n_threads=2)).result()
        host.call(lambda b: b.adapters.apply([use(adapters["one"]), use(adapters["two"], 0.5)]))
        assert len(host.call(lambda b: b.adapters.loaded_paths)) == 2
        host.load(smollm2_path, LoadOptions(n_ctx=512, n_threads=2)).result()  # replacing the model frees them
        assert host.call(lambda b: (b.adapters.active, b.adapters.loaded_paths)) == ((), [])
        result = host.call(lambda b: b.adapters.apply([use(adapters["one"])]))
        assert result.changed and result.loaded == ("x",)
        host.call(lambda b: b.adapters.forget(adapters["one"]))
        assert host.call(lambda b: (b.adapters.active, b.adapters.loaded_paths)) == ((), [])
        # an adapter file rewritten in place (retrained under the same name) is read again
        path = tmp_path / "retrained.gguf"
        random_adapter(path, read_gguf(smollm2_path), seed=21)
        host.call(lambda b: b.adapters.apply([use(path)]))
        random_adapter(path, read_gguf(smollm2_path), seed=22)
        os.utime(path, ns=(1, 1))
        again = host.call(lambda b: b.adapters.apply([use(path)]))
        assert again.changed and again.loaded == ("x",)
        host.unload().result()
        assert host.call(lambda b: b.adapters.loaded_paths) == []
    finally:
        host.close()


# ---------------------------------------------------------------------------- conversations
def drain(events) -> str:
    finished = None
    for event in events:
        if isinstance(event, Finished):
            finished = event
    assert finished is not None and finished.reason != "error", finished
    return finished.text


@pytest.mark.slow
def test_each_conversation_keeps_its_own_adapters(smollm2_path, adapters):
    host = ModelHost()
    store = HistoryStore()
    registry = LoraRegistry(store.db)
    registry.add(adapters["one"], "one")
    registry.add(adapters["two"], "two")
    try:
        host.load(smollm2_path, LoadOptions(n_ctx=1024, n_threads=2)).result()
        plain = ChatSession(host, store, params=GREEDY)
        styled = ChatSession(host, store, params=GREEDY)
        styled.set_adapters([AdapterChoice("one", 1.0), AdapterChoice("two", 0.5)])
        question = "What is the capital of France?"
        base_answer = drain(plain.send(question))
        styled_answer = drain(styled.send(question))
        assert styled_answer != base_answer
        # alternate: each reply is computed with its own conversation's adapters
        assert drain(ChatSession(host, store, plain.conversation_id).regenerate()) == base_answer
        assert drain(ChatSession(host, store, styled.conversation_id).regenerate()) == styled_answer
        # remembered with the conversation, and on each reply it wrote
        reopened = ChatSession(host, store, styled.conversation_id)
        assert reopened.adapters == [AdapterChoice("one", 1.0), AdapterChoice("two", 0.5)]
        assert reopened.thread()[-1].extra["lora"] == [{"name": "one", "scale": 1.0}, {"name": "two", "scale": 0.5}]
        # switched off mid-conversation: the next answer is the base model's
        reopened.set_adapters([])
        assert drain(reopened.regenerate()) == base_answer
        # an adapter that cannot be applied is refused at once and nothing is saved
        with pytest.raises(LoraError, match="No LoRA adapter called 'nope'"):
            reopened.set_adapters([AdapterChoice("nope")])
        registry.add(adapters["bigger"], "bigger")
        with pytest.raises(LoraIncompatibleError):
            reopened.set_adapters([AdapterChoice("bigger")])
        assert reopened.adapters == []
        # an adapter removed after it was chosen: the reply is refused before the message is stored
        third = ChatSession(host, store, params=GREEDY)
        third.set_adapters([AdapterChoice("two")])
        registry.remove("two")
        with pytest.raises(LoraError, match="'two', which is no longer installed"):
            third.send("And of Spain?")
        assert store.thread(third.conversation_id) == []
        assert drain(plain.send("And of Germany?"))  # the model keeps working
    finally:
        host.close()
        store.close()


def test_download_an_adapter_through_the_hub_standin(adapters, smollm2_path, monkeypatch):
    """The real huggingface_hub client against the local Hub stand-in: downloaded, checked, registered."""
    from tests.support.hub_standin import HubStandIn

    for name in ("HF_TOKEN", "HF_ENDPOINT", "HF_HUB_OFFLINE", "INGLENOOK_OFFLINE", "INGLENOOK_HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    import huggingface_hub.constants as hf_constants

    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    store = HistoryStore()
    registry = LoraRegistry(store.db)
    with HubStandIn() as hub:
        hub.add_file("someone/styles", "pirate.gguf", adapters["two"])
        hub.add_file("someone/styles", "model.gguf", smollm2_path)
        entry = registry.download("someone/styles", "pirate.gguf", endpoint=hub.endpoint)
        assert entry.name == "pirate" and entry.source == "hub" and entry.repo_id == "someone/styles"
        assert entry.path.read_bytes() == adapters["two"].read_bytes() and registry.info("pirate").rank == 4
        with pytest.raises(LoraError, match="is a model, not a LoRA adapter"):
            registry.download("someone/styles", "model.gguf", endpoint=hub.endpoint)
        assert not (entry.path.parent / "model.gguf").exists()  # the refused download is not kept
    registry.remove("pirate", delete_file=True)
    assert not entry.path.exists()
    store.close()
