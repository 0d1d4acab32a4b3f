"""A small form for one evaluation configuration (``knowledge.evaluation.configs.EvalConfig``).

The values are checked by the core (``config_from_dict``-style validation lives in R's module); this
form only offers the valid choices: models from the registry, presets, the library's collections,
retrieval and answer modes. LoRA styles are written ``name:scale``, separated by commas.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine.chat.presets import list_presets
from knowledge.evaluation.configs import ANSWER_MODES, RETRIEVAL_MODES, REWRITE_MODES, EvalConfig


def styles_text(lora: list[dict]) -> str:
    return ", ".join(f"{item['name']}:{float(item.get('scale', 1.0)):g}" for item in lora if item.get("name"))


def parse_styles(text: str) -> list[dict]:
    """``pirate:0.8, formal`` -> ``[{"name": "pirate", "scale": 0.8}, {"name": "formal", "scale": 1.0}]``."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, _, scale = part.rpartition(":") if ":" in part else (part, "", "")
        try:
            value = float(scale) if scale.strip() else 1.0
        except ValueError:
            name, value = part, 1.0
        out.append({"name": name.strip(), "scale": value})
    return out


class ConfigDialog(QDialog):
    def __init__(self, config: EvalConfig, *, models: list[str], collections: list[str], taken: set[str],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.taken = taken
        self.seed = config.seed
        self.setWindowTitle(self.tr("Configuration"))
        layout = QVBoxLayout(self)
        self._build_model(config, models)
        self._build_documents(config, collections)
        self._build_answer(config)
        form = QFormLayout()
        for label, widget in self._rows():
            form.addRow(label, widget)
        layout.addLayout(form)
        self.problem = QLabel()
        self.problem.setObjectName("warning")
        self.problem.hide()
        layout.addWidget(self.problem)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _build_model(self, config: EvalConfig, models: list[str]) -> None:
        """Name, model, preset and own system prompt."""
        self.name = QLineEdit(config.name)
        self.model = QComboBox()
        self.model.addItem(self.tr("The model loaded now"), None)
        for name in models:
            self.model.addItem(name, name)
        self.model.setCurrentIndex(max(0, self.model.findData(config.model)))
        self.preset = QComboBox()
        self.preset.addItem(self.tr("None"), None)
        for preset in list_presets():
            self.preset.addItem(preset.title or preset.name, preset.name)
        self.preset.setCurrentIndex(max(0, self.preset.findData(config.preset)))
        self.system_prompt = QLineEdit(config.system_prompt or "")

    def _build_documents(self, config: EvalConfig, collections: list[str]) -> None:
        """Collections, retrieval mode, k, query rewriting, strict."""
        self.collections = QListWidget()
        self.collections.setMaximumHeight(110)
        for name in collections:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in config.collections else Qt.CheckState.Unchecked)
            self.collections.addItem(item)
        retrieval_names = {"off": self.tr("Off (no documents)"), "vector": self.tr("Vector"),
                           "fulltext": self.tr("Full text"), "hybrid": self.tr("Hybrid")}
        self.retrieval = QComboBox()
        for mode in RETRIEVAL_MODES:
            self.retrieval.addItem(retrieval_names[mode], mode)
        self.retrieval.setCurrentIndex(self.retrieval.findData(config.retrieval))
        self.k = QSpinBox()
        self.k.setRange(1, 50)
        self.k.setValue(config.k)
        self.rewrite = QComboBox()
        for mode in REWRITE_MODES:
            self.rewrite.addItem(mode, mode)
        self.rewrite.setCurrentIndex(self.rewrite.findData(config.rewrite))
        self.strict = QCheckBox(self.tr("Answer only from the documents"))
        self.strict.setChecked(config.strict)

    def _build_answer(self, config: EvalConfig) -> None:
        """Styles, how the answer is made, its length."""
        self.styles = QLineEdit(styles_text(config.lora))
        self.styles.setPlaceholderText(self.tr("e.g. pirate:0.8, formal"))
        answer_names = {"model": self.tr("The model's answer"), "quotes": self.tr("Quotes from the sources"),
                        "none": self.tr("None (retrieval only)")}
        self.answer = QComboBox()
        for mode in ANSWER_MODES:
            self.answer.addItem(answer_names[mode], mode)
        self.answer.setCurrentIndex(self.answer.findData(config.answer))
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(1, 8192)
        self.max_tokens.setValue(config.max_tokens)

    def _rows(self) -> tuple:
        return ((self.tr("Name"), self.name), (self.tr("Model"), self.model), (self.tr("Preset"), self.preset),
                (self.tr("System prompt"), self.system_prompt), (self.tr("Collections"), self.collections),
                (self.tr("Retrieval"), self.retrieval), (self.tr("Passages (k)"), self.k),
                (self.tr("Query rewriting"), self.rewrite), ("", self.strict), (self.tr("Styles (LoRA)"), self.styles),
                (self.tr("Answer"), self.answer), (self.tr("Max tokens"), self.max_tokens))

    def config(self) -> EvalConfig:
        collections = [self.collections.item(i).text() for i in range(self.collections.count())
                       if self.collections.item(i).checkState() == Qt.CheckState.Checked]
        return EvalConfig(name=self.name.text().strip(), model=self.model.currentData(),
                          preset=self.preset.currentData(), system_prompt=self.system_prompt.text().strip() or None,
                          collections=collections, retrieval=self.retrieval.currentData(), k=self.k.value(),
                          rewrite=self.rewrite.currentData(), strict=self.strict.isChecked(),
                          lora=parse_styles(self.styles.text()), answer=self.answer.currentData(),
                          max_tokens=self.max_tokens.value(), seed=self.seed)

    def _accept(self) -> None:
        name = self.name.text().strip()
        if not name:
            self._refuse(self.tr("Give the configuration a name."))
        elif name in self.taken:
            self._refuse(self.tr("Another configuration is called {name}.").format(name=name))
        elif self.retrieval.currentData() != "off" and not self.config().collections:
            self._refuse(self.tr("Tick a collection to retrieve from, or set retrieval to Off."))
        else:
            self.accept()

    def _refuse(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.show()
