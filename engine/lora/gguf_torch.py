"""A transformers Llama model built from a GGUF file's own (dequantized) weights. Needs the ``train`` extra.

Training a LoRA needs the base weights in torch. Users have the GGUF, not the original Hugging Face
checkpoint, so we rebuild the model from the GGUF: the config from its metadata, each tensor
dequantized with the ``gguf`` package, the llama.cpp names mapped back to Hugging Face's, and the
query/key rows put back in Hugging Face's order (llama.cpp's converter permuted them). An adapter
trained on this model is therefore trained on exactly the weights llama.cpp will add it to.

(transformers can also read a GGUF with ``from_pretrained(gguf_file=...)``; it works offline but
spends most of its time parsing the vocabulary we do not need, and ties us to its private loader.)
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

from engine.errors import TrainingError, TrainingUnavailableError
from engine.lora.convert import unpermute_qk_rows
from engine.models.gguf import GGUFInfo, read_gguf

_LAYER_NAMES = {
    "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
_GLOBAL_NAMES = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}
_BLOCK = re.compile(r"^blk\.(\d+)\.([a-z_]+)\.weight$")


def require_torch():
    """Import torch, transformers and peft, or say how to install them."""
    try:
        import peft  # noqa: F401
        import torch
        import transformers  # noqa: F401
    except ImportError as exc:
        if getattr(sys, "frozen", False):  # the packaged app leaves PyTorch out (it would triple its size)
            raise TrainingUnavailableError(
                "Training styles is not part of the packaged app (it needs PyTorch). Install Inglenook from "
                "source with the `train` extra to train, then add the adapter here with `nook lora add`."
            ) from None
        raise TrainingUnavailableError(
            f"Training needs the optional `train` extra ({exc.name} is missing). Install it with "
            "`pip install 'inglenook[train]'` (CPU torch, about 200 MB) and try again."
        ) from None
    return torch


def hf_name(gguf_name: str) -> str | None:
    """Hugging Face's name for a llama.cpp tensor name, or None for one a llama model does not use."""
    match = _BLOCK.match(gguf_name)
    if match:
        layer, kind = match.groups()
        target = _LAYER_NAMES.get(kind)
        return f"model.layers.{layer}.{target}.weight" if target else None
    stem = gguf_name.removesuffix(".weight")
    return f"{_GLOBAL_NAMES[stem]}.weight" if stem in _GLOBAL_NAMES and gguf_name.endswith(".weight") else None


def dequantized_tensors(info: GGUFInfo) -> dict[str, np.ndarray]:
    """Every tensor of the GGUF as float32, numpy shape ``(ne[1], ne[0])`` (torch's ``out x in``)."""
    from gguf import GGMLQuantizationType
    from gguf.quants import dequantize

    data = np.memmap(info.path, dtype=np.uint8, mode="r", offset=info.data_offset)
    out = {}
    for tensor in info.tensors:
        raw = np.asarray(data[tensor.offset:tensor.offset + tensor.nbytes])
        qtype = GGMLQuantizationType(tensor.ggml_type)
        rows = int(np.prod(tensor.shape[1:])) if len(tensor.shape) > 1 else 1
        if qtype == GGMLQuantizationType.F32:
            values = raw.view(np.float32)
        else:
            values = dequantize(raw.reshape(rows, -1), qtype)
        out[tensor.name] = np.array(values, dtype=np.float32).reshape(tuple(reversed(tensor.shape)))
    return out


def llama_config(info: GGUFInfo):
    """A ``transformers.LlamaConfig`` from the GGUF's metadata."""
    from transformers import LlamaConfig

    if info.architecture != "llama":
        raise TrainingError(
            f"Training supports llama-architecture models; {info.name} is a {info.architecture} model."
        )
    scaling = info.arch_value("rope.scaling.type")
    if scaling not in (None, "none"):
        raise TrainingError(f"{info.name} uses {scaling} rope scaling, which training does not support yet.")
    shapes = {t.name: t.shape for t in info.tensors}
    n_head = info.head_count
    hidden = info.embedding_length
    head_dim = info.arch_value("attention.key_length") or info.arch_value("rope.dimension_count") or hidden // n_head
    return LlamaConfig(
        vocab_size=shapes["token_embd.weight"][1],
        hidden_size=hidden,
        intermediate_size=info.arch_value("feed_forward_length"),
        num_hidden_layers=info.block_count,
        num_attention_heads=n_head,
        num_key_value_heads=info.head_count_kv,
        head_dim=head_dim,
        rms_norm_eps=float(info.arch_value("attention.layer_norm_rms_epsilon") or 1e-5),
        rope_theta=float(info.arch_value("rope.freq_base") or 10000.0),
        max_position_embeddings=info.context_length or 2048,
        tie_word_embeddings="output.weight" not in shapes,
        bos_token_id=info.metadata.get("tokenizer.ggml.bos_token_id"),
        eos_token_id=info.metadata.get("tokenizer.ggml.eos_token_id"),
        attention_bias=False,
        mlp_bias=False,
    )


def load_llama(path: str | Path | GGUFInfo):
    """``(LlamaForCausalLM in float32, eval mode, GGUFInfo)`` with the GGUF's weights."""
    torch = require_torch()
    from transformers import LlamaForCausalLM

    info = path if isinstance(path, GGUFInfo) else read_gguf(path)
    config = llama_config(info)
    state = {}
    for name, array in dequantized_tensors(info).items():
        target = hf_name(name)
        if target is None:
            continue
        if name.endswith("attn_q.weight"):
            array = unpermute_qk_rows(array, config.num_attention_heads)
        elif name.endswith("attn_k.weight"):
            array = unpermute_qk_rows(array, config.num_key_value_heads)
        state[target] = torch.from_numpy(np.ascontiguousarray(array))
    with _no_init():
        model = LlamaForCausalLM(config)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not (config.tie_word_embeddings and m == "lm_head.weight")]
    if missing or unexpected:
        raise TrainingError(
            f"{info.path} does not have the tensors of a llama model (missing {missing[:3]}, unexpected "
            f"{unexpected[:3]}); it cannot be used as a training base."
        )
    if config.tie_word_embeddings:
        model.tie_weights()
    model.eval()
    return model, info


def _no_init():
    """Skip random initialisation (seconds for 135M parameters): every weight is overwritten anyway."""
    try:
        from transformers.initialization import no_init_weights
    except ImportError:  # other transformers versions: initialise, it is only slower
        import contextlib

        return contextlib.nullcontext()
    return no_init_weights()
