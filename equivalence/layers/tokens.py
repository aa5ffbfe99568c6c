"""Token and mask layers: Embedding (on integer ids, mask_zero on and off) and Masking."""
from hypothesis import strategies as st

from equivalence.layers import LayerInfo, register


def _embedding_configs(shape):
    # input_dim is filled in from the stack's vocabulary by the strategy.
    return st.fixed_dictionaries({"output_dim": st.integers(2, 6),
                                  "mask_zero": st.booleans()})


register(
    LayerInfo("Embedding", "tokens", _embedding_configs, frozenset({1}),
              output_shape=lambda s, c: s + (c["output_dim"],), token_input=True,
              mask=lambda c: "produces" if c.get("mask_zero") else "none"),
    LayerInfo("Masking", "tokens", lambda s: st.just({"mask_value": 0.0}), frozenset({2}),
              mask=lambda c: "produces"),
)
