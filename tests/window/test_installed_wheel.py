"""Installs that work without the dev tools: the wheel, installed with no extras in a fresh venv.

The venv gets only what `pip install inglenook-*.whl` brings (plus the cached portable runtime wheel,
so that pip does not build llama.cpp again). From a folder outside the checkout, so nothing of the
source tree is importable, it opens the window offscreen, reads a built-in preset and installs the
zh_CN translation from the installed package.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from pathlib import Path
import engine, desktop_app
from engine.paths import resources_dir
from engine.chat.presets import get_preset
site = Path(engine.__file__).resolve().parents[1]
assert str(site).startswith(sys.prefix), (site, sys.prefix)
assert resources_dir().resolve().is_relative_to(site), resources_dir()
assert get_preset("concise").system
from PySide6.QtWidgets import QApplication
app = QApplication([])
from desktop_app.i18n import install_language
from desktop_app.main_window import MainWindow
window = MainWindow()
window.show()
app.processEvents()
assert install_language("zh_CN")
window.retranslate()
print("TITLE", window.nav_buttons["chat"].text())
window.close()
"""


def _runtime_wheel_dir() -> Path:
    out = subprocess.run(["bash", str(ROOT / "scripts" / "build_runtime.sh")], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHON": sys.executable})
    return Path(out.stdout.strip().splitlines()[-1]).parent


def test_the_wheel_installs_without_extras_and_opens_the_window(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(ROOT), "-w", str(wheels)],
                   check=True, capture_output=True, timeout=600)
    wheel = next(wheels.glob("inglenook-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              "--find-links", str(_runtime_wheel_dir()), str(wheel)],
                             capture_output=True, text=True, timeout=1200)
    assert install.returncode == 0, install.stderr[-3000:]
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format=freeze"], capture_output=True, text=True)
    assert "pytest" not in listed.stdout.lower() and "torch==" not in listed.stdout.lower()
    home = tmp_path / "home"
    run = subprocess.run([str(python), "-c", CHECK], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "INGLENOOK_HOME": str(home), "PYTHONPATH": ""})
    assert run.returncode == 0, run.stderr[-3000:]
    assert "TITLE 聊天" in run.stdout
