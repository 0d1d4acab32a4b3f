"""What a GGUF file's header says: its tensors and metadata, in words the rest of Inglenook uses.

``engine.models.gguf`` reads a file into these; the checks on what llama.cpp can run live here too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import UnsupportedArchitectureError

# GGUF value types (gguf_type in ggml/include/gguf.h).
_UINT8, _INT8, _UINT16, _INT16, _UINT32, _INT32, _FLOAT32, _BOOL = range(8)
_STRING, _ARRAY, _UINT64, _INT64, _FLOAT64 = range(8, 13)
_VALUE_TYPE_NAMES = {
    _UINT8: "uint8", _INT8: "int8", _UINT16: "uint16", _INT16: "int16", _UINT32: "uint32",
    _INT32: "int32", _FLOAT32: "float32", _BOOL: "bool", _STRING: "string", _ARRAY: "array",
    _UINT64: "uint64", _INT64: "int64", _FLOAT64: "float64",
}


@dataclass(frozen=True)
class TensorInfo:
    """One entry of the tensor table. ``offset`` is relative to the data section."""

    name: str
    shape: tuple[int, ...]
    ggml_type: int
    offset: int
    nbytes: int

    @property
    def n_elements(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count

    @property
    def type_name(self) -> str:
        return ggml_type_name(self.ggml_type)


@dataclass(frozen=True)
class ArraySummary:
    """Stands in for a long metadata array (e.g. ``tokenizer.ggml.tokens``) we skipped over."""

    item_type: int
    length: int

    def __len__(self) -> int:
        return self.length

    def to_json(self) -> dict[str, Any]:
        return {"array_of": _VALUE_TYPE_NAMES.get(self.item_type, str(self.item_type)), "length": self.length}


@dataclass
class GGUFInfo:
    """What a GGUF file says about itself; built by :func:`read_gguf`."""

    path: Path
    version: int
    file_size: int
    data_offset: int
    metadata: dict[str, Any]
    tensors: list[TensorInfo]

    # -- general ------------------------------------------------------------------------------

    @property
    def architecture(self) -> str | None:
        value = self.metadata.get("general.architecture")
        return value if isinstance(value, str) else None

    @property
    def name(self) -> str:
        value = self.metadata.get("general.name")
        return value if isinstance(value, str) and value.strip() else self.path.stem

    @property
    def is_lora_adapter(self) -> bool:
        return self.metadata.get("general.type") == "adapter"

    @property
    def parameter_count(self) -> int:
        return sum(t.n_elements for t in self.tensors)

    @property
    def tensor_bytes(self) -> int:
        return sum(t.nbytes for t in self.tensors)

    @property
    def quantization(self) -> str:
        """A human name such as ``Q4_1``: from ``general.file_type``, else the dominant tensor type."""
        file_type = self.metadata.get("general.file_type")
        if isinstance(file_type, int):
            try:
                from gguf.constants import LlamaFileType  # gguf brings numpy: loaded when used

                name = LlamaFileType(file_type).name
            except ValueError:
                name = ""
            if name and name != "GUESSED":
                return name.removeprefix("MOSTLY_").removeprefix("ALL_")
        return self._dominant_tensor_type()

    def _dominant_tensor_type(self) -> str:
        """The type holding the most weights; norms are F32 in every quantization, so count elements."""
        if not self.tensors:
            return "unknown"
        weights: Counter[int] = Counter()
        for tensor in self.tensors:
            weights[tensor.ggml_type] += tensor.n_elements
        return ggml_type_name(weights.most_common(1)[0][0])

    # -- hyperparameters ----------------------------------------------------------------------

    def arch_value(self, suffix: str) -> Any:
        """``{architecture}.{suffix}`` from the metadata, or None."""
        arch = self.architecture
        return self.metadata.get(f"{arch}.{suffix}") if arch else None

    def _arch_int(self, suffix: str) -> int | None:
        value = self.arch_value(suffix)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def context_length(self) -> int | None:
        return self._arch_int("context_length")

    @property
    def block_count(self) -> int | None:
        return self._arch_int("block_count")

    @property
    def embedding_length(self) -> int | None:
        return self._arch_int("embedding_length")

    @property
    def head_count(self) -> int | None:
        return _max_int(self.arch_value("attention.head_count"))

    @property
    def head_count_kv(self) -> int | None:
        """KV heads (GQA); a per-layer array gives its largest entry. Defaults to ``head_count``."""
        value = _max_int(self.arch_value("attention.head_count_kv"))
        return value if value is not None else self.head_count

    @property
    def chat_template(self) -> str | None:
        value = self.metadata.get("tokenizer.chat_template")
        return value if isinstance(value, str) else None

    @property
    def vocab_size(self) -> int | None:
        value = self._arch_int("vocab_size")
        if value is not None:
            return value
        tokens = self.metadata.get("tokenizer.ggml.tokens")
        return len(tokens) if isinstance(tokens, list | ArraySummary) else None

    # -- sizes per layer ----------------------------------------------------------------------

    def layer_bytes(self) -> list[int]:
        """Bytes of tensor data in each repeating block ``blk.N``, indexed by N."""
        n_layers = self.block_count or 0
        for tensor in self.tensors:
            index = _block_index(tensor.name)
            if index is not None:
                n_layers = max(n_layers, index + 1)
        sizes = [0] * n_layers
        for tensor in self.tensors:
            index = _block_index(tensor.name)
            if index is not None:
                sizes[index] += tensor.nbytes
        return sizes

    def non_layer_bytes(self) -> int:
        """Bytes outside the repeating blocks: token embeddings, output norm and output head."""
        return sum(t.nbytes for t in self.tensors if _block_index(t.name) is None)

    def output_bytes(self) -> int:
        """Bytes llama.cpp puts on the GPU for the output layer (its "+1" layer).

        That is the output norm plus ``output.weight``; a model with tied embeddings (SmolLM2)
        has no ``output.weight`` and llama.cpp uses a copy of ``token_embd.weight`` instead.
        """
        by_name = {t.name: t.nbytes for t in self.tensors}
        head = by_name.get("output.weight", by_name.get("token_embd.weight", 0))
        return head + by_name.get("output_norm.weight", 0) + by_name.get("output_norm.bias", 0)

    # -- reporting ----------------------------------------------------------------------------

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly description for ``nook models info``."""
        return {
            "path": str(self.path),
            "file_size": self.file_size,
            "gguf_version": self.version,
            "name": self.name,
            "architecture": self.architecture,
            "type": "lora-adapter" if self.is_lora_adapter else "model",
            "quantization": self.quantization,
            "parameter_count": self.parameter_count,
            "context_length": self.context_length,
            "block_count": self.block_count,
            "embedding_length": self.embedding_length,
            "head_count": self.head_count,
            "head_count_kv": self.head_count_kv,
            "vocab_size": self.vocab_size,
            "tensor_count": len(self.tensors),
            "tensor_bytes": self.tensor_bytes,
            "has_chat_template": self.chat_template is not None,
            "metadata": {key: _json_value(value) for key, value in self.metadata.items()},
        }


