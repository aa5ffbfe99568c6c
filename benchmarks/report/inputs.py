"""What the report reads: pytest-benchmark JSON, equivalence summaries, corpus matrices.

Every input is checked before anything is written; a problem is a `BadInput` with one line
that names the file. A directory is searched recursively for `*.json`; inside a directory,
the suite's other JSON files (failure specs, corpus manifests, a report's own outputs) are
passed over, anything else that is not one of the three kinds is bad input.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.metadata import SCHEMA_VERSION
from equivalence.summary import SCHEMA as EQUIVALENCE_SCHEMA

# equivalence.corpus.SCHEMA (that module imports TensorFlow, which the report does not).
CORPUS_SCHEMA = "keras-parity-corpus/1"
# JSON a results tree holds that is not a result: failure artifacts, corpus manifests, the
# report's own outputs.
_PASSED_OVER = {"spec.json", "blueprint.json", "manifest.json", "comparison.json",
                "benchmark-action.json", "alerts.json"}
_KINDS = {"test_op": "op", "test_api_turns": "turns", "test_floor": "floor",
          "test_floor_fit": "floor", "test_cold_start": "cold", "test_memory_predict": "memory"}
KEY = ["kind", "workload", "op", "batch", "jit", "device", "api"]  # one benchmark
TIMED_KINDS = ("op", "floor", "cold")  # memory benchmarks time one untimed-style round


class BadInput(Exception):
    """One line for the user; the command exits 2 and writes nothing."""


@dataclass
class Results:
    benchmarks: pd.DataFrame  # one row per benchmark per process
    equivalence: list[dict] = field(default_factory=list)
    corpus: list[dict] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    # Per path given: what was read from it ({"benchmarks": processes by version, ...}).
    sources: dict[str, dict] = field(default_factory=dict)

    metric: str = "wall"  # what "median" holds: wall time, or CPU time (`with_metric`)

    def with_metric(self, metric: str) -> "Results":
        """These results timed by `metric` ("wall" or "cpu"): with "cpu", every timed
        benchmark's median is its CPU time per call; a process without CPU time (written
        before it was recorded) is bad input naming its file."""
        if metric == "wall":
            return self
        frame = self.benchmarks.copy()
        timed = frame["kind"].isin(TIMED_KINDS)
        missing = frame[timed & frame["cpu_median"].isna()]
        if not missing.empty:
            raise BadInput(f"{missing['file'].iloc[0]}: no CPU time recorded (older results "
                           f"record wall time only); use --metric wall")
        frame.loc[timed, "median"] = frame.loc[timed, "cpu_median"]
        if "turn_ratio" in frame:
            turns = frame["kind"] == "turns"
            frame.loc[turns, "median"] = frame.loc[turns, "cpu_median"]
            frame.loc[turns, "turn_ratio"] = frame.loc[turns, "turn_ratio_cpu"]
        return dataclasses.replace(self, benchmarks=frame, metric=metric)

    def without_cpu_time(self) -> tuple[int, int]:
        """(processes with timed benchmarks but no CPU time, processes with timed ones)."""
        timed = self.benchmarks[self.benchmarks["kind"].isin(TIMED_KINDS)]
        return (timed[timed["cpu_median"].isna()]["process"].nunique(),
                timed["process"].nunique())

    def sources_line(self) -> str:
        """Where the results came from, each path with what it held."""
        parts = []
        for path, held in self.sources.items():
            what = [f"{n} {v}" for v, n in sorted(held["benchmarks"].items())]
            what = [f"benchmark processes: {', '.join(what)}"] if what else []
            for kind in ("equivalence", "corpus"):
                if held[kind]:
                    what.append(f"{held[kind]} {kind} file{'s' if held[kind] > 1 else ''}")
            parts.append(f"`{path}` ({'; '.join(what) or 'nothing'})")
        return "Read from " + ", ".join(parts) + "."


# Folders a search passes over: failure artifacts, and the committed example results
# (`results/examples/`), which are read only when named (`report summary results/examples/aa`).
_SKIPPED_DIRS = {"failures", "examples"}


def json_files(paths: list[Path]) -> list[tuple[Path, Path]]:
    """[(file, the path given that holds it)]; a missing path is bad input."""
    found = []
    for path in paths:
        if path.is_file():
            found.append((path, path))
        elif path.is_dir():
            found += [(p, path) for p in sorted(path.rglob("*.json"))
                      if p.name not in _PASSED_OVER
                      and not _SKIPPED_DIRS & set(p.relative_to(path).parts[:-1])]
        else:
            raise BadInput(f"{path}: no such file or directory")
    return found


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadInput(f"{path}: not valid JSON (truncated?)") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc.strerror})") from None


def kind_of(data) -> str | None:
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("benchmarks"), list) and "machine_info" in data:
        return "benchmarks"
    schema = data.get("schema")
    if isinstance(schema, str) and schema.startswith("keras-parity-equivalence/"):
        return "equivalence"
    if isinstance(schema, str) and schema.startswith("keras-parity-corpus/"):
        return "corpus"
    return None


def turn_rows(row: dict, info: dict) -> list[dict]:
    """test_api_turns' one benchmark as a row per API (kind "turns"): the median of its
    turns, and `turn_ratio`, the median over rounds of its turn's time over Sequential's
    turn in the same round (`turn_ratio_cpu` the same in CPU time)."""
    walls, cpus = info["turns"], info.get("turns_cpu", {})
    seq = np.asarray(walls.get("sequential", []), dtype=float)
    seq_cpu = np.asarray(cpus.get("sequential", []), dtype=float)
    out = []
    for api, times in walls.items():
        times = np.asarray(times, dtype=float)
        cpu = np.asarray(cpus.get(api, []), dtype=float)
        q1, median, q3 = np.percentile(times, [25, 50, 75])
        out.append({**row, "kind": "turns", "api": api, "median": float(median),
                    "q1": float(q1), "q3": float(q3), "rounds": len(times),
                    "cpu_median": float(np.median(cpu)) if len(cpu) else math.nan,
                    "turn_ratio": _median_ratio(times, seq),
                    "turn_ratio_cpu": _median_ratio(cpu, seq_cpu)})
    return out


def _median_ratio(times: np.ndarray, reference: np.ndarray) -> float:
    if not len(times) or len(times) != len(reference) or not (reference > 0).all():
        return math.nan
    return float(np.median(times / reference))


def benchmark_rows(path: Path, data: dict) -> list[dict]:
    """One row per benchmark of one process (one pytest-benchmark JSON file); a round-robin
    benchmark (test_api_turns) gives a row per API (`turn_rows`)."""
    rows = []
    for bench in data["benchmarks"]:
        try:
            info, stats = bench["extra_info"], bench["stats"]
            schema = info.get("schema_version")
            if schema != SCHEMA_VERSION:
                raise BadInput(f"{path}: results of schema version {schema}; this report "
                               f"reads version {SCHEMA_VERSION}")
            rows.append({
                "file": str(path), "process": f"{path}#{data.get('datetime', '')}",
                "tf": info["tf_version"], "keras": info["keras_version"],
                "version": f"tf{info['tf_version']}-keras{info['keras_version']}",
                "kind": _KINDS.get(bench["name"].split("[")[0], "op"),
                "workload": info["workload"], "op": info["op"], "batch": int(info["batch"]),
                "jit": bool(info["jit_compile"]), "device": info["device"],
                "api": info["api"], "median": float(stats["median"]),
                # CPU time per call beside the wall time (absent from older files)
                "cpu_median": float(info.get("cpu_time", {}).get("median", math.nan)),
                "q1": float(stats["q1"]), "q3": float(stats["q3"]),
                "rounds": int(stats["rounds"]),
                "host_peak_bytes": info.get("host_peak_bytes"),
                "gpu_peak_bytes": info.get("gpu_peak_bytes"),
                "revision": info.get("git_revision", "unknown"),
                "datetime": data.get("datetime", ""),
            })
            if "turns" in info:
                rows[-1:] = turn_rows(rows[-1], info)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise BadInput(f"{path}: pytest-benchmark JSON, but not written by keras-parity "
                           f"(a benchmark lacks its extra_info or stats)") from None
    return rows


def collect(paths: list[Path]) -> Results:
    """Read and check every input; raise BadInput on the first problem."""
    rows, equivalence, corpus, files = [], [], [], []
    sources = {str(p): {"benchmarks": {}, "equivalence": 0, "corpus": 0} for p in paths}
    for path, given in json_files(paths):
        data = _read_json(path)
        kind = kind_of(data)
        if kind is None:
            raise BadInput(f"{path}: not pytest-benchmark JSON, an equivalence summary or a "
                           f"corpus matrix")
        files.append(path)
        held = sources[str(given)]
        if kind == "benchmarks":
            new = benchmark_rows(path, data)
            rows += new
            for version in {r["version"] for r in new}:  # one process, one version
                held["benchmarks"][version] = held["benchmarks"].get(version, 0) + 1
            continue
        held[kind] += 1
        if kind == "equivalence":
            _expect_schema(path, data, EQUIVALENCE_SCHEMA, ("versions", "matrix"))
            equivalence.append({**data, "file": str(path)})
        else:
            _expect_schema(path, data, CORPUS_SCHEMA, ("reader", "rows"))
            corpus.append({**data, "file": str(path)})
    if not files:
        raise BadInput(f"{', '.join(map(str, paths))}: no result files found")
    frame = pd.DataFrame(rows, columns=None if rows else ["file", "process", "version", *KEY,
                                                         "median", "cpu_median",
                                                         "datetime"])
    return Results(frame, equivalence, corpus, files, sources)


def _expect_schema(path: Path, data: dict, schema: str, keys: tuple) -> None:
    if data["schema"] != schema:
        raise BadInput(f"{path}: schema {data['schema']!r}; this report reads {schema!r}")
    missing = [k for k in keys if k not in data]
    if missing:
        raise BadInput(f"{path}: {schema} file without {', '.join(missing)}")
