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
    if spec.input.dtype == "string":
        return words(rng, shape, spec.input.vocab)
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


def words(rng, shape, vocab: int) -> np.ndarray:
    """Text of the words w1..w<vocab> as bytes (the form Keras' string tensors take): one
    word an element, or, for a (batch, 1) input, a sentence of 1 to 3 words a row (what
    TextVectorization splits)."""
    if tuple(shape[1:]) == (1,):
        rows = [" ".join(f"w{i}" for i in rng.integers(1, vocab + 1, rng.integers(1, 4)))
                for _ in range(shape[0])]
        return np.array(rows, dtype=bytes).reshape(shape)
    return np.char.add(b"w", rng.integers(1, vocab + 1, shape).astype(bytes))


def feedable(x):
    """What Keras takes: strings as a tensor (Keras 3 refuses a NumPy array of bytes), any
    other input as it is."""
    if isinstance(x, np.ndarray) and x.dtype.kind in "SU":
        import tensorflow as tf

        return tf.constant(x)
    return x


def make_targets(spec: StackSpec, output_shape, batch: int | None = None) -> np.ndarray:
    """Regression targets shaped like the model output, from the spec's seed."""
    rng = np.random.default_rng(spec.seed + 1)
    return rng.standard_normal((batch or spec.batch,) + tuple(output_shape)).astype(np.float32)
