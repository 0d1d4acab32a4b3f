"""The Evaluate page: compare prompts, retrieval and LoRA styles on the user's own questions (issue 12).

Pick a question set (and review it), tick the configurations to compare (named, editable, kept in the
app's settings), optionally a judge model, and Run. The run is the core's ``EvalRun``, iterated in a
``StreamWorker`` with the window's own engine and model (``eval_environment``): a progress bar with
the time left, Cancel, and Run again to resume (the run's folder is named after its inputs). Results
fill in while it runs: per-metric bars with intervals per configuration, then the paired comparisons
and the judge's note; click a question to see every configuration's answer side by side with its
sources and measures. "Open report" writes the core's HTML report and opens it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop_app.eval_config_dialog import ConfigDialog
from desktop_app.eval_environment import WindowEvalEnvironment
from desktop_app.eval_results import EvalResults
from desktop_app.stream_worker import StreamWorker
from desktop_app.training_dialog import duration
from desktop_app.widgets import Page, heading, muted
from engine.errors import InglenookError
from engine.paths import data_dir
from knowledge.evaluation.configs import EvalConfig, parse_configs
from knowledge.evaluation.questions import EvalQuestion, load_questions
from knowledge.evaluation.records import RUN_FILE, content_hash

CONFIGS_KEY, CHECKED_KEY, SET_KEY, JUDGE_KEY = "eval.configs", "eval.checked", "eval.question_set", "eval.judge"


def default_configs(collections: list[str]) -> list[EvalConfig]:
    """What the page offers before the user made any: no documents against hybrid retrieval."""
    configs = [EvalConfig(name="no retrieval", retrieval="off", max_tokens=128)]
    if collections:
        configs.append(EvalConfig(name="hybrid", collections=list(collections), retrieval="hybrid",
                                  max_tokens=128))
    return configs


def run_folder(question_set: Path) -> Path:
    """One folder per question set: a run resumes there, and keeps the answers of every configuration
    (and question) that did not change since the last run; changed ones are answered again."""
    key = content_hash({"set": str(question_set.resolve())})[:12]
    return data_dir() / "evaluations" / f"{question_set.stem}-{key}"


class EvaluatePage(Page):
    run_finished = Signal(bool)  # cancelled
    progressed = Signal(object)  # each knowledge.evaluation.runner.EvalProgress, once the page has shown it

    def __init__(self, controller, library_page, parent: QWidget | None = None):
        super().__init__(parent)
        self.controller = controller
        self.library_page = library_page
        self.worker: StreamWorker | None = None
        self.environment: WindowEvalEnvironment | None = None
        self.out_dir: Path | None = None
        self.questions: list[EvalQuestion] = []
        self.judge_check_limit: int | None = None  # labelled cases the judge is checked on (None: all)
        self.review_dialog = None
        self.configs = self._load_configs()

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        inner = QWidget()
        layout = QVBoxLayout(inner)
        layout.setContentsMargins(24, 18, 24, 18)
        layout.setSpacing(10)
        self.title = heading()
        self.intro = muted()
        layout.addWidget(self.title)
        layout.addWidget(self.intro)
        layout.addLayout(self._build_set_row())
        layout.addLayout(self._build_configs())
        layout.addLayout(self._build_run_row())
        self.results = EvalResults()
        layout.addWidget(self.results, 1)
        scroll.setWidget(inner)
        outer.addWidget(scroll)
        self.retranslate()
        self._show_configs()
        saved = controller.settings.setting(SET_KEY)
        if saved:
            self.set_question_set(saved, quiet=True)

    # ------------------------------------------------------------------ building
    def _build_set_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.set_label = QLabel()
        self.set_path = QLineEdit()
        self.set_path.setReadOnly(True)
        self.choose_set_button = QPushButton()
        self.choose_set_button.clicked.connect(lambda: self.choose_question_set())
        self.review_button = QPushButton()
        self.review_button.clicked.connect(lambda: self.open_review())
        self.set_info = muted(word_wrap=False)
        for widget in (self.set_label, self.set_path, self.choose_set_button, self.review_button, self.set_info):
            row.addWidget(widget, 1 if widget is self.set_path else 0)
        return row

    def _build_configs(self) -> QHBoxLayout:
        row = QHBoxLayout()
        column = QVBoxLayout()
        self.configs_label = QLabel()
        self.config_list = QListWidget()
        self.config_list.setMaximumHeight(130)
        self.config_list.itemChanged.connect(lambda _item: self._save_checked())
        self.config_list.itemDoubleClicked.connect(lambda _item: self.edit_config())
        column.addWidget(self.configs_label)
        column.addWidget(self.config_list)
        row.addLayout(column, 1)
        buttons = QVBoxLayout()
        self.add_config_button = QPushButton()
        self.add_config_button.clicked.connect(lambda: self.add_config())
        self.edit_config_button = QPushButton()
        self.edit_config_button.clicked.connect(lambda: self.edit_config())
        self.remove_config_button = QPushButton()
        self.remove_config_button.clicked.connect(self.remove_config)
        self.judge_label = QLabel()
        self.judge = QComboBox()
        self.judge.activated.connect(lambda _i: self.controller.settings.set_setting(JUDGE_KEY, self.judge.currentData()))
        for widget in (self.add_config_button, self.edit_config_button, self.remove_config_button, self.judge_label,
                       self.judge):
            buttons.addWidget(widget)
        buttons.addStretch(1)
        row.addLayout(buttons)
        return row

    def _build_run_row(self) -> QVBoxLayout:
        column = QVBoxLayout()
        row = QHBoxLayout()
        self.run_button = QPushButton()
        self.run_button.setObjectName("primary")
        self.run_button.clicked.connect(lambda: self.run())
        self.cancel_button = QPushButton()
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.report_button = QPushButton()
        self.report_button.clicked.connect(lambda: self.open_report())
        self.report_button.setEnabled(False)
        for widget in (self.run_button, self.cancel_button, self.progress, self.report_button):
            row.addWidget(widget, 1 if widget is self.progress else 0)
        self.status = muted()
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addLayout(row)
        column.addWidget(self.status)
        return column

    # ------------------------------------------------------------------ language
    def retranslate(self) -> None:
        self.title.setText(self.tr("Evaluate"))
        self.intro.setText(self.tr(
            "Which helps with your questions: a prompt, retrieval from your documents, or a style (LoRA)? Run "
            "the same questions through several configurations and compare the measures. Judge-free measures "
            "need no extra model; a judge model adds LLM-judged ones, labelled as such."))
        self.set_label.setText(self.tr("Question set"))
        self.set_path.setPlaceholderText(self.tr("A .jsonl file: one question a line"))
        self.choose_set_button.setText(self.tr("Choose…"))
        self.review_button.setText(self.tr("Review…"))
        self.configs_label.setText(self.tr("Configurations to compare (the first ticked one is the baseline)"))
        self.add_config_button.setText(self.tr("Add…"))
        self.edit_config_button.setText(self.tr("Edit…"))
        self.remove_config_button.setText(self.tr("Remove"))
        self.judge_label.setText(self.tr("Judge model"))
        self.run_button.setText(self.tr("Run"))
        self.cancel_button.setText(self.tr("Cancel"))
        self.report_button.setText(self.tr("Open report"))
        self._fill_judges()

    def _fill_judges(self) -> None:
        if self.controller.closed:  # a late language change after the window closed
            return
        wanted = self.controller.settings.setting(JUDGE_KEY)
        self.judge.clear()
        self.judge.addItem(self.tr("None (judge-free measures)"), None)
        for entry in self.controller.registry.list():
            self.judge.addItem(entry.name, entry.name)
        self.judge.setCurrentIndex(max(0, self.judge.findData(wanted)))

    # ------------------------------------------------------------------ question set
    def choose_question_set(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Choose a question set"), "",
                                              self.tr("Question sets (*.jsonl);;All files (*)"))
        if path:
            self.set_question_set(path)

    def set_question_set(self, path: str, quiet: bool = False) -> bool:
        try:
            questions = load_questions(path)
        except InglenookError as exc:
            if not quiet:
                self.status.setText(str(exc))
            return False
        self.set_path.setText(str(path))
        self.controller.settings.set_setting(SET_KEY, str(path))
        drafts = sum(1 for q in questions if q.extra.get("draft"))
        self.set_info.setText(self.tr("{n} questions").format(n=len(questions)) + (
            self.tr(", {d} not reviewed").format(d=drafts) if drafts else ""))
        self.questions = questions
        self.results.set_questions(questions)
        return True

    def open_review(self):
        from desktop_app.question_set_dialog import QuestionSetDialog

        dialog = QuestionSetDialog(self.controller, self.library_page.library, self.set_path.text() or None,
                                   self.window())
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self.set_question_set)
        dialog.show()
        self.review_dialog = dialog
        return dialog

    # ------------------------------------------------------------------ configurations
    def _load_configs(self) -> list[EvalConfig]:
        saved = self.controller.settings.setting(CONFIGS_KEY)
        if saved:
            try:
                return parse_configs(saved)
            except InglenookError as exc:
                self.controller.error.emit(self.tr("The saved evaluation configurations could not be read ({error}); "
                                                   "the defaults are shown.").format(error=exc))
        return default_configs(self.library_page.selected_collections() or self.library_page.library.names()[:1])

    def _save_configs(self) -> None:
        self.controller.settings.set_setting(CONFIGS_KEY, [c.as_dict() for c in self.configs])

    def _save_checked(self) -> None:
        self.controller.settings.set_setting(CHECKED_KEY, self.checked_names())

    def _show_configs(self) -> None:
        checked = self.controller.settings.setting(CHECKED_KEY)
        checked = set(checked) if isinstance(checked, list) else {c.name for c in self.configs}
        self.config_list.blockSignals(True)
        self.config_list.clear()
        for config in self.configs:
            item = QListWidgetItem(f"{config.name} — {self.describe(config)}")
            item.setData(Qt.ItemDataRole.UserRole, config.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if config.name in checked else Qt.CheckState.Unchecked)
            self.config_list.addItem(item)
        self.config_list.blockSignals(False)

    def describe(self, config: EvalConfig) -> str:
        parts = [self.tr("no documents") if not config.uses_documents else self.tr("{mode}, k={k}, {names}").format(
            mode=config.retrieval, k=config.k, names=", ".join(config.collections))]
        if config.preset or config.system_prompt:
            parts.append(self.tr("preset {name}").format(name=config.preset) if config.preset else self.tr("own prompt"))
        if config.strict:
            parts.append(self.tr("strict"))
        if config.lora:
            parts.append(self.tr("style {styles}").format(
                styles=", ".join(f"{s['name']}×{float(s.get('scale', 1)):g}" for s in config.lora)))
        if config.model:
            parts.append(config.model)
        if config.answer != "model":
            parts.append(self.tr("quotes") if config.answer == "quotes" else self.tr("retrieval only"))
        return " · ".join(parts)

    def checked_names(self) -> list[str]:
        return [self.config_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.config_list.count())
                if self.config_list.item(i).checkState() == Qt.CheckState.Checked]

    def set_checked(self, names: list[str]) -> None:
        for i in range(self.config_list.count()):
            item = self.config_list.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole) in names
                               else Qt.CheckState.Unchecked)

    def config_dialog(self, config: EvalConfig, taken: set[str]) -> ConfigDialog:
        return ConfigDialog(config, models=[e.name for e in self.controller.registry.list()],
                            collections=self.library_page.library.names(), taken=taken, parent=self)

    def add_config(self, config: EvalConfig | None = None) -> bool:
        """Add a configuration (``config`` given: without asking, e.g. from a test or a script)."""
        taken = {c.name for c in self.configs}
        if config is None:
            dialog = self.config_dialog(EvalConfig(name=self.tr("configuration {n}").format(n=len(self.configs) + 1)),
                                        taken)
            if dialog.exec() != ConfigDialog.DialogCode.Accepted:
                return False
            config = dialog.config()
        elif config.name in taken:
            return False
        checked = self.checked_names() + [config.name]
        self.configs.append(config)
        self._save_configs()
        self.controller.settings.set_setting(CHECKED_KEY, checked)
        self._show_configs()
        return True

    def edit_config(self) -> bool:
        row = self.config_list.currentRow()
        if row < 0:
            return False
        old = self.configs[row]
        dialog = self.config_dialog(old, {c.name for c in self.configs} - {old.name})
        if dialog.exec() != ConfigDialog.DialogCode.Accepted:
            return False
        checked = [dialog.config().name if n == old.name else n for n in self.checked_names()]
        self.configs[row] = dialog.config()
        self._save_configs()
        self.controller.settings.set_setting(CHECKED_KEY, checked)
        self._show_configs()
        return True

    def remove_config(self) -> None:
        row = self.config_list.currentRow()
        if row >= 0:
            del self.configs[row]
            self._save_configs()
            self._save_checked()
            self._show_configs()

    # ------------------------------------------------------------------ running
    @property
    def records(self) -> dict[tuple[str, str], dict]:
        """The run's records so far, by (configuration, question id)."""
        return self.results.records

    @property
    def summary(self) -> dict:
        return self.results.summary

    @property
    def running(self) -> bool:
        return self.worker is not None

    def run(self) -> bool:
        """Start (or resume) the run of the ticked configurations on the question set."""
        from knowledge.evaluation.runner import EvalRun

        if self.running:
            return False
        path = self.set_path.text().strip()
        if not path or not self.set_question_set(path):
            if not path:
                self.status.setText(self.tr("Choose a question set first."))
            return False
        checked = self.checked_names()
        configs = [c for name in checked for c in self.configs if c.name == name]
        if not configs:
            self.status.setText(self.tr("Tick at least one configuration."))
            return False
        loader = self.controller.loader
        if any(c.model is None for c in configs) and (loader.host.loaded is None or loader.loading):
            self.status.setText(self.tr("Load a model first (at the top of the chat): the configurations use it."))
            return False
        judge = self.judge.currentData()
        self.out_dir = run_folder(Path(path))
        # one model, one user at a time: the chat waits while the run answers
        self.controller.replies.hold(self.tr("An evaluation is running on the model; the chat can answer once it "
                                             "is done or cancelled (Evaluate page)."))
        try:
            self.environment = WindowEvalEnvironment(self.controller, self.library_page.library, self.out_dir)
            evaluation = EvalRun(self.questions, configs, self.out_dir, environment=self.environment,
                                 judge_model=judge, allow_changes=True, judge_check_limit=self.judge_check_limit)
        except (InglenookError, OSError) as exc:
            self.controller.replies.release()
            self.status.setText(str(exc))
            return False
        self.results.start(configs)
        self._load_partial()
        worker = StreamWorker(lambda: iter(evaluation), self)
        worker.progress.connect(self._progress)
        worker.finished_with.connect(self._finished)
        worker.failed.connect(self._failed)
        worker.finished.connect(self._worker_gone)
        self.worker = worker
        self._set_running(True)
        self.status.setText(self.tr("Starting…"))
        worker.start()
        return True

    def cancel(self) -> None:
        if self.worker is not None:
            self.worker.cancel()
            if self.environment is not None:
                self.environment.abort()
            self.cancel_button.setEnabled(False)
            self.status.setText(self.tr("Stopping after the current question…"))

    def _set_running(self, on: bool) -> None:
        self.run_button.setEnabled(not on)
        self.cancel_button.setEnabled(on)
        for widget in (self.choose_set_button, self.add_config_button, self.edit_config_button,
                       self.remove_config_button, self.judge, self.config_list):
            widget.setEnabled(not on)
        self.report_button.setEnabled(not on and self.out_dir is not None and (self.out_dir / RUN_FILE).exists())
        if on:
            self.progress.setRange(0, 0)

    def _load_partial(self) -> None:
        """What an earlier, stopped run of the same inputs already answered (it resumes from there)."""
        from knowledge.evaluation.records import RECORDS_FILE, read_jsonl

        path = self.out_dir / RECORDS_FILE
        for record in read_jsonl(path, repair=False) if path.exists() else []:
            key = (record.get("config"), record.get("question_id"))
            if key[0] in {c.name for c in self.results.run_configs}:
                self.records[key] = record
        self.results.refresh()

    def _progress(self, p) -> None:
        if p.total:
            self.progress.setRange(0, p.total)
            self.progress.setValue(p.done)
        if p.record is not None:
            self.records[(p.record.get("config"), p.record.get("question_id"))] = p.record
            self.results.refresh()
        phase = {"answer": self.tr("Answering"), "judge": self.tr("Measuring"), "done": self.tr("Done")}.get(
            p.phase, p.phase)
        parts = [phase]
        if p.total:
            parts.append(self.tr("{done} of {total}").format(done=p.done, total=p.total))
        if p.config:
            parts.append(p.config)
        if p.eta_s is not None and p.phase != "done":
            parts.append(self.tr("about {eta} left").format(eta=duration(p.eta_s)))
        if self.worker is not None and not self.worker.cancelled:
            self.status.setText(" · ".join(parts))
        self.progressed.emit(p)

    def _finished(self, _last, cancelled: bool) -> None:
        if cancelled:
            self.status.setText(self.tr("Stopped. What was answered is kept: Run again to go on from there."))
        else:
            self._load_result()
            self.status.setText(self.tr("Done: {n} answers measured. Click a question to compare the answers.")
                                .format(n=len(self.records)))

    def _failed(self, message: str) -> None:
        self.status.setText(self.tr("The evaluation failed: {error}").format(error=message))

    def _worker_gone(self) -> None:
        cancelled = self.worker.cancelled if self.worker is not None else False
        self.worker = None
        self.controller.replies.release()
        if self.environment is not None:
            self.environment.close()
            self.environment = None
        self._set_running(False)
        if not self.progress.maximum():
            self.progress.setRange(0, 1)
        self.run_finished.emit(cancelled)

    def _load_result(self) -> None:
        from knowledge.evaluation.report import load_run

        try:
            result = load_run(self.out_dir)
        except InglenookError as exc:
            self.status.setText(str(exc))
            return
        self.results.summary = result.summary
        for record in result.records:
            self.records[(record.get("config"), record.get("question_id"))] = record
        self.results.refresh()

    def shutdown(self) -> None:
        """The window is closing: stop the run (what it wrote stays for the next time)."""
        if self.worker is not None:
            self.worker.cancel()
            if self.environment is not None:
                self.environment.abort()
            self.worker.wait(60_000)

    # ------------------------------------------------------------------ report
    def open_report(self) -> Path | None:
        from knowledge.evaluation.report import load_run, write_html

        if self.out_dir is None:
            return None
        try:
            path = write_html(load_run(self.out_dir))
        except (InglenookError, OSError) as exc:
            self.status.setText(str(exc))
            return None
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
            self.status.setText(self.tr("The report is at {path}; no application could open it.").format(path=path))
        return path