def ggml_type_name(ggml_type: int) -> str:
    try:
        from gguf.constants import GGMLQuantizationType

        return GGMLQuantizationType(ggml_type).name
    except ValueError:
        return f"type {ggml_type}"


def _max_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, list):
        ints = [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
        return max(ints) if ints else None
    return None


def _block_index(tensor_name: str) -> int | None:
    if not tensor_name.startswith("blk."):
        return None
    number = tensor_name[4:].split(".", 1)[0]
    return int(number) if number.isdigit() else None


def _json_value(value: Any) -> Any:
    if isinstance(value, ArraySummary):
        return value.to_json()
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


# -- architectures ------------------------------------------------------------------------------

# LLM_ARCH_NAMES in src/llama-arch.cpp of the llama.cpp that llama-cpp-python 0.3.36 vendors,
# without "clip" (vision projectors, only used by llama-quantize) and "(unknown)".
KNOWN_ARCHITECTURES: frozenset[str] = frozenset(
    ["llama", "llama4", "deci", "falcon", "grok", "gpt2", "gptj", "gptneox", "mpt", "baichuan", "starcoder", "refact", "bert", "modern-bert", "nomic-bert", "nomic-bert-moe", "neo-bert", "jina-bert-v2", "jina-bert-v3", "eurobert", "bloom", "stablelm", "qwen", "qwen2", "qwen2moe", "qwen2vl", "qwen3", "qwen3moe", "qwen3next", "qwen3vl", "qwen3vlmoe", "qwen35", "qwen35moe", "qwen4exp", "phi2", "phi3", "phimoe", "plamo", "plamo2", "plamo3", "codeshell", "orion", "internlm2", "minicpm", "minicpm3", "gemma", "gemma2", "gemma3", "gemma3n", "gemma4", "gemma4-assistant", "gemma-embedding", "starcoder2", "mamba", "mamba2", "maple", "jamba", "falcon-h1", "xverse", "command-r", "cohere2", "cohere2moe", "dbrx", "olmo", "olmo2", "olmoe", "muse-glimmer", "openelm", "arctic", "deepseek", "deepseek2", "deepseek2-ocr", "deepseek32", "deepseek4", "chatglm", "glm4", "glm4moe", "glm-dsa", "bitnet", "t5", "t5encoder", "jais", "jais2", "nemotron", "nemotron_h", "nemotron_h_moe", "exaone", "exaone4", "exaone-moe", "rwkv6", "rwkv6qwen2", "rwkv7", "arwkv7", "granite", "granitemoe", "granitehybrid", "graniteswitch", "granite_swa", "chameleon", "wavtokenizer-dec", "plm", "bailingmoe", "bailingmoe2", "bailingmoe3", "dots1", "dots3note", "arcee", "afmoe", "laguna", "ernie4_5", "ernie4_5-moe", "hunyuan-moe", "hunyuan-dense", "hunyuan_vl", "hy_v3", "hy_v4", "smollm3", "gpt-oss", "lfm2", "lfm2moe", "dream", "smallthinker", "llada", "llada-moe", "seed_oss", "grovemoe", "apertus", "minimax-01", "hrm_text", "minimax-m2", "minimax-m3", "cogvlm", "rnd1", "pangu-embedded", "mistral3", "eagle3", "dflash", "mistral4", "paddleocr", "mimo2", "step35", "spark2_5", "llama-embed", "maincoder", "kimi-linear", "kimi-k3", "glm5-next", "talkie", "mellum", "nanbeige", "qwen3tts", "pockettts"]
)


def check_architecture_supported(info: GGUFInfo) -> None:
    """Raise ``UnsupportedArchitectureError`` unless llama.cpp can run this file's architecture."""
    arch = info.architecture
    if arch is None:
        raise UnsupportedArchitectureError(
            f"{info.path} does not say which model architecture it is (no general.architecture), so llama.cpp "
            "cannot load it. If it is part 2 or later of a split model, open the first part (…-00001-of-…) instead."
        )
    if arch == "clip":
        raise UnsupportedArchitectureError(
            f"{info.path} is a vision projector (mmproj/CLIP file), not a language model. "
            "Choose the main model's .gguf file instead."
        )
    if arch not in KNOWN_ARCHITECTURES:
        raise UnsupportedArchitectureError(
            f"{info.path} is a {arch!r} model, an architecture this llama.cpp build does not know. "
            "Update Inglenook, or choose a model with a supported architecture (e.g. llama, qwen2, gemma3)."
        )
