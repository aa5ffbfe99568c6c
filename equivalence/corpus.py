"""Saved models across TensorFlow versions: write a corpus, check every other version's.

    python -m equivalence.corpus write [--root results/corpus]
    python -m equivalence.corpus check [--root results/corpus]

`write` saves, for a fixed list of stacks (named workloads from benchmarks.workloads, so a
name means the same model in every version), each API's model in every format this Keras
has — the native .keras file, a .weights.h5 file, a legacy whole-model .h5 file and a
SavedModel for serving — with the inputs and each model's reference outputs, under
`<root>/<tf>-<keras>/` (a manifest.json lists what was written and what could not be).

`check` loads every entry of every version directory under `<root>` (its own included, as
the diagonal) in this TensorFlow, runs the saved inputs through it and compares with the
writer's reference outputs. Each (writer, reader, stack, API, format) gets a status:
exact (bitwise), close (within CROSS_VERSION_TOLERANCE, with the largest difference),
differs, fails (it did not load or run, with the error) or hangs (the load did not return
within LOAD_SECONDS). The compatibility matrix goes
to `<root>/matrix-<tf>-<keras>.json` and a summary table to stdout.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.workloads import WORKLOADS
from equivalence import compat, portable
from equivalence.atomic import atomic_directory
from equivalence.cli import Parser
from equivalence.builders import build, build_all
from equivalence.compat import keras
from equivalence.data import make_inputs

SCHEMA = "keras-parity-corpus/1"
STACKS = ("mlp_small", "cnn1d", "lstm", "bigru", "embedding_pool", "nested")
BATCH = 4
# Across TF versions kernels may change (oneDNN, Eigen, XLA), so a loaded model's output
# may differ from the writer's in the last bits; "close" names how far. Within one
# version the oracle stays bitwise (the diagonal must be exact).
CROSS_VERSION_TOLERANCE = {"rtol": 1e-5, "atol": 1e-6}


class CorpusError(Exception):
    """Bad input: one line for the user, exit 2."""


def version_dir_name() -> str:
    return f"tf{compat.TF_VERSION}-keras{compat.KERAS_VERSION}"


def _files(stack: str, api: str) -> dict[str, str]:
    """{format: file name} of one stack and API."""
    return {"keras": f"{stack}-{api}.keras", "weights": f"{stack}-{api}.weights.h5",
            "h5": f"{stack}-{api}.h5", "saved_model": f"{stack}-{api}-saved_model"}


def _save(model, fmt: str, path: str) -> None:
    if fmt == "weights":
        model.save_weights(path)
    elif fmt == "saved_model":
        portable.save_for_serving(model, path)
    else:  # .keras and legacy .h5: the suffix chooses
        model.save(path)


LOAD_SECONDS = 60  # one load and call takes 0.1-5 s here; past this it is taken as a hang


class Hang(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: int):
    """Interrupt the block with Hang after `seconds` (SIGALRM: the main thread, POSIX).
    Keras 3.8 loops forever on some Keras 2 legacy .h5 files; the matrix says so."""
    def alarm(signum, frame):
        raise Hang(f"no result after {seconds} s (the load never returned)")

    if not hasattr(signal, "SIGALRM"):
        yield
        return
    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _load_and_run(fmt: str, path: str, stack: str, api: str, x: np.ndarray) -> np.ndarray:
    if fmt == "saved_model":
        return portable.serve(path, x)
    if fmt == "weights":
        model = build(WORKLOADS[stack].reseeded(), api)  # other weights until loaded
        model.load_weights(path)
    else:
        model = keras.models.load_model(path, **({"safe_mode": True} if fmt == "keras" else {}))
    return portable.as_array(model(x, training=False))


def write(root: Path) -> Path:
    """Write this version's corpus directory (atomically: a temporary directory renamed)."""
    final = root / version_dir_name()
    with atomic_directory(final) as tmp:
        entries = []
        for stack in STACKS:
            spec = dataclasses.replace(WORKLOADS[stack], batch=BATCH)
            x = make_inputs(spec)
            np.save(tmp / f"{stack}.inputs.npy", x)
            for api, model in build_all(spec).items():
                reference = portable.as_array(model(x, training=False))
                np.save(tmp / f"{stack}-{api}.outputs.npy", reference)
                for fmt, name in _files(stack, api).items():
                    entry = {"stack": stack, "api": api, "format": fmt, "file": name}
                    try:
                        _save(model, fmt, str(tmp / name))
                    except Exception as exc:  # noqa: BLE001 - a format this API cannot write
                        entry["write_error"] = portable.describe_error(exc)
                    entries.append(entry)
        manifest = {"schema": SCHEMA, "versions": compat.versions(), "batch": BATCH,
                    "stacks": list(STACKS), "entries": entries}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return final


