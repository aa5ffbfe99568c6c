"""Failure artifacts: results/failures/<id>/ with spec.json, failure.json, inputs, weights,
repro.py (the suite's code) and minimal.py (plain Keras).

A directory is written under a temporary name and renamed into place, so a killed run never
leaves a half-written artifact, and earlier artifacts are never touched.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from equivalence import minimal, repro, summary
from equivalence.atomic import atomic_directory

RESULTS_DIR = Path(os.environ.get("KERAS_PARITY_RESULTS", "results"))


def failure_dir(spec, check, mode) -> Path:
    suffix = f"-{mode.id}" if check.modal else ""
    return RESULTS_DIR / "failures" / f"{check.name}{suffix}-{spec.digest}"


def write_failure(spec, check, mode, failures: dict, weights, x) -> Path:
    """Write everything needed to replay a discrepancy; return the directory."""
    final = write_repro(failure_dir(spec, check, mode), spec, check, mode, tuple(failures),
                        weights, x, failures)
    summary.record_failure(final)
    return final


def write_repro(final: Path, spec, check, mode, failing, weights=None, x=None,
                failures=None) -> Path:
    """A failure directory at `final`: the spec, what failed, inputs and weights, repro.py
    and minimal.py. Without `weights` and `x`, those the suite builds for the spec."""
    if weights is None or x is None:
        from equivalence.builders import build
        from equivalence.data import make_inputs
        from equivalence.portable import leaf_weights

        weights, x = leaf_weights(build(spec, "sequential")), make_inputs(spec)
    with atomic_directory(final) as tmp:
        (tmp / "spec.json").write_text(spec.to_json(indent=1))
        (tmp / "failure.json").write_text(
            json.dumps(repro.failure_record(check, mode, failing), indent=1) + "\n")
        np.savez(tmp / "inputs.npz", x=x)
        np.savez(tmp / "weights.npz", **weights)
        if failures:
            (tmp / "failure.txt").write_text(
                "\n".join(f"{api}: {msg}" for api, msg in failures.items()) + "\n")
        (tmp / "repro.py").write_text(repro.render(check, mode))
        (tmp / "minimal.py").write_text(minimal.render(spec, check, mode, failing, weights, x))
    return final
