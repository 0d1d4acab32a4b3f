"""The conversation settings drawer: preset, system prompt, sampling parameters and styles (LoRA).

Edits are saved after a short pause (``flush`` saves them at once, before a message is sent).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop_app.controller import AppController
from desktop_app.i18n import current_language
from desktop_app.lora_panel import LoraPanel
from desktop_app.training_dialog import TrainingDialog
from desktop_app.widgets import heading, muted
from engine.chat.presets import list_presets
from engine.errors import InglenookError
from engine.params import SamplingParams
from engine.structured import json_schema_grammar

# name, minimum, maximum, step, decimals (0: a whole number)
SAMPLING_FIELDS = (
    ("temperature", 0.0, 2.0, 0.05, 2), ("top_p", 0.05, 1.0, 0.05, 2), ("top_k", 0, 200, 1, 0),
    ("min_p", 0.0, 0.99, 0.01, 2), ("repeat_penalty", 0.5, 2.0, 0.05, 2),
    ("max_tokens", 1, 32768, 64, 0), ("seed", -1, 2**31 - 1, 1, 0),
)


class SettingsDrawer(QFrame):
    """Preset, system prompt and sampling parameters of the current conversation."""

    def __init__(self, controller: AppController, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.conversations = controller.conversations
        self.setObjectName("drawer")
        self.setFixedWidth(290)
        self._loading = False
        self._system_timer = QTimer(self, singleShot=True, interval=400, timeout=self._save_system)
        self._params_timer = QTimer(self, singleShot=True, interval=300, timeout=self._save_params)
        self._schema_timer = QTimer(self, singleShot=True, interval=500, timeout=self._save_schema)
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(16, 14, 16, 14)
        layout.setSpacing(8)
        self.title = heading(level=2)
        layout.addWidget(self.title)
        self._build_prompt(layout)
        self._build_sampling(layout)
        self._build_format(layout)
        layout.addSpacing(10)
        self.lora = LoraPanel(controller)
        self.lora.train_requested.connect(self.open_training)
        self.lora.style_from_ratings_requested.connect(self.style_from_ratings)
        layout.addWidget(self.lora)
        layout.addStretch(1)
        self.training_dialog: TrainingDialog | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(inner)
        outer.addWidget(scroll)
        self.retranslate()

    def _build_prompt(self, layout: QVBoxLayout) -> None:
        """The preset picker (with its description) and the system prompt."""
        self.preset_label = QLabel()
        self.preset = QComboBox()
        self.preset.currentIndexChanged.connect(self._preset_chosen)
        layout.addWidget(self.preset_label)
        layout.addWidget(self.preset)
        self.preset_hint = muted()
        layout.addWidget(self.preset_hint)
        self.system_label = QLabel()
        self.system = QPlainTextEdit()
        self.system.setFixedHeight(110)
        self.system.textChanged.connect(lambda: self._system_timer.start())
        layout.addWidget(self.system_label)
        layout.addWidget(self.system)

    def _build_sampling(self, layout: QVBoxLayout) -> None:
        """A spin box per sampling parameter, and "Reset to defaults"."""
        self.sampling_label = heading(level=2)
        layout.addWidget(self.sampling_label)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        self.fields: dict[str, QSpinBox | QDoubleSpinBox] = {}
        self.field_labels: dict[str, QLabel] = {}
        for name, low, high, step, decimals in SAMPLING_FIELDS:
            box = QDoubleSpinBox() if decimals else QSpinBox()
            if decimals:
                box.setDecimals(decimals)
            box.setRange(low, high)
            box.setSingleStep(step)
            box.valueChanged.connect(lambda _v: self._params_timer.start())
            label = QLabel()
            form.addRow(label, box)
            self.fields[name] = box
            self.field_labels[name] = label
        layout.addLayout(form)
        self.reset_button = QPushButton()
        self.reset_button.clicked.connect(self._reset)
        layout.addWidget(self.reset_button, 0, Qt.AlignmentFlag.AlignLeft)

    def _build_format(self, layout: QVBoxLayout) -> None:
        """The reply format: a JSON schema that every reply must follow (enforced by a grammar)."""
        self.schema_label = QLabel()
        self.schema = QPlainTextEdit()
        self.schema.setFixedHeight(90)
        self.schema.textChanged.connect(lambda: None if self._loading else self._schema_timer.start())
        self.schema_problem = muted()
        self.schema_problem.setWordWrap(True)
        self.schema_problem.hide()
        layout.addWidget(self.schema_label)
        layout.addWidget(self.schema)
        layout.addWidget(self.schema_problem)

    def retranslate(self) -> None:
        self.title.setText(self.tr("Conversation settings"))
        self.preset_label.setText(self.tr("Preset"))
        self.system_label.setText(self.tr("System prompt"))
        self.system.setPlaceholderText(self.tr("Leave empty to use the preset's or the default system prompt."))
        self.sampling_label.setText(self.tr("Sampling"))
        names = {
            "temperature": self.tr("Temperature"), "top_p": self.tr("Top P"), "top_k": self.tr("Top K"),
            "min_p": self.tr("Min P"), "repeat_penalty": self.tr("Repeat penalty"),
            "max_tokens": self.tr("Max tokens"), "seed": self.tr("Seed"),
        }
        for name, label in self.field_labels.items():
            label.setText(names[name])
        self.fields["seed"].setSpecialValueText(self.tr("random"))
        self.fields["top_k"].setSpecialValueText(self.tr("off"))
        self.reset_button.setText(self.tr("Reset to defaults"))
        self.schema_label.setText(self.tr("JSON schema"))
        self.schema.setPlaceholderText(self.tr("Paste a JSON schema to make every reply a JSON document that "
                                               "follows it. Leave empty for free text."))
        self.fields["temperature"].setToolTip(self.tr("Higher is more varied, 0 always picks the likeliest word."))
        self.lora.retranslate()
        self.load()

    def load(self) -> None:
        """Show the current conversation's settings."""
        self._loading = True
        try:
            preset, system, params = self.conversations.conversation_settings()
            self.preset.clear()
            self.preset.addItem(self.tr("No preset"), None)
            chinese = current_language().startswith("zh")
            for item in list_presets():
                title = (item.title_zh if chinese and item.title_zh else item.title) or item.name
                self.preset.addItem(title, item.name)
                self.preset.setItemData(self.preset.count() - 1, item.description, Qt.ItemDataRole.ToolTipRole)
            index = self.preset.findData(preset)
            self.preset.setCurrentIndex(max(index, 0))
            self.system.setPlainText(system or "")
            self._show_params(params)
            self._update_hint()
            self.lora.conversation_changed()
        finally:
            self._loading = False

    def _show_params(self, params: SamplingParams) -> None:
        self._loading, was = True, self._loading
        for name, box in self.fields.items():
            box.setValue(getattr(params, name))
        if self.schema.toPlainText() != (params.json_schema or ""):
            self.schema.setPlainText(params.json_schema or "")
        self.schema_problem.hide()
        self._loading = was

    def _update_hint(self) -> None:
        name = self.preset.currentData()
        preset = next((p for p in list_presets() if p.name == name), None)
        self.preset_hint.setText(preset.description if preset else "")
        self.preset_hint.setVisible(bool(preset and preset.description))

    def _preset_chosen(self) -> None:
        if self._loading:
            return
        params = self.conversations.set_preset(self.preset.currentData())
        if params is not None:
            self._show_params(params)
        self._update_hint()

    def _save_system(self) -> None:
        if not self._loading:
            self.conversations.set_system_prompt(self.system.toPlainText().strip() or None)

    def _save_params(self) -> None:
        if not self._loading:
            self.conversations.set_params(**{name: box.value() for name, box in self.fields.items()})

    def _save_schema(self) -> None:
        """Check the schema and save it with its grammar; a schema that cannot be used is shown, not saved."""
        if self._loading:
            return
        text = self.schema.toPlainText().strip()
        try:
            grammar = json_schema_grammar(text) if text else None
            self.conversations.set_params(grammar=grammar, json_schema=text or None)
        except InglenookError as exc:
            self.schema_problem.setText(str(exc))
            self.schema_problem.show()
            return
        self.schema_problem.hide()

    def _reset(self) -> None:
        self._show_params(SamplingParams())
        self._save_params()
        self._save_schema()

    def flush(self) -> None:
        """Save edits still waiting for their debounce timer (before a message is sent)."""
        for timer, save in ((self._system_timer, self._save_system), (self._params_timer, self._save_params),
                            (self._schema_timer, self._save_schema)):
            if timer.isActive():
                timer.stop()
                save()
        self.lora.flush()

    def open_training(self) -> TrainingDialog:
        """The training dialog (one at a time; it stays open while it trains)."""
        if self.training_dialog is None:
            self.training_dialog = TrainingDialog(self.controller, self.window())
            self.training_dialog.destroyed.connect(self._training_dialog_gone)
        self.training_dialog.show()
        self.training_dialog.raise_()
        self.training_dialog.activateWindow()
        return self.training_dialog

    def style_from_ratings(self) -> None:
        """Write the liked and edited replies as examples (off the GUI thread), then open the training
        dialog with them; with too few, say how many more ratings are needed."""
        self.controller.feedback.export_examples(self._rated_examples_ready)

    def _rated_examples_ready(self, path, export) -> None:
        if self.controller.closed:
            return
        if export.missing():
            self.lora.message.setText(self.controller.feedback.describe_shortfall(export))
            self.lora.message.show()
            return
        self.lora.message.hide()
        dialog = self.open_training()
        if not dialog.running:
            dialog.preselect(str(path), self.tr("my-replies"), self.tr(
                "{n} examples from your rated replies ({liked} liked, {edited} edited).").format(
                n=export.used, liked=export.used_up, edited=export.used_edited))

    def _training_dialog_gone(self) -> None:
        self.training_dialog = None
