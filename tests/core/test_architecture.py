"""The import contract and the package list, checked on every test run.

The contract lives in pyproject.toml ([tool.importlinter]) and is checked with import-linter: the
window and CLI may use knowledge and the engine, knowledge may use the engine, never the other way;
engine/ and knowledge/ never import Qt; no import circles between sibling modules or packages.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CODE = ("engine", "knowledge", "desktop_app")


def _lint_imports(repo: Path) -> subprocess.CompletedProcess:
    """Run import-linter's own command on ``repo`` (its packages first on the path)."""
    exe = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(repo)}
    return subprocess.run([str(exe), "--config", str(repo / "pyproject.toml"), "--no-cache"], cwd=repo,
                          env=env, capture_output=True, text=True, timeout=300)


def test_the_import_contract_holds():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def test_the_contract_catches_a_qt_import_and_a_circle(tmp_path):
    """The check is real: on a copy where engine imports PySide6 and two rooms import each other, it fails."""
    copy = tmp_path / "repo"
    for name in (*CODE, "resources"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    (copy / "engine" / "qt_leak.py").write_text("import PySide6.QtCore\n")
    with (copy / "engine" / "models" / "gguf_info.py").open("a") as fh:
        fh.write("\nimport engine.chat.session  # a circle: chat -> host -> runtimes -> models -> chat\n")
    result = _lint_imports(copy)
    assert result.returncode != 0
    assert "The core never imports Qt BROKEN" in result.stdout
    assert re.search(r"No import circles .*\n?.*BROKEN", result.stdout)


def test_every_package_is_in_the_wheel_list():
    """pyproject lists packages by hand (for the resources mapping): a new subpackage must be added."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in CODE
        for init in (ROOT / top).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


@pytest.mark.parametrize("top", ["engine", "knowledge", "desktop_app"])
def test_no_module_over_600_lines_and_no_function_over_60(top):
    too_long = []
    for path in sorted((ROOT / top).rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.count("\n") + 1
        if lines > 600:
            too_long.append(f"{path.relative_to(ROOT)}: {lines} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > 60:
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}() {length} lines")
    assert not too_long, "split these:\n" + "\n".join(too_long)


def test_the_core_never_reaches_llama_cpp_internals_outside_llama_native():
    """One module owns llama.cpp's C API (``llama_cpp.llama_cpp``) and ggml through ctypes."""
    pattern = re.compile(r"\bllama_cpp\.llama_cpp\b|\bllama_cpp\._ggml\b|^\s*import llama_cpp\b|from llama_cpp\b", re.M)
    offenders = [
        str(path.relative_to(ROOT))
        for top in CODE
        for path in (ROOT / top).rglob("*.py")
        if path.name != "llama_native.py" and pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
