"""Model assembly, weight transfer and the observed quantities, using only TF, Keras, NumPy.

Failure repro scripts embed this module's source from the PORTABLE marker down, so what a
repro runs is exactly what the suite ran. Keep it free of other suite imports.
"""
import inspect

import numpy as np
import tensorflow as tf

from equivalence.compat import IS_KERAS3, keras

# --- PORTABLE: everything below is copied verbatim into repro scripts ---
APIS = ("sequential", "functional", "subclassed")


def _accepts(layer, arg):
    return arg in inspect.signature(layer.call).parameters


class SubclassedStack(keras.Model):
    """A linear stack written the way a careful user writes a subclassed model.

    `call` passes `training` to every layer that takes it and threads the mask through
    layers that take one; the mask the last layer attaches is the model's output mask
    (`compute_mask` returns None so Keras keeps it, and does not invent one when the
    stack consumed its mask). The config is the spec JSON the stack was built from.
    """

    from_spec_json = None  # set by equivalence.builders: (spec_json, **kwargs) -> model

    def __init__(self, stack_layers=(), spec_json=None, **kwargs):
        super().__init__(**kwargs)
        self.stack_layers = list(stack_layers)
        self.spec_json = spec_json
        self.supports_masking = True

    def call(self, inputs, training=None, mask=None):
        x, m = inputs, mask
        for layer in self.stack_layers:
            kwargs = {}
            if _accepts(layer, "training"):
                kwargs["training"] = training
            if m is not None and _accepts(layer, "mask"):
                kwargs["mask"] = m
            y = layer(x, **kwargs)
            m = getattr(y, "_keras_mask", None)
            x = y
        return x

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {"name": self.name, "spec_json": self.spec_json}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls.from_spec_json(config.pop("spec_json"), **config)


def stack_layers(model):
    """The stack's layers in order, without the InputLayer Functional models list."""
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def assemble(api, layers, input_shape, input_dtype, name="stack"):
    """A model of kind `api` made of the fresh `layers`, built and ready to call."""
    if api == "sequential":
        return keras.Sequential([keras.Input(shape=input_shape, dtype=input_dtype)] + layers,
                                name=name)
    if api == "functional":
        inputs = keras.Input(shape=input_shape, dtype=input_dtype)
        x = inputs
        for layer in layers:
            x = layer(x)
        return keras.Model(inputs, x, name=name)
    if api != "subclassed":
        raise ValueError(f"unknown api {api!r}")
    model = SubclassedStack(layers, name=name)
    # Keras 3's build(shape) does not build sublayers: call it on a batch instead.
    model(tf.zeros((1,) + tuple(input_shape), dtype=input_dtype), training=False)
    return model


def copy_weights(source, target):
    """Copy weights layer by layer (recursing into nested models), never the flat list."""
    src, dst = stack_layers(source), stack_layers(target)
    if len(src) != len(dst):
        raise ValueError(f"{source.name} has {len(src)} layers, {target.name} {len(dst)}")
    for a, b in zip(src, dst):
        if isinstance(a, keras.Model):
            copy_weights(a, b)
        else:
            b.set_weights(a.get_weights())


def compile_for(model, jit_compile, run_eagerly, **compile_kwargs):
    """compile() with an explicit mode that Keras really uses.

    Keras 3 silently replaces jit_compile=True by False (with a warning) while TF op
    determinism is on; determinism is suspended for compile() only, so XLA is really used.
    """
    from tensorflow.python.framework import config as tf_config

    suspend = jit_compile and tf_config.is_op_determinism_enabled()
    if suspend:
        tf_config.disable_op_determinism()
    try:
        model.compile(jit_compile=jit_compile, run_eagerly=run_eagerly, **compile_kwargs)
    finally:
        if suspend:
            tf_config.enable_op_determinism()
    return model


def as_array(value):
    if value is None:
        return None
    return np.asarray(value.numpy() if hasattr(value, "numpy") else value)


