"""`python -m equivalence.bisect FAILURE_DIR_OR_ENTRY`: which Keras release did it?

Runs a failure's example (results/failures/<id>/) or a known entry's (by name) on released
Keras versions, each with a TensorFlow that supports it, each in a cached environment, and
prints the last release without the discrepancy and the first with it (and, where it went
away again, the last with it and the first without). The tox environments' pairs and the
newest release are tried first (the tox environments are reused); between two that
disagree, the releases in between are bisected, each in its own environment under
~/.cache/keras-parity/bisect/.

Exit status 0 with a verdict, 2 for bad input (no such directory or entry).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from equivalence.cli import Parser

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("KERAS_PARITY_CACHE", Path.home() / ".cache" / "keras-parity"))

# The newest patch of every Keras minor from 2.15 on, each with the TF release it pairs with
# (TF >= 2.16 takes Keras 3 as `tf.keras`; each TF requires a minimum Keras).
RELEASES = (
    ("2.15.0", "2.15.1"),
    ("3.0.5", "2.16.2"), ("3.1.1", "2.16.2"), ("3.2.1", "2.16.2"), ("3.3.3", "2.16.2"),
    ("3.4.1", "2.17.1"), ("3.5.0", "2.17.1"),
    ("3.6.0", "2.18.1"), ("3.7.0", "2.18.1"), ("3.8.0", "2.18.1"),
    ("3.9.2", "2.19.1"), ("3.10.0", "2.19.1"),
    ("3.11.3", "2.20.0"), ("3.12.4", "2.20.0"),
    ("3.13.2", "2.21.0"), ("3.14.1", "2.21.0"), ("3.15.1", "2.21.0"),
)
# Pairs that a tox environment already holds (tox.ini pins).
TOX = {("2.15.0", "2.15.1"): "tf215", ("3.3.3", "2.16.2"): "tf216",
       ("3.5.0", "2.17.1"): "tf217", ("3.8.0", "2.18.1"): "tf218",
       ("3.10.0", "2.19.1"): "tf219", ("3.11.3", "2.20.0"): "tf220",
       ("3.13.2", "2.21.0"): "tf221"}


class BadInput(Exception):
    pass


def case_from(target: str) -> dict:
    """{"spec": JSON, "cells": [[check, api], ...], "mode": {...}} for a failure directory
    or a known entry's name."""
    path = Path(target)
    if path.is_dir():
        # What the failure recorded (failure.json), not what its directory name suggests.
        try:
            spec = (path / "spec.json").read_text()
            record = json.loads((path / "failure.json").read_text())
            mode = {k: str(v) for k, v in record["mode"].items() if v is not None}
            cells = [[record["check"], api] for api in record["failing"]]
        except FileNotFoundError as exc:
            raise BadInput(f"{target}: not a failure directory (no {Path(exc.filename).name})") \
                from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BadInput(f"{target}: unreadable failure.json ({type(exc).__name__}: {exc})") \
                from None
        return {"spec": spec, "mode": mode, "cells": cells}
    from equivalence import known

    entry = next((e for e in known.KNOWN if e.name == target), None)
    if entry is None:
        raise BadInput(f"{target}: neither a failure directory nor a known entry "
                       f"({', '.join(e.name for e in known.KNOWN[:3])}, ...)")
    mode = {"optimizer": "sgd_momentum", "loss": "mse", "steps_per_execution": "1"}
    return {"spec": entry.example.to_json(), "mode": mode,
            "cells": [list(cell) for cell in entry.cells()]}


def probe(case: dict) -> dict:
    """In the environment under test: does any cell's API differ on the example?"""
    from equivalence import compat
    from equivalence.checks import CHECKS, Mode, compare, observe
    from equivalence.spec import StackSpec

    spec = StackSpec.from_json(case["spec"])
    m = case["mode"]
    flags = {k: m.get(k, "False") == "True" for k in ("jit_compile", "run_eagerly")}
    seen = []
    for check, api in case["cells"]:
        c = CHECKS[check]
        mode = Mode(**flags)
        if c.trains:
            mode = mode.training(m.get("optimizer", "sgd_momentum"), m.get("loss", "mse"),
                                 int(m.get("steps_per_execution", 1)))
        problems = compare(c, spec, observe(c, spec, mode)[0])
        if api in problems:
            seen.append(f"{check} × {api}: {problems[api][:160]}")
    return {**compat.versions(), "reproduces": bool(seen), "seen": seen}


