"""Reading a run back, and showing it: a plain-text table and one self-contained HTML report.

The HTML file has everything inline (CSS, SVG bar charts with interval whiskers, no scripts, nothing
fetched), so it can be mailed or opened offline. Every piece of text from questions, answers and
documents is escaped: documents can contain HTML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from knowledge.evaluation.configs import CONFIG_KEYS, EvalConfig
from knowledge.evaluation.questions import EvalQuestion, parse_question
from knowledge.evaluation.records import (
    METRICS_FILE,
    RECORDS_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    EvaluationError,
    read_jsonl,
)

JUDGE_FREE = "judge-free"
REPORT_FILE = "report.html"


@dataclass
class RunResult:
    out_dir: Path
    summary: dict                         # as in summary.json ({} while the run has not finished)
    records: list[dict]
    configs: list[EvalConfig]
    questions: list[EvalQuestion]
    comparisons: list[dict] = field(default_factory=list)
    judge_check: dict | None = None

    @property
    def finished(self) -> bool:
        return bool(self.summary)

    def record(self, config: str, question_id: str) -> dict | None:
        return next((r for r in self.records if r.get("config") == config and r.get("question_id") == question_id),
                    None)


def load_run(out_dir: Path | str, *, baseline: str | None = None) -> RunResult:
    """A run directory as written by ``EvalRun`` (finished or not: a partial run has no summary yet).

    ``baseline``: compare with this configuration instead of the first one (the summary is computed
    again from the records; nothing is answered or measured again).
    """
    out_dir = Path(out_dir)
    run_file = out_dir / RUN_FILE
    if not run_file.exists():
        raise EvaluationError(f"{out_dir} is not an evaluation run (no {RUN_FILE}); "
                              "start one with `nook eval run SET.jsonl --configs CONFIGS.json --out DIR`.")
    info = _read_json(run_file)
    # as saved by the run, not checked again: a preset deleted since must not hide the report
    configs = [EvalConfig(**{k: v for k, v in c.items() if k in CONFIG_KEYS}) for c in info.get("configs", [])]
    questions = [parse_question(json.dumps(q), position=i) for i, q in enumerate(info.get("questions", []), 1)]
    records = _merged_records(out_dir)
    summary_path = out_dir / SUMMARY_FILE
    summary = _read_json(summary_path) if summary_path.exists() else {}
    if baseline is not None and summary:
        configs, summary = rebased(configs, questions, records, summary, baseline)
    return RunResult(out_dir=out_dir, summary=summary, records=records, configs=configs, questions=questions,
                     comparisons=summary.get("_comparisons", []), judge_check=summary.get("_judge_check"))


def rebased(configs: list[EvalConfig], questions: list[EvalQuestion], records: list[dict], summary: dict,
            baseline: str) -> tuple[list[EvalConfig], dict]:
    """The configurations with ``baseline`` first, and the summary computed again for that order."""
    from types import SimpleNamespace

    from knowledge.evaluation.summary import summarize

    names = [c.name for c in configs]
    if baseline not in names:
        raise EvaluationError(f"There is no configuration {baseline!r} in this run; it has {', '.join(names)}.")
    ordered = sorted(configs, key=lambda c: c.name != baseline)
    check = summary.get("_judge_check")
    agreement = SimpleNamespace(**{k: v for k, v in check.items() if k != "judge"}) if check else None
    return ordered, summarize(records, ordered, questions, judge_name=check.get("judge") if check else None,
                              agreement=agreement)


def _merged_records(out_dir: Path) -> list[dict]:
    """records.jsonl, with the measures of a run stopped while judging filled in from metrics.jsonl."""
    records = read_jsonl(out_dir / RECORDS_FILE)
    measured = {(m.get("config"), m.get("question_id")): m.get("metrics", {})
                for m in read_jsonl(out_dir / METRICS_FILE)}
    latest: dict = {}
    for record in records:  # a redone record (changed inputs) replaces the older line
        latest[(record.get("config"), record.get("question_id"))] = record
    return [{**r, "metrics": r.get("metrics") or measured.get(key, {})} for key, r in latest.items()]


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EvaluationError(f"{path} cannot be read ({exc}).") from None


def metric_names() -> tuple[str, ...]:
    from knowledge.evaluation.metrics import SUMMARY_KEYS

    return SUMMARY_KEYS


# --------------------------------------------------------------------------- text
def format_cell(value, interval) -> str:
    if value is None:
        return "—"
    low, high = (interval or [None, None])[:2]
    if low is None or high is None:
        return f"{value:.2f}"
    return f"{value:.2f} [{low:.2f}–{high:.2f}]"


def comparison_line(item: dict) -> str:
    """``hybrid vs off: faithfulness +0.21 [0.10, 0.33] — hybrid better``."""
    a, b, metric = item["a"], item["b"], item["metric"]
    if item.get("mean_diff") is None:
        return f"{a} vs {b}: {metric} — not comparable (no question has both values)"
    bounds = (f" [{item['low']:+.2f}, {item['high']:+.2f}]"
              if item.get("low") is not None and item.get("high") is not None else "")
    verdict = {"a better": f"{a} better", "b better": f"{b} better"}.get(item["verdict"], "no clear difference")
    return f"{a} vs {b}: {metric} {item['mean_diff']:+.2f}{bounds} — {verdict} (n={item['n']})"


def judge_lines(result: RunResult) -> list[str]:
    check = result.judge_check
    configs = [result.summary.get(c.name, {}) for c in result.configs]
    warning = next((c.get("judge_warning") for c in configs if c.get("judge_warning")), None)
    if check is None:
        return ["Judge: judge-free measures only (no LLM judge was used)."]
    if warning:
        return [f"Judge: {warning}"]
    return [f"Judge: {check.get('judge')} (accuracy {check.get('accuracy', 0):.2f}, kappa "
            f"{check.get('kappa', 0):.2f} on {check.get('n')} labelled cases)."]


def summary_table(result: RunResult) -> str:
    """Rows: configurations; columns: the seven summary metrics as mean [low–high]; then the judge and
    the comparisons with the baseline."""
    if not result.finished:
        return (f"The run in {result.out_dir} has not finished ({len(result.records)} records so far); "
                "run `nook eval run` again with the same --out to finish it.")
    names = metric_names()
    header = ["config", *names, "n"]
    rows = [header]
    for config in result.configs:
        entry = result.summary.get(config.name, {})
        intervals = entry.get("intervals", {})
        errors = f" ({entry['errors']} failed)" if entry.get("errors") else ""
        rows.append([config.name, *(format_cell(entry.get(n), intervals.get(n)) for n in names),
                     f"{entry.get('n', 0)}{errors}"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines += ["", *judge_lines(result)]
    comparable = [item for item in result.comparisons if item.get("n")]
    if comparable:
        lines += ["", f"Compared with the baseline {result.configs[0].name} (95% bootstrap interval of the "
                      "paired difference; metrics that only one of the two has are left out):"]
        lines += [f"  {comparison_line(item)}" for item in comparable]
    return "\n".join(lines)


# --------------------------------------------------------------------------- HTML
def write_html(result: RunResult, path: Path | str | None = None) -> Path:
    """One self-contained HTML file: bar charts with intervals, comparisons, per-question drill-down."""
    path = Path(path) if path else result.out_dir / REPORT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result), encoding="utf-8")
    return path


CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:1em}.chart{border:1px solid #ddd;padding:.5em}
.warn{background:#fff4d6;border:1px solid #e0b84f;padding:.6em}
details{border:1px solid #ddd;margin:.4em 0;padding:.4em}summary{cursor:pointer;font-weight:600}
.answers{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:.8em}
.answer{border:1px solid #ccc;padding:.5em;background:#fafafa}.answer pre{white-space:pre-wrap;font:inherit}
.unsupported{background:#ffd9d9;text-decoration:underline wavy #c33}.err{color:#b00}
.ctx{font-size:.9em;border-top:1px dashed #ccc;margin-top:.4em;padding-top:.3em;white-space:pre-wrap}
.better{color:#060}.worse{color:#a00}.metrics td{font-size:.9em}
"""
COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")


