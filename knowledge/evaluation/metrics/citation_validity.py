"""Citation validity: of all the [n] citations in the answer, the share that point at an existing context
whose text supports the sentence the citation ends (``support`` threshold). Sentences without a citation
do not count; an answer with no citation at all gets None."""

from __future__ import annotations

from knowledge.evaluation.metrics.base import Metric, MetricResult, Tools, not_computed, scored
from knowledge.evaluation.metrics.registry import register_metric
from knowledge.evaluation.sample import EvalSample
from knowledge.support import ContextIndex
from knowledge.textmatch import parse_citations, split_sentences, strip_citations


def citation_validity(sample: EvalSample, tools: Tools) -> MetricResult:
    if not sample.answer:
        return not_computed("there is no answer")
    index = ContextIndex(sample.contexts, tools.embedder)
    rows = []
    for sentence in split_sentences(sample.answer):
        claim = strip_citations(sentence.text)
        for n in parse_citations(sentence.text):
            exists = n in index.numbers
            score = index.best(claim, only=[n]).score if exists else 0.0
            rows.append({"n": n, "sentence": sentence.text, "exists": exists, "score": round(score, 3),
                         "valid": exists and score >= index.threshold})
    if not rows:
        return not_computed("the answer cites no source")
    return scored(sum(r["valid"] for r in rows) / len(rows), citations=rows)


register_metric(Metric("citation_validity", citation_validity,
                       description="share of [n] citations that point at a source supporting the sentence"))
