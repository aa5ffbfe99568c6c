"""The floor: each workload's inference math as a plain tf.function, no Keras.

It uses the model's own weights (read once into tensors), so the report can say how much
each API adds on top of the same arithmetic. Each layer's math is its registry entry's
`floor` hook (equivalence/layers/floor.py); a workload with a kind or config that has none
has no floor (`raw_forward` returns None) rather than a wrong one.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from equivalence.layers import REGISTRY
from equivalence.portable import stack_layers


def _raw_layer(ls, layer, wrap):
    """The layer's step from its registry entry's `floor` hook, or None."""
    info = REGISTRY[ls.kind]
    if info.nests:
        return _chain(ls.inner, stack_layers(layer), wrap)
    if info.floor is None or ls.dtype is not None:
        return None
    return info.floor(ls.params, layer, wrap)


def _chain(layer_specs, layers, wrap=tf.constant):
    steps = [_raw_layer(ls, layer, wrap) for ls, layer in zip(layer_specs, layers)]
    if any(step is None for step in steps):
        return None

    def run(x, m):
        for step in steps:
            x, m = step(x, m)
        return x, m
    return run


def raw_forward(spec, model):
    """A tf.function computing `model`'s inference output without Keras, or None."""
    if spec.policy != "float32" or not all(k in REGISTRY for k in spec.kinds()):
        return None
    chain = _chain(spec.layers, stack_layers(model))
    if chain is None:
        return None
    return tf.function(lambda x: chain(x, None)[0], reduce_retracing=True)


def raw_fit_epoch(spec, model, steps, batch, learning_rate=0.01):
    """(epoch, variables): a tf.function running `steps` plain SGD steps of MSE on copies
    of `model`'s weights — what `fit` with optimizer="sgd", loss="mse" computes — or None."""
    if spec.policy != "float32":
        return None
    variables = []

    def wrap(value):
        variables.append(tf.Variable(value))
        return variables[-1]

    chain = _chain(spec.layers, stack_layers(model), wrap)
    if chain is None:
        return None

    @tf.function
    def epoch(x, y):
        # A graph loop over the steps, one step traced: unrolled in Python, the recurrent
        # floors (their time steps unrolled too) took 45 s to trace for bigru.
        loss = tf.constant(0.0)
        for i in tf.range(steps):
            xb, yb = x[i * batch:(i + 1) * batch], y[i * batch:(i + 1) * batch]
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(chain(xb, None)[0] - yb))
            for var, grad in zip(variables, tape.gradient(loss, variables)):
                var.assign_sub(learning_rate * tf.convert_to_tensor(grad))
        return loss

    return epoch, variables


def max_abs_error(floor, model, x) -> float:
    """How far the floor is from the model (a floor must compute the same thing)."""
    return float(np.max(np.abs(np.asarray(floor(x)) - np.asarray(model(x, training=False)))))
