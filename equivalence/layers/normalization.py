"""Normalization layers."""
import functools

import tensorflow as tf
from hypothesis import strategies as st

from equivalence.compat import IS_KERAS3, keras
from equivalence.layers import LayerInfo, floor, prod, register
from equivalence.layers.core import ANY_RANK


def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


# GroupNormalization normalizes each group over its values: a group of a few values whose
# spread is near sqrt(epsilon) maps rounding noise to the output, magnified ~1/sqrt(epsilon)
# (~30x). Keras computes those moments in float16 under mixed_float16 (LayerNormalization
# upcasts to float32), so a group of 2 values made call and predict under jit_compile differ
# by 0.03 in every API alike (ci runs on Keras 3.5.0, and 3.13.2 on replay): no API
# difference, and past any float16 tolerance. Groups hold 8 values at least.
_GROUP_VALUES = 8


def _group_counts(shape):
    """The numbers of groups that leave every group _GROUP_VALUES values at least."""
    values = prod(shape[:-1])
    return [g for g in _divisors(shape[-1]) if values * (shape[-1] // g) >= _GROUP_VALUES]


def _make_spectral(cfg, name, dtype=None):
    extra = {"dtype": dtype} if dtype else {}
    inner = keras.layers.Dense(cfg["units"], name=f"{name}_dense", **extra)
    return keras.layers.SpectralNormalization(inner, power_iterations=cfg["power_iterations"],
                                              name=name, **extra)


def _spectral_deserializes():
    """Keras 2 (2.15, tf_keras 2.21) cannot rebuild its SpectralNormalization from a config
    (deserialize returns the class name as a str), so every saving path fails in every API
    alike, and tf.saved_model.save of it fails too (a symbolic tensor used as a bool)."""
    layer = keras.layers.SpectralNormalization(keras.layers.Dense(1))
    rebuilt = keras.layers.deserialize(keras.layers.serialize(layer))
    if not isinstance(rebuilt, keras.layers.Layer):
        raise TypeError(f"deserialize gave {type(rebuilt).__name__}, not a layer")


@functools.lru_cache(maxsize=None)
def _spectral_needs_float32() -> bool:
    """Keras 3.3 computes the spectral norm in the layer's compute dtype, and TF has no
    float16 CPU kernel for its Svd (NotFoundError in every API alike under a mixed policy);
    later Keras compute it in float32. Asked of the layer, as a user finds out."""
    import numpy as np

    layer = keras.layers.SpectralNormalization(keras.layers.Dense(1), dtype="mixed_float16")
    try:
        layer(np.ones((1, 2), "float32"), training=True)
    except Exception:  # noqa: BLE001 - TF's NotFoundError, in any form
        return True
    return False


def _spectral_literal(cfg, name, dtype=None):
    extra = f", dtype={dtype!r}" if dtype else ""
    return (f"keras.layers.SpectralNormalization(keras.layers.Dense({cfg['units']}, "
            f"name={name + '_dense'!r}{extra}), power_iterations={cfg['power_iterations']}, "
            f"name={name!r}{extra})")


def _layer_norm_floor(cfg, layer, wrap):
    """Normalized over the last axis, then scaled and centred by the weights it has."""
    w = floor.weights(layer, wrap)
    gamma = w.pop(0) if cfg.get("scale", True) else None
    beta = w.pop(0) if cfg.get("center", True) else None

    def run(x, m):
        mean = tf.reduce_mean(x, -1, keepdims=True)
        var = tf.reduce_mean(tf.square(x - mean), -1, keepdims=True)
        y = (x - mean) * tf.math.rsqrt(var + layer.epsilon)
        return (y * gamma if gamma is not None else y) + (beta if beta is not None else 0), m
    return run


register(
    LayerInfo("BatchNormalization", "normalization",
              lambda s: st.fixed_dictionaries({
                  "momentum": st.sampled_from((0.99, 0.5)),
                  "center": st.booleans().map(lambda b: not b),
                  "scale": st.booleans().map(lambda b: not b)}),
              ANY_RANK, train_differs=True, stateful=True),
    LayerInfo("LayerNormalization", "normalization",
              lambda s: st.fixed_dictionaries({
                  "center": st.booleans().map(lambda b: not b),
                  "scale": st.booleans().map(lambda b: not b)}),
              ANY_RANK, floor=_layer_norm_floor),
    LayerInfo("UnitNormalization", "normalization", lambda s: st.just({}), ANY_RANK),
    LayerInfo("GroupNormalization", "normalization",
              lambda s: st.fixed_dictionaries({"groups": st.sampled_from(_group_counts(s))}),
              ANY_RANK, mask_ok=IS_KERAS3, accepts=lambda s: bool(_group_counts(s)),
              note="Keras 2.15 GroupNormalization broadcasts a (batch, time) mask to the "
                   "input's shape and fails in every API (BroadcastTo shape error)"),
    LayerInfo("RMSNormalization", "normalization",
              lambda s: st.fixed_dictionaries({"epsilon": st.sampled_from((1e-6, 1e-3))}),
              ANY_RANK, mask=lambda c: "none"),
    LayerInfo("SpectralNormalization", "normalization",
              lambda s: st.fixed_dictionaries({"units": st.integers(1, 6),
                                               "power_iterations": st.integers(1, 2)}),
              ANY_RANK, output_shape=lambda s, c: s[:-1] + (c["units"],),
              make=_make_spectral, literal=_spectral_literal, mask=lambda c: "none",
              probe=_spectral_deserializes,
              float32_only=lambda c: _spectral_needs_float32(),
              note="Keras 2's SpectralNormalization does not deserialize (a str comes back "
                   "from its config), so every saving path fails in every API alike",
              # A training call normalizes the wrapped kernel in place (a power iteration),
              # so the inference call after it computes the same output.
              stateful=True),
)

# Asked now, at import: building the layer seeds its kernel initializer with Python's
# `random`, which Hypothesis forbids inside a strategy (where float32_only is asked). Not on
# Keras 2, which does not draw the kind (and logs its mixed precision check on a CPU).
if IS_KERAS3:
    _spectral_needs_float32()
