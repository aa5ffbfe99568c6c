"""Token and mask layers: Embedding and ReversibleEmbedding (on integer ids, mask_zero on and
off), CategoryEncoding (ids to counts), IntegerLookup (ids to ids or counts, its vocabulary
in the config) and Masking."""
import functools

import numpy as np
import tensorflow as tf
from hypothesis import strategies as st

from equivalence.compat import keras

from equivalence.layers import LayerInfo, compiles_with_xla, floor, register


def _embedding_configs(shape):
    return st.fixed_dictionaries({"output_dim": st.integers(2, 6),
                                  "mask_zero": st.booleans()})


# one_hot is not drawn: Keras 2 and 3.3 refuse it on a (batch, length > 1) input, later
# Keras add an axis, in every API alike.
LOOKUP_MODES = ("int", "multi_hot", "count")


def counted(shape, cfg, size):
    """The output shape of a lookup into `size` ids, in its output mode."""
    return shape if cfg["output_mode"] == "int" else (size,)


def ids_in(size_of):
    """LayerInfo.ids_out of a lookup: `size_of(cfg)` ids in mode "int", else none."""
    return lambda cfg: size_of(cfg) if cfg["output_mode"] == "int" else None


def streams_of(make, x):
    """LayerInfo.stream_out of a lookup: ids in mode "int"; in the counting modes what this
    Keras' layer gives, asked once, at import (`make(mode)` builds one, `x` its input):
    floats in Keras 2 and Hashing, int64 counts in Keras 3's lookups."""
    counts = {}
    for mode in LOOKUP_MODES[1:]:
        try:
            floating = make(mode)(x).dtype.is_floating
        except (AttributeError, ValueError):  # no such class in this Keras: not drawn
            floating = True
        counts[mode] = "float" if floating else "counts"
    return lambda cfg: "int" if cfg["output_mode"] == "int" else counts[cfg["output_mode"]]


def xla_of(make, x):
    """LayerInfo.xla of a lookup, asked of `make(mode)`'s layer on `x` once per output mode
    and phase: Keras 2 compiles a lookup table or string op with XLA and fails (no XLA
    kernel), Keras 3's preprocessing layers turn jit off, with a warning, and run."""
    @functools.lru_cache(maxsize=None)
    def asked(mode, training):
        return compiles_with_xla(make(mode), x, training)
    return lambda cfg, training: asked(cfg["output_mode"], training)


def _int_lookup_configs(shape):
    # Up to 5 of the ids in the vocabulary: the others (padding 0 too) are out of it.
    return st.fixed_dictionaries({
        "vocabulary": st.integers(1, 5).map(lambda k: tuple(range(1, k + 1))),
        "output_mode": st.sampled_from(LOOKUP_MODES)})


def lookup_size(cfg):
    return len(cfg["vocabulary"]) + 1  # index 0 is the out-of-vocabulary bucket


def _embedding_floor(cfg, layer, wrap):
    (table,) = floor.weights(layer, wrap)
    return lambda x, m: (tf.gather(table, x),
                         tf.not_equal(x, 0) if cfg.get("mask_zero") else None)


def _int_lookup(mode):
    return keras.layers.IntegerLookup(vocabulary=[1], output_mode=mode)


register(
    LayerInfo("Embedding", "tokens", _embedding_configs, frozenset({1}),
              output_shape=lambda s, c: s + (c["output_dim"],), token_input=True,
              vocab_key="input_dim", floor=_embedding_floor,
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
    LayerInfo("IntegerLookup", "tokens", _int_lookup_configs, frozenset({1}), token_input=True,
              output_shape=lambda s, c: counted(s, c, lookup_size(c)),
              ids_out=ids_in(lookup_size), mask=lambda c: "none",
              stream_out=streams_of(_int_lookup, np.array([[1, 2]])),
              xla=xla_of(_int_lookup, np.array([[1, 2]] * 2))),
    LayerInfo("Masking", "tokens", lambda s: st.just({"mask_value": 0.0}), frozenset({2}),
              mask=lambda c: "produces"),
)
