"""LoRA adapters: what a GGUF adapter file says about itself, whether it fits a model, and the registry.

An adapter is a GGUF file with ``general.type = "adapter"`` and ``adapter.type = "lora"``. For
every base weight it changes (``blk.3.attn_q.weight``) it holds two tensors: ``….lora_a`` with
ggml shape ``[n_in, rank]`` and ``….lora_b`` with shape ``[rank, n_out]``; llama.cpp adds
``scale * alpha / rank * B(A x)`` to that weight's output. llama.cpp itself only checks the
architecture and the shapes when the adapter is loaded and answers a mismatch with NULL and a log
line, so we check the same things first and say what is wrong in words.

Adapters are registered in the ``models`` table with ``kind = "lora"``; switching them on a
loaded model is ``engine.lora.live``.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import LoraError, LoraIncompatibleError, LoraNotFoundError, ModelError
from engine.models.bundled import BUNDLED
from engine.models.gguf import GGUFInfo, TensorInfo, read_gguf
from engine.models.registry import ModelEntry, ModelRegistry, slugify
from engine.paths import data_dir
from engine.store import SQLiteStore

MAX_SCALE = 2.0
_BLOCK = re.compile(r"^blk\.(\d+)\.(.+)\.weight$")


def adapters_dir() -> Path:
    """Where converted, trained and downloaded adapters are written."""
    path = data_dir() / "loras"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------------- metadata
@dataclass(frozen=True)
class LoraPair:
    """The two tensors that change one base weight; shapes in ggml order (``ne[0]`` first)."""

    base: str
    a_shape: tuple[int, ...]
    b_shape: tuple[int, ...]

    @property
    def rank(self) -> int:
        return self.a_shape[1] if self.base != "token_embd.weight" else self.b_shape[0]


@dataclass(frozen=True)
class AdapterInfo:
    """What a GGUF LoRA adapter says about itself; built by :func:`read_adapter`."""

    path: Path
    name: str
    architecture: str | None
    alpha: float
    pairs: tuple[LoraPair, ...]
    base_model: str | None
    file_size: int
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def rank(self) -> int:
        return max((p.rank for p in self.pairs), default=0)

    @property
    def ranks(self) -> list[int]:
        return sorted({p.rank for p in self.pairs})

    @property
    def targets(self) -> list[str]:
        """The kinds of weight it changes, e.g. ``["attn_k", "attn_q", "ffn_down"]``."""
        kinds = set()
        for pair in self.pairs:
            match = _BLOCK.match(pair.base)
            kinds.add(match.group(2) if match else pair.base.removesuffix(".weight"))
        return sorted(kinds)

    @property
    def layers(self) -> list[int]:
        return sorted({int(m.group(1)) for p in self.pairs if (m := _BLOCK.match(p.base))})

    @property
    def scale_factor(self) -> float:
        """What llama.cpp multiplies the user's scale by: ``alpha / rank`` (1 when alpha is 0)."""
        return self.alpha / self.rank if self.alpha and self.rank else 1.0

    def summary(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "name": self.name,
            "architecture": self.architecture,
            "rank": self.rank,
            "ranks": self.ranks,
            "alpha": self.alpha,
            "targets": self.targets,
            "layers": _ranges(self.layers),
            "tensor_pairs": len(self.pairs),
            "base_model": self.base_model,
            "file_size": self.file_size,
        }


_info_cache: dict[tuple[Path, int, int], AdapterInfo] = {}
_info_cache_lock = threading.Lock()


def read_adapter(path: str | Path) -> AdapterInfo:
    """Read and check a GGUF LoRA adapter's header; any problem is a ``LoraError`` that says what to do.

    Kept per file version (size and mtime): adding an adapter or showing its details reads it anyway, so
    the first switch-on does not parse its ~400 tensor entries again (~4 ms of a ~15 ms switch).
    """
    path = Path(path).expanduser()
    try:
        stat = path.stat()
        key = (path.resolve(), stat.st_size, stat.st_mtime_ns)
    except OSError:
        key = None
    if key is not None:
        with _info_cache_lock:
            cached = _info_cache.get(key)
        if cached is not None:
            return cached
    try:
        info = read_gguf(path)
    except ModelError as exc:
        raise LoraError(f"Not a usable LoRA adapter: {exc}") from None
    adapter = adapter_from_gguf(info)
    if key is not None:
        with _info_cache_lock:
            if len(_info_cache) >= 64:
                _info_cache.clear()
            _info_cache[key] = adapter
    return adapter


