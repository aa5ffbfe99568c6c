"""The floor: each workload's inference math as a plain tf.function, no Keras.

It uses the model's own weights (read once into tensors), so the report can say how much
each API adds on top of the same arithmetic. Kinds without a raw implementation have no
floor (`raw_forward` returns None) rather than a wrong one.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from equivalence.layers import REGISTRY
from equivalence.portable import stack_layers

ACT = {None: tf.identity, "linear": tf.identity, "relu": tf.nn.relu, "tanh": tf.tanh}


def _w(layer, wrap=tf.constant):
    return [wrap(w) for w in layer.get_weights()]


def _dense(cfg, layer, wrap):
    w = _w(layer, wrap)
    act = ACT[cfg.get("activation")]
    return lambda x, m: (act(tf.tensordot(x, w[0], 1) + (w[1] if len(w) > 1 else 0)), m)


def _conv(cfg, layer, rank, wrap):
    w = _w(layer, wrap)
    act, pad = ACT[cfg.get("activation")], cfg["padding"].upper()
    conv = tf.nn.conv1d if rank == 1 else tf.nn.conv2d
    return lambda x, m: (act(conv(x, w[0], cfg["strides"], pad) + (w[1] if len(w) > 1 else 0)),
                         None)


def _maxpool(cfg, layer, rank):
    pool = tf.nn.max_pool1d if rank == 1 else tf.nn.max_pool2d
    return lambda x, m: (pool(x, cfg["pool_size"], cfg["strides"], cfg["padding"].upper()), None)


def _gap(cfg, layer, rank):
    axes = [1] if rank == 1 else [1, 2]

    def run(x, m):
        if m is None:
            return tf.reduce_mean(x, axes), None
        mf = tf.cast(m, x.dtype)[..., None]
        return tf.reduce_sum(x * mf, 1) / tf.reduce_sum(mf, 1), None
    return run


def _embedding(cfg, layer, wrap):
    (table,) = _w(layer, wrap)
    return lambda x, m: (tf.gather(table, x), tf.not_equal(x, 0) if cfg["mask_zero"] else None)


def _layer_norm(cfg, layer, wrap):
    w = _w(layer, wrap)
    gamma, beta = (w + [None, None])[:2] if cfg.get("scale", True) else (None, w[0] if w else None)

    def run(x, m):
        mean = tf.reduce_mean(x, -1, keepdims=True)
        var = tf.reduce_mean(tf.square(x - mean), -1, keepdims=True)
        y = (x - mean) * tf.math.rsqrt(var + layer.epsilon)
        return (y * gamma if gamma is not None else y) + (beta if beta is not None else 0), m
    return run


def _lstm_cell(k, rk, b, units):
    def step(x_t, state):
        h, c = state
        z = x_t @ k + h @ rk + b
        i, f, g, o = tf.split(z, 4, axis=-1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        return tf.sigmoid(o) * tf.tanh(c), (tf.sigmoid(o) * tf.tanh(c), c)
    return step, lambda n: (tf.zeros((n, units)), tf.zeros((n, units)))


def _gru_cell(k, rk, b, units):
    def step(x_t, state):
        (h,) = state
        xz, xr, xh = tf.split(x_t @ k + b[0], 3, axis=-1)
        hz, hr, hh = tf.split(h @ rk + b[1], 3, axis=-1)
        z, r = tf.sigmoid(xz + hz), tf.sigmoid(xr + hr)
        h = z * h + (1 - z) * tf.tanh(xh + r * hh)
        return h, (h,)
    return step, lambda n: (tf.zeros((n, units)),)


def _scan(cell, x, reverse=False):
    step, init = cell
    state = init(tf.shape(x)[0])
    steps = range(x.shape[1] - 1, -1, -1) if reverse else range(x.shape[1])
    for t in steps:  # static length: unrolled, as cuDNN-less Keras runs it
        out, state = step(x[:, t], state)
    return out


def _recurrent(cfg, layer, kind, wrap):
    if cfg.get("return_sequences"):
        return None
    make = _lstm_cell if kind == "LSTM" else _gru_cell
    if kind in ("LSTM", "GRU"):
        cell = make(*_w(layer, wrap), cfg["units"])
        return lambda x, m: (_scan(cell, x), None)
    fw = make(*_w(layer.forward_layer, wrap), cfg["units"])
    bw = make(*_w(layer.backward_layer, wrap), cfg["units"])
    merge = (lambda a, b: tf.concat([a, b], -1)) if cfg["merge_mode"] == "concat" else tf.add
    return lambda x, m: (merge(_scan(fw, x), _scan(bw, x, reverse=True)), None)


def _raw_layer(ls, layer, wrap):
    cfg, kind = ls.params, ls.kind
    table = {
        "Dense": lambda: _dense(cfg, layer, wrap),
        "Conv1D": lambda: _conv(cfg, layer, 1, wrap), "Conv2D": lambda: _conv(cfg, layer, 2, wrap),
        "MaxPooling1D": lambda: _maxpool(cfg, layer, 1),
        "MaxPooling2D": lambda: _maxpool(cfg, layer, 2),
        "GlobalAveragePooling1D": lambda: _gap(cfg, layer, 1),
        "GlobalAveragePooling2D": lambda: _gap(cfg, layer, 2),
        "Embedding": lambda: _embedding(cfg, layer, wrap),
        "LayerNormalization": lambda: _layer_norm(cfg, layer, wrap),
        "LSTM": lambda: _recurrent(cfg, layer, "LSTM", wrap),
        "GRU": lambda: _recurrent(cfg, layer, "GRU", wrap),
        "Bidirectional": lambda: _recurrent({**cfg}, layer, "Bidirectional", wrap),
    }
    if REGISTRY[kind].nests:
        return _chain(ls.inner, stack_layers(layer), wrap)
    if kind not in table or ls.dtype is not None:
        return None
    return table[kind]()


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
        for i in range(steps):
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
