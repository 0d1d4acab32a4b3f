"""Smoke test of the packaged app (scripts/package.sh), run as a user with no venv and no compiler.

Skipped unless INGLENOOK_BUNDLE names the bundle's executable, e.g.

    INGLENOOK_BUNDLE=$(bash scripts/package.sh | tail -n 1) .venv/bin/python -m pytest -m packaging -s

Each command runs with an ``env -i``-style environment: HOME a fresh temporary folder, PATH
/usr/bin:/bin, no VIRTUAL_ENV, PYTHONPATH or INGLENOOK_* variables, from a folder outside the
repository. The window test starts its own Xvfb and needs xvfb, xdotool, x11-apps and imagemagick (apt).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

BUNDLE = os.environ.get("INGLENOOK_BUNDLE", "")
if not BUNDLE:
    pytest.skip("INGLENOOK_BUNDLE is not set (build with scripts/package.sh)", allow_module_level=True)
EXE = Path(BUNDLE).resolve()
if not EXE.is_file() or not os.access(EXE, os.X_OK):
    pytest.skip(f"INGLENOOK_BUNDLE={BUNDLE} is not an executable file", allow_module_level=True)

_spec = importlib.util.spec_from_file_location(
    "inglenook_measure", Path(__file__).resolve().parent.parent / "packaging" / "linux" / "measure.py")
measure = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(measure)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "user-home"
    path.mkdir()
    return path


def run(args: list[str], home: Path, exe: Path | str = EXE, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe), *args], env=measure.clean_env(home), cwd=home, capture_output=True,
                          text=True, timeout=timeout)


def test_ask_answers_through_a_symlink(home: Path, tmp_path: Path) -> None:
    # the .deb installs /usr/bin/inglenook as a link to /opt/inglenook/inglenook: it must still find _internal
    link = tmp_path / "bin" / "inglenook"
    link.parent.mkdir()
    link.symlink_to(EXE)
    result = run(["ask", "What is the capital of France?"], home, exe=link)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), f"empty answer; stderr: {result.stderr}"
    assert "Traceback" not in result.stderr


def test_bundled_models_are_found_and_verified(home: Path) -> None:
    result = run(["models", "list", "--all", "--json"], home)
    assert result.returncode == 0, result.stderr
    listed = json.dumps(json.loads(result.stdout))
    for name in ("smollm2-135m-instruct", "all-minilm-l6-v2-int8", "all-minilm-l6-v2-tokenizer"):
        assert name in listed
    # the sha256 from each package's RECORD was checked and cached in the data folder
    caches = list(home.rglob("hash-cache.json"))
    assert caches and len(json.loads(caches[0].read_text())) >= 3


def test_doctor_passes_with_its_canary_child(home: Path) -> None:
    # the canary runs `sys.executable -m engine.canary`: in the bundle that is the launcher's -m mode
    result = run(["doctor", "--json"], home)
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert checks["canary"]["status"] == "ok", checks["canary"]
    assert "portable" in checks["runtime"]["summary"]


def test_documents_index_and_search(home: Path, tmp_path: Path) -> None:
    """onnxruntime, tokenizers, LanceDB and pyarrow inside the bundle, end to end."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kettles.md").write_text("# Kettles\n\nA copper kettle boils water on the hearth every morning.\n")
    (docs / "gardens.md").write_text("# Gardens\n\nTomatoes need sun, water and a stake to climb.\n")
    (docs / "茶.md").write_text("# 茶\n\n绿茶用八十度的水冲泡。\n", encoding="utf-8")
    assert run(["collections", "create", "notes", str(docs)], home).returncode == 0
    indexed = run(["index", "notes", "--json"], home)
    assert indexed.returncode == 0, indexed.stderr
    found = run(["search", "notes", "how do I boil water", "--json"], home)
    assert found.returncode == 0, found.stderr
    results = json.loads(found.stdout)["results"]
    assert results and results[0]["path"].endswith("kettles.md")


def test_lora_training_is_unavailable_with_a_clear_message(home: Path, tmp_path: Path) -> None:
    examples = tmp_path / "style.jsonl"
    examples.write_text("".join(
        json.dumps({"prompt": f"Say something about topic {i}.", "reply": f"Ahoy! Topic {i} it is."}) + "\n"
        for i in range(20)))
    result = run(["lora", "train", "--name", "pirate", str(examples)], home)
    assert result.returncode != 0
    assert "train" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(not all(shutil.which(tool) for tool in ("Xvfb", "xdotool", "xwd", "convert")),
                    reason="needs xvfb, xdotool, x11-apps (xwd) and imagemagick")
def test_window_opens_and_paints_under_xvfb(home: Path, tmp_path: Path) -> None:
    xvfb, display = measure.start_xvfb()
    shot = Path(os.environ.get("INGLENOOK_SCREENSHOT", tmp_path / "window.png"))
    try:
        launch = measure.launch_window(str(EXE), display, home, shot)
    finally:
        measure.stop(xvfb)
    print(f"\npackaged window: {launch} (screenshot {shot})")
    assert launch["alive"], (home / "window.log").read_text(errors="replace")
    assert launch["painted_s"] is not None, "the window stayed blank"
    assert launch["screen_stddev"] > 0.02
