"""Downloads from the Hugging Face Hub (or a mirror): listing a repository, one download at a time,
and the partial downloads left behind, to resume or discard.

Messages keep the translation context "AppController", where they were first translated.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Signal

from desktop_app.notices import Notices
from desktop_app.settings_control import SettingsControl
from desktop_app.workers import DownloadWorker, TaskRunner
from engine.models.registry import ModelEntry, ModelRegistry
from engine.paths import models_dir


@dataclass
class PartialDownload:
    repo_id: str
    filename: str
    path: Path
    size: int


def find_partial_downloads(root: Path) -> Iterator[PartialDownload]:
    """The ``.part`` files under the models folder ``root`` (``REPO__NAME/FILE.part``); raises OSError."""
    for part in sorted(root.glob("*/**/*.part")):
        repo_dir = part.relative_to(root).parts[0]
        filename = str(part.relative_to(root / repo_dir))[: -len(".part")]
        yield PartialDownload(repo_dir.replace("__", "/", 1), filename, part, part.stat().st_size)


class DownloadControl(QObject):
    download_progress = Signal(object)  # engine.models.hub.DownloadProgress
    download_finished = Signal(object)  # ModelEntry, registered
    download_failed = Signal(str, bool)  # message, cancelled

    def __init__(self, registry: ModelRegistry, settings: SettingsControl, tasks: TaskRunner, notices: Notices,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.registry = registry
        self.settings = settings
        self.tasks = tasks
        self.notices = notices
        self.worker: DownloadWorker | None = None

    def download(self, repo_id: str, filename: str) -> bool:
        if self.worker is not None:
            self.notices.error.emit(QCoreApplication.translate(
                "AppController", "A download is already running; wait for it or cancel it."))
            return False
        worker = DownloadWorker(self.registry, repo_id.strip(), filename.strip(), self.settings.hub_endpoint,
                                parent=self)
        worker.progress.connect(self.download_progress)
        worker.done.connect(self._on_done)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(worker.deleteLater)
        self.worker = worker
        worker.start()
        return True

    def cancel_download(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _on_done(self, entry: ModelEntry) -> None:
        self.worker = None
        self.download_finished.emit(entry)

    def _on_failed(self, text: str, cancelled: bool) -> None:
        self.worker = None
        self.download_failed.emit(text, cancelled)

    def partial_downloads(self) -> list[PartialDownload]:
        """Downloads that stopped part-way (their ``.part`` files), to resume or discard."""
        out = []
        try:
            for partial in find_partial_downloads(models_dir()):
                out.append(partial)
        except OSError as exc:
            self.notices.error.emit(QCoreApplication.translate(
                "AppController", "The models folder cannot be read: {error}").format(error=exc.strerror or exc))
        return out

    def discard_partial(self, partial: PartialDownload) -> None:
        try:
            partial.path.unlink(missing_ok=True)
        except OSError as exc:
            self.notices.error.emit(QCoreApplication.translate(
                "AppController", "{path} could not be deleted: {error}").format(
                path=partial.path, error=exc.strerror or exc))

    def list_hub_files(self, repo_id: str, on_done: Callable[[list], None],
                       on_failed: Callable[[str], None] | None = None) -> None:
        from engine.models.hub import HubClient

        client = HubClient(endpoint=self.settings.hub_endpoint)
        self.tasks.run(client.list_gguf_files, repo_id.strip(), on_done=on_done, on_failed=on_failed)
