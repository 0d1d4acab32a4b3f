"""rouge l of the answer against the reference answer (citation marks removed); see ``textmatch``."""

from __future__ import annotations

from knowledge.evaluation.metrics.base import Metric, MetricResult, Tools, not_computed, scored
from knowledge.evaluation.metrics.registry import register_metric
from knowledge.evaluation.sample import EvalSample
from knowledge.textmatch import rouge_l as _measure
from knowledge.textmatch import strip_citations


def rouge_l(sample: EvalSample, tools: Tools) -> MetricResult:
    if not sample.reference:
        return not_computed("the question has no reference answer")
    if not sample.answer:
        return not_computed("there is no answer")
    return scored(_measure(strip_citations(sample.answer), sample.reference))


register_metric(Metric("rouge_l", rouge_l, description="rouge l against the reference"))