def render_html(result: RunResult) -> str:
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>Inglenook evaluation</title>",
             f"<style>{CSS}</style></head><body><h1>Evaluation: {escape(str(result.out_dir.name))}</h1>"]
    parts.append(_configs_html(result))
    if not result.finished:
        parts.append(f"<p class='warn'>This run has not finished: {len(result.records)} records so far.</p>")
    else:
        parts += [f"<p class='warn'>{escape(line)}</p>" if "too weak" in line else f"<p>{escape(line)}</p>"
                  for line in judge_lines(result)]
        parts.append(_charts_html(result))
        parts.append(_comparisons_html(result))
    parts.append(_questions_html(result))
    parts.append("</body></html>")
    return "\n".join(parts)


def _configs_html(result: RunResult) -> str:
    rows = []
    for i, config in enumerate(result.configs):
        data = config.as_dict()
        settings = ", ".join(f"{k}={v}" for k, v in data.items() if k != "name" and v not in (None, [], ""))
        role = " (baseline)" if i == 0 else ""
        rows.append(f"<tr><td><span style='color:{COLORS[i % len(COLORS)]}'>■</span> {escape(config.name)}{role}"
                    f"</td><td>{escape(settings)}</td></tr>")
    return "<h2>Configurations</h2><table><tr><th>name</th><th>settings</th></tr>" + "".join(rows) + "</table>"


