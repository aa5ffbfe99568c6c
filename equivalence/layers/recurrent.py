"""Recurrent layers on (T, F): SimpleRNN, LSTM, GRU, RNN over cells, Bidirectional,
TimeDistributed(Dense); ConvLSTM1D on (T, L, C), ConvLSTM2D on (T, H, W, C) and ConvLSTM3D
on (T, D, H, W, C)."""
import functools
import warnings

import tensorflow as tf
from hypothesis import strategies as st

from equivalence.compat import keras
from equivalence.layers import LayerInfo, floor, register

SEQ = frozenset({2})


def _rnn_configs(shape):
    return st.fixed_dictionaries({"units": st.integers(1, 6),
                                  "return_sequences": st.booleans()})


def _rnn_out(shape, cfg, width=1):
    units = cfg["units"] * width
    return (shape[0], units) if cfg["return_sequences"] else (units,)


_WRAPPED = {"Bidirectional": lambda: keras.layers.Bidirectional(keras.layers.GRU(1)),
            "TimeDistributed": lambda: keras.layers.TimeDistributed(keras.layers.Dense(1)),
            "RNN": lambda: keras.layers.RNN(keras.layers.GRUCell(1)),
            "ConvLSTM1D": lambda: keras.layers.ConvLSTM1D(1, 1),
            "ConvLSTM2D": lambda: keras.layers.ConvLSTM2D(1, 1),
            "ConvLSTM3D": lambda: keras.layers.ConvLSTM3D(1, 1)}
CELLS = ("LSTMCell", "GRUCell", "SimpleRNNCell", "StackedRNNCells")


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


@functools.cache
def _takes_mask_in_graphs() -> bool:
    """Whether this Keras' TimeDistributed takes a mask inside a graph whose batch size is
    unknown (predict's and fit's, with a partial last batch). Keras 3.5 to 3.8 compare the
    mask's shape with the input's symbolic batch size in Python and raise
    OperatorNotAllowedInGraphError, in every API alike: nothing to compare
    (keras-team/keras#20754, fixed by #20765; found by a ci run on Keras 3.5.0, a Masking
    layer before TimeDistributed). Asked of the layer; where it raises, the strategy gives
    TimeDistributed no mask."""
    layer = _WRAPPED["TimeDistributed"]()
    call = tf.function(lambda x, m: layer(x, mask=m),
                       input_signature=[tf.TensorSpec((None, 2, 1)),
                                        tf.TensorSpec((None, 2), tf.bool)])
    with warnings.catch_warnings():
        # keras-nightly's TimeDistributed warns that it drops the mask from its output
        # (`_passes_mask_on`): this probe asks only whether the call raises, and a warning
        # printed while the registry loads would be a stray line in every command's output.
        warnings.filterwarnings("ignore", ".*was passed an input with a mask attached",
                                UserWarning)
        try:
            call.get_concrete_function()
        except tf.errors.OperatorNotAllowedInGraphError:
            return False
    return True


def _sequence_mask(kind):
    """An RNN's mask mode: passed on with return_sequences (where this Keras does), else
    consumed."""
    def mode(cfg):
        keeps = kind == "TimeDistributed" or cfg.get("return_sequences")
        return "passes" if keeps and _passes_mask_on(kind) else "consumes"
    return mode


def _rnn(kind):
    return LayerInfo(kind, "recurrent", _rnn_configs, SEQ, output_shape=_rnn_out,
                     mask=_sequence_mask(kind),
                     floor=_recurrent_floor if kind in _CELLS else None)


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


def _cell_code(cfg, name, extra):
    """The RNN's cell as code: `(kind, args)` pairs, StackedRNNCells as an LSTM over a GRU."""
    if cfg["cell"] == "StackedRNNCells":
        inner = ", ".join(f"keras.layers.{c}({cfg['units']}, name={f'{name}_{c.lower()}'!r}{extra})"
                          for c in ("LSTMCell", "GRUCell"))
        return f"keras.layers.StackedRNNCells([{inner}], name={name + '_cells'!r}{extra})"
    return f"keras.layers.{cfg['cell']}({cfg['units']}, name={name + '_cell'!r}{extra})"


def _rnn_cell_literal(cfg, name, dtype=None):
    extra = f", dtype={dtype!r}" if dtype else ""
    return (f"keras.layers.RNN({_cell_code(cfg, name, extra)}, "
            f"return_sequences={cfg['return_sequences']}, name={name!r}{extra})")


def _make_rnn_cell(cfg, name, dtype=None):
    # One code path for the suite and minimal.py: the literal is the constructor.
    return eval(_rnn_cell_literal(cfg, name, dtype), {"keras": keras})  # noqa: S307


def _conv_lstm_configs(shape):
    spatial = len(shape) - 2
    k = st.integers(1, min(3, *shape[1:-1]))
    return st.fixed_dictionaries({
        "filters": st.integers(1, 3),
        "kernel_size": k if spatial == 1 else k.map(lambda n: (n,) * spatial),
        "padding": st.sampled_from(("valid", "same")),
        "return_sequences": st.booleans()})


