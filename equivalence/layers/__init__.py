"""The layer registry: one `LayerInfo` per layer kind, grouped by family.

An entry says what a kind accepts (input ranks, token ids or floats), which configs are
valid for an incoming shape (a Hypothesis strategy), the output shape it produces, and what
it claims about itself (train and eval differ, non-trainable state, masking, losses).
`tests/test_registry.py` checks those claims against Keras. Registry order is simplicity
order: strategies prefer earlier kinds, so failures shrink towards one Dense layer.
"""
from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from hypothesis import strategies as st

from equivalence.compat import IS_KERAS3, has_layer, keras

Shape = tuple[int, ...]
MASK_MODES = ("none", "passes", "consumes", "produces")


@dataclass(frozen=True)
class LayerInfo:
    """What the suite knows about one layer kind. Flags are verified by meta-tests."""

    kind: str
    family: str
    configs: Callable[[Shape], st.SearchStrategy[dict[str, Any]]]
    ranks: frozenset[int]
    output_shape: Callable[[Shape, dict], Shape] = lambda shape, cfg: shape
    accepts: Callable[[Shape], bool] = lambda shape: True
    make: Callable[..., Any] | None = None  # (cfg, name, dtype) -> layer; default: keras class
    class_name: str | None = None  # Keras class; defaults to kind
    cls: type | None = None  # a layer class of the user's own (equivalence.plugins)
    token_input: bool = False  # takes integer ids (and nothing else)
    string_input: bool = False  # takes strings (and nothing else): the first layer on text
    # What the layer outputs (one of TAKES): floats; "int", ids whose vocabulary size is
    # ids_out (the next layer takes ids: Embedding, ...); "counts", integer counts, which
    # only a kind that `takes_counts` follows (Keras 3's lookups count in int64).
    stream_out: Callable[[dict], str] = lambda cfg: "float"
    ids_out: Callable[[dict], int | None] = lambda cfg: None
    takes_counts: bool = False  # may also follow integer counts (Dense: a matmul takes them)
    # No gradient passes the layer in training mode (Discretization's bucketize; RandomHue,
    # RandomSaturation, RandomPosterization and ContrastLimitedAdaptiveHistogramEqualization
    # on Keras 3; test_registry's test_gradient_flags_match_a_gradient_tape holds each
    # kind's flags): training leaves the trainable weights before it untouched, in every
    # API alike, and Keras 3's optimizer warns that they get none (checks._observe_on lets
    # that warning pass for such a stack; the untouched weights are still compared).
    stops_gradient: bool = False
    # No gradient is defined for an op of the layer in training mode: TF raises LookupError
    # when one is asked through it, in every API alike, so a stack that trains weights
    # before it has nothing to compare (strategies._trainable_here leaves it out).
    gradient_undefined: bool = False
    vocab_key: str | None = None  # the config key the strategy sets to the ids' vocabulary
    covers: tuple[str, ...] = ()  # other Keras classes every layer of this kind builds
    train_differs: bool = False  # __call__(training=True) != __call__(training=False)
    stateful: bool = False  # has non-trainable weights
    mask: Callable[[dict], str] = lambda cfg: "passes"  # one of MASK_MODES
    adds_loss: Callable[[dict], bool] = lambda cfg: False
    seeded: bool = False  # stochastic, takes a seed
    # Configs that cannot compute in float16/bfloat16 in any API (no such kernel): under a
    # mixed policy the strategy keeps such a layer in float32, as a user must.
    float32_only: Callable[[dict], bool] = lambda cfg: False
    mask_ok: bool = True  # may receive a (batch, time) sequence mask; False needs a note
    # Takes a mask in call only to hand it on (Pipeline to its layers, Lambda to its
    # function) without supporting masking: Keras destroys the mask it is given, saying
    # so, and nothing downstream sees it; its mask mode is then "none".
    destroys_mask: bool = False
    # A model of other layers (Nested): its config holds their LayerSpecs under "layers";
    # its `configs(shape, masked)` also takes the incoming mask state; it is never drawn
    # inside another, and the builder builds it with the outer model's API.
    nests: bool = False
    # A regular expression of the error every API must raise where a saving check reloads
    # this layer (a Lambda of a Python lambda in safe mode): refused alike by every API, the
    # refusal is the expected observation (checks.compare), not a finding.
    refusal: str | None = None
    note: str = ""
    # A call that raises where this Keras' layer is broken in every API alike (nothing to
    # compare): the kind is then not drawn. Its reason goes in `note`.
    probe: Callable[[], Any] | None = None
    # (cfg) -> why this Keras does not draw the config ("" where it does): a config broken
    # alike in every API, left out of the kind's `configs` here; a spec holding it (a known
    # entry's example, a replay) is refused with the reason (builders.validate).
    not_drawn: Callable[[dict], str] = lambda cfg: ""
    # (cfg, training) -> whether XLA compiles the layer's call here, first in a model
    # (compiles_with_xla: an op with no XLA kernel raises in every API alike under
    # jit_compile=True, so the jit mode does not draw the layer in that config). A kind
    # with a hook is one XLA may refuse: later in a stack, what comes before it can
    # decide, and strategies.xla_blocked compiles the stack up to it instead; None: XLA
    # compiles the kind anywhere (not asked).
    xla: Callable[[dict, bool], bool] | None = None
    # (cfg, name, dtype) -> the constructor call as code, for minimal.py; only where `make`
    # builds something else than `keras.layers.<class>(**cfg, name=, dtype=)`.
    literal: Callable[[dict, str, str | None], str] | None = None
    # A class of plain Keras code the layer is built with: minimal.py writes its source.
    helper: type | None = None
    # (cfg, layer, wrap) -> a plain-TensorFlow step computing the layer's inference, or
    # None: the benchmark floor (equivalence/layers/floor.py says what a hook is).
    floor: Callable[[dict, Any, Callable], Any] | None = None

    # False for a kind that is no Keras class (Nested builds models): available everywhere.
    needs_class: bool = True

    @property
    def available(self) -> bool:
        if self.cls is None and self.needs_class and not has_layer(self.class_name or self.kind):
            return False
        return run_here(self.kind) and not self.broken_here

    @property
    def broken_here(self) -> bool:
        """Whether the kind's probe raises on this Keras (broken alike in every API; `note`
        says why): not drawn, whether or not it has run here."""
        return self.probe is not None and not probe_passes(self.kind)

    def build(self, cfg: dict, name: str, dtype: str | None = None):
        """A fresh Keras layer for `cfg`, named `name`, with its dtype pinned if given."""
        kwargs = {"name": name}
        if dtype is not None:
            kwargs["dtype"] = dtype
        if self.make is not None:
            return self.make(cfg, **kwargs)
        cls = self.cls or getattr(keras.layers, self.class_name or self.kind)
        return cls(**cfg, **kwargs)


