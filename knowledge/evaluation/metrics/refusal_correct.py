"""Refusal correctness in strict mode: refusing is right exactly when nothing relevant was retrieved.

Nothing relevant: no context at all, or gold sources given and none of them in the top k. The value is 1
when the answer refused exactly when it should have, 0 otherwise; None outside strict mode (a grounded
answer is then allowed to fall back on the model's own knowledge)."""

from __future__ import annotations

from knowledge.evaluation.metrics.base import Metric, MetricResult, Tools, not_computed, scored
from knowledge.evaluation.metrics.hit_at_k import first_gold_rank
from knowledge.evaluation.metrics.registry import register_metric
from knowledge.evaluation.sample import EvalSample
from knowledge.textmatch import is_refusal


def nothing_relevant(sample: EvalSample) -> bool:
    if not sample.contexts:
        return True
    return bool(sample.gold_sources) and first_gold_rank(sample) is None


def refusal_correct(sample: EvalSample, tools: Tools) -> MetricResult:
    if not sample.strict:
        return not_computed("only measured in strict mode")
    if sample.answer is None:
        return not_computed("there is no answer")
    refused, should = is_refusal(sample.answer), nothing_relevant(sample)
    return scored(1.0 if refused == should else 0.0, refused=refused, should_refuse=should)


register_metric(Metric("refusal_correct", refusal_correct,
                       description="strict mode: refused exactly when nothing relevant was found"))
