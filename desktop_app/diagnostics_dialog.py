"""About and diagnostics: the same checks as `nook doctor`, run off the GUI thread.

Shows the runtime build, the CPU variant and why it was chosen, GPU backends, the data folder and its
free space, the bundled model, the engine process (its pid, and the last crash if there was one) and
a canary reply decoded in a child process. Each problem comes with what to do; "Copy report" puts the
JSON on the clipboard for a bug report.
"""

from __future__ import annotations

import json
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop_app.workers import TaskRunner
from engine.diagnostics import Report, run_checks

_COLOURS = {"ok": "#2e7d32", "warn": "#b26a00", "fail": "#c62828"}


def report_html(report: Report, engine_line: str = "") -> str:
    """The report as simple HTML (one paragraph a check, the fix under it)."""
    rows = []
    for check in report.checks:
        colour = _COLOURS[check.status]
        row = (f"<p><b style='color:{colour}'>{escape(check.status.upper())}</b> "
               f"<b>{escape(check.name)}</b> — {escape(check.summary)}")
        if check.fix:
            row += f"<br/>&nbsp;&nbsp;→ {escape(check.fix)}"
        rows.append(row + "</p>")
    if engine_line:
        rows.append(f"<p><b>engine</b> — {escape(engine_line)}</p>")
    return "".join(rows)


class DiagnosticsDialog(QDialog):
    """Runs the checks when shown; ``report`` holds the last result (None while running)."""

    def __init__(self, engine=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.report: Report | None = None
        self.setWindowTitle(self.tr("About Inglenook and diagnostics"))
        self.resize(640, 480)
        layout = QVBoxLayout(self)
        self.status = QLabel(self.tr("Checking the runtime, the disk and a test reply…"))
        self.status.setWordWrap(True)
        self.body = QTextBrowser()
        self.body.setOpenExternalLinks(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton(self.tr("Copy report"))
        self.copy_button.setEnabled(False)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        self.copy_button.clicked.connect(self.copy_report)
        layout.addWidget(self.status)
        layout.addWidget(self.body, 1)
        layout.addWidget(buttons)
        self.tasks = TaskRunner(self._failed, self)

    def start(self) -> None:
        """Run every check (the canary included) on a worker thread."""
        self.report = None
        self.copy_button.setEnabled(False)
        self.tasks.run(run_checks, on_done=self._show)

    def engine_line(self) -> str:
        engine = self.engine
        if engine is None or not hasattr(engine, "crash"):
            return ""
        pid = engine.pid
        line = self.tr("model process {pid}").format(pid=pid) if pid else self.tr("no model process running")
        if engine.crash:
            line += " · " + self.tr("last stop: {what}").format(what=engine.crash)
        return line

    def _show(self, report: Report) -> None:
        self.report = report
        self.status.setText(self.tr("Everything needed to chat works.") if report.ok
                            else self.tr("Something needs fixing: see the red lines."))
        self.body.setHtml(report_html(report, self.engine_line()))
        self.copy_button.setEnabled(True)

    def _failed(self, message: str) -> None:
        self.status.setText(self.tr("The checks could not run: {error}").format(error=message))

    def copy_report(self) -> None:
        if self.report is not None:
            QGuiApplication.clipboard().setText(json.dumps(self.report.to_json(), ensure_ascii=False, indent=2))

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        self.tasks.wait(200)
        super().closeEvent(event)


def show_diagnostics(engine, parent: QWidget | None) -> DiagnosticsDialog:
    dialog = DiagnosticsDialog(engine, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
    dialog.show()
    dialog.start()
    return dialog
