"""Turn a Hugging Face PEFT LoRA folder into a GGUF adapter that llama.cpp can switch on live.

A PEFT folder holds ``adapter_config.json`` and ``adapter_model.safetensors`` with, for each
changed projection, ``lora_A`` (``rank x n_in``) and ``lora_B`` (``n_out x rank``); the change to the
weight is ``(alpha / rank) * B @ A``. The GGUF adapter holds the same two matrices under llama.cpp's
tensor names (``blk.N.attn_q.weight.lora_a`` / ``.lora_b``). Written from numpy's row-major arrays,
``A`` becomes a ggml ``[n_in, rank]`` tensor and ``B`` a ``[rank, n_out]`` one, which is the
orientation llama.cpp expects, so no transpose is needed.

The part that is easy to miss: when llama.cpp converts a Hugging Face *llama* model it permutes the
rows of ``q_proj`` and ``k_proj`` (HF's rotary layout pairs dimension ``i`` with ``i + head_dim/2``;
llama.cpp's pairs ``2i`` with ``2i + 1``). The GGUF base weights are stored permuted, so an adapter's
change to them must be permuted the same way: that is the rows of ``B`` (``P(B @ A) = P(B) @ A``).
Without it the adapter loads fine and silently does the wrong thing.

Per-module ``alpha_pattern`` and rsLoRA scaling are folded into ``B``, because a GGUF adapter
has one alpha and llama.cpp divides it by each tensor's own rank.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import LoraConversionError, ModelError
from engine.lora.adapters import AdapterInfo, LoraPair, check_compatible, read_adapter
from engine.lora.safetensors_io import read_safetensors
from engine.models.gguf import GGUFInfo, read_gguf

# Hugging Face module name -> llama.cpp tensor name (the projections a llama.cpp LoRA can change)
MODULE_TENSORS = {
    "q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "o_proj": "attn_output",
    "gate_proj": "ffn_gate", "up_proj": "ffn_up", "down_proj": "ffn_down",
}
SUPPORTED_ARCHITECTURES = ("llama",)
_MODULE = re.compile(r"^model\.layers\.(\d+)\.(?:self_attn|mlp)\.([a-z_]+)$")
_LORA_TENSOR = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.lora_(?P<ab>A|B)(?:\.[A-Za-z0-9_-]+)?\.weight$")
_EMBEDDING_MODULES = ("embed_tokens", "lm_head", "wte", "embed_out")


def permute_qk_rows(matrix: np.ndarray, n_heads: int) -> np.ndarray:
    """Reorder the rows of a q/k projection (or of its LoRA ``B``) the way llama.cpp's llama converter does.

    Within each head, rows ``[first half | second half]`` become interleaved pairs. For ``k`` pass the
    number of key/value heads.
    """
    rows = matrix.shape[0]
    if rows % (2 * n_heads):
        raise LoraConversionError(f"A q/k projection with {rows} rows cannot be split into {n_heads} heads.")
    return matrix.reshape(n_heads, 2, rows // n_heads // 2, *matrix.shape[1:]).swapaxes(1, 2).reshape(matrix.shape)


def unpermute_qk_rows(matrix: np.ndarray, n_heads: int) -> np.ndarray:
    """The inverse of :func:`permute_qk_rows`: llama.cpp's q/k row order back to Hugging Face's."""
    rows = matrix.shape[0]
    return matrix.reshape(n_heads, rows // n_heads // 2, 2, *matrix.shape[1:]).swapaxes(1, 2).reshape(matrix.shape)


# ------------------------------------------------------------------------------ reading PEFT
@dataclass
class PeftModule:
    """One adapted projection: its layer, its kind (``q_proj``...) and its LoRA matrices (HF orientation)."""

    layer: int
    kind: str
    a: np.ndarray  # rank x n_in
    b: np.ndarray  # n_out x rank
    scaling: float  # what PEFT multiplies B @ A by

    @property
    def rank(self) -> int:
        return self.a.shape[0]


@dataclass
class PeftAdapter:
    folder: Path
    config: dict[str, Any]
    alpha: float
    modules: list[PeftModule]

    @property
    def base_model(self) -> str | None:
        value = self.config.get("base_model_name_or_path")
        return value if isinstance(value, str) and value else None


def read_peft(folder: str | Path) -> PeftAdapter:
    """Read and check a PEFT LoRA folder; anything llama.cpp cannot apply is refused with the reason."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise LoraConversionError(
            f"{folder} is not a folder. Pass the folder that PEFT's save_pretrained wrote (it holds "
            "adapter_config.json and adapter_model.safetensors)."
        )
    config = _read_config(folder)
    weights = folder / "adapter_model.safetensors"
    if not weights.is_file():
        if (folder / "adapter_model.bin").is_file():
            raise LoraConversionError(
                f"{folder} has adapter_model.bin (a pickle, which can run code when loaded) but no "
                "adapter_model.safetensors. Save the adapter again with save_pretrained(..., safe_serialization=True)."
            )
        raise LoraConversionError(f"{folder} has no adapter_model.safetensors; it is not a complete PEFT adapter.")
    tensors, _ = read_safetensors(weights)
    alpha = _check_config(folder, config)
    return PeftAdapter(folder, config, alpha, _modules(folder, config, alpha, tensors))


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / "adapter_config.json"
    if not path.is_file():
        raise LoraConversionError(
            f"{folder} has no adapter_config.json, so it is not a PEFT adapter folder. Pass the folder that "
            "save_pretrained wrote."
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise LoraConversionError(f"{path} cannot be read as JSON ({exc}); save the adapter again.") from None
    if not isinstance(config, dict):
        raise LoraConversionError(f"{path} is not a JSON object; save the adapter again.")
    return config


def _check_config(folder: Path, config: dict[str, Any]) -> float:
    peft_type = str(config.get("peft_type", "LORA")).upper()
    if peft_type != "LORA":
        raise LoraConversionError(
            f"{folder} is a {peft_type} adapter; only LoRA adapters can be converted for llama.cpp."
        )
    if config.get("use_dora"):
        raise LoraConversionError(
            f"{folder} is a DoRA adapter (use_dora is true). llama.cpp cannot apply DoRA's magnitude vectors; "
            "train the adapter again as plain LoRA (use_dora=False)."
        )
    if config.get("modules_to_save"):
        raise LoraConversionError(
            f"{folder} also saves whole modules ({', '.join(map(str, config['modules_to_save']))}), which a "
            "llama.cpp LoRA cannot carry. Train again without modules_to_save."
        )
    if config.get("fan_in_fan_out"):
        raise LoraConversionError(f"{folder} uses fan_in_fan_out (GPT-2 style layers), which llama models do not have.")
    if config.get("layer_replication"):
        raise LoraConversionError(f"{folder} uses layer_replication, which llama.cpp cannot apply.")
    if str(config.get("bias", "none")) != "none":
        raise LoraConversionError(
            f"{folder} trains biases (bias={config['bias']!r}); llama.cpp LoRAs have no bias. Train with bias='none'."
        )
    alpha = config.get("lora_alpha")
    if not isinstance(alpha, int | float) or isinstance(alpha, bool) or alpha <= 0:
        raise LoraConversionError(f"{folder}/adapter_config.json has no valid lora_alpha ({alpha!r}).")
    return float(alpha)


def _modules(folder: Path, config: dict[str, Any], alpha: float, tensors: dict[str, np.ndarray]) -> list[PeftModule]:
    halves: dict[str, dict[str, np.ndarray]] = {}
    unsupported: set[str] = set()
    for name, array in tensors.items():
        if "lora_magnitude_vector" in name:
            raise LoraConversionError(f"{folder} holds DoRA magnitude vectors ({name}); llama.cpp cannot apply DoRA.")
        if "lora_embedding_" in name or any(f".{m}." in f".{name}." for m in _EMBEDDING_MODULES):
            raise LoraConversionError(
                f"{folder} changes the token embeddings or the output head ({name}). That usually means tokens "
                "were added during fine-tuning, which a llama.cpp LoRA cannot do. Train again with target_modules "
                f"limited to {', '.join(MODULE_TENSORS)}."
            )
        match = _LORA_TENSOR.match(name)
        if match is None:
            what = "a LoRA bias" if name.endswith(".bias") else "not a LoRA matrix"
            raise LoraConversionError(f"{folder} holds {name!r}, {what}; llama.cpp cannot apply it.")
        module = match.group("module")
        parsed = _MODULE.match(module)
        if parsed is None or parsed.group(2) not in MODULE_TENSORS:
            unsupported.add(parsed.group(2) if parsed else module)
            continue
        halves.setdefault(module, {})[match.group("ab")] = array
    if unsupported:
        raise LoraConversionError(
            f"{folder} changes {', '.join(sorted(unsupported))}, which llama.cpp LoRAs for llama models cannot "
            f"change. Supported target modules: {', '.join(MODULE_TENSORS)}; train again with those."
        )
    if not halves:
        raise LoraConversionError(f"{folder}/adapter_model.safetensors holds no LoRA matrices.")
    modules = []
    alpha_pattern = config.get("alpha_pattern") or {}
    rslora = bool(config.get("use_rslora"))
    for module, parts in halves.items():
        if set(parts) != {"A", "B"}:
            missing = "lora_B" if "A" in parts else "lora_A"
            raise LoraConversionError(f"{folder} is incomplete: {module} has no {missing}. Save the adapter again.")
        a, b = parts["A"], parts["B"]
        if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[1]:
            raise LoraConversionError(
                f"{folder}: {module} has lora_A {a.shape} and lora_B {b.shape}, which do not fit together."
            )
        layer, kind = _MODULE.match(module).groups()
        module_alpha = float(_pattern_value(alpha_pattern, module, alpha))
        rank = a.shape[0]
        scaling = module_alpha / math.sqrt(rank) if rslora else module_alpha / rank
        modules.append(PeftModule(int(layer), kind, a.astype(np.float32), b.astype(np.float32), scaling))
    modules.sort(key=lambda m: (m.layer, list(MODULE_TENSORS).index(m.kind)))
    return modules


def _pattern_value(pattern: dict[str, Any], module: str, default: Any) -> Any:
    """PEFT's rule: the first key that matches the end of the module name (or as a regex) wins."""
    for key, value in pattern.items():
        if module == key or module.endswith("." + key) or re.fullmatch(rf"(.*\.)?{key}", module):
            return value
    return default


# ------------------------------------------------------------------------------- converting
def gguf_pairs(adapter: PeftAdapter, base: GGUFInfo) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The adapter's matrices under llama.cpp's names and row order: ``(base tensor, A, B)``."""
    arch = base.architecture
    if arch not in SUPPORTED_ARCHITECTURES:
        raise LoraConversionError(
            f"Converting adapters for {arch} models is not supported yet (supported: "
            f"{', '.join(SUPPORTED_ARCHITECTURES)}); {base.name} is a {arch} model."
        )
    n_head, n_head_kv = base.head_count, base.head_count_kv
    if not n_head or not n_head_kv:
        raise LoraConversionError(f"{base.path} does not record its attention head counts; it cannot be a base.")
    out = []
    for module in adapter.modules:
        b = module.b
        factor = module.scaling / (adapter.alpha / module.rank)  # 1 unless alpha_pattern or rsLoRA
        if not math.isclose(factor, 1.0, rel_tol=1e-9):
            b = b * np.float32(factor)
        if module.kind == "q_proj":
            b = permute_qk_rows(b, n_head)
        elif module.kind == "k_proj":
            b = permute_qk_rows(b, n_head_kv)
        out.append((f"blk.{module.layer}.{MODULE_TENSORS[module.kind]}.weight", module.a, b))
    return out


def convert_peft(folder: str | Path, base: str | Path | GGUFInfo, out_path: str | Path, *, name: str | None = None,
                 dtype: str = "f32") -> AdapterInfo:
    """Convert the PEFT folder for the GGUF model ``base`` and write ``out_path``; returns the adapter's info.

    The adapter is checked against ``base`` (architecture, every tensor's shape) before anything is written.
    """
    base_info = base if isinstance(base, GGUFInfo) else _read_base(base)
    adapter = read_peft(folder)
    name = name or Path(folder).name
    shapes = [(f"blk.{m.layer}.{MODULE_TENSORS[m.kind]}.weight", m.a.shape, m.b.shape) for m in adapter.modules]
    planned = AdapterInfo(
        path=Path(out_path), name=name, architecture=base_info.architecture, alpha=adapter.alpha,
        pairs=tuple(LoraPair(t, (a[1], a[0]), (b[1], b[0])) for t, a, b in shapes),
        base_model=adapter.base_model, file_size=0,
    )
    check_compatible(planned, base_info)  # sizes first: a q of another model cannot even be permuted
    pairs = gguf_pairs(adapter, base_info)
    write_adapter_gguf(
        out_path, architecture=base_info.architecture, alpha=adapter.alpha, pairs=pairs, name=name, dtype=dtype,
        base_model=base_info.name, extra={"inglenook.lora.peft_base_model": adapter.base_model or ""},
    )
    return read_adapter(out_path)


def _read_base(path: str | Path) -> GGUFInfo:
    try:
        info = read_gguf(path)
    except ModelError as exc:
        raise LoraConversionError(f"The base model cannot be read: {exc}") from None
    if info.is_lora_adapter:
        raise LoraConversionError(f"{path} is itself an adapter; pass the base model the adapter was trained on.")
    return info


def write_adapter_gguf(path: str | Path, *, architecture: str, alpha: float,
                       pairs: Iterable[tuple[str, np.ndarray, np.ndarray]], name: str, dtype: str = "f32",
                       base_model: str | None = None, extra: dict[str, str] | None = None) -> Path:
    """Write a GGUF LoRA adapter. ``pairs``: ``(base tensor name, A [rank x n_in], B [n_out x rank])``.

    Written next to ``path`` and renamed into place, so a crash never leaves half a file under that name.
    """
    import gguf

    if dtype not in ("f32", "f16"):
        raise LoraConversionError(f"Unknown adapter type {dtype!r}; use f32 or f16.")
    np_type = np.float32 if dtype == "f32" else np.float16
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    pairs = list(pairs)
    writer = gguf.GGUFWriter(str(tmp), architecture)
    try:
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
        writer.add_name(name)
        if base_model:
            writer.add_uint32("general.base_model.count", 1)
            writer.add_string("general.base_model.0.name", base_model)
        for key, value in (extra or {}).items():
            if value:
                writer.add_string(key, value)
        for tensor, a, b in pairs:
            writer.add_tensor(f"{tensor}.lora_a", np.ascontiguousarray(a, dtype=np_type))
            writer.add_tensor(f"{tensor}.lora_b", np.ascontiguousarray(b, dtype=np_type))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file(progress=False)
    except OSError as exc:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise LoraConversionError(f"Cannot write {path}: {exc.strerror or exc}. Check the disk space and folder.") from None
    writer.close()
    os.replace(tmp, path)
    return path
