"""The window's LoRA wiring: the adapters of the current conversation, registering and training adapters.

``LoraControl`` belongs to the ``AppController`` (``controller.lora``) and is the only way the
window reaches ``engine.lora.adapters*``. Choosing adapters can block (with a model loaded the choice is
applied at once on the model thread, which may be busy), so it runs in a ``Task``; changes made
while one is in flight are coalesced and applied in order. A reply about to start waits (in its
worker thread, never the GUI's) until no change is in flight (``wait_settled``), and
``adapters_lock`` keeps an apply and the start of a reply from interleaving: the reply records the
adapters it is written with. While a reply is written, changes are refused (the window disables
them). A refusal (adapter missing, made for another model) is a ``refused`` signal with the
engine's explanation; nothing was saved and the model is unchanged.

Training runs in a ``TrainWorker`` thread whose progress callback only emits signals.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal

from engine.errors import (
    InglenookError,
    LoraError,
    TrainingCancelled,
    TrainingDataError,
    TrainingUnavailableError,
)
from engine.lora.adapters import (
    AdapterChoice,
    AdapterInfo,
    LoraRegistry,
    adapters_dir,
    check_compatible,
    read_adapter,
)
from engine.models.registry import ModelEntry

if TYPE_CHECKING:
    from desktop_app.controller import AppController
    from engine.lora.train import TrainConfig

log = logging.getLogger(__name__)


class TrainWorker(QThread):
    """One training run: ``progress(TrainProgress)``, then ``done(TrainResult)`` or ``failed(message, kind)``.

    ``kind`` is ``"cancelled"``, ``"data"`` (a malformed file), ``"unavailable"`` (no train extra) or
    ``"error"``. ``cancel()`` may be called from any thread; training stops after the current step.
    """

    progress = Signal(object)  # engine.lora.train.TrainProgress (frozen)
    done = Signal(object)  # engine.lora.train.TrainResult
    failed = Signal(str, str)

    def __init__(self, data: str, name: str, base: ModelEntry, config: TrainConfig, registry: LoraRegistry,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.data, self.name, self.base, self.config, self.registry = data, name, base, config, registry
        self.cancel_event = threading.Event()

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:
        from engine.lora.train import train_lora

        try:
            result = train_lora(self.data, self.name, base=self.base.path, config=self.config,
                                progress=self.progress.emit, cancel=self.cancel_event, registry=self.registry)
        except TrainingCancelled as exc:
            self.failed.emit(str(exc), "cancelled")
        except TrainingDataError as exc:
            self.failed.emit(str(exc), "data")
        except TrainingUnavailableError as exc:
            self.failed.emit(str(exc), "unavailable")
        except InglenookError as exc:
            self.failed.emit(str(exc), "error")
        except OSError as exc:
            self.failed.emit(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), "error")
        except Exception as exc:  # a bug; the dialog must still learn that training ended
            log.exception("training failed")
            self.failed.emit(f"Unexpected error: {exc!r}", "error")
        else:
            self.done.emit(result)


class LoraControl(QObject):
    adapters_changed = Signal()  # the registered adapters changed (added, converted, trained, removed)
    choices_applied = Signal()  # the current conversation's adapters are saved (and on the model)
    refused = Signal(str)  # a choice was refused; nothing was saved
    pending_changed = Signal(bool)  # an apply is in flight
    converted = Signal(object)  # ModelEntry of a converted adapter
    problem = Signal(str)  # adding or converting an adapter failed (also sent as the controller's ``error``)

    def __init__(self, controller: AppController):
        super().__init__(controller)
        self.controller = controller
        self.registry = LoraRegistry(controller.store.db)
        self._running = None  # the Task applying choices
        self._queued: list[tuple[Any, list[AdapterChoice]]] = []  # at most one per conversation, in order
        self._draft_before: tuple[dict, Any] | None = None  # (draft, its last confirmed "lora") while checking
        self._gate = threading.Condition()  # counts changes not finished yet; a reply waits for them
        self._outstanding = 0
        self._closing = False
        self._infos: dict[tuple[str, int, int], AdapterInfo] = {}
        self.train_worker: TrainWorker | None = None
        # held by a worker thread while it applies adapters or starts a reply (never by the GUI thread)
        self.adapters_lock = threading.Lock()

    # ------------------------------------------------------------------ the registry
    def adapters(self) -> list[ModelEntry]:
        try:
            return self.registry.list()
        except InglenookError as exc:
            self.controller.error.emit(str(exc))
            return []

    def info(self, entry: ModelEntry) -> AdapterInfo:
        """What the adapter file says about itself (header only, cached by size and time); raises LoraError."""
        try:
            stat = entry.path.stat()
        except OSError:
            raise LoraError(QCoreApplication.translate("LoraControl", "The file {path} is gone.").format(
                path=entry.path)) from None
        key = (str(entry.path), stat.st_size, stat.st_mtime_ns)
        if key not in self._infos:
            self._infos[key] = read_adapter(entry.path)
        return self._infos[key]

    def add_file(self, path: str | Path) -> ModelEntry | None:
        """Register a GGUF LoRA adapter from disk (checked first); None and an ``error`` when refused."""
        path = Path(path)
        try:
            resolved = str(path.expanduser().resolve())
            same = next((e for e in self.registry.list() if str(e.path) == resolved), None)
            if same is not None:
                self.controller.info.emit(QCoreApplication.translate("LoraControl", "{path} is registered already, as {name}.")
                                          .format(path=path, name=same.name))
                return same
            entry = self.registry.add(path, self.registry.unique_name(path.stem))
        except InglenookError as exc:
            self._problem(QCoreApplication.translate("LoraControl", "{path} cannot be added: {error}")
                          .format(path=path.name, error=exc))
            return None
        except OSError as exc:
            self._problem(QCoreApplication.translate("LoraControl", "{path} cannot be read: {error}")
                          .format(path=path, error=exc.strerror or exc))
            return None
        self.adapters_changed.emit()
        self._note_fit(entry)
        return entry

    def _note_fit(self, entry: ModelEntry) -> None:
        """Say at once when a new adapter does not fit the loaded model (checked off the GUI thread)."""
        loaded = self.controller.loaded_entry if self.controller.host.loaded is not None else None
        if loaded is None or loaded.is_remote:  # a remote server's model file is not here to check against
            self.controller.info.emit(QCoreApplication.translate("LoraControl", "Added the style {name}.")
                                      .format(name=entry.name))
            return

        def check() -> str | None:
            from engine.models.gguf import read_gguf

            try:
                check_compatible(read_adapter(entry.path), read_gguf(loaded.path))
            except LoraError as exc:
                return str(exc)
            return None

        def done(problem: str | None) -> None:
            if problem:
                self.controller.error.emit(QCoreApplication.translate("LoraControl", "Added {name}, but it does not fit {model}: {error}")
                                           .format(name=entry.name, model=loaded.name, error=problem))
            else:
                self.controller.info.emit(QCoreApplication.translate("LoraControl", "Added the style {name}; switch it on below.")
                                          .format(name=entry.name))

        self.controller.run_task(check, on_done=done)

    def remove(self, name: str) -> bool:
        """Unregister an adapter (deleting the file only when Inglenook wrote it) and switch it off here."""
        try:
            entry = self.registry.remove(name, delete_file=True)
        except InglenookError as exc:
            self.controller.error.emit(str(exc))
            return False
        except OSError as exc:
            self.controller.error.emit(QCoreApplication.translate("LoraControl", "The file could not be deleted: {error}")
                                       .format(error=exc.strerror or exc))
            return False
        if self.controller.host.loaded is not None:
            self.controller.host.adapters.forget(entry.path)  # frees its memory on the model thread
        current = self.choices()
        if any(c.name == name for c in current):
            self.set_choices([c for c in current if c.name != name])
        self.adapters_changed.emit()
        return True

    def base_model(self) -> ModelEntry | None:
        """The model adapters are made for here: the loaded one, else the default chat model."""
        c = self.controller
        if c.loaded_entry is not None and c.host.loaded is not None:
            return c.loaded_entry
        try:
            return c.registry.default_chat_model()
        except InglenookError:
            return None

    def convert(self, folder: str | Path) -> bool:
        """Convert a PEFT adapter folder for the base model and register it, in a worker thread."""
        base = self.base_model()
        if base is None:
            self._problem(QCoreApplication.translate(
                "LoraControl", "Load the model the adapter was trained on first."))
            return False
        folder = Path(folder)
        registry = self.registry

        def work() -> ModelEntry:
            from engine.lora.convert import convert_peft

            name = registry.unique_name(folder.resolve().name)
            out = adapters_dir() / f"{name}.gguf"
            try:
                convert_peft(folder, base.path, out, name=name)
                return registry.add(out, name, source="converted")
            except BaseException:
                out.unlink(missing_ok=True)
                raise

        def done(entry: ModelEntry) -> None:
            self.adapters_changed.emit()
            self.converted.emit(entry)
            self.controller.info.emit(QCoreApplication.translate("LoraControl", "Converted {folder} for {model}; registered as {name}.")
                                      .format(folder=folder.name, model=base.name, name=entry.name))

        def failed(message: str) -> None:
            self._problem(QCoreApplication.translate("LoraControl", "{folder} could not be converted: {error}")
                          .format(folder=folder.name, error=message))

        self.controller.run_task(work, on_done=done, on_failed=failed)
        return True

    def _problem(self, text: str) -> None:
        self.problem.emit(text)
        self.controller.error.emit(text)

    # -------------------------------------------------------- the conversation's choices
    def choices(self) -> list[AdapterChoice]:
        """The adapters of the current conversation (or of the new chat not sent yet)."""
        c = self.controller
        try:
            if c.session is None:
                return [AdapterChoice.from_dict(d) for d in c.draft.get("lora", [])]
            return c.session.adapters
        except InglenookError as exc:
            c.error.emit(str(exc))
            return []

    @property
    def pending(self) -> bool:
        return self._running is not None

    def set_choices(self, choices: list[AdapterChoice]) -> bool:
        """Choose the current conversation's adapters. Applied off the GUI thread; ``choices_applied``
        or ``refused`` follows. Refused while a reply is being written (it uses the adapters)."""
        c = self.controller
        if c.busy:
            self.refused.emit(QCoreApplication.translate(
                "LoraControl", "Wait for the reply to finish before changing styles."))
            return False
        target = c.session if c.session is not None else c.draft
        if isinstance(target, dict):
            # a new chat keeps its choice at once, so a message sent before the check ends carries it
            # (the reply waits for the check and is refused with the same reason if it fails)
            if self._draft_before is None or self._draft_before[0] is not target:
                self._draft_before = (target, target.get("lora"))
            wanted = [choice.as_dict() for choice in choices if choice.scale > 0]
            target.pop("lora", None)
            if wanted:
                target["lora"] = wanted
        if self._running is not None and self._queued and self._queued[-1][0] is target:
            self._queued[-1] = (target, list(choices))  # only the latest change of one conversation counts
            return True
        self._count(+1)
        if self._running is not None:
            self._queued.append((target, list(choices)))
        else:
            self._start(target, list(choices))
        return True

    def _count(self, change: int) -> None:
        with self._gate:
            self._outstanding += change
            self._gate.notify_all()

    def wait_settled(self, timeout: float = 120.0) -> None:
        """Called by a worker thread about to start a reply: returns once no change is in flight."""
        with self._gate:
            self._gate.wait_for(lambda: self._outstanding == 0 or self._closing, timeout)

    def _start(self, target: Any, choices: list[AdapterChoice]) -> None:
        c = self.controller
        registry, host, lock = self.registry, c.host, self.adapters_lock

        def work() -> list[AdapterChoice]:
            with lock:
                if not isinstance(target, dict):
                    return target.set_adapters(choices)
                wanted = [choice for choice in choices if choice.scale > 0]
                resolved = registry.resolve(wanted, remembered=False)
                if host.loaded is not None:
                    host.adapters.apply(resolved).result()
                return wanted

        def done(_applied: list[AdapterChoice]) -> None:
            self._finish(target, None)

        self._running = c.run_task(work, on_done=done, on_failed=lambda message: self._finish(target, message))
        self.pending_changed.emit(True)

    def _finish(self, target: Any, problem: str | None) -> None:
        self._running = None
        self._count(-1)
        if problem is not None:
            before = self._draft_before
            if before is not None and before[0] is target:  # the new chat's choice goes back to the last good one
                self._draft_before = None
                target.pop("lora", None)
                if before[1]:
                    target["lora"] = before[1]
            # a later change of the same conversation was made on top of the refused one: dropped too
            kept = [item for item in self._queued if item[0] is not target]
            self._count(len(kept) - len(self._queued))
            self._queued = kept
            if self._queued:
                self._start(*self._queued.pop(0))  # another conversation's change goes on
            else:
                self.pending_changed.emit(False)
            self.refused.emit(problem)
            self.controller.error.emit(problem)
            return
        if self._queued:
            self._start(*self._queued.pop(0))
            return
        self._draft_before = None
        self.pending_changed.emit(False)
        self.choices_applied.emit()

    # ------------------------------------------------------------------ training
    def train(self, data: str, name: str, config: TrainConfig, parent: QObject | None = None) -> TrainWorker | None:
        """Start a training run for the base model; the caller connects to the worker's signals."""
        if self.train_worker is not None:
            self.controller.error.emit(QCoreApplication.translate(
                "LoraControl", "A style is being trained already; wait for it or cancel it."))
            return None
        base = self.base_model()
        if base is None:
            self.controller.error.emit(QCoreApplication.translate(
                "LoraControl", "Choose a model first: adapters are trained for one model."))
            return None
        if config.chat_template is None:
            config.chat_template = base.settings.get("chat_template")
        worker = TrainWorker(data, name, base, config, self.registry, parent=parent or self)
        worker.done.connect(lambda _result: self.adapters_changed.emit())
        worker.finished.connect(lambda: self._train_ended(worker))
        self.train_worker = worker
        worker.start()
        return worker

    def _train_ended(self, worker: TrainWorker) -> None:
        if self.train_worker is worker:
            self.train_worker = None

    def shutdown(self, wait: bool = True) -> None:
        """Cancel training; with ``wait``, also wait for it and for a style change to end (at exit)."""
        with self._gate:  # a reply waiting for a change must not wait for the GUI thread now
            self._closing = True
            self._gate.notify_all()
        worker = self.train_worker
        if worker is not None:
            worker.cancel()
        if not wait:
            return
        if worker is not None:
            worker.wait(60_000)  # stops after the current step
        if self._running is not None:
            self._running.wait(15_000)
