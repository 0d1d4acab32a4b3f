"""Embedding models that are downloaded from the Hugging Face Hub (or a mirror) on request.

The bundled MiniLM is English-only: its vectors of Chinese text are noise, so a collection that uses it
searches Chinese by full text alone. The models listed here are multilingual ONNX exports that the
same ``OnnxEmbedder`` runs; ``download_embedder`` fetches their files through the app's own Hub client
(resumable ``.part`` files, SHA-256 checks, disk-space checks, cancel) into ``<data>/embedders/<name>/``.
Each one is registered in ``knowledge.embeddings`` at import; using one that is not downloaded yet
raises an error that says how to get it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.paths import data_dir
from knowledge.embeddings import EmbedderSpec, register_embedder
from knowledge.errors import KnowledgeError


@dataclass(frozen=True)
class HubEmbedder:
    """Where an ONNX sentence-embedding model lives on the Hub and how to run it."""

    name: str
    repo_id: str
    model_file: str
    dim: int
    size_mb: int  # approximate download, shown before downloading
    pooling: str = "mean"
    max_tokens: int = 512
    query_prefix: str = ""
    passage_prefix: str = ""
    tokenizer_file: str = "tokenizer.json"
    note: str = ""

    def folder(self) -> Path:
        return data_dir() / "embedders" / self.name

    def files(self) -> tuple[str, str]:
        return self.model_file, self.tokenizer_file

    def installed(self) -> bool:
        return all((self.folder() / f).is_file() for f in self.files())

    def spec(self) -> EmbedderSpec:
        if not self.installed():
            raise KnowledgeError(
                f"The embedding model {self.name} is not downloaded yet ({self.size_mb} MB from {self.repo_id}); "
                f"run `nook embedders download {self.name}`.")
        return EmbedderSpec(name=self.name, model_path=self.folder() / self.model_file,
                            tokenizer_path=self.folder() / self.tokenizer_file, dim=self.dim,
                            max_tokens=self.max_tokens, pooling=self.pooling, query_prefix=self.query_prefix,
                            passage_prefix=self.passage_prefix, multilingual=True)


HUB_EMBEDDERS: dict[str, HubEmbedder] = {}


def register_hub_embedder(entry: HubEmbedder) -> None:
    """List ``entry`` for download and register it as an embedder (refusing a name already taken)."""
    if entry.name in HUB_EMBEDDERS:
        raise KnowledgeError(f"An embedder called {entry.name!r} is listed already; choose another name.")
    register_embedder(entry.name, entry.spec)
    HUB_EMBEDDERS[entry.name] = entry


def hub_embedder(name: str) -> HubEmbedder:
    try:
        return HUB_EMBEDDERS[name]
    except KeyError:
        raise KnowledgeError(f"No downloadable embedding model called {name!r}; "
                             f"choose one of {', '.join(sorted(HUB_EMBEDDERS))}.") from None


@dataclass(frozen=True)
class EmbedderChoice:
    """One embedding model a collection can use, as `nook embedders` and the Library page list it."""

    name: str
    languages: str
    installed: bool
    size_mb: int
    source: str
    note: str
    multilingual: bool

    def as_dict(self) -> dict:
        return {"name": self.name, "languages": self.languages, "installed": self.installed,
                "size_mb": self.size_mb, "source": self.source, "note": self.note}


def embedder_choices() -> list[EmbedderChoice]:
    """The bundled English model first, then the downloadable multilingual ones, with whether each is here."""
    from knowledge.embeddings import DEFAULT_EMBEDDER

    bundled = EmbedderChoice(DEFAULT_EMBEDDER, "English", True, 22, "bundled",
                             "the offline default; Chinese text is searched by full text only", False)
    return [bundled] + [EmbedderChoice(e.name, "multilingual (Chinese included)", e.installed(), e.size_mb,
                                       e.repo_id, e.note, True) for e in HUB_EMBEDDERS.values()]


def download_embedder(name: str, *, endpoint: str | None = None, progress: Callable | None = None,
                      cancel: threading.Event | None = None) -> Path:
    """Fetch ``name``'s model and tokenizer (resuming a partial download) and return its folder."""
    from engine.models.hub import HubClient

    entry = hub_embedder(name)
    client = HubClient(endpoint)
    for filename in entry.files():
        client.download(entry.repo_id, filename, entry.folder(), progress=progress, cancel=cancel)
    return entry.folder()


# Multilingual models (100+ languages, Chinese included), int8-quantised ONNX exports by Xenova.
for _entry in (
    HubEmbedder("multilingual-e5-small", "Xenova/multilingual-e5-small", "onnx/model_quantized.onnx", dim=384,
                size_mb=118, query_prefix="query: ", passage_prefix="passage: ",
                note="small and fast; a good first choice for Chinese and mixed folders"),
    HubEmbedder("multilingual-e5-base", "Xenova/multilingual-e5-base", "onnx/model_quantized.onnx", dim=768,
                size_mb=279, query_prefix="query: ", passage_prefix="passage: ",
                note="more accurate than -small, about 3x slower to index"),
    HubEmbedder("bge-m3", "Xenova/bge-m3", "onnx/model_quantized.onnx", dim=1024, size_mb=570, pooling="cls",
                note="the most accurate here; about 10x slower to index than -small on two cores"),
):
    register_hub_embedder(_entry)
