"""Known upstream discrepancies: check × API × Keras version range × upstream reference.

An entry applies to the specs its predicate accepts; there the property tests tolerate (and
count) the discrepancy, since a later layer can round it away. Each entry carries the
smallest spec that shows it, run as a strict xfail by `equivalence/test_known.py`, so the
day upstream fixes it the suite says so.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from equivalence import compat
from equivalence.portable import APIS
from equivalence.spec import InputSpec, LayerSpec, StackSpec

OUTPUT_CHECKS = ("predict", "predict_on_batch", "call", "training_calls")
# Training checks that compare each API with Sequential (resume compares inside an API).
TRAINING_CHECKS = ("fit", "train_steps", "gradients")


@dataclass(frozen=True)
class Known:
    checks: tuple[str, ...]
    apis: tuple[str, ...]  # the APIs whose observation differs
    keras_min: tuple[int, int]  # inclusive
    keras_max: tuple[int, int]  # exclusive
    applies: Callable[[StackSpec], bool]
    reference: str
    summary: str
    example: StackSpec

    def in_range(self, keras_version: str = compat.KERAS_VERSION) -> bool:
        return self.keras_min <= compat.version_tuple(keras_version) < self.keras_max


# Layers that compute in their input's dtype instead of casting to the policy's.
NO_AUTOCAST = ("LayerNormalization",)


def _first_leaf(layers):
    first = layers[0]
    return _first_leaf(first.params["layers"]) if first.kind == "Nested" else first


def _mixed_first_layer_float32(spec: StackSpec) -> bool:
    first = _first_leaf(spec.layers)
    return (spec.policy != "float32" and spec.input.dtype != "int32"
            and (first.dtype == "float32" or first.kind in NO_AUTOCAST))


def _masked_layer_pinned(spec: StackSpec) -> bool:
    """A layer pinned to float32 receives a masked float16/bfloat16 input."""
    from equivalence.layers import REGISTRY, masked_after

    if spec.policy == "float32":
        return False
    masked = False
    for layer in spec.layers:
        if masked and layer.dtype == "float32":
            return True
        masked = masked_after(REGISTRY[layer.kind].mask(layer.params), masked)
    return False


_ONE_DENSE = StackSpec(InputSpec("vector", (2,)), (LayerSpec.of("Dense", units=1),))


def _always(spec: StackSpec) -> bool:
    return True


def _weight_paths_entry(api: str, keras_min, keras_max, reference, summary) -> Known:
    """A weight_paths discrepancy: shown by any stack with weights, one Dense suffices."""
    return Known(checks=("weight_paths",), apis=(api,), keras_min=keras_min, keras_max=keras_max,
                 applies=_always, reference=reference, summary=summary, example=_ONE_DENSE)


def _nested(api: str) -> Callable[[StackSpec], bool]:
    """Whether a top-level Nested layer of this API is in the stack."""
    return lambda spec: any(layer.kind == "Nested" and layer.params["api"] == api
                            for layer in spec.layers)


def _any_nested(spec: StackSpec) -> bool:
    return any(layer.kind == "Nested" for layer in spec.layers)


def _mixed(spec: StackSpec) -> bool:
    return spec.policy != "float32"


def _mixed_nested_sequential(spec: StackSpec) -> bool:
    """A mixed policy and a nested Sequential model (api "sequential", or "same" inside
    the Sequential outer model, which its own entry already covers)."""
    return _mixed(spec) and _nested("sequential")(spec)


def _mixed_spatial_dropout(spec: StackSpec) -> bool:
    return _mixed(spec) and any(kind.startswith("SpatialDropout") for kind in spec.kinds())


def _not_float32_input(spec: StackSpec) -> bool:
    """The subclassed serving signature (float in the compute dtype) differs from the data:
    integer inputs, or float32 inputs under a mixed policy."""
    return spec.input.dtype == "int32" or spec.policy != "float32"


def _embedding_mask_zero(spec: StackSpec) -> bool:
    return any(layer.kind == "Embedding" and layer.params.get("mask_zero")
               for layer in spec.layers)


def _seeded_noise(spec: StackSpec) -> bool:
    from equivalence.layers import REGISTRY

    return any(REGISTRY[kind].seeded for kind in spec.kinds())


# A stack whose first layer is a nested subclassed model (two entries, one per Keras major).
_HOLDS_SUBCLASSED = StackSpec(InputSpec("vector", (2,)),
                              (LayerSpec.of("Nested", api="subclassed",
                                            layers=(LayerSpec.of("Dense", units=1),)),
                               LayerSpec.of("Dense", units=1)))

KNOWN: tuple[Known, ...] = (
    Known(
        checks=OUTPUT_CHECKS + TRAINING_CHECKS, apis=("subclassed",), keras_min=(3, 0),
        keras_max=(99, 0), applies=_masked_layer_pinned,
        reference="no upstream issue found (searched keras-team/keras, tensorflow/tensorflow); "
                  "reproduce with the repro.py the suite writes for this entry's example",
        summary="Keras 3: in Sequential and Functional models a layer pinned to float32 "
                "inside a mixed policy loses the incoming mask: its input is cast to float32 "
                "and the mask is not carried over, so e.g. GlobalAveragePooling1D averages "
                "over padding. The subclassed model, which passes mask= explicitly, gets the "
                "masked (correct) result, so here Sequential is the wrong side; the losses and "
                "gradients of training follow the outputs.",
        example=StackSpec(InputSpec("tokens", (2,), "int32", 4),
                          (LayerSpec.of("Embedding", input_dim=4, output_dim=2, mask_zero=True),
                           LayerSpec.of("GlobalAveragePooling1D", "float32")),
                          policy="mixed_float16", seed=1),
    ),
    _weight_paths_entry(
        "functional", (3, 0), (99, 0),
        "keras/src/backend/common/variables.py (path = name scope at creation); "
        "cf. tensorflow/tensorflow#36463 for the Keras 2 analogue",
        "Keras 3: a variable's path is the name scope it was created in. Sequential (built "
        "from its Input) and a subclassed model (built by a call) create their layers' "
        "weights under the model's name ('stack/l0_dense/kernel'), Functional outside it "
        "('l0_dense/kernel'). Relative names agree (the weights check); code keyed on "
        "variable.path does not carry across APIs."),
    _weight_paths_entry(
        "subclassed", (2, 0), (3, 0),
        "tensorflow/tensorflow#22861 (subclassed weights named under the model scope when "
        "built by a call)",
        "Keras 2: a subclassed model built by calling it names its layers' weights under the "
        "model's name ('stack/l0_dense/kernel:0'); Sequential and Functional do not "
        "('l0_dense/kernel:0')."),
    Known(
        checks=OUTPUT_CHECKS + TRAINING_CHECKS, apis=("subclassed",), keras_min=(2, 0),
        keras_max=(99, 0), applies=_mixed_first_layer_float32,
        reference="Keras 3: keras/src/layers/layer.py Layer.__call__ step 1 vs "
                  "keras/src/models/functional.py (_convert_input_args = False); "
                  "Keras 2: Layer._autocast / Functional._autocast = False",
        summary="under a mixed policy a subclassed Model, being a Layer, casts its float "
                "inputs to the compute dtype (float16/bfloat16) before its first layer; "
                "Sequential and Functional convert inputs to the Input's dtype (float32). "
                "A first layer pinned to float32, or one that does not autocast "
                "(LayerNormalization), therefore sees rounded inputs only in the "
                "subclassed model, and so do the gradients of the weights after it. No "
                "upstream issue found; documented Layer autocasting.",
        example=StackSpec(InputSpec("vector", (3,)),
                          (LayerSpec.of("Activation", "float32", activation="linear"),
                           LayerSpec.of("Dense", "float32", units=1)),
                          policy="mixed_bfloat16", seed=1, batch=5),
    ),
    Known(
        checks=("weights_file",), apis=APIS, keras_min=(2, 0), keras_max=(99, 0),
        applies=_mixed_first_layer_float32,
        reference="the autocast entry above (keras/src/layers/layer.py Layer.__call__ "
                  "step 1): the weights load, the subclassed model's inputs are rounded",
        summary="under a mixed policy with a first layer pinned to float32, a weights file "
                "loaded into another API gives other outputs whenever a subclassed model is "
                "on one side (it casts its inputs to float16/bfloat16 first, the entry "
                "above), so every API's cross-load disagrees with its source.",
        example=StackSpec(InputSpec("vector", (1,)),
                          (LayerSpec("Reshape", (("target_shape", (1,)),), "float32"),),
                          policy="mixed_float16"),
    ),
    Known(
        checks=("weights_file",), apis=APIS, keras_min=(3, 0), keras_max=(99, 0),
        applies=_nested("same"),
        reference="keras/src/saving/saving_lib.py: weights are stored under paths made from "
                  "each nested object's class name (naming.to_snake_case(class name)); "
                  "cf. keras-team/keras#2341 (Sequential vs Functional weights, Keras 1)",
        summary="Keras 3 .weights.h5 keys a nested model's weights by its class "
                "('layers/sequential/layers/dense/vars/0', '.../functional/...', "
                "'.../subclassed_stack/...'), not by its layer name, so a weights file from a "
                "model holding a nested Sequential does not load into the same stack built "
                "with a nested Functional or subclassed model (ValueError: expected 2 "
                "variables, received 0). Top-level models of different APIs load each "
                "other's files fine.",
        example=StackSpec(InputSpec("vector", (1,)),
                          (LayerSpec.of("Nested", api="same",
                                        layers=(LayerSpec.of("Dense", units=1),)),)),
    ),
    Known(
        checks=("keras_file", "config", "legacy_h5"), apis=("sequential",), keras_min=(3, 0),
        keras_max=(99, 0), applies=_mixed,
        reference="keras/src/models/sequential.py Sequential.from_config (builds cls(name=...) "
                  "without the serialized 'dtype'); cf. keras-team/keras#19752, which asks "
                  "from_config overrides to deserialize dtype",
        summary="Keras 3: Sequential.get_config records the model's own dtype policy "
                "('mixed_float16'), but Sequential.from_config (used by load_model too) "
                "does not pass it on, so the rebuilt model's policy is float32. The layers "
                "keep theirs, so outputs agree; Functional and subclassed models do not "
                "serialize a model-level dtype at all.",
        example=StackSpec(InputSpec("vector", (1,)), (LayerSpec.of("LeakyReLU"),),
                          policy="mixed_float16"),
    ),
    Known(
        checks=("keras_file", "config", "legacy_h5"), apis=("functional", "subclassed"),
        keras_min=(3, 0), keras_max=(99, 0), applies=_mixed_nested_sequential,
        reference="keras/src/models/sequential.py Sequential.from_config (the entry above, "
                  "cf. keras-team/keras#19752), reached through the outer model's "
                  "from_config",
        summary="Keras 3: the entry above, one level down: a Functional or subclassed model "
                "holding a nested Sequential model under a mixed policy rebuilds that "
                "Sequential with policy float32 (from_config, load_model of .keras and "
                ".h5). Outputs agree; configs differ.",
        example=StackSpec(InputSpec("vector", (1,)),
                          (LayerSpec.of("Nested", api="sequential",
                                        layers=(LayerSpec.of("LeakyReLU"),)),),
                          policy="mixed_float16"),
    ),
    Known(
        checks=("keras_file", "config", "legacy_h5"), apis=("functional", "subclassed"),
        keras_min=(3, 0), keras_max=(99, 0), applies=_mixed_spatial_dropout,
        reference="no upstream issue found; keras/src/layers/regularization/"
                  "spatial_dropout.py BaseSpatialDropout.get_config writes 'dtype': "
                  "self.dtype (the variable dtype, float32) instead of the dtype policy",
        summary="Keras 3: SpatialDropout1D/2D/3D.get_config records dtype 'float32' where "
                "the layer's policy is mixed_float16/mixed_bfloat16, so the layer rebuilt "
                "from its config (from_config, .keras, .h5) computes in float32: the "
                "subclassed model's output comes back float32 instead of float16, and the "
                "Functional model's node for the layer gains a 'training': False keyword "
                "argument. Sequential has its own entry above for its model-level policy.",
        example=StackSpec(InputSpec("sequence", (2, 1)),
                          (LayerSpec.of("SpatialDropout1D", rate=0.5, seed=0),),
                          policy="mixed_float16"),
    ),
    Known(
        checks=("legacy_h5",), apis=("sequential", "functional"), keras_min=(3, 0),
        keras_max=(99, 0), applies=lambda spec: "AlphaDropout" in spec.kinds(),
        reference="no upstream issue found; TF's tf.keras.layers.AlphaDropout is "
                  "keras/src/legacy/layers.py AlphaDropout, and the legacy .h5 loader "
                  "resolves the class name to keras.layers.AlphaDropout",
        summary="Keras 3 through TensorFlow: tf.keras.layers.AlphaDropout is Keras' legacy "
                "AlphaDropout class (module 'keras._legacy.layers', no noise_shape), not "
                "keras.layers.AlphaDropout; a legacy .h5 round trip brings back the other "
                "class (module 'keras.layers', 'noise_shape': None). The .keras file keeps "
                "the class; outputs agree.",
        example=StackSpec(InputSpec("sequence", (2, 1)),
                          (LayerSpec.of("AlphaDropout", rate=0.5, seed=0),)),
    ),
    Known(
        checks=("legacy_h5",), apis=("subclassed",), keras_min=(2, 0), keras_max=(99, 0),
        applies=_always,
        reference="Keras 3: tensorflow/tensorflow#61085 (a class registered with "
                  "register_keras_serializable is 'Unknown layer' to the legacy "
                  "deserializer), keras/src/legacy/saving/legacy_h5_format.py; Keras 2: "
                  "tf_keras/src/saving/legacy/save.py save_model (documented "
                  "NotImplementedError for subclassed models)",
        summary="Keras 3: a subclassed model registered with "
                "@keras.saving.register_keras_serializable(package=...) saves to a legacy "
                ".h5 file, but load_model on it fails with \"Unknown layer: "
                "'SubclassedStack'\": the legacy loader looks the class up without its "
                "package prefix. Keras 2: model.save('*.h5') of a subclassed model raises "
                "NotImplementedError (HDF5 needs a Functional or Sequential model). The "
                ".keras / SavedModel and weights files of the same model work.",
        example=_ONE_DENSE,
    ),
    Known(
        checks=("export",), apis=("subclassed",), keras_min=(2, 0), keras_max=(99, 0),
        applies=_not_float32_input,
        reference="keras/src/export/saved_model.py (the serving signature's input spec "
                  "comes from the model's call, which autocasts to the compute dtype); "
                  "cf. the autocast entry above",
        summary="model.export() (Keras 3; tf.saved_model.save on Keras 2) of a subclassed "
                "model writes a serving signature "
                "in the model's float compute dtype, not the dtype of the data it was built "
                "on: token ids (int32) are refused, and under a mixed policy so are float32 "
                "inputs (it expects float16/bfloat16), with InvalidArgumentError. "
                "Sequential and Functional signatures take the dtype of their Input.",
        example=StackSpec(InputSpec("vector", (2,)), (LayerSpec.of("Dense", units=1),),
                          policy="mixed_float16"),
    ),
    Known(
        checks=("resume",), apis=APIS, keras_min=(2, 0), keras_max=(99, 0),
        applies=_seeded_noise,
        reference="keras-team/keras#19796 (Dropout's seed_generator_state is not restored "
                  "by save/load); Keras 2: the layer's tf.random.Generator state is not saved "
                  "in the .keras file either",
        summary="Keras 3 (and Keras 2 alike): a seeded noise layer (Dropout, GaussianNoise, "
                "...) keeps its random "
                "stream in a SeedGenerator state variable that the .keras file does not "
                "restore: the loaded layer restarts the stream from its seed, so training "
                "resumed from a checkpoint draws other masks than training without the "
                "interruption, in every API.",
        example=StackSpec(InputSpec("vector", (4,)),
                          (LayerSpec.of("Dropout", rate=0.5, seed=3),
                           LayerSpec.of("Dense", units=2))),
    ),
    Known(
        checks=("weights_checkpoint",), apis=APIS, keras_min=(2, 0), keras_max=(2, 99),
        applies=_always,
        reference="documented in Keras 2's Model.load_weights: the TensorFlow format "
                  "\"loads based on the object-local names of attributes to which layers are "
                  "assigned\" (tf_keras/src/engine/training.py); HDF5 loads a flat list",
        summary="Keras 2: a TF-format weights checkpoint (save_weights without .h5) does not "
                "load between a subclassed model and the same stack as Sequential or "
                "Functional, either way: their object graphs differ (\"Nothing except the "
                "root object matched a checkpointed value\"; \"Nothing to load\" without "
                "weights). Sequential and Functional load each other's; the HDF5 weights "
                "file loads into every API (weights_file).",
        example=_ONE_DENSE,
    ),
    Known(
        checks=("config",), apis=("subclassed",), keras_min=(2, 0), keras_max=(2, 99),
        applies=_always,
        reference="no upstream issue found; Keras 2 Model.to_json writes the bare class_name "
                  "(no registered name), and layers.deserialize_from_json returns that str "
                  "when no class of that name is known",
        summary="Keras 2: model_from_json(model.to_json()) of a subclassed model registered "
                "with register_keras_serializable returns the string 'SubclassedStack' "
                "instead of a model (or an error); get_config/from_config works. Keras 3 "
                "writes the registered name and rebuilds it.",
        example=_ONE_DENSE,
    ),
    Known(
        checks=("legacy_h5",), apis=("functional",), keras_min=(3, 0), keras_max=(99, 0),
        applies=_embedding_mask_zero,
        reference="no upstream issue found; keras/src/legacy/saving/legacy_h5_format.py "
                  "(the legacy config holds the mask computation as an op layer)",
        summary="Keras 3: a Functional model with Embedding(mask_zero=True) feeding a "
                "mask-consuming layer saves to a legacy .h5 file that load_model cannot read "
                "(\"Unknown layer: 'NotEqual'\"): the mask computation was serialized as a "
                "layer the legacy loader does not know. Sequential's .h5 loads; the .keras "
                "file of the Functional model loads.",
        example=StackSpec(InputSpec("tokens", (4,), "int32", 5),
                          (LayerSpec.of("Embedding", input_dim=5, output_dim=2,
                                        mask_zero=True),
                           LayerSpec.of("GlobalAveragePooling1D"))),
    ),
    Known(
        checks=("legacy_h5",), apis=("functional",), keras_min=(3, 0),
        keras_max=(99, 0), applies=_nested("subclassed"),
        reference="no upstream issue found; keras/src/models/functional.py (functional_from_"
                  "config re-calls each layer with its node's kwargs, and a layer whose call "
                  "takes mask= records mask=None)",
        summary="Keras 3: a Functional model holding a nested subclassed model (whose call "
                "takes mask=) does not round-trip its config through a legacy .h5 file: the "
                "loaded model's node for that layer records an extra 'mask': None keyword "
                "argument. Outputs and weights agree; code comparing configs sees a change.",
        example=StackSpec(InputSpec("vector", (2,)),
                          (LayerSpec.of("Nested", api="subclassed",
                                        layers=(LayerSpec.of("Dense", units=1),)),
                           LayerSpec.of("Dense", units=1)), policy="mixed_bfloat16"),
    ),
    Known(
        checks=("legacy_h5",), apis=("functional",), keras_min=(2, 0), keras_max=(2, 99),
        applies=_any_nested,
        reference="no upstream issue found; tf_keras/src/saving/legacy/hdf5_format.py (the "
                  "loaded nested model is re-serialized with the current serializer)",
        summary="Keras 2: a Functional model holding a nested model does not round-trip its "
                "config through a legacy .h5 file: the nested model's layer configs gain "
                "'module' and 'build_config' keys they did not have. Outputs and weights "
                "agree; code comparing configs sees a change.",
        example=StackSpec(InputSpec("vector", (1,)),
                          (LayerSpec.of("Nested", api="same",
                                        layers=(LayerSpec.of("LeakyReLU"),)),)),
    ),
    Known(
        checks=("legacy_h5",), apis=("sequential",), keras_min=(2, 0), keras_max=(2, 99),
        applies=_nested("subclassed"),
        reference="tf_keras/src/saving/legacy/save.py save_model (documented: HDF5 needs "
                  "Functional or Sequential models, and get_config of every layer)",
        summary="Keras 2: model.save('*.h5') of a Sequential model holding a nested "
                "subclassed model raises NotImplementedError (\"...is not serializable. "
                "Consider saving to the Tensorflow SavedModel format\"), although that "
                "subclassed model implements get_config; the Functional model holding it "
                "saves.",
        example=_HOLDS_SUBCLASSED,
    ),
    Known(
        checks=("legacy_h5",), apis=("sequential",), keras_min=(3, 0), keras_max=(99, 0),
        applies=_nested("subclassed"),
        reference="no upstream issue found; keras/src/legacy/saving/ (the legacy loader "
                  "never calls build_from_config, which keras/src/saving/"
                  "serialization_lib.py does for the .keras format)",
        summary="Keras 3: a Sequential model holding a nested subclassed model that was "
                "built by calling it on data does not round-trip its config through a "
                "legacy .h5 file: the nested model's build_config input_shape comes back "
                "with batch dimension None (the outer model rebuilds it), not the batch "
                "it was built on. Outputs and weights agree; the .keras file keeps it.",
        example=_HOLDS_SUBCLASSED,
    ),
)


def lookup(check: str, api: str, spec: StackSpec) -> Known | None:
    """The known discrepancy expected for this check, API and spec here, if any."""
    for entry in KNOWN:
        if check in entry.checks and api in entry.apis and entry.in_range() \
                and entry.applies(spec):
            return entry
    return None
