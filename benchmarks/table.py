"""A quick side-by-side table of one pytest-benchmark JSON: the three APIs and the floor.

    python -m benchmarks.table RESULTS.json [--op OP ...]

Medians in milliseconds per call, and each API's ratio to Sequential. This reads one run;
comparisons across processes and versions, with statistics, are the report's job.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

API_ORDER = ["sequential", "functional", "subclassed", "floor"]


class BadInput(Exception):
    pass


def load(path: Path) -> pd.DataFrame:
    """One row per benchmark: workload, api, op case, median seconds."""
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    try:
        data = json.loads(path.read_text())
        rows = [{**{k: b["extra_info"][k] for k in ("workload", "api", "op", "batch",
                                                   "jit_compile")},
                 "median": b["stats"]["median"]} for b in data["benchmarks"]]
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadInput(f"{path}: not valid JSON (truncated?)") from None
    except (KeyError, TypeError):
        raise BadInput(f"{path}: not pytest-benchmark JSON written by keras-parity") from None
    if not rows:
        raise BadInput(f"{path}: holds no benchmarks")
    return pd.DataFrame(rows)


def side_by_side(frame: pd.DataFrame) -> pd.DataFrame:
    """workload × case rows, one median column per API (ms) and ratios to Sequential."""
    frame = frame.assign(case=frame.op + " b" + frame.batch.astype(str)
                         + frame.jit_compile.map({True: " jit", False: ""}))
    floors = frame[frame.api == "floor"]
    frame = frame[frame.api != "floor"]
    wide = frame.pivot_table(index=["workload", "case"], columns="api", values="median")
    for floor_op, case in (("floor", "call b1"), ("floor", "call b32"),
                           ("floor_fit", "fit b32")):
        batch = int(case.split(" b")[1])
        rows = floors[(floors.op == floor_op) & (floors.batch == batch)]
        for workload, value in rows.set_index("workload")["median"].items():
            if (workload, case) in wide.index:
                wide.loc[(workload, case), "floor"] = value
    wide = wide[[c for c in API_ORDER if c in wide.columns]] * 1000
    for api in ("functional", "subclassed"):
        if api in wide:
            wide[f"{api[:3]}/seq"] = wide[api] / wide["sequential"]
    return wide.round(3)


def markdown(wide: pd.DataFrame) -> str:
    head = ["workload", "op"] + [str(c) for c in wide.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (workload, case), row in wide.iterrows():
        cells = ["" if pd.isna(v) else f"{v:.3g}" for v in row]
        lines.append("| " + " | ".join([workload, case] + cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.table")
    parser.add_argument("results", type=Path)
    parser.add_argument("--op", action="append", help="only these ops (repeatable)")
    args = parser.parse_args(argv)
    try:
        frame = load(args.results)
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.op:
        frame = frame[frame.op.isin(args.op + ["floor", "floor_fit"])]
    print(markdown(side_by_side(frame)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
