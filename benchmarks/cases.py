"""The benchmark axes: ops with their batch sizes and compile modes, and how each op runs.

A case id is stable across TF versions (`predict-b256-jit0`), so results compare by name.
"""
from __future__ import annotations

import math
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
    # ... on every workload, where a benchmark smokes its other cases on a few only
    # (pytest.mark.smoke_workloads): building and running each workload, in graph and XLA
    smoke_all: bool = False

    @property
    def id(self) -> str:
        return f"{self.op}-b{self.batch}-jit{int(self.jit_compile)}"


TIMED = (
    [Case("predict", b, j, smoke=(b == 32), smoke_all=(b == 32 and not j))
     for b in (32, 256, 2048) for j in (0, 1)]
    + [Case("predict_on_batch", b, smoke=(b == 1)) for b in (1, 32)]
    + [Case("call", b, smoke=(b == 1)) for b in (1, 32)]
    + [Case("fit", 32, j, smoke=True, smoke_all=bool(j)) for j in (0, 1)]
    + [Case("evaluate", 256, smoke=True)]
)
COLD = [Case(op, 32, smoke=True) for op in ("build", "first_predict", "first_fit")]
FLOOR = [Case("floor", b, smoke=(b == 1)) for b in (1, 32, 256)]
FLOOR_FIT = [Case("floor_fit", 32, smoke=True)]  # one epoch of FIT_STEPS plain SGD steps


# Round-robin turns (test_api_turns): one turn is `calls` calls of one API, at least this long
TURN_SECONDS = 0.02
MAX_TURN_ROUNDS = 200


@dataclass(frozen=True)
class TurnPlan:
    """How the three APIs take turns inside one process: `rounds` rounds of one turn per
    API, each turn `calls` calls of the op (the same for every API, so turns compare)."""
    rounds: int
    calls: int


def turn_plan(seconds_per_call: dict[str, float], budget: float, min_rounds: int,
              turn_seconds: float = TURN_SECONDS,
              max_rounds: int = MAX_TURN_ROUNDS) -> TurnPlan:
    """Calibrate the turns from one timed call of each API after its warm-up: enough calls
    that the median API's turn lasts `turn_seconds` (a turn shorter than that times the
    clock more than the op), and enough rounds that all turns together last `budget`
    seconds, at least `min_rounds` and at most `max_rounds`."""
    typical = float(np.median(list(seconds_per_call.values())))
    calls = max(1, math.ceil(turn_seconds / typical)) if typical > 0 else 1
    per_round = calls * sum(seconds_per_call.values())
    wanted = math.ceil(budget / per_round) if per_round > 0 else max_rounds
    return TurnPlan(rounds=min(max(wanted, min_rounds), max_rounds), calls=calls)


def turn_order(apis: tuple[str, ...], round_index: int) -> tuple[str, ...]:
    """The APIs' order in round `round_index`: rotated by one each round, so none always
    runs first (right after another API's work) or last."""
    k = round_index % len(apis)
    return apis[k:] + apis[:k]


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
