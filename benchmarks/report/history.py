"""The nightly history: one row per night × version × benchmark, appended to a CSV.

A night's value of a benchmark is the median of its per-process medians. An alert is a
change that is both past the threshold (against the median of the last WINDOW nights) and
far outside their spread: a robust z-score (median and MAD, the scale no less than the
version's typical spread: see noise_floor) beyond Z_LIMIT. Nights of one TF version are
compared only with nights of the same version. Fewer than MIN_NIGHTS earlier nights give no
alert (the spread is not known yet).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.report import render, stats, tables
from benchmarks.report.documents import summary_document
from benchmarks.report.inputs import BadInput, Results
from equivalence.atomic import write_text

WINDOW = 14
# A night is one sample (the median of its processes) against the recent nights, so its
# threshold is wider than compare's 10%: measured on this 2-core shared machine
# (tests/test_report.py, the 20 example processes of the same code as nights of 5),
# ordinary nights reach 1.20x of the recent median (single-shot cold-start benchmarks)
# with robust z-scores up to 7.7. The previous-night gate (compare, with its test on the
# processes) is the finer detector; this alert catches what the trend shows.
THRESHOLD_PCT = 25.0
Z_LIMIT = 3.5  # Iglewicz & Hoaglin's cut-off for the modified z-score
MIN_NIGHTS = 5
COLUMNS = ["night", "version", "benchmark", "kind", "workload", "op", "batch", "jit",
           "device", "api", "median_s", "processes", "revision"]


def read(path: Path) -> pd.DataFrame:
    if not path.exists():
        return pd.DataFrame(columns=COLUMNS)
    try:
        frame = pd.read_csv(path, dtype={"night": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        raise BadInput(f"{path}: not a nightly history CSV (unreadable)") from None
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise BadInput(f"{path}: not a nightly history CSV (no column {missing[0]!r})")
    return frame[COLUMNS]


def tonight(results: Results, night: str) -> pd.DataFrame:
    groups = tables.per_process(results.benchmarks)
    rows = []
    revisions = results.benchmarks.groupby("version")["revision"].first().to_dict()
    for r in groups.itertuples():
        row = {k: getattr(r, k) for k in ("version", "kind", "workload", "op", "batch",
                                          "jit", "device", "api")}
        rows.append({"night": night, "benchmark": tables.benchmark_name(row), **row,
                     "median_s": float(np.median(r.medians)), "processes": len(r.medians),
                     "revision": revisions.get(r.version, "unknown")})
    return pd.DataFrame(rows, columns=COLUMNS)


def _windows(past: pd.DataFrame, now: pd.DataFrame, window: int) -> dict:
    """(version, benchmark) -> the medians of its last `window` earlier nights."""
    groups = past.sort_values("night").groupby(["version", "benchmark"])["median_s"]
    earlier = {key: values.to_numpy()[-window:] for key, values in groups}
    return {key: earlier.get(key, np.array([]))
            for key in zip(now["version"], now["benchmark"])}


def noise_floor(windows: dict) -> dict:
    """version -> the typical night-to-night spread of its benchmarks (the median of their
    robust coefficients of variation over the window), from MIN_NIGHTS nights on.

    A benchmark's own MAD over 5-14 nights underestimates its noise when those nights
    happen to cluster: measured here, five processes within 1% of each other and the sixth
    20% off, a z-score of 60 for nothing. Every benchmark of a version shares the machine,
    so their pooled spread is the least the scale can be."""
    spreads: dict = {}
    for (version, _), earlier in windows.items():
        if len(earlier) >= MIN_NIGHTS:
            spreads.setdefault(version, []).append(stats.robust_cv(earlier))
    return {version: float(np.median(values)) for version, values in spreads.items()}


def alerts(past: pd.DataFrame, now: pd.DataFrame, threshold: float, window: int,
           z_limit: float) -> pd.DataFrame:
    """Tonight's benchmarks whose change is past the threshold and |robust z| > z_limit."""
    windows = _windows(past, now, window)
    floors = noise_floor(windows)
    rows = []
    for r in now.itertuples():
        earlier = windows[r.version, r.benchmark]
        if len(earlier) < MIN_NIGHTS:
            continue
        ratio = r.median_s / float(np.median(earlier))
        z = stats.robust_z(earlier, r.median_s, floors[r.version])
        if abs(math.log(ratio)) > math.log(1 + threshold) and abs(z) > z_limit:
            rows.append({"night": r.night, "version": r.version, "benchmark": r.benchmark,
                         "ratio": ratio, "z": z, "nights": len(earlier),
                         "direction": "slower" if ratio > 1 else "faster"})
    return pd.DataFrame(rows, columns=["night", "version", "benchmark", "ratio", "z",
                                       "nights", "direction"])


class Night:
    """Tonight's results against the history: validated at construction, saved last."""

    def __init__(self, results: Results, path: Path, night: str | None, threshold: float,
                 window: int, z_limit: float):
        if results.benchmarks.empty:
            raise BadInput("nightly needs benchmark results (pytest-benchmark JSON)")
        self.path, self.results = path, results
        self.past = read(path)
        stamp = results.benchmarks["datetime"].max()
        self.night = night or (str(stamp)[:10] if stamp else "unknown")
        self.now = tonight(results, self.night)
        clash = self.past[(self.past["night"] == self.night)
                          & self.past["version"].isin(self.now["version"])]
        if not clash.empty:
            raise BadInput(f"{path}: night {self.night} of {clash['version'].iloc[0]} is "
                           f"already in the history (give another --night)")
        self.threshold, self.window, self.z_limit = threshold, window, z_limit
        self.alerts = alerts(self.past, self.now, threshold, window, z_limit)

    @property
    def alerts_found(self) -> bool:
        return not self.alerts.empty

    def document(self):
        doc, files, frames = summary_document(self.results)
        doc.title = f"keras-parity nightly {self.night}"
        doc.heading(f"Alerts ({len(self.alerts)})")
        doc.text(f"A change past ±{self.threshold:.0%} against the median of the last "
                 f"{self.window} nights of the same version and with a robust z-score beyond "
                 f"{self.z_limit:g} (median and MAD of those nights, the scale at least the "
                 f"typical spread of all benchmarks of the version); {MIN_NIGHTS} earlier "
                 f"nights at least. History: {self.path} ({self.past['night'].nunique()} "
                 f"earlier nights).")
        doc.table(self.alerts.round(3))
        combined = self.combined()
        if combined["night"].nunique() > 1:
            doc.figure("trends", render.plot_trends(combined, self.alerts))
        frames["history"] = combined
        frames["alerts"] = self.alerts
        return doc, files, frames

    def save(self) -> None:
        """Append tonight's rows: the whole file is rewritten under a temporary name and
        renamed, so a killed run leaves the old history intact."""
        write_text(self.path, self.combined().to_csv(index=False))

    def combined(self) -> pd.DataFrame:
        """The history with tonight's rows (an empty history adds no columns' dtypes:
        pandas < 2.3 warns about concatenating empty frames)."""
        frames = [f for f in (self.past, self.now) if not f.empty] or [self.now]
        return pd.concat(frames, ignore_index=True)
