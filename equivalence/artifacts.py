"""Failure artifacts: results/failures/<id>/ with spec.json, inputs, weights and repro.py.

A directory is written under a temporary name and renamed into place, so a killed run never
leaves a half-written artifact, and earlier artifacts are never touched.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from equivalence import repro, summary
from equivalence.atomic import atomic_directory
from equivalence.compat import keras
from equivalence.layers import REGISTRY
from equivalence.portable import stack_layers

RESULTS_DIR = Path(os.environ.get("KERAS_PARITY_RESULTS", "results"))


def blueprint(model, layer_specs, shape) -> list[dict]:
    """The built layers as Keras configs, nested models as their API and inner layers.

    A nested "same" API is written as "same" and resolved by the repro per outer API."""
    out = []
    for layer, ls in zip(stack_layers(model), layer_specs):
        if ls.kind == "Nested":
            out.append({"nested": ls.params["api"], "name": layer.name, "shape": list(shape),
                        "layers": blueprint(layer, ls.params["layers"], shape)})
        elif REGISTRY[ls.kind].cls is not None:  # the user's own class: the repro imports it
            out.append({"keras": keras.layers.serialize(layer),
                        "module": REGISTRY[ls.kind].cls.__module__})
        else:
            out.append({"keras": keras.layers.serialize(layer)})
        shape = REGISTRY[ls.kind].output_shape(shape, ls.params)
    return out


def failure_dir(spec, check, mode) -> Path:
    suffix = f"-{mode.id}" if check.modal else ""
    return RESULTS_DIR / "failures" / f"{check.name}{suffix}-{spec.digest}"


def write_failure(spec, check, mode, failures: dict, reference, weights, x) -> Path:
    """Write everything needed to replay a discrepancy; return the directory."""
    final = failure_dir(spec, check, mode)
    with atomic_directory(final) as tmp:
        (tmp / "spec.json").write_text(spec.to_json(indent=1))
        np.savez(tmp / "inputs.npz", x=x)
        np.savez(tmp / "weights.npz", **weights)
        bp = blueprint(reference, spec.layers, spec.input.shape)
        (tmp / "blueprint.json").write_text(json.dumps({"layers": bp}, indent=1, default=list))
        (tmp / "failure.txt").write_text(
            "\n".join(f"{api}: {msg}" for api, msg in failures.items()) + "\n")
        (tmp / "repro.py").write_text(repro.render(spec, check, mode, failures))
    summary.record_failure(final)
    return final
