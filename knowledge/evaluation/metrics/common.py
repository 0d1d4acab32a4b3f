"""Pieces shared by several metrics: statements of an answer or a reference, and judged fractions.

Not a metric (it registers nothing); the metric modules import it.
"""

from __future__ import annotations

from knowledge.evaluation.judge import ask, parse_statements, prompt, statements_budget, verdict
from knowledge.evaluation.metrics.base import MetricResult, Tools, not_computed, scored
from knowledge.evaluation.sample import EvalSample, RetrievedContext
from knowledge.textmatch import is_claim, split_sentences, strip_citations


def claim_sentences(text: str) -> list[str]:
    """The sentences of ``text`` that claim something, without their citation marks."""
    return [strip_citations(s.text) for s in split_sentences(text or "") if is_claim(s.text)]


def top_contexts(sample: EvalSample) -> tuple[RetrievedContext, ...]:
    return sample.contexts[: sample.k]


def joined_contexts(contexts) -> str:
    return "\n\n".join(c.text.strip() for c in contexts)


def judged_statements(sample: EvalSample, tools: Tools, text: str) -> tuple[list[str], str]:
    """Ragas' first step: the judge breaks ``text`` into standalone statements. When its list is
    unreadable or off-topic (common for small models), the text's claim sentences are the statements
    instead, and the second value says so."""
    def make() -> tuple[list[str], str]:
        raw = ask(tools.judge, prompt("statements", sample.lang, question=sample.question, answer=text),
                  statements_budget(text))
        statements = parse_statements(raw, text)
        if statements:
            return statements, "judge"
        return claim_sentences(text), "sentences (the judge's statement list was unreadable)"
    return tools.memo(("statements", text), make)


def judged_fraction(statements: list[str], context: str, sample: EvalSample,
                    tools: Tools) -> tuple[int, int, list[dict]]:
    """Verdicts of the judge on each statement against ``context``: (supported, readable, per statement)."""
    rows, supported, readable = [], 0, 0
    for statement in statements:
        ok, raw = tools.memo(("verdict", context, statement),
                             lambda s=statement: verdict(tools.judge, context, s, sample.lang))
        rows.append({"statement": statement, "verdict": ok, **({"raw": raw[:80]} if ok is None else {})})
        if ok is not None:
            readable += 1
            supported += int(ok)
    return supported, readable, rows


def fraction_result(supported: int, readable: int, rows: list[dict], judged_by: str, **detail) -> MetricResult:
    """supported / readable verdicts, or None when the judge's verdicts could not be read at all."""
    unreadable = len(rows) - readable
    if readable == 0:
        return not_computed("the judge's verdicts could not be read as yes or no", judged_by,
                            statements=rows, unreadable=unreadable, **detail)
    return scored(supported / readable, judged_by, statements=rows, unreadable=unreadable, **detail)