def adapter_from_gguf(info: GGUFInfo) -> AdapterInfo:
    path = info.path
    kind = info.metadata.get("general.type")
    if kind != "adapter":
        what = "a model" if kind == "model" or any(t.name == "token_embd.weight" for t in info.tensors) else "not an adapter"
        hint = " Add models with `nook models add`." if what == "a model" else ""
        raise LoraError(
            f"{path} is {what}, not a LoRA adapter (general.type is {kind!r}, an adapter says 'adapter').{hint} "
            "A Hugging Face PEFT adapter folder can be turned into one with `nook lora convert`."
        )
    adapter_type = info.metadata.get("adapter.type")
    if adapter_type != "lora":
        raise LoraError(
            f"{path} is a {adapter_type!r} adapter; only LoRA adapters (adapter.type 'lora') can be used. "
            "Control vectors and other adapter types are not supported."
        )
    alpha = info.metadata.get("adapter.lora.alpha", 0.0)
    if not isinstance(alpha, int | float) or isinstance(alpha, bool) or alpha < 0:
        raise LoraError(f"{path} has an invalid adapter.lora.alpha ({alpha!r}); convert the adapter again.")
    pairs = _pairs(path, info.tensors)
    if not pairs:
        raise LoraError(f"{path} holds no LoRA tensors (….lora_a / ….lora_b); it is empty or damaged.")
    return AdapterInfo(
        path=path,
        name=info.metadata.get("general.name") or path.stem,
        architecture=info.architecture,
        alpha=float(alpha),
        pairs=tuple(pairs),
        base_model=_base_model(info.metadata),
        file_size=info.file_size,
        metadata=info.metadata,
    )


def _pairs(path: Path, tensors: Iterable[TensorInfo]) -> list[LoraPair]:
    halves: dict[str, dict[str, TensorInfo]] = {}
    for tensor in tensors:
        name = tensor.name
        if name.endswith((".lora_a", ".lora_b")):
            halves.setdefault(name[:-7], {})[name[-1]] = tensor
        elif name.endswith("_norm.weight"):
            continue  # llama.cpp skips these too (mergekit extras)
        else:
            raise LoraError(f"{path} has a tensor {name!r} that is neither a lora_a nor a lora_b; it is not a LoRA adapter.")
    pairs = []
    for base, parts in sorted(halves.items(), key=lambda item: _natural(item[0])):
        if set(parts) != {"a", "b"}:
            missing = "lora_b" if "a" in parts else "lora_a"
            raise LoraError(f"{path} is damaged: {base} has no {missing} tensor. Convert or download the adapter again.")
        a, b = parts["a"].shape, parts["b"].shape
        if len(a) != 2 or len(b) != 2:
            raise LoraError(f"{path}: the LoRA tensors of {base} are not matrices; the file is damaged.")
        if base != "token_embd.weight" and a[1] != b[0]:
            raise LoraError(
                f"{path}: {base}.lora_a is {a[0]}x{a[1]} but lora_b is {b[0]}x{b[1]}; their ranks disagree. "
                "Adapters from llama.cpp's old finetune example are not supported; convert the adapter again."
            )
        pairs.append(LoraPair(base, tuple(a), tuple(b)))
    return pairs


