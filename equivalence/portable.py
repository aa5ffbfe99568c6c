"""Model assembly, weight transfer and the observed quantities, using only TF, Keras, NumPy.

The suite and a failure's repro.py (equivalence.repro) both run this code.
"""
import contextlib
import inspect
import json
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from equivalence.compare import ERROR
from equivalence.compat import IS_KERAS3, keras

APIS = ("sequential", "functional", "subclassed")
# Workarounds of known upstream discrepancies in effect (equivalence.workarounds sets them
# while a known entry's cause is tested); empty in every ordinary run.
ACTIVE_WORKAROUNDS = set()


def _accepts(layer, arg):
    return arg in inspect.signature(layer.call).parameters


@keras.utils.register_keras_serializable(package="keras_parity")
class SubclassedStack(keras.Model):
    """A linear stack written the way a careful user writes a subclassed model.

    `call` passes `training` to every layer that takes it and threads the mask through
    layers that take one; the mask the last layer attaches is the model's output mask
    (`compute_mask` returns None so Keras keeps it, and does not invent one when the
    stack consumed its mask). It is registered as serializable, and its config holds its
    layers serialized the way Keras serializes them, as Sequential's does.
    """

    def __init__(self, stack_layers=(), **kwargs):
        super().__init__(**kwargs)
        if "subclassed_layers_as_attributes" in ACTIVE_WORKAROUNDS:
            # Each layer tracked as its own attribute, the list kept out of tracking: Keras
            # 2 then lists weights layer by layer (keras2-list-weights-trainable-first).
            object.__setattr__(self, "stack_layers", list(stack_layers))
            for i, layer in enumerate(stack_layers):
                setattr(self, f"layer_{i}", layer)
        else:
            self.stack_layers = list(stack_layers)
        self.supports_masking = True

    def __call__(self, inputs, *args, **kwargs):
        if "subclassed_no_autocast" in ACTIVE_WORKAROUNDS and isinstance(inputs, np.ndarray):
            # Keras 3.3 converts arrays to the compute dtype even with autocast off:
            # a tensor keeps its own dtype.
            inputs = tf.convert_to_tensor(inputs)
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs, training=None, mask=None):
        x, m = inputs, mask
        if getattr(self, "float32_input", False) and tf.as_dtype(x.dtype).is_floating:
            x = tf.cast(x, tf.float32)  # workaround "nested_float32_input" (see assemble)
        for layer in self.stack_layers:
            kwargs = {}
            if _accepts(layer, "training"):
                kwargs["training"] = training
            if m is not None and _drops_mask(layer, x):
                x = tf.identity(x)  # a new tensor: no mask attached for Keras to pick up
            elif m is not None and _accepts(layer, "mask"):
                kwargs["mask"] = m
            y = layer(x, **kwargs)
            if (m is not None and getattr(y, "_keras_mask", None) is None
                    and "mask_across_cast" in ACTIVE_WORKAROUNDS and _casts(layer, x)
                    and getattr(layer, "supports_masking", False)):
                # As a Sequential or Functional graph does (Keras 3.3): the mask goes on
                # by compute_mask where the eager cast of the input dropped it.
                y._keras_mask = layer.compute_mask(x, m)
            m = getattr(y, "_keras_mask", None)
            x = y
        return x

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        # The base Layer config holds name, trainable and the dtype policy: a model built
        # under a mixed policy must come back under it (it autocasts its inputs).
        config = keras.layers.Layer.get_config(self)
        config["layers"] = [keras.layers.serialize(layer) for layer in self.stack_layers]
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layers = [keras.layers.deserialize(c, custom_objects=custom_objects)
                  for c in config.pop("layers")]
        return cls(layers, **config)


def _casts(layer, x) -> bool:
    """Whether the layer casts its float input to another compute dtype."""
    dtype = tf.as_dtype(x.dtype)
    return dtype.is_floating and tf.as_dtype(layer.compute_dtype) != dtype


