"""The report's tables, as pandas frames: one function a section.

Times are per-process medians (seconds in, milliseconds out); every interval is over
processes (see stats). Versions sort by TF then Keras version.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from benchmarks.report import stats
from benchmarks.report.inputs import KEY, TIMED_KINDS

APIS = ["sequential", "functional", "subclassed"]


def version_key(version: str) -> tuple:
    return tuple(int(n) for n in re.findall(r"\d+", version))


def versions(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["version"].unique(), key=version_key)


def case_of(row) -> str:
    return f"{row['op']}-b{row['batch']}-jit{int(row['jit'])}"


def benchmark_name(row) -> str:
    """A stable, readable name: workload/case/device/api."""
    return f"{row['workload']}/{case_of(row)}/{row['device']}/{row['api']}"


def per_process(frame: pd.DataFrame) -> pd.DataFrame:
    """version + KEY -> the list of per-process medians (seconds)."""
    timed = frame[frame["kind"].isin(TIMED_KINDS)]
    return (timed.groupby(["version", *KEY], sort=True)["median"].apply(list)
            .rename("medians").reset_index())


def api_times(frame: pd.DataFrame) -> pd.DataFrame:
    """Each API's time per version × workload × case × device, with a 95% interval over
    processes, and its ratio to Sequential. The ratio comes, best first, from round-robin
    turns (test_api_turns: each process's median ratio of an API's turn to the Sequential
    turn beside it), else paired by process where processes measured both APIs (the median
    of each process's own ratio, stats.paired_ratio), else from the rank interval of two
    independent samples (stats.shift_interval); `ratio_from` says which. The time is the
    API's own benchmark (test_op), or its turns where only those ran."""
    ops = frame[frame["kind"].isin(["op", "turns"])]
    group = ["version", "workload", "op", "batch", "jit", "device"]
    rows = []
    for (version, workload, op, batch, jit, device), part in ops.groupby(group):
        own = part[part["kind"] == "op"]
        times = (own if not own.empty else part).pivot_table(index="process", columns="api",
                                                               values="median")
        turns = part[part["kind"] == "turns"]
        turn_ratios = (turns.pivot_table(index="process", columns="api", values="turn_ratio")
                       if not turns.empty else pd.DataFrame())
        for api in [a for a in APIS if a in times]:
            mine = times[api].dropna().to_numpy()
            mid, low, high = stats.median_interval(mine)
            row = {"version": version, "device": device, "workload": workload,
                   "case": case_of({"op": op, "batch": batch, "jit": jit}), "api": api,
                   "ms": mid * 1e3, "low_ms": low * 1e3, "high_ms": high * 1e3,
                   "processes": len(mine)}
            if api in turn_ratios and turn_ratios[api].notna().any():
                per_process = turn_ratios[api].dropna()
                ratio, r_low, r_high = stats.median_interval(per_process)
                row.update(ratio=ratio, ratio_low=r_low, ratio_high=r_high,
                           ratio_pairs=len(per_process), ratio_from="turns")
            elif "sequential" in times:
                pairs = times[["sequential", api]].dropna()
                ratio, r_low, r_high = (
                    stats.paired_ratio(pairs["sequential"], pairs[api]) if len(pairs)
                    else stats.shift_interval(times["sequential"].dropna(), mine))
                row.update(ratio=ratio, ratio_low=r_low, ratio_high=r_high,
                           ratio_pairs=len(pairs),
                           ratio_from="processes" if len(pairs) else "unpaired")
            rows.append(row)
    return pd.DataFrame(rows)


# What the plain tf.function floor measures the same work as: (op, batch, jit) -> floor op.
FLOOR_OF = {("call", 1, False): "floor", ("call", 32, False): "floor",
            ("predict_on_batch", 1, False): "floor", ("predict_on_batch", 32, False): "floor",
            ("fit", 32, False): "floor_fit"}


def floor_overhead(frame: pd.DataFrame) -> pd.DataFrame:
    """Each API's time over the plain tf.function floor of the same math: × and ms."""
    groups = per_process(frame[frame["kind"].isin(["op", "floor"])])
    med = {tuple(r[["version", "workload", "op", "batch", "jit", "device", "api"]]):
           float(np.median(r["medians"])) for _, r in groups.iterrows()}
    rows = []
    for (version, workload, op, batch, jit, device, api), ms in med.items():
        floor_op = FLOOR_OF.get((op, batch, bool(jit)))
        floor = med.get((version, workload, floor_op, batch, False, device, "floor"))
        if api == "floor" or floor is None:
            continue
        rows.append({"version": version, "device": device, "workload": workload,
                     "case": case_of({"op": op, "batch": batch, "jit": jit}), "api": api,
                     "ms": ms * 1e3, "floor_ms": floor * 1e3, "overhead_x": ms / floor,
                     "overhead_ms": (ms - floor) * 1e3})
    return pd.DataFrame(rows)


def cold_start(frame: pd.DataFrame) -> pd.DataFrame:
    """build / first_predict / first_fit on a fresh model: ms per version × workload × API."""
    cold = frame[frame["kind"] == "cold"]
    if cold.empty:
        return pd.DataFrame()
    table = cold.pivot_table(index=["version", "device", "workload", "op"], columns="api",
                             values="median", aggfunc="median") * 1e3
    table = table[[a for a in APIS if a in table]].reset_index()
    table.columns.name = None
    return table


def memory(frame: pd.DataFrame) -> pd.DataFrame:
    """Peak memory of a predict over the data set: MiB (median over processes)."""
    mem = frame[frame["kind"] == "memory"]
    if mem.empty:
        return pd.DataFrame()
    out = []
    for column, label in (("host_peak_bytes", "host MiB"), ("gpu_peak_bytes", "GPU MiB")):
        values = pd.to_numeric(mem[column], errors="coerce")
        if values.notna().any():
            table = mem.assign(v=values / 2**20).pivot_table(
                index=["version", "device", "workload"], columns="api", values="v",
                aggfunc="median")
            out.append(table[[a for a in APIS if a in table]].assign(measure=label))
    if not out:
        return pd.DataFrame()
    table = pd.concat(out).reset_index()
    table.columns.name = None
    return table


# --- equivalence and corpus matrices -------------------------------------------------------

_REFERENCE = re.compile(r"[\w.-]+/[\w.-]+#\d+")


def short_reference(text: str) -> str:
    """An upstream reference as `owner/repo#N` where it names one, else its first words."""
    found = _REFERENCE.search(text)
    return found.group(0) if found else " ".join(text.split()[:4]) + " …"


def equivalence_cell(cell: dict) -> str:
    """'exact ×12', 'within predict_vs_call/float32 (max 2.4e-07) ×6', 'known: ref ×3',
    'FAILING ×1' — joined, worst first."""
    parts = []
    if cell.get("failing"):
        parts.append(f"FAILING ×{cell['failing']}")
    if cell.get("known"):
        refs = ", ".join(sorted({short_reference(r) for r in cell.get("references", [])}))
        parts.append(f"known ({refs}) ×{cell['known']}")
    if cell.get("tolerance"):
        names = ", ".join(cell.get("tolerances", []))
        parts.append(f"within {names} (max {cell.get('largest_difference', 0.0):.2g}) "
                     f"×{cell['tolerance']}")
    if cell.get("exact"):
        parts.append(f"exact ×{cell['exact']}")
    return "; ".join(parts) or "—"


def equivalence_matrix(summaries: list[dict]) -> dict[str, pd.DataFrame]:
    """{version label: check × API frame of cells}, summaries of one version added up."""
    from equivalence.summary import merge_matrix

    by_version: dict[str, dict] = {}
    for summary in summaries:
        v = summary["versions"]
        merge_matrix(by_version.setdefault(f"tf{v['tf']}-keras{v['keras']}", {}),
                     summary["matrix"])
    out = {}
    for label in sorted(by_version, key=version_key):
        matrix = by_version[label]
        out[label] = pd.DataFrame(
            [{"check": check, **{api: equivalence_cell(matrix[check].get(api, {}))
                                 for api in APIS}} for check in sorted(matrix)])
    return out


CORPUS_STATUSES = ["exact", "close", "differs", "fails", "hangs", "not written"]


def corpus_legend(matrices: list[dict]) -> str:
    """What each status means, with the tolerance and time limit the matrices record."""
    tolerances = sorted({f"rtol {m['tolerance']['rtol']:g} / atol {m['tolerance']['atol']:g}"
                         for m in matrices if "tolerance" in m})
    limits = sorted({f"{m['load_seconds']} s" for m in matrices if "load_seconds" in m})
    return ("Entries written by one version and read by another: `exact` bitwise, `close` "
            f"within {' or '.join(tolerances) or 'the corpus tolerance'}, `differs`, `fails` "
            f"to load, `hangs` (the load did not return within "
            f"{' or '.join(limits) or 'the time limit'}), `not written` (the writer could "
            "not save that format).")


def corpus_matrix(matrices: list[dict]) -> pd.DataFrame:
    """written by × read by rows, one column per format: counts of each status.
    A later matrix file of the same reader replaces an earlier one's rows."""
    rows = pd.DataFrame([r for m in matrices for r in m["rows"]])
    if rows.empty:
        return rows
    rows = rows.drop_duplicates(["written_by", "read_by", "stack", "api", "format"],
                                keep="last")
    counts = rows.groupby(["written_by", "read_by", "format"])["status"].apply(
        lambda s: "; ".join(f"{n} {status}" for status in CORPUS_STATUSES
                            if (n := int((s == status).sum()))))
    table = counts.unstack("format").fillna("—").reset_index()
    table.columns.name = None
    order = sorted(range(len(table)), key=lambda i: (version_key(table["written_by"][i]),
                                                     version_key(table["read_by"][i])))
    return table.iloc[order].reset_index(drop=True)


# --- comparison ----------------------------------------------------------------------------

def process_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-process medians (seconds), processes × benchmarks (KEY columns), nan where a
    process did not run a benchmark."""
    timed = frame[frame["kind"].isin(TIMED_KINDS)]
    return timed.pivot_table(index="process", columns=KEY, values="median", aggfunc="median")


RATIO_KIND = "turns/seq"  # a compared row: an API's time over Sequential's, from turns


def ratio_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-process turn ratios of Functional and Subclassed to Sequential (test_api_turns),
    processes × KEY columns with kind RATIO_KIND; empty without turns."""
    turns = frame[(frame["kind"] == "turns") & (frame["api"] != "sequential")]
    if turns.empty or "turn_ratio" not in turns:
        return pd.DataFrame()
    turns = turns.assign(kind=RATIO_KIND)
    return turns.pivot_table(index="process", columns=KEY, values="turn_ratio",
                             aggfunc="median")


def compare(baseline: pd.DataFrame, candidate: pd.DataFrame, threshold: float,
            alpha: float = stats.ALPHA) -> tuple[pd.DataFrame, dict]:
    """One row per benchmark both sides measured (medians, estimate, interval, p, verdict,
    detectable change), and the geometric mean of the estimates with its interval.

    Where both sides ran the round-robin turns, each API's ratio to Sequential is compared
    too (rows of kind RATIO_KIND, "…/subclassed÷seq"): a change in one API only shows
    there at the size of the turns' own noise, not the processes' (the geometric mean
    leaves these rows out: they are no times). Their test is a t test on the processes'
    mean log ratio (`test` "mean"), the time rows' the rank test."""
    b, c = process_matrix(baseline), process_matrix(candidate)
    times = sorted(set(b.columns) & set(c.columns), key=str)
    b_ratio, c_ratio = ratio_matrix(baseline), ratio_matrix(candidate)
    ratios = sorted(set(b_ratio.columns) & set(c_ratio.columns), key=str)
    if ratios:
        b, c = pd.concat([b, b_ratio[ratios]], axis=1), pd.concat([c, c_ratio[ratios]], axis=1)
    sides = {key: (b[key].dropna().to_numpy(), c[key].dropna().to_numpy())
             for key in times + ratios}
    rows = []
    # Two questions, two families for the false discovery rate: did a benchmark's time
    # change (the time rows, the rank test), and did an API's cost beside Sequential change
    # (the ratio rows). A ratio row's per-process values are medians of many paired rounds:
    # a mean test on them can call below the rank test's floor (stats.mean_interval says
    # why). Each family keeps its expected share of false calls at alpha; a lone API change
    # is not diluted by the time rows, which at the process spread cannot see it anyway.
    for keys, test in ((times, "rank"), (ratios, "mean")):
        p = [stats.row_p(*sides[key], test) for key in keys]
        for key, p_key, q_key in zip(keys, p, stats.adjusted(p)):
            row = dict(zip(KEY, key))
            b_key, c_key = sides[key]
            judged = stats.judge(b_key, c_key, threshold, alpha, q_key, len(keys), p_key, test)
            is_ratio = test == "mean"
            scale = 1 if is_ratio else 1e3  # a ratio row's "ms" columns hold the ratio itself
            rows.append({"benchmark": benchmark_name(row) + ("÷seq" if is_ratio else ""),
                         **row, "baseline_ms": float(np.median(b_key)) * scale,
                         "candidate_ms": float(np.median(c_key)) * scale,
                         **judged, "label": stats.label(judged)})
    table = pd.DataFrame(rows)
    geo = {"benchmark": f"geometric mean ({len(times)} benchmarks)", "ratio": math.nan,
           "low": math.nan, "high": math.nan, "label": "—"}
    if times:
        ratio, low, high = stats.geometric_mean_interval(b[times].to_numpy(),
                                                         c[times].to_numpy())
        interval = f" ({low:.3f}–{high:.3f})" if math.isfinite(low) else \
            " (no interval: a side has one process)"
        geo.update(ratio=ratio, low=low, high=high, label=f"{ratio:.3f}x{interval}")
    return table, geo
