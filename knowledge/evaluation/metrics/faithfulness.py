"""Faithfulness (Ragas): the answer split into statements; the share of them the retrieved contexts support.

Judge-free: the statements are the answer's claim sentences, supported per ``support.sentence_support``.
Judged: the judge lists the statements, then says yes/no for each against the contexts.
A refusal claims nothing, so its faithfulness is None (not 1): it is measured by ``refusal`` instead.
"""

from __future__ import annotations

from knowledge.evaluation.metrics.base import Metric, MetricResult, Tools, not_computed, scored
from knowledge.evaluation.metrics.common import (
    fraction_result,
    joined_contexts,
    judged_fraction,
    judged_statements,
)
from knowledge.evaluation.metrics.registry import register_metric
from knowledge.evaluation.sample import EvalSample
from knowledge.support import sentence_support
from knowledge.textmatch import is_refusal


def _why_not(sample: EvalSample) -> str | None:
    if not sample.answer:
        return "there is no answer"
    if not sample.contexts:
        return "nothing was retrieved, so there is nothing to be faithful to"
    if is_refusal(sample.answer):
        return "the answer is a refusal: it claims nothing"
    return None


def faithfulness(sample: EvalSample, tools: Tools) -> MetricResult:
    reason = _why_not(sample)
    if reason:
        return not_computed(reason)
    support = sentence_support(sample.answer, sample.contexts, embedder=tools.embedder)
    if not support:
        return not_computed("the answer makes no checkable statement")
    rows = [{"statement": s.sentence, "supported": s.supported, "score": s.score, "source_n": s.source_n}
            for s in support]
    return scored(sum(s.supported for s in support) / len(support), statements=rows)


def faithfulness_judged(sample: EvalSample, tools: Tools) -> MetricResult:
    name = tools.judge.name
    reason = _why_not(sample)
    if reason:
        return not_computed(reason, name)
    statements, how = judged_statements(sample, tools, sample.answer)
    if not statements:
        return not_computed("the answer makes no checkable statement", name, statements_from=how)
    supported, readable, rows = judged_fraction(statements, joined_contexts(sample.contexts), sample, tools)
    return fraction_result(supported, readable, rows, name, statements_from=how)


register_metric(Metric("faithfulness", faithfulness, faithfulness_judged,
                       "share of the answer's statements that the retrieved contexts support"))
