"""The portable llama.cpp runtime: every CPU variant built, the best one chosen here, never AMX by default.

On some Xeons AMX crashes llama.cpp's OpenMP workers with SIGILL (llama.cpp PR #26954). A native build
(GGML_NATIVE) on such a machine uses AMX unconditionally, so these tests fail on any build that could
take that path again: a single-variant build, or one whose loaded CPU backend has AMX switched on.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from engine import llama_native
from engine.diagnostics import describe_exit, run_canary, run_checks
from engine.llama_native import AMX_VARIANTS, choose_variant


def test_the_highest_scoring_variant_wins_but_amx_is_skipped():
    scores = {"x64": 1, "haswell": 50, "zen4": 80, "sapphirerapids": 90, "icelake": 0}
    name, reason = choose_variant(scores)
    assert name == "zen4"
    assert "sapphirerapids skipped" in reason


def test_amx_only_when_asked_and_a_forced_variant_must_exist():
    scores = {"haswell": 50, "sapphirerapids": 90}
    assert choose_variant(scores, allow_amx=True)[0] == "sapphirerapids"
    assert choose_variant(scores, forced="haswell") == ("haswell", "forced by INGLENOOK_CPU_VARIANT=haswell")
    with pytest.raises(ValueError, match="not in this build"):
        choose_variant(scores, forced="zen9")
    with pytest.raises(ValueError, match="no CPU variant"):
        choose_variant({"zen4": 0, "sapphirerapids": 0})


def test_this_build_is_portable_and_runs_no_amx_code():
    variant = llama_native.cpu_variant()
    assert variant.portable, ("llama-cpp-python was built for one CPU (GGML_NATIVE); build it with "
                              "scripts/build_runtime.sh")
    assert len(variant.scores) >= 10, variant.scores  # every x86 variant was compiled
    assert variant.name not in AMX_VARIANTS
    usable = {n: s for n, s in variant.scores.items() if s > 0 and n not in AMX_VARIANTS}
    assert variant.scores[variant.name] == max(usable.values())
    features = llama_native.cpu_features()
    assert features, "the CPU backend reports no features: it was not loaded"
    assert not [k for k, v in features.items() if k.startswith("AMX") and v == "1"], features


def test_a_canary_reply_runs_in_a_child_process(smollm2_path):
    check = run_canary(smollm2_path)
    assert check.status == "ok", check
    assert check.details["tokens"] > 0
    assert check.details["variant"] == llama_native.cpu_variant().name


def test_a_canary_that_cannot_start_is_reported_with_what_to_do(smollm2_path):
    check = run_canary(smollm2_path, env={"INGLENOOK_CPU_VARIANT": "no-such-cpu"})
    assert check.status == "fail"
    assert "The model process stopped: exit code 1" in check.summary
    assert check.fix


def test_a_child_killed_by_sigill_is_described_in_words():
    proc = subprocess.run([sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGILL)"])
    assert proc.returncode == -signal.SIGILL
    assert describe_exit(proc.returncode) == "illegal CPU instruction (SIGILL)"
    assert describe_exit(-signal.SIGKILL).startswith("killed")
    assert describe_exit(3) == "exit code 3"


def test_doctor_report_without_canary_is_complete():
    report = run_checks(canary=False)
    names = [c.name for c in report.checks]
    assert names == ["runtime", "gpu", "mlc", "data", "model"]
    runtime = report.checks[0]
    assert runtime.status == "ok" and "portable build" in runtime.summary
    assert report.ok
