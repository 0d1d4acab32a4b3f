"""The one module that calls llama.cpp's C API (``llama_cpp.llama_cpp``) and ggml's through ctypes.

Everything else in Inglenook goes through ``llama_cpp.Llama`` or through the functions here, so a
change in llama-cpp-python's low-level bindings is mended in one place.

It also finishes what a portable build needs: llama-cpp-python built with ``GGML_BACKEND_DL`` and
``GGML_CPU_ALL_VARIANTS`` (scripts/build_runtime.sh) ships one CPU backend per instruction-set
level as a separate library and loads none of them. ``modules()`` loads the best one this CPU
runs, the way ggml's own ``ggml_backend_load_best`` scores them, except that AMX variants are
never chosen unless asked for: on some Xeons the OS grants AMX tile state to the main thread only
and an OpenMP worker dies with SIGILL on its first ``tilezero`` (llama.cpp PR #26954).
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# variants whose code uses AMX tiles; never chosen unless INGLENOOK_ALLOW_AMX=1
AMX_VARIANTS = frozenset({"sapphirerapids"})
CPU_PREFIX = "libggml-cpu-"
_LOCK = threading.Lock()
_STATE: dict[str, Any] = {}


@dataclass(frozen=True)
class CpuVariant:
    """The CPU backend library this process runs on, and why."""

    name: str  # "zen4", "haswell", ... ; "built-in" for a single-variant (non-DL) build
    path: Path | None
    reason: str
    scores: dict[str, int] = field(default_factory=dict)  # every variant found, 0 = this CPU lacks it
    excluded: tuple[str, ...] = ()

    @property
    def portable(self) -> bool:
        return self.path is not None


# ------------------------------------------------------------------------------ loading
def modules() -> tuple[Any, Any]:
    """``(llama_cpp, llama_cpp.llama_cpp)`` with the CPU and GPU backends loaded (once a process)."""
    import llama_cpp
    import llama_cpp.llama_cpp as low

    with _LOCK:
        if "variant" not in _STATE:
            _STATE["variant"] = _load_backends(llama_cpp)
    return llama_cpp, low


def cpu_variant() -> CpuVariant:
    """Which CPU variant ``modules()`` loaded (loading it first if need be)."""
    modules()
    return _STATE["variant"]


def backend_dirs(package_dir: Path) -> list[Path]:
    """Where a build keeps its backend libraries: the wheel puts them in site-packages/bin."""
    dirs = [Path(d) for d in os.environ.get("INGLENOOK_GGML_BACKEND_DIR", "").split(os.pathsep) if d]
    dirs += [package_dir / "lib", package_dir / "bin", package_dir.parent / "bin", Path(sys.prefix) / "bin"]
    return [d for d in dict.fromkeys(dirs) if d.is_dir()]


def choose_variant(scores: dict[str, int], forced: str = "", allow_amx: bool = False) -> tuple[str, str]:
    """Pick a variant from ``{name: score}``; returns (name, reason). Raises ValueError when none runs."""
    if forced:
        if forced not in scores:
            raise ValueError(f"INGLENOOK_CPU_VARIANT={forced!r} is not in this build; it has: "
                             f"{', '.join(sorted(scores))}")
        return forced, f"forced by INGLENOOK_CPU_VARIANT={forced}"
    usable = {n: s for n, s in scores.items() if s > 0 and (allow_amx or n not in AMX_VARIANTS)}
    if not usable:
        raise ValueError("no CPU variant of this llama.cpp build runs on this processor")
    best = max(usable, key=lambda n: (usable[n], n))
    skipped = [n for n in AMX_VARIANTS if scores.get(n, 0) > usable[best] and not allow_amx]
    reason = f"highest score this CPU supports ({usable[best]})"
    if skipped:
        reason += f"; AMX variant {', '.join(skipped)} skipped (AMX can crash OpenMP workers: set " \
                  "INGLENOOK_ALLOW_AMX=1 to try it)"
    return best, reason


def safer_variant(scores: dict[str, int], current: str) -> str | None:
    """The best variant this CPU runs that scores below ``current`` (after ``current`` crashed), or None."""
    ceiling = scores.get(current, 0)
    below = {n: s for n, s in scores.items() if 0 < s < ceiling and n not in AMX_VARIANTS}
    return max(below, key=lambda n: (below[n], n)) if below else None


def _load_backends(llama_cpp: Any) -> CpuVariant:
    package_dir = Path(llama_cpp.__file__).parent
    libggml = _libggml(package_dir)
    found = {}
    others = []
    for directory in backend_dirs(package_dir):
        for lib in sorted(directory.glob("libggml-*.so")) + sorted(directory.glob("ggml-*.dll")):
            stem = lib.name.split(".")[0].removeprefix("lib")
            if stem.startswith("ggml-cpu-"):
                found.setdefault(stem.removeprefix("ggml-cpu-"), lib)
            elif stem not in ("ggml-base", "ggml-cpu", "ggml") and lib not in others:
                others.append(lib)
    if not found:
        return CpuVariant("built-in", None, "this llama.cpp build has one CPU backend linked in")
    scores = {name: _score(path) for name, path in found.items()}
    name, reason = choose_variant(scores, os.environ.get("INGLENOOK_CPU_VARIANT", ""),
                                  os.environ.get("INGLENOOK_ALLOW_AMX") == "1")
    load = _fn(libggml, "ggml_backend_load", ctypes.c_void_p, ctypes.c_char_p)
    with quiet_stderr():  # ggml announces each backend it loads
        if not load(os.fsencode(found[name])):
            raise OSError(f"ggml could not load its CPU backend {found[name]}")
        for lib in others:  # GPU backends of a DL build (CUDA, Vulkan...); one that fails is skipped
            load(os.fsencode(lib))
    excluded = tuple(n for n in sorted(found) if n in AMX_VARIANTS)
    return CpuVariant(name, found[name], reason, scores, excluded)


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """llama.cpp and ggml print some notices straight to fd 2 (vocabulary-only loads, backend loading)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null, contextlib.redirect_stderr(io.StringIO()):
            os.dup2(null.fileno(), 2)
            yield
            sys.stderr.flush()
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _libggml(package_dir: Path) -> ctypes.CDLL:
    """The libggml instance libllama itself uses (the wheel holds several copies under other names)."""
    for candidate in ("libggml.so.0", "libggml.so", "libggml.dylib", "ggml.dll"):
        path = package_dir / "lib" / candidate
        if path.exists():
            return ctypes.CDLL(str(path))
    from llama_cpp import _ggml

    return _ggml.libggml


