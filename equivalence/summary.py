"""The end-of-run figures: stacks checked, checks run, throughput, discrepancies.

Counters live in the process; under pytest-xdist every worker sends its counts to the
controller, and shards write JSON that `python -m equivalence.summary combine` adds up.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from equivalence.atomic import write_text

SCHEMA = "keras-parity-equivalence/1"
STATUSES = ("exact", "tolerance", "known", "failing")  # the matrix's cells, best first


def fresh_state() -> dict:
    return {"stacks": set(), "checks": 0, "discrepancies": 0, "known": 0, "failures": [],
            "matrix": {}, "features": {}}


_STATE = fresh_state()


def record(spec, check: str, compared: int, failed: int, known: int,
           outcomes: dict | None = None, features: set[str] = frozenset()) -> None:
    """Count one check on one spec; `outcomes` ({api: {"status": ...}}: every passing
    example, a failing one only on Hypothesis' final replay) feed the check × API matrix;
    `features` (equivalence.features: features and "family:<family>") are counted per
    check, so a run shows what each check met."""
    _STATE["stacks"].add(spec.digest)
    merge_features(_STATE["features"], {check: dict.fromkeys(features, 1)})
    _STATE["checks"] += compared
    _STATE["discrepancies"] += failed
    _STATE["known"] += known
    for api, outcome in (outcomes or {}).items():
        cell = {outcome["status"]: 1}
        for key in ("tolerance", "reference"):
            if key in outcome:
                cell[key + "s"] = [outcome[key]]
        if "largest_difference" in outcome:
            cell["largest_difference"] = outcome["largest_difference"]
        merge_matrix(_STATE["matrix"], {check: {api: cell}})


def merge_matrix(into: dict, matrix: dict) -> dict:
    """Add a check × API matrix ({check: {api: cell}}) into `into`; returns `into`."""
    for check, apis in matrix.items():
        for api, cell in apis.items():
            _add_cell(into.setdefault(check, {}).setdefault(api, {}), cell)
    return into


def merge_features(into: dict, features: dict) -> dict:
    """Add per-check feature counts ({check: {feature: n}}) into `into`; returns `into`."""
    for check, counts in features.items():
        mine = into.setdefault(check, {})
        for name, n in counts.items():
            mine[name] = mine.get(name, 0) + n
    return into


def _add_cell(cell: dict, part: dict) -> None:
    """Add counts, keep the largest difference and every tolerance / reference named."""
    for status in STATUSES:
        if status in part:
            cell[status] = cell.get(status, 0) + part[status]
    if "largest_difference" in part:
        cell["largest_difference"] = max(cell.get("largest_difference", 0.0),
                                         part["largest_difference"])
    for key in ("tolerances", "references"):
        if key in part:
            cell[key] = sorted(set(cell.get(key, [])) | set(part[key]))


# --parity-budget: the wall-clock time (time.monotonic()) after which no new example is
# checked; None: no budget.
DEADLINE: float | None = None


def budget_spent() -> bool:
    import time

    return DEADLINE is not None and time.monotonic() >= DEADLINE


def record_failure(path) -> None:
    _STATE["failures"].append(str(path))


def snapshot() -> dict:
    """This process's counts as plain JSON data."""
    return {"stacks": sorted(_STATE["stacks"]), "checks": _STATE["checks"],
            "discrepancies": _STATE["discrepancies"], "known": _STATE["known"],
            "failures": list(_STATE["failures"]), "matrix": _STATE["matrix"],
            "features": _STATE["features"]}


def combine(parts: list[dict], seconds: float | None = None) -> dict:
    """Add up snapshots (workers or shards); a stack counted by two parts counts once."""
    stacks = set()
    out = {"checks": 0, "discrepancies": 0, "known": 0, "failures": [], "seconds": 0.0,
           "matrix": {}, "features": {}}
    for part in parts:
        merge_matrix(out["matrix"], part.get("matrix", {}))
        merge_features(out["features"], part.get("features", {}))
        stacks.update(part["stacks"])
        for key in ("checks", "discrepancies", "known"):
            out[key] += part[key]
        out["failures"] += part["failures"]
        out["seconds"] = max(out["seconds"], part.get("seconds", 0.0))
    out["stacks"] = sorted(stacks)
    if seconds is not None:
        out["seconds"] = seconds
    return out


def progress(total: dict, elapsed: float, done: int, of: int,
             left: float | None = None) -> str:
    """The live line of a long run: what it has checked so far, and a guess at the rest
    (`left` seconds, else the elapsed time per test so far times the tests to come)."""
    text = (f"keras-parity: {len(total['stacks']):,} stacks, {total['checks']:,} checks, "
            f"{total['discrepancies']:,} discrepancies, {total['known']:,} known; "
            f"{done}/{of} tests in {elapsed / 60:.1f} min")
    if 0 < done < of:
        left = elapsed / done * (of - done) if left is None else left
        text += f", about {math.ceil(left / 60):.0f} min left"
    return text


def _function(nodeid: str) -> str:
    return nodeid.split("[")[0]  # path::test_name, without the parameters


def time_left(durations: dict[str, float], pending: list[str], workers: int) -> float | None:
    """Seconds the `pending` tests will likely take on `workers` processes: each as long as
    the finished tests of its function took on average (a property test's modes cost
    alike; its examples cost many times a plain test's), else of its file, else of all.
    None before any test has finished."""
    if not durations:
        return None
    by: dict[str, list[float]] = {}
    for nodeid, seconds in durations.items():
        by.setdefault(_function(nodeid), []).append(seconds)
        by.setdefault(nodeid.split("::")[0], []).append(seconds)
    overall = sum(durations.values()) / len(durations)
    total = 0.0
    for nodeid in pending:
        same = by.get(_function(nodeid)) or by.get(nodeid.split("::")[0])
        total += sum(same) / len(same) if same else overall
    return total / max(workers, 1)


def line(total: dict) -> str:
    """One line a user can read at the end of a run."""
    n = len(total["stacks"])
    rate = n / total["seconds"] * 60 if total.get("seconds") else 0.0
    text = (f"equivalence: {n:,} stacks × 3 APIs, {total['checks']:,} checks, "
            f"{rate:.1f} stacks/min, {total['discrepancies']:,} discrepancies")
    if total["known"]:
        text += f" ({total['known']:,} known upstream)"
    if total["failures"]:
        text += f"; artifacts under {Path(total['failures'][0]).parent}"
    return text


def write_json(total: dict, path: Path) -> None:
    """Write atomically: a killed run never leaves a half-written summary."""
    write_text(path, json.dumps(total, indent=1))


def _load(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or not {"stacks", "checks"} <= set(data):
            raise ValueError("not an equivalence summary")
        return data
    except (OSError, ValueError) as exc:
        raise ValueError(f"error: {path}: {exc}") from None


def combine_files(parts: list[dict]) -> dict:
    """One summary file's content for shards of one run: the counts added up (the rate
    over the summed shard time), the known entries joined; shards of different TF or Keras
    versions are refused."""
    versions = {json.dumps(p.get("versions"), sort_keys=True) for p in parts}
    if len(versions) > 1:
        raise ValueError("error: the summaries come from different TF/Keras versions: "
                         + " vs ".join(sorted(versions)))
    total = combine(parts, seconds=sum(p.get("seconds", 0.0) for p in parts))
    known_entries = {}
    for part in parts:
        known_entries.update(part.get("known_entries", {}))
    return {"schema": SCHEMA, "versions": parts[0].get("versions"), **total,
            "interrupted": any(p.get("interrupted") for p in parts),
            "budget_spent": any(p.get("budget_spent") for p in parts),
            "known_entries": known_entries, "shards": len(parts)}


def missed(total: dict, families: set[str] | None = None) -> dict[str, list[str]]:
    """{check: [feature or "family:<name>" none of its stacks had]} over the checks the
    run recorded; families only when `families` (the ones drawable here) are given."""
    from equivalence.features import FEATURES

    wanted = set(FEATURES) | {f"family:{f}" for f in families or ()}
    return {check: sorted(wanted - set(met))
            for check, met in sorted(total["features"].items()) if wanted - set(met)}


def _met(path: Path, families: bool) -> int:
    """What each check's stacks met (features, and with `families` layer families); exit 1
    if a check missed one."""
    try:
        total = _load(path)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if "features" not in total:
        print(f"error: {path}: no per-check features (written before keras-parity "
              f"recorded them)", file=sys.stderr)
        return 2
    drawable = None
    if families:
        from equivalence.layers import REGISTRY
        from equivalence.strategies import kinds_drawable

        drawable = {REGISTRY[k].family for k in kinds_drawable() if not REGISTRY[k].nests}
    gaps = missed(total, drawable)
    for check in sorted(total["features"]):
        print(f"{check}: " + (f"missed {', '.join(gaps[check])}" if check in gaps
                              else "met every feature" + (" and family" if families else "")))
    return 1 if gaps else 0


def _combine(paths: list[Path], out: Path | None) -> int:
    """One line for all shards; with `out`, also the summary file the night's report
    reads (never one of the shard files)."""
    if out is not None and out.resolve() in {p.resolve() for p in paths}:
        print(f"error: --out {out} is one of the shard files: it would be overwritten",
              file=sys.stderr)
        return 2
    try:
        total = combine_files([_load(p) for p in paths])
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(line(total) + f" (from {len(paths)} shards; rate over summed shard time)")
    if out is not None:
        write_json(total, out)
        print(f"summary written to {out}")
    return 0


def _parser():
    from equivalence.cli import Parser

    parser = Parser(prog="python -m equivalence.summary",
                    description="Read the summary files of equivalence runs.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    combine_ = commands.add_parser(
        "combine", help="one line for a run's shards; --out writes the night's summary")
    combine_.add_argument("paths", nargs="+", type=Path, metavar="SUMMARY.json")
    combine_.add_argument("--out", type=Path, metavar="PATH",
                          help="write the combined summary here (not a shard's file)")
    met = commands.add_parser(
        "met", help="what each check's stacks met; exit 1 if a check missed a feature")
    met.add_argument("path", type=Path, metavar="SUMMARY.json")
    met.add_argument("--families", action="store_true",
                     help="also every layer family drawable on this Keras")
    return parser


def main(argv=None) -> int:
    """python -m equivalence.summary combine SUMMARY.json... [--out PATH] | met SUMMARY.json
    [--families]; a bad argument is one line and exit 2."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    if args.command == "met":
        return _met(args.path, args.families)
    return _combine(args.paths, args.out)


if __name__ == "__main__":
    sys.exit(main())
