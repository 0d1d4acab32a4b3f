"""The evaluation metrics: a family of modules, one per metric, each registering itself with the registry.

``compute_metrics(sample, embedder=..., judge=...)`` runs them all (or the ``names`` asked for) on one
``EvalSample``. A metric has a judge-free variant and may have an LLM-judged one; with a judge the judged
value fills the metric's key and the judge-free value is kept under ``"<name>:judge-free"``, so a weak
judge never hides the measure that needs no model. Every value is in [0, 1] or None with a reason.
"""

from knowledge.evaluation.metrics.base import SUMMARY_KEYS, Metric, MetricError, MetricResult, Tools
from knowledge.evaluation.metrics.registry import (
    available_metrics,
    compute_metrics,
    get_metric,
    register_metric,
)

__all__ = ["SUMMARY_KEYS", "Metric", "MetricError", "MetricResult", "Tools", "available_metrics",
           "compute_metrics", "get_metric", "register_metric"]