def _score(path: Path) -> int:
    """The variant's own ``ggml_backend_score()``: 0 when this CPU lacks one of its instructions."""
    try:
        lib = ctypes.CDLL(str(path), mode=getattr(os, "RTLD_LOCAL", 0))
    except OSError:
        return 0
    try:
        return int(_fn(lib, "ggml_backend_score", ctypes.c_int)())
    except AttributeError:
        return 0


def _fn(lib: Any, name: str, restype: Any, *argtypes: Any) -> Callable[..., Any]:
    """A fresh ctypes prototype for ``name``, so the shared library object is not modified."""
    return ctypes.CFUNCTYPE(restype, *argtypes)((name, lib))


# ------------------------------------------------------------------------------ ggml devices
@dataclass(frozen=True)
class GgmlDevice:
    """One entry of ggml's backend device registry (CPU, GPU, integrated GPU or accelerator)."""

    name: str
    description: str
    backend: str
    kind: int  # enum ggml_backend_dev_type: 0 CPU, 1 GPU, 2 IGPU, 3 ACCEL, 4 META
    total_bytes: int
    free_bytes: int

    @property
    def is_gpu(self) -> bool:
        return self.kind in (1, 2)


def _ggml_lib() -> Any:
    llama_cpp, _ = modules()
    return _libggml(Path(llama_cpp.__file__).parent)


def ggml_devices() -> list[GgmlDevice]:
    """Every device in the loaded llama.cpp's ggml backend registry (raises when a symbol is missing)."""
    lib = _ggml_lib()
    voidp, size_t = ctypes.c_void_p, ctypes.c_size_t
    dev_count = _fn(lib, "ggml_backend_dev_count", size_t)
    dev_get = _fn(lib, "ggml_backend_dev_get", voidp, size_t)
    dev_type = _fn(lib, "ggml_backend_dev_type", ctypes.c_int, voidp)
    dev_name = _fn(lib, "ggml_backend_dev_name", ctypes.c_char_p, voidp)
    dev_description = _fn(lib, "ggml_backend_dev_description", ctypes.c_char_p, voidp)
    dev_memory = _fn(lib, "ggml_backend_dev_memory", None, voidp, ctypes.POINTER(size_t), ctypes.POINTER(size_t))
    dev_reg = _fn(lib, "ggml_backend_dev_backend_reg", voidp, voidp)
    reg_name = _fn(lib, "ggml_backend_reg_name", ctypes.c_char_p, voidp)
    devices = []
    for index in range(dev_count()):
        dev = dev_get(index)
        if not dev:
            continue
        free, total = size_t(0), size_t(0)
        dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
        reg = dev_reg(dev)
        devices.append(GgmlDevice(_text(dev_name(dev)), _text(dev_description(dev)),
                                  _text(reg_name(reg)) if reg else "", int(dev_type(dev)),
                                  int(total.value), int(free.value)))
    return devices


class _Feature(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("value", ctypes.c_char_p)]