def _base_model(metadata: dict[str, Any]) -> str | None:
    for key in ("general.base_model.0.name", "general.base_model.0.repo_url", "inglenook.lora.base_model"):
        value = metadata.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _natural(text: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _ranges(numbers: list[int]) -> str:
    """``[0, 1, 2, 5]`` -> ``"0-2, 5"``."""
    out: list[str] = []
    for n in numbers:
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = out[-1].split("-")[0] + f"-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


# ---------------------------------------------------------------------------- compatibility
def check_compatible(adapter: AdapterInfo, base: GGUFInfo) -> None:
    """Refuse an adapter that was not made for ``base``: architecture, then every tensor's name and shape.

    The same rules llama.cpp applies when it loads an adapter, in words a user can act on.
    """
    label = f"The adapter {adapter.name!r}"
    hint = f" It records its base model as {adapter.base_model!r}." if adapter.base_model else ""
    todo = (" Load the model it was made for, or convert or train the adapter for this model "
            "(`nook lora convert --model` / `nook lora train --model`).")
    if adapter.architecture != base.architecture:
        raise LoraIncompatibleError(
            f"{label} is for {adapter.architecture or 'an unknown architecture'} models, but {base.name} is a "
            f"{base.architecture} model.{hint}{todo}"
        )
    shapes = {t.name: t.shape for t in base.tensors}
    missing, wrong = [], []
    for pair in adapter.pairs:
        shape = shapes.get(pair.base)
        if shape is None:
            missing.append(pair.base)
            continue
        if len(shape) != 2:
            wrong.append((pair, shape))
        elif pair.base == "token_embd.weight":
            if shape[0] != pair.b_shape[1] or shape[1] != pair.a_shape[1]:
                wrong.append((pair, shape))
        elif shape[0] != pair.a_shape[0] or shape[1] != pair.b_shape[1]:
            wrong.append((pair, shape))
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise LoraIncompatibleError(
            f"{label} changes {missing[0]}{more}, which {base.name} does not have: it was made for a model with "
            f"other layers.{hint}{todo}"
        )
    if wrong:
        pair, shape = wrong[0]
        expected = f"{pair.a_shape[0]}x{pair.b_shape[1]}"
        more = f" ({len(wrong)} tensors differ)" if len(wrong) > 1 else ""
        raise LoraIncompatibleError(
            f"{label} was made for a model of another size: it expects {pair.base} to be {expected} but in "
            f"{base.name} it is {'x'.join(map(str, shape))}{more}.{hint}{todo}"
        )


# ------------------------------------------------------------------------------- choices
@dataclass(frozen=True)
class AdapterChoice:
    """An adapter chosen for a conversation: a registered name (or a path) and a scale 0..2."""

    name: str
    scale: float = 1.0

    def __post_init__(self) -> None:
        check_scale(self.scale, self.name)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "scale": self.scale}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AdapterChoice:
        try:
            return cls(str(data["name"]), float(data.get("scale", 1.0)))
        except (KeyError, TypeError, ValueError):
            raise LoraError(f"A stored adapter choice is malformed ({data!r}); choose the adapters again.") from None


def check_scale(scale: float, name: str = "the adapter") -> float:
    if not isinstance(scale, int | float) or isinstance(scale, bool) or not 0.0 <= float(scale) <= MAX_SCALE:
        raise LoraError(f"The scale of {name} must be a number from 0 to {MAX_SCALE:g} (got {scale!r}).")
    return float(scale)


def parse_choice(text: str) -> AdapterChoice:
    """``NAME`` or ``NAME:SCALE`` (as typed after ``--lora`` or ``/lora``)."""
    text = text.strip()
    name, scale = text, 1.0
    if ":" in text:
        head, tail = text.rsplit(":", 1)
        try:
            scale = float(tail)
            name = head
        except ValueError:
            pass
    if not name:
        raise LoraError(f"{text!r} names no adapter; write NAME or NAME:SCALE, e.g. pirate:0.5.")
    return AdapterChoice(name, check_scale(scale, name))


def merge_choices(current: list[AdapterChoice], changes: Iterable[AdapterChoice]) -> list[AdapterChoice]:
    """``current`` with ``changes`` applied by name: new names are added, scale 0 removes one."""
    out = {c.name: c for c in current}
    for change in changes:
        if change.scale == 0:
            out.pop(change.name, None)
        else:
            out[change.name] = change
    return list(out.values())


# -------------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class ResolvedAdapter:
    """A chosen adapter with the file it lives in; what the runtime needs to apply it."""

    name: str
    path: Path
    scale: float