def _manifests(root: Path) -> list[tuple[Path, dict]]:
    if not root.is_dir():
        raise CorpusError(f"no corpus directory at {root} (write one with "
                          f"`python -m equivalence.corpus write`)")
    found = []
    for manifest in sorted(root.glob("*/manifest.json")):
        try:
            data = json.loads(manifest.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise CorpusError(f"{manifest}: not a readable corpus manifest ({exc})") from None
        schema = data.get("schema") if isinstance(data, dict) else None
        if schema != SCHEMA:
            raise CorpusError(f"{manifest}: schema {schema!r}, expected {SCHEMA!r}")
        if not {"versions", "entries"} <= data.keys():
            raise CorpusError(f"{manifest}: no 'versions' or 'entries'")
        found.append((manifest.parent, data))
    if not found:
        raise CorpusError(f"{root} holds no corpus (no */manifest.json)")
    return found


def _compare(got: np.ndarray, want: np.ndarray) -> tuple[str, float | None]:
    if got.shape != want.shape:
        return "differs", None
    if np.array_equal(got, want, equal_nan=True):
        return "exact", 0.0
    diff = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64))))
    if np.allclose(got, want, equal_nan=True, **CROSS_VERSION_TOLERANCE):
        return "close", diff
    return "differs", diff


def check(root: Path) -> dict:
    """Load every corpus entry under `root` here; return the compatibility matrix."""
    rows = []
    for directory, manifest in _manifests(root):
        writer = manifest["versions"]
        for entry in manifest["entries"]:
            row = {"written_by": f"tf{writer['tf']}-keras{writer['keras']}",
                   "read_by": version_dir_name(), "stack": entry["stack"], "api": entry["api"],
                   "format": entry["format"], "max_abs_diff": None, "error": None}
            if "write_error" in entry:
                row.update(status="not written", error=entry["write_error"])
                rows.append(row)
                continue
            x = np.load(directory / f"{entry['stack']}.inputs.npy")
            want = np.load(directory / f"{entry['stack']}-{entry['api']}.outputs.npy")
            try:
                with _time_limit(LOAD_SECONDS):
                    got = _load_and_run(entry["format"], str(directory / entry["file"]),
                                        entry["stack"], entry["api"], x)
                row["status"], row["max_abs_diff"] = _compare(got, want)
            except Hang as exc:
                row.update(status="hangs", error=str(exc))
            except Exception as exc:  # noqa: BLE001 - the finding: this file does not load here
                row.update(status="fails", error=portable.describe_error(exc))
            rows.append(row)
    return {"schema": SCHEMA, "reader": compat.versions(),
            "tolerance": CROSS_VERSION_TOLERANCE, "load_seconds": LOAD_SECONDS, "rows": rows}


def table(matrix: dict):
    """Writer × format counts of each status, as a pandas table."""
    frame = pd.DataFrame(matrix["rows"])
    return (frame.groupby(["written_by", "read_by", "format", "status"]).size()
            .unstack("status", fill_value=0))


def main(argv=None) -> int:
    parser = Parser(prog="python -m equivalence.corpus",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("write", "check"))
    parser.add_argument("--root", type=Path,
                        default=Path(os.environ.get("KERAS_PARITY_CORPUS",
                                                    "results/corpus")),
                        help="the corpus root (default: $KERAS_PARITY_CORPUS or "
                             "results/corpus)")
    args = parser.parse_args(argv)
    try:
        if args.command == "write":
            print(f"corpus written to {write(args.root)}")
            return 0
        matrix = check(args.root)
    except CorpusError as exc:
        print(f"keras-parity corpus: {exc}", file=sys.stderr)
        return 2
    out = args.root / f"matrix-{version_dir_name()}.json"
    out.write_text(json.dumps(matrix, indent=1))
    with pd.option_context("display.width", 200, "display.max_rows", 500,
                           "display.max_columns", None):
        print(table(matrix))
    print(f"compatibility matrix: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