def _drops_mask(layer, x):
    """Workarounds "no_mask_into_pinned" and "no_mask_into_nested": do as Sequential and
    Functional models do under a mixed policy, where a layer computing in another float
    dtype than its input does not receive the mask (Keras 3.5-3.13) — and a nested model
    does not either (Keras 3.5-3.13 and Keras 2): a nested Sequential or Functional model
    takes float32 Inputs, so its float16 input is cast on the way in."""
    dtype = tf.as_dtype(x.dtype)
    if not dtype.is_floating:
        return False
    if isinstance(layer, keras.Model):
        return bool({"no_mask_into_pinned", "no_mask_into_nested"} & ACTIVE_WORKAROUNDS) \
            and dtype != tf.float32
    return "no_mask_into_pinned" in ACTIVE_WORKAROUNDS \
        and tf.as_dtype(layer.compute_dtype) != dtype


def stack_layers(model):
    """The stack's layers in order, without the InputLayer Functional models list."""
    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def assemble(api, layers, input_shape, input_dtype, name="stack", nested=False):
    """A model of kind `api` made of the fresh `layers`, built and ready to call.

    With the workaround "nested_float32_input" a nested subclassed model casts its float
    input to float32 first, as the float32 Input of a nested Sequential or Functional
    model does under a mixed policy."""
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
    if nested and "nested_float32_input" in ACTIVE_WORKAROUNDS:
        model.float32_input = True
    if "subclassed_no_autocast" in ACTIVE_WORKAROUNDS:  # inputs kept in their own dtype
        if IS_KERAS3:
            model.autocast = False
        else:
            model._autocast = False
    # Keras 3's build(shape) does not build sublayers: call it on a batch instead.
    model(tf.zeros((1,) + tuple(input_shape), dtype=input_dtype), training=False)
    return model


def set_weights(layer, values):
    """layer.set_weights(values), then the layer's state derived from its weights refreshed
    (finalize_state), as Keras 2's set_weights and every Keras loader do: Keras 3's
    set_weights leaves an adapted Normalization computing with the statistics it had before
    (in every API alike; compare keras-team/keras#20147)."""
    layer.set_weights(values)
    if values and hasattr(layer, "finalize_state"):
        layer.finalize_state()


def copy_weights(source, target):
    """Copy weights layer by layer (recursing into nested models), never the flat list."""
    src, dst = stack_layers(source), stack_layers(target)
    if len(src) != len(dst):
        raise ValueError(f"{source.name} has {len(src)} layers, {target.name} {len(dst)}")
    for a, b in zip(src, dst):
        if isinstance(a, keras.Model):
            copy_weights(a, b)
        else:
            set_weights(b, a.get_weights())


@contextlib.contextmanager
def determinism_suspended(active=True):
    """Op determinism off for the block when `active` (and on again afterwards).

    Keras 3 silently replaces jit_compile=True by False (with a warning) while TF op
    determinism is on, at compile() and when load_model() recompiles a saved model.
    """
    from tensorflow.python.framework import config as tf_config

    suspend = active and tf_config.is_op_determinism_enabled()
    if suspend:
        tf_config.disable_op_determinism()
    try:
        yield
    finally:
        if suspend:
            tf_config.enable_op_determinism()


def compile_for(model, jit_compile, run_eagerly, **compile_kwargs):
    """compile() with an explicit mode that Keras really uses (XLA really on for jit)."""
    with determinism_suspended(jit_compile):
        model.compile(jit_compile=jit_compile, run_eagerly=run_eagerly, **compile_kwargs)
    return model


# The optimizers and losses of the training modes, as code: minimal.py writes them out.
OPTIMIZER_CODE = {
    "sgd_momentum": "keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)",
    "adam": "keras.optimizers.Adam(learning_rate=1e-3)",
    "adamw": "keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=0.01)",
    "rmsprop": "keras.optimizers.RMSprop(learning_rate=1e-3)",
}
LOSS_CODE = {  # crossentropies on logits: any stack output is a valid logit tensor
    "mse": "keras.losses.MeanSquaredError()",
    "categorical_crossentropy": "keras.losses.CategoricalCrossentropy(from_logits=True)",
    "sparse_categorical_crossentropy":
        "keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
}


def _maker(code):
    return lambda: eval(code, {"keras": keras})  # noqa: S307 - the literals above


