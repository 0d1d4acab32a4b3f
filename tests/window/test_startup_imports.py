"""The window paints before the heavy libraries load (a cold start's first paint waited for them).

A fresh interpreter builds the real main window, shows it and checks which modules were imported;
then lets it paint and checks that the background work loads them after all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

HEAVY = ["lancedb", "pyarrow", "llama_cpp", "numpy", "onnxruntime", "starlette", "fastapi", "uvicorn",
         "pygments", "httpx", "gguf"]

PROBE = f"""
import json, sys, time
from PySide6.QtWidgets import QApplication
from desktop_app.main_window import MainWindow
app = QApplication([])
window = MainWindow()
window.show()
before = sorted(m for m in {HEAVY!r} if m in sys.modules)
deadline = time.monotonic() + 60
while not window._background_started and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.01)
while "llama_cpp" not in sys.modules and time.monotonic() < deadline:  # the GPU check loads it
    app.processEvents()
    time.sleep(0.05)
print(json.dumps({{"before": before, "started": window._background_started,
                  "after": sorted(m for m in {HEAVY!r} if m in sys.modules)}}))
window.close()
"""


def test_the_first_paint_needs_none_of_the_heavy_libraries(data_home):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["before"] == [], f"imported before the first paint: {seen['before']}"
    assert seen["started"] and "llama_cpp" in seen["after"]  # the background work did run afterwards
