"""Preprocessing layers with their state given in the config (so every saving path must keep
it): Rescaling, Normalization and a Pipeline on any float input, Discretization and the
MelSpectrogram front end on vectors (a vector read as a signal), STFTSpectrogram on a
one-channel sequence, Resizing and CenterCrop on images."""
import functools

import numpy as np
from hypothesis import strategies as st

from equivalence.compat import IS_KERAS3, keras
from equivalence.layers import (LayerInfo, adapted, compiles_with_xla, dtype_arg, from_literal,
                                mask_of, modes_shaped_right, register)
from equivalence.layers.core import ANY_RANK
from equivalence.layers.reshaping import MAX_ELEMENTS

_STAT = st.sampled_from((0.0, 0.5, -1.0, 2.0))
_VAR = st.sampled_from((1.0, 0.25, 4.0))


def _normalization_configs(shape):
    n = shape[-1]
    return st.fixed_dictionaries({"mean": st.lists(_STAT, min_size=n, max_size=n).map(tuple),
                                  "variance": st.lists(_VAR, min_size=n, max_size=n).map(tuple),
                                  "invert": st.booleans()})


def _adapted_configs(shape):
    # `adapt_on`: the (shape, seed) of the sample the layer is adapted on; not a Keras argument.
    return st.fixed_dictionaries({"invert": st.booleans(),
                                  "adapt_on": st.tuples(st.just(tuple(shape)),
                                                        st.integers(0, 3))})


def _adapted_literal(cfg, name, dtype=None):
    """The layer, then `adapt` on a seeded sample (16 rows, mean 1, scale 2), as one
    expression: minimal.py writes it as it is, and the suite evaluates it."""
    shape, seed = cfg["adapt_on"]
    sample = (f"np.random.default_rng({seed}).normal(1.0, 2.0, {(16,) + tuple(shape)!r})"
              f".astype('float32')")
    return adapted(f"keras.layers.Normalization(invert={cfg['invert']!r}, name={name!r}"
                   f"{dtype_arg(dtype)})", sample)


def _stats_in_subclassed():
    """Keras 3 builds a subclassed model's layers in a scratch graph on its first call;
    Normalization(mean=, variance=) keeps the broadcast constants it makes there, and the
    call then fails ("... is out of scope and cannot be used here"). Sequential and
    Functional build it from a KerasTensor and work."""
    class One(keras.Model):
        def __init__(self):
            super().__init__()
            self.norm = keras.layers.Normalization(mean=[0.5], variance=[4.0])

        def call(self, x):
            return self.norm(x)

    One()(np.ones((1, 1), "float32"))


def _size(shape):
    return st.fixed_dictionaries({"height": st.integers(1, shape[0]),
                                  "width": st.integers(1, shape[1])})


def _resizing_configs(shape):
    return st.fixed_dictionaries({"height": st.integers(1, 8), "width": st.integers(1, 8),
                                  "interpolation": st.sampled_from(("bilinear", "nearest")),
                                  "crop_to_aspect_ratio": st.booleans()})


IMAGE = frozenset({3})
VECTOR = frozenset({1})
_RESCALE = {"scale": st.sampled_from((1 / 255, 2.0, -0.5)), "offset": st.sampled_from((0.0, -1.0))}


_DISCRETIZATION_MODES = ("multi_hot", "count", "one_hot")
@functools.lru_cache(maxsize=None)
def discretization_modes_drawn() -> tuple[str, ...]:
    """The output modes of Discretization drawn here: those whose symbolic output shape is
    the eager one in this Keras. Keras
    3.x before the fixes gives a Discretization on a KerasTensor its input's shape in every
    mode but "int" (one_hot: keras-team/keras#22044, fixed by #22048; multi_hot and count:
    #22403), so Sequential and Functional models see the wrong shape downstream (a Reshape
    after it fails to build) while a subclassed model runs. Only the modes right here are
    drawn; the probe (at import) keeps the kind out where none is."""
    # 3 features, 2 bins: shapes that differ
    return modes_shaped_right(lambda mode: keras.layers.Discretization(
        bin_boundaries=(0.0,), output_mode=mode), _DISCRETIZATION_MODES, np.zeros((1, 3), "float32"))


