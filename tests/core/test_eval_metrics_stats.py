"""Bootstrap intervals and paired comparisons on cases whose outcome is known."""

from __future__ import annotations

import pytest

from knowledge.evaluation.stats import bootstrap_interval, compare_paired


def test_constant_values_give_a_zero_width_interval():
    got = bootstrap_interval([0.5, 0.5, None, 0.5, 0.5])
    assert (got.mean, got.low, got.high, got.n) == (0.5, 0.5, 0.5, 4)  # the None is skipped, not counted


def test_interval_holds_the_mean_and_is_deterministic():
    values = [0.13, 0.57, 0.91, 0.22, 0.68, 0.35, 0.79, 0.04, 0.46, 0.88]
    first = bootstrap_interval(values, seed=3)
    assert first == bootstrap_interval(values, seed=3)
    assert first.mean == pytest.approx(0.503)
    assert 0.04 < first.low < 0.503 < first.high < 0.91
    assert bootstrap_interval(values, seed=4) != first  # the seed is what makes it repeatable
    wider = bootstrap_interval(values, level=0.99, seed=3)
    assert wider.low <= first.low and wider.high >= first.high


def test_empty_and_single_values():
    assert bootstrap_interval([None, None]) == bootstrap_interval([]) == bootstrap_interval([None])
    assert bootstrap_interval([]).n == 0 and bootstrap_interval([]).mean is None
    one = bootstrap_interval([0.25, None])
    assert (one.mean, one.low, one.high, one.n) == (0.25, None, None, 1)


def test_clearly_separated_samples_get_a_verdict_both_ways():
    good = [0.9, 0.8, 1.0, 0.85, 0.95, 0.9, 0.8, 1.0]
    bad = [0.1, 0.2, 0.0, 0.15, 0.05, 0.1, 0.2, 0.0]
    a_wins = compare_paired("hybrid", good, "off", bad, "faithfulness")
    assert a_wins.verdict == "a better" and a_wins.low > 0 and a_wins.n == 8
    assert a_wins.mean_diff == pytest.approx(0.8)  # (.8+.6+1+.7+.9+.8+.6+1)/8
    b_wins = compare_paired("off", bad, "hybrid", good, "faithfulness")
    assert b_wins.verdict == "b better" and b_wins.high < 0
    assert (b_wins.a, b_wins.b, b_wins.metric) == ("off", "hybrid", "faithfulness")


def test_identical_and_noisy_samples_are_no_clear_difference():
    same = [0.2, 0.9, 0.4, None, 0.7]
    got = compare_paired("a", same, "b", same, "mrr")
    assert got.verdict == "no clear difference" and got.mean_diff == 0.0 and got.n == 4
    noisy = compare_paired("a", [1, 0, 1, 0, 1, 0], "b", [0, 1, 0, 1, 0, 1], "hit@k")
    assert noisy.verdict == "no clear difference" and noisy.low < 0 < noisy.high


def test_pairs_only_count_where_both_have_a_value():
    got = compare_paired("a", [1.0, None, 0.5, 0.4], "b", [0.0, 0.3, None, 0.2], "m")
    assert got.n == 2 and got.mean_diff == pytest.approx(0.6)
    with pytest.raises(ValueError, match="one value per question"):
        compare_paired("a", [1.0], "b", [1.0, 0.0], "m")
