"""The named, append-only workload catalog.

A workload's name always means the same model and data, whatever TF is installed, so
results from different TF versions can be compared. Never change an entry: add a new name.
"""
from equivalence.spec import InputSpec, LayerSpec, StackSpec

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
}
