"""Fixtures shared by the window tests: real ``MainWindow``s, offscreen, closed after the test."""

from __future__ import annotations

import pytest

from desktop_app.main_window import MainWindow


@pytest.fixture
def make_window(qtbot):
    """Opens windows on the test's data folder (each call a new one, as a second launch would)."""
    windows: list[MainWindow] = []

    def make() -> MainWindow:
        window = MainWindow()
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
