"""Answer correctness (Ragas): agreement of the answer with the reference answer.

Judged (Ragas): statements of the answer and of the reference; TP = answer statements the reference
supports, FP = answer statements it does not, FN = reference statements the answer does not support;
factual F = TP / (TP + (FP + FN) / 2), blended 0.75 F + 0.25 semantic similarity (Ragas' default
weights) when an embedder is given, F alone otherwise.
Judge-free: lexical = (token F1 + ROUGE-L) / 2, standing in for the factual F-score, blended with the same
0.75 / 0.25 weights with semantic similarity when an embedder is given, lexical alone otherwise.
"""

from __future__ import annotations

from knowledge.evaluation.metrics.base import JUDGE_FREE, Metric, MetricResult, Tools, not_computed, scored
from knowledge.evaluation.metrics.common import judged_fraction, judged_statements
from knowledge.evaluation.metrics.registry import register_metric
from knowledge.evaluation.sample import EvalSample
from knowledge.textmatch import rouge_l, strip_citations, token_f1

FACTUAL_WEIGHT = 0.75   # Ragas answer_correctness default weights [0.75, 0.25]
SEMANTIC_WEIGHT = 0.25


def _precheck(sample: EvalSample, judged_by: str) -> MetricResult | None:
    if not sample.reference:
        return not_computed("the question has no reference answer", judged_by)
    if not sample.answer or not sample.answer.strip():
        return not_computed("there is no answer", judged_by)
    return None


def _blend(factual: float, sample: EvalSample, tools: Tools) -> tuple[float, dict]:
    if tools.embedder is None:
        return factual, {"weights": {"factual": 1.0}}
    semantic = tools.similarity(strip_citations(sample.answer), sample.reference)
    return (FACTUAL_WEIGHT * factual + SEMANTIC_WEIGHT * semantic,
            {"semantic": round(semantic, 4), "weights": {"factual": FACTUAL_WEIGHT, "semantic": SEMANTIC_WEIGHT}})


def answer_correctness(sample: EvalSample, tools: Tools) -> MetricResult:
    early = _precheck(sample, JUDGE_FREE)
    if early:
        return early
    answer = strip_citations(sample.answer)
    f1, rl = token_f1(answer, sample.reference), rouge_l(answer, sample.reference)
    value, detail = _blend((f1 + rl) / 2, sample, tools)
    return scored(value, token_f1=round(f1, 4), rouge_l=round(rl, 4), **detail)


def factual_f(tp: int, fp: int, fn: int) -> float:
    return tp / (tp + 0.5 * (fp + fn)) if tp + fp + fn else 0.0


def answer_correctness_judged(sample: EvalSample, tools: Tools) -> MetricResult:
    name = tools.judge.name
    early = _precheck(sample, name)
    if early:
        return early
    answer_statements, how_a = judged_statements(sample, tools, strip_citations(sample.answer))
    reference_statements, how_r = judged_statements(sample, tools, sample.reference)
    tp, readable_a, rows_a = judged_fraction(answer_statements, sample.reference, sample, tools)
    covered, readable_r, rows_r = judged_fraction(reference_statements, sample.answer, sample, tools)
    if readable_a == 0 or readable_r == 0:
        return not_computed("the judge's verdicts could not be read as yes or no", name,
                            answer_statements=rows_a, reference_statements=rows_r)
    fp, fn = readable_a - tp, readable_r - covered
    value, detail = _blend(factual_f(tp, fp, fn), sample, tools)
    return scored(value, name, tp=tp, fp=fp, fn=fn, answer_statements=rows_a, reference_statements=rows_r,
                  statements_from={"answer": how_a, "reference": how_r}, **detail)


register_metric(Metric("answer_correctness", answer_correctness, answer_correctness_judged,
                       "agreement of the answer with the reference (Ragas)"))
