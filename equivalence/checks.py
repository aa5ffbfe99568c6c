"""The named checks, the compile modes, and `verify`, which runs one check on one spec.

A check observes something on each model (see the observe_* functions in `portable`) and
compares each API's observation with Sequential's, or two observations inside one API.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Callable

from equivalence import artifacts, features, known, portable, summary, workarounds
from equivalence.builders import build, build_all
from equivalence.causes import disagrees_with_itself
from equivalence.compare import (BITWISE, ERROR, compare_observations, differences,
                                 tolerance_for)
from equivalence.data import feedable, make_inputs
from equivalence.layers import REGISTRY
from equivalence.portable import APIS
from equivalence.spec import StackSpec, leaves


@dataclass(frozen=True)
class Mode:
    """A compile mode; always explicit, recorded in test ids and results."""

    jit_compile: bool = False
    run_eagerly: bool = False
    # Training checks only: compile() with this optimizer and loss (portable.OPTIMIZERS,
    # portable.LOSSES) and steps_per_execution.
    optimizer: str | None = None
    loss: str | None = None
    steps_per_execution: int = 1

    @property
    def id(self) -> str:
        text = f"jit_compile={self.jit_compile}-run_eagerly={self.run_eagerly}"
        if self.optimizer:
            text += (f"-optimizer={self.optimizer}-loss={self.loss}"
                     f"-steps_per_execution={self.steps_per_execution}")
        return text

    def training(self, optimizer: str, loss: str, steps_per_execution: int = 1) -> "Mode":
        return dataclasses.replace(self, optimizer=optimizer, loss=loss,
                                   steps_per_execution=steps_per_execution)

    def compile_kwargs(self) -> dict:
        return portable.training_kwargs(self.optimizer, self.loss, self.steps_per_execution)


MODES = (Mode(), Mode(jit_compile=True), Mode(run_eagerly=True))
DEFAULT_MODE = MODES[0]


def example_mode(check: "Check", jit_compile: bool = False) -> Mode:
    """The mode a known entry's example runs a check in: jit_compile where its cause needs
    it; training checks compile with an optimizer and a loss (any will do for an example)."""
    mode = DEFAULT_MODE.training("sgd_momentum", "mse") if check.trains else DEFAULT_MODE
    return dataclasses.replace(mode, jit_compile=jit_compile and check.modal)


@dataclass(frozen=True)
class Check:
    name: str
    observe: Callable
    modal: bool = False  # depends on jit_compile / run_eagerly
    # Compare observations inside each API: the later keys with the first (all other keys
    # when only the first is named), instead of each API with Sequential.
    within: tuple[str, ...] | None = None
    doc: str = ""
    fresh: bool = False  # observe(model, x, fresh) gets fresh(api): a new model, other weights
    trains: bool = False  # compiled with the mode's optimizer and loss
    # Saving, loading and rebuilding: an exception is the API's observation (a finding).
    raises_is_finding: bool = False
    # Its property test (equivalence/test_checks.py), generated from these fields: what it
    # draws ("stacks"; "trainable": stacks ending in a Dense head; "training": a trainable
    # stack with an optimizer, a loss and steps per execution; "training_batch": the same
    # for the batch methods), its share of the profile's examples (per compile mode for a
    # modal check), and why it does not run on this Keras, if it does not.
    draws: str = "stacks"
    share: float = 1.0
    not_here: Callable[[], str] = lambda: ""


# Every saving check writes and reads files for three models: half the profile's examples
# (3 under dev, 150 nightly). Training a stack three times costs 1-10 s (an XLA compile per
# model in the jit mode): a sixth per mode (1 under dev, 50 nightly).
_SAVING, _TRAINING = 1 / 2, 1 / 6


def _keras2_only() -> str:
    from equivalence.compat import IS_KERAS3

    return ("Keras 3's save_weights writes .weights.h5 only; TF-format checkpoints are "
            "Keras 2's") if IS_KERAS3 else ""


CHECKS = {c.name: c for c in (
    Check("predict", portable.observe_predict, modal=True,
          doc="model.predict output, each API against Sequential"),
    Check("predict_on_batch", portable.observe_predict_on_batch, modal=True,
          doc="model.predict_on_batch output, each API against Sequential"),
    Check("predict_vs_call", portable.observe_predict_vs_call, modal=True,
          within=("predict", "call"), doc="predict against __call__ inside each API"),
    Check("call", portable.observe_call, doc="__call__(training=False), against Sequential"),
    Check("training_calls", portable.observe_training_calls,
          doc="a sequence of __call__(training=True) then one inference call"),
    Check("output_spec", portable.observe_output_spec, doc="output shape and dtype"),
    Check("weights", portable.observe_weights,
          doc="names, shapes, dtypes and order of weights; trainable split; count_params"),
    Check("weight_paths", portable.observe_weight_paths,
          doc="the raw variable paths (names on Keras 2) of model.weights"),
    Check("flat_weights", portable.observe_flat_weights,
          doc="the flat get_weights() list, in order"),
    Check("losses", portable.observe_losses, doc="model.losses after a call"),
    Check("output_mask", portable.observe_output_mask, doc="the mask on the output"),
    # Saving and loading: each API against itself, so a loss on the way is caught where it
    # happens; with bitwise equality that also makes the APIs agree with each other.
    Check("keras_file", portable.observe_keras_file, within=("original",),
          raises_is_finding=True, share=_SAVING,
          doc=".keras save + load_model(safe_mode=True): class, config, weights, output"),
    Check("weights_file", portable.observe_weights_file, within=("source",), fresh=True,
          raises_is_finding=True, share=_SAVING,
          doc="save_weights loaded into a fresh model of every API (all ordered pairs)"),
    Check("weights_checkpoint", portable.observe_weights_checkpoint, within=("source",),
          fresh=True, raises_is_finding=True, share=_SAVING, not_here=_keras2_only,
          doc="Keras 2: a TF-format save_weights checkpoint loaded into every API"),
    Check("config", portable.observe_config, within=("original",), raises_is_finding=True,
          share=_SAVING,
          doc="get_config/from_config and to_json/model_from_json round trips"),
    Check("export", portable.observe_export, within=("graph",), raises_is_finding=True,
          share=_SAVING,
          doc="SavedModel for serving, reloaded by tf.saved_model.load, against the same "
              "call as a tf.function"),
    Check("legacy_h5", portable.observe_legacy_h5, within=("original",),
          raises_is_finding=True, share=_SAVING, doc="whole-model legacy HDF5 save + load"),
    # Training: each API against Sequential, in the mode's compile mode, optimizer and loss.
    Check("fit", portable.observe_fit, modal=True, trains=True, draws="training",
          share=_TRAINING,
          doc="fit, shuffle off: loss history, all weights, optimizer variables"),
    Check("train_steps", portable.observe_train_steps, modal=True, trains=True,
          draws="training_batch", share=_TRAINING,
          doc="train_on_batch, test_on_batch, evaluate; then weights and optimizer"),
    Check("gradients", portable.observe_gradients, draws="trainable",
          doc="loss and tf.GradientTape gradients of a training-mode call"),
    Check("resume", portable.observe_resume, modal=True, trains=True, draws="training",
          share=_TRAINING,
          within=("uninterrupted",), raises_is_finding=True,
          doc="fit, save .keras, load, fit on == fit on without the interruption"),
)}


def observe(check: Check, spec: StackSpec, mode: Mode = DEFAULT_MODE,
            workarounds_: tuple[str, ...] = (), weights: dict | None = None,
            x=None) -> dict:
    """({api: observation}, models, inputs, initial weights): models built fresh, with the
    named workarounds of known discrepancies in place (see `equivalence.workarounds`).

    A repro passes the `weights` (portable.leaf_weights) and inputs `x` it saved."""
    with workarounds.applied(workarounds_):
        return _observe(check, spec, mode, weights, x)


def _observe(check: Check, spec: StackSpec, mode: Mode, weights=None, x=None) -> dict:
    models = build_all(spec)
    if weights is not None:
        for model in models.values():
            portable.set_leaf_weights(model, weights)
    weights = portable.leaf_weights(models["sequential"])  # before any call mutates them
    x = make_inputs(spec) if x is None else x
    fed = feedable(x)
    kwargs = {"fresh": lambda api: build(spec.reseeded(), api)} if check.fresh else {}
    out = {}
    for api in APIS:
        if check.modal:
            portable.compile_for(models[api], mode.jit_compile, mode.run_eagerly,
                                 **(mode.compile_kwargs() if check.trains else {}))
        if check.raises_is_finding:
            out[api] = portable.observe_safely(check.observe, models[api], fed, **kwargs)
        else:
            out[api] = check.observe(models[api], fed, **kwargs)
    return out, models, x, weights


def compare(check: Check, spec: StackSpec, observed: dict) -> dict[str, str]:
    """{api: mismatch message} for each API whose observation disagrees."""
    tol = tolerance_for(check.name, spec.compute_dtype)
    tols = {} if tol is BITWISE else {"rtol": tol.rtol, "atol": tol.atol}
    if tol.per_rounding:  # inside each API: its own measured rounding response
        problems = {}
        for api, obs in observed.items():
            problems.update(compare_observations({api: obs}, check.within, rtol=tol.rtol,
                                                 atol=tol.atol_for(obs)))
    else:
        problems = compare_observations(observed, check.within, **tols)
    if check.raises_is_finding and problems:
        expected = refused(spec, observed)
        problems = {api: msg for api, msg in problems.items() if api not in expected}
    suffix = f" [tolerance: {tol.reason}]" if tols else ""
    return {api: msg + suffix for api, msg in problems.items()}


def refused(spec: StackSpec, observed: dict) -> set[str]:
    """The APIs that refused to reload the stack with the error a layer of it must raise
    (LayerInfo.refusal: a Lambda of a Python lambda in safe mode) — where no API loaded it:
    one API loading what the others refuse stays a finding, and an API failing earlier
    for another reason (a subclassed model in a legacy .h5 file) keeps its own error."""
    patterns = [REGISTRY[leaf.kind].refusal for leaf in leaves(spec.layers)
                if REGISTRY[leaf.kind].refusal]
    if not patterns or any(ERROR not in obs for obs in observed.values()):
        return set()
    return {api for api, obs in observed.items()
            if any(re.search(p, obs[ERROR]) for p in patterns)}


class Discrepancy(AssertionError):
    """The APIs disagree on a check; the message holds the spec and the repro path."""


def verify(check_name: str, spec: StackSpec, mode: Mode = DEFAULT_MODE) -> None:
    """Run one check on one spec across the three APIs; raise Discrepancy on a real one.

    A known upstream discrepancy (see `known`) is tolerated and counted only where its
    cause is shown to be at work; its strictness lives in `test_known.py`, which runs each
    entry's example.
    """
    if summary.budget_spent():  # --parity-budget: no new example is checked
        import pytest

        pytest.skip("--parity-budget spent: this test's remaining examples not checked")
    check = CHECKS[check_name]
    mode = mode if check.modal else DEFAULT_MODE
    observed, models, x, weights = observe(check, spec, mode)
    problems = compare(check, spec, observed)
    expected = explain(check, spec, mode, observed, problems)
    failures = {api: msg for api, msg in problems.items() if api not in expected}
    final = _is_final_example()
    # A passing example is a real result whenever it runs (Hypothesis replays only failing
    # ones as final); a failing one counts once, on the final replay, not while shrinking.
    summary.record(spec, check.name, compared=len(APIS), failed=len(failures) if final else 0,
                   known=len(expected),
                   outcomes=outcomes(check, spec, observed, failures, expected)
                   if final or not failures else None,
                   features=features.features_of(spec, models["sequential"])
                   | {f"family:{f}" for f in features.families_of(spec)})
    if failures and not final:  # Hypothesis is still shrinking: no artifacts yet
        raise Discrepancy(f"{check.name} differs across APIs (shrinking)")
    if failures:
        where = artifacts.write_failure(spec, check, mode, failures, weights, x)
        lines = "\n".join(f"  {api}: {msg}" for api, msg in failures.items())
        unstable = self_disagreement(check, spec, mode, observed)
        if unstable:
            lines += (f"\n  but the check does not reproduce inside one API: observed again, "
                      f"{', '.join(unstable)} differ(s) from the first observation, so the "
                      f"difference may not be the APIs' doing")
        raise Discrepancy(
            f"{check.name} ({mode.id}) differs across APIs:\n{lines}\n"
            f"spec: {spec.to_json()}\nrepro: python {where / 'repro.py'}   "
            # `--replay=PATH`, one token: pytest takes a separate PATH for a test path and
            # would load the conftest of the checkout it lies in (a second --replay option)
            f"replay: pytest --replay={where / 'spec.json'}")


def self_disagreement(check: Check, spec: StackSpec, mode: Mode, observed: dict) -> list[str]:
    """The APIs whose observation, made a second time, differs from the first (bitwise)."""
    again = observe(check, spec, mode)[0]
    return [api for api in APIS if disagrees_with_itself(observed, again, api)]


def explain(check: Check, spec: StackSpec, mode: Mode, observed: dict,
            problems: dict) -> dict[str, list]:
    """{api: [known entries]} for the differences a known cause explains (known.explain)."""
    if not problems:
        return {}
    return known.explain(check.name, spec, observed, problems,
                         compare=lambda obs: compare(check, spec, obs),
                         reobserve=lambda names: observe(check, spec, mode, names)[0],
                         jit_compile=mode.jit_compile)


def outcomes(check: Check, spec: StackSpec, observed: dict, failures: dict,
             expected: dict) -> dict[str, dict]:
    """{api: {"status": exact|tolerance|known|failing, ...}} for the equivalence matrix:
    a known entry's reference, a tolerance's name and the largest difference within it."""
    tol = tolerance_for(check.name, spec.compute_dtype)
    diffs = differences(observed, check.within) if tol is not BITWISE else {}
    out = {}
    for api in APIS:
        if api in failures:
            out[api] = {"status": "failing"}
        elif api in expected:
            out[api] = {"status": "known",
                        "reference": "; ".join(e.reference for e in expected[api])}
        elif tol is not BITWISE:
            out[api] = {"status": "tolerance", "tolerance": f"{tol.check}/{tol.dtype}",
                        "largest_difference": diffs.get(api, 0.0)}
        else:
            out[api] = {"status": "exact"}
    return out


def _is_final_example() -> bool:
    """False while Hypothesis is exploring or shrinking, True on its final replay of the
    minimal failing example (and outside Hypothesis, e.g. under --replay or in tests)."""
    try:
        from hypothesis.control import current_build_context

        return bool(current_build_context().is_final)
    except Exception:  # no Hypothesis context: a direct call
        return True
