"""The "Styles (LoRA)" part of the conversation settings: which adapters this conversation uses, and how strongly.

One row per registered adapter (plus any the conversation names that is no longer installed, so it
can be switched off): a checkbox and a 0.00–2.00 scale slider. Every change goes through
``controller.lora`` (``LoraControl``), which applies it off the GUI thread; the rows always go back
to what the conversation really has once the change is saved or refused.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop_app.controller import AppController
from desktop_app.widgets import heading, muted
from engine.errors import InglenookError
from engine.lora.adapters import MAX_SCALE, AdapterChoice
from engine.models.registry import ModelEntry
from engine.units import format_bytes

STEPS_PER_UNIT = 100  # the slider counts hundredths


class AdapterRow(QWidget):
    """One adapter: on/off for this conversation and its scale."""

    changed = Signal(str)  # the adapter's name; the checkbox was toggled or the slider let go
    scale_moved = Signal(str)  # the slider moved (applied after a short pause)
    menu_requested = Signal(str)

    def __init__(self, name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.name = name
        self.missing = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setSpacing(0)
        top = QHBoxLayout()
        self.check = QCheckBox(name)
        self.check.toggled.connect(lambda _on: self.changed.emit(self.name))
        self.tag = QLabel()
        self.tag.setObjectName("tag")
        self.tag.hide()
        self.more = QToolButton()
        self.more.setObjectName("flat")
        self.more.setText("⋯")
        self.more.clicked.connect(lambda: self.menu_requested.emit(self.name))
        top.addWidget(self.check, 1)
        top.addWidget(self.tag)
        top.addWidget(self.more)
        layout.addLayout(top)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(22, 0, 0, 0)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, int(MAX_SCALE * STEPS_PER_UNIT))
        self.slider.setSingleStep(5)
        self.slider.setPageStep(25)
        self.slider.setValue(STEPS_PER_UNIT)
        self.slider.valueChanged.connect(self._moved)
        self.slider.sliderReleased.connect(lambda: self.changed.emit(self.name))
        self.value = QLabel("1.00")
        self.value.setObjectName("small")
        self.value.setMinimumWidth(32)
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        bottom.addWidget(self.slider, 1)
        bottom.addWidget(self.value)
        layout.addLayout(bottom)

    @property
    def scale(self) -> float:
        return round(self.slider.value() / STEPS_PER_UNIT, 2)

    @property
    def chosen(self) -> bool:
        return self.check.isChecked()

    def show_state(self, chosen: bool, scale: float | None) -> None:
        """Show a state without reporting it as a change."""
        for widget in (self.check, self.slider):
            widget.blockSignals(True)
        self.check.setChecked(chosen)
        if scale is not None:
            self.slider.setValue(round(scale * STEPS_PER_UNIT))
        for widget in (self.check, self.slider):
            widget.blockSignals(False)
        self.value.setText(f"{self.scale:.2f}")

    def _moved(self, _value: int) -> None:
        self.value.setText(f"{self.scale:.2f}")
        if not self.slider.isSliderDown():
            self.scale_moved.emit(self.name)

    def set_details(self, tooltip: str, tag: str = "") -> None:
        for widget in (self, self.check, self.slider):
            widget.setToolTip(tooltip)
        self.tag.setText(tag)
        self.tag.setVisible(bool(tag))


class LoraPanel(QWidget):
    train_requested = Signal()
    style_from_ratings_requested = Signal()  # "Make a style from my rated replies"

    def __init__(self, controller: AppController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.lora = controller.lora
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.title = heading(level=2)
        layout.addWidget(self.title)
        self.hint = muted()
        layout.addWidget(self.hint)
        self.rows_box = QVBoxLayout()
        self.rows_box.setSpacing(2)
        layout.addLayout(self.rows_box)
        self.message = QLabel()
        self.message.setObjectName("warning")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        layout.addWidget(self.message)
        self.add_button = QPushButton()
        self.add_button.clicked.connect(lambda: self.add_adapter())
        self.convert_button = QPushButton()
        self.convert_button.clicked.connect(lambda: self.convert_folder())
        self.train_button = QPushButton()
        self.train_button.clicked.connect(self.train_requested)
        self.rated_button = QPushButton()
        self.rated_button.clicked.connect(self.style_from_ratings_requested)
        for button in (self.add_button, self.convert_button, self.train_button, self.rated_button):
            layout.addWidget(button)
        self.rows: dict[str, AdapterRow] = {}
        self._entries: dict[str, ModelEntry] = {}
        self._scales: dict[str, float] = {}  # scales of adapters that are off, kept for when they go on
        self._moved: set[str] = set()
        self._scale_timer = QTimer(self, singleShot=True, interval=350, timeout=self._apply_moved)

        lora = self.lora
        lora.adapters_changed.connect(self.rebuild)
        lora.choices_applied.connect(self._applied)
        lora.refused.connect(self._refused)
        lora.problem.connect(self._show_problem)
        controller.replies.busy_changed.connect(lambda _busy: self._update_enabled())
        self.retranslate()

    def retranslate(self) -> None:
        self.title.setText(self.tr("Styles (LoRA)"))
        self.add_button.setText(self.tr("Add adapter…"))
        self.add_button.setToolTip(self.tr("Register a GGUF LoRA adapter file"))
        self.convert_button.setText(self.tr("Convert PEFT folder…"))
        self.convert_button.setToolTip(self.tr(
            "Turn a Hugging Face PEFT adapter folder (adapter_config.json and adapter_model.safetensors) "
            "into a GGUF adapter for the current model"))
        self.train_button.setText(self.tr("Train a style…"))
        self.train_button.setToolTip(self.tr("Teach the current model a style from a file of examples"))
        self.rated_button.setText(self.tr("Make a style from my rated replies…"))
        self.rated_button.setToolTip(self.tr("Train a style on the replies you liked (thumbs up) and the replies "
                                             "you edited, in the words you chose"))
        for row in self.rows.values():
            row.more.setToolTip(self.tr("Details and removal"))
        self.rebuild()

    # ----------------------------------------------------------------------- rows
    def rebuild(self) -> None:
        """Rows for the registered adapters and for chosen ones that are gone, showing what the current
        conversation (or new chat) has: after a change of conversation, a save or a refusal."""
        if self.controller.closed:
            return
        entries = {e.name: e for e in self.lora.adapters()}
        chosen = self.lora.choices()
        names = list(entries) + [c.name for c in chosen if c.name not in entries]
        if names != list(self.rows):
            for row in self.rows.values():
                self.rows_box.removeWidget(row)
                row.deleteLater()
            self.rows = {}
            for name in names:
                row = AdapterRow(name)
                row.changed.connect(self._row_changed)
                row.scale_moved.connect(self._row_moved)
                row.menu_requested.connect(self._row_menu)
                row.more.setToolTip(self.tr("Details and removal"))
                self.rows_box.addWidget(row)
                self.rows[name] = row
        self._entries = entries
        for name, row in self.rows.items():
            entry = entries.get(name)
            if entry is None:
                row.missing = True
                row.set_details(self.tr("This conversation uses {name}, which is no longer installed; "
                                        "switch it off or add it again.").format(name=name), self.tr("missing"))
            else:
                row.missing = False
                tooltip, problem = self.details(entry)
                row.set_details(tooltip, self.tr("unreadable") if problem else "")
        self.hint.setText(self.tr("Switch styles on for this conversation; the scale sets how strongly each "
                                  "one applies.") if self.rows else
                          self.tr("No styles yet: add a GGUF adapter, convert a PEFT folder or train one."))
        self._show(chosen)

    def details(self, entry: ModelEntry) -> tuple[str, bool]:
        """The adapter's description (rank, alpha, targets, base model, file) and whether it is unreadable."""
        try:
            info = self.lora.info(entry)
        except InglenookError as exc:
            return f"{entry.name}\n{exc}", True
        lines = [
            entry.name,
            self.tr("Rank {rank} · alpha {alpha} · {architecture}").format(
                rank=info.rank, alpha=f"{info.alpha:g}", architecture=info.architecture or "?"),
            self.tr("Changes {targets} in layers {layers}").format(
                targets=", ".join(info.targets), layers=info.summary()["layers"] or "–"),
            self.tr("Base model: {base}").format(base=info.base_model or self.tr("not recorded")),
            f"{entry.path} ({format_bytes(info.file_size)})",
        ]
        return "\n".join(lines), False

    def _show(self, chosen: list[AdapterChoice]) -> None:
        """Show the conversation's choices on the rows."""
        self._scale_timer.stop()
        self._moved.clear()
        scales = {c.name: c.scale for c in chosen}
        for name, row in self.rows.items():
            if name in scales:
                row.show_state(True, scales[name])
            else:
                row.show_state(False, self._scales.get(name, 1.0))
        self._update_enabled()

    def conversation_changed(self) -> None:
        self.message.hide()
        self.rebuild()

    def choices(self) -> list[AdapterChoice]:
        """What the rows show, in the conversation's order (new ones last)."""
        order = [c.name for c in self.lora.choices()]
        picked = [row for row in self.rows.values() if row.chosen]
        picked.sort(key=lambda row: order.index(row.name) if row.name in order else len(order))
        return [AdapterChoice(row.name, row.scale) for row in picked]

    def _row_changed(self, name: str) -> None:
        row = self.rows.get(name)
        if row is None:
            return
        if not row.chosen:
            self._scales[name] = row.scale
        self._moved.discard(name)
        if not self._moved:
            self._scale_timer.stop()
        self._submit()

    def _row_moved(self, name: str) -> None:
        row = self.rows.get(name)
        if row is None:
            return
        if not row.chosen:
            self._scales[name] = row.scale  # only remembered: it applies when the style is switched on
            return
        self._moved.add(name)
        self._scale_timer.start()

    def _apply_moved(self) -> None:
        if self._moved:
            self._moved.clear()
            self._submit()

    def _submit(self) -> None:
        self.message.hide()
        self.lora.set_choices(self.choices())

    def _applied(self) -> None:
        self.rebuild()  # what the conversation really has now (a missing style switched off goes away)

    def _refused(self, text: str) -> None:
        self._show_problem(self.tr("Not switched: {reason}").format(reason=text))
        self.rebuild()

    def _show_problem(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()

    def _update_enabled(self) -> None:
        # the adapters a reply is written with are fixed when it starts; changes wait for it to end
        busy = self.controller.replies.busy
        for row in self.rows.values():
            row.check.setEnabled(not busy)
            row.slider.setEnabled(not busy)
            row.more.setEnabled(not busy)

    def flush(self) -> None:
        """Apply a scale still waiting for its pause (before a message is sent)."""
        if self._scale_timer.isActive():
            self._scale_timer.stop()
            self._apply_moved()

    # -------------------------------------------------------------------- actions
    def add_adapter(self, path: str | None = None) -> ModelEntry | None:
        self.message.hide()
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self, self.tr("Add a LoRA adapter"), "",
                                                  self.tr("GGUF LoRA adapters (*.gguf);;All files (*)"))
            if not path:
                return None
        return self.lora.add_file(path)

    def convert_folder(self, folder: str | None = None) -> bool:
        self.message.hide()
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, self.tr("Choose a PEFT adapter folder"))
            if not folder:
                return False
        return self.lora.convert(folder)

    def _row_menu(self, name: str) -> None:
        row = self.rows.get(name)
        if row is None:
            return
        menu = QMenu(self)
        details = menu.addAction(self.tr("Details…"), lambda: self.show_details(name))
        details.setEnabled(not row.missing)
        menu.addAction(self.tr("Remove…"), lambda: self.remove(name))
        menu.exec(row.more.mapToGlobal(row.more.rect().bottomLeft()))

    def show_details(self, name: str) -> QMessageBox | None:
        entry = self._entries.get(name)
        if entry is None:
            return None
        text, _problem = self.details(entry)
        box = QMessageBox(QMessageBox.Icon.Information, self.tr("Style {name}").format(name=name), text,
                          QMessageBox.StandardButton.Close, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.show()
        return box

    def remove(self, name: str, confirm: bool = True) -> bool:
        if name not in self._entries:  # not installed: only switch it off here
            row = self.rows.get(name)
            if row is not None:
                row.show_state(False, None)
                self._submit()
            return True
        if confirm:
            answer = QMessageBox.question(self, self.tr("Remove style"), self.tr(
                "Remove the style {name}? Conversations that use it will ask you to switch it off. A file "
                "Inglenook converted, trained or downloaded is deleted; a file you added stays where it is."
            ).format(name=name))
            if answer != QMessageBox.StandardButton.Yes:
                return False
        return self.lora.remove(name)
