"""The workarounds of known upstream discrepancies, by name (see `causes.Workaround`).

`applied(names)` puts them in place for a block: flags that `portable` reads while it
builds and observes models, and patches of Keras that fix a bug where it is. With a known
entry's workaround in place the APIs must agree bitwise, or the entry does not explain
the difference.
"""
from __future__ import annotations

import contextlib

from equivalence import portable
from equivalence.compat import IS_KERAS3, keras

# Read by portable and builders: the subclassed model takes its inputs as Functional does
# (no autocast); it passes no mask into a layer computing in another dtype, or into a nested
# model (as Sequential and Functional do), or only into a nested model; a resumed model
# gets the random streams' state, or the loss scale, the checkpoint did not restore;
# seeded noise layers are built as linear activations; a model loaded from a legacy .h5
# file has finalize_state called on its layers; the subclassed model tracks each layer as
# its own attribute instead of one list; the serving endpoint calls the model with
# training=False; a resumed model's layers get the activity regularizers the load dropped;
# the subclassed model carries a mask on where an eager cast dropped it; a nested subclassed
# model casts its input to float32 as a nested Sequential or Functional model's Input does.
FLAGS = ("subclassed_no_autocast", "no_mask_into_pinned", "no_mask_into_nested",
         "restore_seed_state",
         "restore_loss_scale", "noise_off", "finalize_after_load",
         "subclassed_layers_as_attributes", "export_inference_call",
         "restore_activity_regularizer", "mask_across_cast", "nested_float32_input")


@contextlib.contextmanager
def _patched(owner, name, value):
    old = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, old)


def _policy_config(cls):
    """`cls.get_config` writing the dtype policy instead of the variable dtype (what
    Layer.get_config writes: 'float32' under a mixed policy)."""
    original = cls.get_config

    def get_config(self):
        return {**original(self), "dtype": self.dtype_policy.name}

    return _patched(cls, "get_config", get_config)


def _spatial_dropout_policy_config():
    """BaseSpatialDropout's get_config (SpatialDropout1D/2D/3D) writing the policy."""
    return _policy_config(type(keras.layers.SpatialDropout1D(0.5)).__mro__[1])


def _discretization_policy_config():
    """Discretization's get_config writing the policy."""
    return _policy_config(keras.layers.Discretization)


def _keras_alpha_dropout():
    """tf.keras.layers.AlphaDropout as keras.layers.AlphaDropout (not the legacy class)."""
    import keras as keras_package

    return _patched(keras.layers, "AlphaDropout", keras_package.layers.AlphaDropout)


@contextlib.contextmanager
def _elu_expm1():
    """tf.nn.elu and tf.nn.selu computing exp(x) - 1 as expm1(x), as XLA does (the CPU
    kernels subtract, tensorflow/tensorflow#116943): Keras' ELU and SELU call them."""
    import tensorflow as tf

    def elu(features, name=None):
        return tf.where(features > 0, features, tf.math.expm1(features))

    def selu(features, name=None):
        scale, alpha = 1.0507009873554805, 1.6732632423543772
        return scale * tf.where(features > 0, features, alpha * tf.math.expm1(features))

    # tf.nn (Keras 3) and tf.compat.v2.nn (Keras 2's backend) are two module objects
    with contextlib.ExitStack() as stack:
        for nn in {id(m): m for m in (tf.nn, tf.compat.v2.nn)}.values():
            stack.enter_context(_patched(nn, "elu", elu))
            stack.enter_context(_patched(nn, "selu", selu))
        yield


@contextlib.contextmanager
def _no_arithmetic_optimization():
    """Grappler's arithmetic optimizer off: traced functions run their float sums in the
    order the graph states them."""
    import tensorflow as tf

    key = "arithmetic_optimization"
    before = tf.config.optimizer.get_experimental_options().get(key, True)  # on by default
    tf.config.optimizer.set_experimental_options({key: False})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({key: before})


PATCHES = {"no_arithmetic_optimization": _no_arithmetic_optimization, "elu_expm1": _elu_expm1,
           **({"spatial_dropout_policy_config": _spatial_dropout_policy_config,
               "discretization_policy_config": _discretization_policy_config,
               "keras_alpha_dropout": _keras_alpha_dropout} if IS_KERAS3 else {})}


@contextlib.contextmanager
def applied(names):
    """The named workarounds in place for the block (unknown names raise KeyError)."""
    for name in names:
        if name not in FLAGS and name not in PATCHES:
            raise KeyError(f"no workaround named {name!r} here")
    with contextlib.ExitStack() as stack:
        for name in names:
            if name in PATCHES:
                stack.enter_context(PATCHES[name]())
        flags = {n for n in names if n in FLAGS}
        portable.ACTIVE_WORKAROUNDS.update(flags)
        stack.callback(portable.ACTIVE_WORKAROUNDS.difference_update, flags)
        yield
