"""A nested stack: a Sequential, Functional or subclassed model used as one layer.

Masks and the `training` flag get lost exactly here, so the outer stack treats the
nested model like any other layer. Its config holds the API and the inner LayerSpecs.
"""
from hypothesis import strategies as st

from equivalence.layers import REGISTRY, LayerInfo, register

# "same": the nested model is built with the outer model's API, so comparing the outer APIs
# also compares nested Sequential, Functional and subclassed models with each other.
NESTED_APIS = ("same", "sequential", "functional", "subclassed")


def _fold(cfg, per_layer, start):
    value = start
    for inner in cfg["layers"]:
        value = per_layer(REGISTRY[inner.kind], inner.params, value)
    return value


def nested_output_shape(shape, cfg):
    return _fold(cfg, lambda info, c, s: info.output_shape(s, c), shape)


def nested_mask(cfg):
    """'produces' if an inner layer makes a mask that survives, 'consumes' if the stack
    ends one, else 'passes'."""
    def step(info, c, mode):
        inner = info.mask(c)
        if inner == "produces":
            return "produces"
        return "consumes" if inner in ("consumes", "none") else mode
    return _fold(cfg, step, "passes") if cfg else "passes"


def nested_configs(shape, masked=False):
    from equivalence.strategies import inner_stack  # the strategy draws inner stacks

    return st.fixed_dictionaries({"api": st.sampled_from(NESTED_APIS),
                                  "layers": inner_stack(shape, masked)})


def _make_nested(cfg, name, dtype=None):
    raise TypeError("Nested layers are built by equivalence.builders.make_layers, "
                    "which knows the incoming shape")


register(
    LayerInfo("Nested", "nested", nested_configs, frozenset({1, 2, 3}),
              output_shape=nested_output_shape, make=_make_nested, mask=nested_mask,
              needs_class=False, nests=True,
              adds_loss=lambda cfg: any(REGISTRY[i.kind].adds_loss(i.params)
                                        for i in cfg.get("layers", ())),
              note="train_differs/stateful depend on the inner layers"),
)
