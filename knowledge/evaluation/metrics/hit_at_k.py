"""hit@k: 1 when a gold source is among the top k retrieved contexts, else 0; None without gold sources."""

from __future__ import annotations

from knowledge.evaluation.metrics.base import Metric, MetricResult, Tools, not_computed, scored
from knowledge.evaluation.metrics.registry import register_metric
from knowledge.evaluation.sample import EvalSample, matches_any_gold


def first_gold_rank(sample: EvalSample) -> int | None:
    """1-based rank of the first of the top k contexts that comes from a gold source."""
    for rank, context in enumerate(sample.contexts[: sample.k], 1):
        if matches_any_gold(context, sample.gold_sources):
            return rank
    return None


def hit_at_k(sample: EvalSample, tools: Tools) -> MetricResult:
    if not sample.gold_sources:
        return not_computed("the question names no gold source")
    rank = first_gold_rank(sample)
    return scored(1.0 if rank is not None else 0.0, rank=rank, k=sample.k)


register_metric(Metric("hit@k", hit_at_k, description="a gold source is among the top k contexts"))
