"""The benchmark axes: ops with their batch sizes and compile modes, and how each op runs.

A case id is stable across TF versions (`predict-b256-jit0`), so results compare by name.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DATASET = 2048  # samples behind predict/evaluate/fit; predict's batch size varies over it
SMOKE_DATASET = 64  # the untimed smoke run of the default test suite uses this many
SMOKE = True  # set by conftest: False under `pytest --benchmark`


def dataset_size() -> int:
    return SMOKE_DATASET if SMOKE else DATASET
FIT_STEPS = 8  # one fit epoch is FIT_STEPS steps of batch 32


@dataclass(frozen=True)
class Case:
    op: str
    batch: int
    jit_compile: bool = False
    smoke: bool = False  # the smallest variant, run once untimed in the default test run

    @property
    def id(self) -> str:
        return f"{self.op}-b{self.batch}-jit{int(self.jit_compile)}"


TIMED = (
    [Case("predict", b, j, smoke=(b == 32)) for b in (32, 256, 2048) for j in (0, 1)]
    + [Case("predict_on_batch", b, smoke=(b == 1)) for b in (1, 32)]
    + [Case("call", b, smoke=(b == 1)) for b in (1, 32)]
    + [Case("fit", 32, j, smoke=True) for j in (0, 1)]
    + [Case("evaluate", 256, smoke=True)]
)
COLD = [Case(op, 32, smoke=True) for op in ("build", "first_predict", "first_fit")]
FLOOR = [Case("floor", b, smoke=(b == 1)) for b in (1, 32, 256)]
FLOOR_FIT = [Case("floor_fit", 32, smoke=True)]  # one epoch of FIT_STEPS plain SGD steps


def compile_model(model, jit_compile: bool):
    """Training-ready compile with an explicit mode that Keras really uses (see
    equivalence.portable.compile_for: the untimed smoke run has op determinism on)."""
    from equivalence.portable import compile_for

    return compile_for(model, jit_compile, False, optimizer="sgd", loss="mse")


def op_callable(model, case: Case, x: np.ndarray, y: np.ndarray):
    """One call of the case's op: the timed body."""
    if case.op == "predict":
        return lambda: model.predict(x, batch_size=case.batch, verbose=0)
    if case.op == "predict_on_batch":
        xb = x[: case.batch]
        return lambda: model.predict_on_batch(xb)
    if case.op == "call":
        xb = x[: case.batch]
        return lambda: model(xb, training=False)
    if case.op == "fit":
        n = case.batch * FIT_STEPS
        return lambda: model.fit(x[:n], y[:n], batch_size=case.batch, epochs=1, verbose=0,
                                 shuffle=False)
    if case.op == "evaluate":
        return lambda: model.evaluate(x, y, batch_size=case.batch, verbose=0)
    raise ValueError(f"unknown op {case.op!r}")


def traced_function(model, op: str):
    """The tf.function behind an op (None for eager __call__), for the retracing check."""
    name = {"predict": "predict_function", "predict_on_batch": "predict_function",
            "fit": "train_function", "evaluate": "test_function"}.get(op)
    return getattr(model, name, None) if name else None


def tracing_count(model, op: str) -> int | None:
    fn = traced_function(model, op)
    counter = getattr(fn, "experimental_get_tracing_count", None)
    return counter() if counter else None
