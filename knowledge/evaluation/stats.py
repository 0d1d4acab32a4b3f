"""Confidence intervals and paired comparisons for per-question metric values (percentile bootstrap).

A question whose value is None (the metric could not be computed there) is left out and not counted;
``n`` says how many questions an interval rests on. Everything is deterministic for a given seed, so a
report computed twice from the same records shows the same intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

VERDICTS = ("a better", "b better", "no clear difference")


@dataclass(frozen=True)
class Interval:
    mean: float | None
    low: float | None
    high: float | None
    n: int


@dataclass(frozen=True)
class PairedComparison:
    a: str
    b: str
    metric: str
    mean_diff: float | None      # mean of (a - b) over the questions both have a value for
    low: float | None
    high: float | None
    n: int
    verdict: str                 # "a better" | "b better" | "no clear difference"


def _present(values: Sequence[float | None]) -> np.ndarray:
    return np.array([float(v) for v in values if v is not None], dtype=float)


def _bootstrap_means(values: np.ndarray, rounds: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(values), size=(rounds, len(values)))
    return values[picks].mean(axis=1)


def bootstrap_interval(values: Sequence[float | None], *, rounds: int = 2000, level: float = 0.95,
                       seed: int = 0) -> Interval:
    """The mean of the present values and its percentile-bootstrap interval. With fewer than two values
    there is no spread to resample: the interval is None (the mean of one value is still given)."""
    data = _present(values)
    if len(data) == 0:
        return Interval(None, None, None, 0)
    mean = float(data.mean())
    if len(data) < 2:
        return Interval(mean, None, None, 1)
    means = _bootstrap_means(data, rounds, seed)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Interval(mean, float(min(low, mean)), float(max(high, mean)), len(data))


def compare_paired(a_name: str, a: Sequence[float | None], b_name: str, b: Sequence[float | None],
                   metric: str, *, rounds: int = 2000, level: float = 0.95, seed: int = 0) -> PairedComparison:
    """Is configuration a better than b on ``metric``? ``a`` and ``b`` are aligned per question; only the
    questions where both have a value count. The verdict names a winner only when the bootstrap interval
    of the mean difference excludes 0, i.e. the difference is larger than question-to-question noise."""
    if len(a) != len(b):
        raise ValueError(f"compare_paired needs one value per question for both ({len(a)} vs {len(b)}).")
    diffs = [x - y for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    interval = bootstrap_interval(diffs, rounds=rounds, level=level, seed=seed)
    verdict = "no clear difference"
    if interval.low is not None and interval.low > 0:
        verdict = "a better"
    elif interval.high is not None and interval.high < 0:
        verdict = "b better"
    return PairedComparison(a_name, b_name, metric, interval.mean, interval.low, interval.high, interval.n, verdict)
