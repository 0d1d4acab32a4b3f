"""A converted adapter does in llama.cpp what PEFT does in transformers. Needs the `train` extra.

SmolLM2 is built in transformers from the GGUF's own dequantized weights, a strong random PEFT LoRA
is put on it, saved, converted by our converter and loaded by llama.cpp. Both runtimes must then
predict the same tokens. A Q4_1 model in llama.cpp (which also rounds activations to 8 bits) and the
same weights in float32 torch never agree bit for bit, so the checks are: teacher-forced next-token
agreement on llama.cpp's own continuations, the correlation of the adapter's *effect* on the logits
in the two runtimes, and whole continuations that match. The negative control converts the same
adapter without the q/k row permutation and the agreement falls apart.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine import llama_native
from engine.lora import convert as lora_convert
from engine.lora.convert import convert_peft
from engine.models.gguf import read_gguf

torch = pytest.importorskip("torch", reason="the equivalence tests need the optional `train` extra (torch, peft)")
peft = pytest.importorskip("peft", reason="the equivalence tests need the optional `train` extra (torch, peft)")



@pytest.fixture(scope="module")
def base_info(smollm2_path):
    return read_gguf(smollm2_path)


PROMPTS = ["What is the capital of France?", "Write a haiku about the sea.", "How do I boil an egg?",
           "Name three colours.", "Why is the sky blue?"]


@pytest.fixture(scope="module")
def torch_base(base_info):
    from engine.lora.gguf_torch import load_llama

    torch.manual_seed(0)
    model, _ = load_llama(base_info)
    return model


@pytest.fixture(scope="module")
def llama(smollm2_path):
    llama_cpp, _ = llama_native.modules()
    llm = llama_cpp.Llama(str(smollm2_path), n_ctx=512, n_threads=2, verbose=False, logits_all=True)
    yield llm
    llm.close()


def prompt_tokens(llm, text: str) -> list[int]:
    return llm.tokenize(f"<|im_start|>user\n{text}<|im_end|>\n<|im_start|>assistant\n".encode(), special=True)


def llama_logits(llm, tokens: list[int]) -> np.ndarray:
    llm.reset()
    llm.eval(tokens)
    return np.array(llm.scores[: len(tokens)])


def torch_logits(model, tokens: list[int]) -> np.ndarray:
    with torch.no_grad():
        return model(torch.tensor([tokens])).logits[0].numpy()


class Adapter:
    """Switch one GGUF adapter on the raw llama.cpp context (the engine's switching is tested elsewhere)."""

    def __init__(self, llm, path) -> None:
        self.llm = llm
        self.pointer = llama_native.adapter_init(llm, path)
        assert self.pointer, f"llama.cpp refused {path}"

    def __enter__(self):
        llama_native.set_adapters(self.llm, [self.pointer], [1.0])
        return self

    def __exit__(self, *exc) -> None:
        llama_native.set_adapters(self.llm, [], [])
        llama_native.adapter_free(self.pointer)


def greedy(llm, tokens: list[int], n: int = 16) -> list[int]:
    llm.reset()
    out = []
    for token in llm.generate(tokens, top_k=1, temp=0.0, repeat_penalty=1.0):
        out.append(token)
        if len(out) == n:
            break
    return out


@pytest.mark.slow
def test_the_torch_model_from_the_gguf_matches_llama_cpp(torch_base, llama):
    tokens = prompt_tokens(llama, PROMPTS[0]) + llama.tokenize(b"The capital of France is Paris.")
    ours, theirs = torch_logits(torch_base, tokens), llama_logits(llama, tokens)
    assert np.corrcoef(ours.ravel(), theirs.ravel())[0, 1] > 0.999
    assert (ours.argmax(-1) == theirs.argmax(-1)).mean() > 0.8  # llama.cpp rounds activations to 8 bits


def compare(llama, peft_model, path) -> dict:
    """Over the prompts: llama.cpp's greedy continuation with the adapter, replayed in torch + PEFT.

    ``agree``: share of those positions where torch picks the same next token (teacher-forced, so one
    near-tie does not derail the rest); ``same``: prompts where it agrees at every position, i.e. torch's
    own greedy decoding would produce exactly llama.cpp's tokens; ``delta``: correlation of the
    adapter's effect on the logits (adapter minus base) in the two runtimes.
    """
    agree, delta, same, changed = [], [], 0, 0
    with Adapter(llama, path):
        generated = {p: greedy(llama, prompt_tokens(llama, p)) for p in PROMPTS}
        with_adapter = {p: llama_logits(llama, prompt_tokens(llama, p) + generated[p]) for p in PROMPTS}
    for prompt in PROMPTS:
        tokens = prompt_tokens(llama, prompt)
        sequence = tokens + generated[prompt]
        start = len(tokens) - 1
        base_llama = llama_logits(llama, sequence)
        changed += greedy(llama, tokens) != generated[prompt]
        ours = torch_logits(peft_model, sequence)
        with peft_model.disable_adapter():
            base_torch = torch_logits(peft_model, sequence)
        hits = ours[start:-1].argmax(-1) == np.array(generated[prompt])
        agree.append(hits.mean())
        same += bool(hits.all())
        effect_llama = (with_adapter[prompt] - base_llama)[start:]
        effect_torch = (ours - base_torch)[start:]
        delta.append(np.corrcoef(effect_llama.ravel(), effect_torch.ravel())[0, 1])
    return {"agree": float(np.mean(agree)), "delta": float(np.mean(delta)), "same": same, "changed": changed}


@pytest.mark.slow
@pytest.mark.timeout(1800)  # about 2 minutes on an idle 2-core machine; much more when the CPU is shared
def test_converted_adapter_does_in_llama_cpp_what_peft_does_in_torch(torch_base, llama, base_info, tmp_path,
                                                                     monkeypatch):
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    config = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, bias="none",
                        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    model = get_peft_model(torch_base, config)
    with torch.no_grad():  # PEFT starts B at zero (no effect); make it a strong, visible change
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0.0, 0.2)
    model.eval()
    folder = tmp_path / "peft"
    model.save_pretrained(folder)
    right = convert_peft(folder, base_info, tmp_path / "right.gguf").path
    monkeypatch.setattr(lora_convert, "permute_qk_rows", lambda b, n_heads: b)  # the mistake to catch
    wrong = convert_peft(folder, base_info, tmp_path / "wrong.gguf").path
    monkeypatch.undo()
    try:
        good = compare(llama, model, right)
        bad = compare(llama, model, wrong)
    finally:
        model.unload()
    print(f"\nconverted: {good}\nwithout the q/k permutation: {bad}")
    assert good["changed"] >= 4  # the adapter really changes what the model says
    assert good["agree"] >= 0.9 and good["delta"] >= 0.97
    assert good["same"] >= 1  # whole continuations match token for token (near-ties aside)
    assert bad["agree"] <= good["agree"] - 0.15 and bad["delta"] <= good["delta"] - 0.04
