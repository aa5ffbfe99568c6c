"""minimal.py: a failure as plain Keras code, for an upstream bug report.

The stack's layers are literal constructor calls, the three models are built the way the
suite builds them (Sequential, Functional, and a subclassed model that passes `training`
and the mask to each layer), the Sequential model's weights go into all three, one check
runs and the difference is printed. TensorFlow, Keras and NumPy only — no import from this
project; inputs and weights inline when small, from the `.npz` files beside it otherwise.
Exit 1 when the difference reproduces (a failing API differs), 0 when it does not.

Each check's observation here is the core of the suite's (`equivalence.portable`); where
the suite looks at more than a few lines can say, `repro.py` beside it runs the suite's own.
"""
from __future__ import annotations

import inspect

import numpy as np

from equivalence import compat
from equivalence.compare import tolerance_for
from equivalence.layers import REGISTRY
from equivalence.portable import LOSS_CODE, OPTIMIZER_CODE, PREDICT_BATCH, TRAIN_BATCH, \
    TRAIN_EPOCHS

INLINE_ELEMENTS = 48  # inputs or weights with more elements than this come from the .npz
HELPER = "#helper\n"  # marks a class definition among the imports layer_code collects

# The subclassed model, as equivalence.portable.SubclassedStack: `training` to each layer that
# takes it; with a mask in the stack, the mask too, and the last layer's mask as the output's.
STACK = """
class SubclassedStack(keras.Model):
    def __init__(self, stack_layers=(), **kwargs):
        super().__init__(**kwargs)
        self.stack_layers = list(stack_layers){supports_masking}

    def call(self, x, training=None, mask=None):
        for layer in self.stack_layers:
            takes = inspect.signature(layer.call).parameters
            kwargs = {"training": training} if "training" in takes else {}{mask_in}
            x = layer(x, **kwargs){mask_out}
        return x
"""
PLAIN_CALL = """
    def call(self, x, training=None, mask=None):
        for layer in self.stack_layers:
            x = layer(x, training=training) if "training" in inspect.signature(layer.call).parameters else layer(x)
        return x
"""
MASK = ("\n        self.supports_masking = True",
        '\n            if mask is not None and "mask" in takes:\n'
        '                kwargs["mask"] = mask',
        '\n            mask = getattr(x, "_keras_mask", None)',
        "\n\n    def compute_mask(self, inputs, mask=None):\n        return None")
SERIALIZABLE = """
    def get_config(self):
        layers = [keras.layers.serialize(layer) for layer in self.stack_layers]
        return {**keras.layers.Layer.get_config(self), "layers": layers}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        return cls([keras.layers.deserialize(c) for c in config.pop("layers")], **config)
"""
BUILD = """

def build(api, layers, shape={shape}, dtype={dtype}, name="stack"):
    if api == "subclassed":
        model = SubclassedStack(layers, name=name)
        model(tf.zeros((1, *shape), dtype), training=False)
        return model
    inputs = h = keras.Input(shape, dtype=dtype)
    if api == "sequential":
        return keras.Sequential([inputs, *layers], name=name)
    for layer in layers:
        h = layer(h)
    return keras.Model(inputs, h, name=name)

def model(api, seed={seed}):
    keras.utils.set_random_seed(seed){policy_on}
    {assign}build(api, [
{layers}
    ]){policy_off}
"""
LEAVES = """
def leaves(m):
    for layer in m.layers:
        if isinstance(layer, keras.Model):
            yield from leaves(layer)
        elif not isinstance(layer, keras.layers.InputLayer):
            yield layer
"""
WEIGHTS_OF = """
def weights_of(m):
    flat = [w for layer in {layers_of} for w in layer.get_weights()]
    return {f"weights[{i}]": w for i, w in enumerate(flat)}
"""
MODELS = """
models = {api: model(api) for api in APIS}
for m in models.values():  # the Sequential model's weights, in every model by layer name
    for layer in {layers_of}:
        layer.set_weights([w for k, w in WEIGHTS.items() if k.startswith(layer.name + "::")])
"""
SAME = """

def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and {test}
"""

