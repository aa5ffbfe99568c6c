"""Registry meta-tests: every claim an entry makes about its layer is checked against Keras."""
import contextlib
import dataclasses
import functools
import inspect
import warnings
from pathlib import Path
from random import Random

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, Phase, assume, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from equivalence.builders import build, make_layers, output_shape
from equivalence.data import feedable, make_inputs
from equivalence.layers import REGISTRY, XLA_REFUSAL, LayerInfo, available_kinds, xla_errors
from equivalence.layers.preprocessing import discretization_modes_drawn
from equivalence.layers.tokens import LOOKUP_MODES
from equivalence import compat
from equivalence.portable import APIS, compile_for, stack_layers, targets_for, training_kwargs
from equivalence.spec import InputSpec, LayerSpec, StackSpec, leaves
from equivalence import strategies
from equivalence.strategies import kinds_drawable, stacks

PROBE_INPUTS = {1: InputSpec("vector", (4,)), 2: InputSpec("sequence", (6, 4)),
                3: InputSpec("image", (6, 6, 2)), 4: InputSpec("volume", (4, 4, 4, 2)),
                5: InputSpec("volume_sequence", (3, 3, 3, 3, 1))}
# For kinds that need something else: RGB images, one-channel signals, small volumes.
ALTERNATIVES = {2: (InputSpec("sequence", (6, 1)),), 3: (InputSpec("image", (6, 6, 3)),),
                4: (InputSpec("volume", (3, 3, 2, 1)),)}
TOKENS = InputSpec("tokens", (6,), "int32", 10)
TEXT = (InputSpec("text", (6,), "string", 8), InputSpec("text", (1,), "string", 8))  # words,
# then one sentence a row
KINDS = [k for k in available_kinds() if k != "Nested"]


def probe_input(kind, rank=None):
    """The probe input for `kind` (of `rank`, default its largest) that the kind accepts."""
    info = REGISTRY[kind]
    if info.token_input:
        return TOKENS
    rank = rank or max(info.ranks)
    inputs = TEXT if info.string_input else (PROBE_INPUTS[rank], *ALTERNATIVES.get(rank, ()))
    for inp in inputs:
        if info.accepts(inp.shape):
            return inp
    raise AssertionError(f"{kind} accepts none of the probe inputs of rank {rank}")


def probe(kind, predicate=lambda cfg: True, rank=None):
    """A one-layer spec of `kind` with the simplest config satisfying `predicate`."""
    info = REGISTRY[kind]
    inp = probe_input(kind, rank)
    try:
        cfg = find(info.configs(inp.shape), predicate, settings=settings(database=None))
    except NoSuchExample:
        pytest.skip(f"{kind} has no config with this property")
    if info.vocab_key is not None:
        cfg = {**cfg, info.vocab_key: inp.vocab}
    return StackSpec(inp, (LayerSpec.of(kind, **cfg),), seed=3, batch=8)


@functools.lru_cache(maxsize=None)
def _sample(kind, rank) -> tuple:
    """A fixed sample of `kind`'s configs for the probe input of `rank`: up to 100 drawn
    once (generation only, a fixed seed). It runs at collection, in every xdist worker:
    the seed gives each worker the same cases, and drawing once per kind and rank instead
    of one shrinking search per question took this module's import from 56 s to 10 s (both
    measured with the machine busy), with the same 902 tests collected."""
    drawn = []

    def keep(cfg):
        drawn.append(cfg)
        return False

    try:
        find(REGISTRY[kind].configs(probe_input(kind, rank).shape), keep, random=Random(0),
             settings=settings(database=None, phases=[Phase.generate], max_examples=100))
    except NoSuchExample:
        pass
    return tuple(drawn)


def _some_config(kind, predicate, rank=None) -> bool:
    """Whether some config of `kind` for the probe input of `rank` (default: its largest)
    satisfies `predicate` (asked of `_sample`)."""
    return any(predicate(cfg) for cfg in _sample(kind, rank or max(REGISTRY[kind].ranks)))


@contextlib.contextmanager
def focus(*kinds):
    saved, strategies.FOCUS = strategies.FOCUS, frozenset(kinds)
    try:
        yield
    finally:
        strategies.FOCUS = saved


def only_layer(spec):
    return stack_layers(build(spec, "sequential"))[0]


