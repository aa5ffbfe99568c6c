"""The named checks, the compile modes, and `verify`, which runs one check on one spec.

A check observes something on each model (see the observe_* functions in `portable`) and
compares each API's observation with Sequential's, or two observations inside one API.
"""
from __future__ import annotations

import dataclasses
import functools
import re
import warnings
from dataclasses import dataclass
from typing import Callable

from equivalence import artifacts, features, known, portable, summary, workarounds
from equivalence.builders import build, build_all
from equivalence.causes import SelfDisagrees, disagrees_with_itself
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
    # The checks of one group share one property test, `test_<group>`: one draw, and per
    # example one built set of models that each check observes in the table's order (a
    # check that changes a model's state, training_calls' BatchNormalization statistics
    # and seed streams, after those that only read it). Building and a first predict cost
    # most of a check; a group pays them once. See verify_group.
    group: str | None = None


# Every saving check writes and reads files for three models: half the profile's examples
# (3 under dev, 150 nightly). Training a stack three times costs 1-10 s (an XLA compile per
# model in the jit mode): a sixth per mode (1 under dev, 50 nightly).
_SAVING, _TRAINING = 1 / 2, 1 / 6


def _keras2_only() -> str:
    from equivalence.compat import IS_KERAS3

    return ("Keras 3's save_weights writes .weights.h5 only; TF-format checkpoints are "
            "Keras 2's") if IS_KERAS3 else ""


