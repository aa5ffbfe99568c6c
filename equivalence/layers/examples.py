"""The feature-dense stack every property test runs besides its drawn ones (a Hypothesis
explicit example), so that a small derandomized profile still meets every feature of
`equivalence.features` in every check. Built of kinds every supported Keras has; it ends
in a Dense head, so the training checks take it too.
"""
from equivalence.spec import InputSpec, LayerSpec, StackSpec

# A padding mask from Embedding(mask_zero=True) through BatchNormalization (statistics
# before trainable weights), a Dense with a kernel regularizer and a seeded Dropout into a
# nested model of the outer API whose pooling consumes it; under mixed_float16.
FEATURE_STACKS = (
    StackSpec(InputSpec("tokens", (4,), "int32", 5),
              (LayerSpec.of("Embedding", input_dim=5, output_dim=3, mask_zero=True),
               LayerSpec.of("BatchNormalization", center=True, scale=True, momentum=0.9),
               LayerSpec.of("Dense", units=3, kernel_regularizer="l2"),
               LayerSpec.of("Dropout", rate=0.5, seed=7),
               LayerSpec.of("Nested", api="same",
                            layers=(LayerSpec.of("GlobalAveragePooling1D"),)),
               LayerSpec.of("Dense", units=2)),
              policy="mixed_float16", seed=3, batch=4),
)
