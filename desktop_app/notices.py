"""The window's two channels for messages to the user: ``error`` and ``info``.

Every controller reports through one shared ``Notices``; the main window shows both in its notice
bar. Nothing here knows where a message came from.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class Notices(QObject):
    error = Signal(str)  # something failed; the message says what to do
    info = Signal(str)  # something worked that the user should hear about