REGISTRY: dict[str, LayerInfo] = {}


def dtype_arg(dtype: str | None) -> str:
    """The `, dtype=...` a literal adds when the layer is pinned."""
    return f", dtype={dtype!r}" if dtype else ""


def adapted(layer: str, sample: str) -> str:
    """One expression: the layer (code), adapted on the sample (code), the layer again."""
    return f"(lambda layer: (layer.adapt({sample}), layer)[1])({layer})"


def from_literal(literal: Callable[[dict, str, str | None], str],
                 helper: type | None = None) -> Callable[..., Any]:
    """A `make` that evaluates the kind's literal, so that minimal.py writes the very code
    the suite builds the layer with (keras and numpy in scope), as a script's module: a
    function it defines (a Lambda's) belongs to `__main__`, as in minimal.py and a user's
    script. (Without a module, Keras 2 saves a Lambda's "module" as None and loads its
    function into its own lambda_layer module: the config changes on a round trip that
    keeps a user's; tf_keras 2.21's focused run, docs/findings.md 23.) The kind's `helper`
    class is in scope too, as minimal.py writes its source above the layers."""
    import numpy as np

    scope = {"keras": keras, "np": np, "__name__": "__main__"}
    if helper is not None:
        scope[helper.__name__] = helper

    def make(cfg, name, dtype=None):
        return eval(literal(cfg, name, dtype), dict(scope))  # noqa: S307
    return make

# A new kind is drawn on the Keras versions where the suite has run it (`pytest equivalence
# --parity-kinds=<the new kinds>` in that environment) and what the run found is placed
# (known entries, configurations narrowed, docs/findings.md). Elsewhere it is not drawn yet
# and `python -m equivalence.coverage` says so; a Keras version joins once it has run them.
# The text family, IntegerLookup and Lambda waited here until stop 32, when they had run on
# every environment (docs/findings.md, 14 and 23). Gate a new kind: NOT_YET_RUN[kind] =
# frozenset({the Keras versions, or fnmatch patterns of them, whose focused runs passed}).
# TFSMLayer (stop 37): its focused runs passed on Keras 3.13.2 (docs/findings.md, 26); drawn
# there it moved the ci profile's draws onto three failures of other kinds, placed at stop
# 38 (findings, 27): drawn on the versions whose focused run and ci row have passed since
# (docs/matrix.md, stop 38). On Keras 3.15.1 its ci row moved the draws onto a failure of
# Discretization under XLA (findings, 27), placed at stop 39 (a kind with an `xla` hook is
# asked where it stands: strategies.xla_blocked); drawn there since, and on keras-nightly's
# 3.16.0 builds, whose focused run passed at stop 38. A version is a pattern (fnmatch):
# "3.16.0.dev*" names every nightly build towards 3.16.0, a gate that does not lapse with
# the next build; a later nightly that breaks it is the tfnightly environment's to find.
# Keras 3.3 to 3.8 cannot build it frozen (its probe says so).
NOT_YET_RUN: dict[str, frozenset[str]] = {
    "TFSMLayer": frozenset({"3.10.0", "3.11.3", "3.13.2", "3.15.1", "3.16.0.dev*"})}