# What each check observes on a model `m` (inputs `x`): {name: value}, or for a check that
# compares inside each API, {group: {name: value}} whose later groups must equal the first.
_COMPILE = "m.compile({compile})"
OBSERVE = {
    "call": ['return {"call": m(x, training=False)}'],
    "predict": [_COMPILE, f'return {{"predict": m.predict(x, batch_size={PREDICT_BATCH}, '
                          f'verbose=0)}}'],
    "predict_on_batch": [_COMPILE, 'return {"predict_on_batch": m.predict_on_batch(x)}'],
    "predict_vs_call": [_COMPILE, f'return {{"predict": {{"y": m.predict(x, batch_size='
                                  f'{PREDICT_BATCH}, verbose=0)}}, '
                                  f'"call": {{"y": m(x, training=False)}}}}'],
    "training_calls": ["tf.random.set_seed(0)",
                       'out = {f"train_{i}": m(x, training=True) for i in range(3)}',
                       'out["eval_after"] = m(x, training=False)',
                       'return {**out, **{f"non_trainable[{i}]": w '
                       'for i, w in enumerate(m.non_trainable_weights)}}'],
    "output_spec": ["y = m(x, training=False)",
                    'return {"shape": str(tuple(y.shape)), "dtype": str(y.dtype)}'],
    "weights": ["scopes = {m.name} | {l.name for l in m.layers if isinstance(l, keras.Model)}",
                "def name(v):",
                '    path = getattr(v, "path", None) or v.name',
                '    return "/".join(p for p in path.split("/") if p not in scopes)',
                'return {"weights": str([(name(v), tuple(v.shape), str(v.dtype)) '
                'for v in m.weights]),',
                '        "trainable": str([name(v) for v in m.trainable_weights]),',
                '        "count_params": m.count_params()}'],
    "weight_paths": ['return {"paths": str([getattr(v, "path", None) or v.name '
                     'for v in m.weights])}'],
    "flat_weights": ['return {f"get_weights[{i}]": w for i, w in enumerate(m.get_weights())}'],
    "losses": ["m(x, training=False)",
               'return {"n": len(m.losses), **{f"losses[{i}]": loss '
               'for i, loss in enumerate(m.losses)}}'],
    "output_mask": ['return {"mask": getattr(m(x, training=False), "_keras_mask", None)}'],
    "keras_file": ['path = os.path.join(tempfile.mkdtemp(), "model.keras")', "m.save(path)",
                   'return {"original": state(m), '
                   '"loaded": state(keras.models.load_model(path, safe_mode=True))}'],
    "legacy_h5": ['path = os.path.join(tempfile.mkdtemp(), "model.h5")', "m.save(path)",
                  'return {"original": state(m), "loaded": state(keras.models.load_model(path))}'],
    "config": ['out = {"original": state(m)}',
               'for how, clone in (("from_config", lambda: type(m).from_config(m.get_config())),',
               '                   ("from_json", lambda: keras.models.model_from_json('
               'm.to_json()))):',
               "    clone = clone()",
               "    clone(x, training=False)",
               "    for a, b in zip({layers_of}, {layers_of_clone}):",
               "        b.set_weights(a.get_weights())",
               "        if hasattr(b, 'finalize_state'):  # as Keras' loaders do",
               "            b.finalize_state()",
               "    out[how] = state(clone)",
               "return out"],
    "weights_file": ['path = os.path.join(tempfile.mkdtemp(), "model{weights_suffix}")',
                     "m.save_weights(path)",
                     'out = {"source": {"call": m(x, training=False), **weights_of(m)}}',
                     "for api in APIS:  # into a fresh model of every API, other weights",
                     "    target = model(api, seed={reseed})",
                     "    target.load_weights(path)",
                     '    out[f"into_{api}"] = {"call": target(x, training=False), '
                     '**weights_of(target)}',
                     "return out"],
    "export": ['path = os.path.join(tempfile.mkdtemp(), "saved_model")',
               "{export}",
               'serving = tf.saved_model.load(path).signatures["serving_default"]',
               "(name,) = serving.structured_input_signature[1]",
               "(served,) = serving(**{name: tf.constant(x)}).values()",
               "t = tf.constant(x)  # the same call as a graph over any batch size",
               "graph = tf.function(lambda i: m(i, training=False),",
               "                    input_signature=[tf.TensorSpec((None, *t.shape[1:]), t.dtype)])",
               'return {"graph": {"y": graph(t)}, "serving": {"y": served}}'],
    "fit": [_COMPILE, "tf.random.set_seed(0)",
            f"history = m.fit(x, y, batch_size={TRAIN_BATCH}, epochs={TRAIN_EPOCHS}, "
            f"shuffle=False, verbose=0)",
            'return {"loss": history.history["loss"], **weights_of(m), **optimizer_of(m)}'],
    "train_steps": [_COMPILE, "tf.random.set_seed(0)",
                    'out = {f"train_on_batch_{i}": m.train_on_batch(x, y) for i in range(2)}',
                    'out["test_on_batch"] = m.test_on_batch(x, y)',
                    f'out["evaluate"] = m.evaluate(x, y, batch_size={TRAIN_BATCH}, verbose=0)',
                    "return {**out, **weights_of(m), **optimizer_of(m)}"],
    "gradients": ["tf.random.set_seed(0)",
                  "with tf.GradientTape() as tape:",
                  "    loss = tf.reduce_mean(tf.square(tf.cast(m(x, training=True), "
                  "tf.float32) - y))",
                  "    if m.losses:",
                  "        loss += tf.add_n([tf.cast(extra, tf.float32) for extra in m.losses])",
                  "grads = tape.gradient(loss, m.trainable_weights)",
                  'return {"loss": loss, **{f"gradient[{i}]": None if g is None else '
                  'tf.convert_to_tensor(g) for i, g in enumerate(grads)}}'],
    "resume": [_COMPILE, "tf.random.set_seed(0)",
               f"fit = dict(x=x, y=y, batch_size={TRAIN_BATCH}, epochs=1, shuffle=False, "
               f"verbose=0)",
               "m.fit(**fit)",
               'path = os.path.join(tempfile.mkdtemp(), "checkpoint.keras")',
               "m.save(path){policy_on}",
               "resumed = keras.models.load_model(path){policy_off}",
               "out = {}",
               'for how, n in (("uninterrupted", m), ("resumed", resumed)):',
               '    out[how] = {**weights_of(n), **optimizer_of(n), '
               '"loss": n.fit(**fit).history["loss"]}',
               "return out"],
}
OBSERVE["weights_checkpoint"] = OBSERVE["weights_file"]
# The groups a check compares inside each API (the first is the reference); others compare
# each API with Sequential.
WITHIN = ("predict_vs_call", "keras_file", "legacy_h5", "config", "weights_file",
          "weights_checkpoint", "export", "resume")

