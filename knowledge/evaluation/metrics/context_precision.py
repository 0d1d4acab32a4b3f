"""Context precision (Ragas): are the relevant contexts ranked high? Over the top K contexts,

    CP@K = sum_k (precision@k * v_k) / (number of relevant contexts in the top K)

where v_k is 1 when the context at rank k is relevant and precision@k is the share of relevant contexts
among the first k (0 when none is relevant). Relevance, judge-free: the context comes from a gold source;
without gold sources, it supports at least one sentence of the reference (``support`` threshold).
Judged (only without gold sources, which are ground truth): the judge says whether the context was
useful in arriving at the reference (or at the answer, when there is no reference).
"""

from __future__ import annotations

from knowledge.evaluation.judge import VERDICT_TOKENS, ask, clip_context, parse_verdict, prompt
from knowledge.evaluation.metrics.base import Metric, MetricResult, Tools, not_computed, scored
from knowledge.evaluation.metrics.common import claim_sentences, top_contexts
from knowledge.evaluation.metrics.registry import register_metric
from knowledge.evaluation.sample import EvalSample, matches_any_gold
from knowledge.support import ContextIndex


def precision_at_relevant(relevances: list[bool]) -> float:
    """Ragas' CP@K for relevance flags in rank order."""
    hits, total = 0, 0.0
    for k, relevant in enumerate(relevances, 1):
        if relevant:
            hits += 1
            total += hits / k
    return total / hits if hits else 0.0


def _supports_reference(context, statements: list[str], tools: Tools) -> bool:
    index = ContextIndex([context], tools.embedder)
    return any(index.best(s).score >= index.threshold for s in statements)


def context_precision(sample: EvalSample, tools: Tools) -> MetricResult:
    contexts = top_contexts(sample)
    if not contexts:
        return not_computed("nothing was retrieved")
    if sample.gold_sources:
        flags = [matches_any_gold(c, sample.gold_sources) for c in contexts]
        return scored(precision_at_relevant(flags), relevant=flags, relevance="gold sources")
    statements = claim_sentences(sample.reference or "")
    if not statements:
        return not_computed("needs gold sources or a reference answer (or a judge)")
    flags = [_supports_reference(c, statements, tools) for c in contexts]
    return scored(precision_at_relevant(flags), relevant=flags, relevance="supports a reference sentence")


def context_precision_judged(sample: EvalSample, tools: Tools) -> MetricResult | None:
    if sample.gold_sources or not top_contexts(sample):
        return None  # gold sources are ground truth; nothing retrieved is not a judge's business
    name = tools.judge.name
    target = sample.reference or sample.answer
    if not target:
        return not_computed("needs a reference answer or an answer to judge usefulness against", name)
    flags, raws = [], []
    for context in top_contexts(sample):
        raw = ask(tools.judge, prompt("context_useful", sample.lang, question=sample.question, reference=target,
                                      context=clip_context(context.text)), VERDICT_TOKENS)
        flags.append(parse_verdict(raw))
        raws.append(raw[:80])
    if all(f is None for f in flags):
        return not_computed("the judge's verdicts could not be read as yes or no", name, raw=raws)
    # an unreadable verdict counts as "not useful": the ranks of the others must stay where they are
    return scored(precision_at_relevant([bool(f) for f in flags]), name, relevant=flags,
                  unreadable=sum(f is None for f in flags),
                  relevance="judge: useful for the " + ("reference" if sample.reference else "answer"))


register_metric(Metric("context_precision", context_precision, context_precision_judged,
                       "are the relevant contexts ranked first (Ragas)"))