CHECKS = {c.name: c for c in (
    Check("predict", portable.observe_predict, modal=True, group="predict",
          doc="model.predict output, each API against Sequential"),
    Check("predict_on_batch", portable.observe_predict_on_batch, modal=True, group="predict",
          doc="model.predict_on_batch output, each API against Sequential"),
    Check("predict_vs_call", portable.observe_predict_vs_call, modal=True, group="predict",
          within=("predict", "call"), doc="predict against __call__ inside each API"),
    Check("call", portable.observe_call, group="structure",
          doc="__call__(training=False), against Sequential"),
    Check("output_spec", portable.observe_output_spec, group="structure",
          doc="output shape and dtype"),
    Check("weights", portable.observe_weights, group="structure",
          doc="names, shapes, dtypes and order of weights; trainable split; count_params"),
    Check("weight_paths", portable.observe_weight_paths, group="structure",
          doc="the raw variable paths (names on Keras 2) of model.weights"),
    Check("flat_weights", portable.observe_flat_weights, group="structure",
          doc="the flat get_weights() list, in order"),
    Check("losses", portable.observe_losses, group="structure",
          doc="model.losses after a call"),
    Check("output_mask", portable.observe_output_mask, group="structure",
          doc="the mask on the output"),
    # Last of its group: training calls move BatchNormalization statistics and seed streams.
    Check("training_calls", portable.observe_training_calls, group="structure",
          doc="a sequence of __call__(training=True) then one inference call"),
    # Saving and loading: each API against itself, so a loss on the way is caught where it
    # happens; with bitwise equality that also makes the APIs agree with each other. The
    # round trips only read the model; a SavedModel export, which traces its call into
    # functions kept on it, comes last.
    Check("config", portable.observe_config, within=("original",), raises_is_finding=True,
          share=_SAVING, group="saving",
          doc="get_config/from_config and to_json/model_from_json round trips"),
    Check("keras_file", portable.observe_keras_file, within=("original",),
          raises_is_finding=True, share=_SAVING, group="saving",
          doc=".keras save + load_model(safe_mode=True): class, config, weights, output"),
    Check("legacy_h5", portable.observe_legacy_h5, within=("original",),
          raises_is_finding=True, share=_SAVING, group="saving",
          doc="whole-model legacy HDF5 save + load"),
    Check("weights_file", portable.observe_weights_file, within=("source",), fresh=True,
          raises_is_finding=True, share=_SAVING, group="saving",
          doc="save_weights loaded into a fresh model of every API (all ordered pairs)"),
    Check("weights_checkpoint", portable.observe_weights_checkpoint, within=("source",),
          fresh=True, raises_is_finding=True, share=_SAVING, not_here=_keras2_only,
          group="saving",
          doc="Keras 2: a TF-format save_weights checkpoint loaded into every API"),
    Check("export", portable.observe_export, within=("graph",), raises_is_finding=True,
          share=_SAVING, group="saving",
          doc="SavedModel for serving, reloaded by tf.saved_model.load, against the same "
              "call as a tf.function"),
    # Training: each API against Sequential, in the mode's compile mode, optimizer and loss.
    # Each trains its own models (a group would train them twice).
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


def _grouped() -> dict[str, tuple[Check, ...]]:
    """{group: its checks in the table's order}; a check without a group is its own. The
    checks of a group must be drawn and compiled alike: one test draws for them all."""
    groups: dict[str, tuple[Check, ...]] = {}
    for check in CHECKS.values():
        groups[check.group or check.name] = groups.get(check.group or check.name, ()) + (check,)
    for name, members in groups.items():
        kinds = {(c.modal, c.trains, c.draws, c.share) for c in members}
        if len(kinds) > 1:
            raise ValueError(f"the checks of group {name!r} differ in what they draw or "
                             f"how they compile: {sorted(c.name for c in members)}")
    return groups


GROUPS = _grouped()


def observe(check: Check, spec: StackSpec, mode: Mode = DEFAULT_MODE,
            workarounds_: tuple[str, ...] = (), weights: dict | None = None,
            x=None) -> dict:
    """({api: observation}, models, inputs, initial weights): models built fresh, with the
    named workarounds of known discrepancies in place (see `equivalence.workarounds`).

    A repro passes the `weights` (portable.leaf_weights) and inputs `x` it saved."""
    with workarounds.applied(workarounds_):
        return _observe(check, spec, mode, weights, x)


def _observe(check: Check, spec: StackSpec, mode: Mode, weights=None, x=None) -> dict:
    models, x, weights = _built(spec, weights, x)
    return _observe_on(check, spec, mode, models, feedable(x)), models, x, weights


def _built(spec: StackSpec, weights=None, x=None):
    """(models of every API, inputs, initial weights): the models built fresh, given the
    `weights` (portable.leaf_weights) where a repro passes them."""
    models = build_all(spec)
    if weights is not None:
        for model in models.values():
            portable.set_leaf_weights(model, weights)
    weights = portable.leaf_weights(models["sequential"])  # before any call mutates them
    return models, make_inputs(spec) if x is None else x, weights


def _observe_on(check: Check, spec: StackSpec, mode: Mode, models: dict, fed,
                compile_: bool = True) -> dict:
    """{api: observation} of `check` on the given models (compiled for the mode first if
    the check is modal and `compile_`: a group compiles once, keeping its functions)."""
    kwargs = {"fresh": lambda api: build(spec.reseeded(), api)} if check.fresh else {}
    out = {}
    with warnings.catch_warnings():
        if check.trains and gradient_stopped(spec):
            warnings.filterwarnings("ignore", "Gradients do not exist for variables",
                                    UserWarning)
        for api in APIS:
            if check.modal and compile_:
                portable.compile_for(models[api], mode.jit_compile, mode.run_eagerly,
                                     **(mode.compile_kwargs() if check.trains else {}))
            if check.raises_is_finding:
                out[api] = portable.observe_safely(check.observe, models[api], fed, **kwargs)
            else:
                out[api] = check.observe(models[api], fed, **kwargs)
    return out


def gradient_stopped(spec: StackSpec) -> bool:
    """Whether a layer no gradient passes (LayerInfo.stops_gradient) comes after another:
    the weights before it, if any, get no gradient, and Keras 3 warns "Gradients do not
    exist for variables [...]" in every API alike, which the suite's warnings-as-errors
    would turn into an abort (a Dense → Discretization → Dense stack on Keras 3.15.1,
    docs/findings.md, 27). What training does to them — nothing — is still compared."""
    return any(REGISTRY[leaf.kind].stops_gradient for leaf in leaves(spec.layers)[1:])


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


@functools.cache
def discrepancy_of(check_name: str) -> type[Discrepancy]:
    """The Discrepancy a check raises: Hypothesis tells failures apart by type and place,
    so a group's test shrinks each check's failure on its own."""
    return type(f"Discrepancy_{check_name}", (Discrepancy,), {"__module__": __name__})


class SharedModelsDiffer(AssertionError):
    """A group's check differed on the group's shared models and not on fresh ones."""


def _budget() -> None:
    if summary.budget_spent():  # --parity-budget: no new example is checked
        import pytest

        pytest.skip("--parity-budget spent: this test's remaining examples not checked")


def verify(check_name: str, spec: StackSpec, mode: Mode = DEFAULT_MODE) -> None:
    """Run one check on one spec across the three APIs, on models built for it; raise
    Discrepancy on a real one.

    A known upstream discrepancy (see `known`) is tolerated and counted only where its
    cause is shown to be at work; its strictness lives in `test_known.py`, which runs each
    entry's example.
    """
    _budget()
    check = CHECKS[check_name]
    mode = mode if check.modal else DEFAULT_MODE
    _conclude(check, spec, mode, *observe(check, spec, mode))


def verify_group(group: str, spec: StackSpec, mode: Mode = DEFAULT_MODE) -> None:
    """Run the checks of `group` (GROUPS) on one spec: one built set of models, each check
    observing it in the table's order, compiled once for a modal group.

    Each check is concluded on those models as `verify` concludes it — the known entries
    asked of that observation, their workarounds observed on fresh models — unless a real
    discrepancy remains, or an entry that would explain one asks whether the check
    reproduces (SelfDisagrees: its first observation must be a fresh one). Then the check
    is observed again alone, on models built for it, and concluded there: the artifacts,
    the repro and the known entries see what the check alone sees. Where the fresh models
    show no discrepancy, SharedModelsDiffer: an earlier check of the group changed what
    this one observes (its place in the table), or the check does not reproduce.
    """
    _budget()
    mode = mode if GROUPS[group][0].modal else DEFAULT_MODE
    for check, observed, models, x, weights in observe_group(group, spec, mode):
        problems = compare(check, spec, observed)
        if not any(isinstance(entry.recognise, SelfDisagrees) for api in problems
                   for entry in known.lookup(check.name, api, spec, mode.jit_compile)):
            judged = _judge(check, spec, mode, observed, problems)
            if not judged[2]:
                _conclude(check, spec, mode, observed, models, x, weights, judged)
                continue
        alone = observe(check, spec, mode)
        judged = _judge(check, spec, mode, alone[0])
        if not judged[2]:
            raise SharedModelsDiffer(
                f"{check.name} ({mode.id}) differed on the models group {group!r} shares "
                f"({', '.join(sorted(problems))}) and not on fresh models: a check before "
                f"it in the group changed what it observes (its place in "
                f"equivalence/checks.py), or it does not reproduce.\n"
                f"spec: {spec.to_json()}")
        _conclude(check, spec, mode, *alone, judged)


def observe_group(group: str, spec: StackSpec, mode: Mode = DEFAULT_MODE):
    """Yield (check, {api: observation}, models, inputs, initial weights) for each check of
    `group` that runs on this Keras, in order, all observing one built set of models."""
    checks = [CHECKS[c.name] for c in GROUPS[group] if not c.not_here()]
    mode = mode if checks[0].modal else DEFAULT_MODE
    models, x, weights = _built(spec)
    fed = feedable(x)
    for i, check in enumerate(checks):
        observed = _observe_on(check, spec, mode, models, fed, compile_=i == 0)
        yield check, observed, models, x, weights


def _judge(check: Check, spec: StackSpec, mode: Mode, observed: dict, problems=None):
    """(problems, the known entries explaining them, the real discrepancies): {api: ...}."""
    problems = compare(check, spec, observed) if problems is None else problems
    expected = explain(check, spec, mode, observed, problems)
    return problems, expected, {api: msg for api, msg in problems.items()
                                if api not in expected}


def _conclude(check: Check, spec: StackSpec, mode: Mode, observed: dict, models: dict, x,
              weights, judged=None) -> None:
    """Compare, explain by the known entries (or take `judged`, _judge's), record, and
    raise a real discrepancy with its artifacts written."""
    problems, expected, failures = judged or _judge(check, spec, mode, observed)
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
        raise discrepancy_of(check.name)(f"{check.name} differs across APIs (shrinking)")
    if failures:
        where = artifacts.write_failure(spec, check, mode, failures, weights, x)
        lines = "\n".join(f"  {api}: {msg}" for api, msg in failures.items())
        unstable = self_disagreement(check, spec, mode, observed)
        if unstable:
            lines += (f"\n  but the check does not reproduce inside one API: observed again, "
                      f"{', '.join(unstable)} differ(s) from the first observation, so the "
                      f"difference may not be the APIs' doing")
        raise discrepancy_of(check.name)(
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
