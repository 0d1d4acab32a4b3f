"""MRR: 1/rank of the first top-k context from a gold source, 0 when none is; None without gold sources.
Averaged over questions by the runner, this is the mean reciprocal rank."""

from __future__ import annotations

from knowledge.evaluation.metrics.base import Metric, MetricResult, Tools, not_computed, scored
from knowledge.evaluation.metrics.hit_at_k import first_gold_rank
from knowledge.evaluation.metrics.registry import register_metric
from knowledge.evaluation.sample import EvalSample


def reciprocal_rank(sample: EvalSample, tools: Tools) -> MetricResult:
    if not sample.gold_sources:
        return not_computed("the question names no gold source")
    rank = first_gold_rank(sample)
    return scored(1.0 / rank if rank else 0.0, rank=rank, k=sample.k)


register_metric(Metric("mrr", reciprocal_rank, description="1/rank of the first gold context"))
