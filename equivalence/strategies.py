"""Hypothesis strategies for stacks that are valid by construction.

Each next layer is chosen only from the kinds that accept the current shape, dtype and mask
state (see `equivalence.layers.candidates`), and every choice is ordered simplest first:
vector input before sequences, images, tokens and volumes; short stacks before long; registry order
(Dense first) for kinds; float32 before mixed precision. A failing stack therefore shrinks
towards one Dense layer on a vector input.
"""
from __future__ import annotations

import dataclasses
import functools

from hypothesis import Phase, assume, example, find, settings
from hypothesis.errors import NoSuchExample, Unsatisfiable
from hypothesis import strategies as st

from equivalence import compat
from equivalence.layers import (NOT_YET_RUN, OPENED, REGISTRY, candidates, masked_after, prod,
                                takes)
from equivalence.layers.examples import FEATURE_STACKS
from equivalence.spec import INPUT_FAMILIES, POLICIES, InputSpec, LayerSpec, StackSpec, leaves

MAX_LAYERS = 4
MAX_INNER_LAYERS = 2
MAX_ELEMENTS = 2048  # per example after any layer; larger stacks are rare leftovers
BATCHES = (8, 5, 1)  # 5 does not divide the predict batch size; 1 is the latency case

# Set by `pytest --replay`: every stack strategy then yields this one spec.
REPLAY: StackSpec | None = None
# Set by `pytest --parity-kinds`: every stack then starts with one of these kinds.
FOCUS: frozenset[str] = frozenset()
_FAMILY_RANK = {"vector": 1, "sequence": 2, "image": 3, "volume": 4, "volume_sequence": 5}
# Offered only where a kind made for that rank is drawn (not only the rank-agnostic ones).
_RANK_FAMILIES = ("volume", "volume_sequence")
_STREAM_OF = {"tokens": "int", "text": "string"}  # the families that are not floats


def fits_family(kind: str, family: str) -> bool:
    """Whether `kind` can be the first layer on an input of `family`."""
    info = REGISTRY[kind]
    if family in _STREAM_OF:
        return takes(info) == _STREAM_OF[family]
    return takes(info) == "float" and _FAMILY_RANK[family] in info.ranks


def parse_kinds(text: str) -> frozenset[str]:
    """'Conv3D,RNN' -> those of the kinds this Keras draws (one list serves every version);
    ValueError for a name that is no kind at all, or when none is drawn here. A kind not
    yet run on this Keras (NOT_YET_RUN) is opened for the run: naming it is how a new kind
    gets run here (docs/extending.md)."""
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    if not kinds:
        raise ValueError("expects KIND[,KIND], got nothing")
    for kind in kinds:
        if kind not in REGISTRY:
            raise ValueError(f"no layer kind {kind!r} (python -m equivalence.coverage lists "
                             f"the kinds)")
    OPENED.update(k for k in kinds if k in NOT_YET_RUN)
    drawn = frozenset(k for k in kinds if REGISTRY[k].available)
    if not drawn:
        raise ValueError(f"none of {', '.join(kinds)} is drawn on this Keras "
                         f"(python -m equivalence.coverage says why)")
    return drawn


