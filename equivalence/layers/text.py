"""Layers on text, the first layer of a stack whose input is strings (family "text", words
w1..w<vocab>): StringLookup and Hashing on words or sentences, TextVectorization on one
sentence a row, splitting it. Their state is in the config (a vocabulary) or adapted on a
seeded sample (TextVectorization), so every saving path must keep it. In output mode "int"
they give ids, and the next layer is one that takes ids (Embedding, CategoryEncoding, ...);
the other modes (multi_hot, count) give a row of counts over the vocabulary."""
import functools

import numpy as np
from hypothesis import strategies as st

from equivalence.compat import IS_KERAS3, keras
from equivalence.layers import (LayerInfo, adapted, dtype_arg, from_literal,
                                modes_shaped_right, register)
from equivalence.layers.tokens import (LOOKUP_MODES, counted, ids_in, lookup_size, streams_of,
                                      xla_of)

RANK1 = frozenset({1})
_WORDS = np.array([[b"w1", b"w2"]])  # what the layers are asked on


def vocabulary(size: int) -> tuple[str, ...]:
    return tuple(f"w{i}" for i in range(1, size + 1))


def _lookup_configs(shape):
    # A vocabulary of up to 5 words: the inputs draw from up to 8, so some are out of it.
    return st.fixed_dictionaries({"vocabulary": st.integers(1, 5).map(vocabulary),
                                  "output_mode": st.sampled_from(LOOKUP_MODES)})


def _hashing_configs(shape):
    return st.fixed_dictionaries({"num_bins": st.integers(2, 6),
                                  "salt": st.sampled_from((None, 7)),
                                  "output_mode": st.sampled_from(LOOKUP_MODES)})


# --- TextVectorization: given a vocabulary, or adapted on a seeded sample ------------------

_SAMPLE_WORDS = 8  # the sample holds w1..w8, 48 words: more distinct ones than max_tokens


@functools.lru_cache(maxsize=None)
def _counting_modes() -> tuple[str, ...]:
    """The counting modes drawn: those whose symbolic output shape is the eager one. Keras
    3.15.1 and 3.16.dev give a TextVectorization on a KerasTensor of sentences (batch, 1)
    the shape (batch, 1, vocabulary) in modes multi_hot and count, where it computes
    (batch, vocabulary): its compute_output_shape adds the split words' axis and asks the
    lookup, which since keras-team/keras#22350 keeps every axis but the last (a
    Sequential model then builds the next layer on rank 3; docs/findings.md, 23)."""
    return modes_shaped_right(_text_vectorization, LOOKUP_MODES[1:], _SENTENCES)


# Keras 2 keeps an adapted vocabulary in a weight that is not a tf.Variable (a
# VocabWeightHandler): its .h5 writers (save_weights, a legacy model file) refuse it in every
# API alike (tensorflow/text#980), and the weight lists hold an object, not values. Keras 2
# draws TextVectorization with a given vocabulary only (docs/findings.md, 23).
_ADAPTED_NOT_HERE = "" if IS_KERAS3 else (
    "Keras 2 keeps an adapted vocabulary in a weight that is not a variable, which its .h5 "
    "writers refuse in every API alike (tensorflow/text#980)")


def _vectorization_configs(shape):
    int_mode = st.fixed_dictionaries({"output_mode": st.just("int"),
                                      "output_sequence_length": st.integers(1, 5)})
    given = st.fixed_dictionaries({"vocabulary": st.integers(1, 5).map(vocabulary)})
    adapted = st.fixed_dictionaries({"max_tokens": st.integers(3, 6),
                                     "adapt_on": st.integers(0, 3)})
    if _ADAPTED_NOT_HERE:
        adapted = st.nothing()
    modes = int_mode
    if _counting_modes():
        modes = st.one_of(int_mode, st.fixed_dictionaries(
            {"output_mode": st.sampled_from(_counting_modes())}))
    return st.tuples(st.one_of(given, adapted), modes).map(lambda p: {**p[0], **p[1]})


def _vectorization_size(cfg):
    """The vocabulary it outputs: a given one in mode "int" with the padding id 0 and the
    out-of-vocabulary id 1, else with the out-of-vocabulary slot only; an adapted one
    max_tokens (the sample holds more words: all slots are taken)."""
    if "max_tokens" in cfg:  # the sample holds more words than max_tokens: all are taken
        return cfg["max_tokens"]
    return len(cfg["vocabulary"]) + (2 if cfg["output_mode"] == "int" else 1)


def _vectorized(shape, cfg):
    if cfg["output_mode"] == "int":
        return (cfg["output_sequence_length"],)
    return (_vectorization_size(cfg),)


def _vectorization_literal(cfg, name, dtype=None):
    """The layer as one expression (adapted on its sample where the config says so):
    minimal.py writes it as it is, and the suite evaluates it."""
    args = {k: v for k, v in cfg.items() if k != "adapt_on"}
    if "vocabulary" in args:
        args["vocabulary"] = list(args["vocabulary"])
    text = ", ".join(f"{k}={v!r}" for k, v in sorted(args.items()))
    layer = f"keras.layers.TextVectorization({text}, name={name!r}{dtype_arg(dtype)})"
    if "adapt_on" not in cfg:
        return layer
    sample = (f"np.array([' '.join(f'w{{i}}' for i in row) for row in np.random.default_rng("
              f"{cfg['adapt_on']}).integers(1, {_SAMPLE_WORDS + 1}, (16, 3))])")
    return adapted(layer, sample)


def _string_lookup(mode):
    return keras.layers.StringLookup(vocabulary=["w1"], output_mode=mode)


def _hashing(mode):
    return keras.layers.Hashing(num_bins=2, output_mode=mode)


def _text_vectorization(mode):
    length = {"output_sequence_length": 2} if mode == "int" else {}
    return keras.layers.TextVectorization(vocabulary=["w1"], output_mode=mode, **length)


_SENTENCES = np.array([[b"w1 w2"]])


register(
    LayerInfo("StringLookup", "text", _lookup_configs, RANK1, string_input=True,
              output_shape=lambda s, c: counted(s, c, lookup_size(c)),
              ids_out=ids_in(lookup_size), mask=lambda c: "none",
              stream_out=streams_of(_string_lookup, _WORDS),
              xla=xla_of(_string_lookup, np.repeat(_WORDS, 2, axis=0))),
    LayerInfo("Hashing", "text", _hashing_configs, RANK1, string_input=True,
              output_shape=lambda s, c: counted(s, c, c["num_bins"]),
              ids_out=ids_in(lambda c: c["num_bins"]), mask=lambda c: "none",
              stream_out=streams_of(_hashing, _WORDS),
              xla=xla_of(_hashing, np.repeat(_WORDS, 2, axis=0))),
    LayerInfo("TextVectorization", "text", _vectorization_configs, RANK1, string_input=True,
              output_shape=_vectorized, accepts=lambda s: s == (1,),
              make=from_literal(_vectorization_literal), literal=_vectorization_literal,
              ids_out=ids_in(_vectorization_size), mask=lambda c: "none",
              not_drawn=lambda c: _ADAPTED_NOT_HERE if "adapt_on" in c else "",
              note="the counting modes drawn only where their symbolic shape is the eager "
                   "one (not on Keras 3.15.1 and 3.16.dev: keras-team/keras#22350 reached "
                   "TextVectorization's compute_output_shape)",
              stream_out=streams_of(_text_vectorization, _SENTENCES),
              xla=xla_of(_text_vectorization, np.repeat(_SENTENCES, 2, axis=0))),
)
