"""Exact (Clopper-Pearson) confidence intervals for a proportion, from scipy's beta quantiles."""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import beta


@dataclass(frozen=True)
class Proportion:
    """``count`` of ``n`` with its exact two-sided interval; rate and bounds None when n is 0."""

    count: int
    n: int
    rate: float | None
    low: float | None
    high: float | None


def clopper_pearson(count: int, n: int, *, level: float = 0.95) -> Proportion:
    """The exact binomial interval: the beta quantiles that invert the two one-sided tests.

    Lower bound Beta(alpha/2; x, n - x + 1) (0 when x = 0), upper bound
    Beta(1 - alpha/2; x + 1, n - x) (1 when x = n).

    >>> p = clopper_pearson(0, 10)
    >>> round(p.high, 4), p.low
    (0.3085, 0.0)
    >>> clopper_pearson(0, 0).rate is None
    True
    """
    if n < 0 or not 0 <= count <= n:
        raise ValueError(f"count {count} of n {n} is not a proportion")
    if n == 0:
        return Proportion(count, n, None, None, None)
    alpha = 1 - level
    low = 0.0 if count == 0 else float(beta.ppf(alpha / 2, count, n - count + 1))
    high = 1.0 if count == n else float(beta.ppf(1 - alpha / 2, count + 1, n - count))
    return Proportion(count, n, count / n, low, high)