OPTIMIZERS = {name: _maker(code) for name, code in OPTIMIZER_CODE.items()}
LOSSES = {name: _maker(code) for name, code in LOSS_CODE.items()}


def training_kwargs(optimizer, loss, steps_per_execution=1):
    """compile() arguments for a training mode: fresh optimizer and loss objects."""
    if optimizer is None:
        return {}
    return {"optimizer": OPTIMIZERS[optimizer](), "loss": LOSSES[loss](),
            "steps_per_execution": steps_per_execution}


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
    return {**observe_predict(model, x), **observe_call(model, x),
            "rounding_response": rounding_response(model, x)}


def rounding_response(model, x) -> float:
    """How far the eager output moves when the values between the stack's layers move by
    one unit in the last place: the sum, over the input and each layer's output, of the
    largest output change when that activation alone is moved one ulp (random signs,
    seeded) and carried through the rest of the stack (training=False, its mask kept).

    A stack that compresses its values and then normalizes them (Rescaling(1/255,
    offset=-1) on values of order 1, then LayerNormalization: three nearly equal values
    whose differences are divided by ~sqrt(epsilon)) turns one ulp into thousands; graph
    and eager execution round differently at those same places, so the predict_vs_call
    tolerance grows with this figure (compare.TOLERANCES). 0.0 where no activation is a
    float array, or where running the layers one by one raises (the table's tolerance).
    """
    layers = stack_layers(model)
    rng = np.random.default_rng(0)
    try:
        acts = [x]
        for layer in layers:
            acts.append(layer(acts[-1], training=False))
        y = as_array(acts[-1])
        total = 0.0
        for k in range(len(layers)):
            moved = _one_ulp(acts[k], rng)
            if moved is None:
                continue
            for layer in layers[k:]:
                moved = layer(moved, training=False)
            total += float(np.max(np.abs(as_array(moved).astype(np.float64) - y), initial=0.0))
    except Exception:  # noqa: BLE001 - an estimate only: the table's tolerance stands
        return 0.0
    return total if np.isfinite(total) else 0.0


def _one_ulp(value, rng):
    """`value` moved one ulp up or down at random per element, as a tensor carrying the
    same Keras mask; None if it is not a float16/32/64 array."""
    array = as_array(value)
    if array.dtype not in (np.float16, np.float32, np.float64):
        return None
    toward = np.where(rng.random(array.shape) < 0.5, -np.inf, np.inf).astype(array.dtype)
    moved = tf.constant(np.nextafter(array, toward))
    mask = getattr(value, "_keras_mask", None)
    if mask is not None:
        moved._keras_mask = mask
    return moved


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


def _relative_name(model, variable):
    """The variable's path without the name scopes of `model` and its nested models."""
    scopes = _model_names(model)
    return "/".join(part for part in _weight_path(variable).split("/") if part not in scopes)


def observe_weights(model, x):
    """Weights named relative to the models (the name scopes of the model and of nested
    models stripped; observe_weight_paths keeps the raw paths), with shapes, dtypes, order
    and the trainable split."""
    def name(v):
        return _relative_name(model, v)

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


def _seed_states(model):
    """The state variables of the model's seeded random streams, in layer order."""
    out = []
    for layer in _all_layers(model):
        if IS_KERAS3:
            out += [gen.state for gen in getattr(layer, "_seed_generators", None) or []]
        else:
            generator = getattr(getattr(layer, "_random_generator", None), "_generator", None)
            if generator is not None:
                out.append(generator.state)
    return out


def copy_seed_state(source, target):
    """Workaround "restore_seed_state": the target's random streams where the source's are
    (what a checkpoint that saved them would restore)."""
    for a, b in zip(_seed_states(source), _seed_states(target)):
        b.assign(a)


def copy_activity_regularizers(source, target):
    """Workaround "restore_activity_regularizer": each loaded leaf layer given the source
    layer's activity regularizer where the load left none (Keras 3.3)."""
    for a, b in zip(leaf_layers(source), leaf_layers(target)):
        if getattr(a, "activity_regularizer", None) is not None \
                and getattr(b, "activity_regularizer", None) is None:
            b.activity_regularizer = a.activity_regularizer


