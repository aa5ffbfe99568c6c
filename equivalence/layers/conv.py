"""Convolution and pooling layers: 1D on (T, F), 2D on (H, W, C), 3D on (D, H, W, C)."""
import functools

import tensorflow as tf
from hypothesis import strategies as st

from equivalence.layers import LayerInfo, compiles_with_xla, floor, prod, register
from equivalence.layers.reshaping import MAX_ELEMENTS

PADDINGS = st.sampled_from(("valid", "same"))


def conv_length(n, kernel, stride, padding):
    """Output length of a convolution or pooling window (Keras' formula)."""
    if padding == "same":
        return -(-n // stride)
    return (n - kernel) // stride + 1


def transpose_length(n, kernel, stride, padding):
    """Output length of a transposed convolution with no output_padding."""
    return n * stride if padding == "same" else n * stride + max(kernel - stride, 0)


@st.composite
def _window(draw, shape, spatial, pool=False):
    """kernel (or pool) size, strides and padding valid for the first `spatial` dims."""
    smallest = min(shape[:spatial])
    k = draw(st.integers(2 if pool else 1, min(3, smallest)))
    s = draw(st.integers(1, 2))
    cfg = {"strides": s if spatial == 1 else (s,) * spatial, "padding": draw(PADDINGS)}
    cfg["pool_size" if pool else "kernel_size"] = k if spatial == 1 else (k,) * spatial
    return cfg


def _k(cfg, key, i):
    value = cfg[key]
    return value if isinstance(value, int) else value[i]


def _spatial(shape, cfg, spatial, key, length=conv_length):
    return tuple(length(shape[i], _k(cfg, key, i), _k(cfg, "strides", i), cfg["padding"])
                 for i in range(spatial))


@st.composite
def _conv(draw, shape, spatial, depthwise=False, separable=False):
    cfg = draw(_window(shape, spatial))
    cfg["activation"] = draw(st.sampled_from((None, "relu")))
    cfg["use_bias"] = draw(st.booleans().map(lambda b: not b))
    if depthwise or separable:
        cfg["depth_multiplier"] = draw(st.integers(1, 2))
    if not depthwise:
        cfg["filters"] = draw(st.integers(1, 4))
    return cfg


_TF_CONV = {1: tf.nn.conv1d, 2: tf.nn.conv2d}
_TF_MAX_POOL = {1: tf.nn.max_pool1d, 2: tf.nn.max_pool2d}


def _conv_floor(spatial):
    def hook(cfg, layer, wrap):
        act, w = floor.activation(cfg), floor.weights(layer, wrap)
        if act is None:
            return None
        conv, pad = _TF_CONV[spatial], cfg["padding"].upper()
        return lambda x, m: (act(conv(x, w[0], cfg["strides"], pad)
                                 + (w[1] if len(w) > 1 else 0)), None)
    return hook


def _conv_entry(kind, spatial, **flags):
    def out(shape, cfg):
        channels = (shape[-1] * cfg["depth_multiplier"] if "filters" not in cfg
                    else cfg["filters"])
        return _spatial(shape, cfg, spatial, "kernel_size") + (channels,)
    plain = not flags and spatial in _TF_CONV
    return LayerInfo(kind, "conv", lambda s: _conv(s, spatial, **flags),
                     frozenset({spatial + 1}), output_shape=out, mask=lambda c: "none",
                     floor=_conv_floor(spatial) if plain else None)


def _transpose_entry(kind, spatial):
    def out(shape, cfg):
        return _spatial(shape, cfg, spatial, "kernel_size", transpose_length) + (cfg["filters"],)
    return LayerInfo(kind, "conv", lambda s: _conv(s, spatial), frozenset({spatial + 1}),
                     output_shape=out, accepts=lambda s: prod(s[:-1]) * 3**spatial * 4 <= 4 * MAX_ELEMENTS,
                     mask=lambda c: "none")


@functools.lru_cache(maxsize=None)
def _no_float16_kernel(kind: str) -> bool:
    """TensorFlow has no float16 CPU kernel for MaxPool3D/AvgPool3D (NotFoundError in every
    API alike under mixed_float16, every Keras here): such a layer is pinned to float32
    under a mixed policy, as a user must. Asked of the layer."""
    import numpy as np

    from equivalence.compat import keras

    try:
        getattr(keras.layers, kind)(1, dtype="mixed_float16")(np.zeros((1, 1, 1, 1, 1),
                                                                        "float32"))
    except Exception:  # noqa: BLE001 - TF's NotFoundError, in any form
        return True
    return False


def _max_pool_floor(spatial):
    def hook(cfg, layer, wrap):
        pool = _TF_MAX_POOL[spatial]
        return lambda x, m: (pool(x, cfg["pool_size"], cfg["strides"],
                                  cfg["padding"].upper()), None)
    return hook


def _max_pool_xla(kind, spatial):
    """The `xla` hook of a max pooling kind: whether a model of it compiled with
    jit_compile=True predicts (training False) or trains a batch here (`compiles_with_xla`),
    first in a model, where training never takes its gradient. With op determinism on, as
    the suite runs its checks, tf2xla refuses MaxPool's gradient ("GPU MaxPool gradient ops
    do not yet have a deterministic XLA implementation", on CPU too), in every API alike,
    wherever trainable weights come before the pooling: strategies.xla_blocked compiles the
    stack up to a hooked kind that is not first, so a training check's jit mode leaves out
    exactly those stacks. A user's plain Keras 3 never meets it: compile() turns jit_compile
    off itself under op determinism, which the suite does not let it do
    (portable.compile_for). Found by the ci matrix on tf221 (stop 37; AdaptiveMaxPooling1D,
    train_steps). On TF 2.21 the 1D and 2D kinds, plain and adaptive, are refused and the
    3D ones compile (MaxPool3DGrad has no such check): asked, not listed."""
    def hook(cfg, training):
        from tensorflow.python.framework import config as tf_config

        return _max_pool_compiles(kind, spatial, training,
                                  tf_config.is_op_determinism_enabled())
    return hook


@functools.lru_cache(maxsize=None)
def _max_pool_compiles(kind, spatial, training, deterministic):
    import numpy as np

    from equivalence.compat import keras

    layer = getattr(keras.layers, kind)(2 if spatial == 1 else (2,) * spatial)
    return compiles_with_xla(layer, np.full((2,) + (4,) * spatial + (3,), 0.5, "float32"),
                             training)


def _pool_entry(kind, spatial):
    def out(shape, cfg):
        return _spatial(shape, cfg, spatial, "pool_size") + (shape[-1],)
    plain = kind.startswith("Max") and spatial in _TF_MAX_POOL
    return LayerInfo(kind, "conv", lambda s: _window(s, spatial, pool=True),
                     frozenset({spatial + 1}), output_shape=out,
                     accepts=lambda s: min(s[:spatial]) >= 2, mask=lambda c: "none",
                     float32_only=(lambda c: _no_float16_kernel(kind)) if spatial == 3
                     else (lambda c: False),
                     floor=_max_pool_floor(spatial) if plain else None,
                     xla=_max_pool_xla(kind, spatial) if kind.startswith("Max") else None)


@functools.lru_cache(maxsize=None)
def _sizes_in_graphs(kind: str, spatial: int, n: int) -> tuple[int, ...]:
    """The output sizes adaptive pooling `kind` computes along a length-`n` axis inside a
    tf.function. Keras 3.13's TensorFlow backend also pools a window one longer than the
    largest it needs, which a graph refuses when that window exceeds the axis (output size
    1: "Negative dimension size caused by subtracting 4 from 3"), in every API alike, while
    eager calls run; predict and fit fail. No upstream issue found. Asked of the kind
    itself on a cube of side `n` (the backend windows each axis alike): keras-nightly
    3.16.0.dev2026102704 computes size 1 in 1D and 2D average pooling but not yet in 3D
    (found by the ci matrix on tfnightly, where a 1D probe spoke for all three)."""
    import numpy as np
    import tensorflow as tf

    from equivalence.compat import keras

    found, cls = [], getattr(keras.layers, kind, None)
    for size in range(1, n + 1) if cls is not None else ():
        layer = cls(size if spatial == 1 else (size,) * spatial)
        try:
            tf.function(layer)(np.zeros((1, *(n,) * spatial, 1), "float32"))
            found.append(size)
        except (ValueError, tf.errors.InvalidArgumentError):
            pass
    return tuple(found)


def _adaptive_entry(kind, spatial):
    def configs(shape):
        sizes = [st.sampled_from(_sizes_in_graphs(kind, spatial, shape[i]))
                 for i in range(spatial)]
        size = sizes[0] if spatial == 1 else st.tuples(*sizes)
        return st.fixed_dictionaries({"output_size": size})

    def out(shape, cfg):
        size = cfg["output_size"]
        return ((size,) if spatial == 1 else tuple(size)) + (shape[-1],)
    # Adaptive 3D pooling pools with AvgPool3D/MaxPool3D too (a dev run on Keras 3.13.2:
    # NotFoundError in every API alike under mixed_float16).
    return LayerInfo(kind, "conv", configs, frozenset({spatial + 1}), output_shape=out,
                     accepts=lambda s: all(_sizes_in_graphs(kind, spatial, n)
                                           for n in s[:spatial]),
                     mask=lambda c: "none",
                     float32_only=(lambda c: _no_float16_kernel(kind)) if spatial == 3
                     else (lambda c: False),
                     xla=_max_pool_xla(kind, spatial) if "Max" in kind else None)


def _locally_connected_entry(kind, spatial):
    """Keras 2's unshared convolution: valid padding only."""
    def configs(shape):
        return _conv(shape, spatial).map(lambda c: {**c, "padding": "valid"})

    def out(shape, cfg):
        return _spatial(shape, cfg, spatial, "kernel_size") + (cfg["filters"],)
    return LayerInfo(kind, "conv", configs, frozenset({spatial + 1}), output_shape=out,
                     mask=lambda c: "none")


def _global_average_floor(spatial):
    """The mean over the spatial axes; over the unmasked steps where a mask comes in."""
    axes = list(range(1, spatial + 1))

    def hook(cfg, layer, wrap):
        def run(x, m):
            if m is None:
                return tf.reduce_mean(x, axes), None
            mf = tf.cast(m, x.dtype)[..., None]
            return tf.reduce_sum(x * mf, 1) / tf.reduce_sum(mf, 1), None
        return run
    return hook


def _global_entry(kind, spatial, mask="none"):
    average = "Average" in kind
    return LayerInfo(kind, "conv", lambda s: st.just({}), frozenset({spatial + 1}),
                     output_shape=lambda s, c: (s[-1],), mask=lambda c: mask,
                     floor=_global_average_floor(spatial) if average else None)


register(
    _conv_entry("Conv1D", 1),
    _conv_entry("Conv2D", 2),
    _conv_entry("SeparableConv1D", 1, separable=True),
    _conv_entry("SeparableConv2D", 2, separable=True),
    _conv_entry("DepthwiseConv2D", 2, depthwise=True),
    _transpose_entry("Conv1DTranspose", 1),
    _transpose_entry("Conv2DTranspose", 2),
    _pool_entry("MaxPooling1D", 1),
    _pool_entry("AveragePooling1D", 1),
    _pool_entry("MaxPooling2D", 2),
    _pool_entry("AveragePooling2D", 2),
    _conv_entry("DepthwiseConv1D", 1, depthwise=True),
    _locally_connected_entry("LocallyConnected1D", 1),
    _locally_connected_entry("LocallyConnected2D", 2),
    _conv_entry("Conv3D", 3),
    _transpose_entry("Conv3DTranspose", 3),
    _pool_entry("MaxPooling3D", 3),
    _pool_entry("AveragePooling3D", 3),
    _adaptive_entry("AdaptiveAveragePooling1D", 1),
    _adaptive_entry("AdaptiveMaxPooling1D", 1),
    _adaptive_entry("AdaptiveAveragePooling2D", 2),
    _adaptive_entry("AdaptiveMaxPooling2D", 2),
    _adaptive_entry("AdaptiveAveragePooling3D", 3),
    _adaptive_entry("AdaptiveMaxPooling3D", 3),
    _global_entry("GlobalMaxPooling1D", 1),
    _global_entry("GlobalAveragePooling1D", 1, mask="consumes"),
    _global_entry("GlobalMaxPooling2D", 2),
    _global_entry("GlobalAveragePooling2D", 2),
    _global_entry("GlobalMaxPooling3D", 3),
    _global_entry("GlobalAveragePooling3D", 3),
)
