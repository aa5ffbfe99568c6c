"""Regularization and noise layers, all seeded so that training-mode calls replay."""
from hypothesis import strategies as st

from equivalence.compat import keras
from equivalence.layers import LayerInfo, register
from equivalence.layers.core import ANY_RANK

SEEDS = st.integers(0, 2**16)
RATES = st.sampled_from((0.5, 0.2, 0.9))


def _seeded(kind, ranks, rate_name="rate", values=RATES, **extra):
    return LayerInfo(
        kind, "noise",
        lambda s: st.fixed_dictionaries({rate_name: values, "seed": SEEDS}),
        ranks, train_differs=True, seeded=True, **extra)


def _alpha_dropout_trains():
    import tensorflow as tf

    keras.layers.AlphaDropout(0.5, seed=0)(tf.ones((2, 3)), training=True)


register(
    _seeded("Dropout", ANY_RANK),
    _seeded("SpatialDropout1D", frozenset({2})),
    _seeded("SpatialDropout2D", frozenset({3})),
    _seeded("SpatialDropout3D", frozenset({4})),
    _seeded("GaussianNoise", ANY_RANK, "stddev", st.sampled_from((1.0, 0.1))),
    _seeded("GaussianDropout", ANY_RANK),
    _seeded("AlphaDropout", ANY_RANK, probe=_alpha_dropout_trains,
            note="Keras 3.3's tf.keras.layers.AlphaDropout (the legacy class) raises "
                 "TypeError in training mode (greater_equal() got an unexpected keyword "
                 "argument 'seed') in every API alike: not drawn where the probe fails"),
    LayerInfo("ActivityRegularization", "noise",
              lambda s: st.fixed_dictionaries({"l1": st.sampled_from((0.01, 0.0)),
                                               "l2": st.sampled_from((0.0, 0.01))}),
              ANY_RANK, adds_loss=lambda cfg: True),
)
