"""Start the window (``nook`` with no subcommand), or explain why it cannot open."""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

NO_DISPLAY = (
    "Inglenook's window needs a graphical display, and none was found (neither DISPLAY nor "
    "WAYLAND_DISPLAY is set). Run it from a desktop session, or use the terminal chat: `nook chat`."
)
XCB_PACKAGES = ("libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 "
                "libxcb-shape0 libxcb-randr0 libxcb-xkb1 libxkbcommon-x11-0 libegl1 libfontconfig1")

# platforms that need no display server
_HEADLESS = {"offscreen", "minimal", "minimalegl", "vnc", "eglfs", "linuxfb", "vkkhrdisplay"}


def display_problem(env: Mapping[str, str] | None = None) -> str | None:
    """Why the window cannot open here, or None. Qt itself would abort the process instead."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux"):
        return None
    platform = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if platform in _HEADLESS:
        return None
    display, wayland = env.get("DISPLAY"), env.get("WAYLAND_DISPLAY")
    if not display and not wayland:
        return NO_DISPLAY
    use_wayland = platform == "wayland" or (not platform and wayland and not display)
    if not use_wayland and display and display.startswith(":"):
        number = display[1:].split(".")[0]
        if number.isdigit() and not Path(f"/tmp/.X11-unix/X{number}").exists():
            return (f"Inglenook's window cannot open: no X server is running on display {display}. "
                    "Start one (or log in to a desktop session), or use the terminal chat: `nook chat`.")
    return _plugin_problem("libqwayland.so" if use_wayland else "libqxcb.so")


def _plugin_problem(plugin: str) -> str | None:
    try:
        import PySide6
    except ImportError as exc:
        return f"The window needs PySide6, which cannot be imported ({exc}); reinstall Inglenook or use `nook chat`."
    path = Path(PySide6.__file__).resolve().parent / "Qt" / "plugins" / "platforms" / plugin
    if not path.exists():
        return None
    try:
        ctypes.CDLL(str(path))  # the same check the dynamic loader does when Qt opens the plugin
    except OSError as exc:
        missing = str(exc).split(":")[0]
        return (
            f"Inglenook's window cannot open: Qt's display plugin needs a system library that is missing "
            f"({missing}). On Debian or Ubuntu: sudo apt-get install {XCB_PACKAGES}. "
            "Meanwhile the terminal chat works: `nook chat`."
        )
    return None


def pyside_problem() -> str | None:
    """Why the installed PySide6 cannot run the window, or None.

    PySide6 6.12.0 on Python 3.11 returns ``None`` (and ``True`` from ``Signal.emit``) without
    adding a reference, so every such call takes one away and the interpreter aborts after a
    few thousand ("none_dealloc"/"bool_dealloc"). Python 3.12+ has immortal singletons and is safe.
    """
    if sys.version_info >= (3, 12):
        return None
    try:
        import PySide6
        from PySide6.QtCore import QObject
    except ImportError as exc:
        return f"The window needs PySide6, which cannot be imported ({exc}); reinstall Inglenook or use `nook chat`."
    probe = QObject()
    rounds = 64
    before = sys.getrefcount(None)
    for _ in range(rounds):
        probe.setObjectName("probe")
    lost = before - sys.getrefcount(None)
    if lost < rounds // 2:
        return None
    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes, incref.restype = [ctypes.py_object], None
    for _ in range(lost):  # give back what the probe took
        incref(None)
    return (
        f"PySide6 {PySide6.__version__} has a reference-counting bug on Python "
        f"{sys.version_info.major}.{sys.version_info.minor} that makes the window crash. Install a working "
        "version: .venv/bin/pip install 'PySide6-Essentials>=6.7,<6.12' (scripts/setup.sh does), or use "
        "Python 3.12 or newer. The terminal chat works meanwhile: `nook chat`."
    )


def run_gui(verbose: bool = False) -> int:
    problem = display_problem() or pyside_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    from desktop_app.locations import apply_chosen_data_dir

    apply_chosen_data_dir()
    from PySide6.QtWidgets import QApplication, QMessageBox

    from desktop_app.controller import AppController
    from desktop_app.main_window import MainWindow
    from desktop_app.single_instance import InstanceLock
    from engine.errors import InglenookError
    from engine.paths import data_dir

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(name)s: %(message)s")
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "nook"])
    app.setApplicationName("Inglenook")
    app.setApplicationDisplayName("Inglenook")
    app.setDesktopFileName("inglenook")
    lock = InstanceLock(data_dir())
    if not lock.acquire():  # a second window on the same data folder says so and leaves
        QMessageBox.information(None, "Inglenook", lock.refusal())
        return 3
    try:
        controller = AppController()
    except InglenookError as exc:
        QMessageBox.critical(None, "Inglenook", str(exc))
        lock.release()
        return 2
    window = MainWindow(controller)
    window.show()
    try:
        return app.exec()
    finally:
        lock.release()