STATE = '''

def state(m):
    config = json.dumps(m.get_config(), sort_keys=True, default=repr)
    return {"class": type(m).__name__, "config": config, "call": m(x, training=False),
            **weights_of(m)}
'''
OPTIMIZER_OF = '''

def optimizer_of(m):
    variables = m.optimizer.variables{call}
    return {f"optimizer[{i}]": v for i, v in enumerate(variables)}
'''
# Each failing API against Sequential, or inside each failing API its later groups against
# the first; for a saving check an exception is the API's observation.
CROSS = """
seen = {api: observe(m) for api, m in models.items()}
bad = [(api, key, seen[api].get(key), want) for api in FAILING
       for key, want in seen["sequential"].items() if not same(seen[api].get(key), want)]
"""
INSIDE = """
seen = {api: {observe}(models[api]) for api in FAILING}
bad = [(api, f"{other}.{key}", groups[other].get(key), want)
       for api, groups in seen.items() for other in list(groups)[1:]
       for key, want in groups[list(groups)[0]].items() if not same(groups[other].get(key), want)]
"""
ERRORS = """
bad += [(api, "raised", g["error"], "no exception") for api, g in seen.items() if "error" in g]
"""
END = """for api, what, got, want in bad:
    print(f"{api}, {what}:\\n  {got}\\n  expected {want}")
print("REPRODUCED" if bad else "NOT REPRODUCED")
raise SystemExit(1 if bad else 0)
"""
SAFELY = """

def safely(m):  # saving and loading: an exception is the observation
    try:
        return observe(m)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
"""


def _args(cfg: dict, name: str, dtype: str | None) -> str:
    items = [f"{k}={v!r}" for k, v in cfg.items()] + [f"name={name!r}"]
    return ", ".join(items + ([f"dtype={dtype!r}"] if dtype else []))


