"""What a stack has that matters to a check: the features a profile's draws must reach.

A small derandomized profile decides which stacks CI sees, so the features that find bugs
are named here, recognised on a spec (and its built Sequential model) from the registry's
flags — no kind is named — and recorded per check in the run's summary. Every property
test also runs the stacks of `equivalence.layers.examples`, which together hold every
feature, so each check meets each feature in every profile (`tests/test_features.py`).
"""
from __future__ import annotations

from equivalence.layers import REGISTRY, masked_after
from equivalence.portable import APIS, leaf_layers
from equivalence.spec import StackSpec, leaves

FEATURES = {
    "state_before_weights": "a layer with non-trainable state before a layer with trainable "
                            "weights (BatchNormalization then Dense)",
    "mask_to_consumer": "a mask that reaches a layer that consumes it",
    "nested_sequential": "a nested Sequential model",
    "nested_functional": "a nested Functional model",
    "nested_subclassed": "a nested subclassed model",
    "seeded_noise": "a seeded stochastic layer",
    "regularizer": "a layer adding a regularization loss",
    "mixed_policy": "a mixed precision policy",
}


def _nested_apis(layers) -> set[str]:
    out = set()
    for layer in layers:
        if layer.inner:
            api = layer.params.get("api", "same")
            # "same": the nested model is built with the outer API, so all three appear.
            out |= set(APIS) if api == "same" else {api}
            out |= _nested_apis(layer.inner)
    return out


def _mask_reaches_consumer(layers) -> bool:
    masked = False
    for layer in leaves(layers):
        mode = REGISTRY[layer.kind].mask(layer.params)
        if masked and mode == "consumes":
            return True
        masked = masked_after(mode, masked)
    return False


def _state_before_weights(model) -> bool:
    """Asked of the built model: which layers hold weights, and of which kind, is what
    Keras decides (a Dense without bias, a frozen layer), not a flag."""
    state = False
    for layer in leaf_layers(model):
        if state and layer.trainable_weights:
            return True
        state = state or bool(layer.non_trainable_weights)
    return False


def features_of(spec: StackSpec, model=None) -> set[str]:
    """The FEATURES the spec has; state_before_weights only when its built (Sequential)
    `model` is given."""
    layers = leaves(spec.layers)
    out = {f"nested_{api}" for api in _nested_apis(spec.layers)}
    if _mask_reaches_consumer(spec.layers):
        out.add("mask_to_consumer")
    if any(REGISTRY[layer.kind].seeded for layer in layers):
        out.add("seeded_noise")
    if any(REGISTRY[layer.kind].adds_loss(layer.params) for layer in layers):
        out.add("regularizer")
    if spec.policy != "float32":
        out.add("mixed_policy")
    if model is not None and _state_before_weights(model):
        out.add("state_before_weights")
    return out


def families_of(spec: StackSpec) -> set[str]:
    """The registry families of the stack's layers (nested ones included)."""
    return {REGISTRY[layer.kind].family for layer in leaves(spec.layers)}