def copy_vocabularies(source, target):
    """Each lookup layer (TextVectorization, StringLookup, IntegerLookup) of `target` given
    the source layer's vocabulary where it has another (an adapted one: not in its config,
    and not a weight)."""
    for a, b in zip(leaf_layers(source), leaf_layers(target)):
        if hasattr(a, "get_vocabulary") and hasattr(b, "set_vocabulary") \
                and b.get_vocabulary() != a.get_vocabulary():
            b.set_vocabulary(a.get_vocabulary())


def copy_loss_scale(source, target):
    """Workaround "restore_loss_scale": Keras 2's LossScaleOptimizer dynamic loss scale and
    its counter where the source's are (the .keras file does not restore them)."""
    state = getattr(target, "_loss_scale", None)  # a _DynamicLossScaleState (trackable)
    if hasattr(state, "_current_loss_scale"):
        state._current_loss_scale.assign(source.loss_scale)
        state._counter.assign(source.dynamic_counter)


# Saving and loading. Every file goes to a scratch directory removed afterwards.
@contextlib.contextmanager
def scratch_dir():
    path = tempfile.mkdtemp(prefix="keras-parity-")
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def observe_safely(observe, model, x, **kwargs):
    """`observe`, with an exception recorded as the observation {ERROR: message}: an API
    that cannot save or load what the others can is a finding, not a crash."""
    try:
        return observe(model, x, **kwargs)
    except Exception as exc:  # noqa: BLE001 - reported, with its type, as the finding
        return {ERROR: describe_error(exc)}


_WRAPPED = "Exception encountered: "


def describe_error(exc):
    """One line: the exception's type, the start of its message and, where the message
    wraps another exception's (Keras' deserialization: "... config=... Exception
    encountered: <inner>", nested once per level), the start of the innermost one's too:
    the cause a known entry's `Raises` names, which the start of a long config cuts off."""
    text = " ".join(str(exc).split())
    line = text[:400]
    if _WRAPPED in text:
        inner = text.rsplit(_WRAPPED, 1)[1][:300]
        if inner not in line:
            line += f" ... {_WRAPPED}{inner}"
    return f"{type(exc).__name__}: {line}"


def leaf_layers(model):
    """The stack's leaf layers in order, recursing into nested models."""
    for layer in stack_layers(model):
        if isinstance(layer, keras.Model):
            yield from leaf_layers(layer)
        else:
            yield layer


def leaf_weights(model):
    """{'<layer name>::<i>': array} for every leaf layer, recursing into nested models.

    Positional layer names are the same in every API, so this compares across APIs
    whatever order each API lists its weights in, and whatever name scopes a loaded or
    rebuilt model gives its variables."""
    return {f"{layer.name}::{i}": value for layer in leaf_layers(model)
            for i, value in enumerate(layer.get_weights())}


def set_leaf_weights(model, weights):
    """Give every leaf layer its weights from a leaf_weights() dict."""
    for layer in leaf_layers(model):
        set_weights(layer, [weights[f"{layer.name}::{i}"]
                            for i in range(len(layer.get_weights()))])


def leaf_trainable(model):
    """The keys of leaf_weights whose weights are trainable."""
    out = []
    for layer in leaf_layers(model):
        trainable = {id(v) for v in layer.trainable_weights}
        out += [f"{layer.name}::{i}" for i, v in enumerate(layer.weights) if id(v) in trainable]
    return out


def _plain_config(config):
    """A config as JSON data (tuples become lists, as they do in every saved file), a
    Lambda's function as what it computes (`_function_code`)."""
    return _function_code(json.loads(json.dumps(config, default=repr)))