# The kinds `pytest --parity-kinds` named: drawn in that run wherever they are not yet run.
OPENED: set[str] = set()
NOT_YET_RUN_NOTE = "not yet run on this Keras: a new kind, not drawn until verified (issue 14)"


def modes_shaped_right(make: Callable[[str], Any], modes, x) -> tuple[str, ...]:
    """The output modes in which `make(mode)`'s layer gives a KerasTensor of `x`'s shape the
    shape it gives `x` eagerly. Where they differ, a Sequential or Functional model builds
    the next layer on the wrong shape and a subclassed model runs: the same layer, not
    comparable; a kind draws only the modes right in this Keras (Discretization,
    TextVectorization: keras-team/keras#22044, #22403, #22350). A mode whose layer refuses
    `x`'s shape (ValueError: Keras 2's Discretization refuses one_hot on several features,
    "maximum supported output rank is 2") is not right either: before stop 39 that refusal
    escaped, failed Discretization's probe, and kept the kind out of Keras 2 altogether,
    its multi_hot mode with it (the coverage command said "not drawn")."""
    import numpy as np

    x = np.asarray(x)
    symbolic = keras.Input(x.shape[1:], dtype="string" if x.dtype.kind in "SU" else str(x.dtype))
    right = []
    for mode in modes:
        layer = make(mode)
        try:
            shapes = tuple(layer(symbolic).shape[1:]), tuple(layer(x).shape[1:])
        except ValueError:
            continue
        if shapes[0] == shapes[1]:
            right.append(mode)
    return tuple(right)


# XLA's refusals: an op without an XLA kernel, a shape argument only known at run time,
# (Keras 2) a lookup table, a resource XLA's launch finds uninitialized (xla_launch_util),
# or an op XLA has no deterministic kernel for while op determinism is on, as the suite
# runs its checks (MaxPoolGrad: "GPU MaxPool gradient ops do not yet have a deterministic
# XLA implementation", on CPU too; tf2xla's pooling kernels).
XLA_REFUSAL = re.compile(r"OpKernel for XLA_\w+_JIT|unsupported operations when trying "
                            r"to compile|must be a compile-time constant|xla_launch_util|"
                            r"do not yet have a deterministic XLA implementation")


def xla_errors() -> tuple[type, ...]:
    """The TensorFlow errors an XLA refusal comes as (XLA_REFUSAL says which are one)."""
    import tensorflow as tf

    return (tf.errors.InvalidArgumentError, tf.errors.InternalError,
            tf.errors.UnimplementedError)


def compiles_with_xla(layer, x, training: bool) -> bool:
    """Whether a model of `layer` (then Dense(1), flattened first where its output has more
    than one feature axis) on inputs like `x`, compiled with jit_compile=True as the suite's
    jit modes compile it, predicts (training False) or trains a batch (True) here: the
    answer a kind's `xla` hook gives, first in a model. `layer` may be a model: a drawn
    stack cut after a layer XLA may refuse (strategies.compiles_up_to asks there). Any
    error but XLA's refusal is raised.

    No Flatten after a 2D output on Keras 3: Keras 3.3.3's Flatten reshapes to (-1, -1)
    where the graph does not know the feature axis, which TextVectorization's int mode
    does not give it there, and the graph refuses ("Only one input size may be -1"; the
    registry test on tf216). No stack puts Flatten there (it takes floats, not ids).
    Keras 2 keeps the probe its claims were measured with, Flatten always; a Keras 2
    string model it does not compile at all (below)."""
    import warnings

    import numpy as np
    import tensorflow as tf

    from equivalence.data import feedable
    from equivalence.portable import compile_for

    x = np.asarray(x)
    if not IS_KERAS3 and x.dtype.kind in "SU":
        # Keras 2 compiles string ops with XLA, which has no kernel for them and refuses —
        # but after an earlier refused compile in the process, TF 2.21's XLA aborts the
        # process instead ("Check failed: DataTypeCanUseMemcpy(dtype())" while hashing the
        # compile's signature; tensorflow/tensorflow#120244; the registry tests on
        # tflegacy). Not asked here, so the process lives; the registry test asks it of a
        # fresh process each time (test_xla_claim_matches_what_a_jit_compiled_model_does).
        return False
    inp = keras.Input(x.shape[1:], dtype="string" if x.dtype.kind in "SU" else str(x.dtype))
    model = keras.Sequential([inp, layer])
    if len(model.outputs[0].shape) > 2 or not IS_KERAS3:
        model.add(keras.layers.Flatten())
    model.add(keras.layers.Dense(1))
    compile_for(model, True, False, optimizer="sgd", loss="mse")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Model doesn't support `jit_compile=True`"
            if training:
                model.train_on_batch(feedable(x), np.zeros((len(x), 1), "float32"))
            else:
                model.predict(feedable(x), verbose=0)
    except xla_errors() as exc:
        if XLA_REFUSAL.search(str(exc)):
            return False
        raise
    return True


