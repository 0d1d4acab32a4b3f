"""engine.hardware: estimates against llama.cpp's own numbers, the planner on synthetic sizes,
and GPU detection on this CPU-only machine."""

from __future__ import annotations

import dataclasses
import os
import stat
import sys
from pathlib import Path

import pytest

from engine.errors import ContextTooLargeError, ModelError
from engine.hardware import (
    GpuDevice,
    GpuSupport,
    MiB,
    available_memory_bytes,
    check_context_fits,
    compute_buffer_bytes,
    detect_gpu_support,
    estimate_model_memory,
    kv_cache_bytes,
    parse_nvidia_smi,
    plan_for_model,
    plan_offload,
    resolve_n_gpu_layers,
)
from engine.llama_native import ggml_devices
from engine.models.gguf import GGUFInfo, read_gguf

CPU_ONLY = GpuSupport(False, [], "This llama.cpp build is CPU-only; models run on the CPU.")


def gpu(free_mib: int, name: str = "Test GPU") -> GpuSupport:
    device = GpuDevice(name, "CUDA", 2 * free_mib * MiB, free_mib * MiB)
    return GpuSupport(True, [device], "GPU offload available")


@pytest.fixture(scope="module")
def info(smollm2_path: Path) -> GGUFInfo:
    return read_gguf(smollm2_path)


def with_metadata(info: GGUFInfo, **changes) -> GGUFInfo:
    return dataclasses.replace(info, metadata={**info.metadata, **changes})


# -- estimates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n_ctx", "mib"), [(512, 11.25), (2048, 45.0), (8192, 180.0)])
def test_kv_cache_matches_llama_cpp(info: GGUFInfo, n_ctx: int, mib: float) -> None:
    # llama.cpp 0.3.36 logs "llama_kv_cache: size = 45.00 MiB (2048 cells, 30 layers...)" for SmolLM2
    assert kv_cache_bytes(info, n_ctx) == int(mib * MiB)


def test_kv_cache_uses_per_layer_heads_and_key_length(info: GGUFInfo) -> None:
    per_layer = with_metadata(info, **{"llama.attention.head_count_kv": [3] * 15 + [1] * 15})
    assert kv_cache_bytes(per_layer, 2048) == kv_cache_bytes(info, 2048) * 2 // 3
    wider_keys = with_metadata(info, **{"llama.attention.key_length": 128})  # values stay 64 wide
    assert kv_cache_bytes(wider_keys, 2048) == kv_cache_bytes(info, 2048) * 3 // 2
    assert kv_cache_bytes(info, 2048, bytes_per_element=1) == kv_cache_bytes(info, 2048) // 2


def test_kv_cache_without_hyperparameters_is_zero(info: GGUFInfo) -> None:
    bare = dataclasses.replace(info, metadata={"general.architecture": "llama"})
    assert kv_cache_bytes(bare, 2048) == 0
    assert kv_cache_bytes(info, 0) == 0


@pytest.mark.parametrize(("n_ctx", "llama_cpp_mib"), [(512, 99.38), (2048, 98.25), (8192, 166.38)])
def test_compute_buffer_is_close_and_not_below_llama_cpp(info: GGUFInfo, n_ctx: int, llama_cpp_mib: float) -> None:
    # "CPU compute buffer size = ... MiB" as logged by llama.cpp 0.3.36 loading SmolLM2
    estimate = compute_buffer_bytes(info, n_ctx) / MiB
    assert llama_cpp_mib <= estimate <= llama_cpp_mib * 1.2


def test_estimate_adds_up(info: GGUFInfo) -> None:
    estimate = estimate_model_memory(info, 2048)
    assert estimate.weights_bytes == info.tensor_bytes
    assert estimate.kv_bytes == kv_cache_bytes(info, 2048)
    assert estimate.total_bytes == estimate.weights_bytes + estimate.kv_bytes + estimate.compute_bytes
    assert estimate_model_memory(info, 8192).total_bytes > estimate.total_bytes


def test_available_memory() -> None:
    assert available_memory_bytes() > 64 * MiB


def test_context_that_fits(info: GGUFInfo) -> None:
    check_context_fits(info, 8192, available=estimate_model_memory(info, 8192).total_bytes)
    check_context_fits(info, 2048)  # this machine has room for a 135M model


