"""What this computer can hold: GPU detection, memory estimates and a GPU offload planner.

Users of other local-LLM apps complain about three GPU failures: a model that silently falls
back to the CPU, memory estimates that are wrong in both directions, and partial offload that
collapses to one layer. So here every decision comes with a plain message (``GpuSupport.message``,
``OffloadPlan.message``), the estimates are built from the file's own tensor sizes and
hyperparameters, and the planner counts layers one by one against the free memory.

llama.cpp is reached only through ``engine.llama_native``, lazily, so the planner and estimates work (and are tested) without it.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any, Literal

import psutil

from engine import llama_native
from engine.errors import ContextTooLargeError, ModelError
from engine.models.gguf import GGUFInfo
from engine.units import format_bytes

GiB = 1024**3
MiB = 1024**2
CONTEXT_STEP = 256
# llama-cpp-python's default physical batch: the compute buffers are sized for it.
N_UBATCH = 512
# Slack for graph metadata and allocator rounding in the compute buffer.
COMPUTE_OVERHEAD = 4 * MiB
DEFAULT_COMPUTE_RESERVE = 512 * MiB


# -- GPU detection --------------------------------------------------------------------------------


@dataclass
class GpuDevice:
    name: str
    backend: str
    total_bytes: int
    free_bytes: int


@dataclass
class GpuSupport:
    offload_supported: bool
    devices: list[GpuDevice]
    message: str


def detect_gpu_support() -> GpuSupport:
    """Whether this llama.cpp build can offload to a GPU, and which GPUs it sees. Never raises."""
    try:
        return _detect_gpu_support()
    except Exception as exc:  # a last guard: detection must never stop the app from starting
        return GpuSupport(False, [], f"Could not check for a GPU ({exc}); models run on the CPU.")


def _detect_gpu_support() -> GpuSupport:
    try:
        llama_native.modules()
    except Exception as exc:  # broken native library, not installed...
        return GpuSupport(False, [], f"llama-cpp-python could not be loaded ({exc}); reinstall Inglenook's dependencies to run models.")
    try:
        supported = llama_native.supports_gpu_offload()
    except Exception:
        supported = False
    if not supported:
        return GpuSupport(False, [], _cpu_only_message(_nvidia_smi_devices()))
    try:
        devices = _ggml_gpu_devices()
    except Exception:
        devices = _nvidia_smi_devices()
    if not devices:
        return GpuSupport(
            True,
            [],
            "This llama.cpp build supports GPU offload but found no usable GPU (check the GPU driver); "
            "models run on the CPU.",
        )
    listed = "; ".join(
        f"{d.name} ({d.backend}, {format_bytes(d.free_bytes)} free of {format_bytes(d.total_bytes)})" for d in devices
    )
    return GpuSupport(True, devices, f"GPU offload available: {listed}.")


def _cpu_only_message(present: list[GpuDevice]) -> str:
    message = "This llama.cpp build is CPU-only; models run on the CPU."
    if present:
        message += (
            f" An NVIDIA GPU ({present[0].name}) is installed but unused: reinstall llama-cpp-python "
            'with CUDA (CMAKE_ARGS="-DGGML_CUDA=on") to use it.'
        )
    return message


def _ggml_gpu_devices() -> list[GpuDevice]:
    return [
        GpuDevice(d.description or d.name, d.backend or d.name, d.total_bytes, d.free_bytes)
        for d in llama_native.ggml_devices()
        if d.is_gpu
    ]


def _nvidia_smi_devices() -> list[GpuDevice]:
    """NVIDIA GPUs according to nvidia-smi; empty when it is missing or fails."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return []
    try:
        result = subprocess.run(
            [exe, "--query-gpu=name,memory.total,memory.free", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_nvidia_smi(result.stdout) if result.returncode == 0 else []


def parse_nvidia_smi(output: str) -> list[GpuDevice]:
    """Parse ``name, total MiB, free MiB`` lines; lines that do not parse are skipped."""
    devices = []
    for line in output.splitlines():
        parts = [p.strip() for p in line.rsplit(",", 2)]
        if len(parts) != 3:
            continue
        name, total, free = parts
        try:
            devices.append(GpuDevice(name, "CUDA", int(float(total) * MiB), int(float(free) * MiB)))
        except ValueError:
            continue
    return devices


# -- memory estimates -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryEstimate:
    weights_bytes: int
    kv_bytes: int
    compute_bytes: int
    total_bytes: int


def _per_layer(value: Any, n_layer: int) -> list[int] | None:
    """A hyperparameter that may be one int or a per-layer array, as a list of n_layer ints."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return [value] * n_layer
    if isinstance(value, list) and len(value) == n_layer and all(isinstance(v, int) for v in value):
        return list(value)
    return None


def kv_cache_bytes(info: GGUFInfo, n_ctx: int, bytes_per_element: int = 2) -> int:
    """Bytes of the K and V caches for ``n_ctx`` tokens (f16 by default).

    Per layer: ``n_ctx * (n_embd_k_gqa + n_embd_v_gqa)`` elements, where
    ``n_embd_k_gqa = key_length * head_count_kv`` (key_length defaults to
    ``embedding_length / head_count``). Sliding-window and MLA models need less than this, so for
    them this is an upper bound. Returns 0 when the file lacks the hyperparameters.
    """
    n_layer = info.block_count
    n_embd = info.embedding_length
    n_head = info.head_count
    if not n_layer or not n_embd or not n_head or n_ctx <= 0:
        return 0
    heads_kv = _per_layer(info.arch_value("attention.head_count_kv"), n_layer)
    if heads_kv is None:
        heads_kv = [info.head_count_kv or n_head] * n_layer
    key_length = info.arch_value("attention.key_length")
    value_length = info.arch_value("attention.value_length")
    head_dim = n_embd // n_head
    k_len = key_length if isinstance(key_length, int) and key_length > 0 else head_dim
    v_len = value_length if isinstance(value_length, int) and value_length > 0 else head_dim
    elements_per_token = sum(h * (k_len + v_len) for h in heads_kv)
    return n_ctx * elements_per_token * bytes_per_element


def compute_buffer_bytes(info: GGUFInfo, n_ctx: int) -> int:
    """A slightly generous size of llama.cpp's compute buffer, sized for a 512-token batch.

    The buffer holds the larger of the batch's logits (``n_vocab`` floats per token) and, without
    flash attention, the attention scores plus mask (``n_ctx * (n_head + 1)`` floats per token),
    plus the layer activations. For SmolLM2 this gives 110/110/174 MiB at n_ctx 512/2048/8192,
    where llama.cpp reports 99/98/166 MiB.
    """
    n_embd = info.embedding_length or 0
    n_head = info.head_count or 0
    n_vocab = info.vocab_size or 0
    ff = _max_int_value(info.arch_value("feed_forward_length")) or 4 * n_embd
    logits = N_UBATCH * n_vocab * 4
    scores = N_UBATCH * max(n_ctx, 0) * (n_head + 1) * 4
    activations = N_UBATCH * (4 * n_embd + 2 * ff) * 4
    return max(logits, scores) + activations + COMPUTE_OVERHEAD


def _max_int_value(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, list):
        ints = [v for v in value if isinstance(v, int) and not isinstance(v, bool)]
        return max(ints) if ints else None
    return None


def estimate_model_memory(info: GGUFInfo, n_ctx: int) -> MemoryEstimate:
    """Memory to run ``info`` with a context of ``n_ctx`` tokens: weights + KV cache + compute."""
    weights = info.tensor_bytes
    kv = kv_cache_bytes(info, n_ctx)
    compute = compute_buffer_bytes(info, n_ctx)
    return MemoryEstimate(weights, kv, compute, weights + kv + compute)


def available_memory_bytes() -> int:
    """RAM that can be used without swapping (psutil's ``available``)."""
    return int(psutil.virtual_memory().available)


def largest_fitting_context(info: GGUFInfo, available: int, upper: int) -> int:
    """The largest multiple of 256 up to ``upper`` whose estimate fits in ``available``; 0 if none."""
    low, high = 0, max(upper, 0) // CONTEXT_STEP
    while low < high:  # memory grows with the context, so bisect on the step count
        mid = (low + high + 1) // 2
        if estimate_model_memory(info, mid * CONTEXT_STEP).total_bytes <= available:
            low = mid
        else:
            high = mid - 1
    return low * CONTEXT_STEP


def check_context_fits(info: GGUFInfo, n_ctx: int, available: int | None = None) -> None:
    """Raise ``ContextTooLargeError`` when the model with ``n_ctx`` would not fit in memory."""
    if available is None:
        available = available_memory_bytes()
    estimate = estimate_model_memory(info, n_ctx)
    if estimate.total_bytes <= available:
        return
    needs = (
        f"{info.name} with a context of {n_ctx:,} tokens needs about {format_bytes(estimate.total_bytes)} "
        f"(model {format_bytes(estimate.weights_bytes)}, context memory {format_bytes(estimate.kv_bytes)}, "
        f"working memory {format_bytes(estimate.compute_bytes)}), but only {format_bytes(available)} is free"
    )
    best = largest_fitting_context(info, available, n_ctx)
    if best == 0:
        raise ContextTooLargeError(
            f"{needs}. Even a small context does not fit: close other programs, "
            "or choose a smaller model or quantization."
        )
    raise ContextTooLargeError(
        f"{needs}. Use a context of {best:,} tokens or less (the largest that fits), or close other programs."
    )


# -- GPU offload planning -------------------------------------------------------------------------


@dataclass
class OffloadPlan:
    """How many layers go to the GPU.

    ``total_layers`` is n_layer + 1: llama.cpp counts the output layer as one more layer, and
    ``n_gpu_layers == total_layers`` means everything. ``gpu_bytes`` is weights + KV cache +
    compute reserve on the GPU; ``cpu_bytes`` is the weights and KV cache left in RAM.
    """

    n_gpu_layers: int
    total_layers: int
    fit: Literal["fits", "partial", "none", "cpu-only"]
    gpu_bytes: int
    cpu_bytes: int
    message: str


def _offload_costs(layer_bytes: list[int], kv_bytes_per_layer: int, output_bytes: int) -> list[int]:
    """GPU cost of each step of ``n_gpu_layers``, in the order llama.cpp offloads them.

    The llama.cpp in llama-cpp-python 0.3.36 gives the GPU the last ``n_gpu_layers`` of the
    ``n_layer + 1`` layers, the output layer being the last: so ``n_gpu_layers = 1`` offloads the
    output layer, 2 adds the last repeating block, and so on backwards.
    """
    return [output_bytes] + [size + kv_bytes_per_layer for size in reversed(layer_bytes)]


def _split_bytes(
    layer_bytes: list[int],
    non_layer_bytes: int,
    kv_bytes_per_layer: int,
    output_bytes: int,
    compute_reserve: int,
    n_gpu_layers: int,
) -> tuple[int, int]:
    """(GPU bytes, RAM bytes) when the first ``n_gpu_layers`` steps of ``_offload_costs`` are offloaded."""
    if n_gpu_layers <= 0:
        return 0, non_layer_bytes + sum(layer_bytes) + kv_bytes_per_layer * len(layer_bytes)
    gpu = sum(_offload_costs(layer_bytes, kv_bytes_per_layer, output_bytes)[:n_gpu_layers]) + compute_reserve
    blocks_in_ram = len(layer_bytes) - (n_gpu_layers - 1)
    cpu = non_layer_bytes + sum(layer_bytes[:blocks_in_ram]) + kv_bytes_per_layer * blocks_in_ram
    return gpu, cpu


def _fit_of(n_gpu_layers: int, total_layers: int) -> Literal["fits", "partial", "none"]:
    if total_layers and n_gpu_layers >= total_layers:
        return "fits"
    return "partial" if n_gpu_layers > 0 else "none"


def plan_offload(
    layer_bytes: list[int],
    non_layer_bytes: int,
    kv_bytes_per_layer: int,
    free_vram: int,
    *,
    compute_reserve: int = DEFAULT_COMPUTE_RESERVE,
    safety_margin: float = 0.1,
    output_bytes: int = 0,
) -> OffloadPlan:
    """Offload as many layers (each with its share of the KV cache) as fit in the free VRAM.

    The budget is ``free_vram * (1 - safety_margin) - compute_reserve``. Layers are added in
    llama.cpp's order (see ``_offload_costs``) while their running total stays within it; a layer
    that does not fit stops the count, as llama.cpp can only offload a contiguous run.
    ``non_layer_bytes`` (token embeddings etc.) stay in RAM: llama.cpp never offloads the input layer.
    """
    n_layer = len(layer_bytes)
    if n_layer == 0:
        return OffloadPlan(
            0, 0, "none", 0, non_layer_bytes, "This model has no layers to put on the GPU; it runs on the CPU."
        )
    total_layers = n_layer + 1
    budget = int(free_vram * (1.0 - safety_margin)) - compute_reserve
    used = count = 0
    for cost in _offload_costs(layer_bytes, kv_bytes_per_layer, output_bytes):
        if used + cost > budget:
            break
        used += cost
        count += 1
    gpu_bytes, cpu_bytes = _split_bytes(
        layer_bytes, non_layer_bytes, kv_bytes_per_layer, output_bytes, compute_reserve, count
    )
    fit = _fit_of(count, total_layers)
    return OffloadPlan(count, total_layers, fit, gpu_bytes, cpu_bytes, _plan_message(fit, count, total_layers, gpu_bytes, free_vram))


def _plan_message(fit: str, count: int, total: int, gpu_bytes: int, free_vram: int) -> str:
    if fit == "fits":
        return f"The whole model fits on the GPU (all {total} layers, about {format_bytes(gpu_bytes)} of {format_bytes(free_vram)} free)."
    if fit == "partial":
        return (
            f"{count} of {total} layers fit on the GPU (about {format_bytes(gpu_bytes)} of {format_bytes(free_vram)} free); "
            "the rest run on the CPU, so replies are slower. A smaller context or quantization lets more layers fit."
        )
    return (
        f"Not even one layer fits in the {format_bytes(free_vram)} free on the GPU, so the model runs on the CPU. "
        "Close programs that use the GPU, or choose a smaller context."
    )


def _support_or_detect(support: GpuSupport | None) -> GpuSupport:
    return support if support is not None else detect_gpu_support()


@dataclass(frozen=True)
class _PlanInputs:
    layer_bytes: list[int]
    non_layer_bytes: int
    kv_bytes_per_layer: int
    output_bytes: int
    compute_reserve: int

    @classmethod
    def of(cls, info: GGUFInfo, n_ctx: int) -> _PlanInputs:
        layers = info.layer_bytes()
        kv_per_layer = kv_cache_bytes(info, n_ctx) // len(layers) if layers else 0
        return cls(layers, info.non_layer_bytes(), kv_per_layer, info.output_bytes(), compute_buffer_bytes(info, n_ctx))

    def split(self, n_gpu_layers: int) -> tuple[int, int]:
        return _split_bytes(
            self.layer_bytes,
            self.non_layer_bytes,
            self.kv_bytes_per_layer,
            self.output_bytes,
            self.compute_reserve,
            n_gpu_layers,
        )


def plan_for_model(info: GGUFInfo, n_ctx: int, support: GpuSupport | None = None) -> OffloadPlan:
    """Plan the offload of ``info`` with ``n_ctx`` tokens onto the GPU with the most free memory.

    With several GPUs llama.cpp spreads the layers over all of them; planning for the roomiest
    one alone errs on the safe side.
    """
    support = _support_or_detect(support)
    inputs = _PlanInputs.of(info, n_ctx)
    if not support.offload_supported or not support.devices:
        _, cpu_bytes = inputs.split(0)
        return OffloadPlan(0, len(inputs.layer_bytes) + 1, "cpu-only", 0, cpu_bytes, support.message)
    device = max(support.devices, key=lambda d: d.free_bytes)
    plan = plan_offload(
        inputs.layer_bytes,
        inputs.non_layer_bytes,
        inputs.kv_bytes_per_layer,
        device.free_bytes,
        compute_reserve=inputs.compute_reserve,
        output_bytes=inputs.output_bytes,
    )
    return dataclasses.replace(plan, message=f"{device.name}: {plan.message}")


def resolve_n_gpu_layers(
    requested: int | Literal["auto"],
    info: GGUFInfo,
    n_ctx: int,
    support: GpuSupport | None = None,
) -> tuple[int, OffloadPlan]:
    """Turn the ``n_gpu_layers`` setting into the number to pass to llama.cpp, with a plan to show.

    ``"auto"`` uses the planner; ``-1`` means all layers; a number is kept (capped at the total)
    but the plan's message warns when it is more than the planner thinks fits. On a CPU-only build
    the answer is 0 and the message says so, instead of llama.cpp silently ignoring the setting.
    """
    if requested != "auto" and (isinstance(requested, bool) or not isinstance(requested, int) or requested < -1):
        raise ModelError(
            f"n_gpu_layers must be 'auto', -1 (all layers) or a number of layers (0 or more), not {requested!r}; "
            "fix the setting."
        )
    plan = plan_for_model(info, n_ctx, support)
    if requested == "auto":
        return plan.n_gpu_layers, plan
    wanted = plan.total_layers if requested == -1 else min(requested, plan.total_layers)
    if plan.fit == "cpu-only":
        if wanted > 0:
            plan = dataclasses.replace(plan, message=f"{plan.message} The {wanted} GPU layers asked for are ignored.")
        return 0, plan
    if wanted > plan.n_gpu_layers:
        message = (
            f"You asked for {wanted} of {plan.total_layers} layers on the GPU but only about {plan.n_gpu_layers} fit; "
            "loading may fail for lack of GPU memory. Use 'auto' or a smaller number."
        )
    else:
        message = f"{wanted} of {plan.total_layers} layers on the GPU, as set."
    gpu_bytes, cpu_bytes = _PlanInputs.of(info, n_ctx).split(wanted)
    fit = _fit_of(wanted, plan.total_layers)
    return wanted, OffloadPlan(wanted, plan.total_layers, fit, gpu_bytes, cpu_bytes, message)


