"""The statistics: per-process medians, intervals, the comparison rule, robust z-scores.

The unit of replication is the process (timings on a shared machine vary 5-40% from one
process to the next, far more than between rounds inside one): each process contributes
its median, and every interval and test here is over those per-process medians.

A change is called only when both hold:
- the ratio of the candidate's to the baseline's median passes the threshold, and
- a two-sided Mann-Whitney U test on the per-process medians gives p < ALPHA.
The 95% interval shown with a ratio is a bootstrap over processes (seeded: the same input
gives the same report). A benchmark is *unstable* (marked, never failed) with fewer than
MIN_PROCESSES processes on a side, or when its spread between processes is too large for
the threshold to mean anything (a robust coefficient of variation above the threshold: the
process-to-process noise alone is as large as the change being looked for).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

ALPHA = 0.05
# Mann-Whitney's smallest two-sided p with 3 processes a side is 0.1: it can never call a
# change at 0.05. With 4 a side it is 0.029, with 5 it is 0.008.
MIN_PROCESSES = 4
BOOTSTRAP = 2000
SEED = 20261124
MAD_TO_SD = 1.4826  # a normal distribution's standard deviation per median absolute deviation


def robust_cv(values) -> float:
    """Spread between processes: 1.4826 * MAD / median (0 for a single value)."""
    values = np.asarray(values, dtype=float)
    median = np.median(values)
    if len(values) < 2 or median == 0:
        return 0.0
    return float(MAD_TO_SD * np.median(np.abs(values - median)) / median)


def median_interval(values, rng=None) -> tuple[float, float, float]:
    """(median, low, high): a 95% bootstrap interval over processes from 3 on; the range of
    the two for 2; the value itself for 1."""
    values = np.asarray(values, dtype=float)
    mid = float(np.median(values))
    if len(values) < 3:
        return mid, float(values.min()), float(values.max())
    rng = rng or np.random.default_rng(SEED)
    boot = np.median(rng.choice(values, size=(BOOTSTRAP, len(values))), axis=1)
    return mid, float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))


def ratio_interval(baseline, candidate, rng=None) -> tuple[float, float, float]:
    """(ratio of medians, low, high), the interval a bootstrap over each side's processes
    (None bounds below 3 processes on a side)."""
    b, c = np.asarray(baseline, float), np.asarray(candidate, float)
    ratio = float(np.median(c) / np.median(b))
    if min(len(b), len(c)) < 3:
        return ratio, math.nan, math.nan
    rng = rng or np.random.default_rng(SEED)
    boot = (np.median(rng.choice(c, size=(BOOTSTRAP, len(c))), axis=1)
            / np.median(rng.choice(b, size=(BOOTSTRAP, len(b))), axis=1))
    return ratio, float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))


def mann_whitney_p(baseline, candidate) -> float:
    if min(len(baseline), len(candidate)) < 2:
        return math.nan
    return float(stats.mannwhitneyu(candidate, baseline, alternative="two-sided").pvalue)


def judge(baseline, candidate, threshold: float, alpha: float = ALPHA) -> dict:
    """Ratio, interval, p-value, spreads and the verdict for one benchmark.

    verdict: "regression" / "improvement" (ratio past the threshold and p < alpha),
    "no change", or "unstable" (with `why`): never a regression, whatever its ratio.
    """
    ratio, low, high = ratio_interval(baseline, candidate)
    p = mann_whitney_p(baseline, candidate)
    spread = max(robust_cv(baseline), robust_cv(candidate))
    n_b, n_c = len(baseline), len(candidate)
    out = {"ratio": ratio, "low": low, "high": high, "p": p, "spread": spread,
           "n_baseline": n_b, "n_candidate": n_c, "why": ""}
    if min(n_b, n_c) < MIN_PROCESSES:
        out.update(verdict="unstable", why=f"too few processes ({n_b} vs {n_c}; "
                                              f"{MIN_PROCESSES} needed a side)")
    elif spread > threshold:
        out.update(verdict="unstable", why=f"spread between processes {spread:.0%} is more "
                                              f"than the {threshold:.0%} threshold")
    elif p < alpha and ratio > 1 + threshold:
        out["verdict"] = "regression"
    elif p < alpha and ratio < 1 / (1 + threshold):
        out["verdict"] = "improvement"
    else:
        out["verdict"] = "no change"
    return out


def label(result: dict) -> str:
    """`1.12x` for a called change, `~1.03x` for none, `1.08x?` for an unstable one."""
    text = f"{result['ratio']:.2f}x"
    if result["verdict"] in ("regression", "improvement"):
        return text
    return text + "?" if result["verdict"] == "unstable" else "~" + text


def geometric_mean(values) -> float:
    values = np.asarray([v for v in values if v > 0 and np.isfinite(v)], dtype=float)
    return float(np.exp(np.mean(np.log(values)))) if len(values) else math.nan


def robust_z(history, value, floor: float = 0.0) -> float:
    """How far `value` lies outside the recent nights: (value - median) / scale, the scale
    1.4826 * MAD of the history but at least `floor` * median (a relative noise floor).
    Infinite when the scale is 0 and the value differs; nan without history."""
    history = np.asarray(history, dtype=float)
    if len(history) == 0:
        return math.nan
    median = np.median(history)
    scale = max(MAD_TO_SD * np.median(np.abs(history - median)), floor * abs(median))
    if scale == 0:
        return 0.0 if value == median else math.copysign(math.inf, value - median)
    return float((value - median) / scale)
