"""Recurrent layers on (T, F): SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed(Dense)."""
from hypothesis import strategies as st

from equivalence.compat import keras
from equivalence.layers import LayerInfo, register

SEQ = frozenset({2})


def _rnn_configs(shape):
    return st.fixed_dictionaries({"units": st.integers(1, 6),
                                  "return_sequences": st.booleans()})


def _rnn_out(shape, cfg, width=1):
    units = cfg["units"] * width
    return (shape[0], units) if cfg["return_sequences"] else (units,)


def _rnn_mask(cfg):
    return "passes" if cfg.get("return_sequences") else "consumes"


def _rnn(kind):
    return LayerInfo(kind, "recurrent", _rnn_configs, SEQ, output_shape=_rnn_out, mask=_rnn_mask)


def _bidirectional_configs(shape):
    return st.fixed_dictionaries({"layer": st.sampled_from(("GRU", "LSTM")),
                                  "units": st.integers(1, 4),
                                  "return_sequences": st.booleans(),
                                  "merge_mode": st.sampled_from(("concat", "sum"))})


def _make_bidirectional(cfg, name, dtype=None):
    extra = {"dtype": dtype} if dtype else {}
    inner = getattr(keras.layers, cfg["layer"])(cfg["units"], name=f"{name}_{cfg['layer'].lower()}",
                                                return_sequences=cfg["return_sequences"], **extra)
    return keras.layers.Bidirectional(inner, merge_mode=cfg["merge_mode"], name=name, **extra)


def _make_time_distributed(cfg, name, dtype=None):
    extra = {"dtype": dtype} if dtype else {}
    return keras.layers.TimeDistributed(keras.layers.Dense(cfg["units"], name=f"{name}_dense",
                                                           **extra),
                                        name=name, **extra)


register(
    _rnn("SimpleRNN"),
    _rnn("GRU"),
    _rnn("LSTM"),
    LayerInfo("Bidirectional", "recurrent", _bidirectional_configs, SEQ,
              output_shape=lambda s, c: _rnn_out(s, c, 2 if c["merge_mode"] == "concat" else 1),
              make=_make_bidirectional, mask=_rnn_mask),
    LayerInfo("TimeDistributed", "recurrent",
              lambda s: st.fixed_dictionaries({"units": st.integers(1, 6)}), SEQ,
              output_shape=lambda s, c: (s[0], c["units"]), make=_make_time_distributed),
)