def run_here(kind: str) -> bool:
    from equivalence.compat import KERAS_VERSION

    return kind in OPENED or any(fnmatch.fnmatchcase(KERAS_VERSION, verified)
                                 for verified in NOT_YET_RUN.get(kind, (KERAS_VERSION,)))


_PROBED: dict[str, bool] = {}


def probe_passes(kind: str) -> bool:
    if kind not in _PROBED:
        try:
            REGISTRY[kind].probe()
            _PROBED[kind] = True
        except Exception:  # noqa: BLE001 - broken in this Keras: not drawn (see note)
            _PROBED[kind] = False
    return _PROBED[kind]


def register(*infos: LayerInfo) -> None:
    for info in infos:
        if info.kind in REGISTRY:
            raise ValueError(f"layer kind {info.kind!r} registered twice")
        REGISTRY[info.kind] = info


def available_kinds() -> list[str]:
    """Kinds this Keras version has, in simplicity order."""
    return [kind for kind, info in REGISTRY.items() if info.available]


TAKES = ("float", "int", "string", "counts")  # floats, token ids, strings, integer counts


def takes(info: LayerInfo) -> str:
    """What the kind's input must be: one of TAKES."""
    return "string" if info.string_input else "int" if info.token_input else "float"


def candidates(shape: Shape, stream: str, masked: bool, exclude=()) -> list[LayerInfo]:
    """Kinds that accept `shape` of `stream` (one of TAKES), and a mask if `masked`."""
    out = []
    for info in REGISTRY.values():
        if not info.available or info.kind in exclude or len(shape) not in info.ranks:
            continue
        if not (takes(info) == stream or stream == "counts" and info.takes_counts):
            continue
        if not info.accepts(shape):
            continue
        if masked and (info.mask({}) == "none" or not info.mask_ok):
            continue
        out.append(info)
    return out


def mask_of(make: Callable[[], Any]) -> Callable[[dict], str]:
    """A kind's mask mode asked of this Keras' layer (`make()` builds one): "passes" where it
    supports masking and its compute_mask hands a mask on (Keras 3's Identity, Rescaling,
    Normalization, Lambda), "consumes" where it supports masking and returns none (Keras
    2's Lambda: it supports masking for overriding compute_mask, which returns its `mask`
    argument, None — the registry test on tf215), "none" where it does not support masking.
    Asked once, at registration: building a layer touches Python's `random`, which
    Hypothesis forbids inside a strategy."""
    import numpy as np

    try:
        layer = make()
    except AttributeError:  # no such class in this Keras: the kind is not drawn anyway
        return lambda cfg: "none"
    if not layer.supports_masking:
        mode = "none"
    else:
        out = layer.compute_mask(np.ones((1, 2, 1), "float32"), np.array([[True, False]]))
        mode = "passes" if out is not None else "consumes"
    return lambda cfg: mode


def masked_after(mode: str, masked: bool) -> bool:
    """Whether the stream carries a mask after a layer with masking `mode`."""
    return {"produces": True, "consumes": False, "none": False}.get(mode, masked)


def prod(shape: Shape) -> int:
    out = 1
    for dim in shape:
        out *= dim
    return out


# The family modules register their entries on import, in simplicity order.
from equivalence.layers import (  # noqa: E402,F401  (registration side effects)
    core,
    normalization,
    noise,
    reshaping,
    conv,
    recurrent,
    attention,
    tokens,
    preprocessing,
    augmentation,
    text,
    savedmodel,
    nested,
)

# Probe now, at import: a probe builds a layer, and Keras seeding touches Python's `random`,
# which Hypothesis forbids inside a strategy (where `available` is otherwise first asked).
# A kind not yet run here is probed when a run names it (--parity-kinds, before drawing).
for _kind, _info in REGISTRY.items():
    if _info.probe is not None and run_here(_kind):
        probe_passes(_kind)
