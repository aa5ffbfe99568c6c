"""Input batches for a spec: seeded, and with real padding where masks matter."""
from __future__ import annotations

import numpy as np

from equivalence.spec import StackSpec


def make_inputs(spec: StackSpec, batch: int | None = None) -> np.ndarray:
    """A deterministic batch for `spec` (same spec and batch, same array).

    Token ids are drawn from [1, vocab) and the tail of every other row is set to 0, so
    Embedding(mask_zero=True) sees real padding. Float sequences get the same zeroed tails
    (whole timesteps of zeros), so Masking(mask_value=0) masks something.
    """
    batch = batch or spec.batch
    rng = np.random.default_rng(spec.seed)
    shape = (batch,) + tuple(spec.input.shape)
    if spec.input.dtype == "int32":
        x = rng.integers(1, spec.input.vocab, size=shape).astype(np.int32)
    else:
        x = rng.standard_normal(shape).astype(np.float32)
    if spec.input.family in ("tokens", "sequence"):
        steps = shape[1]
        for row in range(0, batch, 2):
            keep = int(rng.integers(1, steps + 1))
            x[row, keep:] = 0
    return x


def make_targets(spec: StackSpec, output_shape, batch: int | None = None) -> np.ndarray:
    """Regression targets shaped like the model output, from the spec's seed."""
    rng = np.random.default_rng(spec.seed + 1)
    return rng.standard_normal((batch or spec.batch,) + tuple(output_shape)).astype(np.float32)
