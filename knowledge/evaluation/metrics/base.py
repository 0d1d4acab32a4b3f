"""What a metric is and what it gets: the sample, an embedder and a judge (``Tools``), and its result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from knowledge.errors import KnowledgeError
from knowledge.evaluation.sample import EvalSample

SUMMARY_KEYS = ("hit@k", "mrr", "context_precision", "context_recall",
                "faithfulness", "answer_relevancy", "answer_correctness")
JUDGE_FREE = "judge-free"


class MetricError(KnowledgeError):
    """A metric name that is unknown or registered twice."""


@dataclass(frozen=True)
class MetricResult:
    value: float | None      # in [0, 1]; None when it cannot be computed (e.g. no reference, no answer)
    judged_by: str           # "judge-free" or "llm:<model name>"
    detail: dict             # small JSON-able explanation (statements and verdicts, matched sources...)

    def as_dict(self) -> dict:
        return {"value": self.value, "judged_by": self.judged_by, "detail": self.detail}


def not_computed(reason: str, judged_by: str = JUDGE_FREE, **detail) -> MetricResult:
    """A None value that says why, never a made-up number."""
    return MetricResult(None, judged_by, {"reason": reason, **detail})


def scored(value: float, judged_by: str = JUDGE_FREE, **detail) -> MetricResult:
    return MetricResult(round(min(1.0, max(0.0, float(value))), 4), judged_by, detail)


@dataclass
class Tools:
    """What metrics may use besides the sample, shared by all metrics of one sample (with a cache, so two
    metrics needing the answer's statements or an embedding ask the judge or the embedder once)."""

    embedder: Any = None
    judge: Any = None
    cache: dict = field(default_factory=dict)

    def memo(self, key: tuple, make: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]

    def vectors(self, texts: list[str]) -> np.ndarray:
        """Unit vectors of ``texts`` from the embedder (each text embedded once per sample)."""
        missing = [t for t in dict.fromkeys(texts) if ("vec", t) not in self.cache]
        if missing:
            for text, vector in zip(missing, self.embedder.embed_passages(missing), strict=True):
                norm = float(np.linalg.norm(vector)) or 1.0
                self.cache[("vec", text)] = np.asarray(vector, dtype=np.float32) / norm
        return np.stack([self.cache[("vec", t)] for t in texts])

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two texts, clipped at 0 (an unrelated pair is 0, not negative)."""
        va, vb = self.vectors([a, b])
        return max(0.0, float(va @ vb))


MetricFn = Callable[[EvalSample, Tools], MetricResult]
JudgedFn = Callable[[EvalSample, Tools], "MetricResult | None"]


@dataclass(frozen=True)
class Metric:
    """One metric. ``judged`` (optional) may return None to say the judge-free value is authoritative for
    this sample (e.g. context precision when gold sources are given): then no judge is asked."""

    name: str
    judge_free: MetricFn
    judged: JudgedFn | None = None
    description: str = ""
