"""Known upstream discrepancies, each matched by its cause.

An entry names a cause and how to recognise it (`causes.Raises`, `causes.Repair` or
`causes.Workaround`), the checks and APIs its cause reaches, the Keras (and TF) versions
where its example reproduces (first and last, inclusive; None for an open end) and its
smallest example. `explain` tolerates a difference only where an applicable entry's cause
is shown to be at work; any other difference is a discrepancy, even where an entry applies.
`equivalence/test_known.py` runs each example as a strict xfail, so the day upstream fixes
it the suite says so.
"""
from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from typing import Callable

from equivalence import causes, compat
from equivalence.causes import Raises, Repair, SelfDisagrees, Workaround
from equivalence.compare import ERROR
from equivalence.portable import APIS
from equivalence.spec import InputSpec, LayerSpec, StackSpec, leaves

OUTPUT_CHECKS = ("predict", "predict_on_batch", "call", "training_calls")
# Training checks that compare each API with Sequential (resume compares inside an API).
TRAINING_CHECKS = ("fit", "train_steps", "gradients")
SAVING_CHECKS = ("keras_file", "config", "legacy_h5")
Range = tuple[str | None, str | None]


def within(version: str, bounds: Range) -> bool:
    low, high = bounds
    v = compat.version_triple(version)
    return (low is None or compat.version_triple(low) <= v) and \
        (high is None or v <= compat.version_triple(high))


def _always(spec: StackSpec) -> bool:
    return True


@dataclass(frozen=True)
class Known:
    name: str
    cause: str
    upstream: str | None  # "owner/repo#N"; None: searched, none found
    where: str  # where in the code the cause sits
    recognise: Raises | Repair | Workaround | SelfDisagrees
    checks: tuple[str, ...]
    apis: tuple[str, ...]  # the APIs whose observation differs
    keras: Range  # first and last Keras versions where the example reproduces
    example: StackSpec
    applies: Callable[[StackSpec], bool] = _always  # a cheap filter; the cause decides
    tf: Range = (None, None)
    overlaps: tuple[str, ...] = ()  # entries whose causes may act in the same cell
    # (check, APIs) pairs where the cause reaches other APIs than `apis`.
    apis_for: tuple[tuple[str, tuple[str, ...]], ...] = ()
    jit_only: bool = False  # the cause acts under jit_compile only (its example runs so)
    # Why the cells the example shows in depend on the machine (a last-bit rounding that
    # the CPU's vector width decides): then each cell may not show, but one must.
    machine_dependent: str = ""

    def cells(self) -> list[tuple[str, str]]:
        """The (check, api) pairs where the cause shows, found by running the example."""
        other = dict(self.apis_for)
        return [(check, api) for check in self.checks for api in other.get(check, self.apis)]

    @property
    def reference(self) -> str:
        return f"{self.upstream or 'no upstream issue found'}; {self.where}"

    def in_range(self, keras_version: str = compat.KERAS_VERSION,
                 tf_version: str = compat.TF_VERSION) -> bool:
        return within(keras_version, self.keras) and within(tf_version, self.tf)

    def short(self) -> str:
        """One line for pytest's xfail report; the full text is in the summary file."""
        return f"{self.name}: {self.upstream or 'no upstream issue found'}"


@functools.lru_cache(maxsize=None)
def does_not_autocast(layer: LayerSpec) -> bool:
    """Whether the running Keras builds this layer with its input autocast turned off, so it
    computes in its input's dtype (Keras 3: LayerNormalization, Embedding; GroupNormalization
    from 3.15). Asked of the layer itself, not of a list that ages with every release."""
    from equivalence.layers import REGISTRY

    built = REGISTRY[layer.kind].build(layer.params, "probe", layer.dtype)
    return not getattr(built, "autocast", getattr(built, "_autocast", True))


def _several_leaves(spec: StackSpec) -> bool:
    """Two layers or more, nested ones counted: one may hold state before another's
    trainable weights."""
    return len(leaves(spec.layers)) > 1


def _mixed_first_layer_float32(spec: StackSpec) -> bool:
    first = leaves(spec.layers)[0]
    return (spec.policy != "float32" and spec.input.dtype != "int32"
            and (first.dtype == "float32" or does_not_autocast(first)))


def _masked_layer_pinned(spec: StackSpec) -> bool:
    """A masked stream crosses a dtype boundary: a layer pinned to float32 receives a mask
    from a mixed-policy layer, or a mixed-policy layer receives one from a pinned layer
    (Embedding(mask_zero=True, dtype="float32") → GlobalAveragePooling1D), or a nested
    model (its Sequential and Functional forms take float32 Inputs) receives one from a
    mixed-policy layer: either way the receiving layer's input is cast."""
    return _masked_stream_cast(spec, nested_only=False)


def _masked_into_nested(spec: StackSpec) -> bool:
    """Under a mixed policy a nested model (its Sequential and Functional forms take
    float32 Inputs) receives a mask from a mixed-policy layer."""
    return _masked_stream_cast(spec, nested_only=True)


def _masked_stream_cast(spec: StackSpec, nested_only: bool) -> bool:
    from equivalence.layers import REGISTRY, masked_after

    if spec.policy == "float32":
        return False
    masked, pinned_before = False, None
    for layer in spec.layers:
        pinned = layer.dtype == "float32"
        into_nested = bool(layer.inner) and not pinned and not pinned_before
        if masked and (into_nested or (not nested_only and pinned != pinned_before)):
            return True
        masked = masked_after(REGISTRY[layer.kind].mask(layer.params), masked)
        pinned_before = pinned
    return False


_ONE_DENSE = StackSpec(InputSpec("vector", (2,)), (LayerSpec.of("Dense", units=1),))


def _nested(api: str) -> Callable[[StackSpec], bool]:
    """Whether a top-level nested stack of this API is in the stack."""
    return lambda spec: any(layer.inner and layer.params["api"] == api
                            for layer in spec.layers)


def _holds(kind: str) -> Callable[[StackSpec], bool]:
    """Whether a layer of `kind` is anywhere in the stack."""
    return lambda spec: kind in spec.kinds()


def _followed(kind: str) -> Callable[[StackSpec], bool]:
    """Whether a layer of `kind` is called before another layer (in call order, nested
    stacks' layers in their place)."""
    return lambda spec: any(leaf.kind == kind for leaf in leaves(spec.layers)[:-1])


def _adapted_normalization(features: int, policy: str = "float32") -> StackSpec:
    """One Normalization adapted on a seeded sample, on a vector of `features`."""
    return StackSpec(InputSpec("vector", (features,)),
                     (LayerSpec.of("Normalization", invert=False, adapt_on=((features,), 0)),),
                     policy=policy)


def _normalization_nested(spec: StackSpec) -> bool:
    """A Normalization inside a nested stack (at any depth)."""
    return any(layer.inner and "Normalization" in {leaf.kind for leaf in leaves(layer.inner)}
               for layer in spec.layers)


def _any_nested(spec: StackSpec) -> bool:
    return any(layer.inner for layer in spec.layers)


def _mixed(spec: StackSpec) -> bool:
    return spec.policy != "float32"


def _mixed_nested_sequential(spec: StackSpec) -> bool:
    """A mixed policy and a nested model that is Sequential in some API (api "sequential",
    or "same" inside the Sequential outer model)."""
    return _mixed(spec) and (_nested("sequential")(spec) or _nested("same")(spec))


def _mixed_spatial_dropout(spec: StackSpec) -> bool:
    return _mixed(spec) and any(kind.startswith("SpatialDropout") for kind in spec.kinds())


def _mixed_counting_discretization(spec: StackSpec) -> bool:
    """A mixed policy and a Discretization whose output is in the compute dtype (a
    counting mode: "int" gives int32 ids whatever the policy)."""
    return _mixed(spec) and any(leaf.kind == "Discretization"
                                and leaf.params.get("output_mode", "int") != "int"
                                for leaf in leaves(spec.layers))


def _not_float32_input(spec: StackSpec) -> bool:
    """The subclassed serving signature (float in the compute dtype) differs from the data:
    integer or string inputs, or float32 inputs under a mixed policy."""
    return spec.input.dtype != "float32" or spec.policy != "float32"


def _mixed_float_input(spec: StackSpec) -> bool:
    return spec.policy != "float32" and spec.input.dtype != "int32"


def _makes_mask(spec: StackSpec) -> bool:
    """A top-level layer computes a mask with ops from its input — Embedding or
    ReversibleEmbedding(mask_zero=True), Masking: the registry says it produces one."""
    from equivalence.layers import REGISTRY

    return any(REGISTRY[layer.kind].mask(layer.params) == "produces" and not layer.inner
               for layer in spec.layers)


def _regularization_losses(spec: StackSpec) -> bool:
    """Two or more layers (nested ones too) with a regularizer: a sum of losses."""
    from equivalence.layers import REGISTRY

    return sum(REGISTRY[leaf.kind].adds_loss(leaf.params) for leaf in leaves(spec.layers)) >= 2


def _trains_by_default(spec: StackSpec) -> bool:
    """A layer (nested ones too) whose Keras class's `call` defaults to training=True, as
    Keras 3's augmentation layers do: called with `training` unset, it augments."""
    from equivalence.layers import REGISTRY

    return any(_defaults_to_training(kind) for kind in {leaf.kind for leaf in
                                                       leaves(spec.layers)}
               if REGISTRY[kind].cls is None)


