"""The window and its engine process: a killed engine costs a restart, not the window; About & diagnostics;
one window per data folder. Real widgets offscreen, the real bundled model in a real child process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from PySide6.QtCore import Qt

from desktop_app.main_window import MainWindow
from desktop_app.single_instance import InstanceLock
from engine.models.bundled import DEFAULT_CHAT_MODEL
from engine.process.supervisor import EngineProcess

pytestmark = pytest.mark.slow
TIMEOUT_MS = 120_000


@pytest.fixture
def window(qtbot):
    window = MainWindow()
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()


def load_bundled(qtbot, window: MainWindow) -> None:
    qtbot.mouseClick(window.welcome.bundled_button, Qt.MouseButton.LeftButton)
    c = window.controller
    qtbot.waitUntil(lambda: c.loading is None and c.loaded_entry is not None
                    and c.loaded_entry.name == DEFAULT_CHAT_MODEL, timeout=TIMEOUT_MS)


def send(qtbot, window: MainWindow, text: str) -> None:
    qtbot.keyClicks(window.chat.composer.edit, text)
    qtbot.keyClick(window.chat.composer.edit, Qt.Key.Key_Return)


def test_kill_9_of_the_engine_mid_reply_leaves_the_window_and_the_history(qtbot, window):
    c = window.controller
    assert isinstance(c.host.local, EngineProcess), "the window must run the model out of process"
    load_bundled(qtbot, window)
    engine_pid = c.host.pid
    assert engine_pid and engine_pid != os.getpid()
    window.chat.drawer.fields["max_tokens"].setValue(300)
    window.chat.drawer.fields["temperature"].setValue(0.0)
    send(qtbot, window, "Write a long story about a lighthouse keeper and a storm.")
    qtbot.waitUntil(lambda: c.busy and window.chat.view.streaming_widget() is not None, timeout=10_000)
    reply_widget = window.chat.view.widgets[-1]
    qtbot.waitUntil(lambda: len(reply_widget.shown_text()) > 30, timeout=TIMEOUT_MS)
    os.kill(engine_pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: not c.busy, timeout=TIMEOUT_MS)
    assert window.isVisible()
    qtbot.waitUntil(lambda: window.notice.isVisible(), timeout=10_000)
    assert "model process stopped" in window.notice.text() and "SIGKILL" in window.notice.text()
    stored = [m for m in c.session.thread() if m.role == "assistant"]
    assert stored[-1].status == "incomplete" and len(stored[-1].content) > 30

    send(qtbot, window, "Name three colours.")  # the next message restarts the engine and reloads the model
    qtbot.waitUntil(lambda: c.busy, timeout=10_000)
    qtbot.waitUntil(lambda: not c.busy, timeout=TIMEOUT_MS)
    thread = c.session.thread()
    assert [m.role for m in thread] == ["user", "assistant", "user", "assistant"]
    assert thread[-1].status == "complete" and thread[-1].content.strip()
    assert c.host.pid not in (None, engine_pid)


def test_about_and_diagnostics_show_the_checks(qtbot, window):
    dialog = window.show_diagnostics()
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=TIMEOUT_MS)
    names = [check.name for check in dialog.report.checks]
    assert names == ["runtime", "gpu", "mlc", "data", "model", "canary"]
    assert dialog.report.ok, dialog.report.to_json()
    html = dialog.body.toHtml()
    assert "portable build" in html and "canary" in html
    dialog.copy_report()
    dialog.close()


def test_a_second_window_on_the_same_data_folder_says_so(data_home):
    lock = InstanceLock(data_home)
    assert lock.acquire()
    try:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "INGLENOOK_HOME": str(data_home)}
        code = ("import sys\nfrom PySide6.QtWidgets import QMessageBox\n"
                "QMessageBox.information = lambda parent, title, text: print(text) or 0\n"
                "from desktop_app.gui import run_gui\nsys.exit(run_gui())")
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 3, result.stderr[-2000:]
        assert "already open with this data folder" in result.stdout and str(os.getpid()) in result.stdout
    finally:
        lock.release()
    second = InstanceLock(data_home)
    assert second.acquire()  # free again once the first one lets go
    second.release()


def test_a_model_file_that_crashes_llama_cpp_is_an_error_in_the_window_not_a_crash(qtbot, window, tmp_path,
                                                                                    smollm2_path):
    from tests.support.crashing_gguf import crashing_gguf

    c = window.controller
    load_bundled(qtbot, window)
    entry = window.models_page.add_file(str(crashing_gguf(smollm2_path, tmp_path / "crashes-llama.gguf")))
    assert entry is not None  # it passes the checks at the door
    c.load_model(entry.name)
    qtbot.waitUntil(lambda: c.loading is None, timeout=TIMEOUT_MS)
    assert window.isVisible() and window.notice.level == "error"
    assert "stopped while loading crashes-llama.gguf" in window.notice.text()
    assert "SIGABRT" in window.notice.text()

    c.load_model(entry.name)  # again: refused at once, without another crash
    qtbot.waitUntil(lambda: c.loading is None, timeout=10_000)
    assert "crashed the model process when it was loaded" in window.notice.text()

    assert c.load_model(DEFAULT_CHAT_MODEL)
    qtbot.waitUntil(lambda: c.loading is None and c.loaded_entry is not None, timeout=TIMEOUT_MS)
    window.chat.drawer.fields["max_tokens"].setValue(6)
    window.chat.drawer.fields["temperature"].setValue(0.0)
    send(qtbot, window, "Name a colour.")
    qtbot.waitUntil(lambda: c.busy, timeout=10_000)
    qtbot.waitUntil(lambda: not c.busy, timeout=TIMEOUT_MS)
    reply = c.session.thread()[-1]
    assert reply.role == "assistant" and reply.status == "complete" and reply.content.strip()