def python_for(keras: str, tf: str) -> Path:
    """The interpreter of an environment with this pair (a tox one, or made and cached)."""
    env = TOX.get((keras, tf))
    if env and (ROOT / ".tox" / env / "bin" / "python").exists():
        return ROOT / ".tox" / env / "bin" / "python"
    where = CACHE / "bisect" / f"tf{tf}-keras{keras}"
    python = where / "bin" / "python"
    if not (where / "installed").exists():  # a half-made environment is made again
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(where)], check=True)
        pins = [f"tensorflow-cpu=={tf}", f"keras=={keras}"]
        if tuple(int(p) for p in tf.split(".")[:2]) < (2, 18):
            pins.append("numpy<2")
        out = subprocess.run([str(python), "-m", "pip", "install", "--quiet", *pins,
                              "-e", str(ROOT)], capture_output=True, text=True)
        if out.returncode:  # pip's own warnings stay out of the verdict; its error does not
            raise RuntimeError(f"installing {' '.join(pins)}: "
                               + (out.stderr.strip().splitlines() or ["pip failed"])[-1])
        (where / "installed").write_text(f"keras=={keras} tensorflow-cpu=={tf}\n")
    return python


def run_release(keras: str, tf: str, case_file: Path) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("TF_USE_LEGACY_KERAS", None)
    try:
        python = python_for(keras, tf)
    except RuntimeError as exc:
        return {"keras": keras, "tf": tf, "reproduces": None, "error": str(exc)}
    out = subprocess.run([str(python), "-m", "equivalence.bisect", "--probe",
                          str(case_file)], capture_output=True, text=True, env=env, cwd=ROOT)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        return {"keras": keras, "tf": tf, "reproduces": None,
                "error": (out.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1])


def bisect(case_file: Path, releases=RELEASES, report=print) -> dict[str, dict]:
    """{keras: result} for the releases tried: the tox pairs and the newest, then between
    disagreeing neighbours until they are adjacent releases."""
    results: dict[str, dict] = {}

    def outcome(i):
        keras, tf = releases[i]
        if keras not in results:
            results[keras] = run_release(keras, tf, case_file)
            r = results[keras]
            report(f"  Keras {keras} (TF {tf}): "
                   + {True: "reproduces", False: "clean", None: f"error: {r.get('error')}"}
                   [r["reproduces"]])
        return results[keras]["reproduces"]

    # The tox pairs, and always the oldest and the newest release: a discrepancy that only
    # the newest Keras has lies past the last tox pair.
    tried = sorted({i for i, pair in enumerate(releases) if pair in TOX}
                   | {0, len(releases) - 1})
    for i in tried:
        outcome(i)
    stack = list(zip(tried, tried[1:]))
    while stack:
        low, high = stack.pop()
        if high - low > 1 and outcome(low) != outcome(high):
            mid = (low + high) // 2
            outcome(mid)
            stack += [(low, mid), (mid, high)]
    return results


def verdict(results: dict[str, dict], releases=RELEASES) -> list[str]:
    order = [k for k, _ in releases if k in results and results[k]["reproduces"] is not None]
    lines = []
    for a, b in zip(order, order[1:]):
        ra, rb = results[a]["reproduces"], results[b]["reproduces"]
        if not ra and rb:
            lines.append(f"appeared: last release without it Keras {a}, first with it {b}")
        elif ra and not rb:
            lines.append(f"went away: last release with it Keras {a}, first without it {b}")
    if not lines and order:
        state = "in every release tried" if results[order[0]]["reproduces"] else "in none"
        lines.append(f"reproduces {state} (Keras {order[0]} to {order[-1]})")
    return lines


def main(argv=None) -> int:
    parser = Parser(prog="python -m equivalence.bisect",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("target", help="results/failures/<id>/ or a known entry's name")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    ns = parser.parse_args(argv)
    if ns.probe:
        print(json.dumps(probe(json.loads(Path(ns.target).read_text()))))
        return 0
    try:
        case = case_from(ns.target)
    except BadInput as exc:
        print(f"keras-parity bisect: {exc}", file=sys.stderr)
        return 2
    case_file = CACHE / "bisect" / "case.json"
    case_file.parent.mkdir(parents=True, exist_ok=True)
    case_file.write_text(json.dumps(case))
    print(f"bisecting {ns.target}: {', '.join(f'{c} × {a}' for c, a in case['cells'][:4])}"
          + (" ..." if len(case["cells"]) > 4 else ""))
    for line in verdict(bisect(case_file)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
