"""token f1 of the answer against the reference answer (citation marks removed); see ``textmatch``."""

from __future__ import annotations

from knowledge.evaluation.metrics.base import Metric, MetricResult, Tools, not_computed, scored
from knowledge.evaluation.metrics.registry import register_metric
from knowledge.evaluation.sample import EvalSample
from knowledge.textmatch import strip_citations
from knowledge.textmatch import token_f1 as _measure


def token_f1(sample: EvalSample, tools: Tools) -> MetricResult:
    if not sample.reference:
        return not_computed("the question has no reference answer")
    if not sample.answer:
        return not_computed("there is no answer")
    return scored(_measure(strip_citations(sample.answer), sample.reference))


register_metric(Metric("token_f1", token_f1, description="token f1 against the reference"))
