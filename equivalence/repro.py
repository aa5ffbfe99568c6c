"""Failure repros: `repro.py` reruns a failure through the suite's own code; `minimal.py`
(written by `equivalence.minimal`) is the same check in plain Keras, for an upstream report.

A failure directory holds `spec.json`, `failure.json` (check, mode, the failing APIs, the
user's layer modules), `inputs.npz` and `weights.npz` (the Sequential model's leaf weights).
`repro.py` there, or `python -m equivalence.repro DIR`, builds the three models with
`equivalence.builders` — the builder the suite uses — gives them the saved weights, runs
the check and compares: exit 1 when a failing API still differs, 0 when not, 2 when the
script itself failed (or for bad input).

    python -m equivalence.repro results/failures/call-1a2b3c4d5e
    python -m equivalence.repro --known                # every known entry's example
    python -m equivalence.repro --known mask-into-float32-layer

`--known` writes each known upstream entry's example as a failure directory (minimal and
full repro) under `results/known/<entry>/`, for its first check and the APIs its cause
reaches; it checks nothing and exits 0.
"""
from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from equivalence.cli import Parser

SCRIPT = '''#!/usr/bin/env python
"""keras-parity repro: {check} ({mode}), recorded with TF {tf}, Keras {keras}.

Rebuilds the three models with keras-parity's own builder (the project must be importable:
`pip install -e .` in its checkout), gives them the weights and inputs saved beside this
file, runs the check and compares. Exit 1: the discrepancy reproduces; 0: it does not;
2: the script failed. minimal.py beside it is the check in plain Keras, without this project.
"""
import os
import sys
{legacy}
from equivalence.repro import main

sys.exit(main([os.path.dirname(os.path.abspath(__file__))]))
'''


def render(check, mode) -> str:
    from equivalence import compat

    legacy = ('os.environ["TF_USE_LEGACY_KERAS"] = "1"  # Keras 2 as tf_keras\n'
              if "tf_keras" in compat.KERAS_IMPORT else "")
    return SCRIPT.format(check=check.name, mode=mode.id, tf=compat.TF_VERSION,
                         keras=compat.KERAS_VERSION, legacy=legacy)


def failure_record(check, mode, failing) -> dict:
    """What failure.json holds: enough to run the check again exactly as the suite did."""
    from equivalence import plugins

    modules = sorted({source.split(" ", 1)[1] for source in plugins.LOADED.values()
                      if source.startswith("--parity-layers ")})
    return {"check": check.name, "mode": dataclasses.asdict(mode), "failing": list(failing),
            "parity_layers": ",".join(modules)}


class BadInput(Exception):
    pass


def load_failure(directory: Path):
    """(spec, check, mode, failing APIs, saved weights, inputs) of a failure directory."""
    import numpy as np

    from equivalence import plugins
    from equivalence.checks import CHECKS, Mode
    from equivalence.spec import SpecError, StackSpec

    missing = [name for name in ("spec.json", "failure.json", "inputs.npz", "weights.npz")
               if not (directory / name).is_file()]
    if missing:
        raise BadInput(f"{directory}: not a failure directory (no {', '.join(missing)})")
    try:
        record = json.loads((directory / "failure.json").read_text())
        spec = StackSpec.from_json((directory / "spec.json").read_text())
        check, mode = CHECKS[record["check"]], Mode(**record["mode"])
    except (ValueError, KeyError, TypeError, SpecError) as exc:
        raise BadInput(f"{directory}: unreadable failure ({type(exc).__name__}: {exc})") \
            from None
    plugins.load(record.get("parity_layers") or None)
    weights = dict(np.load(directory / "weights.npz"))
    x = np.load(directory / "inputs.npz")["x"]
    return spec, check, mode, tuple(record["failing"]), weights, x


def run(directory: Path) -> int:
    from equivalence.checks import compare, observe
    from equivalence.portable import APIS

    spec, check, mode, failing, weights, x = load_failure(directory)
    observed = observe(check, spec, mode, weights=weights, x=x)[0]
    problems = compare(check, spec, observed)
    for api in APIS:
        print(f"{check.name} {api}: {problems.get(api, 'matches')}")
    # Another API's difference (a known one the suite tolerated) is printed, not reproduced.
    reproduced = any(api in problems for api in failing)
    print("REPRODUCED" if reproduced else "NOT REPRODUCED")
    return 1 if reproduced else 0


def write_known(names: list[str], root: Path) -> list[Path]:
    """Each named known entry's example (all entries when `names` is empty) written as a
    failure directory under `root/<entry>/`."""
    from equivalence import artifacts, compat, known
    from equivalence.checks import CHECKS, example_mode

    entries = {e.name: e for e in known.KNOWN}
    unknown = [n for n in names if n not in entries]
    if unknown:
        raise BadInput(f"no known entry {unknown[0]!r} (python -m equivalence.known lists "
                       f"them; e.g. {', '.join(list(entries)[:2])})")
    written = []
    for entry in (entries[n] for n in names) if names else entries.values():
        check = CHECKS[entry.checks[0]]
        if not validate_quietly(entry.example):
            print(f"{entry.name}: its layer kinds are not drawn on Keras "
                  f"{compat.KERAS_VERSION}; not written")
            continue
        apis = [api for name, api in entry.cells() if name == check.name]
        written.append(artifacts.write_repro(root / entry.name, entry.example, check,
                                             example_mode(check, entry.jit_only), apis))
    return written


def validate_quietly(spec) -> bool:
    from equivalence.builders import validate
    from equivalence.spec import SpecError

    try:
        validate(spec)
        return True
    except SpecError:
        return False


def main(argv=None) -> int:
    parser = Parser(prog="python -m equivalence.repro",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("directories", nargs="*", type=Path, metavar="DIR",
                        help="a failure directory (results/failures/<id>)")
    parser.add_argument("--known", nargs="*", metavar="ENTRY", default=None,
                        help="write the known entries' examples (all when none named)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where --known writes (default: results/known)")
    ns = parser.parse_args(argv)
    from equivalence.plugins import BadPlugin  # no TensorFlow: importable before the checks
    if (ns.known is None) == (not ns.directories):
        parser.error("give failure directories or --known (not both)")
    try:
        if ns.known is not None:
            from equivalence import artifacts

            for path in write_known(ns.known, ns.out or artifacts.RESULTS_DIR / "known"):
                print(f"{path}/minimal.py  {path}/repro.py")
            return 0
        status = 0
        for directory in ns.directories:
            status = max(status, run(directory))
        return status
    except (BadInput, BadPlugin) as exc:
        print(f"equivalence.repro: {exc}", file=sys.stderr)
        return 2
    except Exception:  # noqa: BLE001 - the script failed: that is not a reproduction
        import traceback

        traceback.print_exc()
        return 2


if __name__ == "__main__":
    sys.exit(main())
