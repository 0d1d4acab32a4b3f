"""From records to ``summary.json``: means with bootstrap intervals, and paired comparisons to the baseline.

The first configuration is the baseline; every other one is compared with it on each summary metric,
question by question (``stats.compare_paired``), so "better" means better on the same questions by
more than the bootstrap's noise. When an LLM judge was used but failed its check on the labelled set,
the table keeps the judge-free values (kept under ``<metric>:judge-free`` by the metrics) and the
judge's own values go under ``llm_judged``, with a warning: a weak judge's number is not shown as if
it could be trusted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from knowledge.evaluation.configs import EvalConfig
from knowledge.evaluation.questions import EvalQuestion

JUDGE_FREE = "judge-free"
EXTRA_METRICS = ("citation_validity", "refusal", "token_f1", "rouge_l", "semantic_similarity")


def summary_keys() -> tuple[str, ...]:
    from knowledge.evaluation.metrics import SUMMARY_KEYS

    return SUMMARY_KEYS


def metric_value(record: dict, name: str, *, judge_free: bool = False) -> float | None:
    """A record's value of ``name``; ``judge_free``: the judge-free variant when the judge made one."""
    metrics = record.get("metrics") or {}
    entry = metrics.get(f"{name}:{JUDGE_FREE}") if judge_free else None
    entry = entry or metrics.get(name)
    value = entry.get("value") if isinstance(entry, dict) else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def config_values(records: Sequence[dict], config: str, questions: Sequence[EvalQuestion], name: str,
                  *, judge_free: bool = False) -> list[float | None]:
    """One value per question (None where missing), in question order, so configurations pair up."""
    by_question = {r.get("question_id"): r for r in records if r.get("config") == config}
    return [metric_value(by_question[q.id], name, judge_free=judge_free) if q.id in by_question else None
            for q in questions]


def summarize(records: Sequence[dict], configs: Sequence[EvalConfig], questions: Sequence[EvalQuestion], *,
              judge_name: str | None = None, agreement=None) -> dict:
    """The ``summary.json`` object (see the module docstring of ``knowledge.evaluation.runner``)."""
    from knowledge.evaluation.stats import bootstrap_interval

    trusted = judge_name is not None and (agreement is None or agreement.trustworthy)
    judge_free = judge_name is not None and not trusted
    summary: dict = {}
    for config in configs:
        own = [r for r in records if r.get("config") == config.name]
        entry: dict = {}
        intervals: dict = {}
        for name in summary_keys():
            interval = bootstrap_interval(config_values(records, config.name, questions, name, judge_free=judge_free))
            entry[name] = _clip(interval.mean)
            intervals[name] = [_clip(interval.low), _clip(interval.high)]
        entry["judge"] = judge_name if trusted else JUDGE_FREE
        if judge_free:
            entry["judge_warning"] = judge_warning(judge_name, agreement)
            entry["llm_judged"] = {name: _mean(config_values(records, config.name, questions, name))
                                   for name in summary_keys()}
        entry["intervals"] = intervals
        entry["n"] = len(own)
        entry["errors"] = sum(1 for r in own if r.get("error"))
        entry["more"] = {name: _mean(config_values(records, config.name, questions, name)) for name in EXTRA_METRICS}
        entry["timings"] = {key: _mean([(r.get("timings") or {}).get(key) for r in own])
                            for key in ("first_token_s", "total_s")}
        summary[config.name] = entry
    summary["_comparisons"] = comparisons(records, configs, questions, judge_free=judge_free)
    summary["_judge_check"] = agreement_dict(judge_name, agreement)
    return summary


def comparisons(records: Sequence[dict], configs: Sequence[EvalConfig], questions: Sequence[EvalQuestion], *,
                judge_free: bool = False) -> list[dict]:
    """Every configuration after the first against the first, per summary metric."""
    from knowledge.evaluation.stats import compare_paired

    if len(configs) < 2:
        return []
    base = configs[0]
    out = []
    for config in configs[1:]:
        for name in summary_keys():
            result = compare_paired(
                config.name, config_values(records, config.name, questions, name, judge_free=judge_free),
                base.name, config_values(records, base.name, questions, name, judge_free=judge_free), name)
            out.append(asdict(result))
    return out


AGREEMENT_FIELDS = ("n", "accuracy", "kappa", "trustworthy", "message")  # judge_check.JudgeAgreement


def agreement_dict(judge_name: str | None, agreement) -> dict | None:
    if agreement is None:
        return None
    return {"judge": judge_name, **{name: getattr(agreement, name, None) for name in AGREEMENT_FIELDS}}


def judge_warning(judge_name: str | None, agreement) -> str:
    if agreement is None:
        return ""
    return (f"The judge {judge_name} is too weak to trust: it agreed with the labelled cases at accuracy "
            f"{agreement.accuracy:.2f} (kappa {agreement.kappa:.2f}, {agreement.n} cases). The table shows "
            "the judge-free measures; the judge's own values are under llm_judged.")


def _mean(values) -> float | None:
    numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    return round(sum(numbers) / len(numbers), 4) if numbers else None


def _clip(value: float | None) -> float | None:
    """Into [0, 1] (a bootstrap bound of a [0, 1] measure is already inside; this guards rounding)."""
    if value is None:
        return None
    return round(min(1.0, max(0.0, float(value))), 4)