def focus_families(first: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The input families some focused kind (or one of `first`) can start a stack on (all
    without a focus)."""
    first = first or FOCUS
    kinds = first or {k for k, info in REGISTRY.items() if info.available}
    # A family is offered where some kind needs it: volumes only where the 3D kinds are
    # drawn, sequences of volumes where ConvLSTM3D is, text where a kind takes strings.
    drawn = [k for k in kinds if REGISTRY[k].available]
    return tuple(f for f in INPUT_FAMILIES
                 if f not in _RANK_FAMILIES
                 or any(REGISTRY[k].ranks == {_FAMILY_RANK[f]} for k in drawn)
                 if f != "text" or any(fits_family(k, f) for k in drawn)
                 if not first or any(fits_family(k, f) for k in first))


def input_specs(family: str | None = None,
                first: frozenset[str] = frozenset()) -> st.SearchStrategy[InputSpec]:
    """Inputs of each family (that one of the kinds `first` can start on, if given);
    shrinks towards a 1-feature vector."""
    families = st.just(family) if family else st.sampled_from(focus_families(first))
    return families.flatmap(_input_of)


def _input_of(family: str) -> st.SearchStrategy[InputSpec]:
    small = st.integers(1, 6)
    if family == "vector":
        return st.builds(InputSpec, st.just(family), st.tuples(small))
    if family == "sequence":
        return st.builds(InputSpec, st.just(family), st.tuples(st.integers(2, 8), small))
    if family == "image":
        side = st.integers(3, 8)
        return st.builds(InputSpec, st.just(family),
                         st.tuples(side, side, st.integers(1, 3)))
    if family == "volume":  # (depth, height, width, channels) for the 3D layers
        side = st.integers(2, 5)
        return st.builds(InputSpec, st.just(family),
                         st.tuples(side, side, side, st.integers(1, 2)))
    if family == "volume_sequence":  # (time, depth, height, width, channels): ConvLSTM3D
        side = st.integers(2, 3)
        return st.builds(InputSpec, st.just(family),
                         st.tuples(st.integers(2, 3), side, side, side, st.integers(1, 2)))
    if family == "text":  # words (length >= 2) or one sentence (length 1) a row
        return st.builds(InputSpec, st.just(family), st.tuples(st.integers(1, 6)),
                         st.just("string"), st.integers(3, 8))
    return st.builds(InputSpec, st.just(family), st.tuples(st.integers(2, 8)),
                     st.just("int32"), st.integers(4, 20))


@st.composite
def _next_layer(draw, shape, stream, masked, policy, vocab=None, nested_ok=True, only=None):
    """(LayerSpec, output shape, masked afterwards) for one layer valid on `shape` of
    `stream` (floats, ids or strings: layers.TAKES), of the kinds `only` when given."""
    exclude = () if nested_ok else tuple(k for k, i in REGISTRY.items() if i.nests)
    options = candidates(shape, stream, masked, exclude)
    if only:
        options = [info for info in options if info.kind in only]
        assume(options)  # e.g. an input too small for every focused kind
    # Family first, then kind: otherwise the many rank-agnostic kinds (activations, noise)
    # crowd out the few that need a sequence or an image. Both in registry order.
    families = list(dict.fromkeys(info.family for info in options))
    family = draw(st.sampled_from(families))
    info = draw(st.sampled_from([info for info in options if info.family == family]))
    cfg = draw(info.configs(shape, masked) if info.nests else info.configs(shape))
    if info.vocab_key is not None:
        cfg = {**cfg, info.vocab_key: vocab}
    out = info.output_shape(shape, cfg)
    assume(all(d >= 1 for d in out) and prod(out) <= MAX_ELEMENTS)
    pinned = None
    # A layer of floats may be kept in float32 in a mixed stack; one on strings or giving
    # ids or counts computes no floats (Keras refuses a float dtype for its ids).
    floats = not info.string_input and info.stream_out(cfg) == "float"
    if policy != "float32" and floats and (info.float32_only(cfg) or draw(st.booleans())):
        pinned = "float32"  # a single layer kept in float32 inside a mixed stack
    return LayerSpec.of(info.kind, pinned, **cfg), out, masked_after(info.mask(cfg), masked)


@st.composite
def inner_stack(draw, shape, masked=False):
    """1 to MAX_INNER_LAYERS float layers for a nested stack (no nesting inside)."""
    layers = []
    for _ in range(draw(st.integers(1, MAX_INNER_LAYERS))):
        layer, shape, masked = draw(_next_layer(shape, "float", masked, "float32",
                                                nested_ok=False))
        if REGISTRY[layer.kind].float32_only(layer.params):
            # The outer policy may be mixed, and this draw does not know it: a layer with
            # no float16 kernel is kept in float32 as in a top-level stack (a ci run on
            # Keras 3.15.1: a nested multi_hot Discretization under mixed_float16 raised
            # in every API alike).
            layer = dataclasses.replace(layer, dtype="float32")
        layers.append(layer)
    return tuple(layers)


@st.composite
def _stacks(draw, max_layers, policies, family, first=frozenset()):
    first = first or FOCUS  # the kinds the first layer is one of (all when empty)
    inp = draw(input_specs(family, first))
    policy = draw(st.sampled_from(policies))
    shape, masked, vocab = inp.shape, False, inp.vocab
    stream = _STREAM_OF.get(inp.family, "float")
    layers = []
    for i in range(draw(st.integers(1, max_layers))):
        layer, shape, masked = draw(_next_layer(shape, stream, masked, policy, vocab,
                                                only=first if i == 0 else None))
        layers.append(layer)
        info = REGISTRY[layer.kind]
        stream, vocab = info.stream_out(layer.params), info.ids_out(layer.params)
    return StackSpec(inp, tuple(layers), policy, draw(st.integers(0, 2**16)),
                     draw(st.sampled_from(BATCHES)))


def stacks(max_layers: int = MAX_LAYERS, policies=POLICIES,
           family: str | None = None) -> st.SearchStrategy[StackSpec]:
    """Valid random stacks; shrinks towards one Dense layer on a float32 vector input.

    Under `pytest --replay PATH` this yields only the replayed spec.
    """
    if REPLAY is not None:
        return st.just(REPLAY)
    return _stacks(max_layers, tuple(policies), family)


def kinds_drawable() -> set[str]:
    """Every registry kind the strategies can produce on this Keras version."""
    return {kind for kind, info in REGISTRY.items() if info.available}


def trainable_stacks(**kwargs) -> st.SearchStrategy[StackSpec]:
    """Stacks ending in a Dense layer, so every stack has weights to train (a model without
    any makes Keras warn and train nothing). Under --replay, the replayed spec as it is."""
    if REPLAY is not None:
        return st.just(REPLAY)
    return _headed(stacks(**kwargs))


def trains(spec: StackSpec) -> bool:
    """Whether the training checks take this spec as it is (a replayed one included): it
    ends in the Dense head trainable_stacks gives every stack, and fit can train it."""
    return spec.layers[-1].kind == "Dense" and _trainable_here(spec)


def _loss_dtypes(spec: StackSpec) -> set[str]:
    """The dtypes of the stack's regularization losses: weight regularizers give float32
    (variables are float32), activity regularization the layer's compute dtype."""
    out = set()

    def visit(layers):
        for layer in layers:
            p = layer.params
            visit(p.get("layers", ()))
            if layer.kind == "ActivityRegularization" or p.get("activity_regularizer"):
                out.add(layer.dtype or spec.compute_dtype)
            if p.get("kernel_regularizer") or p.get("bias_regularizer"):
                out.add("float32")

    visit(spec.layers)
    return out


def _trainable_here(spec: StackSpec) -> bool:
    """Keras 3's fit cannot train a model with a regularization loss in another dtype than
    the float32 training loss (an activity loss in bfloat16/float16 under a mixed policy):
    summing them raises TypeError in every API alike, so such a stack has nothing to
    compare. Excluded here, listed among the README findings (no upstream issue found).
    Nor can a stack train where a layer with no gradient defined (LayerInfo.
    gradient_undefined: Keras 2's RandomContrast) comes after another: TF raises LookupError
    in every API alike."""
    if any(REGISTRY[leaf.kind].gradient_undefined for leaf in leaves(spec.layers)[1:]):
        return False
    return not (compat.IS_KERAS3 and _loss_dtypes(spec) - {"float32"})


def _with_dense_head(spec: StackSpec) -> StackSpec:
    if spec.layers[-1].kind == "Dense":
        return spec
    return dataclasses.replace(spec, layers=spec.layers + (LayerSpec.of("Dense", units=2),))


def _head_fits(spec: StackSpec) -> bool:
    """Whether the last Dense accepts what comes into it (the head is added after the
    draw, past the registry's `accepts`: compat.onednn_matmul_corrupts)."""
    from equivalence.builders import output_shape

    before = dataclasses.replace(spec, layers=spec.layers[:-1])
    return not before.layers or REGISTRY["Dense"].accepts(output_shape(before))


def _headed(strategy: st.SearchStrategy[StackSpec]) -> st.SearchStrategy[StackSpec]:
    """Stacks ending in a Dense head that fit can train."""
    return strategy.map(_with_dense_head).filter(_head_fits).filter(_trainable_here)


def loss_fits(spec: StackSpec, loss: str) -> bool:
    """A crossentropy needs two classes at least. With an output whose last axis is 1,
    Keras 3's loss wrapper squeezes that axis and the sparse crossentropy then rejects the
    ranks (ValueError in every API alike: nothing to compare), and one class is not a
    classification anyway. MSE fits any output."""
    from equivalence.builders import output_shape

    return loss == "mse" or output_shape(spec)[-1] >= 2


@st.composite
def training_cases(draw, batch_methods: bool = False) -> tuple[StackSpec, tuple[str, str, int]]:
    """(spec, (optimizer, loss, steps_per_execution)) for `checks.Mode.training`: a
    trainable stack and a loss that fits its output; shrinks towards SGD with momentum,
    MSE and one step per execution.

    steps_per_execution=2 is not drawn where it breaks training in every API alike
    (nothing to compare): for the batch methods (`batch_methods`) on Keras 2, which runs a
    train_on_batch as two steps over its one batch and raises OutOfRangeError ("End of
    sequence"); and on Keras 3.0-3.5, whose `fit` ends early ("Your input ran out of data;
    interrupting training", measured on 3.3.3 and 3.5.0; 3.8.0 does not) when the steps do
    not divide the batches, as they never do here."""
    from equivalence.portable import LOSSES, OPTIMIZERS

    spec = draw(trainable_stacks())
    losses = [name for name in LOSSES if loss_fits(spec, name)]
    keras = compat.version_triple(compat.KERAS_VERSION)
    early_end = (3, 0, 0) <= keras < (3, 6, 0)
    steps = (1,) if early_end or (batch_methods and not compat.IS_KERAS3) else (1, 2)
    return spec, (draw(st.sampled_from(list(OPTIMIZERS))), draw(st.sampled_from(losses)),
                  draw(st.sampled_from(steps)))


def share(fraction: float):
    """Hypothesis settings giving a test `fraction` of the profile's max_examples (at least
    one): for tests parametrized over the compile modes, so that a check costs about as
    many examples in all as a plain test."""
    return settings(max_examples=max(1, round(settings.default.max_examples * fraction)))


# The optimizer, loss and steps a feature stack trains with (training_cases' simplest).
FEATURE_TRAINING = ("sgd_momentum", "mse", 1)
# The Hypothesis profiles (conftest.py) whose property tests also carry one stack per layer
# family (family_stacks): in `ci` every check meets every family, which 25 derandomized
# draws (4 per mode for a training check) cannot promise; `families` runs only the
# explicit stacks. Not `dev`: its run time is the default test run's.
FAMILY_PROFILES = ("ci", "nightly", "families")


@functools.cache
def family_stacks() -> tuple[StackSpec, ...]:
    """One trainable stack per layer family drawn on this Keras (the user's own families
    included), in registry order: the simplest stack whose first layer is of that family —
    Hypothesis' first example, drawn from all-zero choices (the first input family and kind
    that fit, the smallest sizes: the same on every run; shrinking costs a minute and finds
    no simpler) — with the Dense head every training check needs. A family none of whose
    kinds can start a stack (none today) has none, and `python -m equivalence.summary met
    --families` says so."""
    # A nesting kind is no family of its own to the summary (it counts the layers inside;
    # the feature stacks carry a nested model of each API).
    drawn = {kind for kind in kinds_drawable() if not REGISTRY[kind].nests}
    out = []
    for family in dict.fromkeys(info.family for kind, info in REGISTRY.items()
                                if kind in drawn):
        first = frozenset(k for k in drawn if REGISTRY[k].family == family)
        simplest = _headed(_stacks(1, ("float32",), None, first))
        try:
            out.append(find(simplest, lambda spec: True,
                            settings=settings(database=None, derandomize=True,
                                              max_examples=200, phases=[Phase.generate])))
        except (NoSuchExample, Unsatisfiable):
            continue
    return tuple(out)


def explicit_stacks(profile: str | None = None) -> tuple[StackSpec, ...]:
    """The stacks every property test runs besides what it draws under `profile` (the
    loaded one by default): the feature stacks always, the family stacks in
    FAMILY_PROFILES."""
    if profile is None:
        profile = settings.get_current_profile_name()
    return FEATURE_STACKS + (family_stacks() if profile in FAMILY_PROFILES else ())


def with_feature_stacks(arg: str = "spec", training: bool = False):
    """Hypothesis explicit examples: the explicit_stacks of the loaded profile (the
    FEATURE_STACKS of `equivalence.layers.examples` in every profile, so that each check
    meets every feature of `equivalence.features`; in ci, nightly and families one stack
    per layer family too). None under --replay or --parity-kinds, runs about other stacks.
    `training`: given as (spec, FEATURE_TRAINING), as training_cases draws."""
    def decorate(test):
        if REPLAY is not None or FOCUS:
            return test
        for spec in reversed(explicit_stacks()):
            _EXPLICIT.add(spec)
            test = example(**{arg: (spec, FEATURE_TRAINING) if training else spec})(test)
        return test
    return decorate


_EXPLICIT: set[StackSpec] = set()  # the stacks with_feature_stacks gave some test


def compiles_in_mode(spec: StackSpec, mode, training: bool) -> None:
    """Rejects, in a jit_compile mode, a stack with a layer XLA cannot compile here
    (`xla_blocked`): its call raises in every API alike, so there is nothing to compare. A
    replayed spec skips."""
    blocked = xla_blocked(spec, mode, training)
    if blocked and REPLAY is not None:
        import pytest

        pytest.skip(f"XLA cannot compile {', '.join(blocked)} here (no XLA kernel for an op "
                    f"of its call): not compared under jit_compile=True")
    assume(not blocked)


def xla_blocked(spec: StackSpec, mode, training: bool) -> list[str]:
    """The kinds of the stack XLA refuses in `mode`, each asked where it stands; none outside
    a jit_compile mode. A kind with an `xla` hook (LayerInfo.xla: XLA may refuse its call)
    is asked by that hook where it is the stack's first layer (a model of it alone, cached
    per config); anywhere later what comes before it can decide — Keras 3.15.1's
    Discretization counting modes compile first and after an Activation, not after a Dense
    nor, in training, a Dropout; MaxPool's gradient is refused only where training takes it
    (docs/findings.md, 27) — so the stack up to and with it is compiled (`compiles_up_to`).
    At inference the model predicts; for a training check it also trains a batch. Returns
    the hooked kinds of the first layer refused."""
    if not mode.jit_compile:
        return []
    for i, layer in enumerate(spec.layers):
        hooked = [leaf for leaf in leaves((layer,)) if REGISTRY[leaf.kind].xla is not None]
        if not hooked:
            continue
        if i == 0 and not layer.inner:
            def compiles(t, xla=REGISTRY[layer.kind].xla):
                return xla(layer.params, t)
        else:
            def compiles(t, cut=dataclasses.replace(spec, layers=spec.layers[:i + 1])):
                return compiles_up_to(cut, t)
        if not compiles(False) or training and not compiles(True):
            return sorted({leaf.kind for leaf in hooked})
    return []


def compiles_up_to(spec: StackSpec, training: bool) -> bool:
    """Whether XLA compiles `spec` (a drawn stack cut after a layer XLA may refuse), built as
    the Sequential model the checks build, on its inputs, in a model compiled as the jit
    modes compile (`layers.compiles_with_xla`: predicts, or trains a batch). Cached per
    stack's shapes, layers and policy, and op determinism (the checks run with it on;
    MaxPool's refusal needs it): XLA compiles for shapes, not values, so stacks that differ
    only in their seed share one compile."""
    from tensorflow.python.framework import config as tf_config

    return _compiles_up_to(dataclasses.replace(spec, seed=0), training,
                           tf_config.is_op_determinism_enabled())


@functools.lru_cache(maxsize=512)
def _compiles_up_to(spec: StackSpec, training: bool, deterministic: bool) -> bool:
    from equivalence.builders import build
    from equivalence.data import make_inputs
    from equivalence.layers import compiles_with_xla

    return compiles_with_xla(build(spec, "sequential"), make_inputs(spec), training)


def feature_stack_in_default_mode(spec: StackSpec, mode) -> None:
    """Rejects an explicit stack (feature or family) in the jit and eager modes of a
    training check: compiling the feature stack with XLA costs a minute a check, and one
    mode meets the features and families (Hypothesis skips a rejected explicit example)."""
    # The stacks given at decoration, not explicit_stacks(): family_stacks' Hypothesis
    # `find` inside a test would nest one @given in another.
    assume(spec not in _EXPLICIT or not (mode.jit_compile or mode.run_eagerly))
