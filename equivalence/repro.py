"""Render a standalone repro script (TensorFlow, Keras and NumPy only) for a failure.

The script embeds the suite's own model assembly and comparison code (the PORTABLE parts
of `portable.py` and `compare.py`), rebuilds the three models from `blueprint.json`, loads
the reference weights and inputs saved beside it, runs the failing check and exits 1 when
the discrepancy reproduces, 0 when it does not.
"""
from __future__ import annotations

import inspect

from equivalence import compare, compat, portable

MARKER = "# --- PORTABLE"

HEADER = '''#!/usr/bin/env python
"""keras-parity repro: {check} ({mode}) — generated; needs TensorFlow and NumPy only.

Run `python repro.py` from anywhere: exit 1 means the discrepancy reproduces, 0 that it does
not, 2 that the script itself failed (a traceback is printed). Recorded with TF {tf}, Keras {keras}.
"""
import contextlib
import importlib
import inspect
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2"){legacy}
import numpy as np
import tensorflow as tf

tf.config.experimental.enable_op_determinism()
{keras_import}
IS_KERAS3 = {is_keras3}
HERE = os.path.dirname(os.path.abspath(__file__))
'''

DRIVER = '''

CHECK, OBSERVE, WITHIN = {check!r}, observe_{check}, {within!r}
MODAL, JIT_COMPILE, RUN_EAGERLY = {modal!r}, {jit!r}, {eager!r}
# (optimizer, loss, steps_per_execution) for training checks; FRESH: the check loads into
# freshly built models; SAFE: an exception is the observation (saving and loading checks).
TRAINING, FRESH, SAFE = {training!r}, {fresh!r}, {safe!r}
SEED = {seed!r}
# The APIs the suite found differing: another API's difference (a known upstream one the
# suite tolerated) is printed but is not what this script reproduces.
FAILING = {failing!r}
RTOL, ATOL = {rtol!r}, {atol!r}
POLICY, INPUT_SHAPE, INPUT_DTYPE = {policy!r}, {shape!r}, {dtype!r}


def layer_from(bp, outer_api):
    if "nested" in bp:
        api = outer_api if bp["nested"] == "same" else bp["nested"]
        inner = [layer_from(b, api) for b in bp["layers"]]
        return assemble(api, inner, tuple(bp["shape"]), "float32", name=bp["name"])
    if "module" in bp:  # a layer of the user's own: importing its module registers the class
        importlib.import_module(bp["module"])
    return keras.layers.deserialize(bp["keras"])


def set_leaf_weights(model, saved):
    for layer in stack_layers(model):
        if isinstance(layer, keras.Model):
            set_leaf_weights(layer, saved)
        else:
            n = len(layer.get_weights())
            layer.set_weights([saved[f"{{layer.name}}::{{i}}"] for i in range(n)])


def build(api, blueprint, saved, seed=SEED):
    keras.utils.set_random_seed(seed)
    keras.mixed_precision.set_global_policy(POLICY)
    try:
        layers = [layer_from(bp, api) for bp in blueprint]
        model = assemble(api, layers, INPUT_SHAPE, INPUT_DTYPE)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    if saved is not None:
        set_leaf_weights(model, saved)
    if MODAL:
        compile_for(model, JIT_COMPILE, RUN_EAGERLY,
                    **(training_kwargs(*TRAINING) if TRAINING else {{}}))
    return model


def observe(api, blueprint, saved, x):
    model = build(api, blueprint, saved)
    kwargs = {{"fresh": lambda other: build(other, blueprint, None, SEED + 1)}} if FRESH else {{}}
    if SAFE:
        return observe_safely(OBSERVE, model, x, **kwargs)
    return OBSERVE(model, x, **kwargs)


def main():
    with open(os.path.join(HERE, "blueprint.json")) as fh:
        blueprint = json.load(fh)["layers"]
    saved = dict(np.load(os.path.join(HERE, "weights.npz")))
    x = np.load(os.path.join(HERE, "inputs.npz"))["x"]
    observed = {{api: observe(api, blueprint, saved, x) for api in APIS}}
    problems = compare_observations(observed, WITHIN, RTOL, ATOL)
    for api in APIS:
        print(f"{{CHECK}} {{api}}: {{problems.get(api, 'matches')}}")
    reproduced = any(api in problems for api in FAILING)
    print("REPRODUCED" if reproduced else "NOT REPRODUCED")
    return 1 if reproduced else 0


if __name__ == "__main__":
    try:
        status = main()
    except Exception:  # an error is not a reproduction: keep exit 1 for that
        import traceback

        traceback.print_exc()
        status = 2
    sys.exit(status)
'''


def portable_source(module) -> str:
    """The module's source from its PORTABLE marker down."""
    source = inspect.getsource(module)
    return source[source.index(MARKER):]


def render(spec, check, mode, failing=("sequential", "functional", "subclassed")) -> str:
    from equivalence.compare import tolerance_for

    tol = tolerance_for(check.name, spec.compute_dtype)
    legacy = ('\nos.environ["TF_USE_LEGACY_KERAS"] = "1"'
              if "tf_keras" in compat.KERAS_IMPORT else "")
    header = HEADER.format(check=check.name, mode=mode.id, tf=compat.TF_VERSION,
                           keras=compat.KERAS_VERSION, legacy=legacy,
                           keras_import=compat.KERAS_IMPORT, is_keras3=compat.IS_KERAS3)
    driver = DRIVER.format(
        check=check.name, within=check.within, modal=check.modal, jit=mode.jit_compile,
        eager=mode.run_eagerly,
        rtol=tol.rtol if tol.rtol or tol.atol else None,
        atol=tol.atol if tol.rtol or tol.atol else None,
        policy=spec.policy, shape=tuple(spec.input.shape), dtype=spec.input.dtype,
        seed=spec.seed, fresh=check.fresh, failing=tuple(failing), safe=check.raises_is_finding,
        training=((mode.optimizer, mode.loss, mode.steps_per_execution)
                  if check.trains and mode.optimizer else None))
    return "\n".join([header, portable_source(portable), portable_source(compare), driver])