@functools.cache
def _defaults_to_training(kind: str) -> bool:
    import inspect

    from equivalence.layers import REGISTRY

    info = REGISTRY[kind]
    for name in (info.class_name or kind, *info.covers):
        cls = getattr(compat.keras.layers, name, None)
        training = (inspect.signature(cls.call).parameters.get("training")
                    if cls is not None else None)
        if training is not None and training.default is True:
            return True
    return False


def _holds_table(spec: StackSpec) -> bool:
    """A layer holding a TF lookup table (a resource that is no variable), asked of the
    built layer: IntegerLookup, StringLookup, TextVectorization's inner lookup."""
    return any(_table_in(leaf) for leaf in leaves(spec.layers))


def _mixed_discarded_dtype(spec: StackSpec) -> bool:
    """A mixed policy and a layer that discards the `dtype` it is given, asked of the
    layer built with one (Keras 3's index lookups)."""
    return _mixed(spec) and any(_ignores_dtype_argument(leaf) for leaf in leaves(spec.layers))


def _probe(leaf: LayerSpec, dtype: str | None = None):
    from equivalence.layers import REGISTRY

    try:
        return REGISTRY[leaf.kind].build(leaf.params, "probe", dtype)
    except Exception:  # noqa: BLE001 - a layer that cannot be built alone shows nothing
        return None


@functools.cache
def _table_in(leaf: LayerSpec) -> bool:
    def holds(obj, depth: int) -> bool:
        for value in vars(obj).values():
            if hasattr(value, "resource_handle") and not hasattr(value, "assign"):
                return True
            if depth and isinstance(value, compat.keras.layers.Layer) and holds(value, depth - 1):
                return True
        return False

    layer = _probe(leaf)
    return layer is not None and holds(layer, 2)


@functools.cache
def _ignores_dtype_argument(leaf: LayerSpec) -> bool:
    """Built with dtype="mixed_float16", the layer has another policy (asked of a spec;
    causes._discards_dtype asks the same of a saved config)."""
    layer = _probe(leaf, "mixed_float16")
    return layer is not None and layer.dtype_policy.name != "mixed_float16"


def _augmentation(spec: StackSpec) -> bool:
    """A layer of the registry's augmentation family (nested ones too)."""
    from equivalence.layers import REGISTRY

    return any(REGISTRY[leaf.kind].family == "augmentation" for leaf in leaves(spec.layers))


def _activity_regularized(spec: StackSpec) -> bool:
    """A layer (nested ones too) constructed with an activity regularizer."""
    return any(leaf.params.get("activity_regularizer") for leaf in leaves(spec.layers))


def _adapted_vectorization(spec: StackSpec) -> bool:
    """A TextVectorization adapted on a sample (its vocabulary not in its config)."""
    return any(leaf.kind == "TextVectorization" and "adapt_on" in leaf.params
               for leaf in leaves(spec.layers))


def _elu_or_selu(spec: StackSpec) -> bool:
    """An ELU layer, or an elu or selu activation (nested layers too)."""
    return any(leaf.kind == "ELU" or leaf.params.get("activation") in ("elu", "selu")
               for leaf in leaves(spec.layers))


def _seeded_noise(spec: StackSpec) -> bool:
    from equivalence.layers import REGISTRY

    return any(REGISTRY[kind].seeded for kind in spec.kinds())


# A stack whose first layer is a nested subclassed model (two entries, one per Keras major).
_HOLDS_SUBCLASSED = StackSpec(InputSpec("vector", (2,)),
                              (LayerSpec.of("Nested", api="subclassed",
                                            layers=(LayerSpec.of("Dense", units=1),)),
                               LayerSpec.of("Dense", units=1)))

def _activity_head(units: int) -> LayerSpec:
    """The float32 activity-regularized Dense the mask entries' examples end in, so that
    the `losses` check their cause reaches is shown (float32: a float16 activity loss
    cannot be trained by Keras 3's fit, docs/findings.md 8)."""
    return LayerSpec.of("Dense", "float32", units=units, activity_regularizer="l2")


_LOOKUP = StackSpec(InputSpec("tokens", (4,), "int32", 5),
                    (LayerSpec.of("IntegerLookup", vocabulary=(1,), output_mode="int"),))
# A nested Functional model: its Cast op layer reaches every outer model's config.
_CAST_EXAMPLE = StackSpec(InputSpec("vector", (1,)),
                          (LayerSpec.of("Nested", api="functional",
                                        layers=(LayerSpec.of("LeakyReLU"),)),),
                          policy="mixed_float16")
_NOISE_RESUME = StackSpec(InputSpec("vector", (4,)),
                          (LayerSpec.of("Dropout", rate=0.5, seed=3),
                           LayerSpec.of("Dense", units=2)))
# Where a Cast op layer (Keras 3.5-3.9) meets other causes in a Functional model's config.
_CAST_MEETS = ("nested-sequential-drops-policy", "spatial-dropout-config-dtype",
               "discretization-config-dtype", "legacy-h5-not-equal-op-layer",
               "legacy-h5-node-mask-none", "legacy-h5-build-config-batch",
               "functional-cast-op-layer-renamed", "legacy-h5-unknown-cast",
               "sequential-from-config-drops-policy", "lookup-discards-dtype")
_KERAS3: Range = ("3.3.3", None)  # from the oldest Keras 3 in the matrix on, still there
_KERAS2: Range = ("2.15.0", "2.21.0")  # TF 2.15's Keras and tf_keras 2.21
# A loader that builds layers otherwise than the original was built (a call on the model's
# build shape, or no build_from_config at all): each layer's build_config put back.
_BUILD_CONFIG_RESTORED = Repair(causes.configs_repair(causes.restore_build_batch),
                                "each layer's build_config restored")
# A mask lost on the way into a layer: outputs, then what follows from them: training,
# cross-loaded weights and activity-regularization losses (each example ends in an
# activity-regularized layer so that `losses` is shown, not assumed: a nightly shard on
# TF 2.21 met the mask cause in `losses` when the entries did not list it).
_MASK_CHECKS = OUTPUT_CHECKS + TRAINING_CHECKS + ("losses", "weights_file")
_AUTOCAST_OFF = Workaround("subclassed_no_autocast",
                           "the subclassed model takes its inputs as Functional does "
                           "(Keras 3 _convert_input_args = False; Keras 2 _autocast = False)")
_UNKNOWN_SUBCLASSED = "Unknown layer: 'SubclassedStack'"

# XLA's fusion, not Keras: the TF versions where it shows are two ranges (two entries).
_XLA_NESTED_CAST = Known(
    name="xla-rounds-nested-input-cast-apart",
    cause="Under a mixed policy a nested Sequential or Functional model's float32 Input "
          "casts the float16/bfloat16 stream to float32 before its first layer; a "
          "nested subclassed model keeps the stream as it is. The values are the same, "
          "but under jit_compile=True XLA fuses the two graphs differently: a "
          "BatchNormalization inside computes its batch moments otherwise, and after "
          "fit its moving mean differs in the last bit (7e-7) between a subclassed "
          "model and Sequential. Without jit, bitwise equal; with a nested Sequential "
          "or Functional model inside the subclassed one, equal. Found by a nightly "
          "shard on TF 2.21 (mixed_bfloat16, steps_per_execution 1 and 2). Shown on TF "
          "2.15 (Keras 2.15), 2.18 to 2.21 (Keras 3.8 to 3.15, tf_keras 2.21) and the "
          "nightly; TF 2.16 and 2.17 (Keras 3.3, 3.5) fuse them alike: two ranges.",
    upstream=None, where="keras/src/models/functional.py (the nested model's float32 "
                         "Input casts its input); XLA's fusion of the cast",
    recognise=Workaround("nested_float32_input", "the nested subclassed model casts its "
                                                 "input to float32 as an Input does"),
    # train_steps and gradients agree on the example (derived by running them)
    checks=("fit",), apis=("subclassed",), keras=("2.15.0", None), tf=("2.18.0", None),
    jit_only=True,
    applies=lambda spec: _mixed(spec) and _any_nested(spec),
    example=StackSpec(InputSpec("vector", (2,)),
                      (LayerSpec.of("EinsumDense", activation=None, bias_axes="z",
                                    equation="ab,bz->az", output_shape=(1,)),
                       LayerSpec.of("Activation", activation="linear"),
                       LayerSpec.of("Nested", api="same", layers=(
                           LayerSpec.of("BatchNormalization", center=True, momentum=0.5,
                                        scale=False),
                           LayerSpec.of("LeakyReLU"))),
                       LayerSpec.of("Dense", units=2)),
                      policy="mixed_bfloat16", seed=100, batch=5),
)


