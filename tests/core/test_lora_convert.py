"""PEFT -> GGUF conversion without torch: names, orientation, alpha, the q/k row permutation, refusals.

That the converted adapter really does in llama.cpp what PEFT does in torch is
``test_lora_equivalence.py`` (needs the `train` extra).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.errors import LoraConversionError, LoraIncompatibleError
from engine.lora.adapters import read_adapter
from engine.lora.convert import convert_peft, permute_qk_rows, read_peft, unpermute_qk_rows
from engine.lora.safetensors_io import read_safetensors, write_safetensors
from engine.models.gguf import read_gguf
from tests.support.lora_helpers import peft_folder, peft_modules


@pytest.fixture(scope="module")
def base_info(smollm2_path):
    return read_gguf(smollm2_path)


def gguf_tensors(path) -> dict[str, np.ndarray]:
    """The adapter's tensors as numpy arrays, as llama.cpp sees them (numpy shape = reversed ggml shape)."""
    import gguf

    return {t.name: np.array(t.data) for t in gguf.GGUFReader(str(path)).tensors}


# -------------------------------------------------------------------------------- permutation
def test_permutation_interleaves_the_rotary_pairs_of_each_head():
    # HF's rotary embedding pairs dimension i with i + head_dim/2 ("rotate half"); llama.cpp's llama
    # kernel pairs 2i with 2i + 1. Two heads of 8 rows: each pair must land side by side.
    rows = np.arange(16, dtype=np.float32)[:, None]
    permuted = permute_qk_rows(rows, n_heads=2)[:, 0].astype(int).tolist()
    assert permuted == [0, 4, 1, 5, 2, 6, 3, 7, 8, 12, 9, 13, 10, 14, 11, 15]
    matrix = np.random.default_rng(0).standard_normal((192, 5)).astype(np.float32)
    assert np.array_equal(unpermute_qk_rows(permute_qk_rows(matrix, 3), 3), matrix)
    with pytest.raises(LoraConversionError):
        permute_qk_rows(np.zeros((10, 2)), 3)


# ---------------------------------------------------------------------------------- converting
def test_conversion_names_orientation_alpha_and_permutation(tmp_path, base_info):
    modules = peft_modules(base_info, rank=4, layers=(0, 2))
    folder = peft_folder(tmp_path / "peft", modules, alpha=8.0)
    info = convert_peft(folder, base_info, tmp_path / "out.gguf", name="mine")
    assert info.architecture == "llama" and info.alpha == 8.0 and info.rank == 4 and info.name == "mine"
    assert info.layers == [0, 2] and len(info.pairs) == 14
    assert info.targets == ["attn_k", "attn_output", "attn_q", "attn_v", "ffn_down", "ffn_gate", "ffn_up"]
    assert info.base_model == base_info.name
    assert info.metadata["inglenook.lora.peft_base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    tensors = gguf_tensors(tmp_path / "out.gguf")
    a_hf, b_hf = modules["model.layers.2.mlp.down_proj"]
    assert np.array_equal(tensors["blk.2.ffn_down.weight.lora_a"], a_hf)  # numpy (r, n_in) = ggml [n_in, r]
    assert np.array_equal(tensors["blk.2.ffn_down.weight.lora_b"], b_hf)
    for kind, heads in (("q_proj", 9), ("k_proj", 3)):
        a_hf, b_hf = modules[f"model.layers.0.self_attn.{kind}"]
        a, b = tensors[f"blk.0.attn_{kind[0]}.weight.lora_a"], tensors[f"blk.0.attn_{kind[0]}.weight.lora_b"]
        assert np.array_equal(a, a_hf) and not np.array_equal(b, b_hf)
        # the change the adapter makes equals the HF change with its rows put in llama.cpp's order
        assert np.allclose(b @ a, permute_qk_rows(b_hf @ a_hf, heads), atol=1e-6)
    a_hf, b_hf = modules["model.layers.0.self_attn.v_proj"]
    assert np.array_equal(tensors["blk.0.attn_v.weight.lora_b"], b_hf)  # v is not permuted


def test_rslora_and_alpha_pattern_are_folded_into_b(tmp_path, base_info):
    modules = peft_modules(base_info, rank=4, layers=(0,), kinds=("v_proj", "up_proj"))
    folder = peft_folder(tmp_path / "peft", modules, alpha=8.0, use_rslora=True, alpha_pattern={"up_proj": 2.0})
    convert_peft(folder, base_info, tmp_path / "out.gguf")
    tensors = gguf_tensors(tmp_path / "out.gguf")
    llama_factor = 8.0 / 4  # what llama.cpp multiplies B @ A by: alpha / rank
    for module, key, alpha in (("self_attn.v_proj", "attn_v", 8.0), ("mlp.up_proj", "ffn_up", 2.0)):
        a_hf, b_hf = modules[f"model.layers.0.{module}"]
        peft_delta = alpha / np.sqrt(4) * (b_hf @ a_hf)  # rsLoRA: alpha / sqrt(r)
        ours = llama_factor * tensors[f"blk.0.{key}.weight.lora_b"] @ tensors[f"blk.0.{key}.weight.lora_a"]
        assert np.allclose(ours, peft_delta, atol=1e-5)


def test_f16_output_and_bf16_input(tmp_path, base_info):
    modules = peft_modules(base_info, rank=4, layers=(1,), kinds=("o_proj",))
    (a, b), = modules.values()
    folder = tmp_path / "peft"
    folder.mkdir()
    as_bf16 = {k: (v.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16) for k, v in
               {"base_model.model.model.layers.1.self_attn.o_proj.lora_A.weight": a,
                "base_model.model.model.layers.1.self_attn.o_proj.lora_B.weight": b}.items()}
    header, blobs, offset = {}, [], 0
    for name, raw in as_bf16.items():
        blob = raw.tobytes()
        header[name] = {"dtype": "BF16", "shape": list(raw.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header).encode()
    (folder / "adapter_model.safetensors").write_bytes(len(encoded).to_bytes(8, "little") + encoded + b"".join(blobs))
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "lora_alpha": 4, "r": 4}))
    tensors, _ = read_safetensors(folder / "adapter_model.safetensors")
    assert np.allclose(next(iter(tensors.values())), a, rtol=1e-2, atol=1e-3)  # bf16 keeps ~3 digits
    info = convert_peft(folder, base_info, tmp_path / "half.gguf", dtype="f16")
    assert info.rank == 4
    import gguf

    types = {t.tensor_type for t in gguf.GGUFReader(str(tmp_path / "half.gguf")).tensors}
    assert types == {gguf.GGMLQuantizationType.F16}


