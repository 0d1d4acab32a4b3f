"""The results part of the Evaluate page: the chart, the comparisons, the judge's note, and a question's
answers side by side.

It shows what it is given (the run's configurations, questions, records and, once the run is done, its
summary): while a run goes, each metric's bar is the mean of the questions measured so far with a
bootstrap interval of its own; at the end the run's summary (its intervals and comparisons) replaces
them.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop_app.eval_chart import MetricChart
from knowledge.evaluation.configs import EvalConfig
from knowledge.evaluation.questions import EvalQuestion

SUMMARY_METRICS = ("hit@k", "mrr", "context_precision", "context_recall", "faithfulness", "answer_relevancy",
                   "answer_correctness")
LIVE_BOOTSTRAP_ROUNDS = 400  # intervals while a run is going (the final ones are the run's own)


class EvalResults(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.questions: list[EvalQuestion] = []
        self.run_configs: list[EvalConfig] = []
        self.records: dict[tuple[str, str], dict] = {}
        self.summary: dict = {}
        self._build()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.chart = MetricChart()
        self.comparisons = QLabel()
        self.comparisons.setWordWrap(True)
        self.comparisons.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.judge_note = QLabel()
        self.judge_note.setObjectName("warning")
        self.judge_note.setWordWrap(True)
        self.judge_note.hide()
        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.question_list = QListWidget()
        self.question_list.currentRowChanged.connect(self.show_question)
        self.answers = QWidget()
        self.answers_row = QHBoxLayout(self.answers)
        self.answers_row.setContentsMargins(0, 0, 0, 0)
        self.answer_views: dict[str, QTextBrowser] = {}
        splitter.addWidget(self.question_list)
        splitter.addWidget(self.answers)
        splitter.setStretchFactor(1, 3)
        splitter.setMinimumHeight(260)
        for widget in (self.chart, self.judge_note, self.comparisons, splitter):
            layout.addWidget(widget)


    def changeEvent(self, event) -> None:  # noqa: N802
        if event.type() == QEvent.Type.LanguageChange:
            self.refresh()
        super().changeEvent(event)

    def set_questions(self, questions: list[EvalQuestion]) -> None:
        self.questions = list(questions)
        self._fill_questions()

    def start(self, configs: list[EvalConfig]) -> None:
        """A run of ``configs`` begins (or resumes): nothing is shown of an earlier one."""
        self.run_configs = list(configs)
        self.records, self.summary = {}, {}

    def metric_labels(self) -> dict[str, str]:
        return {"hit@k": self.tr("Hit@k (a gold source retrieved)"), "mrr": self.tr("MRR (rank of the first gold source)"),
                "context_precision": self.tr("Context precision"), "context_recall": self.tr("Context recall"),
                "faithfulness": self.tr("Faithfulness (answer supported by the sources)"),
                "answer_relevancy": self.tr("Answer relevancy"),
                "answer_correctness": self.tr("Answer correctness (against the reference)")}

    def chart_values(self) -> dict[str, dict[str, tuple]]:
        """Per configuration and metric: (mean, low, high); the run's summary once it is done."""
        from knowledge.evaluation.stats import bootstrap_interval
        from knowledge.evaluation.summary import config_values

        values: dict[str, dict[str, tuple]] = {}
        records = list(self.records.values())
        for config in self.run_configs:
            entry = self.summary.get(config.name)
            values[config.name] = {}
            for metric in SUMMARY_METRICS:
                if entry is not None:
                    low, high = (entry.get("intervals", {}).get(metric) or [None, None])[:2]
                    values[config.name][metric] = (entry.get(metric), low, high)
                    continue
                measured = config_values(records, config.name, self.questions, metric)
                interval = bootstrap_interval(measured, rounds=LIVE_BOOTSTRAP_ROUNDS)
                values[config.name][metric] = (interval.mean, interval.low, interval.high)
        return values

    def refresh(self) -> None:
        self.chart.set_data(list(SUMMARY_METRICS), [c.name for c in self.run_configs], self.chart_values(),
                            self.metric_labels())
        self._show_summary()
        row = self.question_list.currentRow()
        if row >= 0:
            self.show_question(row)

    def _show_summary(self) -> None:
        if not hasattr(self, "comparisons"):
            return
        lines = []
        labels = self.metric_labels()
        for item in self.summary.get("_comparisons", []) if self.summary else []:
            if item.get("mean_diff") is None:
                continue
            verdict = {"a better": self.tr("{name} is better").format(name=item["a"]),
                       "b better": self.tr("{name} is better").format(name=item["b"])}.get(
                item.get("verdict"), self.tr("no clear difference"))
            lines.append(self.tr("{a} vs {b}, {metric}: {diff:+.2f} [{low:+.2f}, {high:+.2f}] — {verdict}").format(
                a=item["a"], b=item["b"], metric=labels.get(item["metric"], item["metric"]),
                diff=item["mean_diff"], low=item.get("low") or 0.0, high=item.get("high") or 0.0, verdict=verdict))
        self.comparisons.setText("\n".join(lines))
        self.comparisons.setVisible(bool(lines))
        check = self.summary.get("_judge_check") if self.summary else None
        if check:
            trusted = bool(check.get("trustworthy"))
            self.judge_note.setText(self.tr(
                "Judge {name}: accuracy {accuracy:.2f}, kappa {kappa:.2f} on {n} labelled cases.").format(
                name=check.get("judge"), accuracy=check.get("accuracy", 0.0), kappa=check.get("kappa", 0.0),
                n=check.get("n", 0)) + ("" if trusted else " " + self.tr(
                    "It is too weak to trust: the chart shows the judge-free measures.")))
        self.judge_note.setVisible(bool(check))

    def _fill_questions(self) -> None:
        self.question_list.clear()
        for question in self.questions:
            item = QListWidgetItem(f"{question.id}: {question.question}")
            item.setToolTip(question.question)
            self.question_list.addItem(item)

    def show_question(self, row: int) -> None:
        """Every configuration's answer to one question, side by side, with its sources and measures."""
        if not 0 <= row < len(self.questions):
            return
        question = self.questions[row]
        names = [c.name for c in self.run_configs]
        for name in list(self.answer_views):
            if name not in names:
                view = self.answer_views.pop(name)
                view.setParent(None)
                view.deleteLater()
        for name in names:
            view = self.answer_views.get(name)
            if view is None:
                view = QTextBrowser()
                view.setOpenLinks(False)
                self.answer_views[name] = view
                self.answers_row.addWidget(view, 1)
            view.setHtml(self.answer_html(name, question, self.records.get((name, question.id))))

    def answer_html(self, config: str, question: EvalQuestion, record: dict | None) -> str:
        parts = [f"<h3>{html.escape(config)}</h3>"]
        if record is None:
            not_yet = html.escape(self.tr("Not answered yet."))
            parts.append(f"<p><i>{not_yet}</i></p>")
            return "".join(parts)
        if record.get("error"):
            failed = html.escape(self.tr("Failed:"))
            parts.append(f"<p><b>{failed}</b> {html.escape(str(record['error']))}</p>")
        answer = record.get("answer")
        no_answer = html.escape(self.tr("(no answer)"))
        parts.append(f"<p>{html.escape(answer)}</p>" if answer else f"<p><i>{no_answer}</i></p>")
        if question.reference:
            reference = html.escape(self.tr("Reference:"))
            parts.append(f"<p><small>{reference} {html.escape(question.reference)}</small></p>")
        metrics = record.get("metrics") or {}
        labels = self.metric_labels()
        rows = []
        for name in SUMMARY_METRICS:
            entry = metrics.get(name)
            if isinstance(entry, dict) and entry.get("value") is not None:
                judged = "" if entry.get("judged_by") == "judge-free" else f" ({html.escape(str(entry.get('judged_by')))})"
                rows.append(f"<tr><td>{html.escape(labels[name])}</td><td>{entry['value']:.2f}{judged}</td></tr>")
        if rows:
            parts.append("<table cellspacing='0' cellpadding='2'>" + "".join(rows) + "</table>")
        contexts = record.get("contexts") or []
        if contexts:
            sources = html.escape(self.tr("Sources"))
            parts.append(f"<p><b>{sources}</b></p><ol>")
            for context in contexts:
                where = Path(str(context.get("path") or "")).name
                if context.get("page"):
                    where += " · " + self.tr("page {page}").format(page=context["page"])
                text = " ".join(str(context.get("text") or "").split())
                text = text if len(text) <= 300 else text[:299] + "…"
                parts.append(f"<li>[{context.get('n')}] <b>{html.escape(where)}</b><br/>"
                             f"<small>{html.escape(text)}</small></li>")
            parts.append("</ol>")
        return "".join(parts)

