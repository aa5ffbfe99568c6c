"""The statistics: per-process medians, intervals, the comparison rule, robust z-scores.

The unit of replication is the process (timings on a shared machine vary 5-40% from one
process to the next, far more than between rounds inside one): each process contributes
its median, and every interval and test here is over those per-process medians.

A comparison works on log times. Its estimate is the Hodges-Lehmann shift (the median of
every candidate-over-baseline log ratio of two processes) and its 95% interval the
distribution-free one that goes with the Mann-Whitney test (order statistics of those
pairwise ratios, the rank at the test's exact critical value): the interval excludes 1
exactly when the rank test rejects, so the two never disagree. With t the threshold:

- regression / improvement: the interval lies wholly on one side of 1, the estimate is
  past ±t and the Mann-Whitney p < ALPHA;
- no change: the interval lies wholly inside ±t (an equivalence test: the run shows that
  any change is smaller than the threshold);
- inconclusive: anything else, with the processes a side that would likely decide it at
  the measured spread. Whether a test can call at all comes from the smallest two-sided p
  the sample sizes allow (2 / C(n+m, n): 0.1 with 3 a side, 0.029 with 4), not from a
  fixed minimum.

Each row also carries its minimal detectable change: the smallest change this run's
process counts and spread would call four times in five.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from scipy import stats

ALPHA = 0.05
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


def paired_ratio(baseline, candidate) -> tuple[float, float, float]:
    """(ratio, low, high) of candidate over baseline measured in the same processes (two
    APIs in one process): the median of the per-process ratios with its 95% bootstrap
    interval (median_interval). The noise a process shares between its two measurements
    cancels: on the committed 20-process A/A runs (results/examples/aa*), the interval of
    an API's ratio to Sequential is 33-47% narrower than two independent samples' rank
    interval at 5 and 10 processes, and covers the 20-process ratio 96-99% of the time."""
    ratios = np.asarray(candidate, dtype=float) / np.asarray(baseline, dtype=float)
    return median_interval(ratios)


def mann_whitney_p(baseline, candidate) -> float:
    if min(len(baseline), len(candidate)) < 2:
        return math.nan
    return float(stats.mannwhitneyu(candidate, baseline, alternative="two-sided").pvalue)


def smallest_p(n: int, m: int) -> float:
    """The smallest two-sided Mann-Whitney p with n and m processes (all of one side
    above all of the other): 2 / C(n+m, n)."""
    return min(1.0, 2 / math.comb(n + m, n)) if n and m else 1.0


@functools.lru_cache(maxsize=None)
def _u_cdf(n: int, m: int) -> tuple[float, ...]:
    """P(U <= u) for u = 0..n*m under the null, exact (counts of rank arrangements)."""
    # ways[i][j][u]: arrangements of i baseline and j candidate values with U = u.
    ways = [[None] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        for j in range(m + 1):
            if i == 0 or j == 0:
                ways[i][j] = np.array([1.0])
                continue
            # The largest value is a candidate (adds i to U) or a baseline one (adds 0).
            a, b = ways[i][j - 1], ways[i - 1][j]
            out = np.zeros(i * j + 1)
            out[i:i + len(a)] += a
            out[:len(b)] += b
            ways[i][j] = out
    counts = ways[n][m]
    return tuple(np.cumsum(counts) / counts.sum())


def _critical_rank(n: int, m: int, alpha: float) -> int:
    """The largest k with 2 * P(U <= k - 1) <= alpha (0 when no test at alpha exists):
    the interval runs from the k-th smallest pairwise difference to the k-th largest."""
    if n * m > 2500:  # normal approximation, far beyond where the exact counts matter
        z = stats.norm.ppf(1 - alpha / 2)
        return max(0, int(math.floor(n * m / 2 - z * math.sqrt(n * m * (n + m + 1) / 12))))
    cdf = _u_cdf(n, m)
    k = 0
    while k < len(cdf) and 2 * cdf[k] <= alpha:
        k += 1
    return k


def shift_interval(baseline, candidate, alpha: float = ALPHA) -> tuple[float, float, float]:
    """(ratio, low, high): the Hodges-Lehmann estimate of candidate / baseline and its
    distribution-free 1 - alpha interval; nan bounds where no test at alpha exists."""
    b = np.log(np.asarray(baseline, float))
    c = np.log(np.asarray(candidate, float))
    diffs = np.sort((c[None, :] - b[:, None]).ravel())
    estimate = float(np.exp(np.median(diffs)))
    k = _critical_rank(len(b), len(c), alpha)
    if k == 0:
        return estimate, math.nan, math.nan
    return estimate, float(np.exp(diffs[k - 1])), float(np.exp(diffs[len(diffs) - k]))


def mean_interval(baseline, candidate, alpha: float = ALPHA) -> tuple[float, float, float, float]:
    """(ratio, low, high, p) for rows whose per-process values are themselves averages of
    many paired measurements — an API's turn ratio to Sequential, the median of its
    rounds in one process (8-58 in the quiet A/A, up to 200): scipy's Welch t interval of
    the difference of mean log values, and its two-sided p (the interval excludes 1
    exactly when p < alpha).

    Why not the rank test here: at 5 processes a side its smallest possible p is 0.008,
    which no adjustment over a report's rows lets through; a process's turn ratio is an
    average over its rounds, near-normal by the central limit theorem, so a t test on the
    processes — which keeps the process as the unit, and its process-to-process variance —
    can see a 10% change in one API at 5 a side. Checked on the committed quiet A/A
    (results/examples/aa-quiet, 200 random splits of 20 processes): p < 0.05 on 3.1-4.1% of
    rows × splits at 5 and 8 a side, p < 0.01 on 0.4-0.8%: calibrated, a little
    conservative. nan bounds and p with fewer than 2 processes on a side."""
    b = np.log(np.asarray(baseline, float))
    c = np.log(np.asarray(candidate, float))
    if min(len(b), len(c)) < 2:
        estimate = float(np.exp(np.mean(c) - np.mean(b))) if len(b) and len(c) else math.nan
        return estimate, math.nan, math.nan, math.nan
    diff = float(np.mean(c) - np.mean(b))
    if np.var(b) == 0 and np.var(c) == 0:  # no spread: scipy has no t statistic to give
        return math.exp(diff), math.exp(diff), math.exp(diff), (0.0 if diff else 1.0)
    welch = stats.ttest_ind(c, b, equal_var=False)
    ci = welch.confidence_interval(1 - alpha)
    return math.exp(diff), math.exp(ci.low), math.exp(ci.high), float(welch.pvalue)


def log_spread(*samples) -> float:
    """The pooled robust standard deviation of log times within each sample (1.4826 * MAD,
    the sample SD for two values): the process-to-process noise, in log units."""
    variances, weights = [], []
    for values in samples:
        logs = np.log(np.asarray(values, float))
        if len(logs) < 2:
            continue
        sd = (np.std(logs, ddof=1) if len(logs) == 2
              else MAD_TO_SD * np.median(np.abs(logs - np.median(logs))))
        variances.append(sd ** 2)
        weights.append(len(logs) - 1)
    return float(math.sqrt(np.average(variances, weights=weights))) if variances else math.nan


POWER = 0.8
MAX_PROCESSES = 200


def processes_to_decide(ratio: float, low: float, high: float, n: int, m: int,
                        threshold: float) -> int | None:
    """Processes a side that would likely turn an inconclusive row into a verdict: the
    interval shrinks as sqrt(1/n + 1/m), so scale this run's interval until it lies past 1
    (an estimate past the threshold) or inside ±threshold (one within it). Read off the
    interval itself, so a process far off the others counts as the spread it is. None when
    the estimate sits on the threshold (no number of processes moves the interval off it)."""
    t, d = math.log1p(threshold), abs(math.log(ratio))
    room = d if d > t else t - d
    half = (math.log(high) - math.log(low)) / 2
    if room <= 0 or not math.isfinite(half):
        return None
    needed = math.ceil(2 / ((room / half) ** 2 * (1 / n + 1 / m))) if half > 0 else 0
    return max(needed, max(n, m) + 1)


def detectable_change(low: float, high: float, threshold: float, alpha: float = ALPHA) -> float:
    """The smallest change (a fraction: 0.12 = 12%) this run would call with probability
    POWER, from its interval's half-width (z_alpha/2 sigma): (z_alpha/2 + z_power) sigma,
    never below the threshold a change must pass anyway; inf without an interval."""
    half = (math.log(high) - math.log(low)) / 2 if low > 0 else math.nan
    if not math.isfinite(half):
        return math.inf
    z = stats.norm.ppf(1 - alpha / 2)
    return max(threshold, math.expm1(half * (z + stats.norm.ppf(POWER)) / z))


def adjusted(p_values) -> np.ndarray:
    """Benjamini-Hochberg q-values of one comparison's rows (nan stays nan). A report
    tests every benchmark at once: at p < 0.05 each, an A/A run of 40 rows would call two
    by chance; a q < 0.05 keeps the expected share of false calls among the calls at 5%."""
    p = np.asarray(p_values, float)
    q = np.full_like(p, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        q[finite] = stats.false_discovery_control(p[finite])
    return q


def row_p(baseline, candidate, test: str = "rank") -> float:
    """The p-value `judge` uses for one row under `test`."""
    if test == "mean":
        return mean_interval(baseline, candidate)[3]
    return mann_whitney_p(baseline, candidate)


def judge(baseline, candidate, threshold: float, alpha: float = ALPHA,
          q: float | None = None, rows: int = 1, p: float | None = None,
          test: str = "rank") -> dict:
    """Estimate, interval, p-value, spread, detectable change and the verdict for one
    benchmark: "regression", "improvement", "no change" or "inconclusive" (with `why` and,
    where practical, `processes_needed` a side). `q`, the row's p adjusted over the `rows`
    rows of its family in the comparison (`adjusted`), is what a call must pass when
    given; `p`, the row's p when the caller has it already. `test` is "rank" (per-process times: the
    Hodges-Lehmann interval and Mann-Whitney test) or "mean" (per-process averages of many
    paired rounds: mean_interval)."""
    if test == "mean":
        ratio, low, high, p_mean = mean_interval(baseline, candidate, alpha)
        p = p_mean if p is None else p
    else:
        ratio, low, high = shift_interval(baseline, candidate, alpha)
        p = mann_whitney_p(baseline, candidate) if p is None else p
    q = p if q is None else q
    n_b, n_c = len(baseline), len(candidate)
    out = {"ratio": ratio, "low": low, "high": high, "p": p, "q": q,
           "spread": log_spread(baseline, candidate), "n_baseline": n_b, "n_candidate": n_c,
           "why": "", "processes_needed": None,
           "detectable": detectable_change(low, high, threshold, alpha)}
    bound = 1 + threshold
    if test == "mean" and min(n_b, n_c) < 2:
        out.update(verdict="inconclusive", processes_needed=2,
                   why=f"{n_b} vs {n_c} processes: a side needs 2 for a spread")
    elif test == "rank" and smallest_p(n_b, n_c) >= alpha:
        needed = next(k for k in range(2, 50) if smallest_p(k, k) < alpha)
        out.update(verdict="inconclusive", processes_needed=needed,
                   why=f"{n_b} vs {n_c} processes: the smallest possible p is "
                       f"{smallest_p(n_b, n_c):.2g}, not below {alpha}; at least {needed} "
                       f"a side can call a change")
    elif low > 1 and ratio > bound and q < alpha:
        out["verdict"] = "regression"
    elif high < 1 and ratio < 1 / bound and q < alpha:
        out["verdict"] = "improvement"
    elif 1 / bound < low and high < bound:
        out["verdict"] = "no change"
    else:
        needed = processes_to_decide(ratio, low, high, n_b, n_c, threshold)
        past = (low > 1 and ratio > bound) or (high < 1 and ratio < 1 / bound)
        what = (f"interval {low:.2f}–{high:.2f} lies past 1 with p = {p:.3f}, but q = "
                f"{q:.3f} is not below {alpha} once adjusted over the {rows} rows" if past
                else f"interval {low:.2f}–{high:.2f} is neither past 1 nor inside "
                     f"±{threshold:.0%}")
        out.update(verdict="inconclusive", processes_needed=needed,
                   why=what + "; " + (
                           "the change sits on the threshold: no number of processes "
                           "decides it" if needed is None else
                           f"about {needed} processes a side would decide it"
                           if needed <= MAX_PROCESSES else
                           f"more than {MAX_PROCESSES} processes a side would be needed: "
                           f"the spread is too large"))
    return out


def label(result: dict) -> str:
    """`1.12x` for a called change, `~1.03x` for no change, `1.08x?` for an inconclusive one."""
    text = f"{result['ratio']:.2f}x"
    if result["verdict"] in ("regression", "improvement"):
        return text
    return text + "?" if result["verdict"] == "inconclusive" else "~" + text


def _shift_estimates(b_logs: np.ndarray, c_logs: np.ndarray) -> np.ndarray:
    """Hodges-Lehmann log shifts of each row: b_logs (..., n), c_logs (..., m) -> (...)."""
    return np.nanmedian(c_logs[..., None, :] - b_logs[..., :, None], axis=(-2, -1))


def geometric_mean_interval(baseline: np.ndarray, candidate: np.ndarray,
                            rng=None) -> tuple[float, float, float]:
    """(geometric mean of the rows' ratios, low, high) for matrices of per-process medians,
    processes × benchmarks (nan where a process did not run one). The 95% interval
    resamples whole processes, every benchmark of a process together: one slow process
    slows all its benchmarks, and resampling rows apart would hide that. nan bounds with
    fewer than 2 processes on a side."""
    b, c = np.log(np.asarray(baseline, float)), np.log(np.asarray(candidate, float))
    point = float(np.exp(np.nanmean(_shift_estimates(b.T, c.T))))
    if min(len(b), len(c)) < 2:
        return point, math.nan, math.nan
    rng = rng or np.random.default_rng(SEED)
    means = np.empty(BOOTSTRAP)
    for i in range(BOOTSTRAP):
        bs, cs = b[rng.integers(len(b), size=len(b))], c[rng.integers(len(c), size=len(c))]
        means[i] = np.nanmean(_shift_estimates(bs.T, cs.T))
    low, high = np.percentile(means, [2.5, 97.5])
    return point, float(np.exp(low)), float(np.exp(high))


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
