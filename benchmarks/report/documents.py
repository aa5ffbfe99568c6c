"""The report's documents: the summary of one or many runs and the comparison of two.

Each returns (Document, extra files, tidy frames) for render.write_report; the command
line (__main__) and the nightly history (history.Night) build on them.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from benchmarks.report import render, tables
from benchmarks.report.inputs import BadInput, Results


def label(results: Results) -> str:
    return ", ".join(tables.versions(results.benchmarks)) or "no benchmarks"


# --- summary -------------------------------------------------------------------------------

def _wide_times(times: pd.DataFrame) -> pd.DataFrame:
    """workload × case rows: each API's ms (interval), its ratio to Sequential (interval)."""
    def ms(r):
        return (f"{r.ms:.3g} ({r.low_ms:.3g}–{r.high_ms:.3g})" if r.processes > 1
                else f"{r.ms:.3g}")

    def ratio(r):
        if not math.isfinite(r.ratio_low):
            return f"{r.ratio:.2f}"
        return f"{r.ratio:.2f} ({r.ratio_low:.2f}–{r.ratio_high:.2f})"

    rows = {}
    for r in times.itertuples():
        row = rows.setdefault((r.workload, r.case, r.device),
                              {"workload": r.workload, "case": r.case, "device": r.device})
        row[f"{r.api} ms"] = ms(r)
        row["processes"] = r.processes
        if r.api != "sequential" and hasattr(r, "ratio") and math.isfinite(r.ratio):
            row[f"{r.api[:3]}/seq"] = ratio(r)
            row["ratios from"] = r.ratio_from
    wide = pd.DataFrame(list(rows.values()))
    if "ratios from" in wide:  # last
        wide["ratios from"] = wide.pop("ratios from")
    return wide


def summary_document(results: Results) -> tuple[render.Document, dict, dict]:
    frame = results.benchmarks
    doc = render.Document("keras-parity report")
    files, frames = {}, {}
    n_proc = frame["process"].nunique() if not frame.empty else 0
    doc.text(f"{len(results.files)} result files: {n_proc} benchmark processes "
             f"({label(results)}), {len(results.equivalence)} equivalence summaries, "
             f"{len(results.corpus)} corpus matrices. {results.sources_line()} "
             f"{_metric_line(results)} Times are medians over processes (each process "
             f"contributes its own median) with a 95% bootstrap interval over processes "
             f"where there are 3 or more. A ratio to Sequential is the median over "
             f"processes of each process's own ratio, with the same bootstrap interval: "
             f"from round-robin `turns` where they ran (the APIs timed in turns, each "
             f"turn beside a Sequential one, sharing the machine's state of that moment), "
             f"else from the APIs' own benchmarks in one process (`processes`: they share "
             f"the process's noise).")
    if not frame.empty:
        times = tables.api_times(frame)
        frames["benchmarks"] = frame
        frames["api_times"] = times
        for version in tables.versions(frame):
            part = times[times["version"] == version]
            if not part.empty:
                doc.heading(f"API times, {version} (ms; ratio to Sequential)")
                doc.table(_wide_times(part))
        if not times.empty and times["ratio"].notna().any():
            doc.figure("api_ratios", render.plot_api_ratios(times))
        if frame["version"].nunique() > 1 and not times.empty:
            doc.heading("Across versions")
            doc.figure("version_bars", render.plot_version_bars(times))
            heat = times.pivot_table(index=["workload", "case", "api"], columns="version",
                                     values="ms")
            heat = heat[sorted(heat.columns, key=tables.version_key)].dropna()
            heat.index = [" ".join(map(str, i)) for i in heat.index]
            if len(heat):
                doc.figure("heat_map", render.plot_heat_map(
                    heat, "time relative to the oldest version"))
        floor = tables.floor_overhead(frame)
        if not floor.empty:
            doc.heading("Overhead over the plain tf.function floor")
            doc.text("The same math as a tf.function with the model's weights and no Keras: "
                     "`x` is the API's time over the floor's, `+ms` what Keras adds.")
            doc.table(floor.round(3))
        for title, table in (("Cold start (ms, fresh model)", tables.cold_start(frame)),
                             ("Peak memory of a predict (MiB)", tables.memory(frame))):
            if not table.empty:
                doc.heading(title)
                doc.table(table.round(2))
        files["benchmark-action.json"] = render.benchmark_action([
            {"name": f"{r.version} {r.workload}/{r.case}/{r.device}/{r.api}", "value": r.ms,
             "range": f"{r.low_ms:.4g}–{r.high_ms:.4g} ms" if r.processes > 1 else None}
            for r in times.itertuples()])
    for version, matrix in tables.equivalence_matrix(results.equivalence).items():
        doc.heading(f"Equivalence, {version} (check × API)")
        doc.text("Each cell counts examples (a failing one once, after shrinking): `exact` "
                 "bitwise, `within` a named "
                 "tolerance (largest difference seen), `known` an upstream issue "
                 "(equivalence/known.py), `FAILING` a discrepancy. Sequential is the "
                 "reference of cross-API checks.")
        doc.table(matrix)
    corpus = tables.corpus_matrix(results.corpus)
    if not corpus.empty:
        doc.heading("Saved models across versions (corpus)")
        doc.text(tables.corpus_legend(results.corpus))
        doc.table(corpus)
        frames["corpus"] = corpus
    return doc, files, frames


