"""Semantic similarity of the answer and the reference answer: embedding cosine, clipped at 0."""

from __future__ import annotations

from knowledge.evaluation.metrics.base import Metric, MetricResult, Tools, not_computed, scored
from knowledge.evaluation.metrics.registry import register_metric
from knowledge.evaluation.sample import EvalSample
from knowledge.textmatch import strip_citations


def semantic_similarity(sample: EvalSample, tools: Tools) -> MetricResult:
    if not sample.reference:
        return not_computed("the question has no reference answer")
    if not sample.answer:
        return not_computed("there is no answer")
    if tools.embedder is None:
        return not_computed("needs an embedder")
    return scored(tools.similarity(strip_citations(sample.answer), sample.reference))


register_metric(Metric("semantic_similarity", semantic_similarity, description="embedding cosine with the reference"))
