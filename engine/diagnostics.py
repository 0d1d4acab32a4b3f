"""``nook doctor``: what this installation runs on, and whether it can actually answer.

Each check says what it found and, when something is wrong, what to do. The last check decodes a few
tokens with the bundled model in a child process, so a runtime that crashes (an illegal instruction on
a CPU feature the OS does not fully grant, a broken build) is reported instead of taking the caller down.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

from engine.units import format_bytes

LOW_DISK = 2 * 1024**3
NO_DISK = 200 * 1024**2
CANARY_TIMEOUT_S = 180
REINSTALL = ("Reinstall Inglenook (from a source checkout: delete .venv and run scripts/setup.sh, which builds "
             "the portable runtime and installs the bundled models).")


@dataclass
class Check:
    name: str
    status: str  # "ok", "warn" or "fail"
    summary: str
    fix: str = ""
    details: dict = field(default_factory=dict)


@dataclass
class Report:
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def to_json(self) -> dict:
        return {"ok": self.ok, "checks": [asdict(c) for c in self.checks]}


def describe_exit(returncode: int) -> str:
    """A child's exit in words: ``-4`` -> "illegal CPU instruction (SIGILL)"."""
    if returncode >= 0:
        return f"exit code {returncode}"
    try:
        sig = signal.Signals(-returncode)
    except ValueError:
        return f"signal {-returncode}"
    words = {
        signal.SIGILL: "illegal CPU instruction",
        signal.SIGSEGV: "memory access violation (crash)",
        signal.SIGKILL: "killed (out of memory, or by another program)",
        signal.SIGABRT: "aborted by the runtime",
        signal.SIGBUS: "bus error (a damaged or truncated file)",
    }
    return f"{words.get(sig, 'stopped by a signal')} ({sig.name})"


def check_runtime() -> Check:
    from engine import llama_native

    try:
        version = metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError:
        return Check("runtime", "fail", "llama-cpp-python is not installed.",
                     REINSTALL)
    try:
        variant = llama_native.cpu_variant()
        features = llama_native.cpu_features()
    except Exception as exc:  # a broken native library
        return Check("runtime", "fail", f"llama-cpp-python {version} could not be loaded: {exc}",
                     REINSTALL)
    used = sorted(k for k, v in features.items() if v == "1")
    details = {"version": version, "variant": variant.name, "reason": variant.reason, "scores": variant.scores,
               "excluded": list(variant.excluded), "features": used}
    if not variant.portable:
        return Check("runtime", "warn",
                     f"llama-cpp-python {version}, a single-CPU build (compiled for one processor).",
                     "Rebuild portable with scripts/build_runtime.sh so the app runs on other CPUs.", details)
    return Check("runtime", "ok", f"llama-cpp-python {version}, portable build; CPU variant '{variant.name}' "
                 f"({variant.reason}); uses {', '.join(used) or 'baseline x86-64'}.", details=details)


def check_gpu() -> Check:
    from engine.hardware import detect_gpu_support

    support = detect_gpu_support()
    status = "warn" if "unused" in support.message else "ok"
    fix = "Install a GPU build of llama-cpp-python (see the message)." if status == "warn" else ""
    devices = [asdict(d) for d in support.devices]
    return Check("gpu", status, support.message, fix, {"offload": support.offload_supported, "devices": devices})


def check_mlc() -> Check:
    """The optional MLC LLM runtime: whether it is installed, and that it is unverified."""
    from engine.runtimes.mlc import INSTALL_HINT, VERIFIED, mlc_available

    if not mlc_available():
        return Check("mlc", "ok", "MLC LLM runtime: not installed (optional; unverified).",
                     details={"installed": False, "verified": VERIFIED})
    try:
        version = metadata.version("mlc-llm")
    except metadata.PackageNotFoundError:
        version = "unknown version"
    return Check("mlc", "warn", f"MLC LLM runtime: mlc_llm ({version}) found; this runtime is UNVERIFIED: tested "
                 "only against a stand-in of MLC's documented MLCEngine API, never with MLC itself.",
                 f"Use mlc: models with care and report what works; {INSTALL_HINT}.",
                 {"installed": True, "verified": VERIFIED, "version": version})


def check_data_folder() -> Check:
    from engine.paths import data_dir

    try:
        folder = data_dir()
        probe = folder / ".doctor-write-test"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as exc:
        return Check("data", "fail", f"The data folder cannot be written: {exc}",
                     "Point INGLENOOK_HOME at a folder you can write to, or fix its permissions.")
    free = shutil.disk_usage(folder).free
    details = {"path": str(folder), "free_bytes": free}
    if free < NO_DISK:
        return Check("data", "fail", f"{folder}: only {format_bytes(free)} free.",
                     "Free disk space: chats, indexes and downloads need room.", details)
    if free < LOW_DISK:
        return Check("data", "warn", f"{folder}: {format_bytes(free)} free.",
                     "Free some disk space before downloading models or indexing large folders.", details)
    return Check("data", "ok", f"{folder}: {format_bytes(free)} free.", details=details)


def check_bundled_model() -> tuple[Check, Path | None]:
    from engine.errors import InglenookError
    from engine.models.bundled import DEFAULT_CHAT_MODEL, find_bundled

    try:
        model = find_bundled(DEFAULT_CHAT_MODEL)
    except InglenookError as exc:
        return Check("model", "fail", str(exc), REINSTALL), None
    return Check("model", "ok", f"Bundled model {model.spec.title}: {model.path} ({format_bytes(model.size)})."), \
        model.path


def run_canary(model: Path, timeout: float = CANARY_TIMEOUT_S, env: dict | None = None) -> Check:
    """Decode a few tokens in a child process; its crash is reported, never inherited."""
    cmd = [sys.executable, "-m", "engine.canary", str(model)]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                env={**os.environ, **(env or {})})
    except subprocess.TimeoutExpired:
        return Check("canary", "fail", f"The test reply did not finish within {timeout:.0f} s.",
                     "The machine may be overloaded; close other programs and run `nook doctor` again.")
    if result.returncode != 0:
        how = describe_exit(result.returncode)
        fix = REINSTALL + " If it persists, report this output (`nook doctor --json`)."
        if result.returncode == -signal.SIGILL:
            fix = ("This CPU variant uses an instruction the processor or OS refuses. Start with "
                   "INGLENOOK_CPU_VARIANT=haswell (or x64 on old CPUs) and report the CPU model.")
        tail = (result.stderr or "").strip().splitlines()[-3:]
        return Check("canary", "fail", f"The model process stopped: {how}.", fix, {"stderr": tail})
    try:
        out = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return Check("canary", "fail", "The test reply printed nothing readable.", "Report this output.",
                     {"stdout": result.stdout[-500:]})
    rate = out["tokens"] / max(out["decode_ms"] / 1000, 1e-6)
    return Check("canary", "ok", f"A test reply decoded {out['tokens']} tokens on '{out['variant']}' "
                 f"({rate:.0f} tok/s, load {out['load_ms']:.0f} ms): {out['text']!r}", details=out)


def run_checks(canary: bool = True) -> Report:
    checks = [check_runtime(), check_gpu(), check_mlc(), check_data_folder()]
    model_check, model = check_bundled_model()
    checks.append(model_check)
    if canary and model is not None:
        checks.append(run_canary(model))
    return Report(checks)