def bar_chart_svg(metric: str, bars: list[tuple[str, float | None, float | None, float | None]]) -> str:
    """A horizontal bar per configuration (value in [0, 1]) with a whisker for its interval."""
    label_w, plot_w, row_h = 140, 260, 24
    height = row_h * len(bars) + 30
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{label_w + plot_w + 60}' height='{height}' "
           f"role='img' aria-label='{escape(metric)}'>",
           f"<text x='0' y='14' font-weight='bold'>{escape(metric)}</text>"]
    for i, (name, value, low, high) in enumerate(bars):
        y = 22 + i * row_h
        out.append(f"<text x='0' y='{y + 14}'>{escape(_shorten(name, 20))}</text>")
        out.append(f"<rect x='{label_w}' y='{y + 3}' width='{plot_w}' height='14' fill='#eee'/>")
        if value is None:
            out.append(f"<text x='{label_w + 4}' y='{y + 14}' fill='#888'>n/a</text>")
            continue
        color = COLORS[i % len(COLORS)]
        out.append(f"<rect x='{label_w}' y='{y + 3}' width='{value * plot_w:.1f}' height='14' fill='{color}'/>")
        if low is not None and high is not None:
            x1, x2 = label_w + low * plot_w, label_w + high * plot_w
            out.append(f"<line x1='{x1:.1f}' x2='{x2:.1f}' y1='{y + 10}' y2='{y + 10}' stroke='#222'/>"
                       f"<line x1='{x1:.1f}' x2='{x1:.1f}' y1='{y + 5}' y2='{y + 15}' stroke='#222'/>"
                       f"<line x1='{x2:.1f}' x2='{x2:.1f}' y1='{y + 5}' y2='{y + 15}' stroke='#222'/>")
        out.append(f"<text x='{label_w + plot_w + 6}' y='{y + 14}'>{value:.2f}</text>")
    out.append("</svg>")
    return "".join(out)


def _charts_html(result: RunResult) -> str:
    charts = []
    for metric in metric_names():
        bars = []
        for config in result.configs:
            entry = result.summary.get(config.name, {})
            low, high = (entry.get("intervals", {}).get(metric) or [None, None])[:2]
            bars.append((config.name, entry.get(metric), low, high))
        charts.append(f"<div class='chart'>{bar_chart_svg(metric, bars)}</div>")
    return "<h2>Metrics (mean, 95% bootstrap interval)</h2><div class='charts'>" + "".join(charts) + "</div>"


def _comparisons_html(result: RunResult) -> str:
    if not result.comparisons:
        return ""
    items = []
    for item in (c for c in result.comparisons if c.get("n")):
        css = {"a better": "better", "b better": "worse"}.get(item.get("verdict"), "")
        items.append(f"<li class='{css}'>{escape(comparison_line(item))}</li>")
    return (f"<h2>Compared with the baseline {escape(result.configs[0].name)}</h2><ul>" + "".join(items) + "</ul>")