class LoraRegistry:
    """Registered adapters: rows of the ``models`` table with ``kind = 'lora'``; the files stay where they are."""

    KIND = "lora"

    def __init__(self, db: SQLiteStore | None = None):
        self.models = ModelRegistry(db)

    def list(self) -> list[ModelEntry]:
        return self.models.list(self.KIND)

    def get(self, name_or_path: str | Path) -> ModelEntry:
        """A registered adapter by name, or any adapter GGUF by path (used ad hoc, not registered)."""
        text = str(name_or_path)
        rows = self.models.db.query("SELECT name, kind FROM models WHERE name = ?", (text,))
        if rows and rows[0]["kind"] == self.KIND:
            return self.models.get(text)
        if rows:
            raise LoraError(f"{text!r} is a {rows[0]['kind']} model, not a LoRA adapter; `nook lora list` shows adapters.")
        path = Path(text).expanduser()
        if path.suffix.lower() == ".gguf" or "/" in text or path.exists():
            info = read_adapter(path)
            return ModelEntry(name=str(path), path=path.resolve(), kind=self.KIND, source="local", size=info.file_size)
        bundled = next((b for b in BUNDLED if b.name == text), None)
        if bundled is not None:
            raise LoraError(f"{text!r} is a {bundled.kind} model, not a LoRA adapter; `nook lora list` shows adapters.")
        names = ", ".join(e.name for e in self.list()) or "none yet"
        raise LoraNotFoundError(
            f"No LoRA adapter called {text!r} (registered: {names}). Add one with `nook lora add FILE`, "
            "convert one with `nook lora convert`, or train one with `nook lora train`."
        )

    def info(self, name_or_path: str | Path) -> AdapterInfo:
        return read_adapter(self.get(name_or_path).path)

    def add(self, path: str | Path, name: str | None = None, *, source: str = "local", repo_id: str | None = None,
            filename: str | None = None, sha256: str | None = None) -> ModelEntry:
        """Register a GGUF LoRA adapter after checking that it is one. The file is used in place."""
        path = Path(path).expanduser()
        info = read_adapter(path)
        name = slugify(name or path.stem or info.name)
        return self.models.add(path, name, kind=self.KIND, source=source, repo_id=repo_id, filename=filename,
                               sha256=sha256)

    def remove(self, name: str, *, delete_file: bool = False) -> ModelEntry:
        """Unregister an adapter; ``delete_file`` also deletes the file when Inglenook wrote or downloaded it."""
        entry = self.get(name)
        if entry.name != name:
            raise LoraError(f"{name!r} is not a registered adapter; `nook lora list` shows them.")
        with self.models.db.transaction() as conn:
            conn.execute("DELETE FROM models WHERE name = ? AND kind = ?", (name, self.KIND))
        # only files Inglenook wrote or downloaded; a file the user added from disk stays theirs
        if delete_file and entry.source in ("hub", "converted", "trained") and entry.path.is_file():
            entry.path.unlink()
        return entry

    def resolve(self, choices: Iterable[AdapterChoice], *, remembered: bool = True) -> list[ResolvedAdapter]:
        """Files and scales for choices; ``remembered``: they were saved with a conversation earlier."""
        out = []
        for choice in choices:
            try:
                entry = self.get(choice.name)
            except LoraNotFoundError:
                if not remembered:
                    raise
                raise LoraError(
                    f"This conversation uses the adapter {choice.name!r}, which is no longer installed. Add it "
                    f"again with `nook lora add`, or switch it off (`/lora off {choice.name}`)."
                ) from None
            if not entry.path.is_file():
                raise LoraError(
                    f"The adapter {choice.name!r} is registered but its file {entry.path} is gone; add it again "
                    f"or remove it with `nook lora remove {choice.name}`."
                )
            out.append(ResolvedAdapter(entry.name, entry.path, choice.scale))
        return out

    def unique_name(self, wanted: str) -> str:
        base = slugify(wanted)
        taken = {e.name for e in self.models.list(None)}
        if base not in taken:
            return base
        n = 2
        while f"{base}-{n}" in taken:
            n += 1
        return f"{base}-{n}"

    def download(self, repo_id: str, filename: str, *, endpoint: str | None = None, name: str | None = None,
                 progress: Callable | None = None, cancel: threading.Event | None = None,
                 token: str | None = None) -> ModelEntry:
        """Download a GGUF adapter from the Hub (or a mirror) into the adapters folder and register it."""
        from engine.models.bundled import sha256_file
        from engine.models.hub import HubClient

        dest = adapters_dir() / repo_id.replace("/", "__")
        path = HubClient(endpoint=endpoint, token=token).download(repo_id, filename, dest, progress=progress,
                                                                  cancel=cancel)
        try:
            read_adapter(path)
        except LoraError:
            path.unlink(missing_ok=True)
            raise
        existing = self.models.db.query("SELECT name FROM models WHERE path = ?", (str(path.resolve()),))
        if existing:
            return self.models.get(existing[0]["name"])
        return self.add(path, name or Path(filename).stem, source="hub", repo_id=repo_id, filename=filename,
                        sha256=sha256_file(path))

    def install_file(self, path: Path, name: str, *, source: str) -> ModelEntry:
        """Move a file Inglenook just wrote into the adapters folder and register it under ``name``."""
        dest = adapters_dir() / f"{name}.gguf"
        if dest.exists():
            dest = adapters_dir() / f"{name}-{int(time.time())}.gguf"
        if Path(path).resolve() != dest.resolve():
            shutil.move(str(path), dest)
        return self.add(dest, name, source=source)
