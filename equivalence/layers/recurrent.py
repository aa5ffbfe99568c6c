"""Recurrent layers on (T, F): SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed(Dense)."""
import functools

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


_WRAPPED = {"Bidirectional": lambda: keras.layers.Bidirectional(keras.layers.GRU(1)),
            "TimeDistributed": lambda: keras.layers.TimeDistributed(keras.layers.Dense(1))}


@functools.cache
def _passes_mask_on(kind: str) -> bool:
    """Whether this Keras' `kind` hands its input mask on to the next layer.

    Asked of the layer, not assumed: keras-nightly 3.16.0.dev2026102704 sets
    `supports_masking = False` in RNN, Bidirectional and TimeDistributed, which still use
    the mask in `call` but drop it from their output (with a UserWarning), in every API
    alike. Every release up to 3.15.1 (and Keras 2) passes it on.
    """
    make = _WRAPPED.get(kind, lambda: getattr(keras.layers, kind)(1))
    return make().supports_masking


def _sequence_mask(kind):
    """An RNN's mask mode: passed on with return_sequences (where this Keras does), else
    consumed."""
    def mode(cfg):
        keeps = kind == "TimeDistributed" or cfg.get("return_sequences")
        return "passes" if keeps and _passes_mask_on(kind) else "consumes"
    return mode


def _rnn(kind):
    return LayerInfo(kind, "recurrent", _rnn_configs, SEQ, output_shape=_rnn_out,
                     mask=_sequence_mask(kind))


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


def _bidirectional_literal(cfg, name, dtype=None):
    extra = f", dtype={dtype!r}" if dtype else ""
    return (f"keras.layers.Bidirectional(keras.layers.{cfg['layer']}({cfg['units']}, "
            f"return_sequences={cfg['return_sequences']}, "
            f"name={name + '_' + cfg['layer'].lower()!r}{extra}), "
            f"merge_mode={cfg['merge_mode']!r}, name={name!r}{extra})")


def _time_distributed_literal(cfg, name, dtype=None):
    extra = f", dtype={dtype!r}" if dtype else ""
    return (f"keras.layers.TimeDistributed(keras.layers.Dense({cfg['units']}, "
            f"name={name + '_dense'!r}{extra}), name={name!r}{extra})")


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
              make=_make_bidirectional, mask=_sequence_mask("Bidirectional"),
              literal=_bidirectional_literal),
    LayerInfo("TimeDistributed", "recurrent",
              lambda s: st.fixed_dictionaries({"units": st.integers(1, 6)}), SEQ,
              output_shape=lambda s, c: (s[0], c["units"]), make=_make_time_distributed,
              mask=_sequence_mask("TimeDistributed"), literal=_time_distributed_literal),
)

# Asked now, at import: building a layer draws a Keras seed from Python's `random`, which
# Hypothesis forbids inside a strategy (where the mask mode is otherwise first asked).
for _kind in ("SimpleRNN", "GRU", "LSTM", *_WRAPPED):
    _passes_mask_on(_kind)
