"""The metric registry. Member modules register themselves on import; they are imported here by name on
first use, so the registry does not import its members (import-linter sees no circle)."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable

from knowledge.evaluation.metrics.base import (
    SUMMARY_KEYS,
    Metric,
    MetricError,
    MetricResult,
    Tools,
    not_computed,
)
from knowledge.evaluation.sample import EvalSample

log = logging.getLogger(__name__)

MEMBERS = tuple(f"knowledge.evaluation.metrics.{name}" for name in (
    "hit_at_k", "mrr", "context_precision", "context_recall", "faithfulness", "answer_relevancy",
    "answer_correctness", "citation_validity", "refusal", "refusal_correct", "token_f1", "rouge_l", "semantic_similarity",
))
_REGISTRY: dict[str, Metric] = {}


def register_metric(metric: Metric, *, replace: bool = False) -> None:
    """Add ``metric``; a name already taken is refused unless ``replace`` says so."""
    if metric.name in _REGISTRY and not replace and _REGISTRY[metric.name] is not metric:
        raise MetricError(f"A metric called {metric.name!r} is registered already; pass replace=True to replace it.")
    _REGISTRY[metric.name] = metric


def _load_members() -> None:
    for module in MEMBERS:
        importlib.import_module(module)


def available_metrics() -> list[str]:
    """All metric names: the summary metrics first (in ``SUMMARY_KEYS`` order), then the others by name."""
    _load_members()
    return [*[k for k in SUMMARY_KEYS if k in _REGISTRY], *sorted(k for k in _REGISTRY if k not in SUMMARY_KEYS)]


def get_metric(name: str) -> Metric:
    _load_members()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise MetricError(f"No metric called {name!r}; available: {', '.join(available_metrics())}.") from None


def _run(fn, sample: EvalSample, tools: Tools, judged_by: str) -> MetricResult | None:
    """One variant; an exception becomes a None value naming the error (a run never dies on one metric)."""
    try:
        return fn(sample, tools)
    except Exception as exc:  # noqa: BLE001 - reported in the result, and logged with its traceback
        log.exception("metric failed")
        return not_computed(f"the metric failed: {type(exc).__name__}: {exc}", judged_by)


def compute_metrics(sample: EvalSample, *, embedder=None, judge=None,
                    names: Iterable[str] | None = None) -> dict[str, MetricResult]:
    """Every metric (or those in ``names``) on ``sample``. With a judge, a metric's judged value fills its
    key and its judge-free value goes under ``"<name>:judge-free"``."""
    chosen = available_metrics() if names is None else [get_metric(n).name for n in names]
    tools = Tools(embedder=embedder, judge=judge)
    out: dict[str, MetricResult] = {}
    for name in chosen:
        metric = get_metric(name)
        free = _run(metric.judge_free, sample, tools, "judge-free")
        judged = _run(metric.judged, sample, tools, judge.name) if judge is not None and metric.judged else None
        if judged is None:
            out[name] = free
        else:
            out[name] = judged
            out[f"{name}:judge-free"] = free
    return out