def layer_code(ls, name: str, shape, imports: set) -> str:
    """A literal constructor call for one LayerSpec (a nested stack builds its inner model)."""
    info = REGISTRY[ls.kind]
    if info.nests:
        cfg = ls.params
        inner, inner_shape = [], tuple(shape)
        for i, child in enumerate(cfg["layers"]):
            inner.append(layer_code(child, f"{name}_{i}_{child.kind.lower()}", inner_shape,
                                    imports))
            inner_shape = REGISTRY[child.kind].output_shape(inner_shape, child.params)
        api = "api" if cfg["api"] == "same" else repr(cfg["api"])
        return (f"build({api}, [{', '.join(inner)}], shape={tuple(shape)!r}, "
                f"dtype='float32', name={name!r})")
    if info.helper is not None:  # plain Keras code of ours: its source goes in the script
        imports.add(HELPER + inspect.getsource(info.helper))
    if info.literal is not None:
        return info.literal(ls.params, name, ls.dtype)
    if info.cls is not None:  # the user's own class, from the user's own module
        imports.add(f"from {info.cls.__module__} import {info.cls.__name__}")
        return f"{info.cls.__name__}({_args(ls.params, name, ls.dtype)})"
    return f"keras.layers.{info.class_name or ls.kind}({_args(ls.params, name, ls.dtype)})"


def _array_code(value: np.ndarray) -> str:
    """The array as a literal; floats in their shortest form that reads back bit for bit."""
    def text(v):
        return "[" + ", ".join(map(text, v)) + "]" if isinstance(v, np.ndarray) and v.ndim \
            else str(v)
    return f"np.array({text(np.asarray(value))}, dtype={str(value.dtype)!r})"


def _targets_code(loss: str | None) -> str:
    """y for the training checks, as portable.targets_for draws it."""
    shape = 'models["sequential"](x, training=False).shape'
    if loss in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        labels = f"np.random.default_rng(0).integers(0, {shape}[-1], size={shape}[:-1])"
        if loss == "sparse_categorical_crossentropy":
            return f"y = {labels}.astype(np.int32)"
        return f"y = np.eye({shape}[-1], dtype=np.float32)[{labels}]"
    return f"y = np.random.default_rng(0).standard_normal({shape}).astype(np.float32)"


def _has_mask(layers) -> bool:
    return any(REGISTRY[ls.kind].mask(ls.params) == "produces"
               or _has_mask(ls.inner) for ls in layers)