def _questions_html(result: RunResult) -> str:
    parts = ["<h2>Questions</h2>"]
    for question in result.questions:
        parts.append(f"<details><summary>{escape(question.id)}: {escape(question.question)}</summary>")
        if question.reference:
            parts.append(f"<p><b>Reference:</b> {escape(question.reference)}</p>")
        if question.sources:
            files = ", ".join(s.file + (f" p.{s.page}" if s.page else "") for s in question.sources)
            parts.append(f"<p><b>Gold sources:</b> {escape(files)}</p>")
        parts.append("<div class='answers'>")
        for config in result.configs:
            parts.append(_answer_html(config.name, result.record(config.name, question.id)))
        parts.append("</div></details>")
    return "".join(parts)


def _answer_html(config: str, record: dict | None) -> str:
    head = f"<div class='answer'><h3>{escape(config)}</h3>"
    if record is None:
        return head + "<p>not answered yet</p></div>"
    body = []
    if record.get("error"):
        body.append(f"<p class='err'>error: {escape(str(record['error']))}</p>")
    answer = record.get("answer")
    if answer is not None:
        body.append(f"<pre>{marked_answer(answer, record.get('metrics') or {})}</pre>")
    body.append(_metrics_html(record.get("metrics") or {}))
    for context in record.get("contexts") or []:
        where = f", page {context['page']}" if context.get("page") else ""
        heading = f" — {context['heading']}" if context.get("heading") else ""
        body.append(f"<div class='ctx'><b>[{context.get('n')}] {escape(str(context.get('path')))}{escape(where)}"
                    f"{escape(heading)}</b>\n{escape(str(context.get('text', '')))}</div>")
    return head + "".join(body) + "</div>"


def _metrics_html(metrics: dict) -> str:
    cells = []
    for name, entry in metrics.items():
        if name.startswith("_") or not isinstance(entry, dict):
            continue
        value = entry.get("value")
        shown = "—" if value is None else f"{value:.2f}"
        judged = "" if entry.get("judged_by") == JUDGE_FREE else f" ({entry.get('judged_by')})"
        cells.append(f"<tr><td>{escape(name)}</td><td>{shown}{escape(judged)}</td></tr>")
    return "<table class='metrics'>" + "".join(cells) + "</table>" if cells else ""


def unsupported_spans(answer: str, metrics: dict) -> list[tuple[int, int]]:
    """Character spans of the answer's sentences that no source supports, from the faithfulness detail.

    The judge-free faithfulness lists its ``statements`` (``{"statement", "supported", ...}``, the
    answer's own sentences); each unsupported one is found in the answer. Rows with ``start``/``end``
    are used as given.
    """
    for name in ("faithfulness:judge-free", "faithfulness"):
        detail = (metrics.get(name) or {}).get("detail") or {}
        rows = detail.get("statements") or detail.get("sentences")
        if not isinstance(rows, list):
            continue
        spans, at = [], 0
        for row in rows:
            if not isinstance(row, dict) or row.get("supported") is not False:
                continue
            if isinstance(row.get("start"), int) and isinstance(row.get("end"), int):
                spans.append((row["start"], row["end"]))
                continue
            text = str(row.get("statement") or row.get("sentence") or "").strip()
            found = answer.find(text, at) if text else -1
            if found >= 0:
                spans.append((found, found + len(text)))
                at = found + len(text)
        return spans
    return []


def marked_answer(answer: str, metrics: dict) -> str:
    """The answer, escaped, with unsupported sentences wrapped in a marked span."""
    spans = sorted(unsupported_spans(answer, metrics))
    out, at = [], 0
    for start, end in spans:
        if start < at or end > len(answer) or start >= end:
            continue
        out += [escape(answer[at:start]), f"<span class='unsupported' title='no source supports this'>"
                f"{escape(answer[start:end])}</span>"]
        at = end
    out.append(escape(answer[at:]))
    return "".join(out)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
