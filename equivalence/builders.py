"""build(spec, api): one spec, built the same way as Sequential, Functional or subclassed.

Layers come from the registry, named by position so the three models name every layer and
weight alike. `build_all` builds the three and copies the Sequential model's weights into the
other two layer by layer, so any difference that remains is the API's doing.
"""
from __future__ import annotations

import contextlib

from equivalence import compat
from equivalence.compat import keras
from equivalence.layers import REGISTRY
from equivalence import portable
from equivalence.portable import APIS, assemble, copy_weights
from equivalence.spec import LayerSpec, SpecError, StackSpec, leaves


def validate(spec: StackSpec) -> None:
    """Raise SpecError when the spec names a kind this suite or this Keras does not have."""
    for kind in spec.kinds():
        if kind not in REGISTRY:
            raise SpecError(f"unknown layer kind {kind!r} in spec")
        if not REGISTRY[kind].available:
            raise SpecError(f"layer kind {kind!r} is not available in Keras "
                            f"{compat.KERAS_VERSION}")
    for leaf in leaves(spec.layers):
        why = REGISTRY[leaf.kind].not_drawn(leaf.params)
        if why:
            raise SpecError(f"{leaf.kind} {leaf.params} is not drawn in Keras "
                            f"{compat.KERAS_VERSION}: {why}")


def _layer_name(prefix: str, index: int, kind: str) -> str:
    return f"{prefix}{index}_{kind.lower()}"


def make_layers(layer_specs, shape, prefix="l", api="sequential"):
    """Fresh Keras layers for `layer_specs` starting at input `shape`, named by position.

    `api` is the enclosing model's API, used by nested stacks whose api is "same"."""
    layers = []
    for i, ls in enumerate(layer_specs):
        info = REGISTRY[ls.kind]
        name = _layer_name(prefix, i, ls.kind)
        if info.nests:
            layers.append(nested_model(ls, name, shape, api))
        elif info.seeded and "noise_off" in portable.ACTIVE_WORKAROUNDS:  # no weights either
            layers.append(keras.layers.Activation("linear", name=name, dtype=ls.dtype))
        else:
            layers.append(info.build(ls.params, name, ls.dtype))
        shape = info.output_shape(shape, ls.params)
    return layers


def nested_model(layer_spec: LayerSpec, name: str, shape, outer_api: str):
    """The inner model of a nested stack: its API ("same" = the outer one), positional
    names."""
    cfg = layer_spec.params
    api = outer_api if cfg["api"] == "same" else cfg["api"]
    inner = make_layers(cfg["layers"], shape, prefix=f"{name}_", api=api)
    return assemble(api, inner, shape, "float32", name=name, nested=True)


def output_shape(spec: StackSpec) -> tuple[int, ...]:
    """The output shape (without batch) the registry claims for the stack."""
    shape = tuple(spec.input.shape)
    for ls in spec.layers:
        shape = REGISTRY[ls.kind].output_shape(shape, ls.params)
    return shape


@contextlib.contextmanager
def dtype_policy(name: str):
    """The global mixed-precision policy for the duration of a build."""
    compat.set_mixed_policy(name)
    try:
        yield
    finally:
        compat.set_mixed_policy("float32")


def build(spec: StackSpec, api: str):
    """`spec` built as `api` (one of APIS), with weights initialised from `spec.seed`."""
    if api not in APIS:
        raise ValueError(f"unknown api {api!r}; expected one of {APIS}")
    validate(spec)
    keras.utils.set_random_seed(spec.seed)
    with dtype_policy(spec.policy):
        layers = make_layers(spec.layers, spec.input.shape, api=api)
        return assemble(api, layers, spec.input.shape, spec.input.dtype)


def build_all(spec: StackSpec, apis=APIS) -> dict:
    """{api: model} with every model's weights copied from the Sequential one."""
    models = {api: build(spec, api) for api in apis}
    reference = models["sequential"]
    for api, model in models.items():
        if api != "sequential":
            copy_weights(reference, model)
    return models
