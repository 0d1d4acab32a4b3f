"""Sentence embeddings with onnxruntime, behind a small registry.

An embedder is an ONNX sentence-embedding model (``model.onnx`` + ``tokenizer.json``) plus its
pooling settings and, for e5-style models, query/passage prefixes. The bundled all-MiniLM-L6-v2
(int8) is the offline default. Batches are sorted by length so short passages are not padded to
the longest one in a random batch (about 1.4x faster on this kind of machine), and onnxruntime
uses as many threads as there are physical cores (more makes it slower).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from engine import activity
from engine.params import physical_cores
from knowledge.errors import KnowledgeError

if TYPE_CHECKING:  # numpy loads with the first embedding, not with the window's pages
    import numpy as np

# INGLENOOK_SHARE_CPU=0 turns off making room for a streaming reply (benchmarks compare both)
SHARE_CPU = os.environ.get("INGLENOOK_SHARE_CPU", "1") != "0"


def _session(spec: EmbedderSpec, threads: int, spin: bool = True):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(spec.model_path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise KnowledgeError(
            f"{spec.model_path} is not a usable ONNX model ({exc}); re-download the embedding model."
        ) from exc


@dataclass(frozen=True)
class EmbedderSpec:
    """How to run one ONNX sentence-embedding model."""

    name: str
    model_path: Path
    tokenizer_path: Path
    dim: int
    max_tokens: int = 256
    pooling: str = "mean"  # "mean" or "cls"
    normalize: bool = True
    query_prefix: str = ""
    passage_prefix: str = ""
    multilingual: bool = False  # False: only English text gets meaningful vectors (retrieval weighs it so)

    @property
    def id(self) -> str:
        """Stable identity of the vectors this spec produces; a change means re-embedding."""
        digest = hashlib.sha256(
            f"{self.model_path.stat().st_size}|{self.pooling}|{self.normalize}|{self.max_tokens}|"
            f"{self.query_prefix}|{self.passage_prefix}".encode()
        ).hexdigest()[:10]
        return f"{self.name}@{digest}"


class OnnxEmbedder:
    """Embeds passages and queries. Thread-safe: onnxruntime sessions allow concurrent ``run``."""

    def __init__(self, spec: EmbedderSpec, threads: int | None = None, batch_size: int = 32):
        from tokenizers import Tokenizer

        for path in (spec.model_path, spec.tokenizer_path):
            if not Path(path).is_file():
                raise KnowledgeError(f"Embedding model file {path} is missing; reinstall or re-download it.")
        self.spec = spec
        self.batch_size = batch_size
        self.session = _session(spec, threads or physical_cores())
        self._quiet_session = None  # one thread, no spinning: used while a reply streams
        self._input_names = {i.name for i in self.session.get_inputs()}
        self.tokenizer = Tokenizer.from_file(str(spec.tokenizer_path))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=spec.max_tokens)
        self._counter = Tokenizer.from_file(str(spec.tokenizer_path))
        self._counter.no_padding()
        self._counter.no_truncation()
        self._lock = threading.Lock()

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def dim(self) -> int:
        return self.spec.dim

    @property
    def max_content_tokens(self) -> int:
        """Tokens of text that fit, leaving room for the special tokens ([CLS], [SEP]) and a prefix."""
        prefix = self.count_tokens(self.spec.passage_prefix) if self.spec.passage_prefix else 0
        return self.spec.max_tokens - 2 - prefix

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text`` alone, as the chunker needs them."""
        return len(self._counter.encode(text, add_special_tokens=False).ids)

    def embed_passages(self, texts: Sequence[str], cancel: Callable[[], bool] | None = None) -> np.ndarray:
        return self._embed([self.spec.passage_prefix + t for t in texts], cancel)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([self.spec.query_prefix + text])[0]

    def _embed(self, texts: list[str], cancel: Callable[[], bool] | None = None) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self.batch_size):
            if cancel is not None and cancel():
                raise KnowledgeError("Embedding was cancelled.")
            batch = order[start : start + self.batch_size]
            out[batch] = self._run([encodings[i] for i in batch])
        return out

    def _session_now(self):
        """The full session, or while a chat reply streams in this process the one-thread quiet one."""
        if not (activity.reply_streaming() and SHARE_CPU):
            return self.session
        if self._quiet_session is None:
            self._quiet_session = _session(self.spec, 1, spin=False)
        return self._quiet_session

    def _run(self, encodings) -> np.ndarray:
        import numpy as np

        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            ids[row, :n] = encoding.ids
            mask[row, :n] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session_now().run(None, feeds)[0]
        if self.spec.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        if self.spec.normalize:
            pooled = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return pooled.astype(np.float32)


# ------------------------------------------------------------------ registry
_REGISTRY: dict[str, Callable[[], EmbedderSpec]] = {}
_CACHE: dict[str, OnnxEmbedder] = {}
_CACHE_LOCK = threading.Lock()
DEFAULT_EMBEDDER = "minilm"


def register_embedder(name: str, factory: Callable[[], EmbedderSpec], *, replace: bool = False) -> None:
    """Make an embedder available under ``name`` (built-ins are registered the same way). A name that is
    taken is refused unless ``replace`` says so: two models must never silently share a name."""
    if name in _REGISTRY and not replace:
        raise KnowledgeError(f"An embedder called {name!r} is registered already; pass replace=True to replace it.")
    _REGISTRY[name] = factory
    _CACHE.pop(name, None)


# Modules that register more embedders, imported on first need (by name: they import this module).
MORE_EMBEDDERS = ("knowledge.embedder_hub",)


def _load_more_embedders() -> None:
    for module in MORE_EMBEDDERS:
        importlib.import_module(module)


def available_embedders() -> list[str]:
    _load_more_embedders()
    return sorted(_REGISTRY)


def get_embedder(name: str = DEFAULT_EMBEDDER) -> OnnxEmbedder:
    """A shared, loaded embedder (loading takes ~0.2 s, so it is done once per process)."""
    if name not in _REGISTRY:
        _load_more_embedders()
    with _CACHE_LOCK:
        if name not in _CACHE:
            try:
                factory = _REGISTRY[name]
            except KeyError:
                raise KnowledgeError(
                    f"No embedding model called {name!r}; available: {', '.join(available_embedders())}."
                ) from None
            _CACHE[name] = OnnxEmbedder(factory())
        return _CACHE[name]


def _bundled_minilm() -> EmbedderSpec:
    from engine.models.bundled import find_bundled

    return EmbedderSpec(
        name="all-minilm-l6-v2-int8",
        model_path=find_bundled("all-minilm-l6-v2-int8").path,
        tokenizer_path=find_bundled("all-minilm-l6-v2-tokenizer").path,
        dim=384,
        max_tokens=256,
        pooling="mean",
    )


register_embedder(DEFAULT_EMBEDDER, _bundled_minilm)
