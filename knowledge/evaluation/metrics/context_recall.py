"""Context recall (Ragas): the reference answer split into statements (its sentences); the share of them
attributable to the retrieved top-k contexts. Judge-free, a statement is attributable when its best
context window passes the ``support`` threshold; judged, the judge says yes/no per statement against the
contexts. Without a reference but with gold sources: the share of gold sources found in the top k
(Ragas' ID-based context recall)."""

from __future__ import annotations

from knowledge.evaluation.metrics.base import Metric, MetricResult, Tools, not_computed, scored
from knowledge.evaluation.metrics.common import (
    claim_sentences,
    fraction_result,
    joined_contexts,
    judged_fraction,
    top_contexts,
)
from knowledge.evaluation.metrics.registry import register_metric
from knowledge.evaluation.sample import EvalSample, matches_gold
from knowledge.support import ContextIndex


def _gold_recall(sample: EvalSample) -> MetricResult:
    found = [any(matches_gold(c, g) for c in top_contexts(sample)) for g in sample.gold_sources]
    return scored(sum(found) / len(found), found=found, recall_of="gold sources")


def context_recall(sample: EvalSample, tools: Tools) -> MetricResult:
    statements = claim_sentences(sample.reference or "")
    if not statements:
        if sample.gold_sources:
            return _gold_recall(sample)
        return not_computed("needs a reference answer or gold sources")
    index = ContextIndex(top_contexts(sample), tools.embedder)
    rows = []
    for statement in statements:
        match = index.best(statement)
        rows.append({"statement": statement, "attributed": match.score >= index.threshold,
                     "score": round(match.score, 3), "source_n": match.n})
    return scored(sum(r["attributed"] for r in rows) / len(rows), statements=rows, recall_of="reference sentences")


def context_recall_judged(sample: EvalSample, tools: Tools) -> MetricResult | None:
    statements = claim_sentences(sample.reference or "")
    if not statements or not top_contexts(sample):
        return None  # gold-source recall and "nothing retrieved" need no judge
    supported, readable, rows = judged_fraction(statements, joined_contexts(top_contexts(sample)), sample, tools)
    return fraction_result(supported, readable, rows, tools.judge.name, recall_of="reference sentences")


register_metric(Metric("context_recall", context_recall, context_recall_judged,
                       "share of the reference that the retrieved contexts contain (Ragas)"))