@functools.lru_cache(maxsize=None)
def _discretization_xla(mode: str, training: bool) -> bool:
    """LayerInfo.xla of Discretization, asked per output mode, first in a model. Keras
    3.15.1's counting modes call DenseBincount with a size XLA needs at compile time ("must
    be a compile-time constant", every API alike): first in a model, or after an
    Activation, XLA compiles it; after a Dense, or a Dropout in training, it refuses
    (docs/findings.md, 27). Later in a stack strategies.xla_blocked compiles the stack up
    to it."""
    return compiles_with_xla(keras.layers.Discretization(bin_boundaries=(0.0,),
                                                         output_mode=mode),
                             np.zeros((2, 3), "float32"), training)


def _discretization_probe():
    if not discretization_modes_drawn():
        raise AssertionError("no output mode of Discretization has its eager shape "
                             "symbolically (keras-team/keras#22044, #22403)")


def _discretization_configs(shape):
    bounds = st.lists(st.sampled_from((-1.0, -0.5, 0.0, 0.5, 1.0)), min_size=1, max_size=3,
                      unique=True).map(lambda b: tuple(sorted(b)))
    return st.fixed_dictionaries({"bin_boundaries": bounds,
                                  "output_mode": st.sampled_from(discretization_modes_drawn())})


def _discretized(shape, cfg):
    """one_hot gives each feature its bins, a single feature's axis squeezed (Keras 3.15.1
    and 3.16.0.dev, symbolic and eager alike: the ci matrix on tfnightly drew one_hot on one
    feature and a Conv1D after it, which found rank 2); the counting modes count over the
    features."""
    bins = len(cfg["bin_boundaries"]) + 1
    return (shape[0], bins) if cfg["output_mode"] == "one_hot" and shape[0] > 1 else (bins,)


_MEL_FIXED = {"sampling_rate": 100, "max_freq": 50.0}


@functools.lru_cache(maxsize=None)
def _mel_framings(samples: int) -> tuple[tuple[int, int], ...]:
    """The (FFT/frame length, stride) pairs whose symbolic frame count is the true one on a
    signal of `samples`. MelSpectrogram.compute_output_shape (Keras 3.13.2 to 3.16.0.dev
    here) counts (samples + stride + 1) // stride frames whatever the frame length, one more
    than it computes at stride 1: a Sequential or Functional model then sees a wrong shape
    where a subclassed model runs (a finding, docs/findings.md). Only the framings it counts
    right are drawn, so a fixed Keras draws them all."""
    found = []
    for length in (2, 4):
        for stride in (1, 2):
            cfg = {"fft_length": length, "sequence_length": length, "sequence_stride": stride,
                   "num_mel_bins": 1, **_MEL_FIXED}
            if length // 2 < samples and tuple(keras.layers.MelSpectrogram(
                    **cfg).compute_output_shape((None, samples))[1:]) == _mel_out((samples,),
                                                                                cfg):
                found.append((length, stride))
    return tuple(found)


@st.composite
def _mel_configs(draw, shape):
    length, stride = draw(st.sampled_from(_mel_framings(shape[0])))
    return {"fft_length": length, "sequence_length": length, "sequence_stride": stride,
            "num_mel_bins": draw(st.integers(1, 4)), "power_to_db": draw(st.booleans()),
            **_MEL_FIXED}


def _mel_out(shape, cfg):
    pad = cfg["fft_length"] // 2  # centred frames: the signal is padded by half an FFT
    frames = (shape[0] + 2 * pad - cfg["sequence_length"]) // cfg["sequence_stride"] + 1
    return (cfg["num_mel_bins"], frames)


@st.composite
def _stft_configs(draw, shape):
    frame = draw(st.integers(2, min(4, shape[0])))
    return {"frame_length": frame, "frame_step": draw(st.integers(1, 2)), "fft_length": 4,
            "mode": draw(st.sampled_from(("log", "magnitude", "psd", "real", "imag")))}


