"""The window's wiring over the core: one object that owns the stores, the model host and the
workers, turns their results into Qt signals, and keeps every failure a message.

Pages call methods here and listen to the signals; they never call the engine directly for
anything that can block. Everything the engine raises as ``InglenookError`` becomes an ``error``
(or a more specific ``*_failed``) signal with the engine's explanation, so the window keeps working.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from desktop_app.lora_control import LoraControl
from desktop_app.workers import DownloadWorker, ReplyWorker, Task
from engine.chat.history import HistoryStore, StoredMessage
from engine.chat.session import ChatSession
from engine.errors import HistoryError, InglenookError, LoadCancelled
from engine.events import Finished
from engine.hardware import GpuSupport, OffloadPlan, detect_gpu_support, plan_for_model
from engine.host import ModelHost
from engine.models.gguf import read_gguf
from engine.models.registry import ModelEntry, ModelRegistry
from engine.params import LoadOptions, SamplingParams
from engine.paths import data_dir, models_dir

log = logging.getLogger(__name__)

# Settings kept in the HistoryStore's settings table (per data directory).
DEFAULTS: dict[str, Any] = {
    "ui.theme": "light",
    "ui.language": "en",
    "ui.font_size": 10,
    "model.n_threads": 0,  # 0: one per physical core
    "hub.endpoint": "",
    "state.last_model": None,
    "state.last_conversation": None,
    "state.geometry": None,
    "state.collections": [],  # collections a new chat uses (the Library page; each conversation keeps its own)
    "state.strict": False,  # answer only from those documents
    "state.watched": [],  # collections kept current while the app runs (the Library's watch toggle)
}


@dataclass
class PartialDownload:
    repo_id: str
    filename: str
    path: Path
    size: int


class AppController(QObject):
    # models
    load_started = Signal(str)
    load_progress = Signal(float)
    model_loaded = Signal(object)  # engine.runtimes.base.LoadedModel
    load_failed = Signal(str, bool)  # message, cancelled
    models_changed = Signal()
    gpu_support_known = Signal(object)
    # conversations
    conversation_changed = Signal()  # another conversation (or a new draft) is current
    conversations_changed = Signal()  # the list needs refreshing
    thread_changed = Signal()  # the current branch changed outside of a reply (branch switch)
    reply_began = Signal(object)  # list[StoredMessage]
    reply_delta = Signal(str)
    reply_notice = Signal(object)  # ContextNotice
    reply_sources = Signal(list)  # sources of the reply being written, before its text
    reply_finished = Signal(object, object)  # StoredMessage | None, Finished | None
    reply_failed = Signal(str, bool)  # message, whether the reply had begun
    busy_changed = Signal(bool)
    # downloads
    download_progress = Signal(object)
    download_finished = Signal(object)
    download_failed = Signal(str, bool)
    # anything else
    error = Signal(str)
    info = Signal(str)
    setting_changed = Signal(str, object)

    _load_done_from_thread = Signal(object, object, int)

    def __init__(self, store: HistoryStore | None = None, registry: ModelRegistry | None = None,
                 host: ModelHost | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.store = store or HistoryStore()
        self.registry = registry or ModelRegistry(self.store.db)
        self.host = host or ModelHost()
        self.session: ChatSession | None = None
        self.draft: dict[str, Any] = {}
        self.loaded_entry: ModelEntry | None = None
        self.loading: str | None = None
        self.reply_worker: ReplyWorker | None = None
        self.download_worker: DownloadWorker | None = None
        self.gpu_support: GpuSupport | None = None
        # the Library's hook: given a session, the augmenter that grounds its answers in documents
        # (``knowledge.answer.DocumentAugmenter``) or None; applied to every session the window opens
        self.augmenter_factory: Callable[[ChatSession], Any] | None = None
        self._tasks: set[Task] = set()
        # held by a worker thread while it applies adapters or starts a reply (never by the GUI thread)
        self.adapters_lock = threading.Lock()
        self.closed = False
        self._load_cancel = threading.Event()
        self._load_token = 0
        self._load_fraction = self._shown_fraction = 0.0
        self._progress_timer = QTimer(self, interval=50, timeout=self._poll_load_progress)
        self._load_done_from_thread.connect(self._on_load_done)
        self.lora = LoraControl(self)

    # ------------------------------------------------------------------ settings
    def setting(self, key: str) -> Any:
        try:
            return self.store.get_setting(key, DEFAULTS.get(key))
        except HistoryError as exc:
            self.error.emit(str(exc))
            return DEFAULTS.get(key)

    def set_setting(self, key: str, value: Any) -> bool:
        try:
            self.store.set_setting(key, value)
        except HistoryError as exc:
            self.error.emit(QCoreApplication.translate("AppController", "The setting could not be saved: {error}").format(error=exc))
            return False
        self.setting_changed.emit(key, value)
        return True

    @property
    def hub_endpoint(self) -> str | None:
        return (self.setting("hub.endpoint") or "").strip() or None

    # -------------------------------------------------------------------- models
    def models(self) -> list[ModelEntry]:
        return self.registry.list("chat")

    def has_model_history(self) -> bool:
        """Has this data directory ever been used (a model loaded or a conversation saved)?"""
        try:
            return bool(self.store.get_setting("state.last_model")) or bool(self.store.list_conversations(limit=1))
        except HistoryError:
            return False

    def load_options(self, entry: ModelEntry) -> LoadOptions:
        options = LoadOptions()
        threads = int(self.setting("model.n_threads") or 0)
        if threads > 0:
            options.n_threads = threads
        for key, value in entry.settings.items():
            if hasattr(options, key) and value is not None:
                setattr(options, key, value)
        return options

    def load_model(self, name: str) -> bool:
        """Load a model on the model thread; progress and the result arrive as signals."""
        try:
            entry = self.registry.get(name)
        except InglenookError as exc:
            self.load_failed.emit(str(exc), False)
            return False
        if self.reply_worker is not None:
            self.reply_worker.cancel()  # the load waits for the reply to end on the model thread
        self._load_cancel.set()  # a load still running is superseded
        cancel = threading.Event()
        self._load_cancel = cancel
        self._load_token += 1
        token = self._load_token
        self.loading = entry.name
        self.load_started.emit(entry.name)
        self._load_fraction, self._shown_fraction = 0.0, -1.0

        def progress(fraction: float) -> bool:
            # Called by llama.cpp on the model thread, inside a ctypes callback: emitting a Qt
            # signal there corrupts reference counts (PySide 6.12 + ctypes), so only a float is
            # stored here and the GUI thread polls it.
            self._load_fraction = fraction
            return not cancel.is_set()

        future = self.host.load(entry.path, self.load_options(entry), progress)
        future.add_done_callback(lambda f: self._load_done_from_thread.emit(f, entry, token))
        self._progress_timer.start()
        return True

    def _poll_load_progress(self) -> None:
        if self.loading is None:
            self._progress_timer.stop()
            return
        if self._load_fraction != self._shown_fraction:
            self._shown_fraction = self._load_fraction
            self.load_progress.emit(self._load_fraction)

    def cancel_load(self) -> None:
        self._load_cancel.set()

    def _on_load_done(self, future: Future, entry: ModelEntry, token: int) -> None:
        current = token == self._load_token
        try:
            loaded = future.result()
        except LoadCancelled as exc:
            if current:
                self.loading = None
                self.loaded_entry = None
                self.load_failed.emit(str(exc), True)
            return
        except InglenookError as exc:
            if current:
                self.loading = None
                self.loaded_entry = None
                self.load_failed.emit(str(exc), False)
            return
        except Exception as exc:
            log.exception("model load failed")
            if current:
                self.loading = None
                self.loaded_entry = None
                self.load_failed.emit(f"Unexpected error while loading {entry.name}: {exc!r}", False)
            return
        if not current:
            return
        self.loading = None
        self.loaded_entry = entry
        self.set_setting("state.last_model", entry.name)
        if self.session is not None:
            try:
                self.store.update_conversation(self.session.conversation_id, model=entry.name)
            except HistoryError as exc:
                self.error.emit(str(exc))
        self.model_loaded.emit(loaded)

    @property
    def model_ready(self) -> bool:
        return self.host.loaded is not None and self.loading is None

    def add_local_model(self, path: str | Path) -> ModelEntry | None:
        try:
            entry = self.registry.add(path)
        except InglenookError as exc:
            self.error.emit(QCoreApplication.translate("AppController", "{path} cannot be added: {error}").format(path=path, error=exc))
            return None
        except OSError as exc:
            self.error.emit(QCoreApplication.translate("AppController", "{path} cannot be read: {error}").format(path=path, error=exc.strerror or exc))
            return None
        self.models_changed.emit()
        return entry

    def remove_model(self, name: str, delete_file: bool = False) -> bool:
        if self.loaded_entry is not None and self.loaded_entry.name == name:
            self.error.emit(QCoreApplication.translate("AppController", "{name} is loaded; load another model before removing it.").format(name=name))
            return False
        try:
            self.registry.remove(name, delete_file=delete_file)
        except InglenookError as exc:
            self.error.emit(str(exc))
            return False
        except OSError as exc:
            self.error.emit(QCoreApplication.translate("AppController", "The file could not be deleted: {error}").format(error=exc.strerror or exc))
            return False
        self.models_changed.emit()
        return True

    def update_model_settings(self, name: str, **settings: Any) -> ModelEntry | None:
        try:
            entry = self.registry.update_settings(name, **settings)
        except InglenookError as exc:
            self.error.emit(str(exc))
            return None
        self.models_changed.emit()
        return entry

    def detect_gpu(self) -> None:
        """Find out (once, in the background) what this llama.cpp build can offload."""
        if self.gpu_support is not None:
            self.gpu_support_known.emit(self.gpu_support)
            return

        def found(support: GpuSupport) -> None:
            self.gpu_support = support
            self.gpu_support_known.emit(support)

        self.run_task(detect_gpu_support, on_done=found)

    def plan(self, entry: ModelEntry, n_ctx: int, n_gpu_layers: int | str,
             on_done: Callable[[OffloadPlan], None], on_failed: Callable[[str], None] | None = None) -> None:
        """The planner's fit rating for ``entry`` with these settings (computed off the GUI thread)."""
        support = self.gpu_support

        def work() -> OffloadPlan:
            from engine.hardware import resolve_n_gpu_layers

            info = read_gguf(entry.path)
            if n_gpu_layers == "auto":
                return plan_for_model(info, n_ctx, support)
            return resolve_n_gpu_layers(int(n_gpu_layers), info, n_ctx, support)[1]

        self.run_task(work, on_done=on_done, on_failed=on_failed)

    def run_task(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
                 on_failed: Callable[[str], None] | None = None) -> Task:
        task = Task(fn, *args, parent=self)
        self._tasks.add(task)
        if on_done is not None:
            task.done.connect(on_done)
        task.failed.connect(on_failed if on_failed is not None else self.error)
        task.finished.connect(lambda: self._tasks.discard(task))
        task.start()
        return task

    # ------------------------------------------------------------- conversations
    @property
    def busy(self) -> bool:
        return self.reply_worker is not None

    @property
    def conversation_id(self) -> int | None:
        return self.session.conversation_id if self.session else None

    def new_conversation(self) -> None:
        if self.busy:
            self.stop()
        self.session = None
        self.draft = {}
        self.set_setting("state.last_conversation", None)
        self.conversation_changed.emit()

    def open_conversation(self, conversation_id: int) -> bool:
        if self.busy:
            self.stop()
        try:
            self.store.get_conversation(conversation_id)
        except HistoryError as exc:
            self.error.emit(str(exc))
            return False
        self.session = self._attach(ChatSession(self.host, self.store, conversation_id))
        self.set_setting("state.last_conversation", conversation_id)
        self.conversation_changed.emit()
        return True

    def thread(self) -> list[StoredMessage]:
        if self.session is None:
            return []
        try:
            return self.session.thread()
        except HistoryError as exc:
            self.error.emit(str(exc))
            return []

    def sibling_ids(self, message_id: int) -> list[int]:
        """Ids of the versions of a message (regenerated answers, edited questions); [] if only one."""
        try:
            ids = [m.id for m in self.store.siblings(message_id)]
        except HistoryError as exc:
            self.error.emit(str(exc))
            return []
        return ids if len(ids) > 1 else []

    def _attach(self, session: ChatSession) -> ChatSession:
        if self.augmenter_factory is not None:
            try:
                session.augmenter = self.augmenter_factory(session)
            except InglenookError as exc:
                self.error.emit(str(exc))
        return session

    def conversation_settings(self) -> tuple[str | None, str | None, SamplingParams]:
        """(preset, own system prompt, sampling parameters) of the current conversation or draft."""
        if self.session is None:
            params = SamplingParams().updated(**self.draft.get("params", {}))
            return self.draft.get("preset"), self.draft.get("system_prompt"), params
        try:
            conversation = self.session.conversation
            return conversation.preset, conversation.system_prompt, self.session.params
        except (HistoryError, InglenookError) as exc:
            self.error.emit(str(exc))
            return None, None, SamplingParams()

    def set_preset(self, name: str | None) -> SamplingParams | None:
        try:
            if self.session is None:
                from engine.chat.presets import get_preset

                preset = get_preset(name) if name else None
                self.draft["preset"] = name
                if preset and preset.params:
                    self.draft["params"] = {**self.draft.get("params", {}), **preset.params}
            else:
                self.session.set_preset(name)
        except InglenookError as exc:
            self.error.emit(str(exc))
            return None
        return self.conversation_settings()[2]

    def set_system_prompt(self, text: str | None) -> None:
        try:
            if self.session is None:
                self.draft["system_prompt"] = text or None
            else:
                self.session.set_system_prompt(text)
        except InglenookError as exc:
            self.error.emit(str(exc))

    def set_params(self, **changes: Any) -> bool:
        try:
            if self.session is None:
                params = SamplingParams().updated(**{**self.draft.get("params", {}), **changes})
                self.draft["params"] = params.as_dict()
            else:
                self.session.set_params(**changes)
        except InglenookError as exc:
            self.error.emit(str(exc))
            return False
        return True

    def send(self, text: str) -> bool:
        if not text.strip() or self.busy:
            return False
        if self.host.loaded is None or self.loading:
            self.error.emit(QCoreApplication.translate("AppController", "Load a model first: pick one at the top of the chat."))
            return False
        if self.session is None:
            try:
                params = SamplingParams().updated(**self.draft.get("params", {}))
                session = ChatSession(
                    self.host, self.store, model_name=self.loaded_entry.name if self.loaded_entry else None,
                    preset=self.draft.get("preset"), system_prompt=self.draft.get("system_prompt"), params=params)
                if self.draft.get("lora"):  # the styles chosen for the new chat (applied when the reply starts)
                    self.store.update_conversation(session.conversation_id, extra={"lora": self.draft["lora"]})
                self.session = self._attach(session)
            except InglenookError as exc:
                self.reply_failed.emit(str(exc), False)
                return False
            self.draft = {}
            self.set_setting("state.last_conversation", self.session.conversation_id)
        session = self.session
        return self._start_reply(lambda: session.send(text))

    def regenerate(self) -> bool:
        if self.session is None or self.busy:
            return False
        if self.host.loaded is None:
            self.error.emit(QCoreApplication.translate("AppController", "Load a model first: pick one at the top of the chat."))
            return False
        session = self.session
        return self._start_reply(session.regenerate)

    def edit(self, message_id: int, text: str) -> bool:
        if self.session is None or self.busy or not text.strip():
            return False
        if self.host.loaded is None:
            self.error.emit(QCoreApplication.translate("AppController", "Load a model first: pick one at the top of the chat."))
            return False
        session = self.session
        return self._start_reply(lambda: session.edit(message_id, text))

    def stop(self) -> None:
        if self.reply_worker is not None:
            self.reply_worker.cancel()

    def _start_reply(self, start: Callable) -> bool:
        lock, lora = self.adapters_lock, self.lora

        def locked_start():  # an adapter change in flight finishes first (see lora_control)
            lora.wait_settled()
            with lock:
                return start()

        worker = ReplyWorker(self.session, locked_start, parent=self)
        worker.began.connect(self._on_began)
        worker.delta.connect(self.reply_delta)
        worker.notice.connect(self.reply_notice)
        worker.other.connect(self._on_other_event)
        worker.done.connect(self._on_reply_done)
        worker.failed.connect(self._on_reply_failed)
        worker.finished.connect(worker.deleteLater)
        self.reply_worker = worker
        self.busy_changed.emit(True)
        worker.start()
        return True

    def _on_other_event(self, event: Any) -> None:
        sources = getattr(event, "sources", None)
        if sources:
            self.reply_sources.emit(list(sources))

    def _on_began(self, thread: list[StoredMessage]) -> None:
        self.reply_began.emit(thread)
        self.conversations_changed.emit()

    def _on_reply_done(self, message: StoredMessage | None, finished: Finished | None) -> None:
        self.reply_worker = None
        self.busy_changed.emit(False)
        self.reply_finished.emit(message, finished)
        self.conversations_changed.emit()

    def _on_reply_failed(self, text: str, began: bool) -> None:
        self.reply_worker = None
        self.busy_changed.emit(False)
        self.reply_failed.emit(text, began)

    def show_branch(self, message_id: int) -> None:
        if self.session is None or self.busy:
            return
        try:
            self.store.set_head(self.session.conversation_id, message_id)
        except HistoryError as exc:
            self.error.emit(str(exc))
            return
        self.thread_changed.emit()

    def rename_conversation(self, conversation_id: int, title: str) -> bool:
        try:
            self.store.rename(conversation_id, title)
        except HistoryError as exc:
            self.error.emit(str(exc))
            return False
        self.conversations_changed.emit()
        return True

    def delete_conversation(self, conversation_id: int) -> bool:
        if self.busy and self.conversation_id == conversation_id:
            self.stop()
            self.reply_worker.wait(10_000) if self.reply_worker else None
        try:
            self.store.delete(conversation_id)
        except HistoryError as exc:
            self.error.emit(str(exc))
            return False
        if self.conversation_id == conversation_id:
            self.new_conversation()
        self.conversations_changed.emit()
        return True

    def export_conversation(self, conversation_id: int, path: str | Path) -> bool:
        path = Path(path)
        try:
            if path.suffix.lower() == ".json":
                text = json.dumps(self.store.export_json(conversation_id), ensure_ascii=False, indent=2)
            else:
                text = self.store.export_markdown(conversation_id)
            path.write_text(text, encoding="utf-8")
        except HistoryError as exc:
            self.error.emit(str(exc))
            return False
        except OSError as exc:
            self.error.emit(QCoreApplication.translate("AppController", "{path} could not be written: {error}").format(path=path, error=exc.strerror or exc))
            return False
        self.info.emit(QCoreApplication.translate("AppController", "Exported to {path}").format(path=path))
        return True

    # ----------------------------------------------------------------- downloads
    def download(self, repo_id: str, filename: str) -> bool:
        if self.download_worker is not None:
            self.error.emit(QCoreApplication.translate("AppController", "A download is already running; wait for it or cancel it."))
            return False
        worker = DownloadWorker(self.registry, repo_id.strip(), filename.strip(), self.hub_endpoint, parent=self)
        worker.progress.connect(self.download_progress)
        worker.done.connect(self._on_download_done)
        worker.failed.connect(self._on_download_failed)
        worker.finished.connect(worker.deleteLater)
        self.download_worker = worker
        worker.start()
        return True

    def cancel_download(self) -> None:
        if self.download_worker is not None:
            self.download_worker.cancel()

    def _on_download_done(self, entry: ModelEntry) -> None:
        self.download_worker = None
        self.models_changed.emit()
        self.download_finished.emit(entry)

    def _on_download_failed(self, text: str, cancelled: bool) -> None:
        self.download_worker = None
        self.download_failed.emit(text, cancelled)

    def partial_downloads(self) -> list[PartialDownload]:
        """Downloads that stopped part-way (their ``.part`` files), to resume or discard."""
        out = []
        try:
            root = models_dir()
            for part in sorted(root.glob("*/**/*.part")):
                repo_dir = part.relative_to(root).parts[0]
                filename = str(part.relative_to(root / repo_dir))[: -len(".part")]
                out.append(PartialDownload(repo_dir.replace("__", "/", 1), filename, part, part.stat().st_size))
        except OSError as exc:
            self.error.emit(QCoreApplication.translate("AppController", "The models folder cannot be read: {error}").format(error=exc.strerror or exc))
        return out

    def discard_partial(self, partial: PartialDownload) -> None:
        try:
            partial.path.unlink(missing_ok=True)
        except OSError as exc:
            self.error.emit(QCoreApplication.translate("AppController", "{path} could not be deleted: {error}").format(path=partial.path, error=exc.strerror or exc))

    def list_hub_files(self, repo_id: str, on_done: Callable[[list], None],
                       on_failed: Callable[[str], None] | None = None) -> None:
        from engine.models.hub import HubClient

        client = HubClient(endpoint=self.hub_endpoint)
        self.run_task(client.list_gguf_files, repo_id.strip(), on_done=on_done, on_failed=on_failed)

    # ------------------------------------------------------------------ lifecycle
    @staticmethod
    def data_dir() -> Path:
        return data_dir()

    def shutdown(self) -> None:
        """Stop everything the app started and free the model; safe to call twice."""
        if self.closed:
            return
        self.closed = True
        self._load_cancel.set()
        self.lora.shutdown(wait=False)  # cancels training, lets a reply waiting for a style change go on
        workers = [w for w in (self.reply_worker, self.download_worker) if w is not None]
        for worker in workers:
            worker.cancel()
        for worker in workers:
            worker.wait(15_000)
        self.lora.shutdown()
        for task in list(self._tasks):
            task.wait(15_000)
        try:
            self.host.close()
        except Exception:  # the process is ending; nothing useful to report
            log.exception("closing the model host failed")
        self.store.close()
