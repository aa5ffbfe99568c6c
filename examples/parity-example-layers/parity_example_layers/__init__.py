"""Two custom layers written the way users write them: `build` with `add_weight`, a
non-trainable weight, `get_config`, a `training` argument, `add_loss` and mask support."""
import tensorflow as tf

keras = tf.keras  # the Keras TensorFlow uses: Keras 3, or tf_keras with TF_USE_LEGACY_KERAS=1


@keras.utils.register_keras_serializable(package="parity_example")
class ScaledDense(keras.layers.Layer):
    """A dense projection times a fixed (non-trainable) scale."""

    def __init__(self, units, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.units, self.scale = units, scale

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units),
                                      initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(self.units,), initializer="zeros")
        self.factor = self.add_weight(name="factor", shape=(),
                                      initializer=keras.initializers.Constant(self.scale),
                                      trainable=False)
        super().build(input_shape)

    def call(self, inputs):
        return (tf.matmul(inputs, self.kernel) + self.bias) * self.factor

    def get_config(self):
        return {**super().get_config(), "units": self.units, "scale": self.scale}


@keras.utils.register_keras_serializable(package="parity_example")
class TrainingShift(keras.layers.Layer):
    """Adds `shift` while training (not at inference), adds an activity loss, and passes
    the mask through."""

    def __init__(self, shift=0.5, penalty=0.01, **kwargs):
        super().__init__(**kwargs)
        self.shift, self.penalty = shift, penalty
        self.supports_masking = True

    def call(self, inputs, training=None):
        if self.penalty:
            self.add_loss(self.penalty * tf.reduce_mean(tf.square(inputs)))
        return inputs + self.shift if training else inputs

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        return {**super().get_config(), "shift": self.shift, "penalty": self.penalty}