@pytest.mark.parametrize("kind", KINDS)
def test_claimed_output_shape_is_what_keras_builds(kind):
    spec = probe(kind)
    model = build(spec, "sequential")
    y = model(make_inputs(spec), training=False)
    claimed = REGISTRY[kind].output_shape(spec.input.shape, spec.layers[0].params)
    assert tuple(y.shape[1:]) == claimed
    # and symbolically: Sequential and Functional models build on the symbolic shape
    # (Discretization's and MelSpectrogram's are wrong in some Keras, see their notes)
    assert tuple(model.outputs[0].shape[1:]) == claimed


def _one_per_option(kind) -> list[dict]:
    """Configs of `kind` from `_sample` (its largest rank): the first holding each value of
    each option given as a string (output modes, paddings, ...), so every mode is asked."""
    seen, picked = set(), []
    for cfg in _sample(kind, max(REGISTRY[kind].ranks)):
        new = {(k, v) for k, v in cfg.items() if isinstance(v, str)} - seen
        if new:
            picked.append(cfg)
            seen |= new
    return picked


_SAME_SHAPE = LayerInfo.__dataclass_fields__["output_shape"].default


@pytest.mark.parametrize("kind", [k for k in KINDS if REGISTRY[k].output_shape is not _SAME_SHAPE])
def test_claimed_output_shape_holds_in_every_option(kind):
    # The probe asks the simplest config; a mode can be wrong alone (TextVectorization's
    # counting modes on Keras 3.15.1 are (1, vocabulary) symbolically): one config per value.
    inp = probe_input(kind)
    info = REGISTRY[kind]
    for cfg in _one_per_option(kind):
        if info.vocab_key is not None:
            cfg = {**cfg, info.vocab_key: inp.vocab}
        spec = StackSpec(inp, (LayerSpec.of(kind, **cfg),), seed=3, batch=8)
        model = build(spec, "sequential")
        claimed = info.output_shape(inp.shape, spec.layers[0].params)
        shapes = (tuple(model(make_inputs(spec), training=False).shape[1:]),
                  tuple(model.outputs[0].shape[1:]))
        assert shapes == (claimed, claimed), cfg


@pytest.mark.parametrize("kind", KINDS)
def test_train_differs_flag_is_true(kind):
    spec = probe(kind)
    model, x = build(spec, "sequential"), make_inputs(spec)
    differs = not np.array_equal(np.asarray(model(x, training=True)),
                                 np.asarray(model(x, training=False)),
                                 equal_nan=True)  # STFTSpectrogram's log of a zero frame
    assert differs == REGISTRY[kind].train_differs


@pytest.mark.parametrize("kind", [k for k in KINDS if not REGISTRY[k].token_input
                                  and not REGISTRY[k].string_input])
def test_gradient_flags_match_a_gradient_tape(kind):
    """LayerInfo.stops_gradient (checks.gradient_stopped lets the optimizer's "Gradients do
    not exist" warning pass for it) and gradient_undefined (strategies._trainable_here
    leaves such a stack out of training) are what a tape sees in training mode: no
    gradient reaches the input, or asking for one raises LookupError."""
    spec = probe(kind)
    model, x = build(spec, "sequential"), tf.convert_to_tensor(make_inputs(spec))
    if REGISTRY[kind].stream_out(spec.layers[0].params) != "float":
        pytest.skip(f"{kind} here outputs ids or counts: the next layer takes no gradient")
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(tf.cast(model(x, training=True), "float32"))
    try:
        seen = "none" if tape.gradient(y, x) is None else "passes"
    except LookupError as exc:
        assert "gradient" in str(exc), exc
        seen = "undefined"
    claim = REGISTRY[kind]
    assert seen == ("undefined" if claim.gradient_undefined
                    else "none" if claim.stops_gradient else "passes")


@pytest.mark.parametrize("kind", KINDS)
def test_stateful_flag_matches_non_trainable_weights(kind):
    assert bool(only_layer(probe(kind)).non_trainable_weights) == REGISTRY[kind].stateful


