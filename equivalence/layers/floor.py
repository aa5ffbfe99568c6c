"""What the registry's `floor` hooks share: a kind's inference math as plain TensorFlow,
for the benchmark floor (benchmarks/floor.py), which times the same arithmetic without Keras.

A hook is `floor(cfg, layer, wrap) -> step | None`: `layer` is the built Keras layer, whose
weights the step reads through `wrap` (`tf.constant` for inference, a `tf.Variable` factory
for the training floor, in `layer.get_weights()` order); a step is `(x, mask) -> (x, mask)`.
A hook returns None for a config it does not compute, so the workload has no floor rather
than a wrong one. `tests/test_registry.py` holds every hook to its layer's output.
"""
from __future__ import annotations

import tensorflow as tf

_ACTIVATIONS = {None: tf.identity, "linear": tf.identity, "relu": tf.nn.relu, "tanh": tf.tanh}


def activation(cfg: dict):
    """The config's activation as a TF function, or None for one the floor does not know."""
    return _ACTIVATIONS.get(cfg.get("activation"))


def weights(layer, wrap=tf.constant) -> list:
    return [wrap(w) for w in layer.get_weights()]
