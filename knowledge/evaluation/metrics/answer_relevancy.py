"""Answer relevancy (Ragas): does the answer address the question that was asked?

Judged: the judge writes N questions the answer would answer; the score is their mean cosine similarity
to the real question (embedder). Judge-free: the cosine similarity of the question and the answer.
A refusal or noncommittal answer scores 0 in both (Ragas' noncommittal rule; detected by
``textmatch.is_refusal``). Similarities are clipped at 0. Both need an embedder.
"""

from __future__ import annotations

from knowledge.evaluation.judge import QUESTIONS_TOKENS, ask, parse_questions, prompt
from knowledge.evaluation.metrics.base import JUDGE_FREE, Metric, MetricResult, Tools, not_computed, scored
from knowledge.evaluation.metrics.registry import register_metric
from knowledge.evaluation.sample import EvalSample
from knowledge.textmatch import is_refusal, strip_citations

GENERATED_QUESTIONS = 3  # Ragas' default strictness


def _precheck(sample: EvalSample, tools: Tools, judged_by: str) -> MetricResult | None:
    if not sample.answer or not sample.answer.strip():
        return not_computed("there is no answer", judged_by)
    if is_refusal(sample.answer):
        return scored(0.0, judged_by, noncommittal=True)
    if tools.embedder is None:
        return not_computed("needs an embedder", judged_by)
    return None


def answer_relevancy(sample: EvalSample, tools: Tools) -> MetricResult:
    early = _precheck(sample, tools, JUDGE_FREE)
    if early:
        return early
    return scored(tools.similarity(sample.question, strip_citations(sample.answer)), noncommittal=False)


def answer_relevancy_judged(sample: EvalSample, tools: Tools) -> MetricResult:
    name = tools.judge.name
    early = _precheck(sample, tools, name)
    if early:
        return early
    raw = ask(tools.judge, prompt("questions", sample.lang, n=str(GENERATED_QUESTIONS),
                                  answer=strip_citations(sample.answer)), QUESTIONS_TOKENS)
    questions = (parse_questions(raw) or [])[:GENERATED_QUESTIONS]
    if not questions:
        return not_computed("the judge's questions could not be read", name, raw=raw[:200])
    similarities = [tools.similarity(sample.question, q) for q in questions]
    return scored(sum(similarities) / len(similarities), name, noncommittal=False,
                  questions=[{"question": q, "similarity": round(s, 4)} for q, s in zip(questions, similarities,
                                                                                            strict=True)])


register_metric(Metric("answer_relevancy", answer_relevancy, answer_relevancy_judged,
                       "does the answer address the question (Ragas)"))