def test_context_too_large_names_the_largest_that_fits(info: GGUFInfo) -> None:
    available = estimate_model_memory(info, 4096).total_bytes + 1000
    with pytest.raises(ContextTooLargeError) as caught:
        check_context_fits(info, 8192, available=available)
    message = str(caught.value)
    assert "context of 8,192 tokens needs about" in message
    assert "Use a context of 4,096 tokens or less" in message


def test_context_suggestion_is_a_multiple_of_256(info: GGUFInfo) -> None:
    available = estimate_model_memory(info, 3000).total_bytes
    with pytest.raises(ContextTooLargeError, match="Use a context of 2,816 tokens or less"):
        check_context_fits(info, 8192, available=available)


def test_nothing_fits(info: GGUFInfo) -> None:
    with pytest.raises(ContextTooLargeError, match="Even a small context does not fit.*smaller model"):
        check_context_fits(info, 2048, available=info.tensor_bytes // 2)


# -- the planner ----------------------------------------------------------------------------------

LAYERS = [100] * 10  # ten blocks of 100 bytes; each also needs 10 bytes of KV; output layer 50
ARGS = {"compute_reserve": 100, "output_bytes": 50}


def test_everything_fits() -> None:
    plan = plan_offload(LAYERS, 500, 10, 10_000, **ARGS)
    assert (plan.n_gpu_layers, plan.total_layers, plan.fit) == (11, 11, "fits")
    assert plan.gpu_bytes == 50 + 10 * 110 + 100
    assert plan.cpu_bytes == 500  # token embeddings stay in RAM
    assert "whole model fits" in plan.message


def test_partial_counts_output_first_then_last_blocks() -> None:
    # budget 1000 * 0.9 - 100 = 800: output 50, then 110 a block: 50 + 6 * 110 = 710 <= 800 < 820
    plan = plan_offload(LAYERS, 500, 10, 1000, **ARGS)
    assert (plan.n_gpu_layers, plan.fit) == (7, "partial")
    assert plan.gpu_bytes == 710 + 100
    assert plan.cpu_bytes == 500 + 4 * 110
    assert "7 of 11 layers fit" in plan.message


def test_margin_edge_is_inclusive() -> None:
    exact = plan_offload(LAYERS, 0, 10, 920, safety_margin=0.0, **ARGS)  # budget 820 = 50 + 7 * 110
    assert exact.n_gpu_layers == 8
    short = plan_offload(LAYERS, 0, 10, 919, safety_margin=0.0, **ARGS)
    assert short.n_gpu_layers == 7
    halved = plan_offload(LAYERS, 0, 10, 1840, safety_margin=0.5, **ARGS)  # 920 - 100 = 820 again
    assert halved.n_gpu_layers == 8


def test_nothing_fits_on_the_gpu() -> None:
    plan = plan_offload(LAYERS, 500, 10, 100, **ARGS)  # budget 90 - 100 < 0
    assert (plan.n_gpu_layers, plan.fit, plan.gpu_bytes) == (0, "none", 0)
    assert plan.cpu_bytes == 500 + 10 * 110
    assert "Not even one layer fits" in plan.message


def test_zero_layers() -> None:
    plan = plan_offload([], 500, 10, 10_000, **ARGS)
    assert (plan.n_gpu_layers, plan.total_layers, plan.fit, plan.cpu_bytes) == (0, 0, "none", 500)
    assert "no layers" in plan.message


def test_huge_context_leaves_only_the_output_layer() -> None:
    plan = plan_offload(LAYERS, 500, 10**12, 8 * 1024**3, **ARGS)
    assert (plan.n_gpu_layers, plan.fit) == (1, "partial")
    assert "1 of 11 layers" in plan.message


def test_a_big_first_block_does_not_collapse_the_plan() -> None:
    # llama.cpp offloads from the end, so a big block 0 only stops the count when reached
    plan = plan_offload([10_000, 100, 100, 100], 0, 0, 2000, compute_reserve=0, output_bytes=50)
    assert plan.n_gpu_layers == 4
    assert plan.cpu_bytes == 10_000


# -- GPU detection --------------------------------------------------------------------------------


def test_detects_this_cpu_only_build() -> None:
    support = detect_gpu_support()
    assert not support.offload_supported or not support.devices
    assert support.devices == []
    assert "CPU" in support.message


def test_ggml_device_registry_is_reachable() -> None:
    devices = ggml_devices()
    cpu = [d for d in devices if d.backend == "CPU"]
    assert cpu and cpu[0].kind == 0 and cpu[0].total_bytes > 0
    assert not any(d.is_gpu for d in devices)


def test_cpu_only_build_with_an_nvidia_gpu_says_how_to_use_it(tmp_path: Path, monkeypatch) -> None:
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA GeForce RTX 3060, 12288, 11000'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    support = detect_gpu_support()
    assert not support.offload_supported
    assert "RTX 3060" in support.message and "GGML_CUDA=on" in support.message


def test_detection_survives_a_broken_llama_cpp(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import now raises ImportError
    support = detect_gpu_support()
    assert (support.offload_supported, support.devices) == (False, [])
    assert "could not be loaded" in support.message


def test_parse_nvidia_smi() -> None:
    output = "NVIDIA A100-SXM4-80GB, 81920, 80000\nNVIDIA RTX A6000, 49140, 1000\ngarbage\nX, y, z\n"
    devices = parse_nvidia_smi(output)
    assert [d.name for d in devices] == ["NVIDIA A100-SXM4-80GB", "NVIDIA RTX A6000"]
    assert devices[0].total_bytes == 81920 * MiB and devices[0].free_bytes == 80000 * MiB


# -- planning a real model ------------------------------------------------------------------------


def test_plan_on_cpu_only(info: GGUFInfo) -> None:
    plan = plan_for_model(info, 2048, CPU_ONLY)
    assert (plan.n_gpu_layers, plan.total_layers, plan.fit) == (0, 31, "cpu-only")
    assert plan.message == CPU_ONLY.message


def test_plan_on_a_roomy_gpu(info: GGUFInfo) -> None:
    plan = plan_for_model(info, 2048, gpu(8192))
    assert (plan.n_gpu_layers, plan.fit) == (31, "fits")
    assert plan.message.startswith("Test GPU: ")
    assert plan.gpu_bytes == estimate_model_memory(info, 2048).total_bytes  # embeddings copied as output


def test_plan_on_a_small_gpu(info: GGUFInfo) -> None:
    plan = plan_for_model(info, 2048, gpu(250))
    assert plan.fit == "partial" and 1 < plan.n_gpu_layers < 31
    assert plan.gpu_bytes <= 250 * MiB


def test_plan_picks_the_gpu_with_most_free_memory(info: GGUFInfo) -> None:
    small, big = gpu(100, "small").devices[0], gpu(8192, "big").devices[0]
    plan = plan_for_model(info, 2048, GpuSupport(True, [small, big], ""))
    assert plan.message.startswith("big: ") and plan.fit == "fits"


def test_resolve_auto_and_all(info: GGUFInfo) -> None:
    assert resolve_n_gpu_layers("auto", info, 2048, gpu(8192))[0] == 31
    assert resolve_n_gpu_layers(-1, info, 2048, gpu(8192))[0] == 31
    n, plan = resolve_n_gpu_layers("auto", info, 2048, gpu(250))
    assert n == plan.n_gpu_layers < 31


def test_resolve_explicit_count(info: GGUFInfo) -> None:
    n, plan = resolve_n_gpu_layers(5, info, 2048, gpu(8192))
    assert (n, plan.n_gpu_layers, plan.fit) == (5, 5, "partial")
    assert "5 of 31 layers on the GPU, as set" in plan.message
    n, plan = resolve_n_gpu_layers(500, info, 2048, gpu(250))
    assert n == 31 and plan.fit == "fits"
    assert "only about" in plan.message and "may fail" in plan.message


def test_resolve_on_cpu_only_build_says_layers_are_ignored(info: GGUFInfo) -> None:
    n, plan = resolve_n_gpu_layers(-1, info, 2048, CPU_ONLY)
    assert n == 0 and plan.fit == "cpu-only"
    assert "31 GPU layers asked for are ignored" in plan.message
    assert resolve_n_gpu_layers(0, info, 2048, CPU_ONLY)[1].message == CPU_ONLY.message


@pytest.mark.parametrize("bad", ["all", -2, True, 2.5])
def test_resolve_rejects_bad_settings(info: GGUFInfo, bad) -> None:
    with pytest.raises(ModelError, match="n_gpu_layers must be"):
        resolve_n_gpu_layers(bad, info, 2048, CPU_ONLY)