def _function_code(data):
    """`data` with each marshalled function (a Lambda's: Keras 3 {"code", "defaults",
    "closure"}, Keras 2 [code, defaults, closure] beside "function_type": "lambda") given as
    its code's fields. CPython's marshal writes an object referenced once without the
    FLAG_REF bit, so the same function marshals to other bytes when its constants are
    referenced otherwise — as after a load (Keras 3.3.3's legacy .h5 round trip: 0x7a
    against 0xfa for one string, every API alike). The code itself must survive, bit for
    bit: its bytecode, constants, names and arguments are compared."""
    if isinstance(data, list):
        return [_function_code(v) for v in data]
    if not isinstance(data, dict):
        return data
    out = {k: _function_code(v) for k, v in data.items()}
    if set(out) == {"code", "defaults", "closure"} and isinstance(out["code"], str):
        out["code"] = _code_fields(out["code"])
    elif out.get("function_type") == "lambda" and isinstance(out.get("function"), list) \
            and out["function"] and isinstance(out["function"][0], str):
        out["function"] = [_code_fields(out["function"][0]), *out["function"][1:]]
    return out


def _code_fields(encoded: str):
    """What a base64 marshalled code object computes, as JSON data; the text itself where
    it is not one."""
    import binascii
    import marshal
    import types

    def fields(code):
        consts = [fields(c) if isinstance(c, types.CodeType) else repr(c)
                  for c in code.co_consts]
        return {"bytecode": code.co_code.hex(), "consts": consts,
                "names": list(code.co_names), "varnames": list(code.co_varnames),
                "argcount": code.co_argcount, "kwonlyargcount": code.co_kwonlyargcount,
                "flags": code.co_flags}
    try:
        code = marshal.loads(binascii.a2b_base64(encoded.encode("ascii")))
    except (ValueError, EOFError, TypeError, binascii.Error):
        return encoded
    return fields(code) if isinstance(code, types.CodeType) else encoded


def model_state(model, x):
    """What a saved-and-loaded model must keep: class, config, every weight (trainable and
    not, and which is which) and the inference output."""
    return {"class": type(model).__name__, "config": _plain_config(model.get_config()),
            "weights": leaf_weights(model),
            "trainable": leaf_trainable(model),
            "call": as_array(model(x, training=False))}


def _loaded(path, model, global_policy="float32"):
    """load_model with safe mode on, recompiling in the saved model's mode, under
    `global_policy` (a program's mixed-precision setting)."""
    keras.mixed_precision.set_global_policy(global_policy)
    try:
        with determinism_suspended(bool(getattr(model, "jit_compile", False))):
            return keras.models.load_model(path, safe_mode=True)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def _file_round_trip(model, x, filename, load):
    """model.save(filename), then load(path): the model_state of both."""
    with scratch_dir() as d:
        path = os.path.join(d, filename)
        model.save(path)
        return {"original": model_state(model, x), "loaded": model_state(load(path), x)}


def observe_keras_file(model, x):
    """Save to the native .keras file, load with safe mode, compare everything."""
    return _file_round_trip(model, x, "model.keras", lambda path: _loaded(path, model))


def observe_legacy_h5(model, x):
    """The legacy whole-model HDF5 file (model.save('*.h5') / load_model)."""
    return _file_round_trip(model, x, "model.h5", _load_h5)


def _load_h5(path):
    loaded = keras.models.load_model(path)
    if "finalize_after_load" in ACTIVE_WORKAROUNDS:  # what keras-team/keras#20168 added
        for layer in leaf_layers(loaded):
            if hasattr(layer, "finalize_state"):
                layer.finalize_state()
    return loaded


# Weights-only files: .weights.h5 on Keras 3; HDF5 and a TF checkpoint on Keras 2.
WEIGHT_FILES = (".weights.h5",) if IS_KERAS3 else (".h5",)
CHECKPOINT_FILES = () if IS_KERAS3 else (".ckpt",)  # Keras 2's TF-format save_weights


def observe_weights_file(model, x, fresh, suffixes=WEIGHT_FILES):
    """This model's weights file loaded into a fresh model of every API (fresh(api) has
    other weights), including its own: each must then hold this model's weights."""
    out = {"source": {"weights": leaf_weights(model), "call": as_array(model(x, training=False))}}
    with scratch_dir() as d:
        for suffix in suffixes:
            # A name without .h5 is a TF checkpoint prefix on Keras 2.
            path = os.path.join(d, "weights" + (suffix if suffix != ".ckpt" else ""))
            model.save_weights(path)
            for api in APIS:
                target = fresh(api)
                target.load_weights(path)
                out[f"into_{api}{suffix}"] = {"weights": leaf_weights(target),
                                              "call": as_array(target(x, training=False))}
    return out