# --- compare -------------------------------------------------------------------------------

def _metric_line(*sides: Results) -> str:
    """What the times are, and which processes lack CPU time when timed by the wall."""
    if sides[0].metric == "cpu":
        return ("Timed by CPU time per call (the process's, every thread): time another "
                "tenant held the core is not counted.")
    lacking, total = (sum(n) for n in zip(*(side.without_cpu_time() for side in sides)))
    return "Timed by the wall clock." + (
        f" {lacking} of {total} processes carry wall time only (written before CPU time "
        f"was recorded): --metric cpu cannot read them." if lacking else "")


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _percent(change: float) -> str:
    return f"±{change:.0%}" if math.isfinite(change) else "none (too few processes)"


def compare_document(base: Results, cand: Results, threshold: float, alpha: float):
    if base.benchmarks.empty or cand.benchmarks.empty:
        raise BadInput("compare needs benchmark results (pytest-benchmark JSON) on both "
                       "sides")
    table, geo = tables.compare(base.benchmarks, cand.benchmarks, threshold, alpha)
    if table.empty:
        raise BadInput(f"baseline ({label(base)}) and candidate ({label(cand)}) have no "
                       f"benchmark in common")
    b_label, c_label = label(base), label(cand)
    counts = table["verdict"].value_counts().to_dict()
    detectable = float(np.median(table["detectable"]))
    doc = render.Document(f"keras-parity comparison: {c_label} against {b_label}")
    doc.text(f"{len(table)} benchmarks in common. {_metric_line(base, cand)} "
             f"Each change is the median of the "
             f"candidate-over-baseline ratios of every pair of processes, with the 95% "
             f"interval of the Mann-Whitney test on the per-process medians: a regression "
             f"or improvement when the interval lies past 1 and the change past "
             f"±{threshold:.0%} (q < {alpha}: the Mann-Whitney p adjusted over the time rows "
             f"by Benjamini-Hochberg); `~1.03x` no change (the interval lies inside "
             f"±{threshold:.0%}); `1.08x?` inconclusive, with the processes a side that "
             f"would decide it. Regressions: {counts.get('regression', 0)}, improvements: "
             f"{counts.get('improvement', 0)}, no change: {counts.get('no change', 0)}, "
             f"inconclusive: {counts.get('inconclusive', 0)}. What this run can see: a "
             f"change of {_percent(detectable)} (the median of the rows' detectable "
             f"changes: the smallest each would call four times in five at its processes "
             f"and spread)." + (
                 f" Rows ending `÷seq` ({(table['kind'] == tables.RATIO_KIND).sum()}) "
                 f"compare an API's time over Sequential's in the same process's "
                 f"round-robin turns (test_api_turns): a change in one API only, seen "
                 f"through the turns' noise rather than the processes'. Each process's "
                 f"ratio averages many paired rounds, so these rows are tested with "
                 f"Welch's t on the processes' mean log ratio (its 95% interval and p), "
                 f"adjusted by Benjamini-Hochberg among themselves, apart from the time "
                 f"rows."
                 if (table["kind"] == tables.RATIO_KIND).any() else ""))
    shown = pd.DataFrame({
        "benchmark": table["benchmark"],
        # a ratio row (an API over Sequential, from turns) shows its ratio, `1.021×`
        **{f"{side} ms": [f"{v:.3f}×" if kind == tables.RATIO_KIND else f"{v:.4g}"
                          for v, kind in zip(table[f"{side}_ms"], table["kind"])]
           for side in ("baseline", "candidate")},
        "change": table["label"],
        "95% interval": [f"{lo:.2f}–{hi:.2f}" if math.isfinite(lo) else ""
                         for lo, hi in zip(table["low"], table["high"])],
        "p": table["p"].map(lambda p: f"{p:.3f}" if math.isfinite(p) else ""),
        "q": table["q"].map(lambda q: f"{q:.3f}" if math.isfinite(q) else ""),
        "processes": [f"{b} vs {c}" for b, c in zip(table["n_baseline"],
                                                      table["n_candidate"])],
        "detectable": table["detectable"].map(_percent),
        "verdict": [v + (f" ({why})" if why else "") for v, why in zip(table["verdict"],
                                                                        table["why"])],
    })
    shown = pd.concat([shown, pd.DataFrame([{"benchmark": geo["benchmark"],
                                             "change": geo["label"]}])], ignore_index=True)
    doc.table(shown)
    doc.figure("comparison", render.plot_comparison(table, b_label, c_label))
    regressions = table[table["verdict"] == "regression"]
    result = {"schema": "keras-parity-comparison/1", "baseline": b_label,
              "candidate": c_label, "threshold": threshold, "alpha": alpha,
              "metric": base.metric,
              "geometric_mean": geo["ratio"],
              "geometric_mean_interval": [_finite(geo["low"]), _finite(geo["high"])],
              "detectable_median": _finite(detectable), "counts": counts,
              "regressions": regressions["benchmark"].tolist(),
              "rows": json.loads(table.to_json(orient="records"))}
    files = {"comparison.json": json.dumps(result, indent=1),
             "benchmark-action.json": render.benchmark_action([
                 {"name": r.benchmark, "value": r.candidate_ms,
                  "extra": f"{r.label} vs {b_label}"} for r in table.itertuples()
                 if r.kind != tables.RATIO_KIND])}  # times only, in ms
    return doc, files, {"comparison": table}, len(regressions)