@pytest.mark.parametrize("kind", KINDS)
def test_masking_claim_matches_supports_masking(kind):
    # "none": the kind neither supports masking nor takes a mask in call, so the strategy
    # never puts it after a mask. (Keras 3.16.dev RNNs take the mask without supporting it.)
    layer = only_layer(probe(kind))
    takes_mask = layer.supports_masking or "mask" in inspect.signature(layer.call).parameters
    # A kind that `destroys_mask` takes one without supporting masking: Keras destroys it
    # (a UserWarning, an error here) and nothing downstream sees it: its claim is "none".
    if REGISTRY[kind].destroys_mask and takes_mask and not layer.supports_masking:
        import warnings

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            spec = probe(kind)
            x = compat.keras.Input(spec.input.shape)
            masked = compat.keras.layers.Masking(0.0)(x)
            out = only_layer(spec)(masked)
        assert any("destroy the mask" in str(w.message) for w in caught), \
            f"{kind} no longer says it destroys a mask: ask whether it keeps one now"
        assert getattr(out, "_keras_mask", None) is None
        takes_mask = False
    assert takes_mask == (REGISTRY[kind].mask({}) != "none")


def _mask_cases():
    for kind in KINDS:
        info = REGISTRY[kind]
        if info.token_input or 2 not in info.ranks or not info.mask_ok or info.mask({}) == "none":
            continue
        for mode in ("passes", "consumes"):
            if _some_config(kind, lambda cfg, mode=mode: info.mask(cfg) == mode, rank=2):
                yield kind, mode


@pytest.mark.parametrize("kind, mode", list(_mask_cases()))
def test_mask_mode_claim_matches_the_output_mask(kind, mode):
    # What the strategy and the known entries rely on: a mask reaching the kind is handed on
    # ("passes") or not ("consumes"), asked of the running Keras.
    cfg = probe(kind, lambda cfg: REGISTRY[kind].mask(cfg) == mode, rank=2).layers[0].params
    spec = StackSpec(TOKENS, (LayerSpec.of("Embedding", input_dim=TOKENS.vocab,
                                           output_dim=PROBE_INPUTS[2].shape[-1], mask_zero=True),
                              LayerSpec.of(kind, **cfg)), seed=3, batch=8)
    y = build(spec, "sequential")(make_inputs(spec), training=False)
    assert (getattr(y, "_keras_mask", None) is not None) == (mode == "passes")


@pytest.mark.parametrize("kind", [k for k in KINDS if "produces" in
                                  (REGISTRY[k].mask({}), REGISTRY[k].mask({"mask_zero": True}))])
def test_mask_producers_attach_a_mask(kind):
    spec = probe(kind, lambda cfg: REGISTRY[kind].mask(cfg) == "produces")
    y = build(spec, "sequential")(make_inputs(spec), training=False)
    mask = getattr(y, "_keras_mask", None)
    assert mask is not None and not np.asarray(mask).all()  # real padding is masked


def _loss_cases():
    for kind in KINDS:
        for wanted in (True, False):  # only the claims some config of the kind makes
            if _some_config(kind, lambda cfg, w=wanted: REGISTRY[kind].adds_loss(cfg) == w):
                yield kind, wanted


@pytest.mark.parametrize("kind, wanted", list(_loss_cases()))
def test_adds_loss_flag_matches_model_losses(kind, wanted):
    spec = probe(kind, lambda cfg: REGISTRY[kind].adds_loss(cfg) == wanted)
    model = build(spec, "sequential")
    model(make_inputs(spec), training=False)
    assert bool(model.losses) == wanted


@pytest.mark.parametrize("kind", [k for k in KINDS
                                  if _some_config(k, lambda cfg, k=k: REGISTRY[k].float32_only(cfg))])
def test_float32_only_configs_fail_under_a_mixed_policy(kind):
    # The claim that makes the strategy pin a layer to float32 must be true: unpinned, it
    # fails under a mixed policy.
    spec = dataclasses.replace(probe(kind, REGISTRY[kind].float32_only), policy="mixed_float16")
    with pytest.raises(Exception):  # noqa: B017 - TF's InvalidArgumentError, in any form
        model, x = build(spec, "sequential"), make_inputs(spec)
        model(x, training=False)
        model(x, training=True)  # SpectralNormalization's Svd runs in training only


@pytest.mark.parametrize("kind", KINDS)
def test_seeded_flag_matches_a_seed_in_the_config(kind):
    assert ("seed" in probe(kind).layers[0].params) == REGISTRY[kind].seeded