KNOWN: tuple[Known, ...] = (
    Known(
        name="mask-into-float32-layer",
        cause="Keras 3: in Sequential and Functional models under a mixed policy, a layer "
              "whose input is cast to its own compute dtype loses the incoming mask (a "
              "layer pinned to float32 after mixed ones, a mixed one after a pinned "
              "float32 Embedding, or a nested Sequential or Functional model, whose Input is "
              "float32, after mixed layers): the mask is not carried over the cast, so e.g. "
              "GlobalAveragePooling1D averages over padding. The subclassed model, which "
              "passes mask= explicitly, gets the masked (correct) result, so here Sequential "
              "is the wrong side; training losses, gradients, activity-regularization "
              "losses and weights files cross-loaded with a subclassed model follow.",
        upstream=None, where="keras/src/models/functional.py (the pinned layer's input is "
                             "converted to its dtype without the mask)",
        recognise=Workaround("no_mask_into_pinned",
                             "the subclassed model passes no mask into a layer computing "
                             "in another dtype than its input"),
        checks=_MASK_CHECKS, apis=("subclassed",),
        # bisected: 3.4.1 clean, 3.5.0 … 3.13.2 reproduce, 3.14.1 and 3.15.1 clean
        apis_for=(("weights_file", APIS),), keras=("3.5.0", "3.13.2"),
        applies=_masked_layer_pinned,
        overlaps=("subclassed-autocasts-inputs", "weights-file-meets-autocast"),
        example=StackSpec(InputSpec("tokens", (2,), "int32", 4),
                          (LayerSpec.of("Embedding", input_dim=4, output_dim=2, mask_zero=True),
                           LayerSpec.of("GlobalAveragePooling1D", "float32"),
                           _activity_head(1)),
                          policy="mixed_float16", seed=1),
    ),
    Known(
        name="mask-into-float32-layer-output-mask",
        cause="The same cause as mask-into-float32-layer, seen in the model's output mask: "
              "after a float32-pinned Embedding(mask_zero=True), a mixed layer that passes "
              "the mask on (an RNN with return_sequences) gets none in Sequential and "
              "Functional models, so their output carries no mask; the subclassed model's "
              "does (found by the first run with ReversibleEmbedding).",
        upstream=None, where="keras/src/models/functional.py (the layer's input is "
                             "converted to its dtype without the mask)",
        recognise=Workaround("no_mask_into_pinned",
                             "the subclassed model passes no mask into a layer computing "
                             "in another dtype than its input"),
        # measured on the matrix: 3.5.0, 3.8.0, 3.10.0 clean (their output masks agree);
        # 3.11.3 and 3.13.2 reproduce; 3.15.1 clean
        checks=("output_mask",), apis=("subclassed",), keras=("3.11.3", "3.13.2"),
        applies=_masked_layer_pinned, overlaps=("mask-into-float32-layer",),
        example=StackSpec(InputSpec("tokens", (2,), "int32", 4),
                          (LayerSpec.of("Embedding", "float32", input_dim=4, output_dim=2,
                                        mask_zero=True),
                           LayerSpec.of("SimpleRNN", units=1, return_sequences=True)),
                          policy="mixed_float16"),
    ),
    Known(
        name="keras2-mask-into-nested-model",
        cause="Keras 2: in Sequential and Functional models under a mixed policy, a nested "
              "Sequential or Functional model loses the incoming mask: its Input is "
              "float32, the float16 stream is cast on the way in and the cast does not "
              "carry the mask, so e.g. a GlobalAveragePooling1D inside averages over "
              "padding. A nested subclassed model in a subclassed one gets the mask passed "
              "explicitly and the masked (correct) result. (Keras 3.5-3.13: "
              "mask-into-float32-layer, which also reaches pinned layers; Keras 2 carries "
              "the mask into those.)",
        upstream=None, where="tf_keras/src/engine/functional.py (the nested model's "
                             "float32 Input casts its input without the mask)",
        recognise=Workaround("no_mask_into_nested",
                             "the subclassed model passes no mask into a nested model "
                             "under a mixed policy"),
        checks=_MASK_CHECKS, apis=("subclassed",), apis_for=(("weights_file", APIS),),
        keras=_KERAS2, applies=_masked_into_nested,
        example=StackSpec(InputSpec("tokens", (4,), "int32", 5),
                          (LayerSpec.of("Embedding", input_dim=5, output_dim=3, mask_zero=True),
                           LayerSpec.of("Nested", api="same",
                                        layers=(LayerSpec.of("GlobalAveragePooling1D"),)),
                           _activity_head(2)),
                          policy="mixed_float16", seed=3, batch=4),
    ),
    Known(
        name="functional-weight-paths",
        cause="Keras 3: a variable's path is the name scope it was created in. Sequential "
              "(built from its Input) and a subclassed model (built by a call) create their "
              "layers' weights under the model's name ('stack/l0_dense/kernel'), Functional "
              "outside it ('l0_dense/kernel'), and outside a nested model's name too. "
              "Relative names agree (the weights check).",
        upstream=None, where="keras/src/backend/common/variables.py (path = name scope at "
                             "creation); cf. tensorflow/tensorflow#36463, the Keras 2 analogue",
        recognise=Repair(causes.strip_model_scopes,
                         "the model name scopes removed from every path"),
        checks=("weight_paths",), apis=("functional",), keras=_KERAS3, example=_ONE_DENSE,
    ),
    Known(
        name="subclassed-weight-paths",
        cause="Keras 2: a subclassed model built by calling it names its layers' weights "
              "under the model's name ('stack/l0_dense/kernel:0'); Sequential and Functional "
              "do not ('l0_dense/kernel:0').",
        upstream="tensorflow/tensorflow#22861", where="tf_keras/src/engine/base_layer.py "
                                                       "(weights created in the call's scope)",
        recognise=Repair(causes.strip_model_scopes,
                         "the model name scopes removed from every path"),
        checks=("weight_paths",), apis=("subclassed",), keras=_KERAS2, example=_ONE_DENSE,
    ),
    Known(
        name="subclassed-autocasts-inputs",
        cause="Under a mixed policy a subclassed Model, being a Layer, casts its float inputs "
              "to the compute dtype before its first layer; Sequential and Functional convert "
              "inputs to the Input's dtype (float32). A first layer pinned to float32, or one "
              "that does not autocast (LayerNormalization; GroupNormalization from Keras "
              "3.15), sees rounded inputs only in the subclassed model, and so do the "
              "gradients of the weights after it.",
        upstream=None, where="Keras 3: keras/src/layers/layer.py Layer.__call__ step 1 vs "
                             "keras/src/models/functional.py (_convert_input_args = False); "
                             "Keras 2: Layer._autocast / Functional._autocast = False",
        recognise=_AUTOCAST_OFF, checks=OUTPUT_CHECKS + TRAINING_CHECKS + ("losses",),
        apis=("subclassed",), keras=("2.15.0", None), applies=_mixed_first_layer_float32,
        overlaps=("mask-into-float32-layer",),
        # An activity regularizer: its loss is computed from the rounded outputs too (a
        # text-family run on Keras 3.13.2 met it in `losses`, behind a pinned Lambda).
        example=StackSpec(InputSpec("vector", (3,)),
                          (LayerSpec.of("Activation", "float32", activation="linear"),
                           LayerSpec.of("Dense", "float32", units=1,
                                        activity_regularizer="l2")),
                          policy="mixed_bfloat16", seed=1, batch=5),
    ),
    Known(
        name="weights-file-meets-autocast",
        cause="Under a mixed policy with a first layer pinned to float32, a weights file "
              "loaded into another API gives other outputs whenever a subclassed model is on "
              "one side: it casts its inputs first (subclassed-autocasts-inputs).",
        upstream=None, where="keras/src/layers/layer.py Layer.__call__ step 1",
        recognise=_AUTOCAST_OFF, checks=("weights_file",), apis=APIS, keras=("2.15.0", None),
        applies=_mixed_first_layer_float32, overlaps=("mask-into-float32-layer",),
        example=StackSpec(InputSpec("vector", (1,)),
                          (LayerSpec("Reshape", (("target_shape", (1,)),), "float32"),),
                          policy="mixed_float16"),
    ),
    Known(
        name="weights-file-keys-nested-class",
        cause="Keras 3 .weights.h5 keys a nested model's weights by its class "
              "('layers/sequential/...', '.../functional/...', '.../subclassed_stack/...'), "
              "not by its layer name, so a weights file from a model holding a nested "
              "Sequential does not load into the same stack holding a nested Functional or "
              "subclassed model. Top-level models of different APIs load each other's.",
        upstream=None, where="keras/src/saving/saving_lib.py (paths from "
                             "naming.to_snake_case(class name)); cf. keras-team/keras#2341",
        recognise=Raises("ValueError", r"expected \d+ variables, but received 0 variables"),
        checks=("weights_file",), apis=APIS, keras=_KERAS3, applies=_nested("same"),
        example=StackSpec(InputSpec("vector", (1,)),
                          (LayerSpec.of("Nested", api="same",
                                        layers=(LayerSpec.of("Dense", units=1),)),)),
    ),
    Known(
        name="sequential-from-config-drops-policy",
        cause="Keras 3: Sequential.get_config records the model's dtype policy, but "
              "Sequential.from_config (and so load_model) does not pass it on: the rebuilt "
              "model's policy is float32. The layers keep theirs, so outputs agree.",
        upstream="keras-team/keras#19752", where="keras/src/models/sequential.py "
                                                  "Sequential.from_config",
        recognise=Repair(causes.configs_repair(causes.restore_model_dtype),
                         "the model-level dtype restored in the rebuilt config"),
        checks=SAVING_CHECKS, apis=("sequential",), keras=_KERAS3, applies=_mixed,
        overlaps=("nested-sequential-drops-policy", "spatial-dropout-config-dtype"),
        example=StackSpec(InputSpec("vector", (1,)), (LayerSpec.of("LeakyReLU"),),
                          policy="mixed_float16"),
    ),
    Known(
        name="nested-sequential-drops-policy",
        cause="Keras 3: sequential-from-config-drops-policy one level down: a model holding "
              "a nested Sequential model under a mixed policy rebuilds that Sequential with "
              "policy float32 (from_config, load_model of .keras and .h5).",
        upstream="keras-team/keras#19752", where="keras/src/models/sequential.py "
                                                  "Sequential.from_config, reached through "
                                                  "the outer model's from_config",
        recognise=Repair(causes.configs_repair(causes.restore_nested_sequential_dtype),
                         "each nested Sequential's dtype restored in the rebuilt config"),
        checks=SAVING_CHECKS, apis=APIS, keras=_KERAS3, applies=_mixed_nested_sequential,
        apis_for=(("legacy_h5", ("sequential", "functional")),),
        overlaps=("sequential-from-config-drops-policy", "legacy-h5-unknown-subclassed",
                  "spatial-dropout-config-dtype"),
        example=StackSpec(InputSpec("vector", (1,)),
                          (LayerSpec.of("Nested", api="sequential",
                                        layers=(LayerSpec.of("LeakyReLU"),)),),
                          policy="mixed_float16"),
    ),
    Known(
        name="discretization-config-dtype",
        cause="Keras 3: Discretization.get_config records dtype 'float32' (the variable "
              "dtype) where the layer's policy is mixed, so the layer rebuilt from its "
              "config computes in float32 in every API: its one_hot, multi_hot or count "
              "output comes back float32, not float16/bfloat16 (as "
              "spatial-dropout-config-dtype). Found by the ci matrix on tfnightly (Keras "
              "3.16.0.dev), where the counting modes are drawn; the line is in every Keras 3.",
        upstream=None, where="keras/src/layers/preprocessing/discretization.py "
                             "Discretization.get_config ('dtype': self.dtype)",
        recognise=Workaround("discretization_policy_config",
                             "get_config writes the layer's dtype policy"),
        checks=SAVING_CHECKS, apis=APIS, keras=_KERAS3,
        applies=_mixed_counting_discretization,
        apis_for=(("legacy_h5", ("sequential", "functional")),),
        overlaps=("sequential-from-config-drops-policy", "nested-sequential-drops-policy",
                  "legacy-h5-unknown-subclassed"),
        example=StackSpec(InputSpec("vector", (1,)),
                          (LayerSpec.of("Discretization", bin_boundaries=(-1.0,),
                                        output_mode="one_hot"),),
                          policy="mixed_float16"),
    ),
    Known(
        name="spatial-dropout-config-dtype",
        cause="Keras 3: SpatialDropout1D/2D/3D.get_config records dtype 'float32' (the "
              "variable dtype) where the layer's policy is mixed, so the layer rebuilt from "
              "its config computes in float32 in every API: a model's output comes back "
              "float32, and a Functional node for the layer gains a 'training' argument.",
        upstream=None, where="keras/src/layers/regularization/spatial_dropout.py "
                             "BaseSpatialDropout.get_config ('dtype': self.dtype)",
        recognise=Workaround("spatial_dropout_policy_config",
                             "get_config writes the layer's dtype policy"),
        # In Sequential the model-level policy is dropped as well (both entries' recognisers
        # are needed there); a subclassed model's legacy .h5 does not load at all. Training
        # resumed from a .keras file runs the layer in float32, so its masks differ from the
        # uninterrupted run's even with the seed state restored (found by the ci matrix on
        # tfnightly; Keras 3.15.1 too): resume is reached, beside seed-state-not-saved.
        checks=SAVING_CHECKS + ("resume",), apis=APIS, keras=_KERAS3,
        applies=_mixed_spatial_dropout,
        apis_for=(("legacy_h5", ("sequential", "functional")),),
        overlaps=("sequential-from-config-drops-policy", "nested-sequential-drops-policy",
                  "legacy-h5-unknown-subclassed", "seed-state-not-saved"),
        example=StackSpec(InputSpec("sequence", (2, 1)),
                          # Dense first: weights for resume to train, and the dropout's
                          # float32 still shows in the output dtype
                          (LayerSpec.of("Dense", units=1),
                           LayerSpec.of("SpatialDropout1D", rate=0.5, seed=0)),
                          policy="mixed_float16"),
    ),
    Known(
        name="tf-keras-alpha-dropout-is-legacy",
        cause="Keras 3 through TensorFlow: tf.keras.layers.AlphaDropout is Keras' legacy "
              "AlphaDropout class (keras._legacy.layers), and a legacy .h5 round trip brings "
              "back keras.layers.AlphaDropout instead. The .keras file keeps the class.",
        upstream=None, where="keras/src/legacy/layers.py AlphaDropout, exported as "
                             "tf.keras.layers.AlphaDropout",
        recognise=Workaround("keras_alpha_dropout",
                             "keras.layers.AlphaDropout built instead of the legacy class"),
        checks=("legacy_h5",), apis=("sequential", "functional"), keras=_KERAS3,
        applies=_holds("AlphaDropout"),
        example=StackSpec(InputSpec("sequence", (2, 1)),
                          (LayerSpec.of("AlphaDropout", rate=0.5, seed=0),)),
    ),
    Known(
        name="tf-keras-thresholded-relu-is-legacy",
        cause="Keras 3 through TensorFlow: tf.keras.layers.ThresholdedReLU is Keras' legacy "
              "class (keras.src.legacy.layers; keras.layers has no ThresholdedReLU), which a "
              "legacy .h5 file saves but load_model cannot find (\"Unknown layer: "
              "'ThresholdedReLU'\"). The .keras file loads it.",
        upstream=None, where="keras/src/legacy/layers.py ThresholdedReLU, exported as "
                             "tf.keras.layers.ThresholdedReLU; keras/src/legacy/saving/"
                             "legacy_h5_format.py looks classes up in keras.layers",
        recognise=Raises("ValueError", r"Unknown layer: 'ThresholdedReLU'"),
        checks=("legacy_h5",), apis=("sequential", "functional"), keras=_KERAS3,
        applies=_holds("ThresholdedReLU"),
        example=StackSpec(InputSpec("vector", (1,)), (LayerSpec.of("ThresholdedReLU",
                                                                   theta=1.0),)),
    ),
    Known(
        name="legacy-h5-unknown-subclassed",
        cause="Keras 3: a subclassed model registered with register_keras_serializable(package"
              "=...) saves to a legacy .h5 file, but load_model fails with \"Unknown layer: "
              "'SubclassedStack'\": the legacy loader looks the class up without its package "
              "prefix. Its .keras, SavedModel and weights files work.",
        upstream="tensorflow/tensorflow#61085",
        where="keras/src/legacy/saving/legacy_h5_format.py",
        recognise=Raises("ValueError", re.escape(_UNKNOWN_SUBCLASSED)),
        checks=("legacy_h5",), apis=("subclassed",), keras=_KERAS3, example=_ONE_DENSE,
    ),
    Known(
        name="legacy-h5-unknown-tfsm-layer",
        cause="Keras 3: a model holding a TFSMLayer saves to a legacy .h5 file, but "
              "load_model fails with \"Unknown layer: 'TFSMLayer'\" in Sequential and "
              "Functional alike: the legacy loader looks layers up among the classes of "
              "keras.src.layers, and TFSMLayer is defined in keras.src.export (a subclassed "
              "model fails before, legacy-h5-unknown-subclassed). Given custom_objects="
              "{'TFSMLayer': keras.layers.TFSMLayer} (and safe_mode=False) the .h5 loads, as "
              "the .keras file does with safe_mode=False. Found by the focused run "
              "(--parity-kinds=TFSMLayer) on Keras 3.13.2; shown in plain Keras 3.10.0, "
              "3.11.3, 3.15.1 and 3.16.0.dev (before 3.10 the kind is not drawn: its probe). "
              "No upstream issue found.",
        upstream=None, where="keras/src/legacy/saving/serialization.py (the layer classes "
                             "of keras.src.layers only); keras/src/export/tfsm_layer.py",
        recognise=Raises("ValueError", r"Unknown layer: 'TFSMLayer'"),
        checks=("legacy_h5",), apis=("sequential", "functional"), keras=("3.10.0", None),
        applies=_holds("TFSMLayer"), overlaps=("legacy-h5-unknown-subclassed",),
        example=StackSpec(InputSpec("vector", (1,)),
                          (LayerSpec.of("TFSMLayer", input_dim=1, rank=2, units=1,
                                        activation="linear"),)),
    ),
    Known(
        name="random-shear-factor-config",
        cause="Keras 3: RandomShear's get_config writes each factor as the range it drew "
              "from, [-x, x], and its constructor refuses a negative bound (\"The `factor` "
              "argument should be a number (or a list of two numbers) in the range [0, "
              "1.0]. Received: input_number=-0.2\"): a model holding one cannot be rebuilt "
              "from its config, in every API alike (from_config, .keras, legacy .h5, and "
              "resume's reload). Found by the ci matrix on tf221 (stop 37, resume under "
              "jit_compile); shown in plain Keras 3.8.0 to 3.16.0.dev (the layer is new in "
              "3.8).",
        upstream="keras-team/keras#21110",
        where="keras/src/layers/preprocessing/image_preprocessing/random_shear.py "
              "RandomShear.get_config and _set_factor_by_name",
        recognise=Raises("TypeError", r"Exception encountered: The `factor` argument should "
                                      r"be a number .*Received: input_number=-"),
        checks=("config", "keras_file", "legacy_h5", "resume"), apis=APIS,
        keras=("3.8.0", None), applies=_holds("RandomShear"),
        apis_for=(("legacy_h5", ("sequential", "functional")),),
        overlaps=("legacy-h5-unknown-subclassed", "seed-state-not-saved",
                  "legacy-h5-augmentation-unpicklable"),
        example=StackSpec(InputSpec("image", (4, 4, 3)),
                          (LayerSpec.of("RandomShear", x_factor=0.2, y_factor=0.2, seed=0,
                                        fill_mode="reflect", interpolation="bilinear"),
                           LayerSpec.of("Dense", units=1))),
    ),
    Known(
        name="legacy-h5-refuses-subclassed",
        cause="Keras 2: model.save('*.h5') of a subclassed model raises NotImplementedError "
              "(HDF5 needs a Functional or Sequential model).",
        upstream=None, where="tf_keras/src/saving/legacy/save.py save_model (documented)",
        recognise=Raises("NotImplementedError", "HDF5|Functional"),
        checks=("legacy_h5",), apis=("subclassed",), keras=_KERAS2, example=_ONE_DENSE,
    ),
    Known(
        name="subclassed-export-signature-dtype",
        cause="model.export() (Keras 3; tf.saved_model.save on Keras 2) of a subclassed "
              "model writes a serving signature in the model's float compute dtype, not the "
              "dtype of its data: token ids (int32) and strings are refused (strings: a "
              "Hashing on text, found by a nightly shard on TF 2.21), and under a mixed "
              "policy so are float32 inputs. Sequential and Functional signatures take "
              "their Input's.",
        upstream=None, where="keras/src/export/saved_model.py (the input spec comes from the "
                             "model's call, which autocasts)",
        recognise=Raises("InvalidArgumentError", r"was expected to be a \w+ tensor but is a"),
        checks=("export",), apis=("subclassed",), keras=("2.15.0", None),
        applies=_not_float32_input,
        example=StackSpec(InputSpec("vector", (2,)), (LayerSpec.of("Dense", units=1),),
                          policy="mixed_float16"),
    ),
    Known(
        name="seed-state-not-saved",
        cause="A seeded noise layer keeps its random stream in a state variable that the "
              ".keras file does not restore: the loaded layer restarts the stream from its "
              "seed, so training resumed from a checkpoint draws other masks than training "
              "without the interruption, in every API (Keras 2 and 3).",
        upstream="keras-team/keras#19796", where="keras/src/random/seed_generator.py (state "
                                                  "not saved); Keras 2 tf.random.Generator",
        recognise=Workaround("restore_seed_state",
                             "the random streams' state copied into the loaded model"),
        checks=("resume",), apis=APIS, keras=_KERAS3, applies=_seeded_noise,
        example=_NOISE_RESUME,
    ),
    Known(
        name="keras2-noise-stream-restarts",
        cause="Keras 2: a seeded noise layer draws from stateful random ops whose state "
              "lives in the traced function, not in the model: a model loaded from a "
              ".keras file restarts the stream, so training resumed from a checkpoint draws "
              "other masks than training without the interruption, in every API.",
        upstream="keras-team/keras#19796", where="tf_keras/src/backend.py RandomGenerator "
                                                  "(legacy stateful ops: nothing to save)",
        recognise=Workaround("noise_off", "the seeded noise layers built as linear "
                                          "activations"),
        checks=("resume",), apis=APIS, keras=_KERAS2, applies=_seeded_noise,
        example=_NOISE_RESUME,
    ),
    Known(
        name="keras2-grappler-regroups-regularization",
        cause="Keras 2: with two or more regularization losses, a subclassed model's traced "
              "train step is another graph than Sequential's, and grappler's arithmetic "
              "optimizer regroups its float sums differently: the loss and the updated "
              "weights differ in the last bits (about 1e-7) under tf.function, and a "
              "subclassed model resumed from a .keras file (another graph again) ends apart "
              "from the same model trained on without the interruption. With run_eagerly or "
              "jit_compile the APIs agree.",
        upstream=None, where="tensorflow/core/grappler/optimizers/arithmetic_optimizer.cc, "
                             "rewriting tf_keras Model.train_step's graph (see "
                             "tensorflow/tensorflow#55814 for the optimizer's float rewrites)",
        recognise=Workaround("no_arithmetic_optimization",
                             "grappler's arithmetic optimizer off while the check runs"),
        checks=("fit", "train_steps", "resume"), apis=("subclassed",), keras=_KERAS2,
        applies=_regularization_losses,
        machine_dependent="a last-bit rounding: which checks it reaches depends on the CPU "
                          "(on an AVX-512 EPYC only train_steps differs; on CI's machine fit "
                          "and resume did)",
        example=StackSpec(InputSpec("vector", (3,)),
                          (LayerSpec.of("Dense", units=1, bias_regularizer="l1"),) * 2),
    ),
    _XLA_NESTED_CAST,
    dataclasses.replace(_XLA_NESTED_CAST, name="xla-rounds-nested-input-cast-apart-tf215",
                        tf=("2.15.0", "2.15.1")),
    Known(
        name="keras2-xla-noise-not-reproducible",
        cause="Keras 2: under jit_compile a seeded noise layer draws with stateful random "
              "ops whose op seed XLA does not honour: the same model trained twice draws "
              "other masks, so training differs from run to run inside one API (Sequential "
              "too), and hence between APIs. Without XLA the seeded draws repeat.",
        upstream=None, where="tf_keras/src/backend.py RandomGenerator (legacy stateful "
                             "tf.random ops) compiled by XLA (compare "
                             "tensorflow/tensorflow#52277)",
        recognise=SelfDisagrees("trained again, Sequential or the API differs from itself"),
        checks=("fit", "train_steps"), apis=("functional", "subclassed"), keras=_KERAS2,
        applies=_seeded_noise, jit_only=True, example=_NOISE_RESUME,
    ),
    Known(
        name="keras2-subclassed-reload-rebuilds-adapted-layer",
        cause="Keras 2: a subclassed model loaded from a .keras file builds its layers by "
              "one call on the model's build shape, so a layer that was built before the "
              "model (an adapted Normalization: by adapt(), batch dimension None) comes back "
              "with the model's call shape as its build_config ([None, 1] becomes [1, 1]). "
              "Outputs, weights and statistics agree; Sequential and Functional models "
              "restore each layer's build_config.",
        upstream=None, where="tf_keras/src/saving/serialization_lib.py (a subclassed "
                             "model's build_from_config calls the model, not each layer's "
                             "build_from_config)",
        recognise=_BUILD_CONFIG_RESTORED,
        checks=("keras_file",), apis=("subclassed",), keras=_KERAS2,
        applies=_holds("Normalization"), example=_adapted_normalization(1),
    ),
    Known(
        name="keras2-subclassed-reload-text-vectorization-batch",
        cause="Keras 2: a subclassed model loaded from a .keras file is built by Model.build, "
              "which calls the model once on placeholders of its build shape in a graph; "
              "there TextVectorization's output has no static batch dimension (it splits "
              "into a ragged tensor: (None, 1) from a (1, 1) placeholder, in every output "
              "mode), so each layer after it records batch None in its build_config where "
              "the original, called eagerly on a batch of 1, recorded 1. Outputs and "
              "weights agree; Sequential and Functional restore each layer's build_config. "
              "The same loader path as keras2-subclassed-reload-rebuilds-adapted-layer; of "
              "the lookups, hashing and encodings only TextVectorization loses the batch "
              "(probed in a FuncGraph on Keras 2.15: StringLookup, Hashing, IntegerLookup, "
              "CategoryEncoding and Discretization keep it).",
        upstream=None, where="tf_keras/src/engine/training.py Model.build (placeholders in "
                             "a FuncGraph) called by base_layer.build_from_config",
        recognise=_BUILD_CONFIG_RESTORED,
        checks=("keras_file",), apis=("subclassed",), keras=_KERAS2,
        applies=_followed("TextVectorization"),
        # found by test_repro's minimal.py of the simplest TextVectorization stack on tf215
        example=StackSpec(InputSpec("text", (1,), "string", vocab=3),
                          (LayerSpec.of("TextVectorization", output_mode="int",
                                        output_sequence_length=1, vocabulary=("w1",)),
                           LayerSpec.of("Dense", units=2))),
    ),
    Known(
        name="keras2-list-weights-trainable-first",
        cause="Keras 2: a subclassed model that holds its layers in a list attribute, as "
              "users write it, tracks the list as one ListWrapper, whose weights are all its "
              "layers' trainable weights followed by all their non-trainable ones; so "
              "model.weights and get_weights() give BatchNormalization's moving statistics "
              "(an adapted Normalization's mean, variance and count) after the trainable "
              "weights of the layers that follow it. Sequential and Functional list the "
              "weights layer by layer; so does the subclassed model with each layer its own "
              "attribute. Values agree; a flat set_weights() from another API's list "
              "would put them in the wrong variables.",
        upstream="tensorflow/tensorflow#41152",
        where="tensorflow/python/trackable/data_structures.py TrackableDataStructure.weights "
              "(trainable + non_trainable), via tf_keras/src/engine/training.py "
              "Model._undeduplicated_weights",
        recognise=Workaround("subclassed_layers_as_attributes",
                             "the subclassed model holds each layer as its own attribute"),
        checks=("weights", "weight_paths", "flat_weights"), apis=("subclassed",),
        keras=_KERAS2, applies=_several_leaves, overlaps=("subclassed-weight-paths",),
        example=StackSpec(InputSpec("vector", (1,)),
                          (LayerSpec.of("BatchNormalization"), LayerSpec.of("Dense", units=1))),
    ),
    Known(
        name="keras2-auto-config-keeps-shared-object-id",
        cause="Keras 2: a layer without its own get_config (Identity) returns the constructor "
              "arguments it was built with (its auto config). A subclassed model's .keras "
              "file holds each layer's dtype policy with serialization_lib's "
              "shared_object_id (the model and its layers share one Policy object under a "
              "mixed policy), and the loader passes that config on, so the loaded layer's "
              "config carries the key — in any API, depending on what the process "
              "serialized before (observed again, the same API may not show it). Outputs "
              "and weights agree.",
        upstream=None, where="tf_keras/src/engine/base_layer.py (auto get_config from the "
                             "constructor's arguments) and tf_keras/src/saving/"
                             "serialization_lib.py (shared_object_id)",
        recognise=Repair(causes.configs_repair(causes.drop_shared_object_ids),
                         "shared_object_id keys removed from the loaded config"),
        checks=("keras_file",), apis=APIS, keras=_KERAS2,
        applies=lambda spec: _mixed(spec) and _holds("Identity")(spec),
        example=StackSpec(InputSpec("tokens", (2,), "int32", 4),
                          (LayerSpec.of("Embedding", input_dim=4, output_dim=2),
                           LayerSpec.of("Identity")), policy="mixed_float16"),
    ),
    Known(
        name="keras2-bfloat16-normalization-not-loaded",
        cause="Keras 2: under mixed_bfloat16 a model holding an adapted Normalization saves "
              "to a .keras, .h5 or weights file that cannot be loaded in any API: the layer's "
              "load_own_variables assigns the stored statistics to its autocast variables "
              "and TensorFlow cannot convert them (\"No cast function available\"). "
              "Keras 3 loads it.",
        upstream=None, where="tf_keras/src/layers/preprocessing/normalization.py "
                             "load_own_variables, through mixed_precision/autocast_variable.py "
                             "assign",
        recognise=Raises("ValueError", r"No cast function available"),
        # resume loads the .keras file it saved between two fits (the ci matrix on tf215,
        # stop 33: AdamW, eager, a Normalization after a Dense)
        checks=("keras_file", "weights_file", "legacy_h5", "resume"), apis=APIS,
        keras=_KERAS2,
        apis_for=(("legacy_h5", ("sequential", "functional")),),  # Keras 2 saves no
        # subclassed model to .h5
        applies=lambda spec: spec.policy == "mixed_bfloat16" and _holds("Normalization")(spec),
        # a file that did load would still rebuild the adapted layer (.keras, subclassed) or
        # lose its build batch (.h5)
        overlaps=("keras2-subclassed-reload-rebuilds-adapted-layer",
                  "legacy-h5-build-config-batch"),
        # with a Dense head, so that resume has weights to train
        example=StackSpec(InputSpec("vector", (1,)),
                          _adapted_normalization(1).layers + (LayerSpec.of("Dense", units=1),),
                          policy="mixed_bfloat16"),
    ),
    Known(
        name="keras2-loss-scale-not-saved",
        cause="Keras 2: the .keras file of a mixed_float16 model does not restore its "
              "LossScaleOptimizer's dynamic loss scale (16384 after a few steps comes back "
              "as the initial 32768), so training resumed from a checkpoint scales, and may "
              "skip, other steps than training without the interruption, in every API.",
        upstream=None, where="tf_keras/src/mixed_precision/loss_scale_optimizer.py "
                             "(loss_scale and dynamic_counter are not among the saved "
                             "optimizer variables)",
        recognise=Workaround("restore_loss_scale", "the loss scale and its counter copied "
                                                   "into the loaded optimizer"),
        checks=("resume",), apis=APIS, keras=_KERAS2,
        applies=lambda spec: spec.policy == "mixed_float16",
        example=StackSpec(InputSpec("vector", (2,)), (LayerSpec.of("Dense", units=1),),
                          policy="mixed_float16"),
    ),
    Known(
        name="tf-checkpoint-object-graph",
        cause="Keras 2: a TF-format weights checkpoint does not load between a subclassed "
              "model and the same stack as Sequential or Functional, either way: their object "
              "graphs differ. The HDF5 weights file loads into every API.",
        upstream=None, where="tf_keras/src/engine/training.py Model.load_weights (documented: "
                             "matched by object-local attribute names)",
        recognise=Raises("AssertionError", r"Nothing except the root object matched|"
                                           r"Nothing to load|Unresolved object"),
        checks=("weights_checkpoint",), apis=APIS, keras=_KERAS2, example=_ONE_DENSE,
    ),
    Known(
        name="model-from-json-returns-str",
        cause="Keras 2: model_from_json(model.to_json()) of a registered subclassed model "
              "returns the string 'SubclassedStack' instead of a model; get_config/from_config "
              "works.",
        upstream=None, where="tf_keras/src/engine/training.py Model.to_json (bare "
                             "class_name) and layers.deserialize_from_json",
        recognise=Raises("TypeError", r"from_json returned str, not a model"),
        checks=("config",), apis=("subclassed",), keras=_KERAS2, example=_ONE_DENSE,
    ),
    Known(
        name="legacy-h5-not-equal-op-layer",
        cause="Keras 3: a Functional model with Embedding(mask_zero=True) or Masking feeding "
              "a mask-consuming layer saves a legacy .h5 file that load_model cannot read "
              "(\"Unknown layer: 'NotEqual'\"): the mask computation was serialized as op "
              "layers the legacy loader does not know. Where the masking layer computes in "
              "another dtype than its input (Masking after a pinned float32 Embedding under "
              "a mixed policy) the ops start with the input's Cast (\"Unknown layer: "
              "'Cast'\"; the file holds Cast, NotEqual, Any: a ci run on Keras 3.15.1).",
        upstream=None, where="keras/src/legacy/saving/legacy_h5_format.py",
        recognise=Raises("ValueError", r"Unknown layer: '(NotEqual|Cast)'"),
        # keras-nightly 3.16.0.dev2026102704 loads the file (the NotEqual op is gone): the
        # last release that shows it is 3.15.1 (tflatest).
        checks=("legacy_h5",), apis=("functional",), keras=("3.3.3", "3.15.1"),
        applies=_makes_mask,
        example=StackSpec(InputSpec("tokens", (4,), "int32", 5),
                          (LayerSpec.of("Embedding", input_dim=5, output_dim=2,
                                        mask_zero=True),
                           LayerSpec.of("GlobalAveragePooling1D"))),
    ),
    Known(
        name="legacy-h5-node-mask-none",
        cause="Keras 3: a Functional model holding a nested subclassed model (whose call "
              "takes mask=) records a 'mask': None node argument on one side of a legacy "
              ".h5 round trip only (the loaded model gains it on Keras 3.3-3.8, loses it on "
              "3.13). Outputs and weights agree.",
        upstream=None, where="keras/src/models/functional.py functional_from_config",
        recognise=Repair(causes.configs_repair(causes.drop_node_mask_none, original_too=True),
                         "'mask': None node arguments removed"),
        checks=("legacy_h5",), apis=("functional",), keras=_KERAS3,
        applies=_nested("subclassed"), overlaps=("legacy-h5-build-config-batch",),
        example=StackSpec(InputSpec("vector", (2,)),
                          (LayerSpec.of("Nested", api="subclassed",
                                        layers=(LayerSpec.of("Dense", units=1),)),
                           LayerSpec.of("Dense", units=1))),
    ),
    Known(
        name="legacy-h5-nested-config-keys",
        cause="Keras 2: a Functional model holding a nested model does not round-trip its "
              "config through a legacy .h5 file: the nested model's layer configs gain "
              "'module', 'registered_name' and 'build_config' keys. Outputs and weights "
              "agree.",
        upstream=None, where="tf_keras/src/saving/legacy/hdf5_format.py (the loaded nested "
                             "model is re-serialized with the current serializer)",
        recognise=Repair(causes.configs_repair(causes.drop_nested_keys(
                             "module", "build_config", "registered_name")),
                         "the added 'module', 'build_config', 'registered_name' removed"),
        checks=("legacy_h5",), apis=("functional",), keras=_KERAS2, applies=_any_nested,
        example=StackSpec(InputSpec("vector", (1,)),
                          (LayerSpec.of("Nested", api="same",
                                        layers=(LayerSpec.of("LeakyReLU"),)),)),
    ),
    Known(
        name="legacy-h5-build-config-batch",
        cause="A Sequential or Functional model holding a layer built on data (a nested "
              "subclassed model; on Keras 3 also a Normalization built by adapt(), batch "
              "16) gets that layer's build_config back with batch dimension None through a "
              "legacy .h5 file (the legacy loader never calls build_from_config; Keras 2 "
              "and 3).",
        upstream=None, where="keras/src/legacy/saving/ (no build_from_config, which "
                             "keras/src/saving/serialization_lib.py calls for .keras)",
        recognise=_BUILD_CONFIG_RESTORED,
        checks=("legacy_h5",), apis=("sequential", "functional"), keras=("2.15.0", None),
        applies=lambda spec: _nested("subclassed")(spec) or _holds("Normalization")(spec),
        overlaps=("legacy-h5-node-mask-none", "legacy-h5-nested-config-keys",
                  "legacy-h5-normalization-not-finalized"),
        example=_HOLDS_SUBCLASSED,
    ),
    Known(
        name="legacy-h5-normalization-not-finalized",
        cause="Keras 3 before 3.6: the legacy .h5 loader sets an adapted Normalization's "
              "weights without calling finalize_state, so the loaded layer normalizes with "
              "its build-time statistics (mean 0, variance 1): the loaded model's outputs "
              "differ from the original's in every API that loads the file.",
        upstream="keras-team/keras#20147", where="keras/src/legacy/saving/legacy_h5_format.py "
                                                  "(finalize_state added by "
                                                  "keras-team/keras#20168)",
        recognise=Workaround("finalize_after_load", "finalize_state called on every loaded "
                                                    "layer, as the fixed loader does"),
        checks=("legacy_h5",), apis=("sequential", "functional"), keras=("3.3.3", "3.5.0"),
        applies=_holds("Normalization"), overlaps=("legacy-h5-build-config-batch",),
        example=_adapted_normalization(2),
    ),
    Known(
        name="legacy-h5-drops-adapted-vocabulary",
        cause="Keras 3: a legacy .h5 file holds an adapted TextVectorization's config and "
              "weights but not its vocabulary (a lookup table, not a variable; the .keras "
              "file saves it as an asset), so the loaded layer knows only its "
              "out-of-vocabulary token and its first call fails with "
              "FailedPreconditionError: Table not initialized, in Sequential and "
              "Functional alike (a subclassed model cannot be saved to .h5: "
              "legacy-h5-unknown-subclassed). A vocabulary given to the constructor is in "
              "the config and survives. Keras 2.15 refuses to write the file "
              "(NotImplementedError, tensorflow/text#980). Shown in plain Keras 3.3.3, "
              "3.5.0, 3.13.2 and 3.15.1; found by a nightly shard on TF 2.21.",
        upstream=None, where="keras/src/legacy/saving/legacy_h5_format.py (weights only; "
                             "TextVectorization.save_assets is not called)",
        # Its exact error: the check's observation is the exception (set_vocabulary with
        # the original's vocabulary on the loaded layer makes the outputs equal, bit for
        # bit: docs/findings.md 21).
        recognise=Raises("FailedPreconditionError", r"Table not initialized"),
        checks=("legacy_h5",), apis=("sequential", "functional"), keras=_KERAS3,
        applies=_adapted_vectorization, overlaps=("legacy-h5-unknown-subclassed",),
        example=StackSpec(InputSpec("text", (1,), "string", 8),
                          (LayerSpec.of("TextVectorization", max_tokens=4, adapt_on=0,
                                        output_mode="multi_hot"),
                           LayerSpec.of("Dense", units=2))),
    ),
    Known(
        name="legacy-h5-nested-normalization-not-finalized",
        cause="Keras 3.6 on: legacy-h5-normalization-not-finalized inside a nested model. "
              "The fix calls finalize_state on the model's own layers whose weights it sets "
              "(_set_weights(instance=...)); for a nested Sequential or Functional model "
              "that is the nested model, which has no finalize_state, so an adapted "
              "Normalization inside it loads its statistics but normalizes with mean 0, "
              "variance 1 (found by the ci matrix on tflatest).",
        upstream=None, where="keras/src/legacy/saving/legacy_h5_format.py _set_weights "
                             "(finalize_state of the top-level layer only)",
        recognise=Workaround("finalize_after_load", "finalize_state called on every loaded "
                                                    "layer, nested ones included"),
        checks=("legacy_h5",), apis=("sequential", "functional"), keras=("3.8.0", None),
        applies=_normalization_nested,
        overlaps=("legacy-h5-build-config-batch", "nested-sequential-drops-policy",
                  "sequential-from-config-drops-policy", "legacy-h5-not-equal-op-layer"),
        example=StackSpec(InputSpec("vector", (2,)),
                          (LayerSpec.of("Nested", api="sequential",
                                        layers=_adapted_normalization(2).layers),)),
    ),
    Known(
        name="functional-cast-op-layer-renamed",
        cause="Keras 3.5-3.9: under a mixed policy a Functional model's casts (of its input, or "
              "into a layer pinned to another dtype) are written into its graph as Cast op "
              "layers with auto-numbered names, which "
              "changes through from_config and load_model ('cast_445' becomes "
              "'cast_447'). Outputs and weights agree. A nested Functional model carries "
              "its casts into a Sequential or subclassed outer model's config too (a ci run "
              "on Keras 3.5.0).",
        upstream=None, where="keras/src/models/functional.py (Keras 3.5 converts the "
                             "Input's dtype with an op recorded as a layer)",
        recognise=Repair(causes.configs_repair(causes.rename_auto_named("cast")),
                         "auto-numbered cast layer names matched to the original's"),
        checks=("keras_file", "config"), apis=APIS, keras=("3.5.0", "3.9.2"),
        applies=_mixed, example=_CAST_EXAMPLE, overlaps=_CAST_MEETS,
    ),
    Known(
        name="functional-mask-op-layers-renamed",
        cause="Keras 3.3-3.10: a Functional model's Masking layer (or Embedding with "
              "mask_zero) computes its mask with ops (not_equal, any) that the graph records "
              "as op layers with auto-numbered names, which change through from_config and "
              "load_model ('any_585' becomes 'any_582'). Outputs and weights agree.",
        upstream=None, where="keras/src/models/functional.py with keras/src/ops (symbolic "
                             "ops in a Functional graph become op layers)",
        recognise=Repair(causes.configs_repair(causes.rename_auto_named("not_equal", "any")),
                         "auto-numbered not_equal/any layer names matched to the original's"),
        checks=("keras_file", "config"), apis=("functional",), keras=("3.3.3", "3.10.0"),
        applies=_makes_mask, overlaps=("functional-cast-op-layer-renamed",),
        example=StackSpec(InputSpec("sequence", (2, 1)),
                          (LayerSpec.of("Masking", mask_value=0.0),
                           LayerSpec.of("GlobalAveragePooling1D"))),
    ),
    Known(
        name="legacy-h5-unknown-cast",
        cause="Keras 3.5-3.9: the Cast op layer of a mixed-policy Functional model (above) is "
              "saved into a legacy .h5 file that load_model cannot read (\"Unknown layer: "
              "'Cast'\"); inside a Sequential model too, as a nested Functional model's (a ci "
              "run on Keras 3.5.0).",
        upstream=None, where="keras/src/legacy/saving/legacy_h5_format.py",
        recognise=Raises("ValueError", r"Unknown layer: 'Cast'"),
        checks=("legacy_h5",), apis=("sequential", "functional"), keras=("3.5.0", "3.9.2"),
        applies=_mixed, example=_CAST_EXAMPLE, overlaps=_CAST_MEETS,
    ),
    Known(
        name="export-serves-training-default",
        cause="Keras 3: a model called without `training` leaves it unset, and a layer "
              "whose call defaults to training=True (the augmentation layers: RandomFlip, "
              "RandomRotation, ...) then augments. A Sequential or Functional model hands "
              "its layers no value; a subclassed model written the usual way passes its own "
              "`training=None` on, and its layers do not augment. model.export() serves "
              "`model.__call__` with no `training`, so the Sequential and Functional serving "
              "functions augment every request, randomly (the same model under "
              "tf.function with training=False does not; on Keras 2 model(x) augments in "
              "all three APIs alike and the serving function does not).",
        upstream=None, where="keras/src/export/saved_model.py track_and_add_endpoint "
                             "(resource.__call__); keras/src/layers/layer.py (training "
                             "from the call signature's default)",
        recognise=Workaround("export_inference_call", "an ExportArchive endpoint calling "
                                                      "the model with training=False"),
        checks=("export",), apis=("sequential", "functional"), keras=_KERAS3,
        applies=_trains_by_default,
        example=StackSpec(InputSpec("image", (3, 3, 1)),
                          (LayerSpec.of("RandomFlip", mode="horizontal_and_vertical", seed=0),
                           LayerSpec.of("Dense", units=2))),
    ),
    Known(
        name="serving-graph-regrouped",
        cause="TensorFlow: Grappler's arithmetic optimizer rewrites the serving function "
              "restored from a SavedModel otherwise than the same call traced in the "
              "process that saved it, so the served output is 1-2 ulp off the live graph's "
              "(which agrees with eager) — in every API alike, on Keras 2 and 3. Met with "
              "UnitNormalization over one feature and a BatchNormalization after it (a "
              "nightly shard on TF 2.21); UnitNormalization with Dense or LayerNormalization "
              "after it, or over two features, agreed. With the arithmetic optimizer off "
              "the served and live outputs agree bit for bit (plain TF and Keras too).",
        upstream=None, where="tensorflow/core/grappler/optimizers/arithmetic_optimizer.cc "
                             "(on the function tf.saved_model.load restores)",
        recognise=Workaround("no_arithmetic_optimization",
                             "Grappler's arithmetic optimizer off for both graphs"),
        checks=("export",), apis=APIS, keras=("2.15.0", None),
        applies=_holds("UnitNormalization"),
        example=StackSpec(InputSpec("vector", (1,)),
                          (LayerSpec.of("UnitNormalization"),
                           LayerSpec.of("BatchNormalization", momentum=0.99, center=True,
                                        scale=True))),
    ),
    Known(
        name="eager-elu-cancels",
        cause="TensorFlow: the CPU kernels of tf.nn.elu and tf.nn.selu compute exp(x) - 1, "
              "which cancels for small negative x (0 at -1e-8, 1.4e-3 relative error at "
              "-1e-5); XLA computes expm1. So under jit_compile=True `predict` (XLA) and the "
              "eager `__call__` differ past the predict-vs-call tolerance, in every API "
              "alike, wherever an ELU meets inputs near 0 (a nightly shard on TF 2.21: "
              "Rescaling(1/255) → ELU → UnitNormalization).",
        upstream="tensorflow/tensorflow#116943", where="tensorflow/core/kernels/"
                                                        "relu_op_functor.h (Elu, Selu)",
        recognise=Workaround("elu_expm1", "tf.nn.elu and tf.nn.selu computed with expm1"),
        checks=("predict_vs_call",), apis=APIS, keras=("2.15.0", None), jit_only=True,
        applies=_elu_or_selu,
        example=StackSpec(InputSpec("vector", (6,)),
                          # UnitNormalization: the small outputs' relative error made
                          # absolute, past the tolerance's atol
                          (LayerSpec.of("Rescaling", scale=1e-3, offset=0.0),
                           LayerSpec.of("ELU"), LayerSpec.of("UnitNormalization"))),
    ),
    Known(
        name="subclassed-export-untracked-table",
        cause="Keras 3 (3.3-3.13; 3.15 tracks it): a subclassed model holding its layers in "
              "a list attribute, as users write it, does not track a lookup layer's table "
              "for export: model.export() fails with \"Tried to export a function which "
              "references an 'untracked' resource\" (its StaticHashTable), where Sequential "
              "and Functional export and serve. With each layer its own attribute the "
              "table is tracked (and the export then meets "
              "subclassed-export-signature-dtype: the signature refuses the ids).",
        upstream=None, where="keras/src/export/saved_model.py (the resources it tracks "
                             "through the model's layer list)",
        recognise=Raises("AssertionError", r"references an 'untracked' resource"),
        checks=("export",), apis=("subclassed",), keras=("3.3.3", "3.13.2"),
        applies=_holds_table, overlaps=("subclassed-export-signature-dtype",),
        example=_LOOKUP,
    ),
    Known(
        name="lookup-discards-dtype",
        cause="Keras 3's index lookups (IntegerLookup, StringLookup, TextVectorization's) "
              "discard the `dtype` they are given (IndexLookup.__init__ pops it): built "
              "under a mixed global policy a layer takes that policy and writes it into its "
              "config; rebuilt from that config (from_config, load_model of .keras and "
              ".h5) under float32 it takes float32. Every API alike; the ids agree.",
        upstream=None, where="keras/src/layers/preprocessing/index_lookup.py "
                             "IndexLookup.__init__ (kwargs.pop(\"dtype\"))",
        recognise=Repair(causes.configs_repair(causes.restore_discarded_dtype),
                         "each layer's dtype restored where its class, rebuilt from its "
                         "own config, discards it"),
        checks=("config", "keras_file", "legacy_h5"), apis=APIS, keras=_KERAS3,
        apis_for=(("legacy_h5", ("sequential", "functional")),),
        applies=_mixed_discarded_dtype,
        overlaps=("sequential-from-config-drops-policy", "legacy-h5-unknown-subclassed"),
        example=dataclasses.replace(_LOOKUP, policy="mixed_float16"),
    ),
    Known(
        name="legacy-h5-augmentation-unpicklable",
        cause="Keras 3: a model holding an image augmentation layer whose config carries a "
              "list Keras tracks (RandomBrightness' value_range comes back from get_config "
              "as a TrackedList, not a list) cannot be saved to a legacy .h5 file: the "
              "legacy serializer keeps the object and Sequential.get_config deep-copies it "
              "(TypeError: cannot pickle 'module' object), in Sequential and Functional "
              "alike (a subclassed model cannot be saved to .h5 at all: "
              "legacy-h5-unknown-subclassed). Probed here: RandomBrightness on every Keras 3 "
              "(3.3.3 to 3.16.0.dev); RandomRotation on 3.3 and 3.5 only; "
              "RandomColorDegeneration, RandomPosterization, RandomSaturation, "
              "RandomSharpness and Solarization where Keras has them (3.8 on). Found by ci "
              "runs on TF 2.16 and (RandomBrightness after ConvLSTM2D) on tflatest.",
        upstream=None, where="keras/src/models/sequential.py Sequential.get_config "
                             "(copy.deepcopy of the legacy layer configs)",
        recognise=Raises("TypeError", r"cannot pickle 'module' object"),
        checks=("legacy_h5",), apis=("sequential", "functional"), keras=_KERAS3,
        applies=_augmentation, overlaps=("legacy-h5-unknown-subclassed",),
        example=StackSpec(InputSpec("image", (3, 3, 1)),
                          (LayerSpec.of("RandomBrightness", factor=0.5, seed=0),)),
    ),
    Known(
        name="activity-regularizer-not-loaded",
        cause="Keras 3.3: a layer loaded from a .keras file has no activity regularizer "
              "(its `activity_regularizer` is None though its config names one), so a "
              "model resumed from a checkpoint trains on without the activity loss: its "
              "loss and weights part from the same model trained on without the "
              "interruption, in every API alike. Keras 3.5 restores it. Found by a ci run "
              "on TF 2.16.",
        upstream=None, where="keras/src/layers/layer.py (3.3: the activity regularizer "
                             "not rebuilt from the config)",
        recognise=Workaround("restore_activity_regularizer",
                             "the loaded layers given the original's activity regularizers"),
        checks=("resume",), apis=APIS, keras=("3.3.3", "3.3.3"),
        applies=_activity_regularized,
        example=StackSpec(InputSpec("vector", (1,)),
                          (LayerSpec.of("Dense", units=1, use_bias=False,
                                        activity_regularizer="l2"),)),
    ),
    Known(
        name="keras33-eager-cast-drops-mask",
        cause="Keras 3.3: called eagerly on a masked float32 tensor, a layer computing in "
              "float16/bfloat16 casts its input and the cast drops the mask (its output "
              "has none), where Sequential and Functional graphs carry the mask on by each "
              "layer's compute_mask: after a pinned float32 Embedding(mask_zero=True), a "
              "subclassed model's pooling averages over padding and Sequential's does not. "
              "From Keras 3.5 the graphs drop it too (mask-into-float32-layer, the other "
              "way round). Found by a ci run on TF 2.16.",
        upstream=None, where="keras/src/layers/layer.py (3.3: the input autocast before "
                             "call, the mask not re-attached)",
        recognise=Workaround("mask_across_cast", "the subclassed model carries the mask "
                                                 "on by compute_mask where the cast dropped "
                                                 "it"),
        checks=_MASK_CHECKS, apis=("subclassed",), apis_for=(("weights_file", APIS),),
        keras=("3.3.3", "3.3.3"), applies=_masked_layer_pinned,
        example=StackSpec(InputSpec("tokens", (4,), "int32", 4),
                          (LayerSpec.of("Embedding", "float32", input_dim=4, output_dim=2,
                                        mask_zero=True),
                           LayerSpec.of("ReLU", max_value=None, negative_slope=0.0),
                           LayerSpec.of("GlobalAveragePooling1D"),
                           _activity_head(2)),
                          policy="mixed_float16"),
    ),
    Known(
        name="export-signature-in-compute-dtype",
        cause="Keras 3.3: under a mixed policy model.export() writes every API's serving "
              "signature in the float compute dtype (float16/bfloat16), so the float32 data "
              "the model was built on is refused by Sequential and Functional models too "
              "(later Keras take the Input's dtype for them).",
        upstream=None, where="keras/src/export/export_lib.py (3.3: the input signature "
                             "from the model's autocast inputs)",
        recognise=Raises("InvalidArgumentError", r"was expected to be a \w+ tensor but is a"),
        checks=("export",), apis=("sequential", "functional"), keras=("3.3.3", "3.3.3"),
        applies=_mixed_float_input,
        example=StackSpec(InputSpec("vector", (2,)), (LayerSpec.of("Dense", units=1),),
                          policy="mixed_float16"),
    ),
)


