"""TFSMLayer: a TensorFlow SavedModel reloaded as a Keras layer (Keras 3).

A user migrating from Keras 2 reloads a SavedModel with `keras.layers.TFSMLayer(path)` and
stacks Keras layers around it, frozen (`trainable=False`): the layers after it train. A
trainable TFSMLayer cannot be trained with any optimizer that keeps slot variables (SGD
with momentum, Adam, AdamW, RMSprop: every one the training checks draw) on Keras 3.10
to 3.15, in every API alike — its weights are named after the TF variables, "kernel:0", and the
optimizer's slot "kernel:0_momentum" is refused as a scope name (docs/findings.md, 26) —
so it is not drawn trainable: nothing to compare.

The suite writes the SavedModel itself — a dense layer, `DenseSavedModel`, exported once
per configuration and TensorFlow version — so a spec holds no path and is the same on
every machine; the layer's config holds the path, where every saving check reads it again.
Its weights (the SavedModel's variables, which set_weights reaches) are drawn anew from the
seeded NumPy generator on each build, so a fresh model of another seed has other weights
(the weights_file check).

`DenseSavedModel` uses nothing but TensorFlow and NumPy, so minimal.py writes its source
into the script, which writes the same SavedModel.
"""
import numpy as np
import tensorflow as tf
from hypothesis import strategies as st

from equivalence.compat import keras
from equivalence.layers import LayerInfo, dtype_arg, from_literal, register


class DenseSavedModel(tf.Module):
    """`activation(x @ kernel + bias)` over the last axis, as a SavedModel with one `serve`
    endpoint taking float32 inputs of `rank` axes (batch included)."""

    def __init__(self, input_dim, units, activation="linear", rank=2):
        super().__init__(name="dense_saved_model")
        self.kernel = tf.Variable(tf.zeros((input_dim, units)), name="kernel")
        self.bias = tf.Variable(tf.zeros((units,)), name="bias")
        self.activation = activation
        spec = tf.TensorSpec((None,) * (rank - 1) + (input_dim,), tf.float32)
        self.serve = tf.function(self._serve, input_signature=[spec])

    def _serve(self, x):
        y = tf.einsum("...i,ij->...j", x, self.kernel) + self.bias
        return {"relu": tf.nn.relu, "tanh": tf.tanh}.get(self.activation, tf.identity)(y)

    @classmethod
    def written(cls, input_dim, units, activation="linear", rank=2):
        """The path of this configuration's SavedModel, written once per TF version (a
        temporary directory renamed into place: processes running side by side agree)."""
        import os
        import tempfile

        root = os.path.join(tempfile.gettempdir(), "keras-parity-savedmodels", tf.__version__)
        path = os.path.join(root, f"dense-{input_dim}-{units}-{activation}-{rank}")
        if not os.path.isdir(path):
            os.makedirs(root, exist_ok=True)
            scratch = tempfile.mkdtemp(dir=root)
            tf.saved_model.save(cls(input_dim, units, activation, rank), scratch)
            try:
                os.rename(scratch, path)
            except OSError:  # written meanwhile by another process
                tf.io.gfile.rmtree(scratch)
        return path


def _configs(shape):
    return st.fixed_dictionaries({"units": st.integers(1, 4),
                                  "activation": st.sampled_from(("linear", "relu", "tanh"))}
                                 ).map(lambda c: {"input_dim": shape[-1], "rank": len(shape) + 1,
                                                  **c})


def _literal(cfg, name, dtype=None):
    return (f"keras.layers.TFSMLayer(DenseSavedModel.written(**{cfg!r}), "
            f"call_endpoint='serve', trainable=False, name={name!r}{dtype_arg(dtype)})")


_from_literal = from_literal(_literal, DenseSavedModel)


def _make(cfg, name, dtype=None):
    """The literal's layer (what minimal.py writes), its weights drawn from the build's seed
    (keras.utils.set_random_seed seeds NumPy's generator)."""
    layer = _from_literal(cfg, name, dtype)
    layer.set_weights([np.random.uniform(-1, 1, w.shape).astype("float32")
                       for w in layer.get_weights()])
    return layer


def _probe():
    """Raises where a frozen TFSMLayer cannot be built at all: Keras 3.3 to 3.8 track the
    SavedModel's own variables and set `trainable = False` on each, which a restored
    variable refuses (AttributeError: property 'trainable' of 'UninitializedVariable'
    object has no setter), in every API alike; a trainable one does not train there
    either ('UninitializedVariable' object has no attribute 'regularizer')."""
    keras.layers.TFSMLayer(DenseSavedModel.written(1, 1), call_endpoint="serve",
                           trainable=False)


register(
    LayerInfo("TFSMLayer", "savedmodel", _configs, frozenset({1, 2}), stateful=True,
              output_shape=lambda s, c: s[:-1] + (c["units"],),
              make=_make, literal=_literal, helper=DenseSavedModel, mask=lambda c: "none",
              # Keras 3.13 refuses to deserialize it unless unsafe deserialization is on
              # (from_config itself: a SavedModel may hold arbitrary graph code), alike
              # in every API: what a user with safe mode on, Keras' default, must see.
              refusal=r"Requested the deserialization of a `TFSMLayer`",
              # Its endpoint takes float32 only: under a mixed policy it is pinned to
              # float32, as a user must pin it.
              float32_only=lambda c: True, probe=_probe,
              note="a frozen TFSMLayer (trainable=False) cannot be built on this Keras: a "
                   "restored variable refuses `trainable = False` (Keras 3.3 to 3.8; "
                   "docs/findings.md, 26)"),
)