def render(spec, check, mode, failing, weights: dict, x: np.ndarray) -> str:
    """The minimal script for one failure (see the module docstring)."""
    from equivalence.builders import _layer_name

    name = check.name
    imports: set[str] = set()
    shape, lines = tuple(spec.input.shape), []
    for i, ls in enumerate(spec.layers):
        lines.append("        " + layer_code(ls, _layer_name("l", i, ls.kind), shape, imports)
                     + ",")
        shape = REGISTRY[ls.kind].output_shape(shape, ls.params)
    mixed = spec.policy != "float32"
    policy_on = f"\n    keras.mixed_precision.set_global_policy({spec.policy!r})" if mixed else ""
    policy_off = '\n    keras.mixed_precision.set_global_policy("float32")' if mixed else ""
    nested = any(REGISTRY[ls.kind].nests for ls in spec.layers)
    saving = check.raises_is_finding
    serialized = saving or name == "resume"
    within = name in WITHIN
    legacy = "tf_keras" in compat.KERAS_IMPORT

    values = list(weights.values())
    small = x.size <= INLINE_ELEMENTS and sum(v.size for v in values) <= INLINE_ELEMENTS
    if small:
        data = (f"x = {_array_code(x)}\n"
                f"WEIGHTS = {{{', '.join(f'{k!r}: {_array_code(v)}' for k, v in weights.items())}}}")
    else:
        data = ("HERE = os.path.dirname(os.path.abspath(__file__))\n"
                'x = np.load(os.path.join(HERE, "inputs.npz"))["x"]\n'
                'WEIGHTS = dict(np.load(os.path.join(HERE, "weights.npz")))')
    if spec.input.dtype == "string":
        data += "\nx = tf.constant(x)  # Keras 3 takes strings as a tensor, not a NumPy array"
    data += f"\nAPIS, FAILING = {('sequential', 'functional', 'subclassed')!r}, {tuple(failing)!r}"

    layers_of = "leaves(m)" if nested else "m.layers"
    compile_args = [f"jit_compile={mode.jit_compile}", f"run_eagerly={mode.run_eagerly}"]
    if check.trains and mode.optimizer:
        compile_args = [f"optimizer={OPTIMIZER_CODE[mode.optimizer]}",
                        f"loss={LOSS_CODE[mode.loss]}",
                        f"steps_per_execution={mode.steps_per_execution}"] + compile_args
    body = _fill("\n".join("    " + line for line in OBSERVE[name]),
                 compile=", ".join(compile_args), reseed=str(spec.seed + 1),
                 export="m.export(path)" if compat.IS_KERAS3 else "tf.saved_model.save(m, path)",
                 weights_suffix=(".weights.h5" if compat.IS_KERAS3 else
                                 ".h5" if name == "weights_file" else ""),
                 policy_on=policy_on, policy_off=policy_off, layers_of=layers_of,
                 layers_of_clone=layers_of.replace("(m)", "(clone)").replace("m.", "clone."))
    tol = tolerance_for(name, spec.compute_dtype)
    test = (f"np.allclose(a, b, rtol={tol.rtol!r}, atol={tol.atol!r}, equal_nan=True)"
            if tol.rtol or tol.atol else 'np.array_equal(a, b, equal_nan=a.dtype.kind == "f")')

    # One line: the script says how it exits itself (REPRODUCED, exit 1; or NOT REPRODUCED).
    out = [f'''"""Keras: `{name}` differs between Sequential, Functional and subclassed models \
(TF {compat.TF_VERSION}, Keras {compat.KERAS_VERSION}{f", {mode.id}" if check.modal else ""})."""''']
    out[0] += "\n" + "\n".join(filter(None, [
        "import inspect",
        "import json" if name in ("keras_file", "legacy_h5", "config") else "",
        "import os" if serialized or legacy or not small else "",
        "import tempfile" if serialized else "",
        "", 'os.environ["TF_USE_LEGACY_KERAS"] = "1"' if legacy else "",
        "import numpy as np", "import tensorflow as tf",
        compat.KERAS_IMPORT.strip(),
        *sorted(i for i in imports if not i.startswith(HELPER))]))
    out.append(("# No op determinism: under it Keras would turn jit_compile off.\n"
                if mode.jit_compile else "tf.config.experimental.enable_op_determinism()\n")
               + data)
    masked = _has_mask(spec.layers)
    if masked:
        stack = _fill(STACK, supports_masking=MASK[0], mask_in=MASK[1], mask_out=MASK[2])
    else:
        stack = _fill(STACK[:STACK.index("    def call")], supports_masking="").rstrip() \
            + "\n" + PLAIN_CALL
    stack = stack.rstrip() + (MASK[3] if masked else "") + \
        (SERIALIZABLE.rstrip() if serialized else "")
    if serialized:
        stack = '@keras.utils.register_keras_serializable(package="keras_parity")' + stack
    out += sorted(i[len(HELPER):].strip("\n") for i in imports if i.startswith(HELPER))
    out.append(stack.strip("\n"))
    out.append(_fill(BUILD, shape=repr(tuple(spec.input.shape)), dtype=repr(spec.input.dtype),
                     seed=repr(spec.seed), policy_on=policy_on,
                     policy_off=policy_off + "\n    return m" if mixed else "",
                     assign="m = " if mixed else "return ",
                     layers="\n".join(lines)).strip("\n"))
    if nested:
        out.append(LEAVES.strip("\n"))
    uses = "\n".join(OBSERVE[name])
    if "weights_of(" in uses or name in ("keras_file", "legacy_h5", "config"):
        out.append(_fill(WEIGHTS_OF, layers_of=layers_of).strip("\n"))
    if name in ("keras_file", "legacy_h5", "config"):
        out.append(STATE.strip("\n"))
    if "optimizer_of(" in uses:
        out.append(_fill(OPTIMIZER_OF, call="" if compat.IS_KERAS3 else "()").strip("\n"))
    out.append(SAME.format(test=test).strip("\n"))
    out.append(f"def observe(m):  # {name}\n{body}")
    if saving:
        out.append(SAFELY.strip("\n"))
    tail = _fill(MODELS, layers_of=layers_of).strip("\n")
    if check.trains or name == "gradients":
        tail += "\n" + _targets_code(mode.loss)
    code = _fill(INSIDE, observe="safely" if saving else "observe") if within else CROSS
    tail += code.rstrip("\n") + (ERRORS.rstrip("\n") if saving else "") + "\n" + END
    out.append(tail)
    return _tidy("\n\n".join(out))


def _fill(text: str, **values: str) -> str:
    """`text` with each `{name}` replaced (str.format would trip on the dict literals)."""
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def _tidy(text: str) -> str:
    """One blank line between blocks: a short script reads best compact."""
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text
