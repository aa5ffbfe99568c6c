"""The named checks, the compile modes, and `verify`, which runs one check on one spec.

A check observes something on each model (see the observe_* functions in `portable`) and
compares each API's observation with Sequential's, or two observations inside one API.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from equivalence import artifacts, known, portable, summary
from equivalence.builders import build_all
from equivalence.compare import compare_observations, tolerance_for
from equivalence.data import make_inputs
from equivalence.portable import APIS
from equivalence.spec import StackSpec


@dataclass(frozen=True)
class Mode:
    """A compile mode; always explicit, recorded in test ids and results."""

    jit_compile: bool = False
    run_eagerly: bool = False

    @property
    def id(self) -> str:
        return f"jit_compile={self.jit_compile}-run_eagerly={self.run_eagerly}"


MODES = (Mode(), Mode(jit_compile=True), Mode(run_eagerly=True))
DEFAULT_MODE = MODES[0]


@dataclass(frozen=True)
class Check:
    name: str
    observe: Callable
    modal: bool = False  # depends on jit_compile / run_eagerly
    within: tuple[str, str] | None = None  # compare these two observations inside each API
    doc: str = ""


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
)}


def compute_dtype(spec: StackSpec) -> str:
    return {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}.get(spec.policy,
                                                                         "float32")


def observe(check: Check, spec: StackSpec, mode: Mode = DEFAULT_MODE) -> dict:
    """({api: observation}, models, inputs, initial weights): models built fresh."""
    models = build_all(spec)
    weights = artifacts.layer_weights(models["sequential"])  # before any call mutates them
    x = make_inputs(spec)
    out = {}
    for api in APIS:
        if check.modal:
            portable.compile_for(models[api], mode.jit_compile, mode.run_eagerly)
        out[api] = check.observe(models[api], x)
    return out, models, x, weights


def compare(check: Check, spec: StackSpec, observed: dict) -> dict[str, str]:
    """{api: mismatch message} for each API whose observation disagrees."""
    tol = tolerance_for(check.name, compute_dtype(spec))
    tols = {} if tol.rtol == tol.atol == 0.0 else {"rtol": tol.rtol, "atol": tol.atol}
    problems = compare_observations(observed, check.within, **tols)
    suffix = f" [tolerance: {tol.reason}]" if tols else ""
    return {api: msg + suffix for api, msg in problems.items()}


class Discrepancy(AssertionError):
    """The APIs disagree on a check; the message holds the spec and the repro path."""


def verify(check_name: str, spec: StackSpec, mode: Mode = DEFAULT_MODE) -> None:
    """Run one check on one spec across the three APIs; raise Discrepancy on a real one.

    A known upstream discrepancy (see `known`) that applies to this spec is tolerated and
    counted; its strictness lives in `test_known.py`, which runs each entry's example.
    """
    check = CHECKS[check_name]
    mode = mode if check.modal else DEFAULT_MODE
    observed, models, x, weights = observe(check, spec, mode)
    problems = compare(check, spec, observed)
    failures, expected = {}, {}
    for api in APIS:
        entry = known.lookup(check.name, api, spec)
        if entry and api in problems:
            expected[api] = entry
        elif api in problems:
            failures[api] = problems[api]
    final = _is_final_example()
    summary.record(spec, check.name, compared=len(APIS), failed=len(failures) if final else 0,
                   known=len(expected))
    if failures and not final:  # Hypothesis is still shrinking: no artifacts yet
        raise Discrepancy(f"{check.name} differs across APIs (shrinking)")
    if failures:
        where = artifacts.write_failure(spec, check, mode, failures, models["sequential"],
                                        weights, x)
        lines = "\n".join(f"  {api}: {msg}" for api, msg in failures.items())
        raise Discrepancy(
            f"{check.name} ({mode.id}) differs across APIs:\n{lines}\n"
            f"spec: {spec.to_json()}\nrepro: python {where / 'repro.py'}   "
            f"replay: pytest --replay {where / 'spec.json'}")


def _is_final_example() -> bool:
    """False while Hypothesis is exploring or shrinking, True on its final replay of the
    minimal failing example (and outside Hypothesis, e.g. under --replay or in tests)."""
    try:
        from hypothesis.control import current_build_context

        return bool(current_build_context().is_final)
    except Exception:  # no Hypothesis context: a direct call
        return True