def observe_weights_checkpoint(model, x, fresh):
    """As observe_weights_file, for Keras 2's TF-format checkpoint (a name without .h5)."""
    return observe_weights_file(model, x, fresh, suffixes=CHECKPOINT_FILES)


def observe_config(model, x):
    """get_config/from_config and to_json/model_from_json: the rebuilt model, given this
    model's weights layer by layer, has the same class, config and output. An adapted
    lookup's vocabulary is state that is neither config nor a weight: it is given too,
    before the first call (which would find the table empty)."""
    out = {"original": model_state(model, x)}
    rebuilt = {"from_config": lambda: type(model).from_config(model.get_config()),
               "from_json": lambda: keras.models.model_from_json(model.to_json())}
    for how, make in rebuilt.items():
        clone = make()
        if not isinstance(clone, keras.Model):
            raise TypeError(f"{how} returned {type(clone).__name__}, not a model")
        copy_vocabularies(model, clone)
        clone(x, training=False)  # builds a subclassed clone's layers
        copy_weights(model, clone)
        out[how] = model_state(clone, x)
    return out


def save_for_serving(model, path, x=None):
    """A SavedModel for serving: model.export on Keras 3, tf.saved_model.save on Keras 2.

    With the `export_inference_call` workaround (Keras 3), an ExportArchive whose one
    endpoint calls the model with training=False, over the dtype of the data `x` and any
    batch size, instead of model.export's bare `model.__call__`
    (export-serves-training-default)."""
    if IS_KERAS3 and "export_inference_call" in ACTIVE_WORKAROUNDS:
        t = tf.constant(x)
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint("serve", lambda inputs: model(inputs, training=False),
                             input_signature=[tf.TensorSpec((None, *t.shape[1:]), t.dtype)])
        _quietly(archive.write_out, path)
    elif IS_KERAS3:
        _quietly(model.export, path)
    else:
        tf.saved_model.save(model, path)


def _quietly(write, path):
    """`write(path)`, without printing the endpoints where Keras takes `verbose`."""
    write(path, **({"verbose": False} if "verbose" in inspect.signature(write).parameters
                   else {}))


def serve(path, x):
    """The output of the serving_default signature of the SavedModel at `path` on `x`."""
    serving = tf.saved_model.load(path).signatures["serving_default"]
    (name,) = serving.structured_input_signature[1]
    (served,) = serving(**{name: tf.constant(x)}).values()
    return as_array(served)


def graph_call(model, x):
    """__call__(training=False) traced as a tf.function over any batch size, as a serving
    signature is: the graph the SavedModel holds, run in this process."""
    t = tf.constant(x)
    traced = tf.function(lambda inputs: model(inputs, training=False),
                         input_signature=[tf.TensorSpec((None, *t.shape[1:]), t.dtype)])
    return as_array(traced(t))


def observe_export(model, x):
    """SavedModel for serving, reloaded with tf.saved_model.load: the serving signature's
    output against the same call traced here (graph_call). Not against eager __call__:
    a graph's rewrites (Grappler, oneDNN fusions) may round differently from eager ops —
    the graph-vs-eager difference `predict_vs_call` checks within its tolerance; a saved
    graph must compute what the live one does, bit for bit."""
    with scratch_dir() as d:
        path = os.path.join(d, "saved_model")
        save_for_serving(model, path, x)
        return {"graph": graph_call(model, x), "serving": serve(path, x)}


# Training. Every sequence starts from the same random state (seeded layers, TF's seed).
TRAIN_BATCH = 3  # divides no drawn batch size (8, 5): fit also runs a partial batch
TRAIN_EPOCHS = 2


def start_training(model):
    reset_layer_seeds(model)
    tf.random.set_seed(0)


