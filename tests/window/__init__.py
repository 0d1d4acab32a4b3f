"""Tests of the PySide6 window, offscreen (QT_QPA_PLATFORM=offscreen, set in tests/conftest.py)."""
