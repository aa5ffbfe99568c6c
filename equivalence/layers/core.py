"""Core layers: Dense, EinsumDense, Identity, activations and Lambda."""
import tensorflow as tf
from hypothesis import strategies as st

from equivalence.compat import keras, onednn_matmul_corrupts
from equivalence.layers import LayerInfo, dtype_arg, from_literal, mask_of, register
from equivalence.layers import floor

ACTIVATIONS = ("relu", "linear", "tanh", "sigmoid", "softmax", "gelu", "elu", "selu", "swish")
ANY_RANK = frozenset({1, 2, 3, 4})  # vector, sequence, image, volume


@st.composite
def _dense(draw, shape):
    use_bias = draw(st.booleans().map(lambda b: not b))  # True first: the common case
    return {
        "units": draw(st.integers(1, 8)),
        "use_bias": use_bias,
        "activation": draw(st.sampled_from((None, "relu", "tanh"))),
        "kernel_regularizer": draw(st.sampled_from((None, "l2"))),
        "bias_regularizer": draw(st.sampled_from((None, "l1"))) if use_bias else None,
        "activity_regularizer": draw(st.sampled_from((None, "l2"))),
    }


@st.composite
def _einsum_dense(draw, shape):
    """EinsumDense as a Dense over the last axis, written as an equation for the rank."""
    axes = "abcde"[:len(shape) + 1]
    units = draw(st.integers(1, 8))
    return {"equation": f"{axes},{axes[-1]}z->{axes[:-1]}z",
            "output_shape": tuple(shape[:-1]) + (units,),
            "bias_axes": draw(st.sampled_from(("z", None))),
            "activation": draw(st.sampled_from((None, "relu")))}


def _regularized(cfg):
    return any(cfg.get(k) for k in ("kernel_regularizer", "bias_regularizer",
                                    "activity_regularizer"))


def _lambda_literal(cfg, name, dtype=None):
    """A Lambda of a Python lambda, as users write one: its .keras file holds the lambda's
    bytecode, which a load in safe mode (Keras' default) must refuse alike in every API."""
    return f"keras.layers.Lambda(lambda x: x * {cfg['scale']!r}, name={name!r}{dtype_arg(dtype)})"


def _dense_floor(cfg, layer, wrap):
    act, w = floor.activation(cfg), floor.weights(layer, wrap)
    if act is None:
        return None
    return lambda x, m: (act(tf.tensordot(x, w[0], 1) + (w[1] if len(w) > 1 else 0)), m)


register(
    LayerInfo("Dense", "core", _dense, ANY_RANK,
              output_shape=lambda s, c: s[:-1] + (c["units"],), adds_loss=_regularized,
              takes_counts=True, floor=_dense_floor,
              accepts=lambda s: not onednn_matmul_corrupts(s)),
    LayerInfo("EinsumDense", "core", _einsum_dense, ANY_RANK,
              output_shape=lambda s, c: tuple(c["output_shape"]), mask=lambda c: "none"),
    LayerInfo("TernaryDense", "core",
              lambda s: st.fixed_dictionaries({"units": st.integers(1, 8),
                                               "threshold": st.sampled_from((None, 0.5)),
                                               "activation": st.sampled_from((None, "relu"))}),
              ANY_RANK, output_shape=lambda s, c: s[:-1] + (c["units"],)),
    LayerInfo("Identity", "core", lambda s: st.just({}), ANY_RANK,
              mask=mask_of(lambda: keras.layers.Identity())),
    LayerInfo("Activation", "core",
              lambda s: st.fixed_dictionaries({"activation": st.sampled_from(
                  # softmax over a size-1 axis is constant 1 (and Keras warns): not drawn
                  ACTIVATIONS if s[-1] > 1 else tuple(a for a in ACTIVATIONS if a != "softmax"))}),
              ANY_RANK),
    LayerInfo("ReLU", "core",
              lambda s: st.fixed_dictionaries({
                  "max_value": st.sampled_from((None, 6.0)),
                  "negative_slope": st.sampled_from((0.0, 0.1))}),
              ANY_RANK),
    LayerInfo("LeakyReLU", "core", lambda s: st.just({}), ANY_RANK),
    LayerInfo("PReLU", "core", lambda s: st.just({}), ANY_RANK),
    LayerInfo("ELU", "core", lambda s: st.just({}), ANY_RANK),
    LayerInfo("ThresholdedReLU", "core",
              lambda s: st.fixed_dictionaries({"theta": st.sampled_from((1.0, 0.5))}), ANY_RANK),
    LayerInfo("Softmax", "core", lambda s: st.just({}), ANY_RANK,
              accepts=lambda s: s[-1] > 1, mask_ok=False,
              note="Keras 3 Softmax reads a mask as elementwise (attention-style) and fails "
                   "on a (batch, time) sequence mask (SelectV2 broadcast error) in every API"),
    LayerInfo("Lambda", "core",
              lambda s: st.fixed_dictionaries({"scale": st.sampled_from((2.0, -0.5))}),
              ANY_RANK, make=from_literal(_lambda_literal), literal=_lambda_literal,
              mask=mask_of(lambda: keras.layers.Lambda(lambda x: x)), destroys_mask=True,
              # Keras 3.3: "... is a Python lambda. Deserializing it is unsafe"; later and
              # Keras 2: "... Python lambda ... risk of arbitrary code execution".
              refusal=r"(?is)lambda.{0,200}(unsafe|arbitrary code)"),
)