def targets_for(model, x):
    """Seeded targets matching the output and the compiled loss (or MSE)."""
    y_shape = tuple(int(d) for d in model(x, training=False).shape)
    rng = np.random.default_rng(0)
    loss = getattr(model, "loss", None)
    if isinstance(loss, (keras.losses.CategoricalCrossentropy,
                         keras.losses.SparseCategoricalCrossentropy)):
        labels = rng.integers(0, y_shape[-1], size=y_shape[:-1])
        if isinstance(loss, keras.losses.SparseCategoricalCrossentropy):
            return labels.astype(np.int32)
        return np.eye(y_shape[-1], dtype=np.float32)[labels]
    return rng.standard_normal(y_shape).astype(np.float32)


def optimizer_variables(optimizer):
    """The optimizer's variables (a property on Keras 3, a method on Keras 2)."""
    variables = optimizer.variables
    return variables() if callable(variables) else variables


def training_state(model):
    return {"weights": leaf_weights(model),
            "optimizer": [as_array(v) for v in optimizer_variables(model.optimizer)]}


def observe_fit(model, x):
    """fit for TRAIN_EPOCHS epochs, shuffle off: loss history, every weight, optimizer."""
    y = targets_for(model, x)
    start_training(model)
    history = model.fit(x, y, batch_size=TRAIN_BATCH, epochs=TRAIN_EPOCHS, shuffle=False,
                        verbose=0)
    return {"loss": np.asarray(history.history["loss"]), **training_state(model)}


def observe_train_steps(model, x):
    """train_on_batch twice, test_on_batch, evaluate with a partial last batch."""
    y = targets_for(model, x)
    start_training(model)
    out = {f"train_on_batch_{i}": np.asarray(model.train_on_batch(x, y)) for i in range(2)}
    out["test_on_batch"] = np.asarray(model.test_on_batch(x, y))
    out["evaluate"] = np.asarray(model.evaluate(x, y, batch_size=TRAIN_BATCH, verbose=0))
    return {**out, **training_state(model)}


def observe_gradients(model, x):
    """Loss (MSE plus the model's own losses) and its gradients from tf.GradientTape."""
    y = targets_for(model, x)
    start_training(model)
    with tf.GradientTape() as tape:
        pred = tf.cast(model(x, training=True), tf.float32)
        loss = tf.reduce_mean(tf.square(pred - y))
        if model.losses:
            loss += tf.add_n([tf.cast(extra, tf.float32) for extra in model.losses])
    grads = tape.gradient(loss, model.trainable_weights)
    return {"loss": as_array(loss),
            # Embedding gradients are IndexedSlices: compared densified.
            "gradients": {_relative_name(model, v):
                          as_array(None if g is None else tf.convert_to_tensor(g))
                          for v, g in zip(model.trainable_weights, grads)}}


def observe_resume(model, x):
    """Train one epoch, save a .keras file, load it, train one more epoch: the resumed model
    must end where the uninterrupted one (the same model training on) does.

    The load runs under the global policy the model was built with, as a mixed-precision
    program sets it at its start: loaded under float32, a mixed_float16 model of any API
    recompiles without its LossScaleOptimizer (the model-level policy is not restored)."""
    y = targets_for(model, x)
    start_training(model)
    fit = dict(x=x, y=y, batch_size=TRAIN_BATCH, epochs=1, shuffle=False, verbose=0)
    model.fit(**fit)
    with scratch_dir() as d:
        path = os.path.join(d, "checkpoint.keras")
        model.save(path)
        resumed = _loaded(path, model, model.dtype_policy.name)
    if "restore_seed_state" in ACTIVE_WORKAROUNDS:
        copy_seed_state(model, resumed)
    if "restore_loss_scale" in ACTIVE_WORKAROUNDS:
        copy_loss_scale(model.optimizer, resumed.optimizer)
    if "restore_activity_regularizer" in ACTIVE_WORKAROUNDS:
        copy_activity_regularizers(model, resumed)
    out = {}
    for how, m in (("uninterrupted", model), ("resumed", resumed)):
        at_load = training_state(m)
        history = m.fit(**fit)
        out[how] = {"at_load": at_load, "loss": np.asarray(history.history["loss"]),
                    **training_state(m)}
    return out
