"""Making real adapter files for the LoRA tests: GGUF adapters and PEFT folders, without torch.

The matrices are seeded random numbers; ``std`` sets how strongly an adapter changes the model (0.4
on every projection of SmolLM2 turns its answers into different text, which makes a switch visible).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from engine.lora.convert import MODULE_TENSORS, write_adapter_gguf
from engine.lora.safetensors_io import write_safetensors
from engine.models.gguf import GGUFInfo

KINDS = tuple(MODULE_TENSORS.values())  # attn_q ... ffn_down


def base_shapes(info: GGUFInfo) -> dict[str, tuple[int, int]]:
    """``{tensor name: (n_in, n_out)}`` of the base's 2-D weights."""
    return {t.name: (t.shape[0], t.shape[1]) for t in info.tensors if len(t.shape) == 2}


def random_pairs(shapes: dict[str, tuple[int, int]], *, rank: int = 8, std: float = 0.4, seed: int = 0,
                 kinds=KINDS, layers=None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    pairs = []
    for name, (n_in, n_out) in sorted(shapes.items()):
        parts = name.split(".")
        if len(parts) != 4 or parts[0] != "blk" or parts[2] not in kinds:
            continue
        if layers is not None and int(parts[1]) not in layers:
            continue
        a = (rng.standard_normal((rank, n_in)) / np.sqrt(n_in)).astype(np.float32)
        b = (rng.standard_normal((n_out, rank)) * std).astype(np.float32)
        pairs.append((name, a, b))
    return pairs


def random_adapter(path: Path, base: GGUFInfo | dict, *, rank: int = 8, std: float = 0.4, seed: int = 0,
                   kinds=KINDS, layers=None, architecture: str = "llama", name: str | None = None) -> Path:
    """A GGUF LoRA adapter for ``base`` (a GGUFInfo, or a ``{name: (n_in, n_out)}`` dict for a made-up model).

    alpha = rank, so llama.cpp's alpha/rank factor is 1 and the user's scale is the only scale.
    """
    shapes = base_shapes(base) if isinstance(base, GGUFInfo) else base
    pairs = random_pairs(shapes, rank=rank, std=std, seed=seed, kinds=kinds, layers=layers)
    return write_adapter_gguf(path, architecture=architecture, alpha=float(rank), pairs=pairs,
                              name=name or Path(path).stem, base_model="test base")


def peft_folder(folder: Path, modules: dict[str, tuple[np.ndarray, np.ndarray]], *, alpha: float = 16.0,
                **config) -> Path:
    """A PEFT adapter folder: ``modules`` maps HF module names (``model.layers.0.self_attn.q_proj``) to (A, B)."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for module, (a, b) in modules.items():
        tensors[f"base_model.model.{module}.lora_A.weight"] = a
        tensors[f"base_model.model.{module}.lora_B.weight"] = b
    write_safetensors(folder / "adapter_model.safetensors", tensors, {"format": "pt"})
    targets = sorted({m.rsplit(".", 1)[-1] for m in modules})
    settings = {"peft_type": "LORA", "r": next(iter(modules.values()))[0].shape[0] if modules else 8,
                "lora_alpha": alpha, "target_modules": targets, "bias": "none", "use_dora": False,
                "modules_to_save": None, "base_model_name_or_path": "HuggingFaceTB/SmolLM2-135M-Instruct",
                "task_type": "CAUSAL_LM"}
    settings.update(config)
    (folder / "adapter_config.json").write_text(json.dumps(settings), encoding="utf-8")
    return folder


def peft_modules(info: GGUFInfo, *, rank: int = 4, std: float = 0.3, seed: int = 0, layers=(0, 1),
                 kinds=("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")):
    """Random PEFT matrices of the right sizes for ``info`` (HF orientation: A rank x n_in, B n_out x rank)."""
    shapes = base_shapes(info)
    rng = np.random.default_rng(seed)
    out = {}
    for layer in layers:
        for kind in kinds:
            n_in, n_out = shapes[f"blk.{layer}.{MODULE_TENSORS[kind]}.weight"]
            group = "self_attn" if kind in ("q_proj", "k_proj", "v_proj", "o_proj") else "mlp"
            a = (rng.standard_normal((rank, n_in)) / np.sqrt(n_in)).astype(np.float32)
            b = (rng.standard_normal((n_out, rank)) * std).astype(np.float32)
            out[f"model.layers.{layer}.{group}.{kind}"] = (a, b)
    return out
