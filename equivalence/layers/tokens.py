"""Token and mask layers: Embedding and ReversibleEmbedding (on integer ids, mask_zero on and
off), CategoryEncoding (ids to counts) and Masking."""
from hypothesis import strategies as st

from equivalence.layers import LayerInfo, register


def _embedding_configs(shape):
    return st.fixed_dictionaries({"output_dim": st.integers(2, 6),
                                  "mask_zero": st.booleans()})


register(
    LayerInfo("Embedding", "tokens", _embedding_configs, frozenset({1}),
              output_shape=lambda s, c: s + (c["output_dim"],), token_input=True,
              vocab_key="input_dim",
              mask=lambda c: "produces" if c.get("mask_zero") else "none"),
    LayerInfo("ReversibleEmbedding", "tokens",
              lambda s: st.fixed_dictionaries({"output_dim": st.integers(2, 6),
                                               "mask_zero": st.booleans(),
                                               "tie_weights": st.booleans()}),
              frozenset({1}), output_shape=lambda s, c: s + (c["output_dim"],), token_input=True,
              vocab_key="input_dim", mask=lambda c: "produces" if c.get("mask_zero") else "none"),
    LayerInfo("CategoryEncoding", "tokens",
              lambda s: st.fixed_dictionaries({"output_mode": st.sampled_from(("multi_hot",
                                                                               "count"))}),
              frozenset({1}), output_shape=lambda s, c: (c["num_tokens"],), token_input=True,
              vocab_key="num_tokens", mask=lambda c: "none"),
    LayerInfo("Masking", "tokens", lambda s: st.just({"mask_value": 0.0}), frozenset({2}),
              mask=lambda c: "produces"),
)