def _stft_out(shape, cfg):
    frames = (shape[0] - cfg["frame_length"]) // cfg["frame_step"] + 1
    return (frames, cfg["fft_length"] // 2 + 1)


def _pipeline_literal(cfg, name, dtype=None):
    return (f"keras.layers.Pipeline([keras.layers.Rescaling({cfg['scale']!r}, "
            f"offset={cfg['offset']!r}, name={name + '_rescaling'!r}{dtype_arg(dtype)})], "
            f"name={name!r})")


register(
    LayerInfo("Rescaling", "preprocessing", lambda s: st.fixed_dictionaries(_RESCALE), ANY_RANK,
              mask=mask_of(lambda: keras.layers.Rescaling(1.0))),
    LayerInfo("Pipeline", "preprocessing", lambda s: st.fixed_dictionaries(_RESCALE), ANY_RANK,
              make=from_literal(_pipeline_literal), literal=_pipeline_literal,
              mask=mask_of(lambda: keras.layers.Pipeline([])), destroys_mask=True),
    LayerInfo("Discretization", "preprocessing", _discretization_configs, VECTOR,
              output_shape=_discretized, mask=lambda c: "none",
              # TF's DenseBincount has no float16/bfloat16 kernel (InvalidArgumentError in
              # every API under a mixed policy; Keras 2.15 and tf_keras do not raise)
              float32_only=lambda c: IS_KERAS3 and c["output_mode"] in ("multi_hot", "count"),
              probe=_discretization_probe, stops_gradient=True,
              xla=lambda c, training: _discretization_xla(c["output_mode"], training),
              note="drawn only in the output modes whose symbolic shape is the eager one "
                   "(Keras 2.15 multi_hot and count; tf_keras 2.21 and Keras 3.3.3 to 3.13.2 "
                   "none; 3.15.1 all three): Keras 3 gives "
                   "a symbolic Discretization its input's shape (one_hot: keras-team/keras"
                   "#22044, fixed in #22048; multi_hot, count: #22403), so Sequential and "
                   "Functional see a wrong shape where subclassed runs"),
    LayerInfo("MelSpectrogram", "preprocessing", _mel_configs, VECTOR, output_shape=_mel_out,
              accepts=lambda s: s[0] >= 2 and bool(_mel_framings(s[0])),
              mask=lambda c: "none"),
    LayerInfo("STFTSpectrogram", "preprocessing", _stft_configs, frozenset({2}),
              output_shape=_stft_out, accepts=lambda s: s[-1] == 1 and s[0] >= 2,
              mask=lambda c: "none"),
    LayerInfo("Normalization", "preprocessing", _adapted_configs, ANY_RANK,
              make=from_literal(_adapted_literal), literal=_adapted_literal, stateful=True,
              mask=mask_of(lambda: keras.layers.Normalization())),
    LayerInfo("NormalizationStats", "preprocessing", _normalization_configs, ANY_RANK,
              class_name="Normalization", probe=_stats_in_subclassed,
              mask=mask_of(lambda: keras.layers.Normalization()),
              note="held back, a finding the suite cannot carry yet (a model that fails to "
                   "build in one API is not an observation): on Keras 3 (3.3.3 to 3.15.1 "
                   "here) a subclassed model holding Normalization(mean=, variance=) fails "
                   "on its first call (\"out of scope and cannot be used here\"), where "
                   "Sequential and Functional work; no upstream issue found"),
    LayerInfo("Resizing", "preprocessing", _resizing_configs, IMAGE,
              output_shape=lambda s, c: (c["height"], c["width"], s[-1]),
              accepts=lambda s: 64 * s[-1] <= MAX_ELEMENTS, mask=lambda c: "none"),
    LayerInfo("CenterCrop", "preprocessing", _size, IMAGE,
              output_shape=lambda s, c: (c["height"], c["width"], s[-1]), mask=lambda c: "none"),
)