def lookup(check: str, api: str, spec: StackSpec, jit_compile: bool = False) -> list[Known]:
    """Every entry that may explain a difference in this check, API, spec and mode here."""
    return [entry for entry in KNOWN if (check, api) in entry.cells()
            and entry.in_range() and entry.applies(spec)
            and (jit_compile or not entry.jit_only)]


def explain(check: str, spec: StackSpec, observed: dict, problems: dict,
            compare: Callable[[dict], dict],
            reobserve: Callable[[tuple[str, ...]], dict],
            jit_compile: bool = False) -> dict[str, list[Known]]:
    """{api: [entries]} for the APIs in `problems` whose difference a known cause explains.

    An API's exception is explained by an applicable `Raises` entry that matches it. Any
    other difference is explained when, with every entry applicable to that API applied —
    its repairs, on the observations `reobserve(workarounds)` gives with its workarounds in
    place — `compare` no longer reports the API. A `SelfDisagrees` entry explains it when a
    second observation shows the API or Sequential differing from itself. Everything else
    stays a discrepancy.
    """
    candidates = {api: lookup(check, api, spec, jit_compile) for api in problems}
    explained: dict[str, list[Known]] = {}
    pending = {}
    for api, entries in candidates.items():
        if ERROR in observed[api]:
            matching = [e for e in entries if isinstance(e.recognise, Raises)
                        and e.recognise.matches(observed[api])]
            if matching:
                explained[api] = matching
            continue
        entries = [e for e in entries if not isinstance(e.recognise, Raises)]
        if entries:
            pending[api] = entries
    # Each API by its own candidates only: a workaround or repair that another API's entry
    # brings must not explain this API's difference.
    reobserved: dict[tuple[str, ...], dict] = {}
    for api, entries in pending.items():
        unstable = [e for e in entries if isinstance(e.recognise, SelfDisagrees)]
        if unstable:
            if "again" not in reobserved:
                reobserved["again"] = reobserve(())
            if any(e.recognise.shown(observed, reobserved["again"], api) for e in unstable):
                explained[api] = unstable
                continue
            entries = [e for e in entries if e not in unstable]
        names = tuple(sorted({e.recognise.name for e in entries
                              if isinstance(e.recognise, Workaround)}))
        if names not in reobserved:
            reobserved[names] = reobserve(names) if names else observed
        again = reobserved[names]
        for entry in entries:
            if isinstance(entry.recognise, Repair):
                again = entry.recognise.apply(again)
        if api not in compare(again):
            explained[api] = entries
    return explained