# ------------------------------------------------------------------------------------ refusals
def one_module(base_info):
    return peft_modules(base_info, rank=4, layers=(0,), kinds=("q_proj",))


@pytest.mark.parametrize("config, message", [
    ({"use_dora": True}, "DoRA adapter"),
    ({"modules_to_save": ["lm_head"]}, "saves whole modules \\(lm_head\\)"),
    ({"peft_type": "IA3"}, "is a IA3 adapter"),
    ({"bias": "all"}, "trains biases"),
    ({"lora_alpha": 0}, "no valid lora_alpha"),
])
def test_unsupported_configs_are_refused(tmp_path, base_info, config, message):
    folder = peft_folder(tmp_path / "peft", one_module(base_info), **config)
    with pytest.raises(LoraConversionError, match=message):
        convert_peft(folder, base_info, tmp_path / "out.gguf")
    assert not (tmp_path / "out.gguf").exists()


def test_unsupported_target_modules_are_refused(tmp_path, base_info):
    modules = one_module(base_info)
    (a, b), = modules.values()
    strange = {**modules, "model.layers.0.mlp.fc_in": (a, b), "model.layers.0.self_attn.rotary": (a, b)}
    with pytest.raises(LoraConversionError, match="changes fc_in, rotary, which .* Supported target modules: q_proj"):
        read_peft(peft_folder(tmp_path / "strange", strange))
    embed = {"model.embed_tokens": (a, b)}
    with pytest.raises(LoraConversionError, match="token embeddings or the output head"):
        read_peft(peft_folder(tmp_path / "embed", embed))
    head = {"lm_head": (a, b)}
    with pytest.raises(LoraConversionError, match="token embeddings or the output head"):
        read_peft(peft_folder(tmp_path / "head", head))


def test_dora_magnitudes_half_pairs_and_missing_files_are_refused(tmp_path, base_info):
    modules = one_module(base_info)
    folder = peft_folder(tmp_path / "dora", modules)
    tensors, _ = read_safetensors(folder / "adapter_model.safetensors")
    tensors["base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector"] = np.ones(576, np.float32)
    write_safetensors(folder / "adapter_model.safetensors", tensors)
    with pytest.raises(LoraConversionError, match="DoRA magnitude"):
        read_peft(folder)
    del tensors["base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector"]
    del tensors["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"]
    write_safetensors(folder / "adapter_model.safetensors", tensors)
    with pytest.raises(LoraConversionError, match="q_proj has no lora_B"):
        read_peft(folder)
    (folder / "adapter_model.safetensors").unlink()
    (folder / "adapter_model.bin").write_bytes(b"pickle")
    with pytest.raises(LoraConversionError, match="adapter_model.bin .* safe_serialization=True"):
        read_peft(folder)
    with pytest.raises(LoraConversionError, match="no adapter_config.json"):
        read_peft(tmp_path)
    with pytest.raises(LoraConversionError, match="is not a folder"):
        read_peft(tmp_path / "nothing")
    (folder / "adapter_model.safetensors").write_bytes(b"\xff" * 64)
    with pytest.raises(LoraConversionError, match="not a valid safetensors file"):
        read_peft(folder)


def test_an_adapter_for_a_bigger_model_is_refused_before_writing(tmp_path, base_info):
    rng = np.random.default_rng(0)
    bigger = {"model.layers.0.self_attn.q_proj": (rng.standard_normal((4, 960)).astype(np.float32),
                                                  rng.standard_normal((960, 4)).astype(np.float32))}
    folder = peft_folder(tmp_path / "peft", bigger)
    with pytest.raises(LoraIncompatibleError, match="another size: it expects blk.0.attn_q.weight to be 960x960"):
        convert_peft(folder, base_info, tmp_path / "out.gguf")
    assert not (tmp_path / "out.gguf").exists()
    deep = {"model.layers.31.self_attn.q_proj": one_module(base_info)["model.layers.0.self_attn.q_proj"]}
    with pytest.raises(LoraIncompatibleError, match="blk.31.attn_q.weight, which .* does not have"):
        convert_peft(peft_folder(tmp_path / "deep", deep), base_info, tmp_path / "out.gguf")


def test_the_base_must_be_a_llama_model(tmp_path, base_info, smollm2_path):
    folder = peft_folder(tmp_path / "peft", one_module(base_info))
    adapter = convert_peft(folder, base_info, tmp_path / "ok.gguf")
    with pytest.raises(LoraConversionError, match="itself an adapter"):
        convert_peft(folder, adapter.path, tmp_path / "out.gguf")
    import dataclasses

    qwen = dataclasses.replace(base_info, metadata={**base_info.metadata, "general.architecture": "qwen2"})
    with pytest.raises(LoraConversionError, match="for qwen2 models is not supported yet"):
        convert_peft(folder, qwen, tmp_path / "out.gguf")
    assert read_adapter(tmp_path / "ok.gguf").rank == 4
