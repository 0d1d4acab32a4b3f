"""How far can a judge be trusted? Its verdicts on a small hand-labelled set, as accuracy and Cohen's kappa.

``resources/eval/judge_check.jsonl`` holds 40 context / statement pairs written for this check (half
English, half Chinese, half of them supported), each labelled by hand. The judge is asked the same
faithfulness verdict prompt the metrics use. Kappa corrects the accuracy for chance: a judge that says
"yes" to everything gets 50% here but κ = 0. An unreadable reply counts as a third answer, which never
agrees with a label. The judge-free sentence-support check is measured on the same set for comparison.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine.paths import resources_dir
from knowledge.errors import KnowledgeError
from knowledge.evaluation.judge import Judge, verdict
from knowledge.evaluation.sample import RetrievedContext
from knowledge.support import sentence_support

# Landis & Koch: 0.61-0.80 is "substantial" agreement, the usual bar for letting an annotator's labels
# stand in for a person's; 20 items is the least on which a kappa of that size is not mostly noise.
TRUST_KAPPA = 0.6
TRUST_MIN_ITEMS = 20
NEAR_CHANCE_KAPPA = 0.2   # below "fair" agreement (Landis & Koch)


@dataclass(frozen=True)
class JudgeAgreement:
    n: int
    accuracy: float
    kappa: float
    trustworthy: bool
    message: str


@dataclass(frozen=True)
class CheckItem:
    id: str
    lang: str
    context: str
    statement: str
    supported: bool


def load_items(limit: int | None = None) -> list[CheckItem]:
    """The labelled items, English and Chinese interleaved (so a ``limit`` keeps both languages)."""
    path = resources_dir() / "eval" / "judge_check.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise KnowledgeError(f"The judge check set {path} is missing ({exc}); reinstall Inglenook.") from exc
    rows = [json.loads(line) for line in lines if line.strip()]
    items = [CheckItem(r["id"], r["lang"], r["context"], r["statement"], r["label"] == "supported") for r in rows]
    by_lang = [[i for i in items if i.lang == lang] for lang in ("en", "zh")]
    mixed = [i for pair in zip(*by_lang, strict=False) for i in pair]
    mixed += [i for group in by_lang for i in group[len(mixed) // 2:]]
    return mixed[:limit] if limit is not None else mixed


def cohen_kappa(labels: Sequence[bool], predictions: Sequence[bool | None]) -> float:
    """Cohen's kappa of two raters; a None prediction is a category of its own (it agrees with nothing)."""
    n = len(labels)
    if n == 0:
        return 0.0
    observed = sum(p is not None and p == label for label, p in zip(labels, predictions, strict=True)) / n
    label_counts, prediction_counts = Counter(labels), Counter(predictions)
    expected = sum(label_counts[c] * prediction_counts[c] for c in (True, False)) / (n * n)
    return 0.0 if expected >= 1 else (observed - expected) / (1 - expected)


def agreement(labels: Sequence[bool], predictions: Sequence[bool | None], who: str) -> JudgeAgreement:
    n = len(labels)
    accuracy = sum(p == label for label, p in zip(labels, predictions, strict=True)) / n if n else 0.0
    kappa = cohen_kappa(labels, predictions)
    trustworthy = kappa >= TRUST_KAPPA and n >= TRUST_MIN_ITEMS
    figures = f"κ={kappa:.2f}, accuracy {accuracy:.0%} on {n} hand-labelled items"
    near = f"accuracy {accuracy:.0%} on {n} items"
    if trustworthy:
        message = f"{who} agrees with hand labels ({figures}): its scores can be shown."
    elif n < TRUST_MIN_ITEMS:
        message = f"{who} was checked on only {n} items ({figures}): too few to trust; its scores are not shown as facts."
    elif kappa < NEAR_CHANCE_KAPPA:
        message = (f"{who}: agreement with hand labels is κ={kappa:.2f}, near chance ({near}): "
                   "its scores are not shown as facts.")
    else:
        message = (f"{who}: agreement with hand labels is κ={kappa:.2f} ({near}), below the "
                   f"{TRUST_KAPPA} needed: its scores are not shown as facts.")
    return JudgeAgreement(n, round(accuracy, 4), round(kappa, 4), trustworthy, message)


def _check(predict: Callable[[CheckItem], bool | None], who: str, limit: int | None) -> JudgeAgreement:
    items = load_items(limit)
    return agreement([i.supported for i in items], [predict(i) for i in items], who)


def check_judge(judge: Judge, *, limit: int | None = None) -> JudgeAgreement:
    """The judge's agreement with the hand labels on the faithfulness verdict prompt."""
    name = judge.name.removeprefix("llm:")
    return _check(lambda item: verdict(judge, item.context, item.statement, item.lang)[0], f"The judge {name}", limit)


def check_judge_free(*, embedder=None, limit: int | None = None) -> JudgeAgreement:
    """The same check for the judge-free sentence support (``support.sentence_support``)."""
    def predict(item: CheckItem) -> bool | None:
        rows = sentence_support(item.statement, [RetrievedContext(1, "check", item.context)], embedder=embedder)
        return all(r.supported for r in rows) if rows else None
    who = "Judge-free sentence support" + (" (with embeddings)" if embedder is not None else "")
    return _check(predict, who, limit)