def cpu_features() -> dict[str, str]:
    """What the loaded CPU backend was compiled to use (``AVX2: 1``, ``AMX_INT8: 1``, ...)."""
    lib = _ggml_lib()
    voidp = ctypes.c_void_p
    reg = _fn(lib, "ggml_backend_reg_by_name", voidp, ctypes.c_char_p)(b"CPU")
    if not reg:
        return {}
    address = _fn(lib, "ggml_backend_reg_get_proc_address", voidp, voidp, ctypes.c_char_p)(
        reg, b"ggml_backend_get_features")
    if not address:
        return {}
    features = ctypes.CFUNCTYPE(ctypes.POINTER(_Feature), voidp)(address)(reg)
    out = {}
    index = 0
    while features[index].name:
        out[_text(features[index].name)] = _text(features[index].value)
        index += 1
    return out


def supports_gpu_offload() -> bool:
    llama_cpp, _ = modules()
    return bool(llama_cpp.llama_supports_gpu_offload())


def _text(raw: bytes | None) -> str:
    return raw.decode("utf-8", "replace") if raw else ""


# ------------------------------------------------------------------------------ model calls
def special_token_text(llm: Any, which: str) -> str:
    """The text of the model's BOS or EOS token ("" when it has none), as chat templates need it."""
    token = llm.token_bos() if which == "bos" else llm.token_eos()
    if token is None or token < 0:
        return ""
    return llm.detokenize([token], special=True).decode("utf-8", errors="ignore")


def token_is_eog(llm: Any, token: int) -> bool:
    _, low = modules()
    return bool(low.llama_vocab_is_eog(llm._model.vocab, token))


@contextlib.contextmanager
def progress_hook(progress: Callable[[float], Any] | None, cancelled: threading.Event) -> Iterator[None]:
    """Report llama.cpp's load progress and let the callback cancel the load.

    ``Llama`` takes no progress callback, so for the duration of one load we wrap
    ``llama_model_default_params`` to set llama.cpp's own ``progress_callback``. Callers hold a
    lock around the load: the patch is process-wide.
    """
    _, low = modules()
    if progress is None or not hasattr(low, "llama_progress_callback"):
        yield
        return

    def on_progress(fraction: float, _user_data) -> bool:
        try:
            keep_going = progress(float(fraction)) is not False
        except Exception:  # a broken callback must not crash the load
            keep_going = True
        if not keep_going:
            cancelled.set()
        return keep_going

    callback = low.llama_progress_callback(on_progress)
    original = low.llama_model_default_params

    def patched():
        params = original()
        params.progress_callback = callback
        params.progress_callback_user_data = ctypes.c_void_p(0)
        return params

    low.llama_model_default_params = patched
    try:
        yield
    finally:
        low.llama_model_default_params = original


def set_threads(llm: Any, n_threads: int) -> None:
    """Change how many threads decode and read prompts on ``llm``'s context, from the next call on."""
    _, low = modules()
    low.llama_set_n_threads(llm._ctx.ctx, n_threads, n_threads)


def model_ms(llm: Any) -> tuple[float, float]:
    """Milliseconds llama.cpp has spent in this context reading prompts (batches of several tokens)
    and decoding single tokens, from its own perf counters: the part of a reply's time that is the
    model's, so the rest is what the code around it costs (benchmarks/bench_decode.py)."""
    _, low = modules()
    perf = low.llama_perf_context(llm._ctx.ctx)
    return float(perf.t_p_eval_ms), float(perf.t_eval_ms)


# ------------------------------------------------------------------------------ LoRA adapters
def adapter_init(llm: Any, path: Path) -> Any:
    """Read a GGUF LoRA adapter for ``llm``'s model; a null pointer (falsy) when llama.cpp refuses it."""
    _, low = modules()
    return low.llama_adapter_lora_init(llm._model.model, os.fsencode(path))


def adapter_free(pointer: Any) -> None:
    _, low = modules()
    low.llama_adapter_lora_free(pointer)


def set_adapters(llm: Any, pointers: list, scales: list[float]) -> int:
    """Make exactly these adapters active on ``llm``'s context; llama.cpp's return code (0 = done)."""
    _, low = modules()
    n = len(pointers)
    if not n:
        return int(low.llama_set_adapters_lora(llm._ctx.ctx, None, 0, None))
    array = (low.llama_adapter_lora_p_ctypes * n)(*pointers)
    values = (ctypes.c_float * n)(*scales)
    return int(low.llama_set_adapters_lora(llm._ctx.ctx, array, n, values))


def grammar(llm: Any, text: str) -> Any:
    """``text`` (GBNF) as llama-cpp-python's grammar object, checked by llama.cpp's own parser first.

    A grammar llama.cpp cannot parse makes it return no sampler; adding that to the sampling chain would
    crash, so it is refused here with a message instead.
    """
    from llama_cpp.llama_grammar import LlamaGrammar

    from engine.errors import GenerationError

    _, low = modules()
    probe = low.llama_sampler_init_grammar(llm._model.vocab, text.encode("utf-8"), b"root")
    if not probe:
        raise GenerationError("llama.cpp could not parse the output grammar; check the JSON schema.")
    low.llama_sampler_free(probe)
    return LlamaGrammar.from_string(text, verbose=False)