def test_every_available_kind_is_drawn():
    # In a plain run, every family of layers and of inputs is drawn: none is starved...
    seen, inputs = set(), set()

    # 1000 draws, not 400: on Keras 3.3.3 (tf216) Hypothesis 6.170.27's derandomized draws
    # for this test met no attention layer in 400 (stop 39, failing at stop 38's code too),
    # though other seeds draw one stack in 16-20 with one: its draw order clusters.
    @settings(max_examples=1000, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(spec=stacks())
    def collect(spec):
        seen.update(spec.kinds())
        inputs.add(spec.input.family)

    with focus():  # a plain run also where this one is focused (--parity-kinds)
        collect()
        assert inputs == set(strategies.focus_families())
    assert {REGISTRY[k].family for k in seen} \
        == {REGISTRY[k].family for k in kinds_drawable()}
    # ...and every kind where the run is spent on it (--parity-kinds): a stack starts with
    # it. The first example is enough (no shrinking: it was 3.6 s a kind, 0.03 s without).
    for kind in sorted(kinds_drawable()):
        with focus(kind):
            spec = find(stacks(), lambda spec: True,
                        settings=settings(database=None, phases=[Phase.generate],
                                          suppress_health_check=list(HealthCheck)))
        assert spec.layers[0].kind == kind


@pytest.mark.slow
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(spec=stacks())
def test_drawn_stacks_build_in_all_three_apis(spec):
    # Under --hypothesis-profile=nightly this builds hundreds of stacks; an invalid spec
    # raises here, inside Keras, with the spec printed by Hypothesis.
    for api in ("sequential", "functional", "subclassed"):
        model = build(spec, api)
        assert tuple(model(make_inputs(spec), training=False).shape[1:]) == output_shape(spec)


def test_layers_are_named_by_position_so_every_api_names_them_alike():
    spec = probe("Dense")
    names = [layer.name for layer in make_layers(spec.layers, spec.input.shape)]
    assert names == ["l0_dense"]


@pytest.mark.skipif(compat.IS_KERAS3, reason="Keras 3 runs train_on_batch with "
                                             "steps_per_execution=2: the strategy draws it")
def test_keras2_train_on_batch_with_two_steps_per_execution_raises_in_every_api():
    # Why the batch-method test draws steps_per_execution=1 only on Keras 2
    # (strategies.training_cases): it raises alike in every API, nothing to compare. When
    # Keras 2 stops raising, this fails and the strategy can draw 2 again.
    import tensorflow as tf

    spec = StackSpec(InputSpec("vector", (2,)), (LayerSpec.of("Dense", units=1),))
    x = make_inputs(spec)
    for api in APIS:
        model = compile_for(build(spec, api), False, False,
                            **training_kwargs("sgd_momentum", "mse", 2))
        with pytest.raises(tf.errors.OutOfRangeError, match="End of sequence"):
            model.train_on_batch(x, targets_for(model, x))


@pytest.mark.skipif("Lambda" not in KINDS, reason="Lambda is not drawn on this Keras yet")
def test_a_lambda_is_refused_in_safe_mode_by_every_api(tmp_path):
    # The keras_file check compares the three APIs' loads: a Lambda's Python lambda must be
    # refused in safe mode (Keras' default) by every one of them, not merely alike.
    spec = probe("Lambda")
    for api in APIS:
        path = str(tmp_path / f"{api}.keras")
        build(spec, api).save(path)
        with pytest.raises(ValueError, match="safe_mode"):
            compat.keras.models.load_model(path, safe_mode=True)


@pytest.mark.parametrize("kind", KINDS)
def test_stream_claim_matches_the_output_dtype(kind):
    # What a kind claims to output decides what may follow it: floats go on to any layer,
    # ids ("int") to a layer that takes ids, integer counts ("counts") to Dense only.
    info = REGISTRY[kind]
    modes = [m for m in LOOKUP_MODES if _some_config(kind, lambda c: c.get("output_mode") == m)]
    for mode in modes or [None]:
        spec = probe(kind, lambda c: mode is None or c.get("output_mode") == mode)
        stream = info.stream_out(spec.layers[0].params)
        y = build(spec, "sequential")(make_inputs(spec), training=False)
        assert y.dtype.is_floating == (stream == "float"), \
            f"{kind} {mode}: {y.dtype.name} but claims {stream}"


@pytest.mark.parametrize("kind", [k for k in KINDS if REGISTRY[k].floor is not None])
@settings(max_examples=6, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_floor_hook_computes_what_the_layer_computes(kind, data):
    # The benchmark floor times a kind's math as plain TensorFlow (its `floor` hook); a
    # floor that computed something else would make every "overhead over the floor" figure
    # wrong. Not bitwise: the floor is other arithmetic (tensordot for a matmul, an
    # unrolled scan for the recurrent loop), held to the benchmark's rtol=1e-5; atol=1e-5
    # because a LayerNormalization row of near-equal values has a variance that is a
    # difference of near-equal numbers, computed in another order than Keras' moments
    # (2e-6 apart on an output of order 1, seen on Keras 3.13.2).
    inp = probe_input(kind)
    cfg = data.draw(REGISTRY[kind].configs(inp.shape), label="config")
    if REGISTRY[kind].vocab_key is not None:
        cfg = {**cfg, REGISTRY[kind].vocab_key: inp.vocab}
    spec = StackSpec(inp, (LayerSpec.of(kind, **cfg),), seed=3, batch=8)
    model = build(spec, "sequential")
    step = REGISTRY[kind].floor(cfg, stack_layers(model)[0], tf.constant)
    assume(step is not None)  # a config the floor does not compute: no floor, not a wrong one
    x = make_inputs(spec)
    np.testing.assert_allclose(step(tf.constant(x), None)[0], model(x, training=False),
                               rtol=1e-5, atol=1e-5)


def test_the_onednn_matmul_gate_matches_what_dense_does_here():
    # compat.onednn_matmul_corrupts keeps Dense off a rank-4 input with a size-1 dimension
    # where TensorFlow's oneDNN batch matmul corrupts the heap (tensorflow/tensorflow#117700).
    # Asked of a fresh process (the bug aborts it): where the gate is on, Dense must still
    # crash (fixed? end its range); where it is off, Dense must run that shape.
    import subprocess
    import sys

    shape = (1, 4, 2)
    code = ("import numpy as np\n"
            "from equivalence.compat import keras\n"
            "dense = keras.layers.Dense(2)\n"
            f"x = np.random.default_rng(0).normal(size=(8, *{shape!r})).astype('float32')\n"
            "for _ in range(300):\n"
            "    dense(x)\n"
            "print('survived')\n")
    try:
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=str(Path(__file__).parents[1]),
                             timeout=120)
        crashed, why = run.returncode != 0 and "survived" not in run.stdout, run.stderr[-2000:]
    except subprocess.TimeoutExpired:
        # 300 calls of a tiny Dense take a second or two: a process that has not ended in
        # two minutes hangs on its corrupted heap (seen on TF 2.19 under load).
        crashed, why = True, "hung"
    assert crashed == compat.onednn_matmul_corrupts(shape), why


_JIT_ONCE = """
import sys, warnings
import tensorflow as tf
tf.config.experimental.enable_op_determinism()  # as the suite runs its checks
from equivalence.builders import build
from equivalence.data import feedable, make_inputs
from equivalence.layers import XLA_REFUSAL, xla_errors
from equivalence.portable import compile_for, targets_for
from equivalence.spec import StackSpec
spec, training = StackSpec.from_json(sys.argv[1]), sys.argv[2] == "1"
model = compile_for(build(spec, "sequential"), True, False, optimizer="sgd", loss="mse")
x = feedable(make_inputs(spec))
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if training:
            model.train_on_batch(x, targets_for(model, x))
        else:
            model.predict(x, verbose=0)
    print("compiled")
except xla_errors() as exc:
    print("refused" if XLA_REFUSAL.search(str(exc)) else "other: " + str(exc)[:300])
"""


def _jit_outcome_in_a_fresh_process(spec, training: bool) -> bool:
    """Whether a jit-compiled model of `spec` predicts (trains a batch) in a new process:
    True, False where XLA refuses it; anything else fails the test."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", _JIT_ONCE, spec.to_json(), str(int(training))],
                         capture_output=True, text=True, timeout=600,
                         cwd=Path(__file__).resolve().parents[1])
    last = run.stdout.strip().splitlines()[-1:] or [""]
    assert run.returncode == 0 and last[0] in ("compiled", "refused"), \
        (run.returncode, run.stdout[-500:], run.stderr[-1500:])
    return last[0] == "compiled"


@pytest.mark.parametrize("kind", [k for k in KINDS if REGISTRY[k].xla is not None])
def test_xla_claim_matches_what_a_jit_compiled_model_does(kind):
    # LayerInfo.xla says whether XLA compiles the kind's call here in a config (the jit
    # modes draw it only where it does): a model of it compiled with jit_compile=True must
    # predict (at inference) and train one batch (in training) exactly where the claim says
    # so — asked in one config of each claim among one config per option value (a lookup's
    # output modes can differ; an augmentation's options do not: one compile, not four).
    info = REGISTRY[kind]
    inp = probe_input(kind)
    asked = set()
    for cfg in _one_per_option(kind) or [probe(kind).layers[0].params]:
        if info.vocab_key is not None:
            cfg = {**cfg, info.vocab_key: inp.vocab}
        claim = {t: info.xla(cfg, t) for t in (False, True)}
        if tuple(claim.values()) in asked:
            continue
        asked.add(tuple(claim.values()))
        spec = strategies._with_dense_head(StackSpec(inp, (LayerSpec.of(kind, **cfg),),
                                                     seed=3, batch=8))
        if not compat.IS_KERAS3 and inp.dtype == "string":
            # A refused compile can make TF 2.21's next string compile abort the process
            # (tensorflow/tensorflow#120244): one fresh process per compile.
            assert {t: _jit_outcome_in_a_fresh_process(spec, t) for t in (False, True)} \
                == claim, cfg
            continue
        outcomes = {}
        for training in (False, True):
            model = compile_for(build(spec, "sequential"), True, False, optimizer="sgd",
                                loss="mse")
            x = feedable(make_inputs(spec))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # Keras 3 turning jit off, saying so
                    if training:
                        model.train_on_batch(x, targets_for(model, x))
                    else:
                        model.predict(x, verbose=0)
                outcomes[training] = True
            except xla_errors() as exc:
                assert XLA_REFUSAL.search(str(exc)), str(exc)[:500]
                outcomes[training] = False
        assert outcomes == claim, cfg


_POOL = LayerSpec.of("MaxPooling1D", pool_size=2, strides=1, padding="valid")
# A counting mode drawn here (Keras 2 draws multi_hot only: its symbolic shapes)
_COUNT = LayerSpec.of("Discretization", bin_boundaries=(0.0,), output_mode=next(
    (m for m in ("count", "multi_hot") if m in discretization_modes_drawn()), "count"))
_SEQUENCE, _VECTOR = InputSpec("sequence", (5, 3)), InputSpec("vector", (3,))
_WHERE = {  # a kind XLA may refuse, in the positions a stack draws it in
    "pooling first": (_SEQUENCE, (_POOL,)),
    "pooling after a Dropout": (_SEQUENCE, (LayerSpec.of("Dropout", rate=0.5, seed=1), _POOL)),
    "pooling after a Dense": (_SEQUENCE, (LayerSpec.of("Dense", units=3), _POOL)),
    "pooling nested, after a Dense": (_SEQUENCE, (LayerSpec.of("Dense", units=3), LayerSpec.of(
        "Nested", api="subclassed", layers=(_POOL,)))),
    "counts first": (_VECTOR, (_COUNT,)),
    "counts after an Activation": (_VECTOR, (LayerSpec.of("Activation", activation="relu"),
                                             _COUNT)),
    "counts after a Dropout": (_VECTOR, (LayerSpec.of("Dropout", rate=0.5, seed=1), _COUNT)),
    "counts after a Dense": (_VECTOR, (LayerSpec.of("Dense", units=3), _COUNT)),
}


@pytest.mark.parametrize("training", [False, True], ids=["predict", "train_steps"])
@pytest.mark.parametrize("case", list(_WHERE))
def test_a_jit_mode_leaves_out_a_stack_exactly_where_xla_refuses_it(case, training):
    # What comes before a kind can decide whether XLA compiles it (MaxPool's gradient under
    # op determinism after weights; Discretization's counting modes after a Dense or a
    # training Dropout on Keras 3.15.1: docs/findings.md, 27). A jit mode must leave a stack
    # out (strategies.xla_blocked) exactly where the check itself meets XLA's refusal, and
    # draw, and pass, it everywhere else: asked of a real check in each position.
    from equivalence.checks import DEFAULT_MODE, verify

    inp, layers = _WHERE[case]
    if not all(REGISTRY[leaf.kind].available for leaf in leaves(layers)):
        pytest.skip(f"{case}: a kind of it is not drawn in Keras {compat.KERAS_VERSION}")
    spec = strategies._with_dense_head(StackSpec(inp, layers, seed=3, batch=4))
    mode = dataclasses.replace(DEFAULT_MODE, jit_compile=True)
    check = "train_steps" if training else "predict"
    if training:
        mode = mode.training("sgd_momentum", "mse")
    blocked = strategies.xla_blocked(spec, mode, training)
    with contextlib.ExitStack() as stack:
        if blocked:
            stack.enter_context(pytest.raises(xla_errors(), match=XLA_REFUSAL.pattern))
        verify(check, spec, mode)


ADAPTIVE = [k for k in KINDS if k.startswith("Adaptive")]


@pytest.mark.parametrize("kind", ADAPTIVE or [pytest.param(None, marks=pytest.mark.skip(
    reason="this Keras has no adaptive pooling"))])
def test_adaptive_pooling_sizes_claim_matches_a_predict(kind):
    # The strategies draw an adaptive pooling's output sizes from those its own class
    # computes in a graph (conv._sizes_in_graphs): on a cube of side n, predict must run
    # for each claimed size and refuse each other one, in this kind's own dimensions (a
    # 1D probe once spoke for 3D, where keras-nightly still refused size 1).
    from equivalence.layers.conv import _sizes_in_graphs

    spatial = max(REGISTRY[kind].ranks) - 1
    cls = getattr(compat.keras.layers, kind)
    for n in (2, 3):
        ran = []
        for size in range(1, n + 1):
            model = compat.keras.Sequential([compat.keras.Input((n,) * spatial + (1,)),
                                             cls(size if spatial == 1 else (size,) * spatial)])
            try:
                model.predict(np.ones((2,) + (n,) * spatial + (1,), "float32"), verbose=0)
                ran.append(size)
            except (ValueError, tf.errors.InvalidArgumentError):
                pass
        assert tuple(ran) == _sizes_in_graphs(kind, spatial, n), (kind, n, ran)


@pytest.mark.parametrize("kind", [k for k in KINDS if REGISTRY[k].string_input])
def test_a_config_not_drawn_here_is_not_drawn_and_a_spec_of_it_is_refused(kind):
    # LayerInfo.not_drawn: the kind's configs never hold such a config here, and a spec
    # that does (a known entry's example, a replay) is refused by validate, with the reason.
    from equivalence.builders import validate
    from equivalence.spec import SpecError

    info = REGISTRY[kind]
    assert not [cfg for cfg in _sample(kind, max(info.ranks)) if info.not_drawn(cfg)]
    adapted = {"max_tokens": 4, "adapt_on": 0, "output_mode": "multi_hot"}
    spec = StackSpec(TEXT[1], (LayerSpec.of(kind, **adapted),))
    if kind != "TextVectorization" or compat.IS_KERAS3:
        assert not info.not_drawn(adapted)
        return
    with pytest.raises(SpecError, match="not a variable"):
        validate(spec)


def test_a_kind_not_yet_run_here_is_drawn_only_where_parity_kinds_names_it(monkeypatch):
    # A new kind waits in NOT_YET_RUN until its focused run has passed on a Keras version;
    # naming it in --parity-kinds is that run, so it opens the gate (docs/extending.md).
    from equivalence import layers

    monkeypatch.setitem(layers.NOT_YET_RUN, "GaussianNoise", frozenset())
    assert not REGISTRY["GaussianNoise"].available
    assert "GaussianNoise" not in kinds_drawable()
    try:
        assert strategies.parse_kinds("GaussianNoise,Dense") == {"GaussianNoise", "Dense"}
        assert REGISTRY["GaussianNoise"].available
    finally:
        layers.OPENED.discard("GaussianNoise")
    assert not REGISTRY["GaussianNoise"].available


@pytest.mark.parametrize("verified, drawn", [
    ({compat.KERAS_VERSION}, True),  # this very version
    ({compat.KERAS_VERSION + "1"}, False),  # another (3.1 is not 3.13)
    ({".".join(compat.KERAS_VERSION.split(".")[:2]) + ".*"}, True),  # a pattern of it
    ({"0.0.*"}, False),  # a pattern of others
])
def test_not_yet_run_names_versions_or_patterns_of_them(monkeypatch, verified, drawn):
    # NOT_YET_RUN's versions are fnmatch patterns, so that every keras-nightly build towards
    # a release ("3.16.0.dev*") can be named once its focused run has passed: a pattern
    # draws the kind where it matches, and nowhere else.
    from equivalence import layers

    monkeypatch.setitem(layers.NOT_YET_RUN, "GaussianNoise", frozenset(verified))
    assert REGISTRY["GaussianNoise"].available == drawn
    assert ("GaussianNoise" in kinds_drawable()) == drawn


_STOPPERS = {  # a kind no gradient passes, on the input it is drawn on
    "Discretization": (_VECTOR, _COUNT, ()),
    "RandomHue": (InputSpec("image", (4, 4, 3)),
                  LayerSpec.of("RandomHue", factor=0.2, seed=2),
                  (LayerSpec.of("Flatten"),)),
}


@pytest.mark.parametrize("check", ["train_steps", "fit", "resume", "gradients"])
@pytest.mark.parametrize("before", ["Dense", "Dropout"])
@pytest.mark.parametrize("stopper", list(_STOPPERS))
def test_weights_no_gradient_reaches_still_train_alike_and_are_compared(stopper, before,
                                                                         check):
    # No gradient passes a Discretization or, in training, a RandomHue
    # (LayerInfo.stops_gradient): a Dense before it is left untouched by training in every
    # API, and Keras 3 warns that it gets no gradient, which warnings-as-errors made an
    # abort of the check (docs/findings.md, 27). The check lets that warning pass for such
    # a stack and compares what training did — nothing to the Dense, something to the
    # head. Run for real (no XLA), before a Dense and a Dropout.
    from equivalence.checks import DEFAULT_MODE, gradient_stopped, verify

    if not REGISTRY[stopper].available:
        pytest.skip(f"{stopper} is not drawn in Keras {compat.KERAS_VERSION}")
    inp, stop, between = _STOPPERS[stopper]
    layer = (LayerSpec.of("Dense", units=3) if before == "Dense"
             else LayerSpec.of("Dropout", rate=0.5, seed=1))
    spec = StackSpec(inp, (layer, stop, *between, LayerSpec.of("Dense", units=2)), seed=3,
                     batch=4)
    assert gradient_stopped(spec)
    verify(check, spec, DEFAULT_MODE.training("sgd_momentum", "mse")
           if check != "gradients" else DEFAULT_MODE)


@pytest.mark.parametrize("kind", [k for k in KINDS if REGISTRY[k].gradient_undefined] or [
    pytest.param(None, marks=pytest.mark.skip(reason="every kind here has a gradient"))])
def test_training_through_a_layer_without_a_gradient_raises_so_it_is_not_drawn(kind):
    # Keras 2's RandomContrast: fit raises LookupError (no gradient for AdjustContrastv2)
    # when weights before it train, which leaves such a stack nothing to compare.
    spec = StackSpec(InputSpec("image", (4, 4, 3)),
                     (LayerSpec.of("Dense", units=3), probe(kind).layers[0],
                      LayerSpec.of("Flatten"), LayerSpec.of("Dense", units=2)), seed=3,
                     batch=4)
    assert not strategies._trainable_here(spec)
    assert strategies._trainable_here(dataclasses.replace(spec, layers=spec.layers[1:]))
    model = build(spec, "sequential")
    model.compile(optimizer="sgd", loss="mse")
    x = make_inputs(spec)
    with pytest.raises(Exception) as raised:  # graph mode wraps it (autograph's StagingError)
        model.fit(x, np.zeros((len(x), 2), "float32"), verbose=0)
    assert "LookupError: gradient registry has no entry for" in str(raised.value) or (
        isinstance(raised.value, LookupError)), raised.value
