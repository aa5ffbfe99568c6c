"""Self-attention: MultiHeadAttention and GroupQueryAttention called with query = value = the
stack's stream, optionally causal, as one layer of a linear stack (`SelfAttention`).

`SelfAttention` uses nothing but `keras`, so minimal.py writes its source into the script.
"""
from hypothesis import strategies as st

from equivalence.compat import keras
from equivalence.layers import LayerInfo, register


@keras.utils.register_keras_serializable(package="keras_parity")
class SelfAttention(keras.layers.Layer):
    """`attention(x, x)`: a Keras attention layer over one stream (query = value = key)."""

    def __init__(self, attention="MultiHeadAttention", num_heads=2, key_dim=2,
                 num_key_value_heads=None, use_causal_mask=False, **kwargs):
        super().__init__(**kwargs)
        self.kind, self.num_heads, self.key_dim = attention, num_heads, key_dim
        self.num_key_value_heads, self.use_causal_mask = num_key_value_heads, use_causal_mask
        if attention == "GroupQueryAttention":
            self.attention = keras.layers.GroupQueryAttention(
                head_dim=key_dim, num_query_heads=num_heads,
                num_key_value_heads=num_key_value_heads, dtype=self.dtype_policy,
                name=f"{self.name}_attention")
        else:
            self.attention = keras.layers.MultiHeadAttention(
                num_heads, key_dim, dtype=self.dtype_policy, name=f"{self.name}_attention")

    def build(self, input_shape):
        if hasattr(self.attention, "_build_from_signature"):  # Keras 2
            self.attention._build_from_signature(input_shape, input_shape)
        else:
            self.attention.build(input_shape, input_shape)
        super().build(input_shape)

    def call(self, x):
        return self.attention(x, x, use_causal_mask=self.use_causal_mask)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "attention": self.kind, "num_heads": self.num_heads,
                "key_dim": self.key_dim, "num_key_value_heads": self.num_key_value_heads,
                "use_causal_mask": self.use_causal_mask}


def _mha_configs(shape):
    return st.fixed_dictionaries({"attention": st.just("MultiHeadAttention"),
                                  "num_heads": st.integers(1, 2), "key_dim": st.integers(1, 3),
                                  "use_causal_mask": st.booleans()})


def _gqa_configs(shape):
    return st.tuples(st.sampled_from(((1, 1), (2, 1), (2, 2))), st.integers(1, 3),
                     st.booleans()).map(lambda t: {
                         "attention": "GroupQueryAttention", "num_heads": t[0][0],
                         "num_key_value_heads": t[0][1], "key_dim": t[1],
                         "use_causal_mask": t[2]})


def _make(cfg, name, dtype=None):
    return SelfAttention(**cfg, name=name, **({"dtype": dtype} if dtype else {}))


def _literal(cfg, name, dtype=None):
    args = [f"{k}={v!r}" for k, v in cfg.items()] + [f"name={name!r}"]
    return f"SelfAttention({', '.join(args + ([f'dtype={dtype!r}'] if dtype else []))})"


def _entry(kind, configs):
    return LayerInfo(kind, "attention", configs, frozenset({2}), make=_make, literal=_literal,
                     helper=SelfAttention, mask=lambda c: "none")


register(
    _entry("MultiHeadAttention", _mha_configs),
    _entry("GroupQueryAttention", _gqa_configs),
)
