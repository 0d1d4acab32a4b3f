"""Refusal: 1 when the answer declines (the documents do not cover it, I don't know), else 0."""

from __future__ import annotations

from knowledge.evaluation.metrics.base import Metric, MetricResult, Tools, not_computed, scored
from knowledge.evaluation.metrics.registry import register_metric
from knowledge.evaluation.sample import EvalSample
from knowledge.textmatch import is_refusal


def refusal(sample: EvalSample, tools: Tools) -> MetricResult:
    if sample.answer is None:
        return not_computed("there is no answer")
    return scored(1.0 if is_refusal(sample.answer) else 0.0)


register_metric(Metric("refusal", refusal, description="the answer declines to answer"))
