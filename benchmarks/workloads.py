"""The named, append-only workload catalog.

A workload's name always means the same model and data, whatever TF is installed, so
results from different TF versions can be compared. Never change an entry: add a new name.
"""
from equivalence.spec import InputSpec, LayerSpec, StackSpec

# Four stacks drawn once from equivalence.strategies.stacks (float32, Hypothesis seeds 11,
# 22, 33 and 44, the last drawn stack of >= 3 layers, with trainable weights and no
# nesting) and frozen here as
# JSON: they never change when the strategy does.
_DRAWN = (
    '{"__type__": "StackSpec", "batch": 8, "input": {"__type__": "InputSpec", "dtype": "float32", "family": "image", "shape": {"__tuple__": [4, 5, 3]}, "vocab": null}, "layers": {"__tuple__": [{"__type__": "LayerSpec", "config": {}, "dtype": null, "kind": "UnitNormalization"}, {"__type__": "LayerSpec", "config": {"center": true, "scale": true}, "dtype": null, "kind": "LayerNormalization"}, {"__type__": "LayerSpec", "config": {"groups": 1}, "dtype": null, "kind": "GroupNormalization"}, {"__type__": "LayerSpec", "config": {"activation": null, "filters": 1, "kernel_size": {"__tuple__": [1, 1]}, "padding": "same", "strides": {"__tuple__": [2, 2]}, "use_bias": true}, "dtype": null, "kind": "Conv2D"}]}, "policy": "float32", "schema_version": 1, "seed": 1045}',
    '{"__type__": "StackSpec", "batch": 5, "input": {"__type__": "InputSpec", "dtype": "int32", "family": "tokens", "shape": {"__tuple__": [8]}, "vocab": 20}, "layers": {"__tuple__": [{"__type__": "LayerSpec", "config": {"input_dim": 20, "mask_zero": false, "output_dim": 3}, "dtype": null, "kind": "Embedding"}, {"__type__": "LayerSpec", "config": {"units": 2}, "dtype": null, "kind": "TimeDistributed"}, {"__type__": "LayerSpec", "config": {}, "dtype": null, "kind": "GlobalAveragePooling1D"}]}, "policy": "float32", "schema_version": 1, "seed": 30842}',
    '{"__type__": "StackSpec", "batch": 8, "input": {"__type__": "InputSpec", "dtype": "int32", "family": "tokens", "shape": {"__tuple__": [5]}, "vocab": 11}, "layers": {"__tuple__": [{"__type__": "LayerSpec", "config": {"input_dim": 11, "mask_zero": false, "output_dim": 4}, "dtype": null, "kind": "Embedding"}, {"__type__": "LayerSpec", "config": {"rate": 0.2, "seed": 0}, "dtype": null, "kind": "SpatialDropout1D"}, {"__type__": "LayerSpec", "config": {"dims": {"__tuple__": [1, 2]}}, "dtype": null, "kind": "Permute"}, {"__type__": "LayerSpec", "config": {"activation": "relu", "filters": 1, "kernel_size": 1, "padding": "same", "strides": 2, "use_bias": false}, "dtype": null, "kind": "Conv1DTranspose"}]}, "policy": "float32", "schema_version": 1, "seed": 4}',
    '{"__type__": "StackSpec", "batch": 1, "input": {"__type__": "InputSpec", "dtype": "float32", "family": "sequence", "shape": {"__tuple__": [3, 4]}, "vocab": null}, "layers": {"__tuple__": [{"__type__": "LayerSpec", "config": {}, "dtype": null, "kind": "LeakyReLU"}, {"__type__": "LayerSpec", "config": {"target_shape": {"__tuple__": [4, 3]}}, "dtype": null, "kind": "Reshape"}, {"__type__": "LayerSpec", "config": {"activation": "tanh", "activity_regularizer": "l2", "bias_regularizer": "l1", "kernel_regularizer": "l2", "units": 1, "use_bias": true}, "dtype": null, "kind": "Dense"}, {"__type__": "LayerSpec", "config": {"units": 1}, "dtype": null, "kind": "TimeDistributed"}]}, "policy": "float32", "schema_version": 1, "seed": 404}',
)

L = LayerSpec.of

WORKLOADS: dict[str, StackSpec] = {
    "mlp_small": StackSpec(InputSpec("vector", (32,)),
                           (L("Dense", units=64, activation="relu"), L("Dense", units=10)),
                           seed=1, batch=256),
    "mlp_wide": StackSpec(InputSpec("vector", (256,)),
                          (L("Dense", units=1024, activation="relu"),
                           L("Dense", units=1024, activation="relu"), L("Dense", units=10)),
                          seed=2, batch=256),
    "mlp_deep": StackSpec(InputSpec("vector", (64,)),
                          tuple(L("Dense", units=64, activation="relu") for _ in range(12))
                          + (L("Dense", units=10),), seed=3, batch=256),
    "cnn1d": StackSpec(InputSpec("sequence", (128, 8)),
                       (L("Conv1D", filters=32, kernel_size=5, strides=1, padding="valid",
                          activation="relu"),
                        L("MaxPooling1D", pool_size=2, strides=2, padding="valid"),
                        L("Conv1D", filters=32, kernel_size=3, strides=1, padding="valid"),
                        L("GlobalAveragePooling1D"), L("Dense", units=10)), seed=4, batch=256),
    "cnn2d_small": StackSpec(InputSpec("image", (32, 32, 3)),
                             (L("Conv2D", filters=16, kernel_size=(3, 3), strides=(1, 1), padding="valid",
                                activation="relu"),
                              L("MaxPooling2D", pool_size=(2, 2), strides=(2, 2), padding="valid"),
                              L("Conv2D", filters=32, kernel_size=(3, 3), strides=(1, 1), padding="same",
                                activation="relu"),
                              L("GlobalAveragePooling2D"), L("Dense", units=10)),
                             seed=5, batch=256),
    "lstm": StackSpec(InputSpec("sequence", (32, 16)),
                      (L("LSTM", units=64, return_sequences=False), L("Dense", units=10)),
                      seed=6, batch=256),
    "bigru": StackSpec(InputSpec("sequence", (32, 16)),
                       (L("Bidirectional", layer="GRU", units=32, return_sequences=False,
                          merge_mode="concat"), L("Dense", units=10)), seed=7, batch=256),
    "embedding_pool": StackSpec(InputSpec("tokens", (64,), "int32", 1000),
                                (L("Embedding", input_dim=1000, output_dim=32, mask_zero=True),
                                 L("GlobalAveragePooling1D"), L("Dense", units=10)),
                                seed=8, batch=256),
    "nested": StackSpec(InputSpec("vector", (32,)),
                        (L("Dense", units=64, activation="relu"),
                         L("Nested", api="same", layers=(L("Dense", units=64, activation="relu"),
                                                         L("LayerNormalization"))),
                         L("Dense", units=10)), seed=9, batch=256),
    **{f"drawn_{i}": StackSpec.from_json(text) for i, text in enumerate(_DRAWN)},
}