# Observations: what each check looks at, per model. Each returns {name: value}.
PREDICT_BATCH = 4  # smaller than the data batch, so predict also runs a partial batch


def observe_predict(model, x):
    return {"predict": model.predict(x, batch_size=PREDICT_BATCH, verbose=0)}


def observe_predict_on_batch(model, x):
    return {"predict_on_batch": as_array(model.predict_on_batch(x))}


def observe_call(model, x):
    return {"call": as_array(model(x, training=False))}


def observe_predict_vs_call(model, x):
    return {**observe_predict(model, x), **observe_call(model, x)}


def observe_training_calls(model, x, calls=3):
    """The same sequence on every API: `calls` training calls, then an inference call.

    Training calls draw from seeded stochastic layers and update BatchNormalization
    statistics, so the final inference call shows whether the statistics agree too.
    """
    reset_layer_seeds(model)
    # Keras 2 seeded layers draw from TF's eager op-seed counters, which advance with every
    # random op in the process: resetting the global seed restarts them, so every API's
    # sequence starts from the same state, whatever ran before.
    tf.random.set_seed(0)
    out = {f"train_{i}": as_array(model(x, training=True)) for i in range(calls)}
    out["eval_after"] = as_array(model(x, training=False))
    out["non_trainable_after"] = [as_array(w) for w in model.non_trainable_weights]
    return out


def observe_output_spec(model, x):
    y = model(x, training=False)
    return {"shape": tuple(int(d) for d in y.shape), "dtype": str(as_array(y).dtype)}


def _weight_path(variable):
    """A weight's name as the user sees it: `path` on Keras 3, `name` on Keras 2."""
    return getattr(variable, "path", None) or variable.name


def observe_weight_paths(model, x):
    return {"paths": [_weight_path(v) for v in model.weights]}


def _model_names(model):
    names = {model.name}
    for layer in stack_layers(model):
        if isinstance(layer, keras.Model):
            names |= _model_names(layer)
    return names


def observe_weights(model, x):
    """Weights named relative to the models (the name scopes of the model and of nested
    models stripped; observe_weight_paths keeps the raw paths), with shapes, dtypes, order
    and the trainable split."""
    scopes = _model_names(model)

    def name(v):
        return "/".join(part for part in _weight_path(v).split("/") if part not in scopes)

    return {
        "weights": [(name(v), tuple(v.shape), str(v.dtype)) for v in model.weights],
        "trainable": [name(v) for v in model.trainable_weights],
        "non_trainable": [name(v) for v in model.non_trainable_weights],
        "count_params": int(model.count_params()),
    }


def observe_flat_weights(model, x):
    return {"get_weights": model.get_weights()}


def observe_losses(model, x):
    model(x, training=False)
    return {"losses": [as_array(loss) for loss in model.losses],
            "n_losses": len(model.losses)}


def observe_output_mask(model, x):
    y = model(x, training=False)
    return {"mask": as_array(getattr(y, "_keras_mask", None))}


def _all_layers(model):
    out = []
    for layer in getattr(model, "layers", []):
        out.append(layer)
        out.extend(_all_layers(layer))
        for attr in ("layer", "forward_layer", "backward_layer"):
            if getattr(layer, attr, None) is not None:
                out.append(getattr(layer, attr))
    return out


def reset_layer_seeds(model):
    """Make every seeded stochastic layer restart its random sequence from its seed.

    Keras 3 keeps a SeedGenerator whose state starts at [seed, 0]; Keras 2 layers hold a
    RandomGenerator wrapping a tf.random.Generator made from the seed.
    """
    for layer in _all_layers(model):
        if IS_KERAS3:
            for gen in getattr(layer, "_seed_generators", None) or []:
                if gen._initial_seed is not None:
                    gen.state.assign(tf.constant([gen._initial_seed, 0], gen.state.dtype))
        else:
            rng = getattr(layer, "_random_generator", None)
            generator = getattr(rng, "_generator", None)
            if generator is not None and getattr(rng, "_seed", None) is not None:
                generator.reset_from_seed(rng._seed)