def _conv_lstm_out(shape, cfg):
    k = cfg["kernel_size"]
    sizes = tuple(n if cfg["padding"] == "same" else n - (k if isinstance(k, int) else k[i]) + 1
                  for i, n in enumerate(shape[1:-1]))
    out = sizes + (cfg["filters"],)
    return (shape[0],) + out if cfg["return_sequences"] else out


def _conv_lstm(kind, rank):
    return LayerInfo(kind, "recurrent", _conv_lstm_configs, frozenset({rank}),
                     output_shape=_conv_lstm_out, mask=_sequence_mask(kind),
                     accepts=lambda s: s[0] >= 2)


def _lstm_cell(k, rk, b, units):
    def step(x_t, state):
        h, c = state
        i, f, g, o = tf.split(x_t @ k + h @ rk + b, 4, axis=-1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        h = tf.sigmoid(o) * tf.tanh(c)
        return h, (h, c)
    return step, lambda n: (tf.zeros((n, units)), tf.zeros((n, units)))


def _gru_cell(k, rk, b, units):
    def step(x_t, state):
        (h,) = state
        xz, xr, xh = tf.split(x_t @ k + b[0], 3, axis=-1)
        hz, hr, hh = tf.split(h @ rk + b[1], 3, axis=-1)
        z, r = tf.sigmoid(xz + hz), tf.sigmoid(xr + hr)
        h = z * h + (1 - z) * tf.tanh(xh + r * hh)
        return h, (h,)
    return step, lambda n: (tf.zeros((n, units)),)


_CELLS = {"LSTM": _lstm_cell, "GRU": _gru_cell}


def _scan(cell, x, mask, reverse=False):
    if mask is not None:
        raise NotImplementedError("the recurrent floor does not skip masked steps")
    step, init = cell
    state = init(tf.shape(x)[0])
    steps = range(x.shape[1] - 1, -1, -1) if reverse else range(x.shape[1])
    for t in steps:  # static length: unrolled, as cuDNN-less Keras runs it
        out, state = step(x[:, t], state)
    return out


def _recurrent_floor(cfg, layer, wrap):
    """The last step of an LSTM or GRU (Keras' defaults: tanh, sigmoid, reset_after), or of
    a Bidirectional one's two directions, merged. No floor for full sequences; a masked
    input is refused when the floor is traced (the unrolled scan does not skip steps)."""
    if cfg.get("return_sequences"):
        return None
    if "layer" in cfg:  # Bidirectional: cfg["layer"] names the wrapped LSTM or GRU
        cell = _CELLS[cfg["layer"]]
        fw = cell(*floor.weights(layer.forward_layer, wrap), cfg["units"])
        bw = cell(*floor.weights(layer.backward_layer, wrap), cfg["units"])
        merge = (lambda a, b: tf.concat([a, b], -1)) if cfg["merge_mode"] == "concat" else tf.add
        return lambda x, m: (merge(_scan(fw, x, m), _scan(bw, x, m, reverse=True)), None)
    cell = _CELLS[type(layer).__name__](*floor.weights(layer, wrap), cfg["units"])
    return lambda x, m: (_scan(cell, x, m), None)


register(
    _rnn("SimpleRNN"),
    _rnn("GRU"),
    _rnn("LSTM"),
    LayerInfo("RNN", "recurrent",
              lambda s: st.fixed_dictionaries({"cell": st.sampled_from(CELLS),
                                               "units": st.integers(1, 6),
                                               "return_sequences": st.booleans()}),
              SEQ, output_shape=_rnn_out, make=_make_rnn_cell, literal=_rnn_cell_literal,
              covers=CELLS, mask=_sequence_mask("RNN")),
    _conv_lstm("ConvLSTM1D", 3),
    _conv_lstm("ConvLSTM2D", 4),
    _conv_lstm("ConvLSTM3D", 5),
    LayerInfo("Bidirectional", "recurrent", _bidirectional_configs, SEQ,
              output_shape=lambda s, c: _rnn_out(s, c, 2 if c["merge_mode"] == "concat" else 1),
              make=_make_bidirectional, mask=_sequence_mask("Bidirectional"),
              literal=_bidirectional_literal, floor=_recurrent_floor),
    LayerInfo("TimeDistributed", "recurrent",
              lambda s: st.fixed_dictionaries({"units": st.integers(1, 6)}), SEQ,
              output_shape=lambda s, c: (s[0], c["units"]), make=_make_time_distributed,
              mask=_sequence_mask("TimeDistributed"), literal=_time_distributed_literal,
              mask_ok=_takes_mask_in_graphs(),
              note="" if _takes_mask_in_graphs() else
              "Keras 3.5 to 3.8: a mask in a graph of unknown batch size raises "
              "OperatorNotAllowedInGraphError in every API (keras-team/keras#20754)"),
)

# Asked now, at import: building a layer draws a Keras seed from Python's `random`, which
# Hypothesis forbids inside a strategy (where the mask mode is otherwise first asked).
for _kind in ("SimpleRNN", "GRU", "LSTM", *_WRAPPED):
    _passes_mask_on(_kind)
